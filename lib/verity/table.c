/* SPDX-License-Identifier: MIT */
/*
 * The kernel's dm-verity table line (SPEC.md §1.5; linux
 * Documentation/admin-guide/device-mapper/verity.rst). No OpenSSL: slate-init
 * links this file.
 */
#include <inttypes.h>

#include "slate/error.h"
#include "slate/hex.h"
#include "slate/strutil.h"
#include "slate/verity.h"

/* A table token: non-empty, printable, no whitespace (the kernel splits on it). */
static bool token_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 4096)
		return false;
	for (const char *c = s; *c; c++)
		if (*c <= ' ' || *c >= 0x7f)
			return false;
	return true;
}

int sl_verity_table_line(const SlVerityParams *p, const char *data_dev, const char *hash_dev,
			 const uint8_t *root_hash, size_t root_hash_size,
			 const SlVerityTableOptions *opts, char **ret_line)
{
	static const char *const corruption[] = {
		[SL_VERITY_CORRUPTION_EIO] = NULL,
		[SL_VERITY_CORRUPTION_IGNORE] = "ignore_corruption",
		[SL_VERITY_CORRUPTION_RESTART] = "restart_on_corruption",
		[SL_VERITY_CORRUPTION_PANIC] = "panic_on_corruption",
	};
	static const char *const error[] = {
		[SL_VERITY_ERROR_EIO] = NULL,
		[SL_VERITY_ERROR_RESTART] = "restart_on_error",
		[SL_VERITY_ERROR_PANIC] = "panic_on_error",
	};
	const SlVerityTableOptions none = { 0 };
	const char *args[7];
	unsigned nargs = 0, ntokens = 0;
	char root_hex[SL_VERITY_HEX_MAX], salt_hex[2 * SL_VERITY_SALT_MAX + 1];
	_cleanup_free_ char *opt_text = NULL;
	SlVerityLayout l;
	char *line;
	int r;

	r = sl_verity_layout(p, &l);
	if (r < 0)
		return r;
	if (!token_ok(data_dev) || !token_ok(hash_dev))
		return sl_errorf(-EINVAL, "device names must be non-empty and without whitespace");
	if (!root_hash || root_hash_size != l.digest_size)
		return sl_errorf(-EINVAL, "root hash of %zu bytes, %s needs %zu", root_hash_size,
				 p->algorithm, l.digest_size);
	if (!opts)
		opts = &none;
	if ((unsigned)opts->on_corruption >= ARRAY_SIZE(corruption) ||
	    (unsigned)opts->on_error >= ARRAY_SIZE(error))
		return sl_errorf(-EINVAL, "unknown corruption or error mode");

	/* Optional arguments in the order cryptsetup emits them; the count the kernel
	 * reads counts tokens, so the key description's two words count twice. */
	if (corruption[opts->on_corruption])
		args[nargs++] = corruption[opts->on_corruption];
	if (error[opts->on_error])
		args[nargs++] = error[opts->on_error];
	if (opts->ignore_zero_blocks)
		args[nargs++] = "ignore_zero_blocks";
	if (opts->check_at_most_once)
		args[nargs++] = "check_at_most_once";
	ntokens = nargs;
	if (opts->root_hash_sig_key_desc) {
		if (!token_ok(opts->root_hash_sig_key_desc))
			return sl_errorf(-EINVAL, "signature key description must be non-empty and "
						  "without whitespace");
		args[nargs++] = "root_hash_sig_key_desc";
		args[nargs++] = opts->root_hash_sig_key_desc;
		ntokens += 2;
	}
	if (ntokens) {
		opt_text = sl_asprintf(" %u", ntokens);
		for (unsigned i = 0; opt_text && i < nargs; i++) {
			char *t = sl_asprintf("%s %s", opt_text, args[i]);

			free(opt_text);
			opt_text = t;
		}
		if (!opt_text)
			return -ENOMEM;
	}

	sl_hex_encode(root_hash, root_hash_size, root_hex);
	if (p->salt_size)
		sl_hex_encode(p->salt, p->salt_size, salt_hex);
	else
		strcpy(salt_hex, "-"); /* the kernel's spelling of an empty salt */

	line = sl_asprintf("0 %" PRIu64 " verity %u %s %s %u %u %" PRIu64 " %" PRIu64 " %s %s %s%s",
			   l.data_area_size / 512, p->hash_type, data_dev, hash_dev,
			   p->data_block_size, p->hash_block_size, p->data_blocks,
			   l.hash_start_block, p->algorithm, root_hex, salt_hex,
			   opt_text ? opt_text : "");
	if (!line)
		return -ENOMEM;
	*ret_line = line;
	return 0;
}
