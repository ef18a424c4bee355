#!/bin/bash
# SPDX-License-Identifier: MIT
# Regenerates the PE vectors in this directory (never edit them by hand):
#   *.pe             small synthetic images from make-pe.py (bad-*.pe are malformed)
#   signed*.pe       two of them signed by sbsign with a throwaway key
#   signer.crt       that key's certificate (the key itself is discarded)
#   digests.txt      "FILE SHA256" as `pesign -h -i FILE` prints it, for every good file
#                    (pesign crashes on no-sections.pe; for few-dirs.pe, which has no
#                    certificate-table directory entry, pesign skips 8 bytes of the section
#                    table where the entry would be and edk2 does not: neither has a line)
# Needs python3, openssl, sbsigntool and pesign.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rm -f ./*.pe digests.txt signer.crt
python3 make-pe.py .
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 -subj "/CN=Slate test vector signer" \
	-keyout "$tmp/signer.key" -out signer.crt 2>/dev/null
sbsign --key "$tmp/signer.key" --cert signer.crt --output signed.pe two-sections.pe 2>/dev/null
sbsign --key "$tmp/signer.key" --cert signer.crt --output signed-trailing.pe trailing.pe 2>/dev/null
for f in *.pe; do
	case $f in bad-* | no-sections.pe | few-dirs.pe) continue ;; esac
	d=$(pesign -h -i "$f" | sed -n 's/^hash: //p')
	[ -n "$d" ] || { echo "regenerate: pesign printed no digest for $f" >&2; exit 1; }
	echo "$f $d"
done >digests.txt
cat digests.txt
