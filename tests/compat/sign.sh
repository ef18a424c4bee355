#!/bin/bash
# SPDX-License-Identifier: MIT
# slate keys/sign/verify against sbsigntool, pesign and openssl:
#  - sbverify and pesign accept slate-signed UKIs and systemd-boot (Debian 13's);
#  - slate verify accepts sbsign's signatures and refuses the wrong certificate,
#    changed bytes anywhere in the hashed regions, truncated signatures and a
#    certificate table pointing outside the file;
#  - the detached PKCS#7 for a dm-verity root hash equals `openssl smime`'s.
. "$SLATE_SRCDIR/tests/lib.sh"
tmp=$(tap_tmpdir)

for tool in sbsign sbverify pesign openssl jq; do
	command -v $tool >/dev/null || {
		skip "signing against the reference tools" "$tool is not installed"
		tap_done
		exit
	}
done
root=$("$SLATE_SRCDIR/scripts/trixie-root" 2>"$tmp/trixie.log") || {
	skip "signing Debian 13's files" "scripts/trixie-root failed: $(tail -n1 "$tmp/trixie.log")"
	tap_done
	exit
}
efi=$root/usr/lib/systemd/boot/efi
kernel=$(ls "$root"/boot/vmlinuz-* | head -n1)
keys=$tmp/keys

# --- keys ---------------------------------------------------------------------
check "slate keys create" "$SLATE" keys create --subject "Compat Test" "$keys"
modes=$(cd "$keys" && stat -c '%n:%a' PK.key PK.crt KEK.key KEK.crt db.key db.crt release.key release.pub | tr '\n' ' ')
check "private keys are 0600, public files 0644 ($modes)" test "$modes" = \
	"PK.key:600 PK.crt:644 KEK.key:600 KEK.crt:644 db.key:600 db.crt:644 release.key:600 release.pub:644 "
check "db.crt: RSA 2048, X.509 v3, sha256WithRSAEncryption, CN=Compat Test db" bash -c \
	"openssl x509 -in '$keys/db.crt' -noout -text | grep -q 'Public-Key: (2048 bit)' &&
	 openssl x509 -in '$keys/db.crt' -noout -text | grep -q 'Version: 3' &&
	 openssl x509 -in '$keys/db.crt' -noout -text | grep -q 'Signature Algorithm: sha256WithRSAEncryption' &&
	 openssl x509 -in '$keys/db.crt' -noout -subject | grep -q 'CN = Compat Test db'"
check "release key is Ed25519" bash -c "openssl pkey -in '$keys/release.key' -noout -text | grep -q ED25519"
sum_before=$(cat "$keys"/* | sha256sum)
refuse "keys create refuses to overwrite" 1 "refusing to overwrite" "$SLATE" keys create "$keys"
check "...and changed nothing" test "$(cat "$keys"/* | sha256sum)" = "$sum_before"

# --- slate-signed files accepted by sbverify and pesign --------------------------
printf 'ID=slate\nPRETTY_NAME="Slate"\n' >"$tmp/osrel"
head -c 65536 /dev/urandom >"$tmp/initrd"
"$SLATE" uki build --stub "$efi/linuxx64.efi.stub" --linux "$kernel" --initrd "$tmp/initrd" \
	--cmdline "console=ttyS0" --os-release "$tmp/osrel" -o "$tmp/uki.efi"
sign() { "$SLATE" sign --key "$keys/db.key" --cert "$keys/db.crt" "$@"; }
sign "$tmp/uki.efi" -o "$tmp/uki.signed"
sign "$efi/systemd-bootx64.efi" -o "$tmp/sdboot.signed"
for f in uki sdboot; do
	check "sbverify --cert db.crt accepts the slate-signed $f" \
		sbverify --cert "$keys/db.crt" "$tmp/$f.signed"
	check "pesign -S shows the signature on the slate-signed $f" bash -c \
		"pesign -S -i '$tmp/$f.signed' | grep -q \"The signer's common name is Compat Test db\""
	check "slate verify accepts the slate-signed $f" "$SLATE" verify --cert "$keys/db.crt" "$tmp/$f.signed"
	check "sbverify refuses the slate-signed $f with the KEK certificate" \
		bash -c "! sbverify --cert '$keys/KEK.crt' '$tmp/$f.signed'"
done
sign "$tmp/uki.efi" -o "$tmp/uki.again"
check "signing is deterministic" cmp "$tmp/uki.signed" "$tmp/uki.again"
sign "$kernel" -o "$tmp/kernel.signed"
check "a second signature on Debian's signed kernel: sbverify accepts it" \
	sbverify --cert "$keys/db.crt" "$tmp/kernel.signed"
check "...and slate verify too" "$SLATE" verify --cert "$keys/db.crt" "$tmp/kernel.signed"

# --- sbsign-signed files accepted by slate verify; refusals ----------------------
sbsign --key "$keys/db.key" --cert "$keys/db.crt" --output "$tmp/sdboot.sbsign" "$efi/systemd-bootx64.efi" 2>/dev/null
sbsign --key "$keys/db.key" --cert "$keys/db.crt" --output "$tmp/uki.sbsign" "$tmp/uki.efi" 2>/dev/null
for f in sdboot uki; do
	check "slate verify accepts sbsign's $f" "$SLATE" verify --cert "$keys/db.crt" "$tmp/$f.sbsign"
	refuse "slate verify refuses sbsign's $f with the wrong certificate" 1 "not trusted" \
		"$SLATE" verify --cert "$keys/KEK.crt" "$tmp/$f.sbsign"
done
refuse "slate verify refuses an unsigned image" 1 "not signed" \
	"$SLATE" verify --cert "$keys/db.crt" "$efi/systemd-bootx64.efi"

u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
put_u32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($2 & 255)) $(($2 >> 8 & 255)) $(($2 >> 16 & 255)) $(($2 >> 24 & 255)))" |
	dd of="$1" bs=1 seek="$3" conv=notrunc status=none; }
f=$tmp/sdboot.sbsign
size=$(stat -c %s "$f")
opt=$(($(u32 "$f" 60) + 24))
certdir=$((opt + 144))
table=$(u32 "$f" $certdir)

# Any changed byte in a hashed region: headers (but CheckSum and the security
# directory entry), every section, the padding before the table. 200 positions.
tried=0 accepted=()
for i in $(seq 0 199); do
	pos=$((i * table / 200 + i % 7))
	if [ $pos -ge $((opt + 64)) ] && [ $pos -lt $((opt + 68)) ]; then continue; fi
	if [ $pos -ge $certdir ] && [ $pos -lt $((certdir + 8)) ]; then continue; fi
	cp "$f" "$tmp/t.efi"
	old=$(od -An -tu1 -j $pos -N1 "$f" | tr -d ' ')
	printf "$(printf '\\x%02x' $((old ^ 0x5a)))" | dd of="$tmp/t.efi" bs=1 seek=$pos conv=notrunc status=none
	tried=$((tried + 1))
	"$SLATE" verify --cert "$keys/db.crt" "$tmp/t.efi" >/dev/null 2>&1 && accepted+=($pos)
done
if [ ${#accepted[@]} -eq 0 ] && [ $tried -gt 190 ]; then
	ok "a byte changed at each of $tried positions across the hashed regions: all refused"
else
	fail "changed bytes accepted at offsets ${accepted[*]} (of $tried)"
fi
cp "$f" "$tmp/t.efi"
printf '\x12\x34' | dd of="$tmp/t.efi" bs=1 seek=$((opt + 64)) conv=notrunc status=none
check "a changed CheckSum (not hashed) still verifies" "$SLATE" verify --cert "$keys/db.crt" "$tmp/t.efi"
cp "$f" "$tmp/t.efi"
printf '\x01' | dd of="$tmp/t.efi" bs=1 seek=$((opt + 100)) conv=notrunc status=none
refuse "a changed header byte: refused as changed after signing" 1 "changed after signing" \
	"$SLATE" verify --cert "$keys/db.crt" "$tmp/t.efi"

# Truncated signatures: the file cut short, or the entry shortened consistently.
for cut in 1 8 100 $((size - table - 8)); do
	head -c $((size - cut)) "$f" >"$tmp/t.efi"
	refuse "signature truncated by $cut bytes: refused" 1 "outside the file" \
		"$SLATE" verify --cert "$keys/db.crt" "$tmp/t.efi"
done
head -c $((table + 8 + 512)) "$f" >"$tmp/t.efi"
put_u32 "$tmp/t.efi" $((8 + 512)) $table
put_u32 "$tmp/t.efi" $((8 + 512)) $((certdir + 4))
refuse "PKCS#7 cut to 512 bytes (table consistent): refused" 1 "malformed or truncated PKCS#7" \
	"$SLATE" verify --cert "$keys/db.crt" "$tmp/t.efi"
cp "$f" "$tmp/t.efi"
put_u32 "$tmp/t.efi" $((size + 4096)) $certdir
refuse "certificate table pointing past the end: refused" 1 "points outside the file" \
	"$SLATE" verify --cert "$keys/db.crt" "$tmp/t.efi"
cp "$f" "$tmp/t.efi"
put_u32 "$tmp/t.efi" 4294967288 $certdir
refuse "certificate table offset near 4 GiB (overflow): refused" 1 "points outside the file" \
	"$SLATE" verify --cert "$keys/db.crt" "$tmp/t.efi"

# --- detached PKCS#7 for a dm-verity root hash ---------------------------------
printf %s 4a4c1d3c0e1ab76f4e08ac3bd0b4fda0a45f0c3a5e0cfa4e1f8c2b2a1cd3e4f5 >"$tmp/roothash.txt"
sign --pkcs7 "$tmp/roothash.txt" -o "$tmp/roothash.p7s"
openssl smime -sign -nocerts -noattr -binary -md sha256 -in "$tmp/roothash.txt" \
	-inkey "$keys/db.key" -signer "$keys/db.crt" -outform der -out "$tmp/openssl.p7s"
check "detached PKCS#7 equals openssl smime -sign -nocerts -noattr -binary" \
	cmp "$tmp/roothash.p7s" "$tmp/openssl.p7s"
check "openssl smime -verify accepts it" openssl smime -verify -binary -inform der \
	-in "$tmp/roothash.p7s" -content "$tmp/roothash.txt" -certfile "$keys/db.crt" -nointern -noverify -out /dev/null
check "slate verify --pkcs7 accepts it" "$SLATE" verify --cert "$keys/db.crt" --pkcs7 "$tmp/roothash.p7s" "$tmp/roothash.txt"
tr a-f A-F <"$tmp/roothash.txt" >"$tmp/upper.txt"
refuse "slate verify --pkcs7 refuses the same hash in upper case" 1 "does not verify" \
	"$SLATE" verify --cert "$keys/db.crt" --pkcs7 "$tmp/roothash.p7s" "$tmp/upper.txt"
refuse "slate verify --pkcs7 refuses another signer" 1 "does not verify" \
	"$SLATE" verify --cert "$keys/KEK.crt" --pkcs7 "$tmp/roothash.p7s" "$tmp/roothash.txt"
tap_done
