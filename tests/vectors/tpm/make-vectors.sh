#!/bin/bash
# Regenerates the TPM vectors of tests/unit/test-tpm.c and test-init.c from a real
# TPM emulator (swtpm 0.7 / libtpms, Debian 12) and from systemd 257's own
# systemd-pcrextend (trixie), the reference for PCR 11's boot phases:
#   tests/vectors/tpm/make-vectors.sh
#
# The commands (*.cmd) are written here byte by byte from the TPM 2.0 Library
# specification (Part 3), independently of lib/tpm; the tests check that lib/tpm
# builds exactly these bytes. The responses (*.rsp) are what swtpm answered to
# them (tpm2_send), which lib/tpm must decode:
#   getcap-pcrs.cmd             TPM2_GetCapability(TPM_CAP_PCRS, 0, 1)
#   getcap-pcrs-4banks.rsp      a fresh swtpm: sha1, sha256, sha384, sha512
#   getcap-pcrs-sha256.rsp      swtpm_setup --pcr-banks sha256
#   pcrread-11.cmd              TPM2_PCR_Read of PCR 11 in the four banks
#   pcrread-11-zero.rsp         ... on a fresh TPM (all zero)
#   pcrread-11-sha256.rsp       ... on the sha256-only TPM (the other banks answered empty)
#   pcrread-11-phases.rsp       ... after systemd-pcrextend enter-initrd, leave-initrd
#   extend-enter-initrd.cmd     TPM2_PCR_Extend of PCR 11, password session, four digests
#   extend-leave-initrd.cmd
#   extend.rsp                  swtpm's answer (success, with the session acknowledgement)
#   extend-pcr24.rsp            swtpm's answer to the same extend of PCR 24 (an error)
#   tpm2-measure.log            systemd-pcrextend's /run/log/systemd/tpm2-measure.log
# and the script checks that the extend commands move PCR 11 exactly as
# systemd-pcrextend does. Needs swtpm, swtpm_setup, tpm2-tools, openssl, the
# trixie tools root (scripts/trixie-root) and trixie's libtss2 packages in the
# .deb cache ($SLATE_CACHE/debs/trixie: libtss2-esys-3.0.2-0t64, libtss2-sys1t64,
# libtss2-mu-4.0.1-0t64, libtss2-rc0t64, libtss2-tcti-swtpm0t64). Runs as root (a
# private mount namespace gives systemd-pcrextend its own /run). Never edit the
# outputs by hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
cache=${SLATE_CACHE:-/var/cache/slate}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

hex() { tr -d ' \n' | xxd -r -p; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_tpm STATE-DIR: a swtpm on a free TCP port and the next one (tpm2-tss's swtpm
# driver takes the control channel there); sets TPM2TOOLS_TCTI and PORT.
start_tpm() {
	local port ctrl
	port=$(free_port)
	ctrl=$((port + 1))
	mkdir -p "$1"
	swtpm socket --tpm2 --tpmstate dir="$1" --server type=tcp,port="$port" \
		--ctrl type=tcp,port="$ctrl" --flags not-need-init,startup-clear &
	pids+=($!)
	PORT=$port
	export TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$port
	for _ in $(seq 50); do
		tpm2_send <"$here/getcap-pcrs.cmd" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "make-vectors: swtpm did not answer" >&2
	exit 1
}
send() { tpm2_send <"$here/$1" >"$here/$2"; }

# ---- Commands, from TPM 2.0 Part 3 ----
# GetCapability: tag ST_NO_SESSIONS, size 22, CC 0x17a; TPM_CAP_PCRS, property 0, count 1.
echo '8001 00000016 0000017a 00000005 00000000 00000001' | hex >"$here/getcap-pcrs.cmd"
# PCR_Read: tag, size 38, CC 0x17e; TPML_PCR_SELECTION of 4: alg, sizeofSelect 3, PCR 11
# = bit 3 of byte 1.
echo '8001 00000026 0000017e 00000004
      0004 03 000800  000b 03 000800  000c 03 000800  000d 03 000800' | hex >"$here/pcrread-11.cmd"
# PCR_Extend: tag ST_SESSIONS, size, CC 0x182; handle 11; authorizationSize 9:
# TPM_RS_PW 0x40000009, nonce size 0, attributes 0, hmac size 0; TPML_DIGEST_VALUES
# of 4 TPMT_HA (alg, digest). Size = 10 + 4 + 4 + 9 + 4 + (2+20) + (2+32) + (2+48) + (2+64).
extend_cmd() { # WORD PCR
	local d
	printf '8002 %08x 00000182 %08x 00000009 40000009 0000 00 0000 00000004' \
		$((10 + 4 + 4 + 9 + 4 + 22 + 34 + 50 + 66)) "$2"
	for a in 0004:sha1 000b:sha256 000c:sha384 000d:sha512; do
		d=$(printf %s "$1" | openssl dgst -"${a#*:}" -r | cut -d' ' -f1)
		printf ' %s %s' "${a%%:*}" "$d"
	done
}
extend_cmd enter-initrd 11 | hex >"$here/extend-enter-initrd.cmd"
extend_cmd leave-initrd 11 | hex >"$here/extend-leave-initrd.cmd"
extend_cmd enter-initrd 24 | hex >"$tmp/extend-pcr24.cmd"

# ---- A fresh TPM: the reference, systemd-pcrextend 257 ----
start_tpm "$tmp/ref"
send getcap-pcrs.cmd getcap-pcrs-4banks.rsp
send pcrread-11.cmd pcrread-11-zero.rsp
root=$("$src/scripts/trixie-root")
mkdir -p "$tmp/tss"
for p in libtss2-esys-3.0.2-0t64 libtss2-sys1t64 libtss2-mu-4.0.1-0t64 libtss2-rc0t64 \
	libtss2-tcti-swtpm0t64; do
	deb=$(ls "$cache/debs/trixie/${p}"_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || {
		echo "make-vectors: no $p in $cache/debs/trixie" >&2
		exit 1
	}
	dpkg-deb -x "$deb" "$tmp/tss"
done
libs=$tmp/tss/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu
libs=$libs:$root/usr/lib/x86_64-linux-gnu/systemd
cat >"$tmp/pcrextend.sh" <<EOF
set -e
mount -t tmpfs tmpfs /run
for w in enter-initrd leave-initrd; do
	SYSTEMD_FORCE_MEASURE=1 "$root/lib64/ld-linux-x86-64.so.2" --library-path "$libs" \
		"$root/usr/lib/systemd/systemd-pcrextend" --tpm2-device=swtpm:host=127.0.0.1,port=$PORT "\$w"
done
cp /run/log/systemd/tpm2-measure.log "$here/tpm2-measure.log"
EOF
unshare -m bash "$tmp/pcrextend.sh"
send pcrread-11.cmd pcrread-11-phases.rsp

# ---- Another fresh TPM: the same two extends from our command bytes ----
start_tpm "$tmp/ours"
send extend-enter-initrd.cmd extend.rsp
tpm2_send <"$here/extend-leave-initrd.cmd" >/dev/null
tpm2_send <"$tmp/extend-pcr24.cmd" >"$here/extend-pcr24.rsp" || true
tpm2_send <"$here/pcrread-11.cmd" >"$tmp/ours.rsp"
cmp "$tmp/ours.rsp" "$here/pcrread-11-phases.rsp" || {
	echo "make-vectors: our PCR_Extend commands do not give systemd-pcrextend's PCR 11" >&2
	exit 1
}

# ---- A TPM with only the sha256 bank ----
mkdir -p "$tmp/sha256" "$tmp/xdg"
XDG_CONFIG_HOME=$tmp/xdg swtpm_setup --tpm2 --tpmstate "$tmp/sha256" --pcr-banks sha256 \
	--overwrite >/dev/null
start_tpm "$tmp/sha256"
send getcap-pcrs.cmd getcap-pcrs-sha256.rsp
send pcrread-11.cmd pcrread-11-sha256.rsp
echo "make-vectors: wrote $(ls "$here" | grep -cv '\.sh$') vectors in $here" >&2
