#!/bin/bash
# Builds the disk that slate-init's VM test (tests/vm/init.sh) and bench/initrd
# boot, and prints the directory that holds it:
#
#   dir=$(tests/vm/init-disk.sh)     # $dir/disk.img, $dir/roothash, $dir/vmlinuz, ...
#
# A Slate-shaped GPT disk, made with the reference tools rather than slate's own
# (sfdisk, mkfs.erofs, veritysetup, mkfs.ext4), so that it tests slate-init alone:
#   1 EFI-SYSTEM 256 MiB   (empty)
#   2 USR-A      1 GiB     EROFS of a Debian 13 /usr with systemd, /etc moved to
#                          /usr/share/factory/etc, and a check unit (below)
#   3 USR-A-VERITY 64 MiB  its dm-verity tree (veritysetup, superblock at 0)
#   4 USR-B      1 GiB     (empty, another PARTUUID)
#   5 USR-B-VERITY 64 MiB  (empty)
#   6 ROOT       256 MiB   an empty ext4
# PARTUUIDs of slot A from the root hash (SPEC.md §1.8). The kernel is Debian 13's
# cloud kernel from scripts/trixie-root.
#
# Expensive parts are cached in $SLATE_CACHE/vm-init (default /var/cache/slate),
# keyed by the package list and this script: the /usr image and its tree. The
# Debian packages come from the .deb cache shared with scripts/trixie-root. The
# disk itself is assembled in $1 (default: a new directory in the cache) in a few
# seconds.
#
# The check unit in /usr (slate-vmcheck.service, after multi-user.target) prints
# "SLATE-CHECK <name> ok|FAIL <details>" lines on the console and powers off.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${SLATE_CACHE:-/var/cache/slate}
debs=$cache/debs/trixie
packages=(systemd udev dmsetup mawk)
key=$( (
	echo "${packages[*]}"
	cat "$0"
) | sha256sum | cut -c1-16)
usr=$cache/vm-init/usr-$key
log() { echo "init-disk: $*" >&2; }

# ---- The check unit and its script, baked into /usr ----
write_checks() {
	local root=$1
	mkdir -p "$root/usr/libexec" "$root/usr/lib/systemd/system/multi-user.target.wants"
	cat >"$root/usr/lib/systemd/system/slate-vmcheck.service" <<'UNIT'
[Unit]
Description=Slate VM checks (tests/vm/init.sh)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/libexec/slate-vmcheck
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
UNIT
	ln -s ../slate-vmcheck.service "$root/usr/lib/systemd/system/multi-user.target.wants/"
	cat >"$root/usr/libexec/slate-vmcheck" <<'CHECK'
#!/bin/sh
# What the VM test asks of a booted Slate-shaped system; one line per check.
check() {
	name=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		echo "SLATE-CHECK $name ok"
	else
		echo "SLATE-CHECK $name FAIL $(head -c 300 /tmp/check.out | tr '\n' ' ')"
	fi
}
# mountinfo: "... MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPEROPTIONS"
mnt() { awk -v m="$1" '$5 == m { sub(/.* - /, ""); print }' /proc/self/mountinfo | tail -n 1; }
usr_is_verity() {
	set -- $(mnt /usr)
	echo "usr: $*"
	[ "$1" = erofs ] && [ "$2" = /dev/mapper/usr ] || return 1
	awk '$5 == "/usr" && $6 ~ /^ro(,|$)/ { ok = 1 } END { exit !ok }' /proc/self/mountinfo
}
verity_status() {
	s=$(dmsetup status usr) && t=$(dmsetup table usr) && u=$(dmsetup info -c --noheadings -o uuid usr)
	echo "status: $s; table: $t; uuid: $u"
	case $s in "0 "*" verity V") ;; *) return 1 ;; esac
	case $t in *" 1 restart_on_corruption") ;; *) return 1 ;; esac
	case $u in CRYPT-VERITY-*-usr) ;; *) return 1 ;; esac
	devno=$(dmsetup info -c --noheadings -o major,minor --separator : usr)
	echo "; ro: $(cat "/sys/dev/block/$devno/ro")"
	[ "$(cat "/sys/dev/block/$devno/ro")" = 1 ]
}
usr_write_fails() {
	if touch /usr/slate-write-test; then echo "wrote a file in /usr"; return 1; fi
	if printf x | dd of=/dev/mapper/usr bs=1 count=1 conv=notrunc; then
		echo "wrote to /dev/mapper/usr"
		return 1
	fi
	return 0
}
etc_is_overlay() {
	set -- $(mnt /etc)
	echo "etc: $*"
	[ "$1" = overlay ] || return 1
	case $3 in *lowerdir=/sysroot/usr/share/factory/etc*upperdir=/sysroot/.slate/etc/upper*) ;;
	*) return 1 ;; esac
	boot=$(cat /proc/sys/kernel/random/boot_id)
	echo "$boot" >"/etc/slate-vmcheck.$boot" && [ -f "/.slate/etc/upper/slate-vmcheck.$boot" ]
}
echo "SLATE-CHECK boots $(ls /etc/slate-vmcheck.* 2>/dev/null | wc -l)"
set -- $(mnt /)
echo "SLATE-CHECK root $2 fs-bytes $(stat -f -c '%b %S' / | awk '{ print $1 * $2 }')" \
	"part-bytes $(($(cat "/sys/class/block/${2##*/}/size") * 512))"
check multi-user systemctl is-active multi-user.target
check usr-verity usr_is_verity
check verity-status verity_status
check usr-read-only usr_write_fails
check etc-overlay etc_is_overlay
check machine-id test -s /etc/machine-id
# PCR 11 and systemd's measurement log, when there is a TPM (the UKI boot). This
# /usr has no TPM2 libraries, so systemd-pcrphase cannot add sysinit and ready:
# PCR 11 holds what slate-init left, enter-initrd and leave-initrd.
if [ -d /sys/class/tpm/tpm0 ]; then
	for b in sha1 sha256 sha384 sha512; do
		f=/sys/class/tpm/tpm0/pcr-$b/11
		[ -r "$f" ] && echo "SLATE-CHECK pcr11 $b $(cat "$f")"
	done
	log=/run/log/systemd/tpm2-measure.log
	echo "SLATE-CHECK tpm-log mode $(stat -c %a "$log" 2>&1) records" \
		"$(tr -cd '\036' <"$log" | wc -c) $(grep -ao '"string":"[a-z-]*"' "$log" | tr '\n' ' ')"
	echo "SLATE-CHECK pcr11-incomplete $(cat /run/slate/pcr11-incomplete 2>/dev/null || echo no)"
else
	echo "SLATE-CHECK pcr11 no-tpm"
fi
echo "SLATE-CHECK failed-units $(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
echo "SLATE-CHECK DONE"
systemctl poweroff --no-block
CHECK
	chmod 0755 "$root/usr/libexec/slate-vmcheck"
}

build_usr() {
	local tmp=$usr.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp" "$debs"
	log "making a Debian 13 /usr with ${packages[*]} (cached in $usr)"
	mirror=()
	[ -n "${SLATE_MIRROR:-}" ] && mirror=("$SLATE_MIRROR")
	mmdebstrap --quiet --variant=minbase --mode=root --format=directory \
		--include="$(
			IFS=,
			echo "${packages[*]}"
		)" \
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
		--setup-hook="sync-in $debs /var/cache/apt/archives/" \
		--customize-hook="sync-out /var/cache/apt/archives $debs" \
		trixie "$tmp/root" "${mirror[@]}" >&2
	write_checks "$tmp/root"
	# /etc ships read-only in /usr; the machine's own changes go to ROOT. No
	# machine-id: systemd makes one on first boot.
	rm -f "$tmp/root/etc/machine-id"
	mkdir -p "$tmp/root/usr/share/factory"
	mv "$tmp/root/etc" "$tmp/root/usr/share/factory/etc"
	mkfs.erofs -zlz4hc -T0 --all-root -x-1 -U 5bd2c4f4-5b1e-4a3e-9f53-0d6a3f1d1e01 \
		"$tmp/usr.erofs" "$tmp/root/usr" >/dev/null
	veritysetup format "$tmp/usr.erofs" "$tmp/usr.verity" \
		--salt=5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a \
		--uuid=0b1c2d3e-4f50-6172-8394-a5b6c7d8e9fa --root-hash-file="$tmp/roothash" >/dev/null
	rm -rf "$tmp/root"
	# One /usr at a time: those of earlier versions of this script go.
	for old in "$cache"/vm-init/usr-*; do
		case $old in
		*.tmp) ;;
		*) rm -rf "$old" ;;
		esac
	done
	mv "$tmp" "$usr"
}

[ -f "$usr/roothash" ] || build_usr

out=${1:-$(mktemp -d "$cache/vm-init/disk.XXXXXX")}
mkdir -p "$out"
trixie=$("$src/scripts/trixie-root")
cp "$trixie"/boot/vmlinuz-* "$out/vmlinuz"
cp "$trixie"/boot/initrd.img-* "$out/debian-initrd.img"
kdir=$(ls -d "$trixie"/usr/lib/modules/*/ | head -n 1)
echo "${kdir%/}" >"$out/modules-dir"
cp "$usr/roothash" "$out/roothash"
h=$(cat "$usr/roothash")
uuid() { echo "${1:0:8}-${1:8:4}-${1:12:4}-${1:16:4}-${1:20:12}"; }
data_uuid=$(uuid "${h:0:32}")
hash_uuid=$(uuid "${h:32:32}")

rm -f "$out/disk.img"
truncate -s $((256 + 1024 + 64 + 1024 + 64 + 256 + 2))M "$out/disk.img"
# Discoverable Partitions types for x86-64 (uapi-group DPS).
sfdisk --quiet --no-reread --no-tell-kernel "$out/disk.img" >/dev/null <<EOF
label: gpt
first-lba: 2048
size=256MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=EFI-SYSTEM
size=1GiB, type=8484680C-9521-48C6-9C11-B0720656F69E, uuid=$data_uuid, name=USR-A
size=64MiB, type=77FF5F63-E7B6-4633-ACF4-1565B864C0E6, uuid=$hash_uuid, name=USR-A-VERITY
size=1GiB, type=8484680C-9521-48C6-9C11-B0720656F69E, name=USR-B
size=64MiB, type=77FF5F63-E7B6-4633-ACF4-1565B864C0E6, name=USR-B-VERITY
size=256MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=ROOT
EOF
start() { sfdisk -J "$out/disk.img" | jq ".partitiontable.partitions[$1].start"; }
dd if="$usr/usr.erofs" of="$out/disk.img" bs=512 seek="$(start 1)" conv=notrunc,sparse status=none
dd if="$usr/usr.verity" of="$out/disk.img" bs=512 seek="$(start 2)" conv=notrunc,sparse status=none
rm -f "$out/root.ext4"
truncate -s 256M "$out/root.ext4"
mkfs.ext4 -q -L ROOT -E root_owner=0:0 "$out/root.ext4"
dd if="$out/root.ext4" of="$out/disk.img" bs=512 seek="$(start 5)" conv=notrunc,sparse status=none
rm -f "$out/root.ext4"
echo "$out"
