/* SPDX-License-Identifier: MIT */
/*
 * /usr as a dm-verity device (SPEC.md §1.5-1.7). The superblock on the verity
 * partition is unauthenticated: it only supplies the geometry (block sizes,
 * salt, data blocks); the trust comes from the root hash in the signed command
 * line, which the kernel checks every block against, and optionally from a
 * PKCS#7 signature of that root hash that the kernel checks against its
 * keyrings (the Secure Boot db through .platform).
 */
#include <stdarg.h>
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
	return init_fail(e, INIT_FAIL_VERITY_DEVICE, r, "device-mapper refused /dev/mapper/usr: %s",
			 strerror(-r));
}

void init_verity_done(InitVerity *v)
{
	free(v->sig);
	v->sig = NULL;
}

static const char *mode_name(SlVerityOnCorruption mode)
{
	return mode == SL_VERITY_CORRUPTION_PANIC     ? "panic_on_corruption"
	       : mode == SL_VERITY_CORRUPTION_RESTART ? "restart_on_corruption"
						      : "I/O error (the kernel's default)";
}

/*
 * Render the table for v with the corruption mode and load it: create the
 * device, or (reload) replace the live table. The signature goes into the
 * keyring of this thread just for the load, where the kernel looks it up
 * (SPEC.md §1.6); the kernel checks it at every load.
 */
static int load_table(const InitOps *ops, const SlDmOps *dm, const InitConfig *cfg, InitVerity *v,
		      SlVerityOnCorruption mode, bool reload, InitError *e)
{
	_cleanup_free_ char *line = NULL;
	SlVerityTableOptions opts = { .on_corruption = mode };
	char desc[64], roothex[2 * SL_VERITY_DIGEST_MAX + 1], uuid[SL_UUID_STRING_MAX],
		dm_uuid[SL_DM_UUID_MAX + 1];
	SlDmTarget target;
	int32_t key = 0;
	int r;

	sl_hex_encode(cfg->usrhash, cfg->usrhash_size, roothex);
	if (v->sig) {
		snprintf(desc, sizeof(desc), "slate:usr:%.32s", roothex);
		r = ops->add_key(ops->userdata, desc, v->sig, v->sig_len, &key);
		if (r < 0)
			return init_fail(e, INIT_FAIL_SIGNATURE_READ, r,
					 "adding the root-hash signature to the kernel keyring: %s",
					 strerror(-r));
		opts.root_hash_sig_key_desc = desc;
	}
	r = sl_verity_table_line(&v->params, v->data_dev, v->hash_dev, cfg->usrhash,
				 cfg->usrhash_size, &opts, &line);
	if (r >= 0)
		r = table_to_target(line, &target);
	if (r < 0) {
		if (v->sig)
			(void)ops->unlink_key(ops->userdata, key);
		return init_fail(e, INIT_FAIL_VERITY_SUPERBLOCK, r,
				 "%s: no table for these parameters: %s", v->hash_name,
				 sl_error_message(r));
	}
	init_info(ops, "dm-verity table%s: %llu %llu verity %s", reload ? " (replacing)" : "",
		  (unsigned long long)target.start, (unsigned long long)target.length,
		  target.params);

	if (reload) {
		r = sl_dm_reload(dm, INIT_USR_DM_NAME, SL_DM_READONLY, &target, 1);
	} else {
		/* cryptsetup's UUID form, so veritysetup status and systemd recognise it. */
		char *w = dm_uuid + snprintf(dm_uuid, sizeof(dm_uuid), "CRYPT-VERITY-");

		sl_uuid_format(&v->params.uuid, uuid);
		for (const char *c = uuid; *c; c++)
			if (*c != '-')
				*w++ = *c;
		snprintf(w, sizeof(dm_uuid) - (size_t)(w - dm_uuid), "-%s", INIT_USR_DM_NAME);
		r = sl_dm_create(dm, INIT_USR_DM_NAME, dm_uuid, SL_DM_READONLY, &target, 1,
				 &v->dev);
	}
	if (v->sig)
		(void)ops->unlink_key(ops->userdata, key);
	if (r < 0)
		return dm_failure(e, r, v->sig != NULL, v->sig_src);
	v->mode = mode;
	return 0;
}

int init_setup_verity(const InitOps *ops, const SlDmOps *dm, const InitConfig *cfg,
		      const InitFound *found, InitVerity *ret, InitError *e)
{
	const InitPartition *data = found->usr_data, *hash = found->usr_verity;
	InitVerity v = { 0 };
	uint8_t sb[SL_VERITY_SUPERBLOCK_SIZE];
	uint64_t hash_size;
	size_t digest;
	int r;

	r = read_head(ops, hash->name, sb, sizeof(sb), &hash_size);
	if (r < 0)
		return init_fail(e, INIT_FAIL_VERITY_SUPERBLOCK, r,
				 "reading the verity superblock on %s: %s", hash->name,
				 strerror(-r));
	r = sl_verity_superblock_decode(sb, sizeof(sb), &v.params);
	if (r < 0)
		return init_fail(e, INIT_FAIL_VERITY_SUPERBLOCK, r, "%s: %s", hash->name,
				 sl_error_message(r));
	digest = sl_verity_digest_size(v.params.algorithm);
	if (digest != cfg->usrhash_size)
		return init_fail(
			e, INIT_FAIL_VERITY_SUPERBLOCK, -EBADMSG,
			"%s: the tree uses %s (%zu-byte hashes) but usrhash= has %zu bytes",
			hash->name, v.params.algorithm, digest, cfg->usrhash_size);
	r = sl_verity_check_sizes(&v.params, data->size, hash_size, false);
	if (r < 0)
		return init_fail(e, INIT_FAIL_VERITY_SUPERBLOCK, r, "%s + %s: %s", data->name,
				 hash->name, sl_error_message(r));

	r = find_signature(ops, cfg, found, &v.sig, &v.sig_len, v.sig_src, sizeof(v.sig_src), e);
	if (r < 0)
		return r;
	snprintf(v.data_dev, sizeof(v.data_dev), "%u:%u", data->major, data->minor);
	snprintf(v.hash_dev, sizeof(v.hash_dev), "%u:%u", hash->major, hash->minor);
	snprintf(v.data_name, sizeof(v.data_name), "%s", data->name);
	snprintf(v.hash_name, sizeof(v.hash_name), "%s", hash->name);

	/* First without a corruption option: while slate-init reads /usr itself, a
	 * block that does not match fails the read (EIO) and slate-init can say so
	 * and follow slate.emergency=. init_verity_arm() sets the configured mode. */
	r = load_table(ops, dm, cfg, &v, SL_VERITY_CORRUPTION_EIO, false, e);
	if (r < 0) {
		init_verity_done(&v);
		return r;
	}
	r = ops->mknod(ops->userdata, "/dev/mapper/" INIT_USR_DM_NAME, S_IFBLK | 0600, v.dev);
	if (r < 0 && r != -EEXIST) {
		init_verity_done(&v);
		return init_fail(e, INIT_FAIL_VERITY_DEVICE, r, "mknod /dev/mapper/usr: %s",
				 strerror(-r));
	}
	init_info(ops,
		  "/dev/mapper/usr (%u:%u) verifies %s against %s, %s; on corruption: %s "
		  "while slate-init reads /usr",
		  major(v.dev), minor(v.dev), data->name, hash->name,
		  v.sig ? "root hash signed" : "root hash from usrhash=", mode_name(v.mode));
	if (v.sig)
		init_info(ops, "root-hash signature from %s accepted by the kernel", v.sig_src);
	*ret = v;
	return 0;
}

int init_verity_arm(const InitOps *ops, const SlDmOps *dm, const InitConfig *cfg, InitVerity *v,
		    InitError *e)
{
	int r;

	if (cfg->corruption == v->mode)
		return 0;
	r = load_table(ops, dm, cfg, v, cfg->corruption, true, e);
	if (r < 0) {
		char why[sizeof(e->what)];

		snprintf(why, sizeof(why), "%s", e->what);
		return init_fail(e, e->failure, r,
				 "replacing the /dev/mapper/usr table to set %s: %s",
				 mode_name(cfg->corruption), why);
	}
	init_info(ops, "/dev/mapper/usr: on corruption now %s (slate.corruption=)",
		  mode_name(v->mode));
	return 0;
}

int init_usr_read_failed(const InitOps *ops, const SlDmOps *dm, int err, InitFailure fallback,
			 InitError *e, const char *fmt, ...)
{
	SlDmReply st;
	char what[300];
	bool corrupt = false;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* dm-verity's status is "V" (verified) or "C" (a block did not match), the
	 * kernel's verity_status(). */
	if (err == -EIO && sl_dm_status(dm, INIT_USR_DM_NAME, false, &st) >= 0) {
		corrupt = st.n_targets == 1 && st.targets[0].params[0] == 'C';
		sl_dm_reply_done(&st);
	}
	if (corrupt)
		return init_fail(
			e, INIT_FAIL_USR_CORRUPT, err,
			"/usr does not match its signed root hash: %s: %s (dm-verity names "
			"the block above)",
			what, strerror(-err));
	return init_fail(e, fallback, err, "%s: %s", what, strerror(-err));
}
