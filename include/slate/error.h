/* SPDX-License-Identifier: MIT */
/*
 * Errors: negative errno values with fixed meanings, plus a thread-local detail
 * message so the tool can say what was wrong and where.
 *
 * Library code never prints. When it fails for a reason a user can act on, it
 * records the reason with sl_errorf() and returns the code; the tool prints it
 * once, at the top, through sl_error_message(). Codes used across Slate:
 *
 *   -EBADMSG       malformed input (bad magic, field out of range, truncated)
 *   -EUCLEAN       digest mismatch (data does not match its hash)
 *   -EKEYREJECTED  a signature does not verify
 *   -ENOKEY        no trusted key / no signature where one is required
 *   -ESTALE        rollback refused
 *   -EOPNOTSUPP    unknown version, algorithm or feature
 *   -E2BIG         over a size cap
 *   -ERANGE        a number out of its allowed range (options, config)
 *   -EINVAL        invalid argument from the caller (a programmer or usage error)
 *   -EIO, -ENOENT, ... system errors as the kernel reports them
 */
#pragma once

#include "slate/macros.h"

/*
 * Record a detail message for error r (negative errno) and return r. The message
 * should name the field or offset that was wrong, e.g.
 *   return sl_errorf(-EBADMSG, "superblock: salt size %u exceeds 256", n);
 */
int sl_errorf(int r, const char *fmt, ...) _printf_(2, 3);

/* Prefix the current detail message ("partition 3: " + old message). Returns r. */
int sl_error_prefix(int r, const char *fmt, ...) _printf_(2, 3);

/*
 * The message for r: the recorded detail if it was recorded for this same r,
 * else strerror(-r). Points into thread-local storage; valid until the next call.
 */
const char *sl_error_message(int r);

/* Forget any recorded detail (call before an operation whose errors you report). */
void sl_error_clear(void);
