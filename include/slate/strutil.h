/* SPDX-License-Identifier: MIT */
/* Strict parsing of numbers and sizes from command lines and config files. */
#pragma once

#include "slate/macros.h"

/*
 * Unsigned decimal (or 0x hex) integer, the whole string, no sign, no spaces.
 * -EBADMSG when not a number, -ERANGE above max.
 */
int sl_parse_u64(const char *s, uint64_t max, uint64_t *ret) _wur_;

/*
 * A size in bytes with an optional binary suffix: K, M, G, T (also KiB, MiB, GiB,
 * TiB; case-insensitive), e.g. "4096", "64M", "1GiB". -EBADMSG / -ERANGE as above.
 */
int sl_parse_size(const char *s, uint64_t *ret) _wur_;

/* Format a size for humans ("1.5 GiB") into out. Returns out. */
char *sl_format_size(uint64_t bytes, char *out, size_t outlen);

/* Duplicate a string or die trying (-ENOMEM is handled by returning NULL). */
char *sl_strdup(const char *s);

/* A newly allocated formatted string; NULL when out of memory. */
char *sl_asprintf(const char *fmt, ...) _printf_(1, 2);
