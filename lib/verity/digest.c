/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <pthread.h>

#include "digest.h"
#include "slate/error.h"

/* The OpenSSL digest of the node of one block. */
static int evp_digest(VerityHasher *h, const void *block, size_t len, uint8_t *out)
{
	if (EVP_MD_CTX_copy_ex(h->ctx, h->salted) != 1 ||
	    EVP_DigestUpdate(h->ctx, block, len) != 1 ||
	    (h->hash_type == 0 && EVP_DigestUpdate(h->ctx, h->salt, h->salt_size) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, NULL) != 1)
		return sl_errorf(-EIO, "digest computation failed");
	return 0;
}

static int evp_init(VerityHasher *h, const char *algorithm)
{
	/* Fetch once: implicit fetching on every init is measurably slower in
	 * OpenSSL 3. The names we accept are OpenSSL's own ("sha256"). */
	h->md = EVP_MD_fetch(NULL, algorithm, NULL);
	if (!h->md || (size_t)EVP_MD_get_size(h->md) != h->digest_size)
		return sl_errorf(-EOPNOTSUPP, "OpenSSL has no %s digest", algorithm);
	h->ctx = EVP_MD_CTX_new();
	h->salted = EVP_MD_CTX_new();
	if (!h->ctx || !h->salted)
		return -ENOMEM;
	/* Format 1 starts every digest with the same salt: absorb it once and copy
	 * the state for each block. */
	if (EVP_DigestInit_ex2(h->salted, h->md, NULL) != 1 ||
	    (h->hash_type == 1 && EVP_DigestUpdate(h->salted, h->salt, h->salt_size) != 1))
		return sl_errorf(-EIO, "cannot initialise %s", algorithm);
	return 0;
}

/*
 * The known-answer test of lib/verity/sha256.c: both formats, salts around the
 * 64-byte block boundary and the longest, block lengths that put the padding in
 * every position that matters (55/56: the length field fits or spills into one
 * more block) and real block sizes, 1 to 4 blocks at once, against OpenSSL.
 */
bool verity_sha256_self_test(VeritySha256DigestFn digest)
{
	static const size_t salts[] = { 0, 1, 32, 55, 63, 64, 65, 128, 200, 256 };
	static const size_t lens[] = { 0, 1, 55, 56, 64, 119, 512, 4096 };
	_cleanup_free_ uint8_t *buf = malloc(VERITY_SHA256_LANES * 4096 + 256);
	uint32_t x = 0x2545f491;
	bool ok = true;

	if (!buf)
		return false;
	for (size_t i = 0; i < VERITY_SHA256_LANES * 4096 + 256; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
		buf[i] = (uint8_t)x;
	}
	for (unsigned type = 0; type <= 1 && ok; type++)
		for (size_t s = 0; s < ARRAY_SIZE(salts) && ok; s++) {
			VerityHasher h = {
				.salt = buf + VERITY_SHA256_LANES * 4096,
				.salt_size = salts[s],
				.hash_type = type,
				.digest_size = 32,
			};

			ok = evp_init(&h, "sha256") == 0;
			verity_sha256_init(&h.ni, type, h.salt, h.salt_size);
			for (size_t l = 0; l < ARRAY_SIZE(lens) && ok; l++)
				for (unsigned n = 1; n <= VERITY_SHA256_LANES && ok; n++) {
					const uint8_t *in[VERITY_SHA256_LANES];
					uint8_t got[VERITY_SHA256_LANES][32], want[32];
					uint8_t *out[VERITY_SHA256_LANES];

					for (unsigned i = 0; i < n; i++) {
						/* Unaligned, 4101 bytes apart. */
						in[i] = buf + i * 4101 + l;
						out[i] = got[i];
					}
					digest(&h.ni, n, in, lens[l], out);
					for (unsigned i = 0; i < n && ok; i++)
						ok = evp_digest(&h, in[i], lens[l], want) == 0 &&
						     memcmp(got[i], want, 32) == 0;
				}
			verity_hasher_done(&h);
		}
	return ok;
}

static bool sha256_fast_ok;

static void sha256_fast_check(void)
{
	sha256_fast_ok = verity_sha256_cpu() && verity_sha256_self_test(verity_sha256_digest);
}

bool verity_sha256_fast(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const char *e = getenv("SLATE_VERITY_NO_SHANI");

	if (e && streq(e, "1"))
		return false;
	pthread_once(&once, sha256_fast_check);
	return sha256_fast_ok;
}

int verity_hasher_init(VerityHasher *h, const SlVerityParams *p)
{
	int r;

	*h = (VerityHasher){
		.salt = p->salt,
		.salt_size = p->salt_size,
		.hash_type = p->hash_type,
		.digest_size = sl_verity_digest_size(p->algorithm),
	};
	if (streq(p->algorithm, "sha256") && verity_sha256_fast()) {
		h->sha_ni = true;
		verity_sha256_init(&h->ni, h->hash_type, h->salt, h->salt_size);
		return 0;
	}
	r = evp_init(h, p->algorithm);
	if (r < 0)
		verity_hasher_done(h);
	return r;
}

int verity_hasher_digest_blocks(VerityHasher *h, const uint8_t *blocks, size_t len, size_t count,
				uint8_t *out)
{
	int r;

	assert(count <= VERITY_HASHER_BATCH);
	if (h->sha_ni) {
		const uint8_t *in[VERITY_HASHER_BATCH];
		uint8_t *o[VERITY_HASHER_BATCH];

		for (size_t i = 0; i < count; i++) {
			in[i] = blocks + i * len;
			o[i] = out + i * 32;
		}
		verity_sha256_digest(&h->ni, (unsigned)count, in, len, o);
		return 0;
	}
	for (size_t i = 0; i < count; i++) {
		r = evp_digest(h, blocks + i * len, len, out + i * h->digest_size);
		if (r < 0)
			return r;
	}
	return 0;
}

void verity_hasher_done(VerityHasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_CTX_free(h->salted);
	EVP_MD_free(h->md);
	*h = (VerityHasher){ 0 };
}
