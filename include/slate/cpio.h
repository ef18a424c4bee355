/* SPDX-License-Identifier: MIT */
/*
 * A writer for "newc" cpio archives (SVR4 without CRC, magic 070701), the format
 * the kernel unpacks into its initial root file system (Documentation/
 * driver-api/early-userspace/buffer-format.rst).
 *
 * The output depends only on the entries added, never on the order they were
 * added in or on the host: entries are written sorted by path (bytewise, parents
 * first), owned by 0:0, with one mtime, inode numbers counted from 0 in that order,
 * no device numbers, directories with nlink 2 + their subdirectories, and the
 * archive padded to 512 bytes. That is exactly what
 *   find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --reproducible -R 0:0
 * writes for the same tree (GNU cpio 2.13; tests/compat/initrd.sh compares).
 *
 * Paths are relative ("init", "usr/lib/modules"), without "." or ".." parts,
 * empty parts or a trailing '/'. Missing parent directories are added with mode
 * 0755.
 *
 * Errors: -EINVAL bad path or mode, -EEXIST a path added twice (adding the same
 * directory twice is fine), -ENOTDIR a parent that is not a directory,
 * -E2BIG over a cap, -ENOMEM; the write callback's own negative errno.
 */
#pragma once

#include <sys/types.h>

#include "slate/macros.h"

#define SL_CPIO_PATH_MAX    4095
#define SL_CPIO_FILE_MAX    UINT32_MAX /* newc sizes are 8 hex digits */
#define SL_CPIO_ENTRIES_MAX (1u << 20)

typedef struct SlCpio SlCpio;

/* An empty archive whose entries all get mtime (seconds since the epoch). NULL
 * when out of memory. */
SlCpio *sl_cpio_new(uint32_t mtime);
void sl_cpio_free(SlCpio *c);
SL_DEFINE_CLEANUP(SlCpio *, sl_cpio_free)

/* perm: permission bits only (07777). */
int sl_cpio_add_dir(SlCpio *c, const char *path, mode_t perm) _wur_;
/* Copies data. */
int sl_cpio_add_file(SlCpio *c, const char *path, mode_t perm, const void *data, size_t len) _wur_;
int sl_cpio_add_symlink(SlCpio *c, const char *path, const char *target) _wur_;
/* A character device node, e.g. dev/console 5:1. */
int sl_cpio_add_chardev(SlCpio *c, const char *path, mode_t perm, unsigned major, unsigned minor)
	_wur_;

/* Number of entries (including added parents). */
size_t sl_cpio_count(const SlCpio *c);

/* Receives the archive in pieces; returns 0 or a negative errno. */
typedef int (*SlCpioWriteFn)(void *userdata, const void *buf, size_t len);

/* Write the whole archive, trailer and padding included. */
int sl_cpio_write(const SlCpio *c, SlCpioWriteFn write, void *userdata) _wur_;
