#!/bin/bash
# SPDX-License-Identifier: MIT
# slate pcr predict against systemd-measure calculate of the same systemd
# version, on many UKIs that `slate uki build` makes: 252 (Debian 12, the
# host's) for UKIs on Debian 12's stub, 257 (Debian 13, scripts/trixie-exec)
# for UKIs on Debian 13's stub; with and without .osrel/.cmdline/.initrd (one or
# two)/.splash (a BMP)/.dtb (compiled by dtc)/.uname/.sbat; all five phases, all
# four banks.
#
# systemd-measure gets each section's bytes as the UKI holds them (VirtualSize
# bytes, cut out by a small PE reader below that shares no code with slate),
# so the merged .sbat and the padded, concatenated initrds are measured as the
# stub sees them. As a second, independent check, trixie's ukify builds UKIs
# (also with .ucode and .pcrpkey, which slate uki build does not add) and runs
# systemd-measure 257 on its own input files (ukify --measure): slate pcr
# predict of ukify's UKI must print the same values.
. "$SLATE_SRCDIR/tests/lib.sh"
tmp=$(tap_tmpdir)
root=$("$SLATE_SRCDIR/scripts/trixie-root") || {
	fail "the trixie tools root could not be made"
	tap_done
	exit
}
stub252=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
stub257=$root/usr/lib/systemd/boot/efi/linuxx64.efi.stub
measure252() { /usr/lib/systemd/systemd-measure "$@"; }
measure257() { "$SLATE_SRCDIR/scripts/trixie-exec" systemd-measure "$@"; }
phases=(: enter-initrd enter-initrd:leave-initrd enter-initrd:leave-initrd:sysinit
	enter-initrd:leave-initrd:sysinit:ready)

# Dump every section of a PE as DIR/<name without the dot> (VirtualSize bytes,
# zero-filled past SizeOfRawData, as the loader maps it).
dump_sections() { # UKI DIR
	python3 - "$1" "$2" <<'EOS'
import os, struct, sys
b = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', b, 0x3c)[0]
n, optsz = struct.unpack_from('<H', b, pe + 6)[0], struct.unpack_from('<H', b, pe + 20)[0]
st = pe + 24 + optsz
os.makedirs(sys.argv[2], exist_ok=True)
for i in range(n):
    h = st + 40 * i
    name = b[h:h + 8].rstrip(b'\0').decode()
    vs, va, rs, rp = struct.unpack_from('<IIII', b, h + 8)
    data = b[rp:rp + min(vs, rs)].ljust(vs, b'\0')
    open(os.path.join(sys.argv[2], name.lstrip('.')), 'wb').write(data)
EOS
}

# Rename a section in place (a UKI "without .sbat": the stub's own is always there).
rename_section() { # UKI OLD NEW
	python3 - "$@" <<'EOS'
import struct, sys
path, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
b = bytearray(open(path, 'rb').read())
pe = struct.unpack_from('<I', b, 0x3c)[0]
n, optsz = struct.unpack_from('<H', b, pe + 6)[0], struct.unpack_from('<H', b, pe + 20)[0]
for i in range(n):
    h = pe + 24 + optsz + 40 * i
    if b[h:h + 8].rstrip(b'\0') == old:
        b[h:h + 8] = new.ljust(8, b'\0')
open(path, 'wb').write(b)
EOS
}

# "BANK PHASE HASH" lines, sorted, from slate pcr predict -o json (PHASES: which).
slate_values() { # UKI [all|named]
	"$SLATE" pcr predict -o json "$1" |
		jq -r --arg w "${2:-all}" '.phases[] | select($w == "all" or .phase != "") | . as $p |
			("sha1","sha256","sha384","sha512") | "\(.) \($p.phase) \($p[.])"' | sort
}

# Inputs. Sizes are odd on purpose; the random "kernel" need not boot here, and
# having no version string, it gives UKIs without .uname.
head -c 300001 /dev/urandom >"$tmp/linux"
kernel=$(ls "$root"/boot/vmlinuz-* | head -n1)
head -c 70001 /dev/urandom >"$tmp/initrd"
head -c 4099 /dev/urandom >"$tmp/initrd2"
printf 'ID=slatetest\nVERSION_ID=1\n' >"$tmp/osrel"
printf 'usrhash=%064d console=ttyS0\n' 0 >"$tmp/cmdline"
printf 'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nslate,1,Slate,slate,1,https://slate.invalid\n' >"$tmp/sbat"
# A 3x3 24-bit BMP (rows padded to 4 bytes).
python3 -c '
import struct, sys
w = h = 3; row = (w * 3 + 3) & ~3; px = bytes(range(27)).ljust(row * h, b"\0")
hdr = struct.pack("<2sIHHI", b"BM", 54 + len(px), 0, 0, 54)
dib = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(px), 2835, 2835, 0, 0)
sys.stdout.buffer.write(hdr + dib + px)' >"$tmp/splash"
# A tiny devicetree, compiled by dtc (device-tree-compiler).
have_dtc=false
if command -v dtc >/dev/null; then
	cat >"$tmp/test.dts" <<'EOS'
/dts-v1/;
/ {
	compatible = "slate,pcr-test";
	model = "Slate PCR test board";
	#address-cells = <1>;
	#size-cells = <1>;
	chosen { bootargs = "console=ttyS0"; };
	memory@0 { device_type = "memory"; reg = <0x0 0x8000000>; };
};
EOS
	dtc -q -I dts -O dtb -o "$tmp/dtb" "$tmp/test.dts" && have_dtc=true
fi
check "the splash is a BMP, the devicetree a DTB" bash -c \
	"head -c 2 '$tmp/splash' | grep -q BM && { ! $have_dtc || test \"\$(od -An -tx1 -N4 '$tmp/dtb' | tr -d ' ')\" = d00dfeed; }"

# Variants: which optional inputs each UKI has. vmlinuz: the real kernel (its
# release becomes .uname); uname: --uname; initrd2: a second initrd; sbat:
# --sbat; nosbat: the .sbat section renamed after the build.
# Debian 12's stub has room for 15 section headers: its 8, the appended merged
# .sbat, and 6 more (.linux and at most 5 of the others).
variants252=(
	""
	"osrel cmdline initrd"
	"cmdline initrd initrd2 splash dtb"
	"osrel cmdline initrd splash dtb"
	"vmlinuz osrel cmdline initrd sbat"
	"uname osrel dtb"
	"splash"
)
variants257=(
	""
	"osrel cmdline initrd"
	"osrel cmdline initrd initrd2 uname"
	"osrel cmdline initrd initrd2 sbat splash dtb uname"
	"vmlinuz osrel cmdline initrd initrd2 sbat splash dtb"
	"cmdline dtb nosbat"
	"vmlinuz osrel nosbat"
	"splash"
)
n=0
for ver in 252 257; do
	stub_var=stub$ver
	stub=${!stub_var}
	if [ ! -f "$stub" ]; then
		skip "systemd-stub $ver UKIs" "$stub is missing (systemd-boot-efi)"
		continue
	fi
	list=variants$ver[@]
	for v in "${!list}"; do
		n=$((n + 1))
		uki=$tmp/uki$n.efi
		desc="systemd-stub $ver [${v:-.linux only}]"
		if [[ " $v " == *" dtb "* ]] && ! $have_dtc; then
			skip "$desc" "dtc is not installed (device-tree-compiler)"
			continue
		fi
		linux=$tmp/linux
		args=()
		for w in $v; do
			case $w in
			vmlinuz) linux=$kernel ;;
			uname) args+=(--uname 6.12.0-slate) ;;
			osrel) args+=(--os-release "$tmp/osrel") ;;
			cmdline) args+=(--cmdline "@$tmp/cmdline") ;;
			initrd | initrd2) args+=(--initrd "$tmp/$w") ;;
			nosbat) ;;
			*) args+=("--$w" "$tmp/$w") ;;
			esac
		done
		"$SLATE" uki build --stub "$stub" --linux "$linux" "${args[@]}" -o "$uki" \
			2>"$tmp/err" || {
			fail "$desc: slate uki build failed: $(cat "$tmp/err")"
			continue
		}
		[[ " $v " == *" nosbat "* ]] && rename_section "$uki" .sbat .xsbat
		dump_sections "$uki" "$tmp/s$n"
		margs=()
		for s in linux osrel cmdline initrd splash dtb uname sbat; do
			[ -f "$tmp/s$n/$s" ] || continue
			if [ "$ver" = 252 ] && [ "$s" = uname -o "$s" = sbat ]; then
				continue # systemd-measure 252 knows neither (nor does its stub)
			fi
			margs+=("--$s=$tmp/s$n/$s")
		done
		for p in "${phases[@]}"; do
			margs+=("--phase=$p")
		done
		want=$("measure$ver" calculate "${margs[@]}" --json=short |
			jq -r 'to_entries[] | .key as $b | .value[] | "\($b) \(.phase // "") \(.hash)"' |
			sort)
		got=$(slate_values "$uki")
		if [ "$(wc -l <<<"$want")" -eq 20 ] && [ "$want" = "$got" ]; then
			ok "$desc: slate pcr predict = systemd-measure $ver (5 phases, 4 banks)"
		else
			fail "$desc: slate pcr predict differs from systemd-measure $ver"
			diff <(echo "$want") <(echo "$got") | head -20 | sed 's/^/# /'
		fi
	done
done
check "the measured sections are the ones each stub version knows" bash -c "
	'$SLATE' pcr predict -o json '$tmp/uki4.efi' | jq -e '[.sections[].name] ==
		[\".linux\",\".osrel\",\".cmdline\",\".initrd\",\".splash\",\".dtb\"]' >/dev/null &&
	'$SLATE' pcr predict -o json '$tmp/uki11.efi' | jq -e '[.sections[].name] ==
		[\".linux\",\".osrel\",\".cmdline\",\".initrd\",\".splash\",\".dtb\",\".uname\",\".sbat\"]' >/dev/null"

# ukify 257 measuring its own inputs (its --measure runs systemd-measure; a
# wrapper in --tools makes that trixie's 257 instead of the host's 252).
mkdir -p "$tmp/tools"
printf '#!/bin/sh\nexec "%s/scripts/trixie-exec" systemd-measure "$@"\n' "$SLATE_SRCDIR" \
	>"$tmp/tools/systemd-measure"
chmod +x "$tmp/tools/systemd-measure"
openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout >"$tmp/pcrpkey.pem"
head -c 5003 /dev/urandom >"$tmp/ucode"
ukify_check() { # OUT DESCRIPTION UKIFY-ARGS...
	local out=$1 desc=$2 want got
	shift 2
	"$SLATE_SRCDIR/scripts/trixie-exec" ukify build --tools "$tmp/tools" --measure \
		--stub "$stub257" "$@" --output "$out" >"$tmp/ukify.out" 2>&1 || {
		fail "$desc: ukify failed: $(tail -n 3 "$tmp/ukify.out")"
		return
	}
	want=$(awk '/^# PCR\[11\] Phase/ { p = $4; gsub(/[<>]/, "", p) }
		/^11:/ { split(substr($0, 4), a, "="); print a[1], p, a[2] }' "$tmp/ukify.out" | sort)
	got=$(slate_values "$out" named)
	if [ "$(wc -l <<<"$want")" -eq 16 ] && [ "$want" = "$got" ]; then
		ok "$desc: slate pcr predict = ukify --measure (systemd-measure 257 on ukify's inputs)"
	else
		fail "$desc: slate pcr predict differs from ukify --measure"
		diff <(echo "$want") <(echo "$got") | head -20 | sed 's/^/# /'
	fi
}
if [ -f "$stub257" ]; then
	ukify_check "$tmp/ukify-all.efi" "ukify 257, every section slate uki build adds" --linux "$kernel" \
		--initrd "$tmp/initrd" --initrd "$tmp/initrd2" --cmdline "@$tmp/cmdline" \
		--os-release "@$tmp/osrel" --sbat "@$tmp/sbat" --splash "$tmp/splash" \
		$($have_dtc && echo "--devicetree $tmp/dtb") --uname 6.12.0-slate
	ukify_check "$tmp/ukify-ucode.efi" "ukify 257 with .ucode and .pcrpkey" --linux "$kernel" --initrd "$tmp/initrd" \
		--microcode "$tmp/ucode" --pcrpkey "$tmp/pcrpkey.pem" --cmdline "@$tmp/cmdline" \
		--os-release "@$tmp/osrel"
	check "ukify's UKI and slate's from the same inputs predict the same" bash -c "
		'$SLATE' uki build --stub '$stub257' --linux '$kernel' --initrd '$tmp/initrd' \
			--initrd '$tmp/initrd2' --cmdline '@$tmp/cmdline' --os-release '$tmp/osrel' \
			--sbat '$tmp/sbat' --splash '$tmp/splash' $($have_dtc && echo "--dtb $tmp/dtb") \
			--uname 6.12.0-slate -o '$tmp/same.efi' &&
		test \"\$('$SLATE' pcr predict -o json '$tmp/same.efi' | jq -c .phases)\" = \
			\"\$('$SLATE' pcr predict -o json '$tmp/ukify-all.efi' | jq -c .phases)\""
fi

# Refusals (the malformed-UKI cases, each with its message, are in test-pcr.c).
cp "$stub257" "$tmp/stub.efi"
refuse "a stub without .linux is not a UKI" 1 "stub.efi: no .linux section" \
	"$SLATE" pcr predict "$tmp/stub.efi"
head -c 100000 "$tmp/uki10.efi" >"$tmp/short.efi"
refuse "a truncated UKI is refused" 1 "short.efi: .*outside the file" \
	"$SLATE" pcr predict "$tmp/short.efi"
refuse "an unknown stub version is refused" 1 "systemd-stub 300: Slate knows" \
	"$SLATE" pcr predict --stub-version 300 "$tmp/uki9.efi"
refuse "a file that is not a PE is refused" 1 "initrd: .*MZ" "$SLATE" pcr predict "$tmp/initrd"
tap_done
