/* SPDX-License-Identifier: MIT */
/*
 * Kernel modules and kernel features. The initramfs carries the modules /usr and
 * ROOT need (slate initrd build writes them with a modules.dep of just those);
 * slate-init loads all of them, dependencies first, with finit_module().
 * Debian 13's are .ko.xz; the kernel decompresses them itself
 * (MODULE_INIT_COMPRESSED_FILE, CONFIG_MODULE_DECOMPRESS).
 *
 * Parameters: the kernel applies "module.param=value" from its command line only
 * to built-in code; for modules loaded later it is the loader's job (modprobe's,
 * here ours). So dm_verity.require_signatures=1 reaches dm-verity through
 * finit_module()'s parameter string, before the module can open any device.
 */
#include "init.h"
#include "slate/error.h"
#include "slate/kmod.h"
#include "slate/strutil.h"

int init_load_modules(const InitOps *ops, const char *cmdline, InitError *e)
{
	_cleanup_(sl_kmod_deps_freep) SlKmodDeps *deps = NULL;
	_cleanup_free_ char *dep_path = NULL, *text = NULL;
	_cleanup_free_ size_t *want = NULL, *order = NULL;
	char release[128];
	size_t len, n_order;
	int r;

	r = ops->kernel_release(ops->userdata, release, sizeof(release));
	if (r < 0)
		return init_fail(e, INIT_FAIL_MODULE, r, "uname: %s", strerror(-r));
	dep_path = sl_asprintf(INIT_MODULES_DIR "/%s/modules.dep", release);
	if (!dep_path)
		return init_fail(e, INIT_FAIL_MODULE, -ENOMEM, "out of memory");
	r = ops->read_file(ops->userdata, dep_path, SL_KMOD_DEP_MAX_BYTES, &text, &len);
	if (r == -ENOENT) {
		/* No modules for this kernel: fine if it has everything built in, which
		 * init_check_kernel() finds out. An initramfs for another kernel is not. */
		if (ops->exists(ops->userdata, INIT_MODULES_DIR))
			return init_fail(
				e, INIT_FAIL_MODULE, -ENOENT,
				"no %s/%s in the initramfs: it was built for another kernel",
				INIT_MODULES_DIR, release);
		init_info(ops, "no kernel modules in the initramfs");
		return 0;
	}
	if (r < 0)
		return init_fail(e, INIT_FAIL_MODULE, r, "reading %s: %s", dep_path, strerror(-r));
	r = sl_kmod_deps_parse(text, len, &deps);
	if (r < 0)
		return init_fail(e, INIT_FAIL_MODULE, r, "%s: %s", dep_path, sl_error_message(r));

	want = sl_malloc_array(deps->n_modules, sizeof(size_t));
	if (!want)
		return init_fail(e, INIT_FAIL_MODULE, -ENOMEM, "out of memory");
	for (size_t i = 0; i < deps->n_modules; i++)
		want[i] = i;
	r = sl_kmod_load_order(deps, want, deps->n_modules, &order, &n_order);
	if (r < 0)
		return init_fail(e, INIT_FAIL_MODULE, r, "%s: %s", dep_path, sl_error_message(r));

	for (size_t i = 0; i < n_order; i++) {
		const SlKmodModule *m = &deps->modules[order[i]];
		_cleanup_free_ char *path = NULL, *params = NULL;
		uint64_t t0 = ops->now_ms(ops->userdata);

		path = sl_asprintf(INIT_MODULES_DIR "/%s/%s", release, m->path);
		if (!path)
			return init_fail(e, INIT_FAIL_MODULE, -ENOMEM, "out of memory");
		r = sl_kmod_cmdline_params(cmdline, m->name, &params);
		if (r < 0)
			return init_fail(e, INIT_FAIL_MODULE, r, "out of memory");
		r = ops->load_module(ops->userdata, path, params);
		if (r == -EEXIST) {
			init_info(ops, "module %s was already loaded", m->name);
			continue;
		}
		if (r == -ENOENT)
			return init_fail(e, INIT_FAIL_MODULE, r,
					 "module %s: %s is missing from the initramfs", m->name,
					 path);
		if (r == -ENODEV) {
			/* What the module is for is not on this machine (efivarfs on a
			 * boot without UEFI): the module refuses, and whether the boot
			 * needed it is for the step that uses it to say. */
			init_info(ops, "module %s: nothing for it on this machine (ENODEV)",
				  m->name);
			continue;
		}
		if (r < 0)
			return init_fail(e, INIT_FAIL_MODULE, r, "loading module %s (%s): %s",
					 m->name, path, strerror(-r));
		init_info(ops, "loaded module %s%s%s%s (%llu ms)", m->name, *params ? " (" : "",
			  params, *params ? ")" : "",
			  (unsigned long long)(ops->now_ms(ops->userdata) - t0));
	}
	return 0;
}

/* Whether /proc/filesystems lists fstype ("nodev\toverlay", "\text4"). */
static bool has_filesystem(const char *text, const char *fstype)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n'), *tab = strchr(line, '\t');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (tab && tab < line + n) {
			size_t k = (size_t)(line + n - tab - 1);

			if (k == strlen(fstype) && strncmp(tab + 1, fstype, k) == 0)
				return true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

int init_check_kernel(const InitOps *ops, const InitConfig *cfg, SlDmOps *ret_dm, InitError *e)
{
	static const struct {
		const char *fstype, *module;
	} needed[] = { { "erofs", "erofs" }, { "overlay", "overlay" } };
	_cleanup_free_ char *fs = NULL;
	uint32_t version[3];
	size_t len;
	int r;

	r = ops->dm_open(ops->userdata, ret_dm);
	if (r < 0)
		return init_fail(
			e, INIT_FAIL_KERNEL_FEATURE, r,
			"no device-mapper (/dev/mapper/control: %s): module dm_mod is neither "
			"built in nor in the initramfs",
			strerror(-r));
	r = sl_dm_target_version(ret_dm, "verity", version);
	if (r < 0)
		return init_fail(e, INIT_FAIL_KERNEL_FEATURE, r,
				 "no dm-verity target in the kernel: module dm_verity is neither "
				 "built in nor in the initramfs");
	init_info(ops, "device-mapper verity target %u.%u.%u", version[0], version[1], version[2]);

	r = ops->read_file(ops->userdata, "/proc/filesystems", 1 << 20, &fs, &len);
	if (r < 0)
		return init_fail(e, INIT_FAIL_API_MOUNTS, r, "reading /proc/filesystems: %s",
				 strerror(-r));
	for (size_t i = 0; i < ARRAY_SIZE(needed); i++)
		if (!has_filesystem(fs, needed[i].fstype))
			return init_fail(e, INIT_FAIL_KERNEL_FEATURE, -ENODEV,
					 "the kernel has no %s file system: module %s is neither "
					 "built in nor in the initramfs",
					 needed[i].fstype, needed[i].module);
	if (!has_filesystem(fs, cfg->rootfstype))
		return init_fail(e, INIT_FAIL_KERNEL_FEATURE, -ENODEV,
				 "the kernel has no %s file system for ROOT (rootfstype=%s): its "
				 "module is neither built in nor in the initramfs",
				 cfg->rootfstype, cfg->rootfstype);
	return 0;
}
