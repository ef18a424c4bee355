/* SPDX-License-Identifier: MIT */
/*
 * Kernel modules: the dependency list a kernel ships (modules.dep, written by
 * depmod), the list of built-in modules (modules.builtin), the order to load a
 * set of modules in, and module parameters from the kernel command line.
 *
 * Used on the build host (`slate initrd build` picks modules and their
 * dependencies) and by slate-init at boot (it loads them with finit_module()).
 * No I/O: every function takes text the caller has read.
 *
 * Module names compare with '-' and '_' equal ("dm-verity" is "dm_verity"), as
 * the kernel and kmod compare them.
 *
 * Errors: -EBADMSG malformed modules.dep (named line), -E2BIG over a cap,
 * -ENOENT no such module, -ELOOP a dependency cycle, -ENOMEM.
 */
#pragma once

#include "slate/macros.h"

#define SL_KMOD_DEP_MAX_BYTES (64u << 20) /* modules.dep of a distribution kernel: ~1 MB */
#define SL_KMOD_MAX_MODULES   100000
#define SL_KMOD_MAX_DEPS      4096 /* per module */

typedef struct SlKmodModule {
	char *name;   /* owned; normalized: '-' as '_', no directory, no .ko[.xz|.zst|.gz] */
	char *path;   /* owned; as written in modules.dep (relative to the modules directory) */
	size_t *deps; /* owned; indexes into SlKmodDeps.modules, in modules.dep order */
	size_t n_deps;
} SlKmodModule;

typedef struct SlKmodDeps {
	SlKmodModule *modules; /* owned; in file order */
	size_t n_modules;
} SlKmodDeps;

/*
 * Parse modules.dep: one line per module, "PATH: DEP-PATH DEP-PATH ...". Every
 * dependency must itself have a line. *ret is owned by the caller
 * (sl_kmod_deps_free()).
 */
int sl_kmod_deps_parse(const char *text, size_t len, SlKmodDeps **ret) _wur_;
void sl_kmod_deps_free(SlKmodDeps *d);
SL_DEFINE_CLEANUP(SlKmodDeps *, sl_kmod_deps_free)

/* Index of module name (either spelling) in d, or -ENOENT. */
int sl_kmod_find(const SlKmodDeps *d, const char *name) _wur_;

/*
 * The order to load the modules at indexes want[0..n) in: every module after all
 * of its dependencies, each module once. Among modules that do not depend on
 * each other, the order of want (and of each module's modules.dep line) is kept,
 * so the result is the same for the same input. *ret_order (caller owns) holds
 * indexes into d. -ELOOP when the dependencies form a cycle.
 */
int sl_kmod_load_order(const SlKmodDeps *d, const size_t *want, size_t n, size_t **ret_order,
		       size_t *ret_n) _wur_;

/*
 * Whether name is built into the kernel, from the text of modules.builtin (one
 * path per line, "kernel/drivers/nvme/host/nvme-core.ko").
 */
bool sl_kmod_builtin(const char *text, size_t len, const char *name);

/* The normalized module name of a path ("kernel/drivers/md/dm-verity.ko.xz" -> "dm_verity")
 * into out (cap bytes). -EBADMSG when path does not end in .ko[.xz|.zst|.gz], -E2BIG. */
int sl_kmod_name_from_path(const char *path, char *out, size_t cap) _wur_;

/* True when a and b name the same module ('-' and '_' are equal). */
bool sl_kmod_name_equal(const char *a, const char *b);

/*
 * The parameters for module from kernel command line words "module.param=value"
 * (SPEC: the kernel applies those itself only to built-in code; for a module
 * loaded later, the loader must pass them), joined as finit_module() takes them:
 * "param=value param2". Values holding white space are quoted again. *ret is ""
 * when there are none; the caller owns it.
 */
int sl_kmod_cmdline_params(const char *cmdline, const char *module, char **ret) _wur_;
