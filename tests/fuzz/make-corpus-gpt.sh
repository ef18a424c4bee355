#!/bin/bash
# Regenerates the seed corpus of fuzz-gpt: real tables (the sfdisk/sgdisk vectors and
# small images made by slate at both sector sizes) and malformed ones derived from
# them (bad-*: a damaged primary, both copies damaged, a truncated image, overlapping
# partitions, absurd entry counts and sizes, a real MBR). Needs a built slate:
#   SLATE=build/cmd/slate/slate tests/fuzz/make-corpus-gpt.sh
# Inputs the fuzzer found are kept beside them as found-*; this script leaves those.
# Writes into tests/fuzz/corpus/gpt/.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
here=$src/tests/fuzz/corpus/gpt
SLATE=$(realpath "${SLATE:-$src/build/cmd/slate/slate}")
mkdir -p "$here"
cd "$here"
rm -f real-*.gpt slate-*.gpt bad-*.gpt
for v in sfdisk-512 sgdisk-512 sfdisk-4096 sfdisk-8-entries; do
	cp "$src/tests/vectors/gpt/$v.gpt" "real-$v.gpt"
done
cat >small.layout <<'END'
align 4K
partition EFI-SYSTEM 8K esp attrs=required
partition USR-A 8K usr attrs=read-only
partition USR-A-VERITY 4K usr-verity
partition USR-B 8K usr
partition USR-B-VERITY 4K usr-verity
partition ROOT rest root attrs=grow-file-system
END
"$SLATE" disk create slate-512.gpt --size 96K --layout small.layout --seed corpus >/dev/null
"$SLATE" disk create slate-4096.gpt --size 160K --layout small.layout --seed corpus \
	--sector-size 4096 >/dev/null
rm small.layout

# patch FILE SS: apply python edits to both headers and fix every CRC.
patch() {
	python3 - "$@" <<'END'
import struct, sys, zlib
path, ss, edit = sys.argv[1], int(sys.argv[2]), sys.argv[3]
b = bytearray(open(path, 'rb').read())
last = len(b) // ss - 1
for lba in (1, last):
    h = lba * ss
    exec(edit)  # edits b and h (the header offset)
    arr, n, size = struct.unpack_from('<QII', b, h + 72)
    if arr < len(b) // ss and n * size <= len(b) - arr * ss:
        struct.pack_into('<I', b, h + 88, zlib.crc32(b[arr * ss:arr * ss + n * size]))
    struct.pack_into('<I', b, h + 16, 0)
    hs = struct.unpack_from('<I', b, h + 12)[0]
    if 20 <= hs <= ss:
        struct.pack_into('<I', b, h + 16, zlib.crc32(b[h:h + hs]))
open(path, 'wb').write(b)
END
}
cp slate-512.gpt bad-primary-crc.gpt
printf 'X' | dd of=bad-primary-crc.gpt bs=1 seek=$((512 + 60)) conv=notrunc status=none
cp bad-primary-crc.gpt bad-both-crc.gpt
printf 'X' | dd of=bad-both-crc.gpt bs=1 seek=$((96 * 1024 - 512 + 60)) conv=notrunc status=none
head -c 64K slate-512.gpt >bad-truncated.gpt
cp slate-512.gpt bad-overlap.gpt
patch bad-overlap.gpt 512 "
arr = struct.unpack_from('<Q', b, h + 72)[0] * ss
struct.pack_into('<Q', b, arr + 128 * 2 + 32, struct.unpack_from('<Q', b, arr + 128 + 32)[0] + 1)"
cp slate-512.gpt bad-outside.gpt
patch bad-outside.gpt 512 "
arr = struct.unpack_from('<Q', b, h + 72)[0] * ss
struct.pack_into('<Q', b, arr + 128 * 5 + 40, 1 << 40)"
cp slate-512.gpt bad-count.gpt
patch bad-count.gpt 512 "struct.pack_into('<I', b, h + 80, 0xffffffff)"
cp slate-4096.gpt bad-entry-size.gpt
patch bad-entry-size.gpt 4096 "struct.pack_into('<I', b, h + 84, 100)"
cp slate-512.gpt bad-revision.gpt
patch bad-revision.gpt 512 "struct.pack_into('<I', b, h + 8, 0x00020000)"
cp slate-512.gpt bad-real-mbr.gpt
printf '\x83' | dd of=bad-real-mbr.gpt bs=1 seek=$((446 + 4)) conv=notrunc status=none
ls -l
