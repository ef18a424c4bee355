/* SPDX-License-Identifier: MIT */
/* Loading the X.509 certificates that go into PK, KEK and db (OpenSSL). */
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "slate/efivars.h"
#include "slate/error.h"

#define X509_MAX_INPUT (1u << 20)

SL_DEFINE_CLEANUP(X509 *, X509_free)
SL_DEFINE_CLEANUP(BIO *, BIO_free)

static bool looks_pem(const uint8_t *buf, size_t len)
{
	return memmem(buf, len, "-----BEGIN", 10) != NULL;
}

static int parse_pem(const uint8_t *buf, size_t len, X509 **ret)
{
	_cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(buf, (int)len);
	_cleanup_(X509_freep) X509 *cert = NULL, *extra = NULL;

	if (!bio)
		return -ENOMEM;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!cert)
		return sl_errorf(-EBADMSG, "not a PEM X.509 certificate");
	extra = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (extra)
		return sl_errorf(-EBADMSG, "holds more than one certificate (give one per option)");
	*ret = TAKE_PTR(cert);
	return 0;
}

static int parse_der(const uint8_t *buf, size_t len, X509 **ret)
{
	const unsigned char *p = buf;
	X509 *cert = d2i_X509(NULL, &p, (long)len);

	if (!cert)
		return sl_errorf(-EBADMSG, "not an X.509 certificate (PEM or DER)");
	if ((size_t)(p - buf) != len) {
		X509_free(cert);
		return sl_errorf(-EBADMSG, "%zu bytes after the DER certificate",
				 len - (size_t)(p - buf));
	}
	*ret = cert;
	return 0;
}

int sl_x509_load(const uint8_t *buf, size_t len, uint8_t **ret_der, size_t *ret_der_len,
		 time_t *ret_not_before)
{
	_cleanup_(X509_freep) X509 *cert = NULL;
	unsigned char *der = NULL;
	struct tm tm;
	int r, n;

	if (len == 0 || len > X509_MAX_INPUT)
		return sl_errorf(-EBADMSG, "a certificate file of %zu bytes", len);
	r = looks_pem(buf, len) ? parse_pem(buf, len, &cert) : parse_der(buf, len, &cert);
	if (r < 0)
		return r;
	if (ret_not_before) {
		if (!ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm))
			return sl_errorf(-EBADMSG, "certificate has an unreadable notBefore");
	}
	n = i2d_X509(cert, &der);
	if (n <= 0)
		return sl_errorf(-EBADMSG, "certificate cannot be DER-encoded");
	/* i2d allocates with OPENSSL_malloc: copy into a buffer the caller frees with free(). */
	*ret_der = malloc((size_t)n);
	if (!*ret_der) {
		OPENSSL_free(der);
		return -ENOMEM;
	}
	memcpy(*ret_der, der, (size_t)n);
	OPENSSL_free(der);
	*ret_der_len = (size_t)n;
	if (ret_not_before)
		*ret_not_before = timegm(&tm);
	return 0;
}

int sl_x509_subject(const uint8_t *der, size_t len, char **ret)
{
	const unsigned char *p = der;
	_cleanup_(X509_freep) X509 *cert = d2i_X509(NULL, &p, (long)len);
	_cleanup_(BIO_freep) BIO *bio = NULL;
	char *data, *s;
	long n;

	if (!cert || (size_t)(p - der) != len)
		return sl_errorf(-EBADMSG, "not a DER X.509 certificate");
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return -ENOMEM;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0)
		return -ENOMEM;
	n = BIO_get_mem_data(bio, &data);
	s = malloc((size_t)n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, data, (size_t)n);
	s[n] = 0;
	*ret = s;
	return 0;
}
