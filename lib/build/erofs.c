/* SPDX-License-Identifier: MIT */
/*
 * The EROFS /usr image, made with trixie's mkfs.erofs (1.8) from the cached tools
 * root, run with that root's own dynamic loader and libraries (no chroot, no
 * mounts). Reproducible: a fixed timestamp for every inode (-T, --all-time is the
 * default), all files owned by root, a UUID derived from the image and version, and
 * mkfs.erofs 1.8 orders directory entries itself. Compression per the definition;
 * 128 KiB physical clusters and tail packing for a smaller image.
 */
#include <sys/stat.h>

#include "build-internal.h"
#include "slate/error.h"
#include "slate/strutil.h"
#include "slate/uuid.h"

/* The /usr slot is 1 GiB (DESIGN.md, Disk layout). */
#define USR_SLOT_SIZE (1ull << 30)

/* "lz4hc,12" -> "lz4hc,level=12" (the 1.8 syntax). */
static char *compression_arg(const char *c)
{
	const char *comma = strchr(c, ',');

	if (!comma)
		return sl_asprintf("-z%s", c);
	return sl_asprintf("-z%.*s,level=%s", (int)(comma - c), c, comma + 1);
}

int sl_build_erofs(SlBuild *b)
{
	_cleanup_free_ char *loader = sl_asprintf("%s/lib64/ld-linux-x86-64.so.2", b->tools);
	_cleanup_free_ char *libs = sl_asprintf(
		"%s/lib/x86_64-linux-gnu:%s/usr/lib/x86_64-linux-gnu", b->tools, b->tools);
	_cleanup_free_ char *mkfs = sl_asprintf("%s/usr/bin/mkfs.erofs", b->tools);
	_cleanup_free_ char *usr = sl_asprintf("%s/usr", b->root);
	_cleanup_free_ char *image = sl_build_out_path(b, "usr.erofs");
	_cleanup_free_ char *z = compression_arg(b->c->compression);
	char uuid[SL_UUID_STRING_MAX];
	SlUuid u;
	SlArgv a = { 0 };
	struct stat st;
	int r;

	if (!loader || !libs || !mkfs || !usr || !image || !z)
		return -ENOMEM;
	r = sl_build_derive_uuid(b, "erofs-uuid", &u);
	if (r < 0)
		return r;
	sl_uuid_format(&u, uuid);
	(void)unlink(image);

	/* Record the tool's version in the log: the image depends on it. */
	{
		const char *argv[] = { loader, "--library-path", libs, mkfs, "--version", NULL };

		r = sl_build_spawn(b, argv, -1);
		if (r < 0)
			return sl_error_prefix(r, "mkfs.erofs from %s: ", b->tools);
	}
	sl_argv_push(&a, loader);
	sl_argv_push(&a, "--library-path");
	sl_argv_push(&a, libs);
	sl_argv_push(&a, mkfs);
	sl_argv_push(&a, z);
	sl_argv_push(&a, "-C131072");
	sl_argv_push(&a, "-Eztailpacking");
	sl_argv_pushf(&a, "-T%lld", (long long)b->epoch);
	sl_argv_pushf(&a, "-U%s", uuid);
	sl_argv_push(&a, "-Lusr");
	sl_argv_push(&a, "--all-root");
	sl_argv_push(&a, "--quiet");
	sl_argv_push(&a, image);
	sl_argv_push(&a, usr);
	r = sl_argv_done(&a);
	if (r >= 0)
		r = sl_build_spawn(b, (const char *const *)a.v, -1);
	sl_argv_free(&a);
	if (r < 0)
		return r;
	if (stat(image, &st) < 0)
		return sl_errorf(-errno, "%s: %s", image, strerror(errno));
	b->usr_size = (uint64_t)st.st_size;
	if (b->usr_size > USR_SLOT_SIZE)
		return sl_errorf(-E2BIG,
				 "the /usr image is %llu MiB, more than the 1 GiB slot: remove "
				 "packages or choose a stronger compression",
				 (unsigned long long)(b->usr_size >> 20));
	return 0;
}
