#!/bin/bash
# SPDX-License-Identifier: MIT
# slate verity against the real veritysetup (Debian 12: cryptsetup-bin 2.6.1).
#
# For SLATE_VERITY_CASES (default 200) random cases: both tools format the same
# data with the same parameters; the root hashes, the whole hash files and the
# printed reports must be identical; each tool verifies the other's tree. Every
# tenth case also changes one random byte (data or hash area) and checks that
# slate names the block and veritysetup agrees something is wrong. Then the CLI's
# refusals of malformed superblocks and bad options.
#
# Reproducible: the seed is printed first; SLATE_VERITY_SEED=N reruns the same
# cases (same parameters, same data).
. "$SLATE_SRCDIR/tests/lib.sh"

if ! command -v veritysetup >/dev/null || ! command -v openssl >/dev/null; then
	skip "verity compat" "veritysetup or openssl missing (scripts/setup-host installs them)"
	tap_done
	exit
fi

seed=${SLATE_VERITY_SEED:-$(( $(od -An -N2 -tu2 /dev/urandom) ))}
ncases=${SLATE_VERITY_CASES:-200}
diag "seed $seed (rerun these cases: SLATE_VERITY_SEED=$seed $0)"
RANDOM=$seed
# (not tap_tmpdir: called as $(tap_tmpdir) its EXIT trap fires in the subshell)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slate-verity.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# A pool of data derived from the seed; each case takes a slice of it.
pool_size=$((48 << 20))
openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$seed")" -iv 0 -in /dev/zero 2>/dev/null |
	head -c $pool_size >pool

rnd() { # rnd LO HI: uniform-ish integer in [LO, HI]
	local lo=$1 hi=$2
	echo $((lo + ((RANDOM << 15 | RANDOM) % (hi - lo + 1))))
}
pick() { # pick WORD...: one of the words
	local a=("$@")
	echo "${a[RANDOM % ${#a[@]}]}"
}
hexbytes() { # hexbytes N: N random bytes as hex (from bash's seeded RANDOM)
	local i s=""
	for ((i = 0; i < $1; i++)); do s+=$(printf '%02x' $((RANDOM & 255))); done
	echo "$s"
}
uuid() {
	local h
	h=$(hexbytes 16)
	echo "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"
}
slice() { # slice OFFSET LEN FILE
	dd if=pool of="$3" bs=1M iflag=skip_bytes,count_bytes skip="$1" count="$2" status=none
}

# zero_extended SHORT LONG: LONG is SHORT followed by zeros only.
zero_extended() {
	local a b
	a=$(stat -c %s "$1") b=$(stat -c %s "$2")
	[ "$a" -lt "$b" ] && cmp -s -n "$a" "$1" "$2" &&
		[ "$(tail -c +$((a + 1)) "$2" | tr -d '\0' | wc -c)" -eq 0 ]
}
short_single=0

failed_case() {
	fail "$1"
	shift
	printf '%s\n' "$@" | sed 's/^/# /' | tail -n 15
}

# One random case: prints nothing, reports through ok/fail.
run_case() {
	local n=$1 dbs hbs alg fmt salt_len salt sb off blocks size same desc
	local args=() files rs rv root_s root_v corrupt=0

	dbs=$(pick 512 1024 2048 4096 4096 4096 8192 16384 32768 65536)
	hbs=$(pick 512 1024 2048 4096 4096 4096 8192 16384 32768 65536)
	alg=$(pick sha256 sha256 sha1 sha512)
	fmt=$(pick 1 1 0)
	salt_len=$(pick 0 1 7 16 32 32 32 64 100 255 256 $(rnd 0 256))
	salt=$(hexbytes "$salt_len")
	[ -z "$salt" ] && salt=-
	sb=$(pick 1 1 1 0)
	# Sizes: mostly small, some medium, a few tens of MiB.
	case $((RANDOM % 20)) in
	0) size=$(rnd $((16 << 20)) $((40 << 20))) ;;
	1 | 2 | 3) size=$(rnd $((1 << 20)) $((8 << 20))) ;;
	*) size=$(rnd "$dbs" $((1 << 20))) ;;
	esac
	[ "$((RANDOM % 8))" -eq 0 ] && size=$dbs # exactly one block
	[ "$size" -lt "$dbs" ] && size=$dbs
	blocks=$((size / dbs))
	# Sometimes a tail that is not a whole block, sometimes fewer blocks than the file.
	[ "$((RANDOM % 4))" -eq 0 ] && size=$((size + $(rnd 1 $((dbs - 1)))))
	local explicit=0
	if [ "$((RANDOM % 5))" -eq 0 ] && [ "$blocks" -gt 1 ]; then
		blocks=$(rnd 1 "$blocks")
		args+=(--data-blocks="$blocks")
		explicit=1
	fi
	same=$([ "$((RANDOM % 6))" -eq 0 ] && echo 1 || echo 0)
	# veritysetup 2.6.1 cannot write a superblock past the end of a shared file when
	# there is no tree to extend it first (one block): not a case to compare.
	[ "$blocks" = 1 ] && same=0
	# Without a superblock, verifying a shared file needs the count: the file now
	# also holds the tree.
	[ "$same" = 1 ] && [ "$sb" = 0 ] && [ $explicit = 0 ] && args+=(--data-blocks="$blocks")
	# Hash offset: 512-aligned with a superblock, hash-block aligned without; past
	# the data when data and hash share the file.
	local align=512 base=0
	[ "$sb" = 0 ] && align=$hbs
	[ "$same" = 1 ] && base=$(((size + align - 1) / align * align))
	off=0
	if [ "$same" = 1 ] || [ "$((RANDOM % 3))" -eq 0 ]; then
		off=$((base + align * $(rnd 0 8)))
	fi
	# veritysetup 2.6.1 fails to write a superblock past the end of an empty hash
	# file when there is no tree (one block) to write first.
	[ "$blocks" = 1 ] && [ "$sb" = 1 ] && off=0
	args+=(--hash="$alg" --data-block-size="$dbs" --hash-block-size="$hbs" --format="$fmt"
		--salt="$salt" --hash-offset="$off")
	if [ "$sb" = 1 ]; then args+=(--uuid="$(uuid)"); else args+=(--no-superblock); fi
	[ "$((n % 10))" -eq 9 ] && corrupt=1

	desc="case $n: $alg format $fmt data $size bytes ($blocks blocks of $dbs) hash block $hbs salt $salt_len sb $sb offset $off same-file $same"
	# Each tool works in its own directory with the same file names (the report
	# names the hash file).
	rm -rf s v
	mkdir s v
	slice "$(rnd 0 $((pool_size - size)))" "$size" s/data
	cp s/data v/data
	hash=hash
	[ "$same" = 1 ] && hash=data
	hs=s/$hash hv=v/$hash

	if ! rs=$(cd s && "$SLATE" verity format "${args[@]}" --root-hash-file=root data $hash 2>../err); then
		failed_case "$desc: slate format failed" "$rs" "$(cat err)"
		return
	fi
	# veritysetup may warn on stderr (block sizes over the page size): keep stdout only.
	if ! rv=$(cd v && veritysetup format "${args[@]}" --root-hash-file=root data $hash 2>../err); then
		failed_case "$desc: veritysetup format failed" "$rv" "$(cat err)"
		return
	fi
	root_s=$(cat s/root) root_v=$(cat v/root)
	if [ "$root_s" != "$root_v" ]; then
		failed_case "$desc: root hash differs" "slate:       $root_s" "veritysetup: $root_v"
		return
	fi
	# Whole files: data (with the tree, when shared) and hash area byte for byte.
	if ! cmp -s $hs $hv || ! cmp -s s/data v/data; then
		# One data block, no tree: veritysetup writes the superblock padded to the
		# file system block (4096), slate up to the first hash block as the kernel
		# sizes it; the extra bytes must be zeros.
		if [ "$blocks" = 1 ] && zero_extended $hv $hs; then
			short_single=$((short_single + 1))
		else
			failed_case "$desc: hash area differs" "$(cmp $hs $hv 2>&1)"
			return
		fi
	fi
	# The report, byte for byte.
	if [ "$rs" != "$rv" ]; then
		failed_case "$desc: report differs" "$(diff <(echo "$rv") <(echo "$rs"))"
		return
	fi
	if ! rv=$(veritysetup verify "${args[@]}" s/data $hs "$root_s" 2>&1); then
		failed_case "$desc: veritysetup verify refuses slate's tree" "$rv"
		return
	fi
	if ! rs=$("$SLATE" verity verify "${args[@]}" v/data $hv "$root_v" 2>&1); then
		failed_case "$desc: slate verify refuses veritysetup's tree" "$rs"
		return
	fi
	if [ "$corrupt" = 1 ]; then
		corrupt_one "$desc" "$blocks" "$dbs" "$hbs" "$sb" "$off" "$root_s" "${args[@]}" || return
	fi
	ok "$desc"
}

# Change one byte of slate's data or hash area; slate must name the block.
corrupt_one() {
	local desc=$1 blocks=$2 dbs=$3 hbs=$4 sb=$5 off=$6 root=$7 end target pos want out gap=0
	shift 7
	end=$(stat -c %s $hs)
	if [ "$((RANDOM % 2))" -eq 0 ]; then
		target=s/data
		pos=$(rnd 0 $((blocks * dbs - 1)))
		want="s/data: data block $((pos / dbs)) "
	else
		target=$hs
		local from=$off
		[ "$sb" = 1 ] && from=$((off + 512))
		[ "$from" -ge "$end" ] && return 0 # one data block, no tree: nothing to change
		pos=$(rnd "$from" $((end - 1)))
		if [ "$sb" = 1 ] && [ "$pos" -lt $(((off + 512 + hbs - 1) / hbs * hbs)) ]; then
			# veritysetup does not look at these bytes; slate wants them zero.
			want="$hs: hash area: byte $pos between the superblock"
			gap=1
		else
			want="$hs: hash block $((pos / hbs)) "
		fi
	fi
	printf "$(printf '\\x%02x' $(( ($(od -An -tu1 -j "$pos" -N1 "$target") ^ 0x5a) )))" |
		dd of="$target" bs=1 seek="$pos" conv=notrunc status=none
	out=$("$SLATE" verity verify "$@" s/data $hs "$root" 2>&1)
	local rc=$?
	if [ $rc -ne 1 ] || [[ $out != *"$want"* ]]; then
		failed_case "$desc: byte $pos of $target changed: slate verify exit $rc" "$out" "wanted: $want"
		return 1
	fi
	if [ $gap = 0 ] && veritysetup verify "$@" s/data $hs "$root" >/dev/null 2>&1; then
		failed_case "$desc: byte $pos of $target changed but veritysetup still verifies"
		return 1
	fi
	return 0
}

start=$SECONDS
for ((i = 0; i < ncases; i++)); do
	run_case "$i"
done
diag "$ncases random cases in $((SECONDS - start)) s ($short_single single-block cases where veritysetup's hash file is shorter, zeros apart identical)"

# ---- Fixed checks on one tree ----
slice 0 $((1 << 20)) d
rm -f h
"$SLATE" verity format --salt=0011 --uuid=12345678-9abc-def0-1234-56789abcdef0 d h >/dev/null
root=$("$SLATE" verity format -o json --salt=0011 --uuid=12345678-9abc-def0-1234-56789abcdef0 \
	d h2 | jq -r .root_hash)

check "--help at every level" bash -c '"$SLATE" verity --help | grep -q "^  verify " &&
	"$SLATE" verity format --help | grep -q "^Usage: slate verity format \[OPTIONS\] DATA HASH$" &&
	"$SLATE" verity verify --help | grep -q -- "--root-hash-file" &&
	"$SLATE" verity dump --help | grep -q "^Usage: slate verity dump "'
check "dump prints what veritysetup dump prints" \
	diff <(veritysetup dump h) <("$SLATE" verity dump h)
check "format -o json carries veritysetup's facts" bash -c '
	j=$("$SLATE" verity format -o json --salt=0011 --uuid=12345678-9abc-def0-1234-56789abcdef0 d h3)
	v=$(veritysetup dump h3)
	[ "$(jq -r .root_hash <<<"$j")" = "'"$root"'" ] &&
	[ "$(jq -r .uuid <<<"$j")" = "$(sed -n "s/^UUID: *\t//p" <<<"$v")" ] &&
	[ "$(jq -r .hash_blocks <<<"$j")" = "$(sed -n "s/^Hash blocks: *\t//p" <<<"$v")" ] &&
	[ "$(jq -r .data_blocks <<<"$j")" = 256 ] && [ "$(jq -r .salt <<<"$j")" = 0011 ] &&
	[ "$(jq -r .hash_device_size <<<"$j")" = "$(stat -c %s h3)" ]'
check "verify -o json says verified" bash -c \
	'"$SLATE" verity verify -o json d h '"$root"' | jq -e ".verified == true"'
check "verify reads the root hash from --root-hash-file" bash -c \
	'printf %s '"$root"' >rh && "$SLATE" verity verify --root-hash-file=rh d h'
refuse "verify refuses a wrong root hash" 1 "h: hash block 1 \(level 1, the top" \
	"$SLATE" verity verify d h "$(printf %064d 0)"
refuse "verify refuses a root hash of the wrong length" 1 "not 64 hex digits" \
	"$SLATE" verity verify d h 00
refuse "data and hash areas overlapping in one file" 1 "overlap" \
	"$SLATE" verity format --hash-offset=4096 d d
refuse "unknown algorithm" 2 "unsupported algorithm 'md5'" "$SLATE" verity format --hash=md5 d h4
refuse "block size not a power of two" 2 "data-block-size: '3000'" \
	"$SLATE" verity format --data-block-size=3000 d h4
refuse "hash offset not 512-aligned" 2 "hash-offset: '100'" "$SLATE" verity format --hash-offset=100 d h4
refuse "salt over 256 bytes" 2 "salt" "$SLATE" verity format --salt="$(printf '%0514d' 0)" d h4
refuse "option contradicting the superblock" 1 "hash-block-size 512 does not match the superblock's 4096" \
	"$SLATE" verity verify --hash-block-size=512 d h "$root"
refuse "missing arguments" 2 "expected DATA and HASH" "$SLATE" verity format d
refuse "missing data file" 1 "nonexistent: cannot open" "$SLATE" verity format nonexistent h4

# Malformed superblocks, each refused with its own message.
sbpatch() { # sbpatch OFFSET HEXBYTES: a copy of h with bytes replaced, as bad
	cp h bad
	printf "$(sed 's/../\\x&/g' <<<"$2")" | dd of=bad bs=1 seek="$1" conv=notrunc status=none
}
sbpatch 0 56; refuse "superblock: bad magic" 1 "bad: no verity superblock \(bad signature\)" \
	"$SLATE" verity dump bad
sbpatch 8 02000000; refuse "superblock: version 2" 1 "bad: unsupported verity superblock version 2" \
	"$SLATE" verity verify d bad "$root"
sbpatch 12 05000000; refuse "superblock: hash type 5" 1 "unsupported hash type 5" \
	"$SLATE" verity dump bad
sbpatch 32 6d6435000000; refuse "superblock: algorithm md5" 1 "unsupported hash algorithm 'md5'" \
	"$SLATE" verity dump bad
sbpatch 64 00100100; refuse "superblock: data block size 69632" 1 "data block size 69632 is not a power of two" \
	"$SLATE" verity dump bad
sbpatch 68 00000010; refuse "superblock: hash block size 256 MiB" 1 "hash block size 268435456" \
	"$SLATE" verity dump bad
sbpatch 80 2c01; refuse "superblock: salt size 300" 1 "salt size 300 exceeds 256" \
	"$SLATE" verity dump bad
sbpatch 72 ffffffffffffff00; refuse "superblock: data blocks overflow 64 bits" 1 "overflow 64 bits" \
	"$SLATE" verity dump bad
sbpatch 72 0100010000000000; refuse "superblock: data blocks beyond the data device" 1 \
	"d: 65537 data blocks of 4096 bytes need 268439552 bytes, the data device has 1048576" \
	"$SLATE" verity verify d bad "$root"
sbpatch 64 00020000; refuse "superblock: data block size not the one the tree was made with" 1 \
	"d: data block 0 \\(offset 0\\) does not match its hash" "$SLATE" verity verify d bad "$root"
sbpatch 400 01; refuse "superblock: non-zero reserved byte" 1 "reserved byte 400 is not zero" \
	"$SLATE" verity dump bad
head -c 300 h >bad; refuse "superblock: truncated file" 1 "bad: no verity superblock at offset 0" \
	"$SLATE" verity dump bad
head -c 8000 h >bad; refuse "hash file truncated inside the tree" 1 "bad: .*truncated" \
	"$SLATE" verity verify d bad "$root"
head -c 1000000 d >dshort; refuse "data file truncated" 1 "dshort: 256 data blocks .* the data device has 1000000" \
	"$SLATE" verity verify dshort h "$root"
sbpatch 88 ff; refuse "superblock: changed salt byte" 1 "bad: hash block 1 \\(level 1, the top, offset 4096\\) does not match the root hash" \
	"$SLATE" verity verify d bad "$root"

tap_done
