/* SPDX-License-Identifier: MIT */
/*
 * Loads tests/vectors/verity/cases.txt (written by generate.sh there from the real
 * veritysetup) and recomputes each case's data from its pattern name.
 */
#pragma once

#include <inttypes.h>

#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/strutil.h"
#include "slate/verity.h"
#include "test.h"

typedef struct VerityVector {
	char name[64];
	char pattern[16];
	SlVerityParams params;
	uint8_t root[SL_VERITY_DIGEST_MAX];
	size_t root_size;
} VerityVector;

static _unused_ char *vv_path(const char *file)
{
	char *p = sl_asprintf("%s/tests/vectors/verity/%s", sl_test_srcdir(), file);

	ASSERT_TRUE(p);
	return p;
}

static _unused_ void vv_parse(const char *line, VerityVector *v)
{
	char salt[2 * SL_VERITY_SALT_MAX + 2], uuid[64], alg[32],
		root[2 * SL_VERITY_DIGEST_MAX + 2];
	unsigned fmt, sb;
	uint64_t blocks, off;
	uint32_t dbs, hbs;
	size_t n;

	*v = (VerityVector){ 0 };
	ASSERT_EQ(sscanf(line,
			 "%63s %15s %" SCNu64 " %" SCNu32 " %" SCNu32
			 " %31s %u %513s %63s %u %" SCNu64 " %129s",
			 v->name, v->pattern, &blocks, &dbs, &hbs, alg, &fmt, salt, uuid, &sb, &off,
			 root),
		  12);
	sl_verity_params_init(&v->params);
	v->params.data_blocks = blocks;
	v->params.data_block_size = dbs;
	v->params.hash_block_size = hbs;
	snprintf(v->params.algorithm, sizeof(v->params.algorithm), "%s", alg);
	v->params.hash_type = fmt;
	v->params.superblock = sb;
	v->params.hash_offset = off;
	if (!streq(salt, "-")) {
		ASSERT_OK(sl_hex_decode(salt, v->params.salt, sizeof(v->params.salt), &n));
		v->params.salt_size = (uint16_t)n;
	}
	if (!streq(uuid, "-"))
		ASSERT_OK(sl_uuid_parse(uuid, &v->params.uuid));
	ASSERT_OK(sl_hex_decode(root, v->root, sizeof(v->root), &v->root_size));
}

static _unused_ void vv_load(VerityVector **ret, size_t *ret_n)
{
	_cleanup_free_ char *path = vv_path("cases.txt");
	_cleanup_free_ uint8_t *buf = NULL;
	VerityVector *v = NULL;
	size_t len, n = 0;
	char *save = NULL;

	ASSERT_OK(sl_read_file(path, 1 << 20, &buf, &len));
	for (char *line = strtok_r((char *)buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || !line[0])
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		ASSERT_TRUE(v);
		vv_parse(line, &v[n++]);
	}
	*ret = v;
	*ret_n = n;
}

static _unused_ void vv_free(VerityVector *v, size_t n)
{
	(void)n;
	free(v);
}

static _unused_ uint8_t *vv_read_hash(const VerityVector *v, size_t *ret_len)
{
	_cleanup_free_ char *file = sl_asprintf("%s.hash", v->name);
	_cleanup_free_ char *path = NULL;
	uint8_t *buf;

	ASSERT_TRUE(file);
	path = vv_path(file);
	ASSERT_OK(sl_read_file(path, 64 << 20, &buf, ret_len));
	return buf;
}

/* The case's data (generate.sh's make_data): data_blocks * data_block_size bytes. */
static _unused_ uint8_t *vv_make_data(const VerityVector *v, size_t *ret_len)
{
	size_t bs = v->params.data_block_size, len = (size_t)v->params.data_blocks * bs;
	uint8_t *d = calloc(len ? len : 1, 1);

	ASSERT_TRUE(d);
	for (uint64_t i = 0; i < v->params.data_blocks; i++) {
		uint8_t *b = d + i * bs;

		if (streq(v->pattern, "index"))
			b[0] = (uint8_t)i;
		else if (streq(v->pattern, "mix"))
			for (size_t j = 0; j < bs; j++)
				b[j] = (uint8_t)(i * 31 + j * 7 + (j >> 8));
	}
	*ret_len = len;
	return d;
}
