/* SPDX-License-Identifier: MIT */
/* Hexadecimal encoding and strict decoding. */
#pragma once

#include "slate/macros.h"

/* The value of one hex digit (either case), or -1 for any other character. */
int sl_unhex_digit(char c);

/* Write 2*len lowercase hex digits and a NUL into out (room for 2*len+1 bytes). */
void sl_hex_encode(const void *data, size_t len, char *out);

/* Allocating variant; NULL when out of memory. Caller owns the string. */
char *sl_hex_encode_alloc(const void *data, size_t len);

/*
 * Decode exactly strlen(s)/2 bytes of hex (either case) into out (capacity cap).
 * -EBADMSG on odd length or a non-hex character, -E2BIG if it does not fit.
 * *ret_len gets the number of bytes written. Nothing is written to *ret_len on failure.
 */
int sl_hex_decode(const char *s, void *out, size_t cap, size_t *ret_len) _wur_;
