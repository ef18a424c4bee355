/* SPDX-License-Identifier: MIT */
/*
 * `slate keys create`: a Secure Boot key set (PK, KEK, db) and a release key.
 *
 * The Secure Boot certificates are what `openssl req -x509 -newkey rsa:2048
 * -sha256` makes (the form OVMF and shim users enrol): RSA 2048, self-signed,
 * X.509 v3 with subject and authority key identifiers and basicConstraints
 * CA:TRUE, signed with SHA-256. The release key is Ed25519 (DESIGN.md,
 * "Updates").
 */
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "slate/error.h"
#include "sign-internal.h"

const char *const sl_sign_key_files[] = {
	"PK.key", "PK.crt",	 "KEK.key",	"KEK.crt", "db.key",
	"db.crt", "release.key", "release.pub", NULL,
};

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return sl_sign_openssl_error(-EIO, "cannot make a certificate extension");
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

static int make_cert(EVP_PKEY *pkey, const char *cn, unsigned days, X509 **ret)
{
	_cleanup_(X509_freep) X509 *x = X509_new();
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	X509_NAME *name;
	int r;

	if (!x)
		return -ENOMEM;
	/* A random positive 128-bit serial (RFC 5280: at most 20 octets, positive). */
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return sl_sign_openssl_error(-EIO, "no random bytes");
	serial[0] &= 0x7f;
	serial[0] |= 0x40;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
		BN_free(bn);
		return -ENOMEM;
	}
	BN_free(bn);
	name = X509_get_subject_name(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pkey) != 1)
		return sl_sign_openssl_error(-EIO, "cannot fill in the certificate");
	r = add_ext(x, NID_subject_key_identifier, "hash");
	if (r >= 0)
		r = add_ext(x, NID_authority_key_identifier, "keyid:always");
	if (r >= 0)
		r = add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	if (r < 0)
		return r;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		return sl_sign_openssl_error(-EIO, "cannot sign the certificate");
	*ret = TAKE_PTR(x);
	return 0;
}

typedef enum PemKind {
	PEM_PRIVATE_KEY,
	PEM_PUBLIC_KEY,
	PEM_CERTIFICATE,
} PemKind;

/* Bit i: sl_sign_key_files[i] was created by this run (and may be removed). */
static unsigned created;

static void mark_created(const char *name)
{
	for (size_t i = 0; sl_sign_key_files[i]; i++)
		if (streq(sl_sign_key_files[i], name))
			created |= 1u << i;
}

/* Write one PEM file that must not exist yet. */
static int write_pem(int dfd, const char *name, PemKind kind, EVP_PKEY *pkey, X509 *cert)
{
	mode_t mode = kind == PEM_PRIVATE_KEY ? 0600 : 0644;
	_cleanup_fclose_ FILE *f = NULL;
	int fd, ok;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return sl_errorf(-errno, "%s: %s", name, strerror(errno));
	mark_created(name);
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	if (fchmod(fd, mode) < 0)
		return sl_errorf(-errno, "%s: %s", name, strerror(errno));
	switch (kind) {
	case PEM_PRIVATE_KEY:
		ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
		break;
	case PEM_PUBLIC_KEY:
		ok = PEM_write_PUBKEY(f, pkey);
		break;
	default:
		ok = PEM_write_X509(f, cert);
		break;
	}
	if (!ok)
		return sl_sign_openssl_error(-EIO, name);
	if (fflush(f) != 0 || fsync(fd) < 0)
		return sl_errorf(-errno, "%s: %s", name, strerror(errno));
	return 0;
}

static int create_secure_boot_pair(int dfd, const char *stem, const SlKeysOptions *opts)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey =
		EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	_cleanup_(X509_freep) X509 *cert = NULL;
	char key_name[32], crt_name[32], cn[256];
	int r;

	if (!pkey)
		return sl_sign_openssl_error(-EIO, "cannot generate an RSA key");
	snprintf(cn, sizeof(cn), "%s %s", opts->subject, stem);
	r = make_cert(pkey, cn, opts->days, &cert);
	if (r < 0)
		return r;
	snprintf(key_name, sizeof(key_name), "%s.key", stem);
	snprintf(crt_name, sizeof(crt_name), "%s.crt", stem);
	r = write_pem(dfd, key_name, PEM_PRIVATE_KEY, pkey, NULL);
	if (r >= 0)
		r = write_pem(dfd, crt_name, PEM_CERTIFICATE, NULL, cert);
	return r;
}

static int create_release_pair(int dfd)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	int r;

	if (!pkey)
		return sl_sign_openssl_error(-EIO, "cannot generate an Ed25519 key");
	r = write_pem(dfd, "release.key", PEM_PRIVATE_KEY, pkey, NULL);
	if (r >= 0)
		r = write_pem(dfd, "release.pub", PEM_PUBLIC_KEY, pkey, NULL);
	return r;
}

int sl_sign_keys_create(const char *dir, const SlKeysOptions *opts)
{
	int dfd, r;

	if (!opts->subject || !opts->subject[0] || strlen(opts->subject) > 200)
		return sl_errorf(-EINVAL, "the subject must be 1 to 200 characters");
	if (opts->days == 0 || opts->days > 36500)
		return sl_errorf(-ERANGE, "validity of %u days is out of range (1 to 36500)",
				 opts->days);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return sl_errorf(-errno, "cannot create %s: %s", dir, strerror(errno));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sl_errorf(-errno, "%s: %s", dir, strerror(errno));

	/* Refuse before writing anything: keys are never overwritten. */
	for (size_t i = 0; sl_sign_key_files[i]; i++) {
		struct stat st;

		if (fstatat(dfd, sl_sign_key_files[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			close(dfd);
			return sl_errorf(-EEXIST, "%s/%s exists: refusing to overwrite keys", dir,
					 sl_sign_key_files[i]);
		}
	}

	created = 0;
	r = create_secure_boot_pair(dfd, "PK", opts);
	if (r >= 0)
		r = create_secure_boot_pair(dfd, "KEK", opts);
	if (r >= 0)
		r = create_secure_boot_pair(dfd, "db", opts);
	if (r >= 0)
		r = create_release_pair(dfd);
	if (r >= 0 && fsync(dfd) < 0)
		r = -errno;
	if (r < 0) {
		/* Remove the partial set: only files this run created (O_EXCL). */
		for (size_t i = 0; sl_sign_key_files[i]; i++)
			if (created & (1u << i))
				(void)unlinkat(dfd, sl_sign_key_files[i], 0);
		(void)sl_error_prefix(r, "%s: ", dir);
	}
	close(dfd);
	return r;
}
