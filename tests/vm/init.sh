#!/bin/bash
# slate-init in QEMU (TCG), with Debian 13's cloud kernel and a disk made by
# tests/vm/init-disk.sh (a trixie /usr with systemd on dm-verity, an empty ROOT):
#   1. virtio, first boot on a disk larger than the image, as a Slate machine
#      boots: OVMF starts a UKI (slate uki build: Debian 13's stub and kernel,
#      slate's initramfs, usrhash= in .cmdline) from the disk's ESP under
#      `slate run` with swtpm. ROOT is prepared and grown; systemd reaches
#      multi-user; the disk's own check unit reports /usr is a verified
#      dm-verity device that cannot be written, /etc is the overlay, and PCR 11
#      equals `slate pcr predict` for enter-initrd:leave-initrd in every bank
#      (slate-init measured both phases; this /usr cannot add sysinit), as did
#      slate-init's own reading of it before switch_root;
#   2. the same disk on NVMe, second boot: the same checks, and /etc kept what
#      boot 1 wrote;
#   3-8. (direct kernel boots, no firmware, no TPM) a wrong usrhash=, no verity
#      partition, a corrupted /usr block (slate-init's own line, then the halt), an
#      initramfs without erofs, dm_verity.require_signatures=1 without a
#      signature, and a root-hash signature by a key the kernel does not trust
#      (it reaches the kernel through the keyring, which refuses it): each ends
#      with its own console line and the emergency policy (slate.emergency=halt
#      here, so QEMU exits), never systemd, never a hang.
. "$SLATE_SRCDIR/tests/lib.sh"
. "$SLATE_SRCDIR/tests/vm/lib.sh"
tmp=$(tap_tmpdir)
trap 'vm_stop; rm -rf "$tmp"' EXIT

dir=$("$SLATE_SRCDIR/tests/vm/init-disk.sh" "$tmp/disk" 2>"$tmp/disk.log") || {
	fail "building the test disk: $(tail -n 3 "$tmp/disk.log" | tr '\n' ' ')"
	tap_done
	exit 1
}
mdir=$(cat "$dir/modules-dir")
hash=$(cat "$dir/roothash")
mods=virtio_blk,dm-verity,erofs,overlay,efivarfs
check "slate initrd build" "$SLATE" initrd build --modules-dir "$mdir" --module "$mods" \
	-o "$tmp/initrd.img"
check "slate initrd build without erofs" "$SLATE" initrd build --modules-dir "$mdir" \
	--module virtio_blk,dm-verity,overlay -o "$tmp/initrd-no-erofs.img"

# A root-hash signature (SPEC.md §1.7) by a key no kernel keyring holds.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=untrusted -days 1 \
	-keyout "$tmp/untrusted.key" -out "$tmp/untrusted.crt" 2>/dev/null
printf %s "$hash" >"$tmp/roothash.txt"
openssl smime -sign -nocerts -noattr -binary -in "$tmp/roothash.txt" -inkey "$tmp/untrusted.key" \
	-signer "$tmp/untrusted.crt" -outform der -out "$tmp/roothash.p7s"
check "slate initrd build with a root-hash signature" "$SLATE" initrd build \
	--modules-dir "$mdir" --module "$mods" --roothash-sig "$tmp/roothash.p7s" \
	-o "$tmp/initrd-signed.img"

# The broken disks, made before the first boot changes the good one.
cp --sparse=always "$dir/disk.img" "$tmp/no-verity.img"
sfdisk --quiet --no-reread --no-tell-kernel --delete "$tmp/no-verity.img" 3 >/dev/null 2>&1
cp --sparse=always "$dir/disk.img" "$tmp/corrupt.img"
usr_start=$(($(sfdisk -J "$dir/disk.img" | jq '.partitiontable.partitions[1].start') * 512))
# One byte of the EROFS superblock (block 0 of /usr): read when /usr is mounted.
printf '\x5a' | dd of="$tmp/corrupt.img" bs=1 seek=$((usr_start + 1100)) conv=notrunc status=none
base_append="console=ttyS0 no_timer_check slate.emergency=halt"

# The UKI of boot 1, on the ESP as the removable-media boot path, and its PCR 11.
root=$("$SLATE_SRCDIR/scripts/trixie-root")
printf 'ID=slatetest\nVERSION_ID=1\n' >"$tmp/os-release"
check "slate uki build with slate's initramfs" "$SLATE" uki build \
	--stub "$root/usr/lib/systemd/boot/efi/linuxx64.efi.stub" --linux "$dir/vmlinuz" \
	--initrd "$tmp/initrd.img" --cmdline "$base_append usrhash=$hash" \
	--os-release "$tmp/os-release" -o "$tmp/uki.efi"
check "slate pcr predict" sh -c '"$SLATE" pcr predict -o json "$1" >"$2"' _ "$tmp/uki.efi" \
	"$tmp/pcr.json"
esp_start=$(sfdisk -J "$dir/disk.img" | jq '.partitiontable.partitions[0].start')
check "the UKI on the ESP" sh -c 'mkfs.vfat -C "$1" 40960 >/dev/null &&
	mmd -i "$1" ::/EFI ::/EFI/BOOT && mcopy -i "$1" "$2" ::/EFI/BOOT/BOOTX64.EFI &&
	dd if="$1" of="$3" bs=512 seek="$4" conv=notrunc status=none' _ "$tmp/esp.fat" \
	"$tmp/uki.efi" "$dir/disk.img" "$esp_start"
predicted() { jq -r --arg p "$1" --arg b "$2" '.phases[] | select(.phase == $p) | .[$b]' \
	"$tmp/pcr.json"; }

# The machine's disk is 1 GiB larger than the image: the first boot grows ROOT.
truncate -s +1G "$dir/disk.img"

# boot NAME INITRD APPEND QEMU-DISK-ARGS...
boot() {
	local name=$1 initrd=$2 append=$3
	shift 3
	vm_start "$tmp/$name.log" -kernel "$dir/vmlinuz" -initrd "$initrd" \
		-append "$base_append $append" "$@"
}

console_has() { grep -Eaq -- "$1" "$VM_LOG"; }
console_check() {
	if console_has "$2"; then ok "$1"; else
		fail "$1 (no '$2' on the console)"
		vm_tail 15
	fi
}
console_lacks() {
	if console_has "$2"; then
		fail "$1 ('$2' is on the console)"
		vm_tail 15
	else ok "$1"; fi
}

# The lines of the guest's check unit.
guest_checks() {
	local what=$1
	for c in multi-user usr-verity verity-status usr-read-only etc-overlay machine-id; do
		console_check "$what: $c" "SLATE-CHECK $c ok"
	done
	console_check "$what: systemd reached multi-user.target" \
		'Reached target.*multi-user.target'
}

# ---- 1. virtio, first boot: UEFI, the UKI, a TPM ----
VM_LOG=$tmp/virtio.log
"$SLATE" run "$dir/disk.img" --no-secure-boot --console "$VM_LOG" --no-network --no-reboot \
	--accel tcg --memory 1G >"$tmp/run.out" 2>&1 &
VM_PID=$!
if vm_wait 'SLATE-CHECK DONE' 900; then
	ok "virtio: booted through slate-init to the check unit"
else
	fail "virtio: booted through slate-init to the check unit"
	vm_tail 40
fi
console_check "virtio: slate-init switched root" 'slate-init: switching root to /sysroot'
console_check "virtio: /dev/mapper/usr verifies vda2 against vda3" \
	'slate-init: /dev/mapper/usr .* verifies vda2 against vda3'
console_check "virtio: first boot prepared ROOT" 'slate-init: first boot: preparing the empty ROOT'
console_check "virtio: ROOT grew to fill the disk" 'slate-init: grew ROOT vda6 from 256 to 1280 MiB'
console_check "virtio: ext4 grew online" 'slate-init: grew ext4 on /dev/vda6'
guest_checks virtio
console_check "virtio: no boot before this one" 'SLATE-CHECK boots 0'
read -r fs part < <(grep -ao 'SLATE-CHECK root [^ ]* fs-bytes [0-9]* part-bytes [0-9]*' "$VM_LOG" |
	awk '{ print $5, $7 }')
if [ "${part:-0}" -ge $((1280 * 1024 * 1024)) ] && [ "${fs:-0}" -ge $((part * 9 / 10)) ]; then
	ok "virtio: the guest's / is the grown ROOT ($fs bytes of ext4 in $part)"
else
	fail "virtio: the guest's / is the grown ROOT (ext4 ${fs:-?} bytes, partition ${part:-?})"
fi
# PCR 11: in the real root (the check unit), and as slate-init read it back after
# each phase, against the prediction for the UKI.
guest_pcr() { # the check unit's lines come through journald: "[ time] unit[pid]: SLATE-CHECK ..."
	tr -d '\r' <"$VM_LOG" | sed -n "s/.*SLATE-CHECK pcr11 $1 \([0-9A-Fa-f]*\).*/\1/p" |
		head -n 1 | tr A-F a-f
}
initrd_pcr() { # PHASE BANK
	tr -d '\r' <"$VM_LOG" | grep -ao "slate-init: PCR 11 after $1:.*" | head -n 1 |
		grep -o " $2=[0-9a-f]*" | cut -d= -f2
}
for bank in sha256 sha1 sha384 sha512; do
	want=$(predicted enter-initrd:leave-initrd "$bank")
	got=$(guest_pcr "$bank")
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		ok "virtio: PCR 11 $bank in the real root is slate pcr predict's enter-initrd:leave-initrd (${got:0:16}...)"
	else
		fail "virtio: PCR 11 $bank in the real root is ${got:-missing}, predicted enter-initrd:leave-initrd ${want:-?}"
	fi
	for phase in enter-initrd leave-initrd; do
		p=enter-initrd
		[ $phase = leave-initrd ] && p=enter-initrd:leave-initrd
		want=$(predicted "$p" "$bank")
		got=$(initrd_pcr "$phase" "$bank")
		if [ -n "$want" ] && [ "$got" = "$want" ]; then
			ok "virtio: PCR 11 $bank after $phase (slate-init, before switch_root) is predicted (${got:0:16}...)"
		else
			fail "virtio: PCR 11 $bank after $phase is ${got:-missing}, predicted ${want:-?}"
		fi
	done
done
console_check "virtio: systemd's measurement log has both phases, complete (mode 600)" \
	'SLATE-CHECK tpm-log mode 600 records 2 "string":"enter-initrd" "string":"leave-initrd"'
console_check "virtio: no measurement is missing" 'SLATE-CHECK pcr11-incomplete no'
console_check "virtio: slate-init found the TPM" 'slate-init: TPM /dev/tpmrm0 \(after [0-9]+ ms\): PCR 11 banks'
check "virtio: the guest powered off" vm_exited 180
wait "$VM_PID"
check "virtio: slate run exited 0" test $? -eq 0
VM_PID=

# ---- 2. NVMe, second boot of the same disk ----
boot nvme "$tmp/initrd.img" "usrhash=$hash" \
	-drive "file=$dir/disk.img,format=raw,if=none,id=d0" -device nvme,serial=slate,drive=d0
if vm_wait 'SLATE-CHECK DONE' 900; then
	ok "nvme: booted through slate-init to the check unit"
else
	fail "nvme: booted through slate-init to the check unit"
	vm_tail 40
fi
console_check "nvme: found /usr and ROOT on the NVMe disk" \
	'slate-init: found /usr nvme0n1p2 \+ nvme0n1p3, ROOT nvme0n1p6'
guest_checks nvme
console_check "nvme: /etc kept what the first boot wrote" 'SLATE-CHECK boots 1'
console_lacks "nvme: not a first boot any more" 'slate-init: first boot'
console_lacks "nvme: nothing left to grow" 'slate-init: grew ROOT'
console_check "nvme: no UEFI, no boot phases" \
	'slate-init: not booted through UEFI: no PCR 11 boot phases to measure'
check "nvme: the guest powered off" vm_exited 180
vm_stop

# ---- 3-7. failures: one line each, the policy, no systemd ----
# fails NAME INITRD APPEND DISK LINE-REGEX
fails() {
	local name=$1 initrd=$2 append=$3 disk=$4 line=$5
	boot "$name" "$initrd" "$append" -drive "file=$disk,format=raw,if=virtio,snapshot=on"
	if vm_exited 300; then
		ok "$name: the machine stopped by itself"
	else
		fail "$name: the machine stopped by itself (still running after 300 s)"
		vm_tail 20
	fi
	console_check "$name: its own console line" "$line"
	console_lacks "$name: systemd never started" 'systemd\[1\]'
	vm_stop
}
# Another release's root hash: neither half matches a partition.
wrong=$(printf '%s' "$hash" | sha256sum | cut -c1-64)
fails wrong-usrhash "$tmp/initrd.img" "usrhash=$wrong slate.timeout=5" "$dir/disk.img" \
	'slate-init: FAILED: /usr: no partition with PARTUUID .* \(data\) or .* \(verity\), the halves of usrhash=.*powering off'
fails no-verity "$tmp/initrd.img" "usrhash=$hash slate.timeout=5" "$tmp/no-verity.img" \
	'slate-init: FAILED: /usr: the data partition is vda2, but no partition has the verity PARTUUID .*booting unverified code is refused; powering off'
# A block slate-init reads (the EROFS superblock) fails the read while the table
# has no corruption option: slate-init's own line and the policy, not the
# kernel's restart (restart_on_corruption comes only after slate-init's reads).
fails corrupt-usr "$tmp/initrd.img" "usrhash=$hash" "$tmp/corrupt.img" \
	'slate-init: FAILED: /usr does not match its signed root hash: mounting /dev/mapper/usr \(erofs, read-only\) on /sysroot/usr: (I/O error|Input/output error).*powering off'
console_check "corrupt-usr: the kernel named the block" \
	'device-mapper: verity: [0-9]+:[0-9]+: data block 0 is corrupted'
console_lacks "corrupt-usr: the kernel did not restart the machine" \
	'dm-verity device corrupted|reboot: Restarting system'
fails no-erofs "$tmp/initrd-no-erofs.img" "usrhash=$hash" "$dir/disk.img" \
	'slate-init: FAILED: the kernel has no erofs file system: module erofs is neither built in nor in the initramfs: the initramfs lacks a kernel module.*powering off'
fails unsigned "$tmp/initrd.img" "usrhash=$hash dm_verity.require_signatures=1" "$dir/disk.img" \
	'slate-init: FAILED: dm-verity requires a root-hash signature and none was found.*powering off'
console_check "unsigned: require_signatures=1 reached dm-verity through finit_module" \
	'slate-init: loaded module dm_verity \(require_signatures=1\)'
fails untrusted-sig "$tmp/initrd-signed.img" "usrhash=$hash" "$dir/disk.img" \
	'slate-init: FAILED: dm-verity found no trusted key for the root-hash signature from /slate/usr.roothash.p7s.*powering off'
console_check "untrusted-sig: the table names the signature's key" \
	'slate-init: dm-verity table: .* 2 root_hash_sig_key_desc slate:usr:'
console_check "untrusted-sig: the kernel found the key and checked the signature" \
	'verity: Root hash verification failed \(-ENOKEY\)'
tap_done
