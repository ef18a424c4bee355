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
		wait "$VM_PID" 2>/dev/null
	fi
	VM_PID=
}

# Show the end of the console in the TAP output (for failures).
vm_tail() {
	tail -n "${1:-30}" "$VM_LOG" 2>/dev/null | tr -d '\r' | sed 's/^/# console: /'
}
