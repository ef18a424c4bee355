#!/bin/bash
# Secure Boot with a slate-made variable store, booted by `slate run`
# (OVMF Secure Boot firmware + swtpm), and PCR 11 against `slate pcr predict`.
# Three boots share one set-up: a UKI signed by the db key boots with
# SecureBoot=1; the same UKI unsigned, and signed by another key, is refused by
# the firmware and nothing boots. The guest is a busybox /init in the UKI's
# initramfs: without systemd-pcrphase only the stub measures into PCR 11, so
# the guest's PCR 11 must equal the prediction "after the stub" (no phase).
. "$SLATE_SRCDIR/tests/lib.sh"
. "$SLATE_SRCDIR/tests/vm/lib.sh"
tmp=$(tap_tmpdir)
root=$("$SLATE_SRCDIR/scripts/trixie-root") || {
	fail "the trixie tools root could not be made"
	tap_done
	exit
}
kver=$(basename "$(ls -d "$root"/usr/lib/modules/*)")
stub=$root/usr/lib/systemd/boot/efi/linuxx64.efi.stub

# Keys: this "machine's" PK, KEK and db, and a second set it does not trust.
"$SLATE" keys create --subject "vm test" "$tmp/keys" >/dev/null &&
	"$SLATE" keys create --subject "vm other" "$tmp/other" >/dev/null
check "slate keys create makes two key sets" test -s "$tmp/keys/db.key" -a -s "$tmp/other/db.key"
check "slate firmware vars makes the store" "$SLATE" firmware vars --keys "$tmp/keys" \
	-o "$tmp/vars.fd"

# The initramfs: busybox as /init reports what the guest sees, then powers off.
ird=$tmp/initrd
mkdir -p "$ird"/{bin,dev,proc,sys,lib}
cp "$root/usr/bin/busybox" "$ird/bin/"
# efivarfs is a module in Debian's cloud kernel; a decompressed .ko keeps its signature.
xz -dc "$root/usr/lib/modules/$kver/kernel/fs/efivarfs/efivarfs.ko.xz" >"$ird/lib/efivarfs.ko"
cat >"$ird/init" <<'EOS'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
insmod /lib/efivarfs.ko
mount -t efivarfs efivarfs /sys/firmware/efi/efivars
echo "slate-test: cmdline $(cat /proc/cmdline)"
echo "slate-test: SecureBoot $(od -An -tu1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c | tr -s ' ')"
for b in sha1 sha256 sha384; do
	echo "slate-test: pcr11 $b $(cat /sys/class/tpm/tpm0/pcr-$b/11)"
done
echo "slate-test: done"
poweroff -f
EOS
chmod 755 "$ird/init"
(cd "$ird" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/initrd.cpio"

# UKI from Debian 13's stub and kernel, made by `slate uki build`, signed by
# `slate sign` with the enrolled db key and with the other set's db key.
printf 'ID=slatetest\nVERSION_ID=1\n' >"$tmp/os-release"
"$SLATE" uki build --stub "$stub" --linux "$root/boot/vmlinuz-$kver" --initrd "$tmp/initrd.cpio" \
	--cmdline "console=ttyS0 no_timer_check panic=-1 slate.test=good" --os-release "$tmp/os-release" \
	-o "$tmp/uki.efi" &&
	"$SLATE" sign --key "$tmp/keys/db.key" --cert "$tmp/keys/db.crt" -o "$tmp/good.efi" \
		"$tmp/uki.efi" &&
	"$SLATE" sign --key "$tmp/other/db.key" --cert "$tmp/other/db.crt" -o "$tmp/other.efi" \
		"$tmp/uki.efi"
check "UKIs built and signed" test -s "$tmp/good.efi" -a -s "$tmp/other.efi"

# A GPT disk whose ESP holds the UKI as the removable-media boot path.
make_disk() { # UKI OUT
	rm -f "$tmp/esp.fat"
	mkfs.vfat -C "$tmp/esp.fat" $((40 * 1024)) >/dev/null &&
		mmd -i "$tmp/esp.fat" ::/EFI ::/EFI/BOOT &&
		mcopy -i "$tmp/esp.fat" "$1" ::/EFI/BOOT/BOOTX64.EFI &&
		truncate -s 48M "$2" &&
		printf 'label: gpt\nstart=2048, size=81920, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n' |
		sfdisk -q "$2" &&
		dd if="$tmp/esp.fat" of="$2" bs=512 seek=2048 conv=notrunc status=none
}
make_disk "$tmp/good.efi" "$tmp/good.img" && make_disk "$tmp/uki.efi" "$tmp/unsigned.img" &&
	make_disk "$tmp/other.efi" "$tmp/other.img"
check "disk images made" test -s "$tmp/other.img"

# slate run's private files go here, so the test can see that they are removed.
export TMPDIR=$tmp/run
mkdir -p "$TMPDIR"
leftovers() { [ -z "$(ls -A "$TMPDIR")" ] && ! pgrep -f "swtpm socket.*$TMPDIR" >/dev/null; }

# 1. The signed UKI boots with Secure Boot enforced.
sum_before=$(sha256sum <"$tmp/good.img")
VM_LOG=$tmp/good.log
"$SLATE" run "$tmp/good.img" --vars "$tmp/vars.fd" --console "$VM_LOG" --no-network \
	--snapshot --no-reboot --accel tcg >"$tmp/run.out" 2>&1 &
VM_PID=$!
if vm_wait 'slate-test: done' 600 && vm_exited 120; then
	ok "the db-signed UKI boots under slate run and the guest powers off"
else
	fail "the db-signed UKI did not boot to its /init"
	vm_tail
	vm_stop
fi
wait "$VM_PID"
check "slate run exits 0 when the guest powers off" test $? -eq 0
check "the kernel sees Secure Boot" grep -aq 'secureboot: Secure boot enabled' "$VM_LOG"
# efivarfs: the 4-byte attributes (BS|RT = 6), then the 1-byte value.
check "the guest reads SecureBoot=1 from efivarfs" grep -aqE 'slate-test: SecureBoot +6 0 0 0 1\b' "$VM_LOG"
check "--snapshot left the image unchanged" test "$(sha256sum <"$tmp/good.img")" = "$sum_before"
check "swtpm and the run's temporary files are gone" leftovers

# PCR 11: the guest's /init is busybox, not systemd, so no systemd-pcrphase runs
# and PCR 11 holds only the stub's measurements: the "after the stub" value (the
# phase words enter-initrd... are checked against systemd-measure in
# tests/compat/pcr.sh).
guest_pcr() { tr -d '\r' <"$VM_LOG" | sed -n "s/^slate-test: pcr11 $1 //p" | tr A-F a-f; }
"$SLATE" pcr predict -o json "$tmp/good.efi" >"$tmp/pcr.json"
for bank in sha256 sha1 sha384; do
	want=$(jq -r --arg b "$bank" '.phases[] | select(.phase == "") | .[$b]' "$tmp/pcr.json")
	check "guest PCR 11 ($bank) equals slate pcr predict after the stub (no phase)" \
		test -n "$want" -a "$(guest_pcr "$bank")" = "$want"
done

# 2./3. Unsigned and foreign-signed: the firmware refuses, nothing boots.
refused() { # IMAGE NAME
	VM_LOG=$tmp/$2.log
	"$SLATE" run "$1" --vars "$tmp/vars.fd" --console "$VM_LOG" --no-network --snapshot \
		--accel tcg >/dev/null 2>&1 &
	VM_PID=$!
	if vm_wait 'No bootable option' 300 &&
		grep -aq 'failed to load Boot.*Access Denied' "$VM_LOG" &&
		! grep -aqE 'Linux version|slate-test' "$VM_LOG"; then
		ok "the firmware refuses the $2 UKI (Access Denied) and nothing boots"
	else
		fail "the $2 UKI was not refused"
		vm_tail
	fi
	kill -TERM "$VM_PID"
	wait "$VM_PID"
	check "slate run ends on SIGTERM with 143 ($2)" test $? -eq 143
	check "swtpm and the run's temporary files are gone after SIGTERM ($2)" leftovers
}
refused "$tmp/unsigned.img" unsigned
refused "$tmp/other.img" other-key
tap_done
