/* SPDX-License-Identifier: MIT */
/*
 * /usr as a dm-verity device (SPEC.md §1.5-1.7). The superblock on the verity
 * partition is unauthenticated: it only supplies the geometry (block sizes,
 * salt, data blocks); the trust comes from the root hash in the signed command
 * line, which the kernel checks every block against, and optionally from a
 * PKCS#7 signature of that root hash that the kernel checks against its
 * keyrings (the Secure Boot db through .platform).
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "init.h"
#include "slate/error.h"
#include "slate/hex.h"
#include "slate/strutil.h"

/* Read the first bytes of a partition. */
static int read_head(const InitOps *ops, const char *name, void *buf, size_t len,
		     uint64_t *ret_size)
{
	SlGptOps io;
	int r;

	r = ops->block_open(ops->userdata, name, false, &io);
	if (r < 0)
		return r;
	*ret_size = io.size;
	r = len <= io.size ? io.read(io.userdata, buf, len, 0) : -ENODATA;
	ops->block_close(ops->userdata, &io);
	return r;
}

/*
 * The root-hash signature: the file in the initramfs (covered by Secure Boot and
 * measured with the UKI), else a usr-verity-sig partition for this root hash.
 * *ret_sig NULL: none.
 */
static int find_signature(const InitOps *ops, const InitConfig *cfg, const InitFound *found,
			  uint8_t **ret_sig, size_t *ret_len, char *src, size_t src_len,
			  InitError *e)
{
	_cleanup_free_ char *file = NULL;
	size_t len;
	int r;

	*ret_sig = NULL;
	*ret_len = 0;
	r = ops->read_file(ops->userdata, INIT_ROOTHASH_SIG, INIT_SIG_MAX, &file, &len);
	if (r >= 0) {
		if (len == 0)
			return init_fail(e, INIT_FAIL_SIGNATURE_READ, -EBADMSG, "%s is empty",
					 INIT_ROOTHASH_SIG);
		*ret_sig = (uint8_t *)TAKE_PTR(file);
		*ret_len = len;
		snprintf(src, src_len, "%s", INIT_ROOTHASH_SIG);
		return 0;
	}
	if (r != -ENOENT)
		return init_fail(e, INIT_FAIL_SIGNATURE_READ, r, "reading %s: %s",
				 INIT_ROOTHASH_SIG, sl_error_message(r));

	for (size_t i = 0; i < found->n_verity_sig; i++) {
		const InitPartition *p = found->verity_sig[i];
		_cleanup_free_ char *json = NULL;
		uint64_t size;
		size_t n;

		n = (size_t)MIN(p->size, (uint64_t)INIT_VERITY_SIG_MAX);
		json = malloc(n ? n : 1);
		if (!json)
			return init_fail(e, INIT_FAIL_SIGNATURE_READ, -ENOMEM, "out of memory");
		r = read_head(ops, p->name, json, n, &size);
		if (r < 0)
			return init_fail(e, INIT_FAIL_SIGNATURE_READ, r, "reading %s: %s", p->name,
					 strerror(-r));
		r = init_verity_sig_decode(json, n, cfg->usrhash, cfg->usrhash_size, ret_sig,
					   ret_len);
		if (r == -ESRCH)
			continue; /* the signature of the other slot */
		if (r < 0)
			return init_fail(e, INIT_FAIL_SIGNATURE_READ, r, "%s: %s", p->name,
					 sl_error_message(r));
		snprintf(src, src_len, "partition %s", p->name);
		return 0;
	}
	return 0;
}

/* "0 <len> verity <params>" from sl_verity_table_line() as a device-mapper target. */
static int table_to_target(char *line, SlDmTarget *ret)
{
	char *fields[3], *p = line;
	uint64_t v[2];

	for (int i = 0; i < 3; i++) {
		fields[i] = p;
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		*p++ = 0;
	}
	if (sl_parse_u64(fields[0], UINT64_MAX, &v[0]) < 0 ||
	    sl_parse_u64(fields[1], UINT64_MAX, &v[1]) < 0 || strlen(fields[2]) > SL_DM_TYPE_MAX)
		return -EINVAL;
	*ret = (SlDmTarget){ .start = v[0], .length = v[1], .params = p };
	strcpy(ret->type, fields[2]);
	return 0;
}

static int dm_failure(InitError *e, int r, bool signed_hash, const char *sig_src)
{
	if (r == -EKEYREJECTED)
		return init_fail(e, INIT_FAIL_SIGNATURE_REJECTED, r,
				 "dm-verity refused the root-hash signature from %s", sig_src);
	if (r == -ENOKEY && signed_hash)
		return init_fail(
			e, INIT_FAIL_SIGNATURE_UNTRUSTED, r,
			"dm-verity found no trusted key for the root-hash signature from %s",
			sig_src);
	if (r == -ENOKEY)
		return init_fail(e, INIT_FAIL_SIGNATURE_REQUIRED, r,
				 "dm-verity requires a root-hash signature and none was found (%s, "
				 "usr-verity-sig partition)",
				 INIT_ROOTHASH_SIG);
	return init_fail(e, INIT_FAIL_VERITY_DEVICE, r, "creating /dev/mapper/usr: %s",
			 strerror(-r));
}

int init_setup_verity(const InitOps *ops, const SlDmOps *dm, const InitConfig *cfg,
		      const InitFound *found, dev_t *ret_dev, InitError *e)
{
	const InitPartition *data = found->usr_data, *hash = found->usr_verity;
	_cleanup_free_ uint8_t *sig = NULL;
	_cleanup_free_ char *line = NULL;
	uint8_t sb[SL_VERITY_SUPERBLOCK_SIZE];
	char data_dev[24], hash_dev[24], uuid[SL_UUID_STRING_MAX], dm_uuid[SL_DM_UUID_MAX + 1],
		desc[64], sig_src[64] = "", roothex[2 * SL_VERITY_DIGEST_MAX + 1];
	SlVerityTableOptions opts = { .on_corruption = cfg->corruption };
	SlVerityParams params;
	SlDmTarget target;
	uint64_t hash_size;
	int32_t key = 0;
	size_t sig_len = 0, digest;
	dev_t dev;
	int r;

	r = read_head(ops, hash->name, sb, sizeof(sb), &hash_size);
	if (r < 0)
		return init_fail(e, INIT_FAIL_VERITY_SUPERBLOCK, r,
				 "reading the verity superblock "
				 "on %s: %s",
				 hash->name, strerror(-r));
	r = sl_verity_superblock_decode(sb, sizeof(sb), &params);
	if (r < 0)
		return init_fail(e, INIT_FAIL_VERITY_SUPERBLOCK, r, "%s: %s", hash->name,
				 sl_error_message(r));
	digest = sl_verity_digest_size(params.algorithm);
	if (digest != cfg->usrhash_size)
		return init_fail(
			e, INIT_FAIL_VERITY_SUPERBLOCK, -EBADMSG,
			"%s: the tree uses %s (%zu-byte hashes) but usrhash= has %zu bytes",
			hash->name, params.algorithm, digest, cfg->usrhash_size);
	r = sl_verity_check_sizes(&params, data->size, hash_size, false);
	if (r < 0)
		return init_fail(e, INIT_FAIL_VERITY_SUPERBLOCK, r, "%s + %s: %s", data->name,
				 hash->name, sl_error_message(r));

	r = find_signature(ops, cfg, found, &sig, &sig_len, sig_src, sizeof(sig_src), e);
	if (r < 0)
		return r;

	/* The kernel looks the signature up as a "user" key by description, in the
	 * keyrings of the thread that loads the table (SPEC.md §1.6). */
	sl_hex_encode(cfg->usrhash, cfg->usrhash_size, roothex);
	if (sig) {
		snprintf(desc, sizeof(desc), "slate:usr:%.32s", roothex);
		r = ops->add_key(ops->userdata, desc, sig, sig_len, &key);
		if (r < 0)
			return init_fail(e, INIT_FAIL_SIGNATURE_READ, r,
					 "adding the root-hash signature to the kernel keyring: %s",
					 strerror(-r));
		opts.root_hash_sig_key_desc = desc;
	}

	snprintf(data_dev, sizeof(data_dev), "%u:%u", data->major, data->minor);
	snprintf(hash_dev, sizeof(hash_dev), "%u:%u", hash->major, hash->minor);
	r = sl_verity_table_line(&params, data_dev, hash_dev, cfg->usrhash, cfg->usrhash_size,
				 &opts, &line);
	if (r >= 0)
		r = table_to_target(line, &target);
	if (r < 0) {
		if (sig)
			(void)ops->unlink_key(ops->userdata, key);
		return init_fail(e, INIT_FAIL_VERITY_SUPERBLOCK, r,
				 "%s: no table for these "
				 "parameters: %s",
				 hash->name, sl_error_message(r));
	}
	init_info(ops, "dm-verity table: %llu %llu verity %s", (unsigned long long)target.start,
		  (unsigned long long)target.length, target.params);

	/* cryptsetup's UUID form, so veritysetup status and systemd recognise it. */
	sl_uuid_format(&params.uuid, uuid);
	{
		char *w = dm_uuid + snprintf(dm_uuid, sizeof(dm_uuid), "CRYPT-VERITY-");

		for (const char *c = uuid; *c; c++)
			if (*c != '-')
				*w++ = *c;
		snprintf(w, sizeof(dm_uuid) - (size_t)(w - dm_uuid), "-%s", INIT_USR_DM_NAME);
	}
	r = sl_dm_create(dm, INIT_USR_DM_NAME, dm_uuid, SL_DM_READONLY, &target, 1, &dev);
	if (sig)
		(void)ops->unlink_key(ops->userdata, key);
	if (r < 0)
		return dm_failure(e, r, sig != NULL, sig_src);

	r = ops->mknod(ops->userdata, "/dev/mapper/" INIT_USR_DM_NAME, S_IFBLK | 0600, dev);
	if (r < 0 && r != -EEXIST)
		return init_fail(e, INIT_FAIL_VERITY_DEVICE, r, "mknod /dev/mapper/usr: %s",
				 strerror(-r));
	init_info(ops, "/dev/mapper/usr (%u:%u) verifies %s against %s, %s; on corruption: %s",
		  major(dev), minor(dev), data->name, hash->name,
		  sig ? "root hash signed" : "root hash from usrhash=",
		  cfg->corruption == SL_VERITY_CORRUPTION_PANIC ? "panic"
		  : cfg->corruption == SL_VERITY_CORRUPTION_EIO ? "I/O error"
								: "restart");
	if (sig)
		init_info(ops, "root-hash signature from %s accepted by the kernel", sig_src);
	*ret_dev = dev;
	return 0;
}
