/* SPDX-License-Identifier: MIT */
/*
 * Explicit-endian loads and stores, and a bounded reader for decoding untrusted
 * bytes (STYLE.md: "read raw bytes only through a bounded reader").
 *
 * The reader never reads past its buffer: every getter returns false when the
 * bytes are not there, and the reader stays failed from then on, so a decoder
 * may read a whole header and check sl_reader_ok() once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t sl_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t sl_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t sl_le64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)sl_le32(b) | (uint64_t)sl_le32(b + 4) << 32;
}

static inline uint16_t sl_be16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t sl_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static inline uint64_t sl_be64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)sl_be32(b) << 32 | (uint64_t)sl_be32(b + 4);
}

static inline void sl_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void sl_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline void sl_put_le64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline void sl_put_be16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void sl_put_be32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline void sl_put_be64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* A bounded cursor over borrowed bytes. */
typedef struct SlReader {
	const uint8_t *data; /* borrowed */
	size_t len;
	size_t pos;
	bool failed;
} SlReader;

static inline SlReader sl_reader(const void *data, size_t len)
{
	return (SlReader){ .data = data, .len = len };
}

static inline bool sl_reader_ok(const SlReader *r)
{
	return !r->failed;
}

static inline size_t sl_reader_left(const SlReader *r)
{
	return r->failed ? 0 : r->len - r->pos;
}

/* Borrow n bytes at the cursor and advance; NULL (and failed) if fewer remain. */
static inline const uint8_t *sl_reader_take(SlReader *r, size_t n)
{
	const uint8_t *p;

	if (r->failed || n > r->len - r->pos) {
		r->failed = true;
		return NULL;
	}
	p = r->data + r->pos;
	r->pos += n;
	return p;
}

static inline bool sl_reader_skip(SlReader *r, size_t n)
{
	return sl_reader_take(r, n) != NULL;
}

static inline bool sl_reader_seek(SlReader *r, size_t pos)
{
	if (r->failed || pos > r->len) {
		r->failed = true;
		return false;
	}
	r->pos = pos;
	return true;
}

static inline bool sl_reader_copy(SlReader *r, void *out, size_t n)
{
	const uint8_t *p = sl_reader_take(r, n);

	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
	return p != NULL;
}

#define SL_READER_GETTER(name, type, conv)                          \
	static inline type sl_reader_##name(SlReader *r)            \
	{                                                           \
		const uint8_t *p = sl_reader_take(r, sizeof(type)); \
		return p ? conv(p) : 0;                             \
	}

static inline uint8_t sl_u8_(const void *p)
{
	return *(const uint8_t *)p;
}

SL_READER_GETTER(u8, uint8_t, sl_u8_)
SL_READER_GETTER(le16, uint16_t, sl_le16)
SL_READER_GETTER(le32, uint32_t, sl_le32)
SL_READER_GETTER(le64, uint64_t, sl_le64)
SL_READER_GETTER(be16, uint16_t, sl_be16)
SL_READER_GETTER(be32, uint32_t, sl_be32)
SL_READER_GETTER(be64, uint64_t, sl_be64)

/* True when [off, off+len) lies inside [0, total), without overflow. */
static inline bool sl_range_ok(uint64_t off, uint64_t len, uint64_t total)
{
	return off <= total && len <= total - off;
}
