#!/bin/bash
# Regenerates the test certificate of tests/unit/test-efivars.c (x509_load).
# Its key is not kept: the tests only parse the certificate.
set -euo pipefail
cd "$(dirname "$0")"
key=$(mktemp)
trap 'rm -f "$key"' EXIT
openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 \
	-subj "/CN=Slate test db/" -keyout "$key" -out db.crt 2>/dev/null
