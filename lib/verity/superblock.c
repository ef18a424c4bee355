/* SPDX-License-Identifier: MIT */
/*
 * The verity superblock: cryptsetup's on-disk header (SPEC.md §1.2), version 1,
 * 512 bytes, little-endian. It is not authenticated (only the root hash is), so
 * it is decoded like any untrusted input: length, signature, version, then each
 * field against its range, then the whole through sl_verity_params_validate().
 * No OpenSSL: slate-init links this file.
 */
#include <inttypes.h>

#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/verity.h"

static const uint8_t signature[8] = { 'v', 'e', 'r', 'i', 't', 'y', 0, 0 };

/* Field offsets (cryptsetup lib/verity/verity.c, struct verity_sb). */
enum {
	SB_SIGNATURE = 0,
	SB_VERSION = 8,
	SB_HASH_TYPE = 12,
	SB_UUID = 16,
	SB_ALGORITHM = 32,
	SB_DATA_BLOCK_SIZE = 64,
	SB_HASH_BLOCK_SIZE = 68,
	SB_DATA_BLOCKS = 72,
	SB_SALT_SIZE = 80,
	SB_PAD1 = 82,  /* 6 bytes */
	SB_SALT = 88,  /* 256 bytes */
	SB_PAD2 = 344, /* 168 bytes, to 512 */
};

/* The first non-zero byte in [from, to), or -1. */
static int first_nonzero(const uint8_t *b, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (b[i])
			return (int)i;
	return -1;
}

int sl_verity_superblock_decode(const void *buf, size_t len, SlVerityParams *ret)
{
	SlVerityParams p = { 0 };
	const uint8_t *b = buf;
	SlReader rd;
	uint32_t version;
	int bad, r;

	if (len < SL_VERITY_SUPERBLOCK_SIZE)
		return sl_errorf(-EBADMSG, "verity superblock truncated: %zu of %u bytes", len,
				 SL_VERITY_SUPERBLOCK_SIZE);
	rd = sl_reader(buf, SL_VERITY_SUPERBLOCK_SIZE);
	if (memcmp(sl_reader_take(&rd, sizeof(signature)), signature, sizeof(signature)) != 0)
		return sl_errorf(-EBADMSG, "no verity superblock (bad signature)");
	version = sl_reader_le32(&rd);
	if (version != 1)
		return sl_errorf(-EOPNOTSUPP, "unsupported verity superblock version %" PRIu32,
				 version);
	p.hash_type = sl_reader_le32(&rd);
	if (p.hash_type > 1)
		return sl_errorf(-EOPNOTSUPP, "superblock: unsupported hash type %" PRIu32,
				 p.hash_type);
	sl_reader_copy(&rd, p.uuid.b, sizeof(p.uuid.b));
	sl_reader_copy(&rd, p.algorithm, sizeof(p.algorithm));
	if (!memchr(p.algorithm, 0, sizeof(p.algorithm)))
		return sl_errorf(-EBADMSG, "superblock: algorithm name is not terminated");
	bad = first_nonzero((const uint8_t *)p.algorithm, strlen(p.algorithm) + 1,
			    sizeof(p.algorithm));
	if (bad >= 0)
		return sl_errorf(-EBADMSG,
				 "superblock: garbage after the algorithm name at byte %d",
				 SB_ALGORITHM + bad);
	if (!sl_verity_digest_size(p.algorithm))
		return sl_errorf(
			-EOPNOTSUPP,
			"superblock: unsupported hash algorithm '%s' (sha1, sha256, sha512)",
			p.algorithm);
	p.data_block_size = sl_reader_le32(&rd);
	p.hash_block_size = sl_reader_le32(&rd);
	p.data_blocks = sl_reader_le64(&rd);
	p.salt_size = sl_reader_le16(&rd);
	if (!sl_reader_ok(&rd))
		return sl_errorf(-EBADMSG, "verity superblock truncated");
	if (p.salt_size > SL_VERITY_SALT_MAX)
		return sl_errorf(-EBADMSG, "superblock: salt size %u exceeds %u bytes", p.salt_size,
				 SL_VERITY_SALT_MAX);
	memcpy(p.salt, b + SB_SALT, p.salt_size);

	/* Reserved bytes and the unused end of the salt are zero in every superblock
	 * cryptsetup writes; anything else is damage (or someone hiding bytes). */
	bad = first_nonzero(b, SB_PAD1, SB_SALT);
	if (bad < 0)
		bad = first_nonzero(b, SB_SALT + p.salt_size, SL_VERITY_SUPERBLOCK_SIZE);
	if (bad >= 0)
		return sl_errorf(-EBADMSG, "superblock: reserved byte %d is not zero", bad);

	p.superblock = true;
	r = sl_verity_params_validate(&p);
	if (r < 0)
		return sl_error_prefix(r, "superblock: ");
	*ret = p;
	return 0;
}

int sl_verity_superblock_encode(const SlVerityParams *p,
				uint8_t out[static SL_VERITY_SUPERBLOCK_SIZE])
{
	int r;

	r = sl_verity_params_validate(p);
	if (r < 0)
		return r;
	memset(out, 0, SL_VERITY_SUPERBLOCK_SIZE);
	memcpy(out + SB_SIGNATURE, signature, sizeof(signature));
	sl_put_le32(out + SB_VERSION, 1);
	sl_put_le32(out + SB_HASH_TYPE, p->hash_type);
	memcpy(out + SB_UUID, p->uuid.b, sizeof(p->uuid.b));
	memcpy(out + SB_ALGORITHM, p->algorithm, strlen(p->algorithm));
	sl_put_le32(out + SB_DATA_BLOCK_SIZE, p->data_block_size);
	sl_put_le32(out + SB_HASH_BLOCK_SIZE, p->hash_block_size);
	sl_put_le64(out + SB_DATA_BLOCKS, p->data_blocks);
	sl_put_le16(out + SB_SALT_SIZE, p->salt_size);
	memcpy(out + SB_SALT, p->salt, p->salt_size);
	return 0;
}
