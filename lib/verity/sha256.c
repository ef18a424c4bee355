/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4 §6.2) with the x86 SHA extensions (Intel SDM: SHA256RNDS2,
 * SHA256MSG1, SHA256MSG2), n messages interleaved; see sha256.h for why.
 *
 * Register layout the instructions expect: the working variables a..h live in
 * two registers, ABEF (lanes 3..0 = a, b, e, f) and CDGH (c, d, g, h).
 * SHA256RNDS2 does two rounds with the two W[t] + K[t] in the low half of its
 * third operand; since two rounds move a, b, e, f into c, d, g, h, the result of
 * rnds2(CDGH, ABEF) is the new ABEF and the old ABEF is the new CDGH.
 */
#include <string.h>

#include "sha256.h"
#include "slate/bytes.h"
#include "slate/macros.h"

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

#define SHA_TARGET __attribute__((target("sha,sse4.1")))
#define SHA_INLINE __attribute__((always_inline)) inline SHA_TARGET

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots
 * of the first 64 primes. */
static const uint32_t K[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

/* §5.3.3: the first 32 bits of the fractional parts of the square roots of the
 * first 8 primes. */
static const uint32_t IV[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

bool verity_sha256_cpu(void)
{
	unsigned a, b, c, d;

	/* Leaf 1 ECX bit 19: SSE4.1 (which implies SSSE3's pshufb); leaf 7.0 EBX
	 * bit 29: SHA. */
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)))
		return false;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}

/* Big-endian 32-bit words: byte order within each lane reversed. */
static SHA_INLINE __m128i bswap32(__m128i x)
{
	return _mm_shuffle_epi8(x, _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL));
}

/* a..h (state[0..7]) into ABEF and CDGH. */
static SHA_INLINE void state_load(const uint32_t state[8], __m128i *abef, __m128i *cdgh)
{
	__m128i abcd = _mm_loadu_si128((const __m128i *)state);	      /* lanes 0..3: a b c d */
	__m128i efgh = _mm_loadu_si128((const __m128i *)(state + 4)); /* e f g h */
	__m128i badc = _mm_shuffle_epi32(abcd, 0xb1);		      /* b a d c */
	__m128i hgfe = _mm_shuffle_epi32(efgh, 0x1b);		      /* h g f e */

	*abef = _mm_alignr_epi8(badc, hgfe, 8);	   /* f e b a */
	*cdgh = _mm_blend_epi16(hgfe, badc, 0xf0); /* h g d c */
}

/* ABEF and CDGH back into a..h as the digest's big-endian bytes. */
static SHA_INLINE void state_store(__m128i abef, __m128i cdgh, uint8_t out[32])
{
	__m128i abef_ = _mm_shuffle_epi32(abef, 0x1b); /* a b e f */
	__m128i ghcd = _mm_shuffle_epi32(cdgh, 0xb1);  /* g h c d */
	__m128i abcd = _mm_blend_epi16(abef_, ghcd, 0xf0);
	__m128i efgh = _mm_alignr_epi8(ghcd, abef_, 8);

	_mm_storeu_si128((__m128i *)out, bswap32(abcd));
	_mm_storeu_si128((__m128i *)(out + 16), bswap32(efgh));
}

/*
 * One 64-byte block of each of n messages (§6.2.2). Rounds go four at a time,
 * lane after lane, so the independent chains overlap in the SHA unit. The
 * schedule W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16] is computed four
 * words at a time in a ring of four registers: SHA256MSG1 gives W[t-16] +
 * σ0(W[t-15]), the palignr adds W[t-7..t-4], SHA256MSG2 adds the σ1 terms.
 */
static SHA_INLINE void compress(unsigned n, __m128i abef[], __m128i cdgh[],
				const uint8_t *const p[])
{
	__m128i m[VERITY_SHA256_LANES][4], abef0[VERITY_SHA256_LANES], cdgh0[VERITY_SHA256_LANES];

#pragma GCC unroll 4
	for (unsigned l = 0; l < n; l++) {
		abef0[l] = abef[l];
		cdgh0[l] = cdgh[l];
#pragma GCC unroll 4
		for (unsigned j = 0; j < 4; j++)
			m[l][j] = bswap32(_mm_loadu_si128((const __m128i *)(p[l] + 16 * j)));
	}
#pragma GCC unroll 16
	for (unsigned i = 0; i < 16; i++) {
		__m128i k = _mm_load_si128((const __m128i *)&K[4 * i]);

#pragma GCC unroll 4
		for (unsigned l = 0; l < n; l++) {
			__m128i wk;

			if (i >= 4) {
				__m128i t = _mm_sha256msg1_epu32(m[l][i % 4], m[l][(i + 1) % 4]);

				t = _mm_add_epi32(t, _mm_alignr_epi8(m[l][(i + 3) % 4],
								     m[l][(i + 2) % 4], 4));
				m[l][i % 4] = _mm_sha256msg2_epu32(t, m[l][(i + 3) % 4]);
			}
			wk = _mm_add_epi32(m[l][i % 4], k);
			cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], wk);
			abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l],
							_mm_shuffle_epi32(wk, 0x0e));
		}
	}
#pragma GCC unroll 4
	for (unsigned l = 0; l < n; l++) {
		abef[l] = _mm_add_epi32(abef[l], abef0[l]);
		cdgh[l] = _mm_add_epi32(cdgh[l], cdgh0[l]);
	}
}

/* Copies the part of [from, from + len) of the padded message that falls in the
 * 64-byte block at `at`. */
static void put(uint8_t out[64], size_t at, size_t from, const uint8_t *src, size_t len)
{
	size_t lo = MAX(at, from), hi = MIN(at + 64, from + len);

	if (lo < hi)
		memcpy(out + (lo - at), src + (lo - from), hi - lo);
}

/* The 64-byte block at byte `at` of head || block || tail || padding (§5.1.1)
 * that is not all inside the block. */
static void gather(const VeritySha256 *s, const uint8_t *block, size_t len, size_t at,
		   uint8_t out[64])
{
	size_t total = s->head_len + len + s->tail_len;
	size_t padded = (total + 72) / 64 * 64;

	memset(out, 0, 64);
	put(out, at, 0, s->head, s->head_len);
	put(out, at, s->head_len, block, len);
	put(out, at, s->head_len + len, s->tail, s->tail_len);
	if (total >= at && total < at + 64)
		out[total - at] = 0x80;
	if (at + 64 == padded)
		sl_put_be64(out + 56, (s->absorbed + total) * 8);
}

static SHA_INLINE void digest_n(const VeritySha256 *s, unsigned n, const uint8_t *const blocks[],
				size_t len, uint8_t *const out[])
{
	__m128i abef[VERITY_SHA256_LANES], cdgh[VERITY_SHA256_LANES];
	uint8_t buf[VERITY_SHA256_LANES][64];
	const uint8_t *p[VERITY_SHA256_LANES];
	size_t total = s->head_len + len + s->tail_len;

#pragma GCC unroll 4
	for (unsigned l = 0; l < n; l++)
		state_load(s->state, &abef[l], &cdgh[l]);
	for (size_t at = 0; at < total + 9; at += 64) {
		/* Most blocks are read in place; the first and the last few are
		 * assembled with the salt and the padding. */
		bool inside = at >= s->head_len && at + 64 <= s->head_len + len;

#pragma GCC unroll 4
		for (unsigned l = 0; l < n; l++) {
			if (inside) {
				p[l] = blocks[l] + (at - s->head_len);
			} else {
				gather(s, blocks[l], len, at, buf[l]);
				p[l] = buf[l];
			}
		}
		compress(n, abef, cdgh, p);
	}
#pragma GCC unroll 4
	for (unsigned l = 0; l < n; l++)
		state_store(abef[l], cdgh[l], out[l]);
}

static SHA_TARGET void digest_1(const VeritySha256 *s, const uint8_t *const blocks[], size_t len,
				uint8_t *const out[])
{
	digest_n(s, 1, blocks, len, out);
}

static SHA_TARGET void digest_2(const VeritySha256 *s, const uint8_t *const blocks[], size_t len,
				uint8_t *const out[])
{
	digest_n(s, 2, blocks, len, out);
}

static SHA_TARGET void digest_4(const VeritySha256 *s, const uint8_t *const blocks[], size_t len,
				uint8_t *const out[])
{
	digest_n(s, 4, blocks, len, out);
}

void verity_sha256_digest(const VeritySha256 *s, unsigned n, const uint8_t *const blocks[],
			  size_t len, uint8_t *const out[])
{
	while (n >= 4) {
		digest_4(s, blocks, len, out);
		blocks += 4, out += 4, n -= 4;
	}
	if (n >= 2) {
		digest_2(s, blocks, len, out);
		blocks += 2, out += 2, n -= 2;
	}
	if (n)
		digest_1(s, blocks, len, out);
}

/* The salt's whole 64-byte blocks into the state (format 1). */
static SHA_TARGET void absorb(uint32_t state[8], const uint8_t *data, size_t blocks)
{
	__m128i abef, cdgh, a, b;

	state_load(state, &abef, &cdgh);
	for (size_t i = 0; i < blocks; i++)
		compress(1, &abef, &cdgh, (const uint8_t *const[]){ data + 64 * i });
	/* Back to a..h in host order for state_load(). */
	a = _mm_shuffle_epi32(abef, 0x1b);
	b = _mm_shuffle_epi32(cdgh, 0xb1);
	_mm_storeu_si128((__m128i *)state, _mm_blend_epi16(a, b, 0xf0));
	_mm_storeu_si128((__m128i *)(state + 4), _mm_alignr_epi8(b, a, 8));
}

void verity_sha256_init(VeritySha256 *s, unsigned hash_type, const uint8_t *salt, size_t salt_size)
{
	*s = (VeritySha256){ 0 };
	memcpy(s->state, IV, sizeof(IV));
	if (hash_type == 0) {
		s->tail = salt;
		s->tail_len = salt_size;
		return;
	}
	absorb(s->state, salt, salt_size / 64);
	s->absorbed = salt_size / 64 * 64;
	s->head_len = salt_size % 64;
	if (s->head_len)
		memcpy(s->head, salt + s->absorbed, s->head_len);
}

#else /* !__x86_64__ */

bool verity_sha256_cpu(void)
{
	return false;
}

void verity_sha256_init(VeritySha256 *s, unsigned hash_type, const uint8_t *salt, size_t salt_size)
{
	abort(); /* unreachable: verity_sha256_cpu() is false */
}

void verity_sha256_digest(const VeritySha256 *s, unsigned n, const uint8_t *const blocks[],
			  size_t len, uint8_t *const out[])
{
	abort();
}

#endif
