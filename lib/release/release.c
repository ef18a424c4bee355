/* SPDX-License-Identifier: MIT */
/* Release manifests and their Ed25519 signatures (DESIGN.md, "Updates"). */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <time.h>

#include "slate/error.h"
#include "slate/json.h"
#include "slate/release.h"

SL_DEFINE_CLEANUP(EVP_PKEY *, EVP_PKEY_free)
SL_DEFINE_CLEANUP(EVP_MD_CTX *, EVP_MD_CTX_free)

static int load_key(const char *path, bool private_key, EVP_PKEY **ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	EVP_PKEY *k;

	if (!f)
		return sl_errorf(-errno, "%s: %s", path, strerror(errno));
	k = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
			: PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!k)
		return sl_errorf(-EBADMSG, "%s: not a PEM %s key", path,
				 private_key ? "private" : "public");
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		return sl_errorf(-EBADMSG, "%s: not an Ed25519 key (the release key is Ed25519)",
				 path);
	}
	*ret = k;
	return 0;
}

int sl_release_sign(const char *key_path, const void *data, size_t len,
		    uint8_t ret_sig[static SL_RELEASE_SIGNATURE_SIZE])
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
	uint8_t sig[SL_RELEASE_SIGNATURE_SIZE];
	size_t siglen = sizeof(sig);
	int r = load_key(key_path, true, &key);

	if (r < 0)
		return r;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	/* Ed25519 is one-shot: no digest (RFC 8032 pure mode). */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, data, len) != 1 || siglen != sizeof(sig))
		return sl_errorf(-EIO, "%s: Ed25519 signing failed", key_path);
	memcpy(ret_sig, sig, sizeof(sig));
	return 0;
}

int sl_release_verify(const char *pub_path, const void *data, size_t len,
		      const uint8_t sig[static SL_RELEASE_SIGNATURE_SIZE])
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
	int r = load_key(pub_path, false, &key);

	if (r < 0)
		return r;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
		return -EIO;
	if (EVP_DigestVerify(ctx, sig, SL_RELEASE_SIGNATURE_SIZE, data, len) != 1)
		return sl_errorf(-EKEYREJECTED, "the signature does not verify with %s", pub_path);
	return 0;
}

int sl_release_manifest_write(FILE *f, const SlReleaseManifest *m)
{
	char created[32], niv[64];
	time_t t = (time_t)m->created;
	struct tm tm;
	SlJson j;

	if (!m->id || !m->version || !m->channel || !m->architecture || !m->root_hash ||
	    !m->verity.algorithm || !m->verity.salt_hex || !m->verity.uuid || !gmtime_r(&t, &tm))
		return -EINVAL;
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(niv, sizeof(niv), "SlateContainerLinux-%s", m->version);

	sl_json_init(&j, f, true);
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "format", "slate-release-1");
	sl_json_kv_string(&j, "id", m->id);
	sl_json_kv_string(&j, "version", m->version);
	sl_json_kv_string(&j, "nodeImageVersion", niv);
	sl_json_kv_string(&j, "channel", m->channel);
	sl_json_kv_string(&j, "architecture", m->architecture);
	sl_json_kv_string(&j, "rootHash", m->root_hash);
	sl_json_kv_string(&j, "created", created);
	sl_json_key(&j, "verity");
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "hashAlgorithm", m->verity.algorithm);
	sl_json_kv_uint(&j, "hashType", m->verity.hash_type);
	sl_json_kv_uint(&j, "dataBlockSize", m->verity.data_block_size);
	sl_json_kv_uint(&j, "hashBlockSize", m->verity.hash_block_size);
	sl_json_kv_uint(&j, "dataBlocks", m->verity.data_blocks);
	sl_json_kv_uint(&j, "hashOffset", m->verity.hash_offset);
	sl_json_kv_string(&j, "salt", m->verity.salt_hex);
	sl_json_kv_string(&j, "uuid", m->verity.uuid);
	sl_json_end_object(&j);
	sl_json_key(&j, "artifacts");
	sl_json_begin_array(&j);
	for (size_t i = 0; i < m->n_artifacts; i++) {
		const SlReleaseArtifact *a = &m->artifacts[i];

		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "role", a->role);
		sl_json_kv_string(&j, "file", a->file);
		sl_json_kv_uint(&j, "size", a->size);
		sl_json_kv_hex(&j, "sha256", a->sha256, sizeof(a->sha256));
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);
	sl_json_end_object(&j);
	sl_json_finish(&j);
	return ferror(f) ? -EIO : 0;
}
