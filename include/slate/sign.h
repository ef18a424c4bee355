/* SPDX-License-Identifier: MIT */
/*
 * Signing with OpenSSL: Authenticode for UEFI PE images (what Secure Boot
 * checks), a plain detached PKCS#7 signature (what the kernel checks for a
 * dm-verity root hash, SPEC.md §1.7), and the key set `slate keys create` makes.
 *
 * Authenticode (Microsoft "Windows Authenticode Portable Executable Signature
 * Format"; SPEC.md §3.3): a PKCS#7 SignedData whose content is an
 * SpcIndirectDataContent carrying the image's SHA-256 Authenticode digest,
 * stored as a WIN_CERTIFICATE in the image's certificate table. Slate's
 * signatures carry exactly two signed attributes (contentType and
 * messageDigest; no signing time), so signing the same image with the same
 * RSA key gives the same bytes.
 *
 * Trust follows UEFI (edk2 DxeImageVerificationLib): an image is accepted when
 * one of its signatures verifies and its signer chains to a trusted
 * certificate (the trusted certificate may itself be the signer or any CA
 * above it); certificate validity dates and key usages are not checked, as the
 * firmware does not check them.
 *
 * Errors: -EBADMSG malformed input (PE, PKCS#7, DER), -ENOKEY not signed,
 * -EUCLEAN the image does not match the digest in its signature (changed after
 * signing), -EKEYREJECTED the signature does not verify or its signer is not
 * trusted, -EOPNOTSUPP an algorithm we do not take, -EEXIST a key file exists.
 * The detail message (sl_error_message) says which signature and why.
 */
#pragma once

#include "slate/macros.h"
#include "slate/pe.h"

/* A private key with its X.509 certificate (PEM or DER files). */
typedef struct SlSignKey SlSignKey;

int sl_sign_key_load(const char *key_path, const char *cert_path, SlSignKey **ret) _wur_;
void sl_sign_key_free(SlSignKey *k);
SL_DEFINE_CLEANUP(SlSignKey *, sl_sign_key_free)

/* Trusted certificates: every certificate in a PEM file (or one DER certificate). */
typedef struct SlSignTrust SlSignTrust;

int sl_sign_trust_load(const char *cert_path, SlSignTrust **ret) _wur_;
void sl_sign_trust_free(SlSignTrust *t);
SL_DEFINE_CLEANUP(SlSignTrust *, sl_sign_trust_free)

/* Drop any signatures the image already has instead of adding one more. */
#define SL_SIGN_REPLACE (1u << 0)

/*
 * Sign a PE image with SHA-256 Authenticode. An unsigned image is first padded
 * with zeroes to a multiple of 8 bytes (as sbsign does; the padding is hashed),
 * then the signature is appended as a new certificate table. A signed image
 * keeps its signatures and gets one more, unless SL_SIGN_REPLACE. The PE
 * checksum is recomputed. The key must be RSA (what UEFI verifies).
 * *ret is a new buffer owned by the caller.
 */
int sl_sign_pe(const SlSignKey *key, const void *image, size_t len, unsigned flags, uint8_t **ret,
	       size_t *ret_len) _wur_;

/* What one Authenticode signature says, decoded without any trust decision. */
typedef struct SlPeSignature {
	size_t index;	    /* the certificate-table entry */
	char digest_alg[8]; /* "sha256", "sha1", "sha384", "sha512" */
	uint8_t digest[64]; /* the image digest the signature carries */
	size_t digest_len;
	bool digest_matches; /* it equals the image's digest */
	char subject[256];   /* the signer certificate's subject (RFC 2253), "" if absent */
	char issuer[256];
	char serial[80]; /* hex */
} SlPeSignature;

/*
 * Decode the image's signatures into ret (at most max). Entries that are not
 * PKCS#7 SignedData with an SpcIndirectDataContent fail with -EBADMSG.
 */
int sl_sign_pe_signatures(const SlPe *pe, SlPeSignature *ret, size_t max, size_t *ret_n) _wur_;

/*
 * Verify a decoded image: accepted when one signature's digest matches the
 * image, its PKCS#7 signature verifies, and its signer chains to trust. *ret
 * (may be NULL) describes the accepted signature.
 */
int sl_sign_pe_verify(const SlSignTrust *trust, const SlPe *pe, SlPeSignature *ret) _wur_;

/*
 * A detached DER PKCS#7 SignedData over data with SHA-256, no certificates and
 * no signed attributes: `openssl smime -sign -nocerts -noattr -binary`, what
 * the kernel's dm-verity root_hash_sig_key_desc takes. Deterministic for RSA.
 */
int sl_sign_detached(const SlSignKey *key, const void *data, size_t len, uint8_t **ret_der,
		     size_t *ret_len) _wur_;

/* Check a detached signature (as the kernel would) against trust. */
int sl_sign_detached_verify(const SlSignTrust *trust, const void *der, size_t der_len,
			    const void *data, size_t len) _wur_;

/* The key set (HELPERS.md, "keys directory"). */
typedef struct SlKeysOptions {
	const char *subject; /* names: "<subject> PK", "<subject> KEK", "<subject> db" */
	unsigned days;	     /* certificate validity */
} SlKeysOptions;

/*
 * Create in dir (made 0700 if missing): PK.key PK.crt KEK.key KEK.crt db.key
 * db.crt (RSA 2048, self-signed X.509 v3 with SHA-256, PEM) and release.key
 * release.pub (Ed25519, PEM PKCS#8 / SubjectPublicKeyInfo). Private keys are
 * created 0600, with O_EXCL. If any of the files exists nothing is written and
 * the result is -EEXIST naming it; if writing fails, the files made so far are
 * removed.
 */
int sl_sign_keys_create(const char *dir, const SlKeysOptions *opts) _wur_;

/* The file names sl_sign_keys_create() writes, NULL-terminated. */
extern const char *const sl_sign_key_files[];
