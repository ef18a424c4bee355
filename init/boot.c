/* SPDX-License-Identifier: MIT */
/*
 * The boot, step by step (README "slate-init"). Each step logs what it did; the
 * first one that fails ends the boot with an InitError for the emergency path.
 * Nothing here touches the system except through InitOps.
 */
#include <stdarg.h>
#include <sys/mount.h>

#include "init.h"
#include "slate/error.h"
#include "slate/kcmdline.h"

void init_log(const InitOps *ops, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ops->log(ops->userdata, level, line);
}

/* The API file systems every later step reads: /proc, /sys, /dev (devtmpfs: the
 * kernel makes the device nodes, no udev needed), /run (handed to systemd). */
static int mount_api(const InitOps *ops, InitError *e)
{
	static const struct {
		const char *source, *target, *fstype;
		unsigned long flags;
		const char *data;
	} api[] = {
		{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
		{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
		{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
		{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(api); i++) {
		int r = ops->mkdir(ops->userdata, api[i].target, 0755);

		if (r < 0 && r != -EEXIST)
			return init_fail(e, INIT_FAIL_API_MOUNTS, r, "mkdir %s: %s", api[i].target,
					 strerror(-r));
		r = ops->mount(ops->userdata, api[i].source, api[i].target, api[i].fstype,
			       api[i].flags, api[i].data);
		/* -EBUSY: already there (a kernel that mounts devtmpfs itself). */
		if (r < 0 && r != -EBUSY)
			return init_fail(e, INIT_FAIL_API_MOUNTS, r, "mounting %s on %s: %s",
					 api[i].fstype, api[i].target, strerror(-r));
	}
	init_info(ops, "mounted /proc, /sys, /dev, /run (%llu ms after the kernel started)",
		  (unsigned long long)ops->now_ms(ops->userdata));
	return 0;
}

/* Everything from the partitions to the hand-over (cfg parsed, modules loaded). */
static int boot_usr(const InitOps *ops, const InitConfig *cfg, InitMeasure *measure, InitError *e)
{
	InitDisks disks = { 0 };
	InitVerity verity = { 0 };
	InitFound found;
	SlDmOps dm;
	int r;

	r = init_check_kernel(ops, cfg, &dm, e);
	if (r < 0)
		return r;
	r = init_wait_partitions(ops, cfg, &disks, &found, e);
	if (r >= 0)
		r = init_setup_verity(ops, &dm, cfg, &found, &verity, e);
	if (r >= 0)
		r = init_mount_root(ops, cfg, found.root, e);
	init_disks_done(&disks);
	/* slate-init's own reads of /usr happen here, while a corrupted block fails
	 * the read; only then does the configured corruption mode take over. */
	if (r >= 0)
		r = init_mount_usr_and_etc(ops, &dm, e);
	if (r >= 0)
		r = init_verity_arm(ops, &dm, cfg, &verity, e);
	init_verity_done(&verity);
	if (r < 0)
		return r;

	/* The last measurement of the initrd, just before systemd takes over. */
	init_measure_phase(ops, measure, INIT_PHASE_LEAVE);
	init_measure_done(ops, measure);
	init_info(ops, "switching root to %s and starting %s (%llu ms after the kernel started)",
		  INIT_SYSROOT, INIT_SYSTEMD, (unsigned long long)ops->now_ms(ops->userdata));
	r = ops->switch_root(ops->userdata, INIT_SYSROOT, INIT_SYSTEMD);
	return init_fail(e, INIT_FAIL_SWITCH_ROOT, r, "switching to %s and executing %s: %s",
			 INIT_SYSROOT, INIT_SYSTEMD, strerror(-r));
}

int init_boot(const InitOps *ops, InitConfig *cfg, InitError *e)
{
	_cleanup_free_ char *cmdline = NULL;
	InitMeasure measure = { 0 };
	char desc[512];
	size_t len;
	int r;

	init_config_defaults(cfg);
	r = mount_api(ops, e);
	if (r < 0)
		return r;
	r = ops->read_file(ops->userdata, "/proc/cmdline", SL_KCMDLINE_MAX, &cmdline, &len);
	if (r < 0)
		return init_fail(e, INIT_FAIL_API_MOUNTS, r, "reading /proc/cmdline: %s",
				 strerror(-r));
	/* One trailing newline, and nothing that could hide a word from us. */
	if (len && cmdline[len - 1] == '\n')
		cmdline[--len] = 0;
	if (strlen(cmdline) != len)
		return init_fail(e, INIT_FAIL_CMDLINE, -EBADMSG, "the command line has a NUL byte");
	r = init_cmdline_parse(cmdline, cfg);
	if (r < 0 && ops->configured)
		ops->configured(ops->userdata, cfg); /* slate.emergency= may have parsed */
	if (r < 0)
		return init_fail(e, INIT_FAIL_CMDLINE, r, "kernel command line: %s",
				 sl_error_message(r));
	if (!cfg->have_usrhash)
		return init_fail(
			e, INIT_FAIL_CMDLINE, -ENOKEY,
			"kernel command line: usrhash= is missing (the root hash of /usr)");
	if (ops->configured)
		ops->configured(ops->userdata, cfg);
	init_config_describe(cfg, desc, sizeof(desc));
	init_info(ops, "%s", desc);

	r = init_load_modules(ops, cmdline, e);
	if (r < 0)
		return r;
	/* systemd-pcrphase-initrd.service's first word, as early as the TPM (built
	 * in) and efivarfs (a module) allow. */
	init_measure_phase(ops, &measure, INIT_PHASE_ENTER);
	r = boot_usr(ops, cfg, &measure, e);
	init_measure_done(ops, &measure);
	return r;
}
