#!/bin/bash
# slate-init is a static program, and `slate initrd build` writes the initramfs
# GNU cpio and zstd read back exactly: the files, modes, owners, timestamps and
# order it promises, the kernel modules of Debian 13's cloud kernel with their
# dependencies, byte-identical output for the same inputs.
. "$SLATE_SRCDIR/tests/lib.sh"
tmp=$(tap_tmpdir)
init=${SLATE_BUILDDIR:-$SLATE_SRCDIR/build}/init/slate-init

# ---- slate-init is static ----
check "slate-init exists" test -x "$init"
if readelf -lW "$init" | grep -q INTERP; then
	fail "slate-init has no program interpreter (PT_INTERP)"
else
	ok "slate-init has no program interpreter (PT_INTERP)"
fi
if readelf -dW "$init" | grep -q NEEDED; then
	fail "slate-init needs no shared library (DT_NEEDED)"
else
	ok "slate-init needs no shared library (DT_NEEDED)"
fi
syms=$(nm "$init" 2>&1 | grep -Ei ' (dlopen|__libc_dlopen_mode|_dl_open|__nss_[a-z_]+|nss_[a-z_]+|EVP_[A-Za-z_]+|OPENSSL_[a-z_]+)$' || true)
if [ -z "$syms" ] && nm "$init" >/dev/null 2>&1; then
	ok "slate-init carries no dlopen, NSS or OpenSSL code"
else
	fail "slate-init carries no dlopen, NSS or OpenSSL code: ${syms:0:300}"
fi

# ---- the initramfs, from Debian 13's modules ----
root=$("$SLATE_SRCDIR/scripts/trixie-root" 2>"$tmp/trixie.log") || {
	skip "initramfs from Debian 13's modules" "no trixie tools root: $(tail -n 1 "$tmp/trixie.log")"
	tap_done
	exit
}
mdir=$(ls -d "$root"/usr/lib/modules/*/ | head -n 1)
mdir=${mdir%/}
kver=$(basename "$mdir")
export SOURCE_DATE_EPOCH=1764400000

check "slate initrd build (zstd)" "$SLATE" initrd build --modules-dir "$mdir" \
	--module virtio_blk --module dm-verity,erofs --module overlay --module nvme -o "$tmp/a.img"
check "slate initrd build (none), modules in another order" "$SLATE" initrd build \
	--modules-dir "$mdir" --module overlay,nvme,erofs,dm_verity,virtio-blk --compress none \
	-o "$tmp/b.cpio"
check "the same modules in another order give the same bytes" \
	cmp <(zstd -qdc "$tmp/a.img") "$tmp/b.cpio"
"$SLATE" initrd build --modules-dir "$mdir" --module virtio_blk,dm-verity,erofs,overlay,nvme \
	-o "$tmp/c.img" >/dev/null
check "two builds are byte-identical" cmp "$tmp/a.img" "$tmp/c.img"
SOURCE_DATE_EPOCH=1764400001 "$SLATE" initrd build --modules-dir "$mdir" \
	--module virtio_blk,dm-verity,erofs,overlay -o "$tmp/d.img" >/dev/null
if cmp -s "$tmp/a.img" "$tmp/d.img"; then
	fail "SOURCE_DATE_EPOCH sets the timestamps"
else
	ok "SOURCE_DATE_EPOCH sets the timestamps"
fi
check "zstd accepts the archive (checksum included)" zstd -qt "$tmp/a.img"
size=$(stat -c %s "$tmp/a.img")
if [ "$size" -lt $((5 * 1024 * 1024)) ]; then
	ok "the initramfs is under 5 MB ($size bytes)"
else
	fail "the initramfs is under 5 MB ($size bytes)"
fi

# GNU cpio's listing: order, modes, owners, times, the console device.
LC_ALL=C cpio -itv --quiet <"$tmp/b.cpio" >"$tmp/list" 2>&1
cpio -it --quiet <"$tmp/b.cpio" >"$tmp/names"
check "entries are sorted (bytewise)" cmp "$tmp/names" <(LC_ALL=C sort "$tmp/names")
check "every entry is owned by root:root" \
	test "$(awk '$3 != "root" || $4 != "root"' "$tmp/list" | wc -l)" -eq 0
# With TZ=UTC, a fixed epoch prints the same date for every entry.
dates=$(TZ=UTC cpio -itv --quiet <"$tmp/b.cpio" | awk '{print $(NF-3), $(NF-2), $(NF-1)}' |
	sort -u | wc -l)
check "every entry has the SOURCE_DATE_EPOCH timestamp" test "$dates" -eq 1
check "/dev/console is character device 5,1" grep -Eq '^crw------- .* 5, +1 .* dev/console$' "$tmp/list"
check "/init is executable" grep -Eq '^-rwxr-xr-x .* init$' "$tmp/list"
for d in proc sys dev run sysroot; do
	check "mount point /$d" grep -Eq "^drwxr-xr-x .* $d\$" "$tmp/list"
done

mkdir "$tmp/x"
(cd "$tmp/x" && cpio -id --quiet <"$tmp/b.cpio")
check "/init is slate-init" cmp "$tmp/x/init" "$init"
want="virtio_blk dm_mod dm_bufio reed_solomon dm_verity libcrc32c erofs overlay"
for m in $want; do
	f=$(grep -E "/${m//_/[-_]}\.ko\.xz:" "$mdir/modules.dep" | cut -d: -f1)
	check "module $m is the kernel's file" cmp "$tmp/x/lib/modules/$kver/$f" "$mdir/$f"
done
n=$(find "$tmp/x/lib/modules" -name '*.ko*' | wc -l)
check "exactly these 8 modules (nvme is built in)" test "$n" -eq 8
# The pruned modules.dep: every line is the kernel's own line for that module.
bad=0
while IFS= read -r line; do
	grep -qxF -- "$line" "$mdir/modules.dep" || bad=1
done <"$tmp/x/lib/modules/$kver/modules.dep"
check "modules.dep holds the kernel's lines for just these modules" test "$bad" -eq 0 -a \
	"$(wc -l <"$tmp/x/lib/modules/$kver/modules.dep")" -eq 8

# ---- usage and refusals ----
if "$SLATE" initrd build --help | head -n 1 | grep -Eq '^Usage: slate initrd build --modules-dir DIR --module NAME'; then
	ok "--help starts with the usage line"
else
	fail "--help starts with the usage line: $("$SLATE" initrd build --help | head -n 1)"
fi
refuse "an unknown module is refused, by name" 1 "module no_such_mod is neither in" \
	"$SLATE" initrd build --modules-dir "$mdir" --module no_such_mod -o "$tmp/e.img"
refuse "a dynamically linked /init is refused" 1 "PT_INTERP" \
	"$SLATE" initrd build --modules-dir "$mdir" --module erofs --init /bin/true -o "$tmp/e.img"
refuse "a missing modules directory is an error" 1 "modules.dep" \
	"$SLATE" initrd build --modules-dir "$tmp/nowhere/6.1" --module erofs -o "$tmp/e.img"
refuse "-o is required" 2 "required" "$SLATE" initrd build --modules-dir "$mdir"
refuse "--compress takes zstd or none" 2 "zstd or none" \
	"$SLATE" initrd build --modules-dir "$mdir" --compress xz -o "$tmp/e.img"
SOURCE_DATE_EPOCH=yesterday refuse "a malformed SOURCE_DATE_EPOCH is refused" 2 \
	"SOURCE_DATE_EPOCH" "$SLATE" initrd build --modules-dir "$mdir" -o "$tmp/e.img"
check "no output file after a failure" test ! -e "$tmp/e.img"
tap_done
