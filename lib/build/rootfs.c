/* SPDX-License-Identifier: MIT */
/*
 * The Debian stages: the cached tools root (trixie's mkfs.erofs) and the image tree,
 * both made by mmdebstrap with a persistent package cache:
 *
 *   cache/debs/<suite>/   downloaded .debs (shared with scripts/trixie-root), synced
 *                         into apt's archive directory before the download and back
 *                         out after it, so a warm build downloads nothing;
 *   cache/lists/<suite>/  apt's package lists, kept so that a warm build's
 *                         `apt-get update` only checks that they are current;
 *   cache/tools/<suite>/  the tools root.
 *
 * apt checks the archive's signatures (debian-archive-keyring) for every download.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "build-internal.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/strutil.h"

/* What the tools root holds, and its stamp: a change rebuilds it. */
static const char *const tools_packages[] = { "erofs-utils" };
#define TOOLS_STAMP_VERSION "1"

/* The package that stands in for initramfs-tools: Slate makes its own initramfs. */
#define PROVIDER_NAME	 "slate-initramfs-tool"
#define PROVIDER_VERSION "1"

static int lock_cache(SlBuild *b, int *ret_fd)
{
	_cleanup_free_ char *path = sl_asprintf("%s/.lock", b->cache);
	int fd;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_errorf(-errno, "%s: %s", path, strerror(errno));
	/* Another build syncing the same package cache: wait for it. */
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int r = -errno;

			close(fd);
			return sl_errorf(r, "%s: cannot lock: %s", path, strerror(-r));
		}
	*ret_fd = fd;
	return 0;
}

/* The options every mmdebstrap run shares: mode, cache hooks, mirror. */
static int mmdebstrap_common(SlBuild *b, SlArgv *a)
{
	_cleanup_free_ char *debs = sl_shell_quote(b->debs);
	_cleanup_free_ char *lists = sl_shell_quote(b->lists);

	if (!debs || !lists)
		return -ENOMEM;
	sl_argv_push(a, "mmdebstrap");
	sl_argv_push(a, "--mode=root");
	sl_argv_push(a, "--format=directory");
	sl_argv_push(a, "--variant=essential");
	sl_argv_pushf(a, "--architectures=%s", b->c->architecture);
	sl_argv_push(a, "--aptopt=APT::Install-Recommends \"false\"");
	sl_argv_push(a, "--aptopt=Acquire::Languages \"none\"");
	sl_argv_push(a, "--dpkgopt=force-unsafe-io");
	/* Keep the essential packages' .debs in the archive directory so that the
	 * sync-out below saves them too. */
	sl_argv_push(a, "--skip=essential/unlink");
	/* Hard links, not copies, where the cache and the tree share a file system:
	 * apt and dpkg only ever replace these files (rename), never write into them. */
	sl_argv_push(a, "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/ "
			"\"$1\"/var/lib/apt/lists/");
	sl_argv_pushf(a,
		      "--setup-hook=cp -al %s/. \"$1\"/var/cache/apt/archives/ 2>/dev/null || "
		      "cp -a %s/. \"$1\"/var/cache/apt/archives/",
		      debs, debs);
	sl_argv_pushf(a,
		      "--setup-hook=cp -al %s/. \"$1\"/var/lib/apt/lists/ 2>/dev/null || "
		      "cp -a %s/. \"$1\"/var/lib/apt/lists/",
		      lists, lists);
	sl_argv_pushf(a,
		      "--customize-hook=cp -alf \"$1\"/var/cache/apt/archives/. %s/ 2>/dev/null || "
		      "cp -af \"$1\"/var/cache/apt/archives/. %s/",
		      debs, debs);
	sl_argv_pushf(a,
		      "--customize-hook=cp -alf \"$1\"/var/lib/apt/lists/. %s/ 2>/dev/null || "
		      "cp -af \"$1\"/var/lib/apt/lists/. %s/",
		      lists, lists);
	return sl_argv_done(a);
}

static void mmdebstrap_finish(SlBuild *b, SlArgv *a, const char *target)
{
	sl_argv_push(a, b->c->suite);
	sl_argv_push(a, target);
	if (b->c->mirror)
		sl_argv_push(a, b->c->mirror);
}

static char *tools_stamp(const SlBuild *b)
{
	return sl_asprintf("slate-tools %s %s %s %s %s\n", TOOLS_STAMP_VERSION, b->c->suite,
			   b->c->architecture, b->c->mirror ? b->c->mirror : "-",
			   tools_packages[0]);
}

int sl_build_tools_root(SlBuild *b)
{
	_cleanup_free_ char *stamp_path = sl_asprintf("%s/.slate-stamp", b->tools);
	_cleanup_free_ char *stamp = tools_stamp(b);
	_cleanup_free_ char *next = sl_asprintf("%s.new", b->tools);
	_cleanup_free_ uint8_t *old = NULL;
	_cleanup_close_ int lock = -1;
	SlArgv a = { 0 };
	size_t old_len;
	int r;

	if (!stamp_path || !stamp || !next)
		return -ENOMEM;
	r = lock_cache(b, &lock);
	if (r < 0)
		return r;
	if (sl_read_file(stamp_path, 4096, &old, &old_len) >= 0 && old_len == strlen(stamp) &&
	    memcmp(old, stamp, old_len) == 0) {
		sl_build_log(b, "tools root %s is current", b->tools);
		return 0;
	}
	sl_build_log(b, "making the tools root %s", b->tools);
	r = sl_rm_rf(next);
	if (r < 0)
		return r;
	r = mmdebstrap_common(b, &a);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(tools_packages); i++)
		sl_argv_pushf(&a, "--include=%s", tools_packages[i]);
	sl_argv_push(&a, "--dpkgopt=path-exclude=/usr/share/doc/*");
	sl_argv_push(&a, "--dpkgopt=path-exclude=/usr/share/man/*");
	sl_argv_push(&a, "--dpkgopt=path-exclude=/usr/share/locale/*");
	mmdebstrap_finish(b, &a, next);
	if (r >= 0)
		r = sl_argv_done(&a);
	if (r >= 0)
		r = sl_build_spawn(b, (const char *const *)a.v, -1);
	sl_argv_free(&a);
	if (r < 0)
		return sl_error_prefix(r, "making the tools root: ");
	{
		_cleanup_free_ char *next_stamp = sl_asprintf("%s/.slate-stamp", next);

		if (!next_stamp)
			return -ENOMEM;
		r = sl_write_file(next_stamp, stamp, strlen(stamp), 0644);
		if (r < 0)
			return r;
	}
	r = sl_rm_rf(b->tools);
	if (r < 0)
		return r;
	if (rename(next, b->tools) < 0)
		return sl_errorf(-errno, "cannot rename %s: %s", next, strerror(errno));
	return 0;
}

/*
 * Debian's kernel packages depend on "initramfs-tools | linux-initramfs-tool". A node
 * boots Slate's own initramfs (slate-init, built into the UKI), so a tiny package
 * that provides linux-initramfs-tool keeps initramfs-tools and its hooks off the
 * node. Returns the .deb's path; it is built reproducibly with dpkg-deb.
 */
static int make_provider_deb(SlBuild *b, const char *dir, char **ret)
{
	static const char control[] =
		"Package: " PROVIDER_NAME "\n"
		"Version: " PROVIDER_VERSION "\n"
		"Architecture: all\n"
		"Maintainer: Slate <slate@localhost>\n"
		"Provides: linux-initramfs-tool\n"
		"Section: admin\n"
		"Priority: optional\n"
		"Description: Slate's initramfs comes from slate build\n"
		" A Slate node boots the initramfs that slate build puts into its signed\n"
		" UKI (slate-init). This empty package satisfies the kernel's dependency\n"
		" on an initramfs generator.\n";
	_cleanup_free_ char *pkg = sl_asprintf("%s/provider", dir);
	_cleanup_free_ char *debian = sl_asprintf("%s/provider/DEBIAN", dir);
	_cleanup_free_ char *ctl = sl_asprintf("%s/provider/DEBIAN/control", dir);
	_cleanup_free_ char *deb =
		sl_asprintf("%s/%s_%s_all.deb", dir, PROVIDER_NAME, PROVIDER_VERSION);
	const char *argv[] = {
		"dpkg-deb", "--root-owner-group", "-Zxz", "--build", pkg, deb, NULL
	};
	int r;

	if (!pkg || !debian || !ctl || !deb)
		return -ENOMEM;
	r = sl_mkdir_p(debian, 0755);
	if (r < 0)
		return r;
	r = sl_write_file(ctl, control, sizeof(control) - 1, 0644);
	if (r < 0)
		return r;
	r = sl_build_spawn(b, argv, -1);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(deb);
	return 0;
}

int sl_build_bootstrap(SlBuild *b)
{
	const SlBuildConfig *c = b->c;
	_cleanup_free_ char *tmp = NULL, *deb = NULL, *qtmp = NULL, *qdeb = NULL;
	_cleanup_close_ int lock = -1;
	SlArgv a = { 0 };
	int r;

	r = sl_rm_rf(b->root);
	if (r < 0)
		return r;
	/* The provider .deb must exist at the same path inside the tree (apt hands its
	 * path to the chrooted dpkg): a private directory under /tmp, removed again. */
	tmp = strdup("/tmp/slate-build.XXXXXX");
	if (!tmp)
		return -ENOMEM;
	if (!mkdtemp(tmp))
		return sl_errorf(-errno, "cannot make a directory in /tmp: %s", strerror(errno));
	r = make_provider_deb(b, tmp, &deb);
	if (r < 0)
		goto out;
	qtmp = sl_shell_quote(tmp);
	qdeb = sl_shell_quote(deb);
	if (!qtmp || !qdeb) {
		r = -ENOMEM;
		goto out;
	}

	r = mmdebstrap_common(b, &a);
	for (size_t i = 0; r >= 0 && i < c->lists[SL_BUILD_LIST_PACKAGES].n; i++)
		sl_argv_pushf(&a, "--include=%s", c->lists[SL_BUILD_LIST_PACKAGES].items[i]);
	sl_argv_pushf(&a, "--include=%s", deb);
	for (size_t i = 0; i < c->lists[SL_BUILD_LIST_EXCLUDE].n; i++) {
		const char *e = c->lists[SL_BUILD_LIST_EXCLUDE].items[i];

		if (e[0] == '!')
			sl_argv_pushf(&a, "--dpkgopt=path-include=%s", e + 1);
		else
			sl_argv_pushf(&a, "--dpkgopt=path-exclude=%s", e);
	}
	sl_argv_pushf(&a, "--setup-hook=mkdir -p \"$1\"%s", qtmp);
	sl_argv_pushf(&a, "--setup-hook=upload %s %s", qdeb, qdeb);
	sl_argv_pushf(&a, "--customize-hook=rm -rf \"$1\"%s", qtmp);
	mmdebstrap_finish(b, &a, b->root);
	if (r >= 0)
		r = sl_argv_done(&a);
	if (r < 0)
		goto out;

	r = lock_cache(b, &lock);
	if (r < 0)
		goto out;
	r = sl_build_spawn(b, (const char *const *)a.v, -1);
out:
	sl_argv_free(&a);
	if (tmp) {
		int k = sl_rm_rf(tmp);

		if (r >= 0 && k < 0)
			r = k;
	}
	return r;
}
