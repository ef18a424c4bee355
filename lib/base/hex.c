/* SPDX-License-Identifier: MIT */
#include "slate/error.h"
#include "slate/hex.h"

static const char digits[] = "0123456789abcdef";

void sl_hex_encode(const void *data, size_t len, char *out)
{
	const uint8_t *b = data;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * len] = 0;
}

char *sl_hex_encode_alloc(const void *data, size_t len)
{
	char *s = sl_malloc_array(len + 1, 2);

	if (s)
		sl_hex_encode(data, len, s);
	return s;
}

int sl_unhex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int sl_hex_decode(const char *s, void *out, size_t cap, size_t *ret_len)
{
	size_t n = strlen(s);
	uint8_t *o = out;

	if (n % 2)
		return sl_errorf(-EBADMSG, "odd number of hex digits (%zu)", n);
	if (n / 2 > cap)
		return sl_errorf(-E2BIG, "hex string of %zu bytes exceeds %zu", n / 2, cap);
	for (size_t i = 0; i < n; i += 2) {
		int hi = sl_unhex_digit(s[i]), lo = sl_unhex_digit(s[i + 1]);

		if (hi < 0 || lo < 0)
			return sl_errorf(-EBADMSG, "invalid hex digit at position %zu",
					 hi < 0 ? i : i + 1);
		o[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*ret_len = n / 2;
	return 0;
}
