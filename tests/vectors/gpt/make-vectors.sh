#!/bin/bash
# Regenerates the GPT vectors in this directory: small disk images partitioned by the
# reference tools, and for each NAME.gpt a NAME.expect with what `sfdisk -J` reports:
#   number first-lba size type-uuid partition-uuid attributes-hex name
# Run it from anywhere (as the vectors' owner; needs sfdisk, sgdisk, jq):
#   tests/vectors/gpt/make-vectors.sh
# sfdisk-4096 needs a sfdisk with --sector-size (util-linux >= 2.39): trixie's, through
# scripts/trixie-exec. Never edit the outputs by hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
cd "$here"
trixie_sfdisk() { "$src/scripts/trixie-exec" sfdisk "$@"; }

# sfdisk's attrs string -> the 64-bit attribute field in hex.
attrs_hex() {
	local v=0 w bits b
	for w in $1; do
		case $w in
		RequiredPartition) v=$((v | 1)) ;;
		NoBlockIOProtocol) v=$((v | 2)) ;;
		LegacyBIOSBootable) v=$((v | 4)) ;;
		GUID:*)
			IFS=, read -ra bits <<<"${w#GUID:}"
			for b in "${bits[@]}"; do v=$((v | (1 << b))); done
			;;
		*) echo "unknown attribute $w" >&2; exit 1 ;;
		esac
	done
	printf '%x' "$v"
}

# expect NAME SFDISK-COMMAND...: NAME.expect from the command's -J output.
expect() {
	local name=$1 json
	shift
	json=$("$@" -J "$name.gpt")
	{
		echo "# $* -J $name.gpt"
		jq -r '.partitiontable.partitions[] | [(.node | capture("(?<n>[0-9]+)$").n),
			.start, .size, (.type | ascii_downcase), (.uuid | ascii_downcase),
			(.attrs // ""), (.name // "")] | join("\u001f")' <<<"$json" |
			while IFS=$'\x1f' read -r n start size type uuid attrs pname; do
				echo "$n $start $size $type $uuid $(attrs_hex "$attrs") $pname"
			done
	} >"$name.expect"
}

ESP=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
USR=8484680C-9521-48C6-9C11-B0720656F69E
USRV=77FF5F63-E7B6-4633-ACF4-1565B864C0E6
ROOT=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709

# sfdisk, 512-byte sectors, 128 KiB, names with spaces and non-ASCII, attribute bits.
rm -f sfdisk-512.gpt && truncate -s 128K sfdisk-512.gpt
sfdisk -q sfdisk-512.gpt <<END
label: gpt
label-id: 01234567-89AB-CDEF-0123-456789ABCDEF
first-lba: 34
start=34, size=16, type=$ESP, uuid=10000000-0000-4000-8000-000000000001, name="EFI SYSTEM", attrs="RequiredPartition LegacyBIOSBootable"
start=64, size=64, type=$USR, uuid=10000000-0000-4000-8000-000000000002, name="USR-A", attrs="GUID:60"
start=128, size=32, type=$USRV, uuid=10000000-0000-4000-8000-000000000003, name="Données-根", attrs="GUID:48,49,56,63"
start=160, size=60, type=$ROOT, uuid=10000000-0000-4000-8000-000000000004, name="ROOT"
END
expect sfdisk-512 sfdisk

# sgdisk, 512-byte sectors, partition 3 left empty.
rm -f sgdisk-512.gpt && truncate -s 128K sgdisk-512.gpt
sgdisk -o -U 76543210-FEDC-BA98-7654-3210FEDCBA98 -a 1 \
	-n 1:34:+15 -t 1:$ESP -c 1:EFI-SYSTEM -u 1:20000000-0000-4000-8000-000000000001 \
	-A 1:set:0 \
	-n 2:64:+63 -t 2:$USR -c 2:USR-B -u 2:20000000-0000-4000-8000-000000000002 \
	-A 2:set:60 -A 2:set:49 \
	-n 4:128:+91 -t 4:$ROOT -c 4:ROOT -u 4:20000000-0000-4000-8000-000000000004 \
	sgdisk-512.gpt >/dev/null
expect sgdisk-512 sfdisk

# sfdisk (trixie), 4096-byte sectors, 128 KiB = 32 sectors.
rm -f sfdisk-4096.gpt && truncate -s 128K sfdisk-4096.gpt
trixie_sfdisk -q --sector-size 4096 sfdisk-4096.gpt <<END
label: gpt
label-id: 0A0A0A0A-0B0B-4C0C-8D0D-0E0E0E0E0E0E
first-lba: 6
start=6, size=4, type=$ESP, uuid=30000000-0000-4000-8000-000000000001, name="EFI-SYSTEM"
start=10, size=8, type=$USR, uuid=30000000-0000-4000-8000-000000000002, name="USR-A", attrs="GUID:60"
start=18, size=8, type=$ROOT, uuid=30000000-0000-4000-8000-000000000003, name="ROOT"
END
expect sfdisk-4096 trixie_sfdisk --sector-size 4096

# sfdisk, an 8-entry table (one-sector arrays... two at 512 bytes), 16 KiB.
rm -f sfdisk-8-entries.gpt && truncate -s 16K sfdisk-8-entries.gpt
sfdisk -q sfdisk-8-entries.gpt <<END
label: gpt
label-id: 5A5A5A5A-5A5A-4A5A-9A5A-5A5A5A5A5A5A
table-length: 8
first-lba: 4
start=4, size=8, type=$USR, uuid=40000000-0000-4000-8000-000000000001, name="tiny"
start=12, size=16, type=$ROOT, uuid=40000000-0000-4000-8000-000000000002
END
expect sfdisk-8-entries sfdisk
ls -l ./*.gpt ./*.expect
