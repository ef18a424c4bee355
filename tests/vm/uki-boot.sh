#!/bin/bash
# SPDX-License-Identifier: MIT
# One boot: a UKI made by `slate uki build` from Debian 13's systemd-stub (257),
# Debian 13's cloud kernel and a small busybox initramfs boots under QEMU with
# OVMF, and the kernel runs with the command line embedded in the UKI (no load
# options are given: the stub passes .cmdline). The guest's /init prints
# /proc/cmdline and powers off. The ESP and GPT disk are made by slate too.
. "$SLATE_SRCDIR/tests/lib.sh"
. "$SLATE_SRCDIR/tests/vm/lib.sh"
tmp=$(tap_tmpdir)
trap 'vm_stop; rm -rf "$tap_root"' EXIT

for tool in qemu-system-x86_64 mkfs.vfat mcopy cpio; do
	command -v $tool >/dev/null || {
		skip "UKI boot" "$tool is not installed"
		tap_done
		exit
	}
done
ovmf=/usr/share/OVMF/OVMF_CODE_4M.fd
[ -f "$ovmf" ] || {
	skip "UKI boot" "$ovmf is missing (package ovmf)"
	tap_done
	exit
}
root=$("$SLATE_SRCDIR/scripts/trixie-root") || {
	fail "the trixie tools root could not be made"
	tap_done
	exit
}
kernel=$(ls "$root"/boot/vmlinuz-* | head -n1)

# The initramfs: busybox as /init.
ird=$tmp/initrd
mkdir -p "$ird"/{bin,proc}
cp "$root/usr/bin/busybox" "$ird/bin/busybox"
cat >"$ird/init" <<'EOS'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "uki-test: cmdline [$(/bin/busybox cat /proc/cmdline)]"
/bin/busybox poweroff -f
EOS
chmod 755 "$ird/init"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/initrd.cpio"

# The command line: a fresh token, so that only this UKI's .cmdline can match.
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
cmdline="console=ttyS0 no_timer_check panic=-1 slate.uki-test=$token"
printf 'ID=slate\nPRETTY_NAME="Slate UKI test"\n' >"$tmp/os-release"
check "slate uki build (Debian 13 stub and cloud kernel)" "$SLATE" uki build \
	--stub "$root/usr/lib/systemd/boot/efi/linuxx64.efi.stub" --linux "$kernel" \
	--initrd "$tmp/initrd.cpio" --cmdline "$cmdline" --os-release "$tmp/os-release" -o "$tmp/uki.efi"

# An ESP holding the UKI at the removable-media path, on a GPT disk from slate disk.
mkfs.vfat -C "$tmp/esp.fat" $((40 * 1024)) >/dev/null &&
	mmd -i "$tmp/esp.fat" ::/EFI ::/EFI/BOOT &&
	mcopy -i "$tmp/esp.fat" "$tmp/uki.efi" ::/EFI/BOOT/BOOTX64.EFI
printf 'partition ESP 40M esp\n' >"$tmp/layout"
check "slate disk create (ESP with the UKI)" "$SLATE" disk create "$tmp/disk.img" --size 48M \
	--layout "$tmp/layout" --part ESP="$tmp/esp.fat"

cp /usr/share/OVMF/OVMF_VARS_4M.fd "$tmp/vars.fd"
vm_start "$tmp/console.log" \
	-drive if=pflash,format=raw,unit=0,readonly=on,file="$ovmf" \
	-drive if=pflash,format=raw,unit=1,file="$tmp/vars.fd" \
	-drive file="$tmp/disk.img",format=raw,if=virtio
if vm_wait 'uki-test: cmdline' 600; then
	ok "the UKI boots under OVMF to its initramfs's /init"
else
	fail "the UKI did not reach /init"
	vm_tail
fi
got=$(tr -d '\r' <"$tmp/console.log" | sed -n 's/^uki-test: cmdline \[\(.*\)\]$/\1/p' | head -n1)
check "the kernel runs with the UKI's embedded command line" test "$got" = "$cmdline"
check "the kernel is Debian 13's ($(basename "$kernel"))" grep -aq "Linux version ${kernel##*/vmlinuz-} " "$tmp/console.log"
if vm_exited 120; then
	ok "the guest powers off"
else
	fail "the guest did not power off"
	vm_stop
fi
tap_done
