/* SPDX-License-Identifier: MIT */
/*
 * File and device I/O helpers. Every fd opened here has O_CLOEXEC.
 */
#pragma once

#include <sys/types.h>

#include "slate/macros.h"

/*
 * Read a whole regular file (or stdin for "-") of at most max bytes into a new
 * buffer (NUL-terminated for convenience, the NUL not counted). -E2BIG over max.
 * Caller owns *ret_buf.
 */
int sl_read_file(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len) _wur_;

/*
 * Replace path with the given bytes atomically: write a temporary file beside it,
 * fsync, rename over, fsync the directory. The file gets mode.
 */
int sl_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode) _wur_;

/* pread/pwrite that loop over short transfers and EINTR. A read that hits end of
 * file early fails with -ENODATA. */
int sl_pread_all(int fd, void *buf, size_t len, uint64_t off) _wur_;
int sl_pwrite_all(int fd, const void *buf, size_t len, uint64_t off) _wur_;

/* Size in bytes of a regular file or a block device. */
int sl_fd_size(int fd, uint64_t *ret) _wur_;

/* Fill buf from getrandom(), looping as needed. */
int sl_random_bytes(void *buf, size_t len) _wur_;
