/* SPDX-License-Identifier: MIT */
#include <sys/stat.h>

#include "slate/cpio.h"
#include "slate/fileio.h"
#include "slate/strutil.h"
#include "test.h"

typedef struct Buf {
	uint8_t *data;
	size_t len;
} Buf;

static int buf_write(void *userdata, const void *p, size_t n)
{
	Buf *b = userdata;
	uint8_t *nd = realloc(b->data, b->len + n);

	if (!nd)
		return -ENOMEM;
	memcpy(nd + b->len, p, n);
	b->data = nd;
	b->len += n;
	return 0;
}

static int fail_write(void *userdata, const void *p, size_t n)
{
	return -ENOSPC;
}

/* The tree of tests/vectors/cpio/make-vector.sh, added in another order. */
static SlCpio *vector_tree(void)
{
	SlCpio *c = sl_cpio_new(1700000000);

	ASSERT_TRUE(c);
	ASSERT_OK(sl_cpio_add_symlink(c, "a/l", "f"));
	ASSERT_OK(sl_cpio_add_file(c, "a/f", 0644, "hello\n", 6));
	ASSERT_OK(sl_cpio_add_dir(c, "a/c", 0755));
	ASSERT_OK(sl_cpio_add_dir(c, "a/b", 0755));
	ASSERT_OK(sl_cpio_add_file(c, "a-x", 0600, "", 0));
	ASSERT_OK(sl_cpio_add_file(c, "a/b/e", 0755, "#!/bin/sh\n", 10));
	ASSERT_OK(sl_cpio_add_dir(c, "a", 0755));
	return c;
}

TEST(cpio_matches_gnu_cpio)
{
	_cleanup_(sl_cpio_freep) SlCpio *c = vector_tree();
	_cleanup_free_ uint8_t *want = NULL;
	_cleanup_free_ char *path = NULL;
	Buf b = { 0 };
	size_t want_len;

	path = sl_asprintf("%s/tests/vectors/cpio/tree.cpio", sl_test_srcdir());
	ASSERT_OK(sl_read_file(path, 1 << 20, &want, &want_len));
	ASSERT_OK(sl_cpio_write(c, buf_write, &b));
	ASSERT_EQ(b.len, want_len);
	ASSERT_MEMEQ(b.data, want, want_len);
	free(b.data);
}

TEST(cpio_header_fields)
{
	_cleanup_(sl_cpio_freep) SlCpio *c = sl_cpio_new(0x12345678);
	Buf b = { 0 };

	ASSERT_OK(sl_cpio_add_chardev(c, "dev/console", 0600, 5, 1));
	ASSERT_EQ(sl_cpio_count(c), 2); /* dev/ was added */
	ASSERT_OK(sl_cpio_write(c, buf_write, &b));
	ASSERT_EQ(b.len, 512);
	/* dev: ino 0, 040755, uid 0, gid 0, nlink 2, mtime, size 0, dev 0:0, rdev 0:0,
	 * namesize 4, check 0; "dev\0" ends at 114, padded to 116. */
	ASSERT_MEMEQ(b.data,
		     "070701"
		     "00000000"
		     "000041ED"
		     "00000000"
		     "00000000"
		     "00000002"
		     "12345678"
		     "00000000"
		     "00000000"
		     "00000000"
		     "00000000"
		     "00000000"
		     "00000004"
		     "00000000"
		     "dev\0",
		     114);
	ASSERT_MEMEQ(b.data + 114, "\0\0", 2);
	/* dev/console: ino 1, 020600, rdev 5:1, namesize 12; name ends at 238, padded to 240. */
	ASSERT_MEMEQ(b.data + 116,
		     "070701"
		     "00000001"
		     "00002180"
		     "00000000"
		     "00000000"
		     "00000001"
		     "12345678"
		     "00000000"
		     "00000000"
		     "00000000"
		     "00000005"
		     "00000001"
		     "0000000C"
		     "00000000"
		     "dev/console\0",
		     122);
	ASSERT_MEMEQ(b.data + 238, "\0\0", 2);
	ASSERT_MEMEQ(b.data + 240,
		     "070701"
		     "00000000"
		     "00000000",
		     22);
	ASSERT_MEMEQ(b.data + 240 + 110, "TRAILER!!!\0", 11);
	free(b.data);
}

TEST(cpio_refuses_bad_entries)
{
	_cleanup_(sl_cpio_freep) SlCpio *c = sl_cpio_new(0);

	ASSERT_ERR(sl_cpio_add_dir(c, "", 0755), -EINVAL);
	ASSERT_ERR(sl_cpio_add_dir(c, "/abs", 0755), -EINVAL);
	ASSERT_ERR(sl_cpio_add_dir(c, "a//b", 0755), -EINVAL);
	ASSERT_ERR(sl_cpio_add_dir(c, "a/../b", 0755), -EINVAL);
	ASSERT_ERR(sl_cpio_add_dir(c, "./a", 0755), -EINVAL);
	ASSERT_ERR(sl_cpio_add_dir(c, "a/", 0755), -EINVAL);
	ASSERT_ERR(sl_cpio_add_dir(c, "a", 0100755), -EINVAL);
	ASSERT_ERR(sl_cpio_add_symlink(c, "l", ""), -EINVAL);
	ASSERT_OK(sl_cpio_add_file(c, "f", 0644, "x", 1));
	ASSERT_ERR(sl_cpio_add_file(c, "f", 0644, "y", 1), -EEXIST);
	ASSERT_ERR(sl_cpio_add_dir(c, "f", 0755), -EEXIST);
	ASSERT_ERR(sl_cpio_add_file(c, "f/g", 0644, "y", 1), -ENOTDIR);
	ASSERT_OK(sl_cpio_add_dir(c, "d", 0755));
	ASSERT_OK(sl_cpio_add_dir(c, "d", 0755)); /* the same directory again is fine */
	ASSERT_ERR(sl_cpio_add_dir(c, "d", 0700), -EEXIST);
	ASSERT_EQ(sl_cpio_count(c), 2);
	ASSERT_ERR(sl_cpio_write(c, fail_write, NULL), -ENOSPC);
}

TEST(cpio_order_independent)
{
	_cleanup_(sl_cpio_freep) SlCpio *x = sl_cpio_new(7), *y = sl_cpio_new(7);
	static const char *const names[] = { "z", "usr/lib/modules/a.ko", "init", "usr-x", "b/c" };
	Buf bx = { 0 }, by = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		ASSERT_OK(sl_cpio_add_file(x, names[i], 0644, names[i], strlen(names[i])));
		ASSERT_OK(sl_cpio_add_file(y, names[ARRAY_SIZE(names) - 1 - i], 0644,
					   names[ARRAY_SIZE(names) - 1 - i],
					   strlen(names[ARRAY_SIZE(names) - 1 - i])));
	}
	ASSERT_OK(sl_cpio_write(x, buf_write, &bx));
	ASSERT_OK(sl_cpio_write(y, buf_write, &by));
	ASSERT_EQ(bx.len, by.len);
	ASSERT_MEMEQ(bx.data, by.data, bx.len);
	free(bx.data);
	free(by.data);
}
