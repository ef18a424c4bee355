/* SPDX-License-Identifier: MIT */
/*
 * Internal to lib/verity: the node digest of dm-verity (SPEC.md §1.3). Format 1
 * hashes salt || block, format 0 block || salt. sha256 on a CPU with the SHA
 * extensions goes through lib/verity/sha256.c, several blocks at a time, once
 * that code has agreed with OpenSSL on a known-answer test; everything else
 * (and sha256 when SLATE_VERITY_NO_SHANI=1 is in the environment) through
 * OpenSSL's EVP interface. One VerityHasher per thread; it borrows the salt
 * from the params it was made from, which must outlive it.
 */
#pragma once

#include <openssl/evp.h>

#include "sha256.h"
#include "slate/verity.h"

/* Most blocks per verity_hasher_digest_blocks() call. */
#define VERITY_HASHER_BATCH VERITY_SHA256_LANES

typedef struct VerityHasher {
	bool sha_ni;	     /* sha256 through lib/verity/sha256.c, not OpenSSL */
	VeritySha256 ni;     /* when sha_ni: the salt's part of every node */
	EVP_MD *md;	     /* owned (fetched); unused when sha_ni */
	EVP_MD_CTX *ctx;     /* owned: the working context */
	EVP_MD_CTX *salted;  /* owned: format 1, the state after the salt */
	const uint8_t *salt; /* borrowed from the params */
	size_t salt_size;
	unsigned hash_type;
	size_t digest_size;
} VerityHasher;

int verity_hasher_init(VerityHasher *h, const SlVerityParams *p) _wur_;

/* The digests of count <= VERITY_HASHER_BATCH consecutive blocks of len bytes
 * each, at blocks; out receives count * digest_size bytes. */
int verity_hasher_digest_blocks(VerityHasher *h, const uint8_t *blocks, size_t len, size_t count,
				uint8_t *out) _wur_;

/* Accepts a zeroed or half-initialised hasher. */
void verity_hasher_done(VerityHasher *h);

/* The known-answer test verity_sha256_fast() runs: digest (verity_sha256_digest(),
 * or a test's stand-in) against OpenSSL on nodes of both formats, many salt and
 * block lengths, 1 to VERITY_SHA256_LANES blocks at once. Needs
 * verity_sha256_cpu() for verity_sha256_init(). */
typedef void (*VeritySha256DigestFn)(const VeritySha256 *s, unsigned n,
				     const uint8_t *const blocks[], size_t len,
				     uint8_t *const out[]);
bool verity_sha256_self_test(VeritySha256DigestFn digest);

/* Whether sha256 nodes go through lib/verity/sha256.c here: the CPU has the SHA
 * extensions, SLATE_VERITY_NO_SHANI is not set, and the known-answer test against
 * OpenSSL (run once per process) passed. */
bool verity_sha256_fast(void);
