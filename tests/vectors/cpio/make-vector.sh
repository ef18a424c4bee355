#!/bin/bash
# Regenerates tree.cpio with GNU cpio (2.13, Debian 12), the reference that
# lib/cpio must match byte for byte (tests/unit/test-cpio.c):
#   tests/vectors/cpio/make-vector.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mkdir -p t/a/b t/a/c
printf 'hello\n' >t/a/f
printf '#!/bin/sh\n' >t/a/b/e
: >t/a-x
ln -s f t/a/l
chmod 0755 t/a t/a/b t/a/c t/a/b/e
chmod 0644 t/a/f
chmod 0600 t/a-x
find t -exec touch -h -d @1700000000 {} +
cd t
find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --reproducible -R 0:0 >"$here/tree.cpio"
