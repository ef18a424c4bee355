/* SPDX-License-Identifier: MIT */
#include "digest.h"
#include "slate/error.h"

int verity_hasher_init(VerityHasher *h, const SlVerityParams *p)
{
	*h = (VerityHasher){
		.salt = p->salt,
		.salt_size = p->salt_size,
		.hash_type = p->hash_type,
		.digest_size = sl_verity_digest_size(p->algorithm),
	};
	/* Fetch once: implicit fetching on every init is measurably slower in
	 * OpenSSL 3. The names we accept are OpenSSL's own ("sha256"). */
	h->md = EVP_MD_fetch(NULL, p->algorithm, NULL);
	if (!h->md || (size_t)EVP_MD_get_size(h->md) != h->digest_size) {
		verity_hasher_done(h);
		return sl_errorf(-EOPNOTSUPP, "OpenSSL has no %s digest", p->algorithm);
	}
	h->ctx = EVP_MD_CTX_new();
	h->salted = EVP_MD_CTX_new();
	if (!h->ctx || !h->salted) {
		verity_hasher_done(h);
		return -ENOMEM;
	}
	/* Format 1 starts every digest with the same salt: absorb it once and copy
	 * the state for each block. */
	if (EVP_DigestInit_ex2(h->salted, h->md, NULL) != 1 ||
	    (h->hash_type == 1 && EVP_DigestUpdate(h->salted, h->salt, h->salt_size) != 1)) {
		verity_hasher_done(h);
		return sl_errorf(-EIO, "cannot initialise %s", p->algorithm);
	}
	return 0;
}

int verity_hasher_digest(VerityHasher *h, const void *block, size_t len, uint8_t *out)
{
	if (EVP_MD_CTX_copy_ex(h->ctx, h->salted) != 1 ||
	    EVP_DigestUpdate(h->ctx, block, len) != 1 ||
	    (h->hash_type == 0 && EVP_DigestUpdate(h->ctx, h->salt, h->salt_size) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, NULL) != 1)
		return sl_errorf(-EIO, "digest computation failed");
	return 0;
}

void verity_hasher_done(VerityHasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_CTX_free(h->salted);
	EVP_MD_free(h->md);
	*h = (VerityHasher){ 0 };
}
