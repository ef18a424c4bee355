/* SPDX-License-Identifier: MIT */
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/uuid.h"

/* Byte index of each hex pair in the text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
static const uint8_t text_pos[16] = { 0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34 };

int sl_uuid_parse(const char *s, SlUuid *ret)
{
	SlUuid u;

	if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return sl_errorf(-EBADMSG, "'%.64s' is not a UUID (expected 8-4-4-4-12 hex digits)",
				 s);
	for (int i = 0; i < 16; i++) {
		int hi = sl_unhex_digit(s[text_pos[i]]), lo = sl_unhex_digit(s[text_pos[i] + 1]);

		if (hi < 0 || lo < 0)
			return sl_errorf(-EBADMSG, "'%s' is not a UUID (bad hex digit)", s);
		u.b[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = u;
	return 0;
}

char *sl_uuid_format(const SlUuid *u, char out[static SL_UUID_STRING_MAX])
{
	static const char digits[] = "0123456789abcdef";
	char *p = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = digits[u->b[i] >> 4];
		*p++ = digits[u->b[i] & 15];
	}
	*p = 0;
	return out;
}

bool sl_uuid_is_null(const SlUuid *u)
{
	for (int i = 0; i < 16; i++)
		if (u->b[i])
			return false;
	return true;
}

bool sl_uuid_equal(const SlUuid *a, const SlUuid *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

int sl_uuid_random(SlUuid *ret)
{
	SlUuid u;
	int r = sl_random_bytes(u.b, sizeof(u.b));

	if (r < 0)
		return r;
	u.b[6] = (uint8_t)((u.b[6] & 0x0f) | 0x40); /* version 4 */
	u.b[8] = (uint8_t)((u.b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	*ret = u;
	return 0;
}

/* UEFI spec Appendix A: Data1 (u32), Data2 (u16), Data3 (u16) little-endian, Data4[8] as is. */
void sl_uuid_to_guid(const SlUuid *u, uint8_t guid[static 16])
{
	static const uint8_t map[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

	for (int i = 0; i < 16; i++)
		guid[i] = u->b[map[i]];
}

void sl_uuid_from_guid(const uint8_t guid[static 16], SlUuid *ret)
{
	/* The permutation is its own inverse. */
	sl_uuid_to_guid((const SlUuid *)guid, ret->b);
}
