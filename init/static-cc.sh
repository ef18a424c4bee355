#!/bin/sh
# Compiles and links slate-init as a static binary against musl (musl-gcc, from
# Debian's musl-tools): no interpreter, no shared libraries, and no dlopen or NSS
# code inside, which glibc's static libc always brings along.
#
#   static-cc.sh OUTPUT COMPILER-AND-LINKER-ARGUMENTS... SOURCES...
#
# musl's include path has no kernel UAPI headers (linux/, asm/, asm-generic/);
# this links the build host's into a directory beside OUTPUT and adds it.
set -eu
out=$1
shift
kh=$out.kernel-headers
multiarch=$(gcc -dumpmachine)
rm -rf "$kh"
mkdir -p "$kh"
ln -s /usr/include/linux "$kh/linux"
ln -s /usr/include/asm-generic "$kh/asm-generic"
ln -s "/usr/include/$multiarch/asm" "$kh/asm"
exec musl-gcc -isystem "$kh" "$@" -o "$out"
