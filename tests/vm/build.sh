#!/bin/bash
# SPDX-License-Identifier: MIT
# slate build, end to end (issue 7), sharing two builds and four boots:
#
#   1. builds the default image twice (same definition, keys, version and
#      SOURCE_DATE_EPOCH): same root hash, byte-identical /usr image and UKI;
#   2. checks the outputs with the reference tools: sfdisk --verify, trixie's
#      systemd-dissect, veritysetup verify, sbverify, openssl (release signature),
#      and the SBOM and release manifest against the files;
#   3. boots it with `slate run` (Secure Boot with the build's keys, swtpm) and checks
#      from inside, over ssh with a key given as a systemd credential: Secure Boot on,
#      /usr a verified, read-only dm-verity device, PCR 11 as predicted, multi-user
#      with no failed units, containerd running a container from an OCI archive made
#      here, os-release with the built version;
#   4. tampering: a changed byte in USR-A, a UKI signed by another key, a /usr whose
#      root hash is not the UKI's usrhash=; none may boot.
#
# Needs root (mmdebstrap), the network to Debian's archive on a cold package cache,
# and about 10 minutes under TCG.
set -u
. "$SLATE_SRCDIR/tests/lib.sh"
. "$SLATE_SRCDIR/tests/vm/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "slate build end to end" "needs root (mmdebstrap --mode=root)"
	tap_done
	exit 0
fi

tmp=$(tap_tmpdir)
export SLATE_CACHE=${SLATE_CACHE:-/var/cache/slate}
# A fixed release: version and every timestamp.
version=202611.29.7
export SOURCE_DATE_EPOCH=1795910400
trixie_root=$("$SLATE_SRCDIR/scripts/trixie-root")

stop_all() {
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap 'stop_all; rm -rf "$tmp"' EXIT

# ---- 1. two builds ----------------------------------------------------------------

"$SLATE" keys create "$tmp/keys" --subject "Slate test" >/dev/null
"$SLATE" keys create "$tmp/other" --subject "Not Slate" >/dev/null

build() {
	"$SLATE" build -o "$tmp/$1" --keys "$tmp/keys" --version "$version" >"$tmp/$1.out" 2>&1
}
if ! build a; then
	fail "slate build (first build)"
	sed 's/^/# /' "$tmp/a.out" | tail -n 30
	tail -n 30 "$tmp/a/build.log" 2>/dev/null | sed 's/^/# log: /'
	tap_done
	exit 1
fi
ok "slate build (first build): $(grep -m1 'built in' "$tmp/a.out")"
a=$tmp/a
hash=$(cat "$a/usr.roothash")
# The second build runs while the first image is checked and booted.
build b &
build_b=$!
diag "$(date +%T) first build done; second build started"

# ---- 2. the outputs, against the reference tools -------------------------------------

check "sfdisk --verify finds no problem" sh -c "sfdisk --verify '$a/slate.img' | grep -q 'No errors detected'"
dissect() {
	SYSTEMD_LOG_LEVEL=debug "$SLATE_SRCDIR/scripts/trixie-exec" systemd-dissect --validate \
		--image-policy="$1" "$a/slate.img" 2>&1
}
if [ -e /dev/loop-control ]; then
	out=$(dissect 'usr=verity:root=unprotected:esp=unprotected:=absent')
	if printf '%s\n' "$out" | grep -q '^OK' &&
		printf '%s\n' "$out" | grep -q 'Dissecting esp partition with label EFI-SYSTEM' &&
		printf '%s\n' "$out" | grep -q "Dissecting usr partition with label USR-A and UUID ${hash:0:8}-${hash:8:4}" &&
		printf '%s\n' "$out" | grep -q "Dissecting usr-verity partition with label USR-A-VERITY" &&
		printf '%s\n' "$out" | grep -q 'Dissecting root partition with label ROOT'; then
		ok "systemd-dissect (trixie) finds ESP, root and a verity-protected /usr"
	else
		fail "systemd-dissect (trixie) finds ESP, root and a verity-protected /usr"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/# /'
	fi
	# The same image must fail policies that leave out what it has.
	refused=0
	for pol in 'usr=absent:=unprotected' 'root=absent:=unprotected' 'esp=absent:=unprotected' \
		'usr=unprotected:root=unprotected:esp=unprotected:=absent'; do
		dissect "$pol" | grep -q 'does not match image policy' && refused=$((refused + 1))
	done
	check "systemd-dissect refuses policies without usr, root, ESP or verity" [ "$refused" -eq 4 ]
else
	skip "systemd-dissect (trixie) recognises the partitions" "no /dev/loop-control"
fi
check "veritysetup verify accepts /usr against the root hash" \
	veritysetup verify "$a/usr.erofs" "$a/usr.verity" "$hash"
check "sbverify accepts the UKI with the db certificate" \
	sbverify --cert "$tmp/keys/db.crt" "$a/slate.efi"
check "release.json.sig verifies (openssl, Ed25519)" \
	openssl pkeyutl -verify -pubin -inkey "$tmp/keys/release.pub" -rawin \
	-in "$a/release.json" -sigfile "$a/release.json.sig"
manifest_ok() {
	local n=0 f sum size
	[ "$(jq -r .version "$a/release.json")" = "$version" ] || return 1
	[ "$(jq -r .rootHash "$a/release.json")" = "$hash" ] || return 1
	while read -r f sum size; do
		[ "$(sha256sum <"$a/$f" | cut -d' ' -f1)" = "$sum" ] || return 1
		[ "$(stat -c %s "$a/$f")" = "$size" ] || return 1
		n=$((n + 1))
	done < <(jq -r '.artifacts[] | "\(.file) \(.sha256) \(.size)"' "$a/release.json")
	[ "$n" -eq 4 ]
}
check "release.json names every artifact with its size and SHA-256" manifest_ok
sbom_ok() {
	local s=$a/sbom.spdx.json npkg f sum
	[ "$(jq -r .spdxVersion "$s")" = SPDX-2.3 ] || return 1
	npkg=$(wc -l <"$a/packages.txt")
	# every package, plus the image itself
	[ "$(jq '.packages | length' "$s")" -eq $((npkg + 1)) ] || return 1
	[ "$(jq '[.packages[1:][] | select(.versionInfo and .sourceInfo and .externalRefs)] | length' "$s")" -eq "$npkg" ] || return 1
	jq -e '.packages[] | select(.name == "containerd") | .checksums[0].checksumValue' "$s" >/dev/null || return 1
	for f in slate.img usr.erofs usr.verity slate.efi release.json release.json.sig pcr11.json; do
		sum=$(jq -r --arg f "./$f" '.files[] | select(.fileName == $f) | .checksums[0].checksumValue' "$s")
		[ "$sum" = "$(sha256sum <"$a/$f" | cut -d' ' -f1)" ] || return 1
	done
}
check "the SBOM (SPDX 2.3) lists every package and every artifact's SHA-256" sbom_ok
check "no package manager, compilers or documentation in /usr" \
	sh -c "! grep -Eq '^(apt|dpkg-dev|gcc|gcc-[0-9]+|make|man-db|locales)\s' '$a/packages.txt'"

diag "$(date +%T) outputs checked"

# ---- 3. boot it --------------------------------------------------------------------------

# An OCI image archive made here: a static busybox in one layer (no registry).
make_oci() {
	local d=$tmp/oci layer config manifest ls cs ms
	mkdir -p "$d/rootfs/bin" "$d/layout/blobs/sha256"
	cp "$trixie_root/usr/bin/busybox" "$d/rootfs/bin/busybox"
	tar --sort=name --owner=0 --group=0 --mtime=@0 -C "$d/rootfs" -cf "$d/layer.tar" bin
	layer=$(sha256sum <"$d/layer.tar" | cut -d' ' -f1)
	ls=$(stat -c %s "$d/layer.tar")
	mv "$d/layer.tar" "$d/layout/blobs/sha256/$layer"
	printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/busybox","true"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$layer" >"$d/config.json"
	config=$(sha256sum <"$d/config.json" | cut -d' ' -f1)
	cs=$(stat -c %s "$d/config.json")
	mv "$d/config.json" "$d/layout/blobs/sha256/$config"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$config" "$cs" "$layer" "$ls" >"$d/manifest.json"
	manifest=$(sha256sum <"$d/manifest.json" | cut -d' ' -f1)
	ms=$(stat -c %s "$d/manifest.json")
	mv "$d/manifest.json" "$d/layout/blobs/sha256/$manifest"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/slate/busybox:test","org.opencontainers.image.ref.name":"test"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
		"$manifest" "$ms" >"$d/layout/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/layout/oci-layout"
	tar -C "$d/layout" -cf "$tmp/busybox-oci.tar" oci-layout index.json blobs
}
make_oci

mkdir -p "$tmp/vm"
vm_slate_boot "$a/slate.img" "$tmp/vm"
if ! vm_ssh_wait 600; then
	fail "the image boots and ssh with the credential's key gets in"
	vm_tail 40
	sed 's/^/# run: /' "$tmp/vm/slate-run.out"
	tap_done
	exit 1
fi
ok "the image boots and ssh with the credential's key gets in"

guest() { vm_ssh "$@"; }
# efivarfs: 4 bytes of attributes, then the value.
out=$(guest od -An -tx1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c)
if [ "$(echo "$out" | awk '{print $NF}')" = 01 ]; then
	ok "Secure Boot is enabled (efivarfs SecureBoot = 1)"
else
	fail "Secure Boot is enabled (got: $out)"
fi
out=$(guest findmnt -no SOURCE,FSTYPE,OPTIONS /usr)
case $out in
/dev/mapper/usr\ erofs\ ro,*) ok "/usr is /dev/mapper/usr, EROFS, read-only ($out)" ;;
*) fail "/usr is /dev/mapper/usr, EROFS, read-only (got: $out)" ;;
esac
out=$(guest dmsetup table usr)
case $out in
*" verity 1 "*" $hash "*root_hash_sig_key_desc*) ok "/usr's dm table is verity with the build's root hash and its signature" ;;
*) fail "/usr's dm table is verity with the build's root hash and its signature (got: $out)" ;;
esac
# Read every block of /usr through dm-verity, then ask whether all of it verified.
out=$(guest 'cat /dev/mapper/usr >/dev/null && dmsetup status usr')
case $out in
*" verity V"*) ok "every block of /usr read and verified (dmsetup status: $out)" ;;
*) fail "every block of /usr read and verified (got: $out)" ;;
esac
out=$(guest 'touch /usr/slate-write-test; echo rc=$?')
case $out in
*"Read-only file system"*rc=1*) ok "writing to /usr fails (read-only file system)" ;;
*) fail "writing to /usr fails (got: $out)" ;;
esac
out=$(guest systemctl is-system-running --wait)
if [ "$out" = running ]; then
	ok "systemd is running: multi-user reached, no failed units"
else
	fail "systemd is running: multi-user reached, no failed units (got: $out)"
	guest systemctl --failed --no-legend | sed 's/^/# failed: /'
fi
# systemd-boot counted the boot (+3 -> +2-1) and systemd-bless-boot, after
# systemd-boot-check-no-failures, marked it good: the counter is gone.
out=$(guest ls /boot/EFI/Linux)
if [ "$out" = "slate_$version.efi" ]; then
	ok "the boot was counted and blessed (ESP entry now $out)"
else
	fail "the boot was counted and blessed (ESP /EFI/Linux: $out)"
fi
out=$(guest systemctl is-active multi-user.target)
if [ "$out" = active ]; then ok "multi-user.target is active"; else fail "multi-user.target is active (got: $out)"; fi
# PCR 11: the stub measured the UKI, slate-init extended enter-initrd and
# leave-initrd, systemd sysinit and ready; the guest's value is the build's "ready".
want=$(jq -r .boot.ready.sha256 "$a/pcr11.json")
got=$(guest cat /sys/class/tpm/tpm0/pcr-sha256/11 | tr 'A-F' 'a-f')
if [ -n "$want" ] && [ "$got" = "$want" ]; then
	ok "PCR 11 in the guest equals the build's prediction for $(jq -r .boot.ready.phase "$a/pcr11.json") ($want)"
else
	fail "PCR 11 in the guest equals the build's prediction (guest $got, predicted $want)"
	for s in stub enter-initrd leave-initrd sysinit; do
		echo "# predicted after $s: $(jq -r ".boot[\"$s\"].sha256" "$a/pcr11.json")"
	done
fi
out=$(guest 'test -e /run/slate/pcr11-incomplete && cat /run/slate/pcr11-incomplete; true')
if [ -z "$out" ] && ! tr -d '\r' <"$VM_LOG" | grep -aq 'TPM measurements are incomplete'; then
	ok "slate-init measured every boot phase (no 'incomplete' warning, no /run/slate/pcr11-incomplete)"
else
	fail "slate-init measured every boot phase (got: ${out:-$(grep -am1 incomplete "$VM_LOG")})"
fi
# The event log (JSON-SEQ) holds one PCR 11 phase record each, in boot order.
out=$(guest "tr '\\036' '\\n' </run/log/systemd/tpm2-measure.log" |
	jq -rc 'select(.pcr == 11) | .content.string // empty' 2>/dev/null | paste -sd' ')
if [ "$out" = "enter-initrd leave-initrd sysinit ready" ]; then
	ok "tpm2-measure.log records the phases in order: $out"
else
	fail "tpm2-measure.log records the phases in order (got: $out)"
fi
out=$(guest systemctl is-active containerd)
if [ "$out" = active ]; then ok "containerd is active"; else fail "containerd is active (got: $out)"; fi
vm_scp "$tmp/busybox-oci.tar" /var/tmp/busybox-oci.tar
out=$(guest 'ctr images import /var/tmp/busybox-oci.tar >/dev/null &&
	ctr run --rm docker.io/slate/busybox:test slate-test /bin/busybox echo container-says-hello')
case $out in
*container-says-hello*) ok "containerd runs a container from an OCI archive (no registry)" ;;
*) fail "containerd runs a container from an OCI archive (got: ${out:0:300})" ;;
esac
out=$(guest '. /etc/os-release && echo "$ID $VERSION_ID $IMAGE_ID $IMAGE_VERSION"')
if [ "$out" = "slate $version slate $version" ]; then
	ok "os-release shows the built version ($out)"
else
	fail "os-release shows the built version (got: $out)"
fi
vm_stop
diag "$(date +%T) guest checks done"

if wait "$build_b"; then
	ok "slate build (second build, same inputs)"
	check "the same root hash" cmp "$a/usr.roothash" "$tmp/b/usr.roothash"
	check "a byte-identical /usr image" cmp "$a/usr.erofs" "$tmp/b/usr.erofs"
	check "a byte-identical UKI" cmp "$a/slate.efi" "$tmp/b/slate.efi"
	check "a byte-identical verity tree, release manifest and signature, SBOM" \
		sh -c "cmp '$a/usr.verity' '$tmp/b/usr.verity' && cmp '$a/release.json' '$tmp/b/release.json' &&
			cmp '$a/release.json.sig' '$tmp/b/release.json.sig' &&
			cmp '$a/sbom.spdx.json' '$tmp/b/sbom.spdx.json'"
	check "a byte-identical disk image" cmp "$a/slate.img" "$tmp/b/slate.img"
else
	fail "slate build (second build, same inputs)"
	sed 's/^/# /' "$tmp/b.out" | tail -n 20
fi
rm -rf "$tmp/b"
diag "$(date +%T) reproducibility checked"

# ---- 4. tampering ---------------------------------------------------------------------

# Offset in bytes of a partition (by label) in the image.
part_offset() {
	"$SLATE" disk inspect -o json "$1" |
		jq -r --arg l "$2" '.partitions[] | select(.label == $l) | .first_lba * 512'
}

# (a) one byte of USR-A changed: the EROFS superblock (4 KiB block 0), which mounting reads.
cp --sparse=always "$a/slate.img" "$tmp/flip.img"
off=$(($(part_offset "$tmp/flip.img" USR-A) + 1024 + 8))
byte=$(od -An -tu1 -j "$off" -N1 "$tmp/flip.img" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 0xff)))" |
	dd of="$tmp/flip.img" bs=1 seek="$off" conv=notrunc status=none

# (b) the same UKI signed by another key (replacing our signature).
cp --sparse=always "$a/slate.img" "$tmp/otherkey.img"
"$SLATE" sign --replace --key "$tmp/other/db.key" --cert "$tmp/other/db.crt" "$a/slate.efi" \
	-o "$tmp/other.efi"
esp=$(part_offset "$tmp/otherkey.img" EFI-SYSTEM)
MTOOLS_SKIP_CHECK=1 mcopy -o -i "$tmp/otherkey.img@@$esp" "$tmp/other.efi" \
	"::/EFI/Linux/slate_$version+3.efi"

# (c) another /usr (one byte differs, its own verity tree and root hash, slot A's
# PARTUUIDs set for it) under the UKI that names the original root hash.
cp --sparse=always "$a/slate.img" "$tmp/otherusr.img"
cp "$a/usr.erofs" "$tmp/other.erofs"
printf 'x' | dd of="$tmp/other.erofs" bs=1 seek=$((4096 * 100 + 7)) conv=notrunc status=none
"$SLATE" verity format --root-hash-file="$tmp/other.roothash" "$tmp/other.erofs" \
	"$tmp/other.verity" >/dev/null
dd if="$tmp/other.erofs" of="$tmp/otherusr.img" bs=1M conv=notrunc,sparse status=none \
	oflag=seek_bytes seek="$(part_offset "$tmp/otherusr.img" USR-A)"
dd if="$tmp/other.verity" of="$tmp/otherusr.img" bs=1M conv=notrunc,sparse status=none \
	oflag=seek_bytes seek="$(part_offset "$tmp/otherusr.img" USR-A-VERITY)"
"$SLATE" disk set-usrhash "$tmp/otherusr.img" --slot A "@$tmp/other.roothash" >/dev/null

# Boot the three at once (each with its own TPM and console). Each must end without
# ever starting anything from the changed disk: a reboot ends QEMU (--no-reboot); the
# firmware's refusal leaves systemd-boot's menu waiting, so stop at its message.
declare -A pid done_re
done_re[flip]='block [0-9]+ is corrupted|dm-verity device corrupted|slate-init: FAILED'
done_re[otherkey]='[Ss]ecurity [Vv]iolation|[Aa]ccess [Dd]enied|not allowed'
done_re[otherusr]='slate-init: FAILED'
for t in flip otherkey otherusr; do
	"$SLATE" run "$tmp/$t.img" --no-reboot --no-network --console "$tmp/$t.log" \
		--vars "$a/slate.vars.fd" >"$tmp/$t.run" 2>&1 &
	pid[$t]=$!
done
deadline=$((SECONDS + 420))
while [ $SECONDS -lt $deadline ]; do
	running=0
	for t in flip otherkey otherusr; do
		[ -n "${pid[$t]}" ] || continue
		if ! kill -0 "${pid[$t]}" 2>/dev/null ||
			tr -d '\r' 2>/dev/null <"$tmp/$t.log" | grep -Eaq "${done_re[$t]}"; then
			# Give a reboot or a last message a moment, then stop it.
			sleep 3
			kill "${pid[$t]}" 2>/dev/null
			wait "${pid[$t]}" 2>/dev/null
			pid[$t]=
		else
			running=$((running + 1))
		fi
	done
	[ $running -eq 0 ] && break
	sleep 2
done
console() { tr -d '\r' 2>/dev/null <"$tmp/$1.log"; }
never_ran() { ! console "$1" | grep -Eaq 'switching root|Welcome to|Reached target'; }

if console flip | grep -Eaq "${done_re[flip]}" && never_ran flip; then
	ok "a changed byte in USR-A stops the boot loudly: $(console flip | grep -Eam1 "${done_re[flip]}" | cut -c1-160)"
else
	fail "a changed byte in USR-A stops the boot loudly"
	console flip | tail -n 15 | sed 's/^/# console: /'
fi
if console otherkey | grep -Eaq "${done_re[otherkey]}" &&
	! console otherkey | grep -aq 'Linux version'; then
	ok "a UKI signed by another key is refused by the firmware: $(console otherkey | grep -Eam1 "${done_re[otherkey]}" | cut -c1-160)"
else
	fail "a UKI signed by another key is refused by the firmware"
	console otherkey | tail -n 15 | sed 's/^/# console: /'
fi
if console otherusr | grep -aq 'slate-init: FAILED' && never_ran otherusr; then
	ok "a /usr whose root hash is not the UKI's usrhash= does not boot: $(console otherusr | grep -am1 'FAILED' | cut -c1-160)"
else
	fail "a /usr whose root hash is not the UKI's usrhash= does not boot"
	console otherusr | tail -n 15 | sed 's/^/# console: /'
fi
diag "$(date +%T) tampered boots done"
stop_all
tap_done
