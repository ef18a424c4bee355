/* SPDX-License-Identifier: MIT */
/*
 * The one emergency path. Whatever fails, the console gets one line: what failed
 * (with the device, file or parameter), what that means for the machine, and
 * what happens next. Then the machine reboots after a delay, so that
 * systemd-boot's boot counting can fall back to the previous image, or powers
 * off (slate.emergency=halt). There is no shell: an initramfs shell on a node
 * is an unverified way in.
 */
#include <stdarg.h>

#include "init.h"

int init_fail(InitError *e, InitFailure failure, int err, const char *fmt, ...)
{
	va_list ap;

	e->failure = failure;
	e->err = err < 0 ? err : -EIO;
	va_start(ap, fmt);
	vsnprintf(e->what, sizeof(e->what), fmt, ap);
	va_end(ap);
	return e->err;
}

static const char *const meanings[_INIT_FAIL_MAX] = {
	[INIT_FAIL_API_MOUNTS] = "the kernel cannot provide /proc, /sys or /dev, so nothing else "
				 "can work",
	[INIT_FAIL_CMDLINE] = "the boot entry's command line is wrong; it comes from the signed "
			      "UKI, so the image build must be fixed",
	[INIT_FAIL_MODULE] = "a kernel module in the initramfs does not fit this kernel (an "
			     "initramfs built for another kernel, or a damaged one)",
	[INIT_FAIL_KERNEL_FEATURE] = "the initramfs lacks a kernel module that /usr needs; "
				     "rebuild it with slate initrd build --module NAME",
	[INIT_FAIL_USR_NOT_FOUND] =
		"no disk holds the /usr release this boot entry was built "
		"for (usrhash=): a wrong disk, or an update that did not finish",
	[INIT_FAIL_USR_VERITY_MISSING] = "the hash tree of /usr is missing, so /usr cannot be "
					 "verified; booting unverified code is refused",
	[INIT_FAIL_USR_DATA_MISSING] = "the /usr data partition of this release is missing",
	[INIT_FAIL_PARTITION_AMBIGUOUS] = "two partitions claim the same identity; slate-init "
					  "refuses to guess which one to trust",
	[INIT_FAIL_VERITY_SUPERBLOCK] = "the /usr hash tree partition is damaged or holds no "
					"dm-verity tree for this /usr",
	[INIT_FAIL_SIGNATURE_READ] = "the root-hash signature shipped with this release cannot be "
				     "read",
	[INIT_FAIL_SIGNATURE_REJECTED] = "the root-hash signature does not match: this /usr is "
					 "not the release that was signed",
	[INIT_FAIL_SIGNATURE_UNTRUSTED] = "the root-hash signature is not made by a key the "
					  "kernel trusts (the Secure Boot db)",
	[INIT_FAIL_SIGNATURE_REQUIRED] = "the kernel opens only signed /usr images "
					 "(dm_verity.require_signatures=1) and this release has no "
					 "signature",
	[INIT_FAIL_VERITY_DEVICE] = "the kernel refused the dm-verity device for /usr (its reason "
				    "is in the device-mapper line above)",
	[INIT_FAIL_USR_MOUNT] = "the verified /usr cannot be mounted: it is corrupted, or not an "
				"EROFS image",
	[INIT_FAIL_USR_CORRUPT] = "a block of the /usr partition changed after the release was "
				  "signed (tampering or a damaged disk); its code is not run, and "
				  "booting the other release is up to systemd-boot's boot counting",
	[INIT_FAIL_ROOT_NOT_FOUND] = "there is no ROOT partition: the disk layout is not Slate's, "
				     "or root= names a device that is not there",
	[INIT_FAIL_ROOT_MOUNT] = "ROOT cannot be mounted read-write; its file system may need "
				 "repair",
	[INIT_FAIL_ROOT_PREPARE] = "ROOT cannot be set up for the system (read-only or full?)",
	[INIT_FAIL_ETC_OVERLAY] = "/etc cannot be assembled from /usr/share/factory/etc and ROOT",
	[INIT_FAIL_SWITCH_ROOT] = "the hand-over to systemd failed",
	[INIT_FAIL_CRASH] = "slate-init itself crashed, which is a bug",
};

const char *init_failure_meaning(InitFailure f)
{
	if ((unsigned)f >= _INIT_FAIL_MAX || !meanings[f])
		return "the boot cannot go on";
	return meanings[f];
}

void init_emergency_plan(const InitError *e, const InitConfig *cfg, InitEmergencyPlan *ret)
{
	InitConfig defaults;
	char action[96];

	if (!cfg) {
		init_config_defaults(&defaults);
		cfg = &defaults;
	}
	if (cfg->emergency == INIT_EMERGENCY_HALT) {
		ret->action = INIT_ACTION_POWEROFF;
		ret->delay_s = 0;
		snprintf(action, sizeof(action), "powering off (slate.emergency=halt)");
	} else {
		ret->action = INIT_ACTION_REBOOT;
		ret->delay_s = cfg->emergency_delay_s;
		snprintf(action, sizeof(action), "rebooting in %u s (slate.emergency=reboot)",
			 ret->delay_s);
	}
	snprintf(ret->line, sizeof(ret->line), "slate-init: FAILED: %s: %s; %s", e->what,
		 init_failure_meaning(e->failure), action);
}
