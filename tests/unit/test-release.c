/* SPDX-License-Identifier: MIT */
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/release.h"
#include "slate/strutil.h"
#include "test.h"

/* Write a fresh key pair of type id (Ed25519 or another) as PEM files. */
static void make_key(int id, const char *key_path, const char *pub_path)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(id, NULL);
	EVP_PKEY *k = NULL;
	FILE *f;

	ASSERT_TRUE(ctx);
	ASSERT_EQ(EVP_PKEY_keygen_init(ctx), 1);
	if (id == EVP_PKEY_RSA)
		ASSERT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 1024), 1);
	ASSERT_EQ(EVP_PKEY_keygen(ctx, &k), 1);
	f = fopen(key_path, "we");
	ASSERT_TRUE(f);
	ASSERT_EQ(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	f = fopen(pub_path, "we");
	ASSERT_TRUE(f);
	ASSERT_EQ(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
}

TEST(ed25519_sign_verify)
{
	_cleanup_free_ char *key = sl_asprintf("%s/release.key", sl_test_tmpdir());
	_cleanup_free_ char *pub = sl_asprintf("%s/release.pub", sl_test_tmpdir());
	_cleanup_free_ char *key2 = sl_asprintf("%s/other.key", sl_test_tmpdir());
	_cleanup_free_ char *pub2 = sl_asprintf("%s/other.pub", sl_test_tmpdir());
	_cleanup_free_ char *rsa = sl_asprintf("%s/rsa.key", sl_test_tmpdir());
	_cleanup_free_ char *rsapub = sl_asprintf("%s/rsa.pub", sl_test_tmpdir());
	static const char msg[] = "{\"version\":\"202611.29.0\"}\n";
	uint8_t sig[SL_RELEASE_SIGNATURE_SIZE], again[SL_RELEASE_SIGNATURE_SIZE];

	make_key(EVP_PKEY_ED25519, key, pub);
	make_key(EVP_PKEY_ED25519, key2, pub2);
	make_key(EVP_PKEY_RSA, rsa, rsapub);
	ASSERT_OK(sl_release_sign(key, msg, sizeof(msg) - 1, sig));
	/* Ed25519 is deterministic: the same manifest gives the same signature. */
	ASSERT_OK(sl_release_sign(key, msg, sizeof(msg) - 1, again));
	ASSERT_MEMEQ(sig, again, sizeof(sig));
	ASSERT_OK(sl_release_verify(pub, msg, sizeof(msg) - 1, sig));
	ASSERT_ERR(sl_release_verify(pub2, msg, sizeof(msg) - 1, sig), -EKEYREJECTED);
	ASSERT_ERR(sl_release_verify(pub, msg, sizeof(msg) - 2, sig), -EKEYREJECTED);
	sig[10] ^= 1;
	ASSERT_ERR(sl_release_verify(pub, msg, sizeof(msg) - 1, sig), -EKEYREJECTED);
	ASSERT_ERR(sl_release_sign(rsa, msg, sizeof(msg) - 1, sig), -EBADMSG);
	ASSERT_TRUE(strstr(sl_error_message(-EBADMSG), "not an Ed25519 key"));
	ASSERT_ERR(sl_release_verify(rsapub, msg, sizeof(msg) - 1, sig), -EBADMSG);
	ASSERT_ERR(sl_release_sign(pub, msg, sizeof(msg) - 1, sig), -EBADMSG);
	ASSERT_ERR(sl_release_sign("/nonexistent", msg, 1, sig), -ENOENT);
}

TEST(manifest_is_deterministic_json)
{
	static const SlReleaseArtifact arts[] = {
		{ .role = "usr", .file = "usr.erofs", .size = 4096, .sha256 = { 0xab, 0xcd } },
		{ .role = "uki", .file = "slate.efi", .size = 10, .sha256 = { 1 } },
	};
	SlReleaseManifest m = {
		.id = "slate",
		.version = "202611.29.0",
		.channel = "stable",
		.architecture = "x86-64",
		.root_hash = "00112233",
		.created = 1795910400,
		.verity = { .algorithm = "sha256",
			    .hash_type = 1,
			    .data_block_size = 4096,
			    .hash_block_size = 4096,
			    .data_blocks = 1,
			    .salt_hex = "aa",
			    .uuid = "12345678-9abc-def0-1234-56789abcdef0" },
		.artifacts = arts,
		.n_artifacts = 2,
	};
	char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	FILE *f;

	f = open_memstream(&a, &al);
	ASSERT_OK(sl_release_manifest_write(f, &m));
	fclose(f);
	f = open_memstream(&b, &bl);
	ASSERT_OK(sl_release_manifest_write(f, &m));
	fclose(f);
	ASSERT_EQ(al, bl);
	ASSERT_MEMEQ(a, b, al);
	ASSERT_TRUE(strstr(a, "\"nodeImageVersion\": \"SlateContainerLinux-202611.29.0\""));
	ASSERT_TRUE(strstr(a, "\"created\": \"2026-11-29T00:00:00Z\""));
	ASSERT_TRUE(strstr(a, "\"sha256\": \"abcd0000"));
	ASSERT_TRUE(strstr(a, "\"rootHash\": \"00112233\""));
	free(a);
	free(b);
	m.root_hash = NULL;
	f = open_memstream(&a, &al);
	ASSERT_ERR(sl_release_manifest_write(f, &m), -EINVAL);
	fclose(f);
	free(a);
}
