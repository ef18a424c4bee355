/* SPDX-License-Identifier: MIT */
/*
 * lib/tpm against a real TPM emulator: the commands must be the bytes written
 * from the TPM 2.0 specification in tests/vectors/tpm/make-vectors.sh, and the
 * responses swtpm (libtpms) gave to them must decode to what the TPM holds,
 * computed here with OpenSSL. Then every way a response can be malformed.
 */
#include <openssl/evp.h>

#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/tpm.h"
#include "test.h"

static const char *const bank_names[4] = { "sha1", "sha256", "sha384", "sha512" };
static const uint16_t bank_algs[4] = { SL_TPM_ALG_SHA1, SL_TPM_ALG_SHA256, SL_TPM_ALG_SHA384,
				       SL_TPM_ALG_SHA512 };

static void vector(const char *name, uint8_t **ret, size_t *ret_len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/tests/vectors/tpm/%s", sl_test_srcdir(), name);
	ASSERT_OK(sl_read_file(path, 1 << 16, ret, ret_len));
}

static void digest(const char *alg, const void *data, size_t len, uint8_t *out)
{
	unsigned n = 0;

	ASSERT_TRUE(EVP_Digest(data, len, out, &n, EVP_get_digestbyname(alg), NULL) == 1);
}

/* PCR = H(PCR || H(word)), as the TPM extends it. */
static void extend(const char *alg, uint8_t *pcr, const char *word)
{
	uint8_t buf[2 * SL_TPM_DIGEST_MAX];
	size_t n = (size_t)EVP_MD_get_size(EVP_get_digestbyname(alg));

	memcpy(buf, pcr, n);
	digest(alg, word, strlen(word), buf + n);
	digest(alg, buf, 2 * n, pcr);
}

static void word_digests(const char *word, SlTpmDigest d[4])
{
	for (size_t i = 0; i < 4; i++) {
		d[i] = (SlTpmDigest){ .alg = bank_algs[i],
				      .size = (uint16_t)sl_tpm_alg_digest_size(bank_algs[i]) };
		digest(bank_names[i], word, strlen(word), d[i].digest);
	}
}

TEST(tpm_commands_match_the_spec_bytes)
{
	static const char *const words[2] = { "enter-initrd", "leave-initrd" };
	uint8_t buf[SL_TPM_BUFFER_MAX], *want;
	size_t len, want_len;
	SlTpmDigest d[4];

	ASSERT_OK(sl_tpm_get_pcrs_command(buf, sizeof(buf), &len));
	vector("getcap-pcrs.cmd", &want, &want_len);
	ASSERT_EQ(len, want_len);
	ASSERT_MEMEQ(buf, want, len);
	free(want);

	ASSERT_OK(sl_tpm_pcr_read_command(11, bank_algs, 4, buf, sizeof(buf), &len));
	vector("pcrread-11.cmd", &want, &want_len);
	ASSERT_EQ(len, want_len);
	ASSERT_MEMEQ(buf, want, len);
	free(want);

	for (size_t w = 0; w < 2; w++) {
		char name[64];

		word_digests(words[w], d);
		ASSERT_OK(sl_tpm_pcr_extend_command(11, d, 4, buf, sizeof(buf), &len));
		snprintf(name, sizeof(name), "extend-%s.cmd", words[w]);
		vector(name, &want, &want_len);
		ASSERT_EQ(len, want_len);
		ASSERT_MEMEQ(buf, want, len);
		free(want);
	}
}

TEST(tpm_command_arguments)
{
	uint8_t buf[SL_TPM_BUFFER_MAX];
	uint16_t two[2] = { SL_TPM_ALG_SHA256, SL_TPM_ALG_SHA256 }, odd = 0x0099;
	SlTpmDigest d[4];
	size_t len;

	word_digests("x", d);
	ASSERT_ERR(sl_tpm_pcr_read_command(24, bank_algs, 4, buf, sizeof(buf), &len), -EINVAL);
	ASSERT_ERR(sl_tpm_pcr_read_command(11, bank_algs, 0, buf, sizeof(buf), &len), -EINVAL);
	ASSERT_ERR(sl_tpm_pcr_read_command(11, two, 2, buf, sizeof(buf), &len), -EINVAL);
	ASSERT_ERR(sl_tpm_pcr_read_command(11, &odd, 1, buf, sizeof(buf), &len), -EINVAL);
	ASSERT_ERR(sl_tpm_pcr_read_command(11, bank_algs, 4, buf, 37, &len), -ENOBUFS);
	ASSERT_OK(sl_tpm_pcr_read_command(11, bank_algs, 4, buf, 38, &len));
	ASSERT_ERR(sl_tpm_pcr_extend_command(24, d, 4, buf, sizeof(buf), &len), -EINVAL);
	ASSERT_ERR(sl_tpm_pcr_extend_command(11, d, 0, buf, sizeof(buf), &len), -EINVAL);
	ASSERT_ERR(sl_tpm_pcr_extend_command(11, d, 4, buf, 202, &len), -ENOBUFS);
	d[1].size = 20; /* a sha256 digest of sha1's size */
	ASSERT_ERR(sl_tpm_pcr_extend_command(11, d, 4, buf, sizeof(buf), &len), -EINVAL);
	d[1] = d[0];
	ASSERT_ERR(sl_tpm_pcr_extend_command(11, d, 4, buf, sizeof(buf), &len), -EINVAL);
	ASSERT_ERR(sl_tpm_get_pcrs_command(buf, 21, &len), -ENOBUFS);
}

TEST(tpm_decode_swtpm_banks)
{
	uint8_t *rsp;
	size_t len;
	uint32_t rc = 1;
	SlTpmBanks b;

	vector("getcap-pcrs-4banks.rsp", &rsp, &len);
	ASSERT_OK(sl_tpm_get_pcrs_decode(rsp, len, &b, &rc));
	ASSERT_UEQ(rc, 0);
	ASSERT_EQ(b.n, 4);
	for (size_t i = 0; i < 4; i++) {
		ASSERT_UEQ(b.bank[i].alg, bank_algs[i]);
		ASSERT_TRUE(sl_tpm_selection_has_all(&b.bank[i]));
		ASSERT_TRUE(sl_tpm_selection_has(&b.bank[i], 11));
		ASSERT_FALSE(sl_tpm_selection_has(&b.bank[i], 24));
	}
	free(rsp);

	/* swtpm_setup --pcr-banks sha256: the other banks are listed with no PCRs. */
	vector("getcap-pcrs-sha256.rsp", &rsp, &len);
	ASSERT_OK(sl_tpm_get_pcrs_decode(rsp, len, &b, &rc));
	ASSERT_EQ(b.n, 4);
	for (size_t i = 0; i < 4; i++) {
		ASSERT_EQ(sl_tpm_selection_has_all(&b.bank[i]), i == 1);
		ASSERT_EQ(sl_tpm_selection_has(&b.bank[i], 11), i == 1);
	}
	free(rsp);
}

TEST(tpm_decode_swtpm_pcr_values)
{
	uint8_t *rsp, want[4][SL_TPM_DIGEST_MAX] = { { 0 } };
	SlTpmDigest v[8];
	size_t len, n;
	uint32_t rc;

	vector("pcrread-11-zero.rsp", &rsp, &len);
	ASSERT_OK(sl_tpm_pcr_read_decode(rsp, len, 11, v, 8, &n, &rc));
	ASSERT_EQ(n, 4);
	for (size_t i = 0; i < 4; i++) {
		ASSERT_UEQ(v[i].alg, bank_algs[i]);
		ASSERT_EQ(v[i].size, sl_tpm_alg_digest_size(bank_algs[i]));
		ASSERT_MEMEQ(v[i].digest, want[i], v[i].size);
	}
	free(rsp);

	/* After systemd-pcrextend enter-initrd, leave-initrd from zero. */
	vector("pcrread-11-phases.rsp", &rsp, &len);
	ASSERT_OK(sl_tpm_pcr_read_decode(rsp, len, 11, v, 8, &n, &rc));
	ASSERT_EQ(n, 4);
	for (size_t i = 0; i < 4; i++) {
		extend(bank_names[i], want[i], "enter-initrd");
		extend(bank_names[i], want[i], "leave-initrd");
		ASSERT_MEMEQ(v[i].digest, want[i], v[i].size);
	}
	/* The caller asked for fewer than the TPM answered. */
	ASSERT_ERR(sl_tpm_pcr_read_decode(rsp, len, 11, v, 3, &n, &rc), -EBADMSG);
	/* A value for another PCR than the one asked for. */
	ASSERT_ERR(sl_tpm_pcr_read_decode(rsp, len, 12, v, 8, &n, &rc), -EBADMSG);
	free(rsp);

	/* A TPM with only sha256: the other banks come back with empty bitmaps. */
	vector("pcrread-11-sha256.rsp", &rsp, &len);
	ASSERT_OK(sl_tpm_pcr_read_decode(rsp, len, 11, v, 8, &n, &rc));
	ASSERT_EQ(n, 1);
	ASSERT_UEQ(v[0].alg, SL_TPM_ALG_SHA256);
	free(rsp);
}

TEST(tpm_decode_swtpm_extend)
{
	uint8_t *rsp;
	size_t len;
	uint32_t rc = 1;
	char desc[64];

	vector("extend.rsp", &rsp, &len);
	ASSERT_OK(sl_tpm_pcr_extend_decode(rsp, len, &rc));
	ASSERT_UEQ(rc, 0);
	free(rsp);

	/* PCR 24 does not exist: TPM_RC_VALUE for the first handle. */
	vector("extend-pcr24.rsp", &rsp, &len);
	ASSERT_ERR(sl_tpm_pcr_extend_decode(rsp, len, &rc), -EREMOTEIO);
	ASSERT_UEQ(rc, 0x184);
	ASSERT_STREQ(sl_tpm_rc_describe(rc, desc, sizeof(desc)),
		     "TPM_RC_VALUE (handle 1) 0x00000184");
	ASSERT_TRUE(strstr(sl_error_message(-EREMOTEIO), "TPM2_PCR_Extend: the TPM answered "
							 "TPM_RC_VALUE (handle 1)"));
	/* The same error for the other commands. */
	ASSERT_ERR(sl_tpm_get_pcrs_decode(rsp, len, &(SlTpmBanks){ 0 }, &rc), -EREMOTEIO);
	free(rsp);
}

TEST(tpm_response_codes)
{
	char d[64];

	ASSERT_STREQ(sl_tpm_rc_describe(0x922, d, sizeof(d)), "TPM_RC_RETRY 0x00000922");
	ASSERT_STREQ(sl_tpm_rc_describe(0x1c4, d, sizeof(d)), "TPM_RC_VALUE (parameter 1) "
							      "0x000001c4");
	ASSERT_STREQ(sl_tpm_rc_describe(0x98e, d, sizeof(d)), "TPM_RC_AUTH_FAIL (session 1) "
							      "0x0000098e");
	ASSERT_STREQ(sl_tpm_rc_describe(0x101, d, sizeof(d)), "TPM_RC_FAILURE 0x00000101");
	ASSERT_STREQ(sl_tpm_rc_describe(0x1ff, d, sizeof(d)), "TPM error (parameter 1) "
							      "0x000001ff");
	ASSERT_STREQ(sl_tpm_rc_describe(0x000a0008, d, sizeof(d)), "TPM error 0x000a0008");
	ASSERT_TRUE(sl_tpm_rc_is_transient(SL_TPM_RC_RETRY));
	ASSERT_TRUE(sl_tpm_rc_is_transient(SL_TPM_RC_TESTING));
	ASSERT_TRUE(sl_tpm_rc_is_transient(SL_TPM_RC_YIELDED));
	ASSERT_FALSE(sl_tpm_rc_is_transient(0x101));
	ASSERT_STREQ(sl_tpm_alg_name(SL_TPM_ALG_SHA384), "sha384");
	ASSERT_TRUE(sl_tpm_alg_name(0x0099) == NULL);
	ASSERT_EQ(sl_tpm_alg_digest_size(SL_TPM_ALG_SM3_256), 32);
	ASSERT_EQ(sl_tpm_alg_digest_size(0x0099), 0);
}

/* Run all three decoders over buf; each must refuse it with -EBADMSG. */
static void all_refuse(const uint8_t *buf, size_t len, const char *what)
{
	SlTpmBanks b;
	SlTpmDigest v[8];
	size_t n;
	uint32_t rc;
	int r[3];

	r[0] = sl_tpm_get_pcrs_decode(buf, len, &b, &rc);
	r[1] = sl_tpm_pcr_read_decode(buf, len, 11, v, 8, &n, &rc);
	r[2] = sl_tpm_pcr_extend_decode(buf, len, &rc);
	for (int i = 0; i < 3; i++)
		if (r[i] != -EBADMSG)
			sl_test_fail(__FILE__, __LINE__, "%s: decoder %d gave %d", what, i, r[i]);
}

TEST(tpm_malformed_responses)
{
	static const char *const good[] = { "getcap-pcrs-4banks.rsp", "pcrread-11-phases.rsp",
					    "extend.rsp" };

	/* Every truncation and one extra byte, of every good response. */
	for (size_t g = 0; g < ARRAY_SIZE(good); g++) {
		uint8_t *rsp, bigger[512];
		size_t len;

		vector(good[g], &rsp, &len);
		for (size_t cut = 0; cut < len; cut++) {
			char what[96];

			memcpy(bigger, rsp, cut);
			sl_put_be32(bigger + 2, (uint32_t)cut); /* a consistent size field, too */
			snprintf(what, sizeof(what), "%s cut at %zu", good[g], cut);
			all_refuse(rsp, cut, what);
			if (cut >= 10)
				all_refuse(bigger, cut, what);
		}
		memcpy(bigger, rsp, len);
		bigger[len] = 0;
		all_refuse(bigger, len + 1, "one byte more than the size field");
		sl_put_be32(bigger + 2, (uint32_t)len + 1);
		all_refuse(bigger, len + 1, "a trailing byte");
		free(rsp);
	}
}

/* Edit a copy of a vector and check which error one decoder gives. */
static int edited(const char *name, size_t off, const void *bytes, size_t n, int which)
{
	uint8_t *rsp;
	size_t len, vn;
	SlTpmBanks b;
	SlTpmDigest v[8];
	uint32_t rc;
	int r;

	vector(name, &rsp, &len);
	ASSERT_TRUE(off + n <= len);
	memcpy(rsp + off, bytes, n);
	r = which == 0	 ? sl_tpm_get_pcrs_decode(rsp, len, &b, &rc)
	    : which == 1 ? sl_tpm_pcr_read_decode(rsp, len, 11, v, 8, &vn, &rc)
			 : sl_tpm_pcr_extend_decode(rsp, len, &rc);
	free(rsp);
	return r;
}

TEST(tpm_malformed_fields)
{
	/* getcap-pcrs-4banks.rsp: header, moreData @10, capability @11, count @15,
	 * banks from @19 (alg, 03, ff ff ff). */
	ASSERT_ERR(edited("getcap-pcrs-4banks.rsp", 0, "\x80\x02", 2, 0), -EBADMSG); /* tag */
	ASSERT_ERR(edited("getcap-pcrs-4banks.rsp", 0, "\x12\x34", 2, 0), -EBADMSG);
	ASSERT_ERR(edited("getcap-pcrs-4banks.rsp", 10, "\x02", 1, 0), -EBADMSG); /* moreData */
	ASSERT_ERR(edited("getcap-pcrs-4banks.rsp", 14, "\x06", 1, 0), -EBADMSG); /* cap */
	ASSERT_ERR(edited("getcap-pcrs-4banks.rsp", 15, "\x00\x00\x00\x11", 4, 0), -EBADMSG);
	ASSERT_ERR(edited("getcap-pcrs-4banks.rsp", 15, "\x00\x00\x00\x03", 4, 0), -EBADMSG);
	ASSERT_ERR(edited("getcap-pcrs-4banks.rsp", 21, "\x21", 1, 0), -EBADMSG);     /* select */
	ASSERT_ERR(edited("getcap-pcrs-4banks.rsp", 25, "\x00\x04", 2, 0), -EBADMSG); /* dup */
	ASSERT_OK(edited("getcap-pcrs-4banks.rsp", 10, "\x01", 1, 0));	   /* moreData = yes */
	ASSERT_OK(edited("getcap-pcrs-4banks.rsp", 25, "\x00\x99", 2, 0)); /* unknown alg */

	/* pcrread-11-phases.rsp: counter @10, count @14, selections @18 (6 bytes each),
	 * value count @42, first TPM2B_DIGEST size @46. */
	ASSERT_ERR(edited("pcrread-11-phases.rsp", 21, "\x08\x08\x00", 3, 1), -EBADMSG);
	ASSERT_ERR(edited("pcrread-11-phases.rsp", 42, "\x00\x00\x00\x03", 4, 1), -EBADMSG);
	ASSERT_ERR(edited("pcrread-11-phases.rsp", 46, "\x00\x20", 2, 1), -EBADMSG);
	ASSERT_ERR(edited("pcrread-11-phases.rsp", 18, "\x00\x99", 2, 1), -EBADMSG);
	ASSERT_ERR(edited("pcrread-11-phases.rsp", 24, "\x00\x04", 2, 1), -EBADMSG); /* dup */
	/* The response claims sessions. */
	ASSERT_ERR(edited("pcrread-11-phases.rsp", 0, "\x80\x02", 2, 1), -EBADMSG);

	/* extend.rsp: parameterSize @10, nonce size @14, attributes @16, hmac size @17. */
	ASSERT_ERR(edited("extend.rsp", 0, "\x80\x01", 2, 2), -EBADMSG);
	ASSERT_ERR(edited("extend.rsp", 10, "\x00\x00\x00\x01", 4, 2), -EBADMSG);
	ASSERT_ERR(edited("extend.rsp", 14, "\x00\x01", 2, 2), -EBADMSG);
	ASSERT_ERR(edited("extend.rsp", 17, "\xff\xff", 2, 2), -EBADMSG);
	ASSERT_OK(edited("extend.rsp", 16, "\x00", 1, 2)); /* attributes are informational */
}
