#!/bin/bash
# slate firmware vars/inspect against the reference tools: the signature lists
# equal efitools' cert-to-efi-sig-list, the store decodes the way Debian's OVMF
# templates are laid out, output is deterministic, and bad input is refused.
# (The boot with the store is tests/vm/secureboot.sh.)
. "$SLATE_SRCDIR/tests/lib.sh"
tmp=$(tap_tmpdir)
owner=5c6b6a2e-1f0b-4a4e-9d3c-736c61746501 # sl_efi_slate_owner_guid
ovmf=/usr/share/OVMF

for n in PK KEK db; do
	openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=compat $n/" \
		-keyout "$tmp/$n.key" -out "$tmp/$n.crt" 2>/dev/null
done
openssl x509 -in "$tmp/db.crt" -outform der -out "$tmp/db.der"

check "firmware vars writes a store" "$SLATE" firmware vars --pk "$tmp/PK.crt" --kek "$tmp/KEK.crt" \
	--db "$tmp/db.crt" -o "$tmp/vars.fd"
check "the same inputs give the same bytes" bash -c \
	"'$SLATE' firmware vars --keys '$tmp' -o '$tmp/vars2.fd' && cmp '$tmp/vars.fd' '$tmp/vars2.fd'"
check "DER and PEM certificates give the same store" bash -c \
	"'$SLATE' firmware vars --pk '$tmp/PK.crt' --kek '$tmp/KEK.crt' --db '$tmp/db.der' -o '$tmp/vars3.fd' &&
	 cmp '$tmp/vars.fd' '$tmp/vars3.fd'"

"$SLATE" firmware inspect -o json "$tmp/vars.fd" >"$tmp/vars.json"
# The variable's data starts after its 60-byte header and its UTF-16 name.
extract() { # NAME NAMESIZE OUT
	local off size
	off=$(jq -r --arg n "$1" '.variables[] | select(.name == $n) | .offset' "$tmp/vars.json")
	size=$(jq -r --arg n "$1" '.variables[] | select(.name == $n) | .size' "$tmp/vars.json")
	dd if="$tmp/vars.fd" of="$3" bs=1 skip=$((off + 60 + $2)) count="$size" status=none
}
for v in PK:6 KEK:8 db:6; do
	name=${v%:*}
	extract "$name" "${v#*:}" "$tmp/$name.slate.esl"
	cert-to-efi-sig-list -g "$owner" "$tmp/$name.crt" "$tmp/$name.esl" >/dev/null
	check "$name holds the signature list cert-to-efi-sig-list makes" \
		cmp "$tmp/$name.slate.esl" "$tmp/$name.esl"
done
check "PK, KEK and db have attributes 0x27, SecureBootEnable=1, CustomMode=0" test "$(jq -c \
	'[.variables[] | [.name, .attributes, (.data // "")]]' "$tmp/vars.json")" = \
	'[["PK",39,""],["KEK",39,""],["db",39,""],["SecureBootEnable",3,"01"],["CustomMode",3,"00"]]'
fp=$(openssl x509 -in "$tmp/db.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
	tr A-F a-f)
check "inspect shows db's certificate by subject and fingerprint" test "$(jq -r \
	'.variables[] | select(.name == "db") | .signatures[0] | .subject + " " + .sha256' \
	"$tmp/vars.json")" = "CN=compat db $fp"

SOURCE_DATE_EPOCH=1795910400 "$SLATE" firmware vars --keys "$tmp" -o "$tmp/epoch.fd"
check "SOURCE_DATE_EPOCH sets the timestamps" test "$("$SLATE" firmware inspect -o json \
	"$tmp/epoch.fd" | jq -r '.variables[0].timestamp')" = 2026-11-29T00:00:00Z

if [ -f "$ovmf/OVMF_VARS_4M.ms.fd" ] && [ -f "$ovmf/OVMF_VARS.fd" ]; then
	check "Debian's OVMF_VARS.fd (2 MiB firmware) is a valid template" \
		"$SLATE" firmware vars --keys "$tmp" --template "$ovmf/OVMF_VARS.fd" -o "$tmp/2m.fd"
	"$SLATE" firmware vars --keys "$tmp" --template "$ovmf/OVMF_VARS_4M.ms.fd" -o "$tmp/ms.fd"
	check "over Debian's Microsoft-enrolled store: our PK, KEK, db replace its own, dbx stays" \
		test "$("$SLATE" firmware inspect -o json "$tmp/ms.fd" | jq -c '[.variables[] |
		select(.name == "PK" or .name == "KEK" or .name == "db" or .name == "dbx") |
		[.name, (.signatures | length)]]')" = '[["dbx",1],["PK",1],["KEK",1],["db",1]]'
else
	skip "Debian's other OVMF templates" "ovmf is not installed"
	skip "Microsoft-enrolled template" "ovmf is not installed"
fi

# Refusals: one line on stderr, exit 1 (bad input) or 2 (usage).
head -c 4096 "$tmp/vars.fd" >"$tmp/short.fd"
refuse "a truncated template is refused" 1 "short.fd: firmware volume: length" \
	"$SLATE" firmware vars --keys "$tmp" --template "$tmp/short.fd" -o "$tmp/x.fd"
cp "$tmp/vars.fd" "$tmp/damaged.fd"
printf '\x00' | dd of="$tmp/damaged.fd" bs=1 seek=$((0x41010)) conv=notrunc status=none
refuse "a template with a damaged FTW header is refused" 1 "fault-tolerant-write.*CRC" \
	"$SLATE" firmware inspect "$tmp/damaged.fd"
refuse "a key that is not a certificate is refused" 1 "PK.key: not a.* X.509 certificate" \
	"$SLATE" firmware vars --pk "$tmp/PK.key" --kek "$tmp/KEK.crt" --db "$tmp/db.crt" -o "$tmp/x.fd"
refuse "a missing template names the ovmf package" 1 "install the Debian package ovmf" \
	env SLATE_OVMF_DIR="$tmp/none" "$SLATE" firmware vars --keys "$tmp" -o "$tmp/x.fd"
refuse "--pk without --kek and --db is a usage error" 2 "required" \
	"$SLATE" firmware vars --pk "$tmp/PK.crt" -o "$tmp/x.fd"
check "nothing is written on failure" test ! -e "$tmp/x.fd"
tap_done
