/* SPDX-License-Identifier: MIT */
/*
 * Slate's initramfs: slate-init as /init, the kernel modules /usr needs with
 * their dependencies (from the kernel's modules.dep), optionally the root-hash
 * signature, as one newc cpio, plain or zstd-compressed (`slate initrd build`).
 *
 * Deterministic: the same inputs give the same bytes (lib/cpio sorts entries and
 * fixes owners; every timestamp is the caller's mtime, SOURCE_DATE_EPOCH).
 *
 * Layout (what slate-init expects, init/init.h):
 *   init                                   slate-init, 0755
 *   dev/console                            character device 5:1
 *   proc/ sys/ dev/ run/ sysroot/          mount points
 *   lib/modules/<kver>/modules.dep         just the modules below, in load order
 *   lib/modules/<kver>/kernel/...ko.xz     as shipped (the kernel decompresses them)
 *   slate/usr.roothash.p7s                 the root-hash signature, when given
 *
 * Errors: -ENOENT a module that is neither in modules.dep nor built in (named),
 * -EINVAL an /init that is not a static ELF program, -E2BIG over a cap, -EBADMSG
 * malformed modules.dep, and file errors as they come (the detail message names
 * the file).
 */
#pragma once

#include "slate/macros.h"

#define SL_INITRD_MODULE_MAX (64u << 20) /* one .ko file */
#define SL_INITRD_INIT_MAX   (64u << 20)
#define SL_INITRD_SIG_MAX    (64u << 10)
#define SL_INITRD_SIG_PATH   "slate/usr.roothash.p7s"

typedef enum SlInitrdCompress {
	SL_INITRD_COMPRESS_NONE,
	SL_INITRD_COMPRESS_ZSTD,
} SlInitrdCompress;

typedef struct SlInitrdOptions {
	const char *modules_dir;    /* the kernel's /lib/modules/<kver> */
	const char *kernel_version; /* NULL: the last component of modules_dir */
	const char *const *modules; /* names as modprobe takes them ("dm-verity") */
	size_t n_modules;
	const char *init;	  /* the slate-init binary */
	const char *roothash_sig; /* NULL or a DER PKCS#7 file */
	uint32_t mtime;
	SlInitrdCompress compress;
} SlInitrdOptions;

typedef struct SlInitrdResult {
	char **modules; /* owned: names included, in load order */
	size_t n_modules;
	char **builtin; /* owned: names asked for that the kernel has built in */
	size_t n_builtin;
	uint64_t cpio_size; /* before compression */
	uint8_t *data;	    /* owned: the archive as it goes on disk */
	size_t size;
} SlInitrdResult;

int sl_initrd_build(const SlInitrdOptions *o, SlInitrdResult *ret) _wur_;
void sl_initrd_result_done(SlInitrdResult *r);

/*
 * Whether buf holds an ELF executable that needs nothing at run time: an ELF64
 * (or ELF32) ET_EXEC or ET_DYN program without PT_INTERP and without DT_NEEDED
 * entries. 0 when it is static; -EBADMSG not ELF or malformed (every offset is
 * checked), -EINVAL dynamically linked (the detail message says why).
 */
int sl_initrd_check_static(const uint8_t *buf, size_t len) _wur_;
