/* SPDX-License-Identifier: MIT */
/*
 * UUIDs in two byte orders.
 *
 * SlUuid holds the 16 bytes in text order ("12345678-9abc-..." -> 12 34 56 78 9a bc ...),
 * as libuuid and the verity superblock store them. GPT and EFI store GUIDs
 * mixed-endian: the first three fields little-endian, the last eight bytes as written
 * (SPEC.md §4). Convert with sl_uuid_to_guid()/sl_uuid_from_guid() at the disk boundary.
 */
#pragma once

#include "slate/macros.h"

typedef struct SlUuid {
	uint8_t b[16];
} SlUuid;

#define SL_UUID_STRING_MAX 37 /* 36 characters + NUL */

/* Parse canonical 8-4-4-4-12 text, either case. -EBADMSG on anything else. */
int sl_uuid_parse(const char *s, SlUuid *ret) _wur_;

/* Lowercase canonical text into out (SL_UUID_STRING_MAX bytes). Returns out. */
char *sl_uuid_format(const SlUuid *u, char out[static SL_UUID_STRING_MAX]);

bool sl_uuid_is_null(const SlUuid *u);
bool sl_uuid_equal(const SlUuid *a, const SlUuid *b);

/* Random version-4 UUID from getrandom(). */
int sl_uuid_random(SlUuid *ret) _wur_;

/* Text order <-> mixed-endian GUID bytes as stored in GPT / EFI structures. */
void sl_uuid_to_guid(const SlUuid *u, uint8_t guid[static 16]);
void sl_uuid_from_guid(const uint8_t guid[static 16], SlUuid *ret);
