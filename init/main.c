/* SPDX-License-Identifier: MIT */
/*
 * slate-init: /init of Slate's initramfs, PID 1 until systemd takes over.
 * A static binary (no interpreter, no shared libraries, no OpenSSL or NSS):
 * nothing it needs can be missing from the initramfs.
 *
 * It runs init_boot() (boot.c) on the real system (ops-linux.c). When that
 * returns, the boot has failed: the emergency path prints its one line and
 * reboots or powers off. It never returns: PID 1 exiting is a kernel panic.
 */
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>

#include "ops-linux.h"

static LinuxInit linux_init;

static _noreturn_ void emergency(const InitError *e)
{
	InitEmergencyPlan plan;
	struct timespec ts;

	init_emergency_plan(e, linux_init.have_cfg ? &linux_init.cfg : NULL, &plan);
	/* Level 2 (critical) reaches the console even with "quiet". The line carries
	 * its own prefix; write it without the logger's. */
	linux_init_write_line(&linux_init, 2, plan.line + strlen("slate-init: "));
	(void)umount2(INIT_SYSROOT "/etc", 0);
	(void)umount2(INIT_SYSROOT "/usr", 0);
	(void)umount2(INIT_SYSROOT, 0);
	sync();
	ts = (struct timespec){ .tv_sec = plan.delay_s };
	while (ts.tv_sec && nanosleep(&ts, &ts) < 0)
		;
	reboot(plan.action == INIT_ACTION_POWEROFF ? RB_POWER_OFF : RB_AUTOBOOT);
	/* Only reached when the kernel refuses: wait, never exit. */
	for (;;)
		pause();
}

static void on_crash(int sig)
{
	InitError e;

	init_fail(&e, INIT_FAIL_CRASH, -EFAULT, "signal %d (%s)", sig, strsignal(sig));
	emergency(&e);
}

int main(int argc, char **argv)
{
	static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa = { .sa_handler = on_crash, .sa_flags = SA_RESETHAND };
	InitConfig cfg;
	InitError e;
	InitOps ops;

	if (getpid() != 1) {
		fprintf(stderr, "slate-init: runs only as PID 1, the /init of Slate's initramfs\n");
		return 1;
	}
	/* Modes as written (tmp 01777); systemd gets the usual 022 back. */
	umask(0);
	for (size_t i = 0; i < ARRAY_SIZE(crash_signals); i++)
		sigaction(crash_signals[i], &sa, NULL);
	linux_init_ops(&linux_init, &ops);
	if (init_boot(&ops, &cfg, &e) >= 0) /* it returns only when the boot failed */
		init_fail(&e, INIT_FAIL_SWITCH_ROOT, -EIO, "the boot ended without systemd");
	emergency(&e);
}
