/* SPDX-License-Identifier: MIT */
/*
 * Tree verification on hostile input. The first bytes choose small parameters
 * (block sizes 512/1024, sha1/sha256/sha512, format 0/1, superblock or not, up to
 * 64 data blocks, a salt); then, by the low bit of byte 0:
 *
 *   raw:    data, root hash and hash area come straight from the input. Verify
 *           must not crash, and if it accepts, formatting the same data must give
 *           the same root hash and the same tree: an accepted tree is the tree.
 *   mutate: a correct tree is built, then the input's (offset, xor) pairs change
 *           bytes of the data and hash areas. Verify must fail exactly when a
 *           byte that counts changed, and the block it names must hold one.
 */
#include <assert.h>
#include <sys/mman.h>

#include "slate/fileio.h"
#include "slate/verity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct In {
	const uint8_t *p;
	size_t left;
} In;

static uint8_t in_u8(In *in)
{
	uint8_t v = 0;

	if (in->left) {
		v = *in->p++;
		in->left--;
	}
	return v;
}

/* n bytes from the input, zero-filled when it runs out. */
static void in_bytes(In *in, uint8_t *out, size_t n)
{
	size_t k = MIN(n, in->left);

	memcpy(out, in->p, k);
	memset(out + k, 0, n - k);
	in->p += k;
	in->left -= k;
}

static int memfd_with(const char *name, const uint8_t *buf, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	assert(fd >= 0);
	assert(sl_pwrite_all(fd, buf, len, 0) == 0);
	assert(ftruncate(fd, (off_t)len) == 0);
	return fd;
}

static void check_raw(In *in, const SlVerityParams *p, const SlVerityLayout *l)
{
	_cleanup_free_ uint8_t *d = malloc(l->data_area_size), *h = malloc(l->hash_area_end);
	_cleanup_close_ int dfd = -1, hfd = -1, hfd2 = -1;
	uint8_t root[SL_VERITY_DIGEST_MAX], root2[SL_VERITY_DIGEST_MAX];
	int r;

	assert(d && h);
	in_bytes(in, root, l->digest_size);
	in_bytes(in, d, l->data_area_size);
	in_bytes(in, h, l->hash_area_end);
	if (p->superblock)
		assert(sl_verity_superblock_encode(p, h + p->hash_offset) == 0);
	dfd = memfd_with("data", d, l->data_area_size);
	hfd = memfd_with("hash", h, l->hash_area_end);
	r = sl_verity_verify(dfd, hfd, p, root, l->digest_size, 1, NULL);
	assert(r == 0 || r == -EUCLEAN);
	if (r < 0)
		return;
	hfd2 = memfd_with("hash2", (const uint8_t *)"", 0);
	assert(sl_verity_format(dfd, hfd2, p, 1, root2) == 0);
	assert(memcmp(root, root2, l->digest_size) == 0);
}

static void check_mutate(In *in, const SlVerityParams *p, const SlVerityLayout *l)
{
	size_t dlen = (size_t)l->data_area_size, hlen = (size_t)l->hash_area_end;
	_cleanup_free_ uint8_t *d0 = malloc(dlen), *d = malloc(dlen), *h0 = calloc(1, hlen),
			       *h = malloc(hlen);
	_cleanup_close_ int dfd = -1, hfd = -1;
	uint8_t root[SL_VERITY_DIGEST_MAX];
	size_t from = (size_t)p->hash_offset + (p->superblock ? SL_VERITY_SUPERBLOCK_SIZE : 0);
	SlVerityCorruption bad;
	uint64_t written;
	bool changed;
	int r;

	assert(d0 && d && h0 && h);
	in_bytes(in, d0, MIN(dlen, (size_t)64));
	for (size_t i = 64; i < dlen; i++)
		d0[i] = (uint8_t)(i * 7 + d0[i % 64]);
	dfd = memfd_with("data", d0, dlen);
	hfd = memfd_with("hash", (const uint8_t *)"", 0);
	assert(sl_verity_format(dfd, hfd, p, 1, root) == 0);
	/* With one data block the file may end after the superblock: pad with zeros. */
	assert(sl_fd_size(hfd, &written) == 0 && written <= hlen);
	assert(sl_pread_all(hfd, h0, (size_t)written, 0) == 0);
	close(dfd);
	close(hfd);

	/* Up to 8 changes: a 4-byte offset into data ++ hash device, a 1-byte xor. */
	memcpy(d, d0, dlen);
	memcpy(h, h0, hlen);
	for (int i = 0; i < 8 && in->left >= 5; i++) {
		uint64_t off = (uint64_t)in_u8(in) | (uint64_t)in_u8(in) << 8 |
			       (uint64_t)in_u8(in) << 16 | (uint64_t)in_u8(in) << 24;
		uint8_t x = in_u8(in);

		off %= dlen + hlen;
		if (off < dlen)
			d[off] ^= x;
		else
			h[off - dlen] ^= x;
	}
	/* The superblock is the caller's to decode: keep it. What counts is all the
	 * data and the hash device after the superblock. */
	if (p->superblock)
		memcpy(h + p->hash_offset, h0 + p->hash_offset, SL_VERITY_SUPERBLOCK_SIZE);
	changed = memcmp(d0, d, dlen) != 0 || memcmp(h0 + from, h + from, hlen - from) != 0;

	dfd = memfd_with("data2", d, dlen);
	hfd = memfd_with("hash2", h, hlen);
	r = sl_verity_verify(dfd, hfd, p, root, l->digest_size, 1, &bad);
	assert(changed ? r == -EUCLEAN : r == 0);
	if (r == 0)
		return;
	/* The block it names holds a changed byte. */
	if (bad.area == SL_VERITY_AREA_DATA) {
		size_t bs = p->data_block_size;

		assert(bad.block < p->data_blocks);
		assert(memcmp(d0 + bad.block * bs, d + bad.block * bs, bs) != 0);
	} else {
		size_t bs = p->hash_block_size, lo = (size_t)bad.block * bs, hi = lo + bs;

		assert(bad.area == SL_VERITY_AREA_HASH);
		lo = MAX(lo, from);
		assert(hi <= hlen && lo < hi);
		assert(memcmp(h0 + lo, h + lo, hi - lo) != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const algs[] = { "sha256", "sha1", "sha512", "sha256" };
	In in = { data, size };
	SlVerityParams p;
	SlVerityLayout l;
	uint8_t mode, b;

	sl_verity_params_init(&p);
	mode = in_u8(&in);
	b = in_u8(&in);
	p.hash_type = b & 1;
	snprintf(p.algorithm, sizeof(p.algorithm), "%s", algs[(b >> 1) & 3]);
	p.superblock = b & 8;
	p.data_block_size = b & 16 ? 1024 : 512;
	p.hash_block_size = b & 32 ? 1024 : 512;
	p.data_blocks = 1 + in_u8(&in) % 64;
	p.hash_offset = (uint64_t)(in_u8(&in) % 4) * 1024;
	p.salt_size = in_u8(&in) % 40;
	in_bytes(&in, p.salt, p.salt_size);
	if (sl_verity_layout(&p, &l) < 0)
		return 0;
	if (mode & 1)
		check_mutate(&in, &p, &l);
	else
		check_raw(&in, &p, &l);
	return 0;
}
