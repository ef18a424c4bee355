/* SPDX-License-Identifier: MIT */
#include <sys/stat.h>

#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/initrd.h"
#include "slate/strutil.h"
#include "test.h"

/* A minimal ELF64 little-endian executable: header, then n program headers. */
static size_t make_elf(uint8_t *buf, size_t cap, uint16_t type, const uint32_t *pt, int n,
		       bool needed)
{
	size_t dyn = 64 + 56 * (size_t)n;

	memset(buf, 0, cap);
	memcpy(buf,
	       "\x7f"
	       "ELF\x02\x01\x01",
	       7);
	sl_put_le16(buf + 16, type);
	sl_put_le16(buf + 18, 62); /* x86-64 */
	sl_put_le64(buf + 32, 64); /* e_phoff */
	sl_put_le16(buf + 52, 64);
	sl_put_le16(buf + 54, 56);
	sl_put_le16(buf + 56, (uint16_t)n);
	for (int i = 0; i < n; i++) {
		uint8_t *ph = buf + 64 + 56 * i;

		sl_put_le32(ph, pt[i]);
		if (pt[i] == 2) { /* PT_DYNAMIC: two entries at dyn */
			sl_put_le64(ph + 8, dyn);
			sl_put_le64(ph + 32, 32);
		}
	}
	/* The dynamic section: DT_NEEDED or DT_DEBUG, then DT_NULL. */
	sl_put_le64(buf + dyn, needed ? 1 : 21);
	return dyn + 32;
}

TEST(initrd_check_static)
{
	uint8_t b[512];
	size_t n;

	n = make_elf(b, sizeof(b), 2, (const uint32_t[]){ 1, 1 }, 2, false);
	ASSERT_OK(sl_initrd_check_static(b, n));
	/* static-pie: a dynamic section without libraries. */
	n = make_elf(b, sizeof(b), 3, (const uint32_t[]){ 1, 2 }, 2, false);
	ASSERT_OK(sl_initrd_check_static(b, n));
	n = make_elf(b, sizeof(b), 3, (const uint32_t[]){ 1, 3, 2 }, 3, false);
	ASSERT_ERR(sl_initrd_check_static(b, n), -EINVAL);
	ASSERT_TRUE(strstr(sl_error_message(-EINVAL), "PT_INTERP"));
	n = make_elf(b, sizeof(b), 3, (const uint32_t[]){ 1, 2 }, 2, true);
	ASSERT_ERR(sl_initrd_check_static(b, n), -EINVAL);
	ASSERT_TRUE(strstr(sl_error_message(-EINVAL), "DT_NEEDED"));
	/* A shared object or a relocatable file is not a program. */
	n = make_elf(b, sizeof(b), 1, (const uint32_t[]){ 1 }, 1, false);
	ASSERT_ERR(sl_initrd_check_static(b, n), -EINVAL);

	/* Malformed: not ELF, truncated, program headers or dynamic outside the file. */
	ASSERT_ERR(sl_initrd_check_static((const uint8_t *)"#!/bin/sh\n", 10), -EBADMSG);
	n = make_elf(b, sizeof(b), 2, (const uint32_t[]){ 1 }, 1, false);
	ASSERT_ERR(sl_initrd_check_static(b, 40), -EBADMSG);
	ASSERT_ERR(sl_initrd_check_static(b, 100), -EBADMSG);
	sl_put_le16(b + 56, 0);
	ASSERT_ERR(sl_initrd_check_static(b, n), -EBADMSG);
	n = make_elf(b, sizeof(b), 2, (const uint32_t[]){ 2 }, 1, false);
	sl_put_le64(b + 64 + 8, 1u << 30);
	ASSERT_ERR(sl_initrd_check_static(b, n), -EBADMSG);
	n = make_elf(b, sizeof(b), 2, (const uint32_t[]){ 1 }, 1, false);
	b[4] = 3;
	ASSERT_ERR(sl_initrd_check_static(b, n), -EBADMSG);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	_cleanup_free_ char *path = sl_asprintf("%s/%s", dir, name), *d = NULL;

	d = strdup(path);
	for (char *s = strchr(d + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		mkdir(d, 0755);
		*s = '/';
	}
	ASSERT_OK(sl_write_file_atomic(path, data, len, 0644));
}

static const char dep[] = "kernel/b.ko.xz: kernel/a.ko.xz\n"
			  "kernel/a.ko.xz:\n"
			  "kernel/c-d.ko.xz: kernel/b.ko.xz kernel/a.ko.xz\n"
			  "kernel/unused.ko.xz:\n";

static void make_modules_dir(const char *dir)
{
	uint8_t elf[512];
	size_t n = make_elf(elf, sizeof(elf), 2, (const uint32_t[]){ 1 }, 1, false);

	write_file(dir, "6.1.0-test/modules.dep", dep, strlen(dep));
	write_file(dir, "6.1.0-test/modules.builtin", "kernel/e.ko\n", 12);
	write_file(dir, "6.1.0-test/kernel/a.ko.xz", "AAAA", 4);
	write_file(dir, "6.1.0-test/kernel/b.ko.xz", "BBBB", 4);
	write_file(dir, "6.1.0-test/kernel/c-d.ko.xz", "CDCD", 4);
	write_file(dir, "init", elf, n);
}

TEST(initrd_build_modules_and_determinism)
{
	const char *t = sl_test_tmpdir();
	_cleanup_free_ char *mdir = sl_asprintf("%s/6.1.0-test", t),
			    *init = sl_asprintf("%s/init", t);
	SlInitrdOptions o = { .modules_dir = mdir,
			      .init = init,
			      .mtime = 42,
			      .modules = (const char *const[]){ "c_d", "e", "a" },
			      .n_modules = 3 };
	SlInitrdResult r1, r2;

	make_modules_dir(t);
	ASSERT_OK(sl_initrd_build(&o, &r1));
	ASSERT_EQ(r1.n_modules, 3);
	ASSERT_STREQ(r1.modules[0], "a");
	ASSERT_STREQ(r1.modules[1], "b");
	ASSERT_STREQ(r1.modules[2], "c_d");
	ASSERT_EQ(r1.n_builtin, 1);
	ASSERT_STREQ(r1.builtin[0], "e");
	ASSERT_EQ(r1.size, r1.cpio_size);
	ASSERT_EQ(r1.size % 512, 0);
	/* The pruned modules.dep, in load order, in the archive. */
	ASSERT_TRUE(memmem(r1.data, r1.size,
			   "kernel/a.ko.xz:\nkernel/b.ko.xz: kernel/a.ko.xz\n"
			   "kernel/c-d.ko.xz: kernel/b.ko.xz kernel/a.ko.xz\n",
			   95));
	ASSERT_TRUE(memmem(r1.data, r1.size, "lib/modules/6.1.0-test/kernel/c-d.ko.xz", 39));
	ASSERT_FALSE(memmem(r1.data, r1.size, "unused", 6));

	/* Another order of the same modules: the same bytes. */
	o.modules = (const char *const[]){ "a", "c-d", "e", "a" };
	o.n_modules = 4;
	ASSERT_OK(sl_initrd_build(&o, &r2));
	ASSERT_EQ(r1.size, r2.size);
	ASSERT_MEMEQ(r1.data, r2.data, r1.size);
	sl_initrd_result_done(&r2);

	/* zstd: smaller than the cpio, starts with the zstd frame magic. */
	o.compress = SL_INITRD_COMPRESS_ZSTD;
	ASSERT_OK(sl_initrd_build(&o, &r2));
	ASSERT_EQ(r2.cpio_size, r1.size);
	ASSERT_MEMEQ(r2.data, "\x28\xb5\x2f\xfd", 4);
	sl_initrd_result_done(&r2);
	sl_initrd_result_done(&r1);
}

TEST(initrd_build_refuses)
{
	const char *t = sl_test_tmpdir();
	_cleanup_free_ char *mdir = sl_asprintf("%s/6.1.0-test", t),
			    *init = sl_asprintf("%s/init", t), *ko = NULL;
	SlInitrdOptions o = { .modules_dir = mdir,
			      .init = init,
			      .modules = (const char *const[]){ "zz" },
			      .n_modules = 1 };
	SlInitrdResult r;

	make_modules_dir(t);
	ASSERT_ERR(sl_initrd_build(&o, &r), -ENOENT);
	ASSERT_TRUE(strstr(sl_error_message(-ENOENT), "module zz is neither in"));
	/* A dynamically linked /init. */
	o.modules = (const char *const[]){ "a" };
	o.init = "/bin/sh";
	ASSERT_ERR(sl_initrd_build(&o, &r), -EINVAL);
	ASSERT_TRUE(strstr(sl_error_message(-EINVAL), "/bin/sh: has a program interpreter"));
	/* A module file that is missing. */
	o.init = init;
	ko = sl_asprintf("%s/kernel/a.ko.xz", mdir);
	ASSERT_EQ(unlink(ko), 0);
	ASSERT_ERR(sl_initrd_build(&o, &r), -ENOENT);
	ASSERT_TRUE(strstr(sl_error_message(-ENOENT), "kernel/a.ko.xz"));
	o.kernel_version = "../x";
	ASSERT_ERR(sl_initrd_build(&o, &r), -EINVAL);
}
