/* SPDX-License-Identifier: MIT */
/*
 * dm-verity parameters and tree geometry (SPEC.md §1.2-1.3). No OpenSSL and no I/O:
 * slate-init links this file.
 */
#include <inttypes.h>

#include "slate/error.h"
#include "slate/verity.h"

static const struct {
	const char *name;
	size_t size;
} algorithms[] = {
	{ "sha1", 20 },
	{ "sha256", 32 },
	{ "sha512", 64 },
};

void sl_verity_params_init(SlVerityParams *p)
{
	*p = (SlVerityParams){
		.hash_type = 1,
		.algorithm = "sha256",
		.data_block_size = 4096,
		.hash_block_size = 4096,
		.superblock = true,
	};
}

size_t sl_verity_digest_size(const char *algorithm)
{
	for (size_t i = 0; i < ARRAY_SIZE(algorithms); i++)
		if (streq(algorithms[i].name, algorithm))
			return algorithms[i].size;
	return 0;
}

static bool block_size_ok(uint32_t bs)
{
	return sl_is_pow2(bs) && bs >= SL_VERITY_BLOCK_MIN && bs <= SL_VERITY_BLOCK_MAX;
}

/* floor(log2(v)) for v >= 1 */
static unsigned log2_floor(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

int sl_verity_params_validate(const SlVerityParams *p)
{
	uint64_t bytes;

	if (p->hash_type > 1)
		return sl_errorf(-EOPNOTSUPP, "unsupported hash type %u (0 or 1)", p->hash_type);
	if (!memchr(p->algorithm, 0, sizeof(p->algorithm)) || !sl_verity_digest_size(p->algorithm))
		return sl_errorf(-EOPNOTSUPP,
				 "unsupported hash algorithm '%.*s' (sha1, sha256, sha512)",
				 (int)strnlen(p->algorithm, sizeof(p->algorithm)), p->algorithm);
	if (!block_size_ok(p->data_block_size))
		return sl_errorf(-EBADMSG,
				 "data block size %u is not a power of two from 512 to 524288",
				 p->data_block_size);
	if (!block_size_ok(p->hash_block_size))
		return sl_errorf(-EBADMSG,
				 "hash block size %u is not a power of two from 512 to 524288",
				 p->hash_block_size);
	if (p->salt_size > SL_VERITY_SALT_MAX)
		return sl_errorf(-EBADMSG, "salt size %u exceeds %u bytes", p->salt_size,
				 SL_VERITY_SALT_MAX);
	if (p->data_blocks == 0)
		return sl_errorf(-EBADMSG, "no data blocks");
	/* The kernel addresses data in 512-byte sectors with 64-bit numbers. */
	if (sl_mul_overflow(p->data_blocks, (uint64_t)p->data_block_size, &bytes) ||
	    bytes > INT64_MAX)
		return sl_errorf(-EBADMSG, "%" PRIu64 " data blocks of %u bytes overflow 64 bits",
				 p->data_blocks, p->data_block_size);
	/* cryptsetup reads the superblock only at 512-byte aligned offsets. */
	if (p->superblock && p->hash_offset % 512)
		return sl_errorf(-EINVAL, "hash offset %" PRIu64 " is not a multiple of 512",
				 p->hash_offset);
	/* Without a superblock the tree starts at hash_offset itself: it must be a
	 * block boundary, or the tree would start before the offset given. */
	if (!p->superblock && p->hash_offset % p->hash_block_size)
		return sl_errorf(-EINVAL,
				 "hash offset %" PRIu64
				 " is not a multiple of the hash block size %u (no superblock)",
				 p->hash_offset, p->hash_block_size);
	return 0;
}

int sl_verity_layout(const SlVerityParams *p, SlVerityLayout *ret)
{
	SlVerityLayout l = { 0 };
	uint64_t start, pos, n;
	int r;

	r = sl_verity_params_validate(p);
	if (r < 0)
		return r;

	l.digest_size = sl_verity_digest_size(p->algorithm);
	/* Format 1 pads each digest to a power of two; format 0 packs them. */
	l.digest_stride = p->hash_type == 1 ? (size_t)1 << (log2_floor(l.digest_size - 1) + 1)
					    : l.digest_size;
	/* Entries per hash block: the largest power of two that fits (cryptsetup's
	 * get_bits_down(hash_block_size / digest_size)). */
	l.per_block_bits = log2_floor(p->hash_block_size / l.digest_size);
	if (l.per_block_bits == 0)
		return sl_errorf(-EBADMSG, "hash block size %u holds fewer than two %s digests",
				 p->hash_block_size, p->algorithm);

	/* Smallest L with (data_blocks - 1) >> (bits * L) == 0. */
	while (l.per_block_bits * l.levels < 64 &&
	       (p->data_blocks - 1) >> (l.per_block_bits * l.levels))
		l.levels++;
	if (l.levels > SL_VERITY_MAX_LEVELS)
		return sl_errorf(-EBADMSG, "tree would have %u levels (at most %u)", l.levels,
				 SL_VERITY_MAX_LEVELS);

	if (p->superblock) {
		/* The first hash block after the superblock (cryptsetup
		 * VERITY_hash_offset_block()). */
		if (sl_add_overflow(p->hash_offset,
				    (uint64_t)SL_VERITY_SUPERBLOCK_SIZE + p->hash_block_size - 1,
				    &start))
			return sl_errorf(-EBADMSG, "hash offset %" PRIu64 " overflows",
					 p->hash_offset);
		start /= p->hash_block_size;
	} else {
		start = p->hash_offset / p->hash_block_size;
	}
	l.hash_start_block = start;

	/* Level sizes, bottom up: ceil(data_blocks / per^(i+1)) as nested ceilings. */
	n = p->data_blocks;
	for (unsigned i = 0; i < l.levels; i++) {
		n = (n >> l.per_block_bits) + !!(n & ((UINT64_C(1) << l.per_block_bits) - 1));
		l.level_blocks[i] = n;
		l.hash_blocks += n; /* cannot overflow: the sum is below data_blocks */
	}
	/* On disk the top level comes first. */
	pos = start;
	for (unsigned i = l.levels; i-- > 0;) {
		l.level_block[i] = pos;
		pos += l.level_blocks[i];
	}
	if (sl_add_overflow(start, l.hash_blocks, &pos) ||
	    sl_mul_overflow(pos, (uint64_t)p->hash_block_size, &l.hash_area_end) ||
	    l.hash_area_end > INT64_MAX)
		return sl_errorf(-EBADMSG, "hash area end overflows 64 bits");
	l.data_area_size = p->data_blocks * p->data_block_size; /* checked by validate */
	*ret = l;
	return 0;
}

int sl_verity_check_sizes(const SlVerityParams *p, uint64_t data_size, uint64_t hash_size,
			  bool same_device)
{
	SlVerityLayout l;
	int r;

	r = sl_verity_layout(p, &l);
	if (r < 0)
		return r;
	if (l.data_area_size > data_size)
		return sl_errorf(-EBADMSG,
				 "%" PRIu64 " data blocks of %u bytes need %" PRIu64
				 " bytes, the data device has %" PRIu64 " (truncated?)",
				 p->data_blocks, p->data_block_size, l.data_area_size, data_size);
	if (same_device && p->hash_offset < l.data_area_size)
		return sl_errorf(-EINVAL,
				 "hash offset %" PRIu64 " lies inside the data area (%" PRIu64
				 " bytes): data and hash areas overlap",
				 p->hash_offset, l.data_area_size);
	if (l.hash_area_end > hash_size)
		return sl_errorf(-EBADMSG,
				 "the hash area needs %" PRIu64
				 " bytes, the hash device has %" PRIu64 " (truncated?)",
				 l.hash_area_end, hash_size);
	return 0;
}
