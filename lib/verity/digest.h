/* SPDX-License-Identifier: MIT */
/*
 * Internal to lib/verity: the node digest of dm-verity (SPEC.md §1.3), with
 * OpenSSL's EVP interface. Format 1 hashes salt || block, format 0 block || salt.
 * One VerityHasher per thread; it borrows the salt from the params it was made
 * from, which must outlive it.
 */
#pragma once

#include <openssl/evp.h>

#include "slate/verity.h"

typedef struct VerityHasher {
	EVP_MD *md;	     /* owned (fetched) */
	EVP_MD_CTX *ctx;     /* owned: the working context */
	EVP_MD_CTX *salted;  /* owned: format 1, the state after the salt */
	const uint8_t *salt; /* borrowed from the params */
	size_t salt_size;
	unsigned hash_type;
	size_t digest_size;
} VerityHasher;

int verity_hasher_init(VerityHasher *h, const SlVerityParams *p) _wur_;

/* out receives digest_size bytes. */
int verity_hasher_digest(VerityHasher *h, const void *block, size_t len, uint8_t *out) _wur_;

/* Accepts a zeroed or half-initialised hasher. */
void verity_hasher_done(VerityHasher *h);
