/* SPDX-License-Identifier: MIT */
/* Shared between the files of lib/sign; not a public interface. */
#pragma once

#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "slate/sign.h"

struct SlSignKey {
	EVP_PKEY *pkey; /* owned */
	X509 *cert;	/* owned */
};

struct SlSignTrust {
	STACK_OF(X509) * certs; /* owned */
	X509_STORE *store;	/* owned; holds the same certificates */
};

/* Record r with "what: <OpenSSL's reason>" and clear OpenSSL's error queue. Returns r. */
int sl_sign_openssl_error(int r, const char *what);

/*
 * Check that signer chains to a trusted certificate, with UEFI's rules (partial
 * chains, no time or purpose checks). untrusted: extra certificates from the
 * signature (may be NULL). -EKEYREJECTED with the reason otherwise.
 */
int sl_sign_trust_check(const SlSignTrust *trust, X509 *signer, STACK_OF(X509) * untrusted);

/* p7 as DER in a new malloc()ed buffer. */
int sl_sign_pkcs7_der(PKCS7 *p7, uint8_t **ret, size_t *ret_len);

/* "CN=...,O=..." of a name into out. */
void sl_sign_name(const X509_NAME *name, char *out, size_t outlen);

SL_DEFINE_CLEANUP(BIO *, BIO_free_all)
SL_DEFINE_CLEANUP(PKCS7 *, PKCS7_free)
SL_DEFINE_CLEANUP(X509 *, X509_free)
SL_DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free)
SL_DEFINE_CLEANUP(X509_STORE_CTX *, X509_STORE_CTX_free)
