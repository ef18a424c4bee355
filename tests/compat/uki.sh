#!/bin/bash
# SPDX-License-Identifier: MIT
# slate uki build against trixie's ukify (systemd 257) on the same inputs:
#  - with Debian 13's stub the two files are identical, byte for byte;
#  - with Debian 12's stub every section is laid out identically except .sbat:
#    ukify grows the stub's .sbat in place into .sdmagic's addresses (overlapping
#    sections, which slate refuses to read); slate renames the stub's section
#    .osbat and appends the same merged SBAT;
#  - builds are deterministic; slate uki inspect shows what went in.
. "$SLATE_SRCDIR/tests/lib.sh"
tmp=$(tap_tmpdir)

command -v jq >/dev/null || {
	skip "ukify comparison" "jq is not installed"
	tap_done
	exit
}
root=$("$SLATE_SRCDIR/scripts/trixie-root" 2>"$tmp/trixie.log") || {
	skip "ukify comparison" "scripts/trixie-root failed: $(tail -n1 "$tmp/trixie.log")"
	tap_done
	exit
}
stub13=$root/usr/lib/systemd/boot/efi/linuxx64.efi.stub
stub12=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
kernel=$(ls "$root"/boot/vmlinuz-* | head -n1)
ukify() { "$SLATE_SRCDIR/scripts/trixie-exec" ukify build "$@" >"$tmp/ukify.log" 2>&1; }

printf 'ID=slate\nVERSION_ID=1\nPRETTY_NAME="Slate 1"\n' >"$tmp/osrel"
printf 'console=ttyS0   usrhash=%064d\n' 0 >"$tmp/cmdline"
head -c 200001 /dev/urandom >"$tmp/initrd1"
head -c 3 /dev/urandom >"$tmp/initrd2"
printf 'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nslate,1,Slate,slate,1,https://example.org/slate\n' >"$tmp/sbat.csv"

# Case: name, then the options common to both (slate spelling, ukify spelling).
compare13() {
	local name=$1 slate_args=$2 ukify_args=$3
	# shellcheck disable=SC2086
	"$SLATE" uki build --stub "$stub13" --linux "$kernel" $slate_args -o "$tmp/$name.slate" &&
		ukify --stub "$stub13" --linux "$kernel" $ukify_args --output "$tmp/$name.ukify" || {
		fail "$name: a build failed: $(tail -n3 "$tmp/ukify.log")"
		return
	}
	check "$name: slate uki build = ukify build, byte for byte (Debian 13 stub)" \
		cmp "$tmp/$name.slate" "$tmp/$name.ukify"
}
compare13 "one initrd, text command line" \
	"--initrd $tmp/initrd1 --cmdline console=ttyS0 --os-release $tmp/osrel" \
	"--initrd $tmp/initrd1 --cmdline console=ttyS0 --os-release @$tmp/osrel"
compare13 "two initrds, @cmdline, --sbat, --uname" \
	"--initrd $tmp/initrd1 --initrd $tmp/initrd2 --cmdline @$tmp/cmdline --os-release $tmp/osrel --sbat $tmp/sbat.csv --uname 6.12.0-test" \
	"--initrd $tmp/initrd1 --initrd $tmp/initrd2 --cmdline @$tmp/cmdline --os-release @$tmp/osrel --sbat @$tmp/sbat.csv --uname 6.12.0-test"
compare13 "kernel only" "" "--os-release="

"$SLATE" uki build --stub "$stub13" --linux "$kernel" --initrd "$tmp/initrd1" --cmdline @"$tmp/cmdline" \
	--os-release "$tmp/osrel" -o "$tmp/again"
"$SLATE" uki build --stub "$stub13" --linux "$kernel" --initrd "$tmp/initrd1" --cmdline @"$tmp/cmdline" \
	--os-release "$tmp/osrel" -o "$tmp/again2"
check "slate uki build is deterministic" cmp "$tmp/again" "$tmp/again2"

"$SLATE" uki inspect -o json "$tmp/again" >"$tmp/inspect.json"
check "inspect: the stub's version" grep -q '"stub": "systemd-stub 257' "$tmp/inspect.json"
check "inspect: the command line, verbatim" test "$(jq -r .cmdline "$tmp/inspect.json")" = "$(cat "$tmp/cmdline")"
check "inspect: os-release" test "$(jq -r .osRelease "$tmp/inspect.json")" = "$(cat "$tmp/osrel")"
check "inspect: uname from the kernel" test "$(jq -r .uname "$tmp/inspect.json")" = \
	"$(basename "$kernel" | sed 's/^vmlinuz-//')"
check "inspect: .linux sha256 is the kernel's" test \
	"$(jq -r '.sections[] | select(.name==".linux") | .sha256' "$tmp/inspect.json")" = \
	"$(sha256sum <"$kernel" | cut -d' ' -f1)"
check "inspect: unsigned" test "$(jq -r .signed "$tmp/inspect.json")" = false

# Debian 12's stub.
if [ -f "$stub12" ]; then
	args=(--linux "$kernel" --initrd "$tmp/initrd1" --cmdline console=ttyS0)
	"$SLATE" uki build --stub "$stub12" "${args[@]}" --os-release "$tmp/osrel" -o "$tmp/d12.slate"
	ukify --stub "$stub12" "${args[@]}" --os-release @"$tmp/osrel" --output "$tmp/d12.ukify"
	layout() { objdump -h "$1" | awk '/^ +[0-9]+ /{print $2, $3, $4, $6}' | grep -v sbat; }
	check "Debian 12 stub: every section but .sbat laid out as ukify does" \
		diff <(layout "$tmp/d12.slate") <(layout "$tmp/d12.ukify")
	sbat_of() { # raw .sbat bytes: offset and VirtualSize from objdump
		objdump -h "$1" | awk '$2==".sbat"{print $3, $6}' | {
			read -r size off
			tail -c +$((0x$off + 1)) "$1" | head -c $((0x$size))
		} | sha256sum
	}
	check "Debian 12 stub: the same merged .sbat" test "$(sbat_of "$tmp/d12.slate")" = "$(sbat_of "$tmp/d12.ukify")"
	refuse "ukify's Debian 12 UKI has overlapping sections; slate refuses to read it" 1 \
		"overlaps the previous section" "$SLATE" uki inspect "$tmp/d12.ukify"
	check "slate's Debian 12 UKI: one .sbat, the stub's kept as .osbat" bash -c \
		"'$SLATE' uki inspect -o json '$tmp/d12.slate' | jq -e '[.sections[].name] | (map(select(.==\".sbat\")) | length) == 1 and index(\".osbat\") != null' >/dev/null"
else
	skip "Debian 12 stub" "$stub12 is missing (systemd-boot-efi)"
fi
tap_done
