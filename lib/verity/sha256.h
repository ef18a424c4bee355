/* SPDX-License-Identifier: MIT */
/*
 * Internal to lib/verity: SHA-256 (FIPS 180-4) with the x86 SHA extensions,
 * several independent messages of the same length at once.
 *
 * Why: sha256rnds2 has a longer latency than its reciprocal throughput, so one
 * message (OpenSSL's single stream) leaves the SHA unit idle most cycles; the
 * rounds of 2-4 independent messages interleaved in one thread fill it. dm-verity
 * hashes every block of a level independently (SPEC.md §1.3), so the tree builder
 * can hand over a few blocks at a time.
 *
 * The messages are a dm-verity node: salt || block (format 1) or block || salt
 * (format 0); with no salt, plain SHA-256 of the block. Only lib/verity/digest.c
 * calls this, after verity_sha256_cpu() and its own known-answer test against
 * OpenSSL.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VERITY_SHA256_LANES 4u /* most messages per call */

/* The part of every message that comes before or after the block. */
typedef struct VeritySha256 {
	uint32_t state[8];   /* after the salt's whole 64-byte blocks (format 1), else the IV */
	uint64_t absorbed;   /* bytes already in state */
	uint8_t head[64];    /* format 1: the salt's remaining bytes, hashed before the block */
	size_t head_len;     /* < 64 */
	const uint8_t *tail; /* format 0: the salt, hashed after the block (borrowed) */
	size_t tail_len;
} VeritySha256;

/* Whether this CPU has the SHA extensions and SSE4.1 (cpuid). */
bool verity_sha256_cpu(void);

/* Only when verity_sha256_cpu(). salt is borrowed (format 0) and must outlive s. */
void verity_sha256_init(VeritySha256 *s, unsigned hash_type, const uint8_t *salt, size_t salt_size);

/* out[i] receives the 32-byte digest of the node of blocks[i], for i < n, 1 <= n <=
 * VERITY_SHA256_LANES; every block is len bytes. */
void verity_sha256_digest(const VeritySha256 *s, unsigned n, const uint8_t *const blocks[],
			  size_t len, uint8_t *const out[]);
