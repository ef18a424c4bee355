#!/bin/bash
# slate pcr predict against systemd-measure calculate of the same systemd
# version: 252 (Debian 12, the host's) for UKIs on Debian 12's stub, 257
# (Debian 13, scripts/trixie-exec) for UKIs on Debian 13's stub; many UKIs,
# with and without .sbat/.uname/.splash/.dtb/.cmdline/.initrd, all phases, all banks.
# systemd-measure gets each section's bytes as the UKI holds them (VirtualSize
# bytes, cut out by a small independent PE reader below), so a merged .sbat is
# measured as the stub sees it.
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

# Dump every section of a PE as DIR/<name> (VirtualSize bytes, zero-filled).
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

# Inputs. Sizes are odd on purpose; the "kernel" need not boot here.
head -c 300001 /dev/urandom >"$tmp/linux"
cp "$root/boot/vmlinuz-"* "$tmp/vmlinuz"
head -c 70001 /dev/urandom >"$tmp/initrd"
printf 'ID=slatetest\nVERSION_ID=1\n' >"$tmp/osrel"
printf 'usrhash=%064d console=ttyS0\n' 0 >"$tmp/cmdline"
printf 'sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nslate,1,Slate,slate,1,https://slate.invalid\n' >"$tmp/sbat"
head -c 4097 /dev/urandom >"$tmp/splash"
head -c 2049 /dev/urandom >"$tmp/dtb"

uki_build() { # STUB OUT ARGS... (--name=FILE pairs, as ukify options)
	local stub=$1 out=$2
	shift 2
	if "$SLATE" uki build --help >/dev/null 2>&1; then
		"$SLATE" uki build --stub "$stub" "$@" -o "$out"
	else # until slate's UKI builder lands
		local a=()
		for x in "$@"; do
			case $x in
			--os-release=*) a+=("--os-release=@${x#*=}") ;;
			--cmdline=*) a+=("--cmdline=@${x#*=}") ;;
			--sbat=*) a+=("--sbat=@${x#*=}") ;;
			*) a+=("$x") ;;
			esac
		done
		"$SLATE_SRCDIR/scripts/trixie-exec" ukify build --stub "$stub" "${a[@]}" \
			--output "$out" >/dev/null 2>&1
	fi
}

# Variants: which optional inputs each UKI has.
variants=(
	"initrd cmdline"
	"cmdline"
	"initrd"
	""
	"initrd cmdline uname"
	"initrd cmdline sbat"
	"initrd cmdline uname sbat splash dtb"
	"cmdline splash"
	"initrd dtb"
	"vmlinuz initrd cmdline uname sbat"
)
n=0
for ver in 252 257; do
	stub_var=stub$ver
	stub=${!stub_var}
	if [ ! -f "$stub" ]; then
		skip "systemd-stub $ver UKIs" "$stub is missing (systemd-boot-efi)"
		continue
	fi
	for v in "${variants[@]}"; do
		n=$((n + 1))
		uki=$tmp/uki$n.efi
		linux=$tmp/linux
		args=(--os-release="$tmp/osrel")
		for w in $v; do
			case $w in
			vmlinuz) linux=$tmp/vmlinuz ;;
			uname) args+=(--uname=6.12.0-slate) ;;
			*) args+=("--$w=$tmp/$w") ;;
			esac
		done
		# ukify 257 insists on a real kernel (it reads its version).
		if [ "$ver" = 257 ] && ! "$SLATE" uki build --help >/dev/null 2>&1; then
			linux=$tmp/vmlinuz
		fi
		uki_build "$stub" "$uki" --linux="$linux" "${args[@]}" || {
			fail "systemd-stub $ver [$v]: the UKI could not be built"
			continue
		}
		dump_sections "$uki" "$tmp/s$n"
		margs=()
		for s in linux osrel cmdline initrd splash dtb uname sbat; do
			[ -f "$tmp/s$n/$s" ] || continue
			if [ "$ver" = 252 ] && [ "$s" = uname -o "$s" = sbat ]; then
				continue # systemd-measure 252 knows neither (nor does its stub)
			fi
			margs+=("--$s=$tmp/s$n/$s")
		done
		for p in : enter-initrd enter-initrd:leave-initrd enter-initrd:leave-initrd:sysinit \
			enter-initrd:leave-initrd:sysinit:ready; do
			margs+=("--phase=$p")
		done
		want=$("measure$ver" calculate "${margs[@]}" --json=short |
			jq -r 'to_entries[] | .key as $b | .value[] | "\($b) \(.phase // "") \(.hash)"' |
			sort)
		got=$("$SLATE" pcr predict -o json "$uki" |
			jq -r '.phases[] | . as $p | ("sha1","sha256","sha384","sha512") |
				"\(.) \($p.phase) \($p[.])"' | sort)
		if [ -n "$want" ] && [ "$want" = "$got" ]; then
			ok "systemd-stub $ver [${v:-no optional sections}]: slate pcr predict = systemd-measure $ver (5 phases, 4 banks)"
		else
			fail "systemd-stub $ver [$v]: slate pcr predict differs from systemd-measure $ver"
			diff <(echo "$want") <(echo "$got") | head -20 | sed 's/^/# /'
		fi
	done
done

# Refusals.
cp "$stub257" "$tmp/stub.efi"
refuse "a stub without .linux is not a UKI" 1 "no .linux section" \
	"$SLATE" pcr predict "$tmp/stub.efi"
head -c 1000 "$tmp/uki11.efi" >"$tmp/short.efi"
refuse "a truncated UKI is refused" 1 "short.efi: " "$SLATE" pcr predict "$tmp/short.efi"
refuse "an unknown stub version is refused" 1 "systemd-stub 300: Slate knows" \
	"$SLATE" pcr predict --stub-version 300 "$tmp/uki11.efi"
refuse "a file that is not a PE is refused" 1 "osrel: " "$SLATE" pcr predict "$tmp/osrel"
tap_done
