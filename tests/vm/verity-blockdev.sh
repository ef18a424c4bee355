#!/bin/bash
# SPDX-License-Identifier: MIT
# slate verity on real block devices (the host has no loop devices to offer): in
# QEMU (TCG) with Debian 13's cloud kernel (NVMe built in) and a tiny initramfs
# holding busybox and slate, four NVMe disks: data, hash, data-and-hash-in-one
# and a hash disk too small. The guest formats, verifies, refuses the small disk
# and a changed byte; the host then checks what the guest wrote against
# veritysetup.
. "$SLATE_SRCDIR/tests/lib.sh"
. "$SLATE_SRCDIR/tests/vm/lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/slate-verity-vm.XXXXXX")
trap 'vm_stop; rm -rf "$tmp"' EXIT

troot=$("$SLATE_SRCDIR/scripts/trixie-root" 2>"$tmp/trixie.log") || {
	fail "the Debian 13 tools root: $(tail -n 3 "$tmp/trixie.log" | tr '\n' ' ')"
	tap_done
	exit 1
}
kernel=$(ls "$troot"/boot/vmlinuz-* | head -n 1)

salt=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
uuid=5a7e0000-0000-4000-8000-00000000b10c
mib=$((1 << 20))

# The disks.
head -c $((8 * mib)) /dev/urandom >"$tmp/data.orig"
cp "$tmp/data.orig" "$tmp/data.img"
truncate -s $mib "$tmp/hash.img"
cp "$tmp/data.orig" "$tmp/both.img"
truncate -s $((9 * mib)) "$tmp/both.img"
truncate -s 65536 "$tmp/small.img"

# The initramfs: busybox, slate and the libraries it needs, and a test script.
ir=$tmp/ir
mkdir -p "$ir/bin" "$ir/dev" "$ir/proc" "$ir/sys"
cp "$troot/usr/bin/busybox" "$ir/bin/busybox"
cp "$SLATE" "$ir/bin/slate"
for lib in $(ldd "$SLATE" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'); do
	mkdir -p "$ir$(dirname "$lib")"
	cp -L "$lib" "$ir$lib"
done
cat >"$ir/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "VERITY-TEST \$*" >/dev/console; }
# The disks by NVMe serial number.
for i in \$(seq 1 100); do [ -e /sys/class/nvme/nvme3 ] && break; sleep 0.1; done
for c in /sys/class/nvme/nvme*; do
	s=\$(cat \$c/serial); s=\$(echo \$s)
	eval dev_\$s=/dev/\$(basename \$c)n1
done
for i in \$(seq 1 100); do [ -b "\$dev_small" ] && break; sleep 0.1; done
say devices \$dev_data \$dev_hash \$dev_both \$dev_small

root=\$(slate verity format --salt=$salt --uuid=$uuid \$dev_data \$dev_hash | awk '/^Root hash:/ { print \$3 }')
say root \$root
slate verity verify \$dev_data \$dev_hash \$root && say verify ok

both=\$(slate verity format --salt=$salt --uuid=$uuid --hash-offset=$((8 * mib)) --data-blocks=2048 \
	\$dev_both \$dev_both |
	awk '/^Root hash:/ { print \$3 }')
say both-root \$both
slate verity verify --hash-offset=$((8 * mib)) \$dev_both \$dev_both \$both && say both-verify ok

out=\$(slate verity format --hash-offset=$((4 * mib)) \$dev_both \$dev_both 2>&1)
say overlap-exit \$? \$out
out=\$(slate verity format \$dev_data \$dev_small 2>&1)
say small-exit \$? \$out

printf X | dd of=\$dev_data bs=1 seek=$((123 * 4096 + 5)) conv=notrunc 2>/dev/null
sync
out=\$(slate verity verify \$dev_data \$dev_hash \$root 2>&1)
say corrupt-exit \$? \$out
sync
say done
poweroff -f
EOF
chmod +x "$ir/init"
(cd "$ir" && find . | cpio -o -H newc --quiet) >"$tmp/initrd"

vm_start "$tmp/console.log" -kernel "$kernel" -initrd "$tmp/initrd" \
	-append "console=ttyS0 no_timer_check panic=-1 quiet" \
	-drive "file=$tmp/data.img,format=raw,if=none,id=d0" -device nvme,drive=d0,serial=data \
	-drive "file=$tmp/hash.img,format=raw,if=none,id=d1" -device nvme,drive=d1,serial=hash \
	-drive "file=$tmp/both.img,format=raw,if=none,id=d2" -device nvme,drive=d2,serial=both \
	-drive "file=$tmp/small.img,format=raw,if=none,id=d3" -device nvme,drive=d3,serial=small
if vm_wait 'VERITY-TEST done' 600; then
	ok "the guest ran slate verity on four NVMe block devices"
else
	fail "the guest did not finish"
	vm_tail 20
fi
vm_exited 60 || vm_stop
line() { sed -n "s/^.*VERITY-TEST $1 //p" "$tmp/console.log" | tr -d '\r' | head -n 1; }
diag "guest: $(line devices)"

# The same root as on the host, and veritysetup accepts the tree the guest wrote.
want=$("$SLATE" verity format -o json --salt=$salt --uuid=$uuid "$tmp/data.orig" "$tmp/h" |
	jq -r .root_hash)
got=$(line root)
if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "block devices: the root hash the host computes"; else
	fail "block devices: root hash '$got', the host computes '$want'"
fi
[ "$(line verify)" = ok ] && ok "block devices: slate verify in the guest" ||
	fail "block devices: slate verify in the guest"
check "block devices: veritysetup verifies the tree the guest wrote" \
	veritysetup verify "$tmp/data.orig" "$tmp/hash.img" "$want"
check "block devices: the tree is the host's, byte for byte" \
	cmp -n "$(stat -c %s "$tmp/h")" "$tmp/h" "$tmp/hash.img"

got=$(line both-root)
[ "$got" = "$want" ] && ok "one device with --hash-offset: the same root hash" ||
	fail "one device with --hash-offset: root hash '$got', wanted '$want'"
[ "$(line both-verify)" = ok ] && ok "one device with --hash-offset: slate verify" ||
	fail "one device with --hash-offset: slate verify"
check "one device with --hash-offset: veritysetup verifies it" \
	veritysetup verify --hash-offset=$((8 * mib)) "$tmp/both.img" "$tmp/both.img" "$want"
check "one device with --hash-offset: the data is untouched" \
	cmp -n $((8 * mib)) "$tmp/both.img" "$tmp/data.orig"

got=$(line overlap-exit)
[[ $got == "1 "*"data and hash areas overlap"* ]] &&
	ok "one device, the tree inside the data: refused: $got" ||
	fail "one device, the tree inside the data: '$got'"
got=$(line small-exit)
[[ $got == "1 "*"the hash area needs 73728 bytes, the hash device has 65536"* ]] &&
	ok "a hash device too small is refused: $got" ||
	fail "a hash device too small: '$got'"
got=$(line corrupt-exit)
[[ $got == "1 "*"data block 123 (offset 503808) does not match its hash"* ]] &&
	ok "a changed byte on the device is refused, the block named: $got" ||
	fail "a changed byte on the device: '$got'"
tap_done
