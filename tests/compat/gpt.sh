#!/bin/bash
# slate disk against sfdisk and sgdisk (TAP):
#  - every table slate writes (default layout, custom layouts at 512 and 4096-byte
#    sectors, after set-usrhash, after grow) passes `sfdisk --verify` and `sgdisk -v`
#    (sgdisk: 512-byte sectors only, it assumes them for image files; 4096-byte
#    sectors use trixie's sfdisk --sector-size);
#  - `sfdisk -J` and `slate disk inspect -o json` agree field by field (jq);
#  - tables made by sfdisk and sgdisk read the same in slate;
#  - damaged tables: the backup is used and named; both damaged: refused.
. "$SLATE_SRCDIR/tests/lib.sh"
# (not $(tap_tmpdir): its EXIT trap fires when the command substitution ends)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slate-gpt.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

trixie_sfdisk() { "$SLATE_SRCDIR/scripts/trixie-exec" sfdisk "$@"; }
have_trixie=false
if trixie_sfdisk --version >/dev/null 2>&1; then
	have_trixie=true
fi

# The two views of a table, normalized to the same JSON: disk GUID, usable range,
# sector size, and per partition number, start, size, type, UUID, name, attribute bits.
norm_sfdisk() {
	jq -S '.partitiontable | {id: (.id | ascii_downcase), first: .firstlba, last: .lastlba,
		ss: .sectorsize,
		parts: [.partitions[] | {
			n: (.node | capture("(?<n>[0-9]+)$").n | tonumber),
			start, size, type: (.type | ascii_downcase), uuid: (.uuid | ascii_downcase),
			name: (.name // ""),
			bits: ((.attrs // "") | split(" ") | map(select(. != "")) | map(
				if . == "RequiredPartition" then [0]
				elif . == "NoBlockIOProtocol" then [1]
				elif . == "LegacyBIOSBootable" then [2]
				elif startswith("GUID:") then (.[5:] | split(",") | map(tonumber))
				else error("unknown sfdisk attribute " + .) end) | add // [] | sort)}]}'
}
norm_slate() {
	jq -S '{id: .disk_guid, first: .first_usable_lba, last: .last_usable_lba,
		ss: .sector_size,
		parts: [.partitions[] | {n: .number, start: .first_lba, size: .size_lba,
			type: .type_uuid, uuid, name: .label, bits: .attribute_bits}]}'
}

# same_as_sfdisk IMAGE SECTOR-SIZE: sfdisk -J and slate inspect -o json agree.
same_as_sfdisk() {
	local img=$1 ss=$2 a b
	if [ "$ss" = 512 ]; then
		a=$(sfdisk -J "$img" | norm_sfdisk) || return 1
	else
		a=$(trixie_sfdisk --sector-size "$ss" -J "$img" | norm_sfdisk) || return 1
	fi
	b=$("$SLATE" disk inspect -o json "$img" | norm_slate) || return 1
	if [ "$a" != "$b" ]; then
		diff <(echo "$a") <(echo "$b")
		return 1
	fi
	[ "$(jq '.parts | length' <<<"$a")" -gt 0 ]
}

# verify IMAGE SECTOR-SIZE: sfdisk --verify (and sgdisk -v at 512) find no problem.
verify() {
	local img=$1 ss=$2 out
	if [ "$ss" = 512 ]; then
		out=$(sfdisk --verify "$img" 2>&1) || { echo "$out"; return 1; }
	else
		out=$(trixie_sfdisk --sector-size "$ss" --verify "$img" 2>&1) || {
			echo "$out"
			return 1
		}
	fi
	echo "$out" | grep -q "^No errors detected" || { echo "$out"; return 1; }
	if echo "$out" | grep -v "^No errors detected" | grep -Eqi "error|warn|mismatch|corrupt"; then
		echo "$out"
		return 1
	fi
	[ "$ss" = 512 ] || return 0
	out=$(sgdisk -v "$img" 2>&1) || { echo "$out"; return 1; }
	echo "$out" | grep -q "No problems found" || { echo "$out"; return 1; }
	if echo "$out" | grep -Eqi "warning|problem:|caution|identified"; then
		echo "$out"
		return 1
	fi
}

# check_table DESC IMAGE SECTOR-SIZE [compare-only]: both of the above (only the
# comparison for tables other tools made: their own quirks are not slate's).
check_table() {
	local desc=$1 img=$2 ss=$3 only=${4:-} tools="sfdisk --verify and sgdisk -v"
	if [ "$ss" != 512 ] && ! $have_trixie; then
		[ -n "$only" ] || skip "$desc: sfdisk --verify" "no sfdisk with --sector-size (scripts/trixie-root)"
		skip "$desc: sfdisk -J = slate inspect" "no sfdisk with --sector-size"
		return
	fi
	[ "$ss" = 512 ] || tools="sfdisk --sector-size $ss --verify"
	[ -n "$only" ] || check "$desc: $tools clean" verify "$img" "$ss"
	check "$desc: sfdisk -J = slate disk inspect -o json" same_as_sfdisk "$img" "$ss"
}

# --- tables slate writes ---

check "create: default layout, 3 GiB" "$SLATE" disk create default.img --size 3G
check_table "default layout" default.img 512
check "the image is sparse" test "$(du -k default.img | cut -f1)" -lt 1024
check "default layout: ESP, two slots, ROOT" bash -c '
	"$SLATE" disk inspect -o json default.img | jq -e "
		[.partitions[] | [.label, .type, (.slot // \"-\")]] == [
		[\"EFI-SYSTEM\", \"esp\", \"-\"], [\"USR-A\", \"usr-x86-64\", \"A\"],
		[\"USR-A-VERITY\", \"usr-x86-64-verity\", \"A-verity\"],
		[\"USR-B\", \"usr-x86-64\", \"B\"], [\"USR-B-VERITY\", \"usr-x86-64-verity\", \"B-verity\"],
		[\"ROOT\", \"root-x86-64\", \"-\"]] and (.slots | length) == 2" >/dev/null'

cat >odd.layout <<'EOF'
# names with spaces and non-ASCII, every attribute form, fixed and random UUIDs
entries 256
align 64K
disk-uuid 0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9
partition "Données 根" 1M esp attrs=required,legacy-bios-bootable
partition SIG 64K usr-verity-sig uuid=01234567-89ab-cdef-0123-456789abcdef attrs=48,49,56,no-auto
partition ROOT rest root-arm64 uuid=random attrs=grow-file-system,read-only
partition TAIL 2M linux-generic attrs=no-block-io
EOF
for ss in 512 4096; do
	check "create: odd layout, $ss-byte sectors" \
		"$SLATE" disk create odd-$ss.img --size 64M --layout odd.layout --sector-size $ss
	check_table "odd layout, $ss" odd-$ss.img $ss
done

# --- set-usrhash: the PARTUUIDs sfdisk sees are the halves of the root hash ---

hash=$(printf 'slate' | sha256sum | cut -c1-64)
as_uuid() { echo "${1:0:8}-${1:8:4}-${1:12:4}-${1:16:4}-${1:20:12}"; }
check "set-usrhash slot B" "$SLATE" disk set-usrhash default.img --slot B "$hash"
check_table "after set-usrhash" default.img 512
check "sfdisk sees USR-B = first 128 bits, USR-B-VERITY = last 128 bits" bash -c "
	sfdisk -J default.img | jq -e --arg d $(as_uuid "${hash:0:32}") --arg v $(as_uuid "${hash:32:32}") '
		.partitiontable.partitions | (.[3].uuid | ascii_downcase) == \$d and
		(.[4].uuid | ascii_downcase) == \$v' >/dev/null"
check "inspect names slot B by that hash" bash -c \
	"\"\$SLATE\" disk inspect -o json default.img | jq -e '.slots[1].usrhash == \"$hash\"' >/dev/null"
echo "$hash" >hash.txt
refuse "the same hash for slot A is refused" 1 "already has the UUID" \
	"$SLATE" disk set-usrhash default.img --slot A @hash.txt
refuse "a short hash is refused" 1 "not a root hash" \
	"$SLATE" disk set-usrhash default.img --slot A abcd
refuse "--slot C is a usage error" 2 "--slot must be A or B" \
	"$SLATE" disk set-usrhash default.img --slot C "$hash"
check "create --usrhash names slot A" bash -c "
	\"\$SLATE\" disk create withhash.img --size 3G --usrhash $hash >/dev/null &&
	sfdisk -J withhash.img | jq -e --arg d $(as_uuid "${hash:0:32}") \
		'(.partitiontable.partitions[1].uuid | ascii_downcase) == \$d' >/dev/null"

# --- grow ---

for ss in 512 4096; do
	cp --sparse=always odd-$ss.img grow-$ss.img
	truncate -s +100M grow-$ss.img
	check "grown $ss image: inspect warns the backup is not at the end" bash -c \
		"\"\$SLATE\" disk inspect grow-$ss.img 2>&1 >/dev/null | grep -q 'not at the end of the disk'"
	check "grow $ss" "$SLATE" disk grow grow-$ss.img
	check_table "after grow, $ss" grow-$ss.img $ss
	check "grow $ss: no warnings left, backup at the end" bash -c "
		[ -z \"\$(\"\$SLATE\" disk inspect grow-$ss.img 2>&1 >/dev/null)\" ] &&
		\"\$SLATE\" disk inspect -o json grow-$ss.img | jq -e '.backup.at_end' >/dev/null"
done
cp --sparse=always default.img grow-default.img
truncate -s +1G grow-default.img
check "grow default: ROOT extended by 1 GiB" bash -c '
	before=$(sfdisk -J default.img | jq ".partitiontable.partitions[5].size")
	"$SLATE" disk grow grow-default.img >/dev/null &&
	after=$(sfdisk -J grow-default.img | jq ".partitiontable.partitions[5].size") &&
	[ $((after - before)) -eq 2097152 ]'
check_table "default layout after grow" grow-default.img 512
check "grow again: nothing to do" bash -c \
	'"$SLATE" disk grow grow-default.img | grep -q "nothing to do"'

# --- --part writes the contents where sfdisk says the partition is ---

head -c 300000 /dev/urandom >usr.bin
check "create --part USR-A=FILE" "$SLATE" disk create parts.img --size 3G --part USR-A=usr.bin
check "the file is at USR-A's offset" bash -c '
	start=$(sfdisk -J parts.img | jq ".partitiontable.partitions[1].start")
	cmp <(dd if=parts.img bs=512 skip=$start count=586 status=none | head -c 300000) usr.bin'
head -c 2M /dev/zero >big.bin
refuse "a file larger than its partition is refused" 1 "does not fit partition SIG" \
	"$SLATE" disk create toobig.img --size 64M --layout odd.layout --part SIG=big.bin
check "... and leaves no image behind" test ! -e toobig.img

# --- tables made by sfdisk and sgdisk read the same in slate ---

truncate -s 200M sfdisk.img
sfdisk -q sfdisk.img <<'EOF'
label: gpt
size=100M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System", attrs="RequiredPartition"
size=20M, type=8484680C-9521-48C6-9C11-B0720656F69E, name="USR-A", attrs="GUID:60"
size=5M, type=77FF5F63-E7B6-4633-ACF4-1565B864C0E6, name="USR-A-VERITY"
type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="données", attrs="LegacyBIOSBootable GUID:48,63"
EOF
check_table "made by sfdisk" sfdisk.img 512 compare-only
truncate -s 200M sgdisk.img
sgdisk -o -n 1:0:+64M -t 1:ef00 -c 1:ESP -A 1:set:0 \
	-n 3:0:+32M -t 3:8304 -c 3:"root part" -A 3:set:59 -A 3:set:2 \
	-n 2:0:0 -t 2:8300 -c 2:data sgdisk.img >/dev/null
check_table "made by sgdisk" sgdisk.img 512 compare-only
truncate -s 8M sgdisk-small.img
sgdisk -o -S 32 -a 8 -n 1:0:+1M -t 1:8300 -n 2:0:0 -t 2:8e00 sgdisk-small.img >/dev/null
check_table "made by sgdisk, 32-entry table" sgdisk-small.img 512 compare-only
if $have_trixie; then
	truncate -s 200M sfdisk4k.img
	trixie_sfdisk -q --sector-size 4096 sfdisk4k.img <<'EOF'
label: gpt
size=32M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI"
type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE, name="ROOT", attrs="GUID:59"
EOF
fi
check_table "made by sfdisk, 4096-byte sectors" sfdisk4k.img 4096 compare-only

# --- damaged tables, through the command line ---

cp --sparse=always sfdisk.img damaged.img
printf 'X' | dd of=damaged.img bs=1 seek=$((512 + 60)) conv=notrunc status=none
check "damaged primary: inspect uses the backup and says so" bash -c '
	"$SLATE" disk inspect -o json damaged.img 2>err >out &&
	grep -q "primary GPT is damaged (GPT header at LBA 1: header CRC mismatch" err &&
	grep -q "using the backup" err && jq -e ".primary.valid == false" out >/dev/null'
check "damaged primary: slate reads what sfdisk reads (the backup)" same_as_sfdisk damaged.img 512
check "damaged primary: the same partitions as before the damage" bash -c '
	diff <("$SLATE" disk inspect -o json sfdisk.img | jq -S ".partitions") \
		<("$SLATE" disk inspect -o json damaged.img 2>/dev/null | jq -S ".partitions")'
last=$(($(stat -c %s damaged.img) / 512 - 1))
printf 'X' | dd of=damaged.img bs=1 seek=$((last * 512 + 60)) conv=notrunc status=none
refuse "both copies damaged: refused" 1 "no valid GPT: primary: .*CRC mismatch.*; backup: .*CRC mismatch" \
	"$SLATE" disk inspect damaged.img
cp --sparse=always sfdisk.img truncated.img
truncate -s 150M truncated.img
refuse "a truncated image: refused" 1 "truncated image\?" "$SLATE" disk inspect truncated.img
refuse "no GPT at all: refused" 1 "no valid GPT" "$SLATE" disk inspect usr.bin

# --- usage and refusals of create ---

refuse "create refuses to overwrite" 1 "already exists" "$SLATE" disk create default.img --size 3G
refuse "create without --size" 2 "--size is required" "$SLATE" disk create new.img
refuse "grow --sector-size 1000 is a usage error" 2 "sector-size must be 512 or 4096" \
	"$SLATE" disk grow --sector-size 1000 default.img
refuse "inspect -o yaml is a usage error" 2 "unknown output format" \
	"$SLATE" disk inspect -o yaml default.img
refuse "a layout error names its line" 1 "bad.layout: line 2: unknown partition type 'nosuch'" \
	bash -c 'printf "partition A 1M esp\npartition B 1M nosuch\n" >bad.layout &&
		"$SLATE" disk create new.img --size 64M --layout bad.layout'
refuse "too small for the default layout" 1 "does not fit on a disk of" \
	"$SLATE" disk create small.img --size 1G
check "slate disk types lists the DPS names" bash -c \
	'"$SLATE" disk types -o json | jq -e "map(.name) | index(\"usr-arm64-verity-sig\")" >/dev/null'

tap_done
