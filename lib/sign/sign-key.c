/* SPDX-License-Identifier: MIT */
/*
 * Keys, certificates and trust; the detached PKCS#7 signature the kernel takes
 * for a dm-verity root hash (SPEC.md §1.7).
 */
#include <openssl/err.h>
#include <openssl/pem.h>

#include "slate/error.h"
#include "slate/fileio.h"
#include "sign-internal.h"

/* Key and certificate files are small; anything bigger is not one. */
#define MAX_KEY_FILE (1u << 20)

int sl_sign_openssl_error(int r, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	if (reason)
		return sl_errorf(r, "%s: %s", what, reason);
	return sl_errorf(r, "%s", what);
}

void sl_sign_name(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	out[0] = 0;
	if (!b)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &p);
		if (n > 0)
			snprintf(out, outlen, "%.*s", (int)n, p);
	}
	BIO_free(b);
}

int sl_sign_pkcs7_der(PKCS7 *p7, uint8_t **ret, size_t *ret_len)
{
	unsigned char *der = NULL;
	uint8_t *copy;
	int n = i2d_PKCS7(p7, &der);

	if (n <= 0)
		return sl_sign_openssl_error(-EIO, "cannot encode the PKCS#7 signature");
	/* OPENSSL_malloc()ed: hand the caller a buffer free() can release. */
	copy = malloc((size_t)n);
	if (copy)
		memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	*ret_len = (size_t)n;
	return 0;
}

/* Never prompt for a passphrase: encrypted keys are refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Read a small file and open a memory BIO over it (both owned by the caller). */
static int read_small(const char *path, uint8_t **ret, size_t *ret_len, BIO **ret_bio)
{
	int r = sl_read_file(path, MAX_KEY_FILE, ret, ret_len);

	if (r < 0)
		return sl_error_prefix(r, "%s: ", path);
	*ret_bio = BIO_new_mem_buf(*ret, (int)*ret_len);
	if (!*ret_bio) {
		free(*ret);
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int load_pkey(const char *path, EVP_PKEY **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(BIO_free_allp) BIO *b = NULL;
	EVP_PKEY *pkey;
	size_t len;
	int r;

	r = read_small(path, &buf, &len, &b);
	if (r < 0)
		return r;
	pkey = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	if (!pkey) {
		const unsigned char *p = buf;

		ERR_clear_error();
		pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
	}
	explicit_bzero(buf, len);
	if (!pkey)
		return sl_sign_openssl_error(-EBADMSG, "not a private key (PEM or DER; "
						       "encrypted keys are not supported)");
	*ret = pkey;
	return 0;
}

/* Every certificate in a PEM file, or the one in a DER file. */
static int load_certs(const char *path, STACK_OF(X509) * *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(BIO_free_allp) BIO *b = NULL;
	STACK_OF(X509) * certs;
	X509 *x;
	size_t len;
	int r;

	r = read_small(path, &buf, &len, &b);
	if (r < 0)
		return r;
	certs = sk_X509_new_null();
	if (!certs)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)))
		if (!sk_X509_push(certs, x)) {
			X509_free(x);
			sk_X509_pop_free(certs, X509_free);
			return -ENOMEM;
		}
	ERR_clear_error();
	if (sk_X509_num(certs) == 0) {
		const unsigned char *p = buf;

		x = d2i_X509(NULL, &p, (long)len);
		if (!x || !sk_X509_push(certs, x)) {
			X509_free(x);
			sk_X509_free(certs);
			return sl_sign_openssl_error(-EBADMSG,
						     "not an X.509 certificate (PEM or DER)");
		}
	}
	*ret = certs;
	return 0;
}

int sl_sign_key_load(const char *key_path, const char *cert_path, SlSignKey **ret)
{
	SlSignKey *k = calloc(1, sizeof(*k));
	STACK_OF(X509) *certs = NULL;
	int r;

	if (!k)
		return -ENOMEM;
	r = load_pkey(key_path, &k->pkey);
	if (r < 0) {
		sl_sign_key_free(k);
		return sl_error_prefix(r, "%s: ", key_path);
	}
	r = load_certs(cert_path, &certs);
	if (r < 0) {
		sl_sign_key_free(k);
		return sl_error_prefix(r, "%s: ", cert_path);
	}
	k->cert = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	if (X509_check_private_key(k->cert, k->pkey) != 1) {
		sl_sign_key_free(k);
		return sl_sign_openssl_error(-EKEYREJECTED,
					     "the private key does not belong to the certificate");
	}
	*ret = k;
	return 0;
}

void sl_sign_key_free(SlSignKey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	X509_free(k->cert);
	free(k);
}

int sl_sign_trust_load(const char *cert_path, SlSignTrust **ret)
{
	SlSignTrust *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	r = load_certs(cert_path, &t->certs);
	if (r < 0) {
		free(t);
		return sl_error_prefix(r, "%s: ", cert_path);
	}
	t->store = X509_STORE_new();
	if (!t->store) {
		sl_sign_trust_free(t);
		return -ENOMEM;
	}
	for (int i = 0; i < sk_X509_num(t->certs); i++)
		if (X509_STORE_add_cert(t->store, sk_X509_value(t->certs, i)) != 1) {
			sl_sign_trust_free(t);
			return sl_sign_openssl_error(-ENOMEM, "cannot add a trusted certificate");
		}
	/* UEFI (edk2 Pkcs7Verify): any certificate in db is a trust anchor, whether or
	 * not it is self-signed, and validity dates are not checked. */
	X509_STORE_set_flags(t->store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
	X509_STORE_set_purpose(t->store, X509_PURPOSE_ANY);
	*ret = t;
	return 0;
}

void sl_sign_trust_free(SlSignTrust *t)
{
	if (!t)
		return;
	X509_STORE_free(t->store);
	sk_X509_pop_free(t->certs, X509_free);
	free(t);
}

int sl_sign_trust_check(const SlSignTrust *trust, X509 *signer, STACK_OF(X509) * untrusted)
{
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	char subject[256];

	if (!ctx || X509_STORE_CTX_init(ctx, trust->store, signer, untrusted) != 1)
		return -ENOMEM;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	if (X509_verify_cert(ctx) == 1)
		return 0;
	ERR_clear_error();
	sl_sign_name(X509_get_subject_name(signer), subject, sizeof(subject));
	return sl_errorf(-EKEYREJECTED, "signer '%s' is not trusted: %s", subject,
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
}

int sl_sign_detached(const SlSignKey *key, const void *data, size_t len, uint8_t **ret_der,
		     size_t *ret_len)
{
	const int flags =
		PKCS7_DETACHED | PKCS7_BINARY | PKCS7_NOATTR | PKCS7_NOCERTS | PKCS7_PARTIAL;
	_cleanup_(PKCS7_freep) PKCS7 *p7 = NULL;
	_cleanup_(BIO_free_allp) BIO *in = NULL;

	if (len > INT_MAX)
		return -E2BIG;
	in = BIO_new_mem_buf(data, (int)len);
	if (!in)
		return -ENOMEM;
	p7 = PKCS7_sign(NULL, NULL, NULL, NULL, flags);
	if (!p7 || !PKCS7_sign_add_signer(p7, key->cert, key->pkey, EVP_sha256(), flags) ||
	    !PKCS7_final(p7, in, flags))
		return sl_sign_openssl_error(-EIO, "cannot make the PKCS#7 signature");
	return sl_sign_pkcs7_der(p7, ret_der, ret_len);
}

int sl_sign_detached_verify(const SlSignTrust *trust, const void *der, size_t der_len,
			    const void *data, size_t len)
{
	_cleanup_(PKCS7_freep) PKCS7 *p7 = NULL;
	_cleanup_(BIO_free_allp) BIO *in = NULL;
	const unsigned char *p = der;

	if (der_len > LONG_MAX || len > INT_MAX)
		return -E2BIG;
	p7 = d2i_PKCS7(NULL, &p, (long)der_len);
	if (!p7)
		return sl_sign_openssl_error(-EBADMSG, "not a DER PKCS#7 signature");
	if (!PKCS7_type_is_signed(p7) || !PKCS7_get_detached(p7))
		return sl_errorf(-EBADMSG, "not a detached PKCS#7 SignedData");
	in = BIO_new_mem_buf(data, (int)len);
	if (!in)
		return -ENOMEM;
	/* Like the kernel: the signer must be one of the trusted certificates itself. */
	if (PKCS7_verify(p7, trust->certs, NULL, in, NULL,
			 PKCS7_BINARY | PKCS7_NOINTERN | PKCS7_NOVERIFY) != 1)
		return sl_sign_openssl_error(-EKEYREJECTED, "the signature does not verify");
	return 0;
}
