/* SPDX-License-Identifier: MIT */
/*
 * Authenticode signatures of PE images ("Windows Authenticode Portable
 * Executable Signature Format"; SPEC.md §3.3).
 *
 * The SpcIndirectDataContent is small and fixed, so it is written and read
 * here directly as DER (through a bounded reader) rather than with ASN.1
 * templates; OpenSSL does the PKCS#7 and the RSA.
 */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/hex.h"
#include "sign-internal.h"

#define SPC_INDIRECT_DATA_OID "1.3.6.1.4.1.311.2.1.4"

/* DER contents octets of the object identifiers we meet. */
static const uint8_t oid_spc_pe_image_data[] = { 0x2b, 0x06, 0x01, 0x04, 0x01,
						 0x82, 0x37, 0x02, 0x01, 0x0f };

static const struct {
	const char *name;
	uint8_t oid[9];
	size_t oid_len;
	size_t digest_len;
} digest_algs[] = {
	{ "sha256", { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 }, 9, 32 },
	{ "sha384", { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 }, 9, 48 },
	{ "sha512", { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 }, 9, 64 },
	{ "sha1", { 0x2b, 0x0e, 0x03, 0x02, 0x1a }, 5, 20 },
};

/*
 * SpcIndirectDataContent for a SHA-256 digest, up to the digest itself:
 *   SEQUENCE {
 *     SEQUENCE { OID spcPEImageData,
 *                SpcPeImageData { BIT STRING {}, [0] { [2] { [0] "<<<Obsolete>>>" } } } }
 *     DigestInfo { AlgorithmIdentifier { OID sha256, NULL }, OCTET STRING (32) } }
 * The same bytes as sbsign and pesign write.
 */
static const uint8_t idc_sha256_prefix[] = {
	0x30, 0x68, /* SpcIndirectDataContent */
	0x30, 0x33, /* SpcAttributeTypeAndOptionalValue */
	0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0f, /* OID */
	0x30, 0x25,								/* SpcPeImageData */
	0x03, 0x01, 0x00,		    /* flags: empty BIT STRING */
	0xa0, 0x20, 0xa2, 0x1e, 0x80, 0x1c, /* file: [0] { [2] { [0] */
	0x00, '<', 0x00, '<', 0x00, '<', 0x00, 'O', 0x00, 'b', 0x00, 's', 0x00, 'o', 0x00, 'l',
	0x00, 'e', 0x00, 't', 0x00, 'e', 0x00, '>', 0x00, '>', 0x00, '>',
	/* BMPString "<<<Obsolete>>>" */
	0x30, 0x31, /* DigestInfo */
	0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, /* sha256 */
	0x05, 0x00, /* NULL parameters */
	0x04, 0x20, /* OCTET STRING (32) */
};
_Static_assert(sizeof(idc_sha256_prefix) + 32 == 2 + 0x68, "SpcIndirectDataContent length");

/*
 * Take one DER element with the given tag from r: *ret gets a reader over its
 * contents. Definite lengths only (DER), at most 4 length octets, bounded by
 * what r holds.
 */
static bool der_take(SlReader *r, uint8_t tag, SlReader *ret)
{
	uint8_t t = sl_reader_u8(r), l = sl_reader_u8(r);
	size_t len = l;
	const uint8_t *p;

	if (!sl_reader_ok(r) || t != tag)
		return false;
	if (l & 0x80) {
		size_t n = l & 0x7f;

		if (n == 0 || n > 4)
			return false;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | sl_reader_u8(r);
	}
	p = sl_reader_take(r, len);
	if (!p)
		return false;
	*ret = sl_reader(p, len);
	return true;
}

/* Parse an SpcIndirectDataContent (the whole SEQUENCE) into sig's algorithm and digest. */
static int parse_idc(const uint8_t *der, size_t len, SlPeSignature *sig)
{
	SlReader top = sl_reader(der, len), idc, data, oid, digest_info, alg, alg_oid, digest;
	size_t i;

	if (!der_take(&top, 0x30, &idc) || sl_reader_left(&top) != 0 ||
	    !der_take(&idc, 0x30, &data) || !der_take(&data, 0x06, &oid) ||
	    !der_take(&idc, 0x30, &digest_info) || sl_reader_left(&idc) != 0 ||
	    !der_take(&digest_info, 0x30, &alg) || !der_take(&alg, 0x06, &alg_oid) ||
	    !der_take(&digest_info, 0x04, &digest) || sl_reader_left(&digest_info) != 0)
		return sl_errorf(-EBADMSG, "malformed SpcIndirectDataContent");
	if (oid.len != sizeof(oid_spc_pe_image_data) ||
	    memcmp(oid.data, oid_spc_pe_image_data, oid.len) != 0)
		return sl_errorf(-EBADMSG, "SpcIndirectDataContent is not for a PE image");
	for (i = 0; i < ARRAY_SIZE(digest_algs); i++)
		if (alg_oid.len == digest_algs[i].oid_len &&
		    memcmp(alg_oid.data, digest_algs[i].oid, alg_oid.len) == 0)
			break;
	if (i == ARRAY_SIZE(digest_algs))
		return sl_errorf(-EOPNOTSUPP, "unknown digest algorithm in the signature");
	if (digest.len != digest_algs[i].digest_len)
		return sl_errorf(-EBADMSG, "%s digest of %zu bytes", digest_algs[i].name,
				 digest.len);
	snprintf(sig->digest_alg, sizeof(sig->digest_alg), "%s", digest_algs[i].name);
	memcpy(sig->digest, digest.data, digest.len);
	sig->digest_len = digest.len;
	return 0;
}

/* The octets after a DER element's tag and length: what messageDigest covers. */
static int der_contents(const uint8_t *der, size_t len, const uint8_t **ret, size_t *ret_len)
{
	SlReader r = sl_reader(der, len), inner;

	if (!der_take(&r, 0x30, &inner))
		return sl_errorf(-EBADMSG, "malformed SpcIndirectDataContent");
	*ret = inner.data;
	*ret_len = inner.len;
	return 0;
}

/*
 * Decode certificate-table entry i: the PKCS#7 (returned, owned by the caller),
 * the SpcIndirectDataContent DER inside it (pointing into the PKCS#7), and sig.
 */
static int decode_entry(const SlPe *pe, size_t i, PKCS7 **ret_p7, const uint8_t **ret_idc,
			size_t *ret_idc_len, SlPeSignature *sig)
{
	_cleanup_(PKCS7_freep) PKCS7 *p7 = NULL;
	const SlPeCert *c = &pe->certs[i];
	const unsigned char *p;
	STACK_OF(PKCS7_SIGNER_INFO) * signers;
	PKCS7_SIGNER_INFO *si;
	PKCS7 *content;
	ASN1_TYPE *other;
	uint8_t image_digest[64];
	size_t len, image_digest_len;
	char oid[64];
	int r;

	*sig = (SlPeSignature){ .index = i };
	if (c->revision != SL_PE_WIN_CERT_REVISION_2_0 ||
	    c->type != SL_PE_WIN_CERT_TYPE_PKCS_SIGNED_DATA)
		return sl_errorf(-EBADMSG,
				 "certificate entry %zu: revision 0x%x type 0x%x is not a PKCS#7 "
				 "signature",
				 i, c->revision, c->type);
	p = sl_pe_cert_data(pe, c, &len);
	if (len > LONG_MAX)
		return -E2BIG;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (!p7)
		return sl_sign_openssl_error(-EBADMSG, "malformed or truncated PKCS#7 signature");
	if (!PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents)
		return sl_errorf(-EBADMSG, "PKCS#7 is not SignedData with content");
	content = p7->d.sign->contents;
	OBJ_obj2txt(oid, sizeof(oid), content->type, 1);
	other = content->d.other;
	if (!streq(oid, SPC_INDIRECT_DATA_OID) || !other || other->type != V_ASN1_SEQUENCE)
		return sl_errorf(-EBADMSG, "PKCS#7 content is %s, not SpcIndirectDataContent", oid);
	*ret_idc = other->value.sequence->data;
	*ret_idc_len = (size_t)other->value.sequence->length;
	r = parse_idc(*ret_idc, *ret_idc_len, sig);
	if (r < 0)
		return r;

	r = sl_pe_authenticode_digest(pe, sig->digest_alg, image_digest, &image_digest_len);
	if (r < 0)
		return r;
	sig->digest_matches = image_digest_len == sig->digest_len &&
			      sl_memcmp_ct(image_digest, sig->digest, sig->digest_len) == 0;

	signers = PKCS7_get_signer_info(p7);
	if (sk_PKCS7_SIGNER_INFO_num(signers) != 1)
		return sl_errorf(-EBADMSG, "Authenticode needs exactly one signer, found %d",
				 sk_PKCS7_SIGNER_INFO_num(signers));
	si = sk_PKCS7_SIGNER_INFO_value(signers, 0);
	if (si->issuer_and_serial) {
		BIGNUM *bn = ASN1_INTEGER_to_BN(si->issuer_and_serial->serial, NULL);
		char *hex = bn ? BN_bn2hex(bn) : NULL;

		sl_sign_name(si->issuer_and_serial->issuer, sig->issuer, sizeof(sig->issuer));
		if (hex)
			snprintf(sig->serial, sizeof(sig->serial), "%s", hex);
		OPENSSL_free(hex);
		BN_free(bn);
		if (p7->d.sign->cert) {
			X509 *x = X509_find_by_issuer_and_serial(p7->d.sign->cert,
								 si->issuer_and_serial->issuer,
								 si->issuer_and_serial->serial);
			if (x)
				sl_sign_name(X509_get_subject_name(x), sig->subject,
					     sizeof(sig->subject));
		}
	}
	ERR_clear_error();
	*ret_p7 = TAKE_PTR(p7);
	return 0;
}

int sl_sign_pe_signatures(const SlPe *pe, SlPeSignature *ret, size_t max, size_t *ret_n)
{
	size_t n = 0;

	for (size_t i = 0; i < pe->n_certs && n < max; i++) {
		_cleanup_(PKCS7_freep) PKCS7 *p7 = NULL;
		const uint8_t *idc;
		size_t idc_len;
		int r;

		r = decode_entry(pe, i, &p7, &idc, &idc_len, &ret[n]);
		if (r < 0)
			return sl_error_prefix(r, "signature %zu: ", i + 1);
		n++;
	}
	*ret_n = n;
	return 0;
}

/* Check one signature fully. */
static int verify_entry(const SlSignTrust *trust, const SlPe *pe, size_t i, SlPeSignature *sig)
{
	_cleanup_(PKCS7_freep) PKCS7 *p7 = NULL;
	_cleanup_(BIO_free_allp) BIO *content = NULL;
	STACK_OF(X509) * signers;
	const uint8_t *idc, *inner = NULL;
	size_t idc_len, inner_len = 0;
	char want[129], got[129];
	uint8_t image_digest[64];
	size_t image_digest_len;
	int r;

	r = decode_entry(pe, i, &p7, &idc, &idc_len, sig);
	if (r < 0)
		return r;
	if (!sig->digest_matches) {
		r = sl_pe_authenticode_digest(pe, sig->digest_alg, image_digest, &image_digest_len);
		if (r < 0)
			return r;
		sl_hex_encode(sig->digest, sig->digest_len, want);
		sl_hex_encode(image_digest, image_digest_len, got);
		return sl_errorf(-EUCLEAN,
				 "the image's %s Authenticode digest %s is not the signed one %s: "
				 "it was changed after signing",
				 sig->digest_alg, got, want);
	}

	/* The signature covers the SpcIndirectDataContent without its tag and length. */
	r = der_contents(idc, idc_len, &inner, &inner_len);
	if (r < 0)
		return r;
	content = BIO_new_mem_buf(inner, (int)inner_len);
	if (!content)
		return -ENOMEM;
	if (PKCS7_verify(p7, trust->certs, NULL, content, NULL, PKCS7_BINARY | PKCS7_NOVERIFY) != 1)
		return sl_sign_openssl_error(-EKEYREJECTED, "the PKCS#7 signature does not verify");
	signers = PKCS7_get0_signers(p7, trust->certs, 0);
	if (!signers || sk_X509_num(signers) != 1) {
		sk_X509_free(signers);
		return sl_sign_openssl_error(-EKEYREJECTED, "no signer certificate");
	}
	r = sl_sign_trust_check(trust, sk_X509_value(signers, 0), p7->d.sign->cert);
	if (r >= 0 && !sig->subject[0])
		sl_sign_name(X509_get_subject_name(sk_X509_value(signers, 0)), sig->subject,
			     sizeof(sig->subject));
	sk_X509_free(signers);
	return r;
}

int sl_sign_pe_verify(const SlSignTrust *trust, const SlPe *pe, SlPeSignature *ret)
{
	char first_msg[512] = "";
	int first = 0;

	if (pe->n_certs == 0)
		return sl_errorf(-ENOKEY, "the image is not signed");
	/* UEFI accepts an image when any one of its signatures is trusted. */
	for (size_t i = 0; i < pe->n_certs; i++) {
		SlPeSignature sig;
		int r;

		sl_error_clear();
		r = verify_entry(trust, pe, i, &sig);
		if (r >= 0) {
			if (ret)
				*ret = sig;
			return 0;
		}
		if (!first) {
			first = r;
			snprintf(first_msg, sizeof(first_msg), "%s", sl_error_message(r));
		}
	}
	if (pe->n_certs == 1)
		return sl_errorf(first, "%s", first_msg);
	return sl_errorf(first, "none of %zu signatures is trusted; signature 1: %s", pe->n_certs,
			 first_msg);
}

/* The PKCS#7 SignedData for an SpcIndirectDataContent, as DER. */
static int make_signed_data(const SlSignKey *key, const uint8_t *idc, size_t idc_len, uint8_t **ret,
			    size_t *ret_len)
{
	_cleanup_(PKCS7_freep) PKCS7 *p7 = PKCS7_new();
	PKCS7 *content = NULL;
	ASN1_TYPE *value = NULL;
	ASN1_STRING *seq = NULL;
	PKCS7_SIGNER_INFO *si;
	uint8_t md[32];

	if (!p7 || !PKCS7_set_type(p7, NID_pkcs7_signed))
		return -ENOMEM;
	si = PKCS7_add_signature(p7, key->cert, key->pkey, EVP_sha256());
	if (!si || !PKCS7_add_certificate(p7, key->cert))
		return sl_sign_openssl_error(-EIO, "cannot set up the PKCS#7 signer");

	/* content: ContentInfo { spcIndirectDataContext, [0] SpcIndirectDataContent } */
	content = PKCS7_new();
	value = ASN1_TYPE_new();
	seq = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
	if (!content || !value || !seq || !ASN1_STRING_set(seq, idc, (int)idc_len)) {
		PKCS7_free(content);
		ASN1_TYPE_free(value);
		ASN1_STRING_free(seq);
		return -ENOMEM;
	}
	ASN1_TYPE_set(value, V_ASN1_SEQUENCE, seq);
	content->type = OBJ_txt2obj(SPC_INDIRECT_DATA_OID, 1);
	content->d.other = value;
	if (!content->type || !PKCS7_set_content(p7, content)) {
		PKCS7_free(content);
		return sl_sign_openssl_error(-EIO, "cannot set the PKCS#7 content");
	}

	/* Signed attributes: contentType and messageDigest only (no signing time, so
	 * the signature is reproducible). The digest covers the content octets. */
	if (!EVP_Digest(idc + 2, idc_len - 2, md, NULL, EVP_sha256(), NULL) ||
	    !PKCS7_add_signed_attribute(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
					OBJ_txt2obj(SPC_INDIRECT_DATA_OID, 1)) ||
	    !PKCS7_add1_attrib_digest(si, md, sizeof(md)) || PKCS7_SIGNER_INFO_sign(si) != 1)
		return sl_sign_openssl_error(-EIO, "cannot sign");

	return sl_sign_pkcs7_der(p7, ret, ret_len);
}

int sl_sign_pe(const SlSignKey *key, const void *image, size_t len, unsigned flags, uint8_t **ret,
	       size_t *ret_len)
{
	_cleanup_(sl_pe_image_freep) SlPeImage *img = NULL;
	_cleanup_free_ uint8_t *der = NULL;
	uint8_t idc[sizeof(idc_sha256_prefix) + 32];
	size_t digest_len, der_len = 0;
	int r;

	if (EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_RSA)
		return sl_errorf(-EOPNOTSUPP,
				 "the key is not RSA: UEFI verifies RSA signatures only");
	r = sl_pe_image_new(image, len, &img);
	if (r < 0)
		return r;
	if (flags & SL_SIGN_REPLACE) {
		r = sl_pe_image_remove_signatures(img);
		if (r < 0)
			return r;
	}
	if (img->pe.n_certs == 0) {
		/* sbsign pads here too, and hashes the padding as trailing data. */
		r = sl_pe_image_pad8(img);
		if (r < 0)
			return r;
	}

	memcpy(idc, idc_sha256_prefix, sizeof(idc_sha256_prefix));
	r = sl_pe_authenticode_digest(&img->pe, "sha256", idc + sizeof(idc_sha256_prefix),
				      &digest_len);
	if (r < 0)
		return r;
	r = make_signed_data(key, idc, sizeof(idc), &der, &der_len);
	if (r < 0)
		return r;
	r = sl_pe_image_append_signature(img, der, der_len);
	if (r < 0)
		return r;
	sl_pe_image_set_checksum(img, sl_pe_checksum(&img->pe));
	*ret_len = img->len;
	*ret = TAKE_PTR(img->buf);
	return 0;
}
