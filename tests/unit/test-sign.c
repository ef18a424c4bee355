/* SPDX-License-Identifier: MIT */
/*
 * lib/sign: key sets, Authenticode signing and verification (against the
 * sbsign-signed vectors in tests/vectors/pe/ too), tampering, detached PKCS#7.
 */
#include <sys/stat.h>

#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/sign.h"
#include "slate/strutil.h"
#include "test.h"

static char keydir[512];

/* One key set for the whole run (RSA generation is the slow part). */
static const char *keys(void)
{
	if (!keydir[0]) {
		SlKeysOptions o = { .subject = "Unit Test", .days = 30 };

		snprintf(keydir, sizeof(keydir), "%s/keys", sl_test_tmpdir());
		if (sl_sign_keys_create(keydir, &o) < 0)
			sl_test_fail(__FILE__, __LINE__, "keys: %s", sl_error_message(-EIO));
	}
	return keydir;
}

static char *key_path(const char *name)
{
	return sl_asprintf("%s/%s", keys(), name);
}

static SlSignKey *load_key(const char *stem)
{
	_cleanup_free_ char *k = NULL, *c = NULL;
	SlSignKey *key = NULL;

	k = sl_asprintf("%s/%s.key", keys(), stem);
	c = sl_asprintf("%s/%s.crt", keys(), stem);
	if (sl_sign_key_load(k, c, &key) < 0)
		sl_test_fail(__FILE__, __LINE__, "cannot load %s", k);
	return key;
}

static SlSignTrust *load_trust(const char *path)
{
	SlSignTrust *t = NULL;

	if (sl_sign_trust_load(path, &t) < 0)
		sl_test_fail(__FILE__, __LINE__, "cannot load %s", path);
	return t;
}

static uint8_t *read_vector(const char *name, size_t *ret_len)
{
	_cleanup_free_ char *path = sl_asprintf("%s/tests/vectors/pe/%s", sl_test_srcdir(), name);
	uint8_t *buf = NULL;

	if (sl_read_file(path, 1u << 20, &buf, ret_len) < 0)
		sl_test_fail(__FILE__, __LINE__, "cannot read %s", path);
	return buf;
}

static int verify_buf(const SlSignTrust *t, const uint8_t *buf, size_t len)
{
	SlPe pe;
	int r = sl_pe_decode(buf, len, &pe);

	return r < 0 ? r : sl_sign_pe_verify(t, &pe, NULL);
}

TEST(keys_create_files_and_modes)
{
	static const mode_t modes[] = { 0600, 0644, 0600, 0644, 0600, 0644, 0600, 0644 };
	SlKeysOptions o = { .subject = "Unit Test", .days = 30 };
	struct stat st;

	for (size_t i = 0; sl_sign_key_files[i]; i++) {
		_cleanup_free_ char *p = key_path(sl_sign_key_files[i]);

		ASSERT_EQ(stat(p, &st), 0);
		ASSERT_UEQ(st.st_mode & 07777, modes[i]);
		ASSERT_TRUE(st.st_size > 100);
	}
	ASSERT_EQ(stat(keys(), &st), 0);
	ASSERT_UEQ(st.st_mode & 07777, 0700);
	/* A second run refuses and changes nothing. */
	ASSERT_ERR(sl_sign_keys_create(keys(), &o), -EEXIST);
	ASSERT_TRUE(strstr(sl_error_message(-EEXIST), "PK.key exists"));

	/* One existing file (the last one) is enough to refuse; nothing is written. */
	{
		_cleanup_free_ char *dir = sl_asprintf("%s/partial", sl_test_tmpdir());
		_cleanup_free_ char *pub = sl_asprintf("%s/release.pub", dir);
		_cleanup_free_ char *pk = sl_asprintf("%s/PK.key", dir);

		ASSERT_EQ(mkdir(dir, 0700), 0);
		ASSERT_OK(sl_write_file_atomic(pub, "x", 1, 0644));
		ASSERT_ERR(sl_sign_keys_create(dir, &o), -EEXIST);
		ASSERT_TRUE(stat(pk, &st) < 0 && errno == ENOENT);
	}
	o.subject = "";
	ASSERT_ERR(sl_sign_keys_create(keys(), &o), -EINVAL);
}

TEST(key_must_match_certificate)
{
	_cleanup_free_ char *k = key_path("db.key"), *c = key_path("KEK.crt");
	SlSignKey *key = NULL;

	ASSERT_ERR(sl_sign_key_load(k, c, &key), -EKEYREJECTED);
	ASSERT_ERR(sl_sign_key_load(c, c, &key), -EBADMSG);
	ASSERT_TRUE(key == NULL);
}

TEST(sign_verify_roundtrip_and_determinism)
{
	_cleanup_(sl_sign_key_freep) SlSignKey *db = load_key("db");
	_cleanup_free_ char *db_crt = key_path("db.crt"), *kek_crt = key_path("KEK.crt");
	_cleanup_(sl_sign_trust_freep) SlSignTrust *trust = load_trust(db_crt);
	_cleanup_(sl_sign_trust_freep) SlSignTrust *wrong = load_trust(kek_crt);
	_cleanup_free_ uint8_t *in = NULL, *a = NULL, *b = NULL;
	size_t in_len, a_len, b_len;
	SlPeSignature sig;
	SlPe pe;

	in = read_vector("trailing.pe", &in_len); /* 2661 bytes: padded when signed */
	ASSERT_OK(sl_sign_pe(db, in, in_len, 0, &a, &a_len));
	ASSERT_OK(sl_sign_pe(db, in, in_len, 0, &b, &b_len));
	ASSERT_UEQ(a_len, b_len);
	ASSERT_MEMEQ(a, b, a_len);
	ASSERT_OK(sl_pe_decode(a, a_len, &pe));
	/* The image is unchanged but for the checksum and the security directory. */
	ASSERT_MEMEQ(a, in, pe.opt_offset + 64);
	ASSERT_MEMEQ(a + pe.opt_offset + 68, in + pe.opt_offset + 68, 144 - 68);
	ASSERT_MEMEQ(a + pe.opt_offset + 152, in + pe.opt_offset + 152,
		     in_len - pe.opt_offset - 152);
	ASSERT_UEQ(pe.cert_table_offset, 2664);
	ASSERT_UEQ(pe.checksum, sl_pe_checksum(&pe));
	ASSERT_OK(sl_sign_pe_verify(trust, &pe, &sig));
	ASSERT_STREQ(sig.subject, "CN=Unit Test db");
	ASSERT_STREQ(sig.digest_alg, "sha256");
	ASSERT_TRUE(sig.digest_matches);
	ASSERT_ERR(sl_sign_pe_verify(wrong, &pe, NULL), -EKEYREJECTED);
	ASSERT_TRUE(strstr(sl_error_message(-EKEYREJECTED), "CN=Unit Test db"));

	/* An unsigned image. */
	ASSERT_OK(sl_pe_decode(in, in_len, &pe));
	ASSERT_ERR(sl_sign_pe_verify(trust, &pe, NULL), -ENOKEY);
}

TEST(verify_sbsign_vectors)
{
	_cleanup_free_ char *signer =
		sl_asprintf("%s/tests/vectors/pe/signer.crt", sl_test_srcdir());
	_cleanup_free_ char *db_crt = key_path("db.crt");
	_cleanup_(sl_sign_trust_freep) SlSignTrust *trust = load_trust(signer);
	_cleanup_(sl_sign_trust_freep) SlSignTrust *wrong = load_trust(db_crt);
	static const char *const names[] = { "signed.pe", "signed-trailing.pe" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ uint8_t *buf = NULL;
		SlPeSignature sigs[4];
		size_t len, n;
		SlPe pe;

		buf = read_vector(names[i], &len);
		ASSERT_OK(sl_pe_decode(buf, len, &pe));
		ASSERT_OK(sl_sign_pe_verify(trust, &pe, NULL));
		ASSERT_ERR(sl_sign_pe_verify(wrong, &pe, NULL), -EKEYREJECTED);
		ASSERT_OK(sl_sign_pe_signatures(&pe, sigs, ARRAY_SIZE(sigs), &n));
		ASSERT_UEQ(n, 1);
		ASSERT_STREQ(sigs[0].subject, "CN=Slate test vector signer");
		ASSERT_STREQ(sigs[0].issuer, "CN=Slate test vector signer");
		ASSERT_TRUE(sigs[0].digest_matches);
	}
}

TEST(second_signature_appended)
{
	_cleanup_(sl_sign_key_freep) SlSignKey *db = load_key("db");
	_cleanup_free_ char *signer =
		sl_asprintf("%s/tests/vectors/pe/signer.crt", sl_test_srcdir());
	_cleanup_free_ char *db_crt = key_path("db.crt"), *pk_crt = key_path("PK.crt");
	_cleanup_(sl_sign_trust_freep) SlSignTrust *t1 = load_trust(signer);
	_cleanup_(sl_sign_trust_freep) SlSignTrust *t2 = load_trust(db_crt);
	_cleanup_(sl_sign_trust_freep) SlSignTrust *t3 = load_trust(pk_crt);
	_cleanup_free_ uint8_t *in = NULL, *out = NULL, *repl = NULL;
	size_t in_len, out_len, repl_len;
	SlPe pe;

	in = read_vector("signed.pe", &in_len);
	ASSERT_OK(sl_sign_pe(db, in, in_len, 0, &out, &out_len));
	ASSERT_OK(sl_pe_decode(out, out_len, &pe));
	ASSERT_UEQ(pe.n_certs, 2);
	ASSERT_OK(sl_sign_pe_verify(t1, &pe, NULL));
	ASSERT_OK(sl_sign_pe_verify(t2, &pe, NULL));
	ASSERT_ERR(sl_sign_pe_verify(t3, &pe, NULL), -EKEYREJECTED);
	ASSERT_TRUE(strstr(sl_error_message(-EKEYREJECTED), "none of 2 signatures"));

	ASSERT_OK(sl_sign_pe(db, in, in_len, SL_SIGN_REPLACE, &repl, &repl_len));
	ASSERT_OK(sl_pe_decode(repl, repl_len, &pe));
	ASSERT_UEQ(pe.n_certs, 1);
	ASSERT_ERR(sl_sign_pe_verify(t1, &pe, NULL), -EKEYREJECTED);
	ASSERT_OK(sl_sign_pe_verify(t2, &pe, NULL));
}

/* Any change to a hashed byte is refused; changes outside the hash are not. */
TEST(tampering_refused_everywhere)
{
	_cleanup_(sl_sign_key_freep) SlSignKey *db = load_key("db");
	_cleanup_free_ char *db_crt = key_path("db.crt");
	_cleanup_(sl_sign_trust_freep) SlSignTrust *trust = load_trust(db_crt);
	_cleanup_free_ uint8_t *in = NULL, *s = NULL;
	SlPeRange ranges[SL_PE_MAX_RANGES];
	size_t in_len, len, n, tried = 0;
	SlPe pe;

	in = read_vector("trailing.pe", &in_len);
	ASSERT_OK(sl_sign_pe(db, in, in_len, 0, &s, &len));
	ASSERT_OK(sl_pe_decode(s, len, &pe));
	n = sl_pe_authenticode_ranges(&pe, ranges);
	for (size_t k = 0; k < n; k++)
		for (uint32_t off = ranges[k].offset; off < ranges[k].offset + ranges[k].size;
		     off++) {
			_cleanup_free_ uint8_t *t = malloc(len);
			int r;

			memcpy(t, s, len);
			t[off] ^= 0x01;
			r = verify_buf(trust, t, len);
			if (r >= 0)
				sl_test_fail(__FILE__, __LINE__,
					     "byte 0x%x changed: still verified", off);
			tried++;
		}
	ASSERT_TRUE(tried > 2600);

	/* The CheckSum field is not hashed: changing it keeps the signature valid. */
	s[pe.opt_offset + 64] ^= 0xff;
	ASSERT_OK(verify_buf(trust, s, len));
}

TEST(truncated_and_broken_signatures_refused)
{
	_cleanup_(sl_sign_key_freep) SlSignKey *db = load_key("db");
	_cleanup_free_ char *db_crt = key_path("db.crt");
	_cleanup_(sl_sign_trust_freep) SlSignTrust *trust = load_trust(db_crt);
	_cleanup_free_ uint8_t *in = NULL, *s = NULL;
	size_t in_len, len;
	uint32_t dir, table;
	SlPe pe;

	in = read_vector("two-sections.pe", &in_len);
	ASSERT_OK(sl_sign_pe(db, in, in_len, 0, &s, &len));
	ASSERT_OK(sl_pe_decode(s, len, &pe));
	dir = pe.opt_offset + 112 + 8 * SL_PE_DIR_SECURITY;
	table = pe.cert_table_offset;

	/* The file cut anywhere inside the signature: the table points outside it. */
	for (size_t cut = table; cut < len; cut += 7)
		ASSERT_ERR(verify_buf(trust, s, cut), -EBADMSG);

	/* The entry and table shortened consistently: the PKCS#7 is truncated. */
	for (uint32_t keep = 64; keep < pe.certs[0].length - 8; keep += 97) {
		_cleanup_free_ uint8_t *t = malloc(len);
		uint32_t entry = 8 + keep, padded = (entry + 7) & ~7u;

		memcpy(t, s, len);
		sl_put_le32(t + table, entry);
		sl_put_le32(t + dir + 4, padded);
		sl_error_clear();
		ASSERT_ERR(verify_buf(trust, t, table + padded), -EBADMSG);
		ASSERT_TRUE(strstr(sl_error_message(-EBADMSG), "PKCS#7"));
	}

	/* The certificate table pointing outside the file. */
	{
		_cleanup_free_ uint8_t *t = malloc(len);

		memcpy(t, s, len);
		sl_put_le32(t + dir, table + 0x10000);
		sl_error_clear();
		ASSERT_ERR(verify_buf(trust, t, len), -EBADMSG);
		ASSERT_TRUE(strstr(sl_error_message(-EBADMSG), "outside the file"));
		memcpy(t, s, len);
		sl_put_le32(t + dir + 4, 0xfffffff0);
		ASSERT_ERR(verify_buf(trust, t, len), -EBADMSG);
	}

	/* A signature byte changed: the RSA signature no longer verifies. */
	{
		_cleanup_free_ uint8_t *t = malloc(len);

		memcpy(t, s, len);
		t[table + pe.certs[0].length - 20] ^= 0x40;
		sl_error_clear();
		ASSERT_ERR(verify_buf(trust, t, len), -EKEYREJECTED);
	}
}

TEST(detached_pkcs7)
{
	static const char roothash[] =
		"4a4c1d3c0e1ab76f4e08ac3bd0b4fda0a45f0c3a5e0cfa4e1f8c2b2a1cd3e4f5";
	_cleanup_(sl_sign_key_freep) SlSignKey *db = load_key("db");
	_cleanup_free_ char *db_crt = key_path("db.crt"), *kek_crt = key_path("KEK.crt");
	_cleanup_(sl_sign_trust_freep) SlSignTrust *trust = load_trust(db_crt);
	_cleanup_(sl_sign_trust_freep) SlSignTrust *wrong = load_trust(kek_crt);
	_cleanup_free_ uint8_t *a = NULL, *b = NULL;
	size_t a_len, b_len, n = strlen(roothash);

	ASSERT_OK(sl_sign_detached(db, roothash, n, &a, &a_len));
	ASSERT_OK(sl_sign_detached(db, roothash, n, &b, &b_len));
	ASSERT_UEQ(a_len, b_len);
	ASSERT_MEMEQ(a, b, a_len);
	ASSERT_OK(sl_sign_detached_verify(trust, a, a_len, roothash, n));
	ASSERT_ERR(sl_sign_detached_verify(wrong, a, a_len, roothash, n), -EKEYREJECTED);
	/* Case matters: the kernel compares the hex text as it is in the table. */
	{
		char upper[sizeof(roothash)];

		for (size_t i = 0; i < n + 1; i++)
			upper[i] =
				(char)(roothash[i] >= 'a' && roothash[i] <= 'f' ? roothash[i] - 32
										: roothash[i]);
		ASSERT_ERR(sl_sign_detached_verify(trust, a, a_len, upper, n), -EKEYREJECTED);
	}
	ASSERT_ERR(sl_sign_detached_verify(trust, a, a_len - 10, roothash, n), -EBADMSG);
}
