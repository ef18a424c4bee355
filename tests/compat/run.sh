#!/bin/bash
# slate run without booting: the command lines it assembles (--dry-run), the
# Debian package it names for each missing tool, and refused inputs.
# (The boots are in tests/vm/secureboot.sh.)
. "$SLATE_SRCDIR/tests/lib.sh"
tmp=$(tap_tmpdir)
for n in PK KEK db; do
	openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=run $n/" \
		-keyout "$tmp/$n.key" -out "$tmp/$n.crt" 2>/dev/null
done
truncate -s 16M "$tmp/disk.img"
"$SLATE" firmware vars --keys "$tmp" -o "$tmp/disk.vars.fd"

"$SLATE" run --dry-run --accel tcg --console "$tmp/con,sole" --snapshot --ssh-port 2222 \
	"$tmp/disk.img" >"$tmp/cmd"
has() { grep -qF -- "$1" "$tmp/cmd"; }
check "swtpm runs as a TPM 2.0 socket that ends with QEMU" has "swtpm socket --tpm2 --tpmstate"
check "--terminate" has "--terminate"
check "q35 with SMM" has "q35,smm=on"
check "the variable flash is writable only from SMM" has "driver=cfi.pflash01,property=secure,value=on"
check "OVMF's Secure Boot firmware" has "OVMF_CODE_4M.secboot.fd"
check "the vars next to the image are found and copied" has "file=RUNDIR/vars.fd"
check "--snapshot" has "format=raw,file=$tmp/disk.img,snapshot=on"
check "--ssh-port forwards localhost only" has "hostfwd=tcp:127.0.0.1:2222-:22"
check "TPM device" has "tpm-tis,tpmdev=tpm0"
check "commas in the console path are escaped for QEMU" has "file:$tmp/con,,sole"
check "TCG single-threaded, one CPU" has "tcg,thread=single -smp 1"
"$SLATE" run --dry-run --accel tcg --no-secure-boot --no-tpm --no-network "$tmp/disk.img" \
	>"$tmp/cmd"
check "--no-secure-boot: plain OVMF without SMM" has "OVMF_CODE_4M.fd"
check "--no-secure-boot: no SMM" has "q35,smm=off"
check "--no-tpm: no swtpm, no TPM device" test "$(wc -l <"$tmp/cmd")" -eq 1 -a -z "$(grep tpm "$tmp/cmd")"
check "--no-network" has "-nic none"

mkdir -p "$tmp/bin"
ln -s "$(command -v qemu-system-x86_64)" "$tmp/bin/qemu-system-x86_64"
refuse "no qemu: names qemu-system-x86" 1 "install the Debian package qemu-system-x86" \
	env PATH="$tmp/none" "$SLATE" run --dry-run "$tmp/disk.img"
refuse "no swtpm: names swtpm" 1 "install the Debian package swtpm" \
	env PATH="$tmp/bin" "$SLATE" run --dry-run "$tmp/disk.img"
refuse "no OVMF: names ovmf" 1 "install the Debian package ovmf" \
	env SLATE_OVMF_DIR="$tmp/none" "$SLATE" run --dry-run "$tmp/disk.img"
cp "$tmp/disk.img" "$tmp/other.img"
refuse "no store next to the image: says what to do" 1 "no variable store.*--vars" \
	"$SLATE" run --dry-run "$tmp/other.img"
head -c 1000 "$tmp/disk.vars.fd" >"$tmp/bad.fd"
refuse "a malformed store is refused" 1 "bad.fd: firmware volume" \
	"$SLATE" run --dry-run --vars "$tmp/bad.fd" "$tmp/disk.img"
refuse "a missing image is refused" 1 "nothing.img: No such file" \
	"$SLATE" run --dry-run "$tmp/nothing.img"
refuse "--ssh-port 0 is a usage error" 2 "ssh-port" \
	"$SLATE" run --dry-run --ssh-port 0 "$tmp/disk.img"
refuse "--vars with --keys is a usage error" 2 "exclude" \
	"$SLATE" run --dry-run --keys "$tmp" --vars "$tmp/disk.vars.fd" "$tmp/disk.img"
tap_done
