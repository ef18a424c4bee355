#!/bin/bash
# SPDX-License-Identifier: MIT
# slate's Authenticode SHA-256 (slate uki inspect) equals `pesign -h` for real
# UEFI images: Debian 12's and 13's systemd-stub and systemd-boot, Debian's signed
# kernel (an existing signature), UKIs, files with trailing data (not 8-aligned),
# and files signed by sbsign (which hashes its 8-byte padding) and by slate.
. "$SLATE_SRCDIR/tests/lib.sh"
tmp=$(tap_tmpdir)

for tool in pesign sbsign jq; do
	command -v $tool >/dev/null || {
		skip "digests against pesign" "$tool is not installed"
		tap_done
		exit
	}
done

slate_digest() { "$SLATE" uki inspect -o json "$1" | jq -r .authenticodeSha256; }
pesign_digest() { pesign -h -i "$1" | sed -n 's/^hash: //p'; }

same_digest() {
	local what=$1 f=$2 a b
	a=$(slate_digest "$f")
	b=$(pesign_digest "$f")
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		ok "$what: digest $a equals pesign's"
	else
		fail "$what: slate '$a', pesign '$b'"
	fi
}

labels=() files=()
add() { labels+=("$1") files+=("$2"); }
if [ -f /usr/lib/systemd/boot/efi/linuxx64.efi.stub ]; then
	add "Debian 12 systemd-stub 252" /usr/lib/systemd/boot/efi/linuxx64.efi.stub
	add "Debian 12 systemd-boot 252" /usr/lib/systemd/boot/efi/systemd-bootx64.efi
fi
if root=$("$SLATE_SRCDIR/scripts/trixie-root" 2>"$tmp/trixie.log"); then
	efi=$root/usr/lib/systemd/boot/efi
	kernel=$(ls "$root"/boot/vmlinuz-* | head -n1)
	add "Debian 13 systemd-stub 257" "$efi/linuxx64.efi.stub"
	add "Debian 13 systemd-boot 257" "$efi/systemd-bootx64.efi"
	add "Debian 13 addon stub" "$efi/addonx64.efi.stub"
	add "Debian 13 kernel, signed by Debian" "$kernel"
else
	skip "Debian 13 files" "scripts/trixie-root failed: $(tail -n1 "$tmp/trixie.log")"
fi
for i in "${!files[@]}"; do
	same_digest "${labels[$i]}" "${files[$i]}"
done
[ ${#files[@]} -gt 0 ] || {
	tap_done
	exit
}

# Trailing data that is not 8-byte aligned (and a COFF symbol table, on Debian 12's stub).
stub=${files[0]}
cp "$stub" "$tmp/trailing.efi"
head -c 4099 /dev/urandom >>"$tmp/trailing.efi"
same_digest "stub + 4099 bytes of trailing data" "$tmp/trailing.efi"

# UKIs from each stub.
printf 'ID=slate\nPRETTY_NAME="Slate"\n' >"$tmp/osrel"
head -c 100003 /dev/urandom >"$tmp/initrd"
k=${kernel:-$stub}
n=0
for i in "${!files[@]}"; do
	s=${files[$i]}
	case $s in *linuxx64.efi.stub) ;; *) continue ;; esac
	n=$((n + 1))
	if "$SLATE" uki build --stub "$s" --linux "$k" --initrd "$tmp/initrd" --cmdline "console=ttyS0" \
		--os-release "$tmp/osrel" -o "$tmp/uki$n.efi" 2>"$tmp/err"; then
		same_digest "UKI built from the ${labels[$i]}" "$tmp/uki$n.efi"
	else
		fail "uki build from $s: $(cat "$tmp/err")"
	fi
done

# Signed files: the certificate table is excluded; sbsign's 8-byte padding is hashed.
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj /CN=digest-test \
	-keyout "$tmp/k.key" -out "$tmp/k.crt" 2>/dev/null
sbsign --key "$tmp/k.key" --cert "$tmp/k.crt" --output "$tmp/sbsigned.efi" "$tmp/trailing.efi" 2>/dev/null
same_digest "sbsign-signed (padded) file" "$tmp/sbsigned.efi"
"$SLATE" sign --key "$tmp/k.key" --cert "$tmp/k.crt" "$tmp/trailing.efi" -o "$tmp/slsigned.efi"
same_digest "slate-signed (padded) file" "$tmp/slsigned.efi"
check "slate's and sbsign's signatures cover the same digest" \
	test "$(slate_digest "$tmp/sbsigned.efi")" = "$(slate_digest "$tmp/slsigned.efi")"
"$SLATE" sign --key "$tmp/k.key" --cert "$tmp/k.crt" "$tmp/sbsigned.efi" -o "$tmp/twice.efi"
same_digest "file with two signatures" "$tmp/twice.efi"
tap_done
