/* SPDX-License-Identifier: MIT */
/*
 * lib/verity/sha256.c (SHA-256 with the SHA extensions, several blocks at once)
 * against OpenSSL. The first bytes choose the format, the salt length (0..256),
 * the number of blocks (1..4) and their spacing; the rest is the salt and then
 * the block data, whose length is whatever remains. Every digest must equal
 * OpenSSL's of salt || block (format 1) or block || salt (format 0). On a CPU
 * without the SHA extensions there is nothing to check.
 */
#include <assert.h>
#include <openssl/evp.h>

#include "../../lib/verity/sha256.h"
#include "slate/macros.h"
#include "slate/verity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int cpu = -1;
	const uint8_t *in[VERITY_SHA256_LANES];
	uint8_t got[VERITY_SHA256_LANES][32], want[32];
	uint8_t *out[VERITY_SHA256_LANES] = { got[0], got[1], got[2], got[3] };
	size_t salt_size, len, step;
	unsigned type, n;
	const uint8_t *salt;
	VeritySha256 s;

	if (cpu < 0)
		cpu = verity_sha256_cpu();
	if (!cpu || size < 3)
		return 0;
	type = data[0] & 1;
	n = 1 + (data[0] >> 1) % VERITY_SHA256_LANES;
	step = data[0] >> 3; /* blocks overlap, each this many bytes after the last */
	salt_size = MIN((size_t)(data[1] | (data[2] & 1) << 8), (size_t)SL_VERITY_SALT_MAX);
	data += 3, size -= 3;
	salt_size = MIN(salt_size, size);
	salt = data;
	data += salt_size, size -= salt_size;
	if (step * (n - 1) > size)
		step = 0;
	len = size - step * (n - 1);
	for (unsigned l = 0; l < n; l++)
		in[l] = data + step * l;

	verity_sha256_init(&s, type, salt, salt_size);
	verity_sha256_digest(&s, n, in, len, out);
	for (unsigned l = 0; l < n; l++) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		const uint8_t *first = type ? salt : in[l], *second = type ? in[l] : salt;
		size_t first_len = type ? salt_size : len, second_len = type ? len : salt_size;
		bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
			  EVP_DigestUpdate(ctx, first, first_len) == 1 &&
			  EVP_DigestUpdate(ctx, second, second_len) == 1 &&
			  EVP_DigestFinal_ex(ctx, want, NULL) == 1;

		EVP_MD_CTX_free(ctx);
		assert(ok);
		assert(memcmp(got[l], want, 32) == 0);
	}
	return 0;
}
