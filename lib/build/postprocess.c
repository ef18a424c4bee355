/* SPDX-License-Identifier: MIT */
/*
 * Post-processing of the tree mmdebstrap made, in this order:
 *
 *   1. record the installed packages (for the SBOM) while dpkg's database exists;
 *   2. copy the definition's files over the tree, add the release public key;
 *   3. enable and mask units (the image's own systemctl, offline, in a chroot);
 *   4. write os-release and /etc/.updated;
 *   5. remove what a node must not carry ([remove]);
 *   6. clear setuid/setgid bits (strip-setuid);
 *   7. take out the kernel, the UKI stub and systemd-boot for the later steps;
 *   8. move /etc to /usr/share/factory/etc, the lower layer of the node's /etc.
 *
 * Only /usr leaves this tree (as the EROFS image), so /var, /boot and the rest are
 * simply not shipped.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <sys/stat.h>

#include "build-internal.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/strutil.h"

/* ---- 1. the package list ---------------------------------------------------------- */

/* apt's archive file name: name_version_arch.deb with ':' (an epoch) as %3a. */
static char *deb_file_name(const SlBuild *b, const SlPackage *p)
{
	_cleanup_free_ char *v = malloc(strlen(p->version) * 3 + 1);
	char *o = v;

	if (!v)
		return NULL;
	for (const char *s = p->version; *s; s++) {
		if (*s == ':') {
			memcpy(o, "%3a", 3);
			o += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	return sl_asprintf("%s/%s_%s_%s.deb", b->debs, p->name, v, p->architecture);
}

static int record_packages(SlBuild *b)
{
	_cleanup_free_ char *admindir = sl_asprintf("--admindir=%s/var/lib/dpkg", b->root);
	_cleanup_free_ char *list = sl_build_work_path(b, "dpkg-query.txt");
	_cleanup_free_ uint8_t *text = NULL;
	_cleanup_close_ int fd = -1;
	size_t len;
	int r;

	if (!admindir || !list)
		return -ENOMEM;
	fd = open(list, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_errorf(-errno, "%s: %s", list, strerror(errno));
	{
		const char *argv[] = { "dpkg-query", admindir, "--show",
				       "--showformat=${Package}\\t${Version}\\t${Architecture}\\t"
				       "${source:Package}\\t${source:Version}\\t${Maintainer}\\t"
				       "${db:Status-Abbrev}\\n",
				       NULL };

		r = sl_build_spawn(b, argv, fd);
		if (r < 0)
			return r;
	}
	r = sl_read_file(list, 16u << 20, &text, &len);
	if (r < 0)
		return r;
	r = sl_packages_parse((const char *)text, len, &b->packages);
	if (r < 0)
		return sl_error_prefix(r, "%s: ", list);
	/* The SHA-256 of each .deb as apt fetched it (apt checked it against the signed
	 * archive index). Packages not in the cache (Slate's own) have none. */
	for (size_t i = 0; i < b->packages.n; i++) {
		SlPackage *p = &b->packages.items[i];
		_cleanup_free_ char *path = deb_file_name(b, p);
		uint8_t digest[32];

		if (!path)
			return -ENOMEM;
		if (access(path, R_OK) < 0)
			continue;
		r = sl_sha256_file(path, digest, NULL);
		if (r < 0)
			return r;
		p->deb_sha256 = sl_hex_encode_alloc(digest, sizeof(digest));
		if (!p->deb_sha256)
			return -ENOMEM;
	}
	sl_build_log(b, "%zu packages installed", b->packages.n);
	return 0;
}

/* ---- 2. files ------------------------------------------------------------------------ */

static int copy_tree(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *de;
	int r = 0;

	if (!d)
		return sl_errorf(-errno, "%s: %s", src, strerror(errno));
	while ((de = readdir(d))) {
		_cleanup_free_ char *s = NULL, *t = NULL;
		struct stat st, tst;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		s = sl_asprintf("%s/%s", src, de->d_name);
		t = sl_asprintf("%s/%s", dst, de->d_name);
		if (!s || !t) {
			r = -ENOMEM;
			break;
		}
		if (lstat(s, &st) < 0) {
			r = sl_errorf(-errno, "%s: %s", s, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			/* Into an existing directory (or a symlink to one inside the tree,
			 * like /lib -> usr/lib) we merge; anything else is replaced. */
			if (lstat(t, &tst) == 0 && !S_ISDIR(tst.st_mode)) {
				r = sl_errorf(-ENOTDIR,
					      "%s: the image has a non-directory there (a "
					      "symlink?); put the files under its target",
					      t);
				break;
			}
			if (mkdir(t, st.st_mode & 07777) < 0 && errno != EEXIST) {
				r = sl_errorf(-errno, "%s: %s", t, strerror(errno));
				break;
			}
			r = copy_tree(s, t);
		} else if (S_ISREG(st.st_mode)) {
			if (lstat(t, &tst) == 0 && S_ISDIR(tst.st_mode)) {
				r = sl_errorf(-EISDIR, "%s: the image has a directory there", t);
				break;
			}
			(void)unlink(t);
			r = sl_copy_file(s, t, st.st_mode & 07777);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(s, target, sizeof(target) - 1);

			if (n < 0) {
				r = sl_errorf(-errno, "%s: %s", s, strerror(errno));
				break;
			}
			target[n] = 0;
			(void)unlink(t);
			if (symlink(target, t) < 0)
				r = sl_errorf(-errno, "%s: %s", t, strerror(errno));
		} else {
			r = sl_errorf(-EINVAL,
				      "%s: only files, directories and symlinks can be "
				      "added to an image",
				      s);
		}
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

static int add_files(SlBuild *b)
{
	_cleanup_free_ char *pub = sl_asprintf("%s/release.pub", b->keys);
	_cleanup_free_ char *dir = sl_asprintf("%s/usr/share/slate", b->root);
	_cleanup_free_ char *dst = sl_asprintf("%s/usr/share/slate/release.pub", b->root);
	int r;

	if (!pub || !dir || !dst)
		return -ENOMEM;
	if (b->c->files) {
		struct stat st;

		if (stat(b->c->files, &st) < 0 || !S_ISDIR(st.st_mode))
			return sl_errorf(-ENOENT, "%s: files = names no directory", b->c->files);
		r = copy_tree(b->c->files, b->root);
		if (r < 0)
			return r;
	}
	/* The release key's public half ships in /usr, so that a node can check a
	 * release with no network (DESIGN.md, Updates). */
	r = sl_mkdir_p(dir, 0755);
	if (r < 0)
		return r;
	return sl_copy_file(pub, dst, 0644);
}

/* ---- 3. units ------------------------------------------------------------------------ */

static int systemctl(SlBuild *b, const char *verb, const SlBuildList *units)
{
	SlArgv a = { 0 };
	int r;

	if (units->n == 0)
		return 0;
	/* The image's own systemctl: it understands its own units; offline in a chroot
	 * (no /run/systemd/system there). */
	sl_argv_push(&a, "chroot");
	sl_argv_push(&a, b->root);
	sl_argv_push(&a, "/usr/bin/systemctl");
	sl_argv_push(&a, verb);
	for (size_t i = 0; i < units->n; i++)
		sl_argv_push(&a, units->items[i]);
	r = sl_argv_done(&a);
	if (r >= 0)
		r = sl_build_spawn(b, (const char *const *)a.v, -1);
	sl_argv_free(&a);
	return r < 0 ? sl_error_prefix(r, "systemctl %s: ", verb) : 0;
}

/* ---- 4. os-release -------------------------------------------------------------------- */

static int write_os_release(SlBuild *b)
{
	const SlBuildConfig *c = b->c;
	_cleanup_free_ char *text =
		sl_asprintf("NAME=\"%s\"\n"
			    "PRETTY_NAME=\"%s %s\"\n"
			    "ID=slate\n"
			    "ID_LIKE=debian\n"
			    "VERSION=\"%s\"\n"
			    "VERSION_ID=%s\n"
			    "VERSION_CODENAME=%s\n"
			    "IMAGE_ID=%s\n"
			    "IMAGE_VERSION=%s\n"
			    "SLATE_CHANNEL=%s\n"
			    "SLATE_NODE_IMAGE_VERSION=SlateContainerLinux-%s\n",
			    c->name, c->name, b->version, b->version, b->version, c->suite, c->id,
			    b->version, b->channel, b->version);
	_cleanup_free_ char *path = sl_asprintf("%s/usr/lib/os-release", b->root);
	_cleanup_free_ char *etc = sl_asprintf("%s/etc/os-release", b->root);
	int r;

	if (!text || !path || !etc)
		return -ENOMEM;
	(void)unlink(path);
	r = sl_write_file(path, text, strlen(text), 0644);
	if (r < 0)
		return r;
	/* /etc/os-release points at it (os-release(5)). */
	(void)unlink(etc);
	if (symlink("../usr/lib/os-release", etc) < 0)
		return sl_errorf(-errno, "%s: %s", etc, strerror(errno));
	return sl_write_file(b->os_release, text, strlen(text), 0644);
}

/*
 * /etc/.updated: what systemd-update-done writes once /etc matches a /usr. It holds
 * the /usr mtime it was made for (mkfs.erofs gives every inode SOURCE_DATE_EPOCH),
 * so units with ConditionNeedsUpdate=/etc (ldconfig, hwdb, catalog: all done at
 * build time) skip a node's first boot, and run again once an update brings a
 * newer /usr, as they should.
 */
static int write_update_stamp(SlBuild *b)
{
	_cleanup_free_ char *path = sl_asprintf("%s/etc/.updated", b->root);
	_cleanup_free_ char *text = sl_asprintf(
		"# This file was created by slate build, as systemd-update-done would:\n"
		"# /etc matches the /usr of this image (see systemd-update-done.service(8)).\n"
		"TIMESTAMP_NSEC=%lld000000000\n",
		(long long)b->epoch);

	if (!path || !text)
		return -ENOMEM;
	return sl_write_file(path, text, strlen(text), 0644);
}

/* ---- 5. removal ---------------------------------------------------------------------- */

/* Escape glob metacharacters in a literal prefix (the tree's path). */
static char *glob_escape(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (strchr("*?[]\\", *s))
			*o++ = '\\';
		*o++ = *s;
	}
	*o = 0;
	return out;
}

/* True when path's parent directory, with symlinks resolved, is inside root. */
static bool parent_inside(const char *root_real, const char *path)
{
	_cleanup_free_ char *copy = sl_strdup(path);
	char *slash, real[PATH_MAX];
	size_t n = strlen(root_real);

	if (!copy || !(slash = strrchr(copy, '/')))
		return false;
	*slash = 0;
	if (!realpath(copy, real))
		return false;
	return strncmp(real, root_real, n) == 0 && (real[n] == '/' || real[n] == 0);
}

static int remove_globs(SlBuild *b)
{
	const SlBuildList *l = &b->c->lists[SL_BUILD_LIST_REMOVE];
	_cleanup_free_ char *prefix = glob_escape(b->root);
	char root_real[PATH_MAX];
	size_t removed = 0;

	if (!prefix)
		return -ENOMEM;
	if (!realpath(b->root, root_real))
		return sl_errorf(-errno, "%s: %s", b->root, strerror(errno));
	for (size_t i = 0; i < l->n; i++) {
		_cleanup_free_ char *pattern = sl_asprintf("%s%s", prefix, l->items[i]);
		glob_t g = { 0 };
		int gr, r = 0;

		if (!pattern)
			return -ENOMEM;
		gr = glob(pattern, GLOB_NOSORT, NULL, &g);
		if (gr == GLOB_NOMATCH) {
			sl_build_log(b, "remove %s: nothing matches", l->items[i]);
			globfree(&g);
			continue;
		}
		if (gr != 0) {
			globfree(&g);
			return sl_errorf(-EIO, "remove %s: glob failed", l->items[i]);
		}
		for (size_t k = 0; k < g.gl_pathc && r >= 0; k++) {
			/* A glob may have walked through a symlink: never remove anything
			 * outside the tree. */
			if (!parent_inside(root_real, g.gl_pathv[k])) {
				r = sl_errorf(-EPERM, "remove %s: %s is outside the image tree",
					      l->items[i], g.gl_pathv[k]);
				break;
			}
			r = sl_rm_rf(g.gl_pathv[k]);
			removed++;
		}
		globfree(&g);
		if (r < 0)
			return r;
	}
	sl_build_log(b, "removed %zu paths", removed);
	return 0;
}

/* ---- 6. setuid ------------------------------------------------------------------------ */

static SlBuild *nftw_build; /* nftw() has no user pointer */
static size_t nftw_count;

static int strip_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type != FTW_F || !S_ISREG(st->st_mode) || !(st->st_mode & (S_ISUID | S_ISGID)))
		return 0;
	if (chmod(path, st->st_mode & 0777 & ~(mode_t)(S_ISUID | S_ISGID)) < 0)
		return -errno;
	sl_build_log(nftw_build, "cleared setuid/setgid: %s", path + strlen(nftw_build->root));
	nftw_count++;
	return 0;
}

static int strip_setuid(SlBuild *b)
{
	_cleanup_free_ char *usr = sl_asprintf("%s/usr", b->root);
	int r;

	if (!usr)
		return -ENOMEM;
	nftw_build = b;
	nftw_count = 0;
	r = nftw(usr, strip_one, 64, FTW_PHYS | FTW_MOUNT);
	nftw_build = NULL;
	if (r != 0)
		return sl_errorf(r < 0 ? r : -EIO, "clearing setuid bits under %s failed", usr);
	sl_build_log(b, "cleared setuid/setgid bits on %zu files", nftw_count);
	return 0;
}

/* ---- 7. boot files ---------------------------------------------------------------------- */

static int take_boot_files(SlBuild *b)
{
	_cleanup_free_ char *boot = sl_asprintf("%s/boot", b->root);
	_cleanup_free_ char *kernel = NULL, *modules = NULL, *stub = NULL, *sdboot = NULL;
	DIR *d;
	struct dirent *de;
	struct stat st;
	int r;

	if (!boot)
		return -ENOMEM;
	d = opendir(boot);
	if (!d)
		return sl_errorf(-ENOENT, "the image has no /boot: add a linux-image package to "
					  "[packages]");
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "vmlinuz-", 8) != 0)
			continue;
		if (b->kernel_version) {
			closedir(d);
			return sl_errorf(-EBADMSG,
					 "the image has two kernels (%s and %s): keep one "
					 "linux-image package",
					 b->kernel_version, de->d_name + 8);
		}
		b->kernel_version = sl_strdup(de->d_name + 8);
		if (!b->kernel_version) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	if (!b->kernel_version)
		return sl_errorf(-ENOENT, "the image has no kernel in /boot: add a linux-image "
					  "package to [packages]");
	kernel = sl_asprintf("%s/boot/vmlinuz-%s", b->root, b->kernel_version);
	modules = sl_asprintf("%s/usr/lib/modules/%s/modules.dep", b->root, b->kernel_version);
	stub = sl_asprintf("%s/usr/lib/systemd/boot/efi/linuxx64.efi.stub", b->root);
	sdboot = sl_asprintf("%s/usr/lib/systemd/boot/efi/systemd-bootx64.efi", b->root);
	if (!kernel || !modules || !stub || !sdboot)
		return -ENOMEM;
	if (stat(modules, &st) < 0)
		return sl_errorf(-ENOENT, "the kernel %s has no modules.dep under /usr/lib/modules",
				 b->kernel_version);
	if (stat(stub, &st) < 0 || stat(sdboot, &st) < 0)
		return sl_errorf(-ENOENT, "the image has no systemd-boot or UKI stub: add "
					  "systemd-boot-efi to [packages]");
	r = sl_copy_file(kernel, b->kernel, 0644);
	if (r < 0)
		return r;
	r = sl_copy_file(stub, b->stub, 0644);
	if (r < 0)
		return r;
	return sl_copy_file(sdboot, b->systemd_boot, 0644);
}

/* ---- 8. /etc -> /usr/share/factory/etc ---------------------------------------------------- */

/* Move every entry of src into dst; an entry already in dst is replaced, except
 * that two directories merge. */
static int move_merge(const char *src, const char *dst)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (rename(src, dst) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		return sl_errorf(-errno, "cannot move %s to %s: %s", src, dst, strerror(errno));
	d = opendir(src);
	if (!d)
		return sl_errorf(-errno, "%s: %s", src, strerror(errno));
	while ((de = readdir(d)) && r >= 0) {
		_cleanup_free_ char *s = NULL, *t = NULL;
		struct stat ss, ts;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		s = sl_asprintf("%s/%s", src, de->d_name);
		t = sl_asprintf("%s/%s", dst, de->d_name);
		if (!s || !t) {
			r = -ENOMEM;
			break;
		}
		if (lstat(s, &ss) == 0 && lstat(t, &ts) == 0 && S_ISDIR(ss.st_mode) &&
		    S_ISDIR(ts.st_mode)) {
			r = move_merge(s, t);
			continue;
		}
		r = sl_rm_rf(t);
		if (r >= 0 && rename(s, t) < 0)
			r = sl_errorf(-errno, "cannot move %s: %s", s, strerror(errno));
	}
	closedir(d);
	if (r >= 0 && rmdir(src) < 0)
		r = sl_errorf(-errno, "%s: %s", src, strerror(errno));
	return r;
}

static int move_etc(SlBuild *b)
{
	_cleanup_free_ char *etc = sl_asprintf("%s/etc", b->root);
	_cleanup_free_ char *factory = sl_asprintf("%s/usr/share/factory", b->root);
	_cleanup_free_ char *target = sl_asprintf("%s/usr/share/factory/etc", b->root);
	int r;

	if (!etc || !factory || !target)
		return -ENOMEM;
	r = sl_mkdir_p(factory, 0755);
	if (r < 0)
		return r;
	r = move_merge(etc, target);
	if (r < 0)
		return r;
	/* The tree keeps an empty /etc: it is the mount point on a node. */
	if (mkdir(etc, 0755) < 0)
		return sl_errorf(-errno, "%s: %s", etc, strerror(errno));
	return 0;
}

int sl_build_postprocess(SlBuild *b)
{
	int r;

	r = record_packages(b);
	if (r < 0)
		return sl_error_prefix(r, "recording the package list: ");
	r = add_files(b);
	if (r < 0)
		return sl_error_prefix(r, "adding files: ");
	r = systemctl(b, "enable", &b->c->lists[SL_BUILD_LIST_ENABLE]);
	if (r < 0)
		return r;
	r = systemctl(b, "mask", &b->c->lists[SL_BUILD_LIST_MASK]);
	if (r < 0)
		return r;
	r = write_os_release(b);
	if (r < 0)
		return sl_error_prefix(r, "writing os-release: ");
	r = write_update_stamp(b);
	if (r < 0)
		return r;
	r = remove_globs(b);
	if (r < 0)
		return r;
	if (b->c->strip_setuid) {
		r = strip_setuid(b);
		if (r < 0)
			return r;
	}
	r = take_boot_files(b);
	if (r < 0)
		return r;
	return move_etc(b);
}
