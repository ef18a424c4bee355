# SPDX-License-Identifier: MIT
# Helpers for VM tests: start QEMU (TCG: there is no KVM on the test machines)
# with the serial console in a file, wait for lines on it, stop it. Source after
# tests/lib.sh.
#
#   vm_start "$tmp/console.log" -kernel vmlinuz -initrd initrd -append "console=ttyS0 ..."
#   vm_wait 'Reached target.*Multi-User' 240 || fail "..."
#   vm_stop
#
# Single-threaded TCG and one vCPU: Debian 13's kernel has been seen to oops early
# under multi-threaded TCG with -smp 2 (DESIGN.md, "Seen on this machine").

VM_PID=
VM_LOG=

vm_qemu_base=(
	qemu-system-x86_64 -machine q35 -accel tcg,thread=single -smp 1 -m 1024
	-display none -no-reboot -nic none
)

# vm_start LOGFILE QEMU-ARGS...: starts QEMU in the background.
vm_start() {
	VM_LOG=$1
	shift
	: >"$VM_LOG"
	"${vm_qemu_base[@]}" -serial "file:$VM_LOG" "$@" >"$VM_LOG.qemu" 2>&1 &
	VM_PID=$!
}

# vm_wait REGEX TIMEOUT-SECONDS: 0 when REGEX appears on the console,
# 1 when QEMU exits first, 2 on timeout.
vm_wait() {
	local pat=$1 timeout=$2 start=$SECONDS
	while :; do
		if grep -Eaq -- "$pat" "$VM_LOG" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$VM_PID" 2>/dev/null; then
			grep -Eaq -- "$pat" "$VM_LOG" 2>/dev/null && return 0
			return 1
		fi
		if [ $((SECONDS - start)) -ge "$timeout" ]; then
			return 2
		fi
		sleep 0.5
	done
}

# vm_exited TIMEOUT: 0 when QEMU exits (poweroff, halt with -no-reboot, reboot)
# within TIMEOUT seconds.
vm_exited() {
	local timeout=$1 start=$SECONDS
	while kill -0 "$VM_PID" 2>/dev/null; do
		[ $((SECONDS - start)) -ge "$timeout" ] && return 1
		sleep 0.5
	done
	return 0
}

vm_stop() {
	if [ -n "$VM_PID" ] && kill -0 "$VM_PID" 2>/dev/null; then
		kill "$VM_PID" 2>/dev/null
		# (its exit status is the signal's: not a failure, also under set -e)
		wait "$VM_PID" 2>/dev/null || true
	fi
	VM_PID=
}

# Show the end of the console in the TAP output (for failures).
vm_tail() {
	tail -n "${1:-30}" "$VM_LOG" 2>/dev/null | tr -d '\r' | sed 's/^/# console: /'
}

# ---- Slate images booted with `slate run`, reached over ssh ----------------------------
# The root login key reaches the guest as the systemd credential ssh.authorized_keys.root
# (slate run --ssh-key), never through the image.
#
#   vm_slate_boot out/slate.img "$tmp" [more slate run options]   # sets VM_PID, VM_LOG
#   vm_ssh_wait 600 || fail "..."
#   vm_ssh systemctl is-system-running
#   vm_stop

VM_SSH_PORT=
VM_SSH_KEY=

# vm_slate_boot IMAGE DIR [OPTIONS...]: key and console in DIR; the image is not changed.
vm_slate_boot() {
	local image=$1 dir=$2
	shift 2
	VM_SSH_KEY=$dir/vm-ssh-key
	[ -f "$VM_SSH_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C slate-vm -f "$VM_SSH_KEY"
	VM_SSH_PORT=$((20000 + RANDOM % 20000))
	VM_LOG=$dir/console.log
	: >"$VM_LOG"
	"${SLATE:-slate}" run "$image" --snapshot --no-reboot --ssh-port "$VM_SSH_PORT" \
		--ssh-key "$VM_SSH_KEY.pub" --console "$VM_LOG" "$@" >"$dir/slate-run.out" 2>&1 &
	VM_PID=$!
}

# vm_ssh COMMAND...: run it in the guest as root (stdout and stderr).
vm_ssh() {
	ssh -q -p "$VM_SSH_PORT" -i "$VM_SSH_KEY" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o ConnectTimeout=15 -o BatchMode=yes \
		root@127.0.0.1 "$@" 2>&1
}

# vm_scp FILE GUEST-PATH
vm_scp() {
	scp -q -P "$VM_SSH_PORT" -i "$VM_SSH_KEY" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o BatchMode=yes "$1" "root@127.0.0.1:$2"
}

# vm_ssh_wait TIMEOUT: 0 once ssh gets in; 1 when the VM exits or time runs out.
vm_ssh_wait() {
	local timeout=$1 start=$SECONDS
	while [ $((SECONDS - start)) -lt "$timeout" ]; do
		vm_ssh true >/dev/null && return 0
		kill -0 "$VM_PID" 2>/dev/null || return 1
		sleep 3
	done
	return 1
}
