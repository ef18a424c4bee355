/* SPDX-License-Identifier: MIT */
/* File-tree helpers of the build: the work tree is ours, so these may be simple,
 * but they never follow a symlink out of it. */
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "build-internal.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/strutil.h"

int sl_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = sl_strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != 0)
			continue;
		{
			char saved = *s;

			*s = 0;
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return sl_errorf(-errno, "cannot create %s: %s", p,
						 strerror(errno));
			*s = saved;
		}
		if (!*s)
			break;
	}
	return 0;
}

static int rm_rf_at(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int fd =
			openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d;
		struct dirent *de;
		int r = 0;

		if (fd < 0)
			return -errno;
		d = fdopendir(fd);
		if (!d)
			return -errno;
		fd = -1; /* owned by d now */
		while ((de = readdir(d))) {
			if (streq(de->d_name, ".") || streq(de->d_name, ".."))
				continue;
			r = rm_rf_at(dirfd(d), de->d_name);
			if (r < 0)
				break;
		}
		closedir(d);
		if (r < 0)
			return r;
		if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
			return -errno;
		return 0;
	}
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int sl_rm_rf(const char *path)
{
	int r = rm_rf_at(AT_FDCWD, path);

	if (r < 0)
		return sl_errorf(r, "cannot remove %s: %s", path, strerror(-r));
	return 0;
}

int sl_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	_cleanup_close_ int fd =
		open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	int r;

	if (fd < 0)
		return sl_errorf(-errno, "cannot write %s: %s", path, strerror(errno));
	r = sl_pwrite_all(fd, data, len, 0);
	if (r < 0)
		return sl_errorf(r, "cannot write %s: %s", path, strerror(-r));
	if (fchmod(fd, mode) < 0)
		return -errno;
	return 0;
}

int sl_copy_data(int in, const char *src, uint64_t size, int out, uint64_t offset, const char *dst)
{
	_cleanup_free_ uint8_t *buf = malloc(1u << 20);
	uint64_t off = 0;
	int r;

	if (!buf)
		return -ENOMEM;
	/* Copy only the data regions so that sparse files stay sparse. */
	while (off < size) {
		off_t data = lseek(in, (off_t)off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return -errno;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		for (uint64_t p = (uint64_t)data; p < (uint64_t)hole;) {
			size_t n = (size_t)MIN((uint64_t)hole - p, (uint64_t)(1u << 20));

			r = sl_pread_all(in, buf, n, p);
			if (r < 0)
				return sl_errorf(r, "cannot read %s: %s", src, strerror(-r));
			r = sl_pwrite_all(out, buf, n, offset + p);
			if (r < 0)
				return sl_errorf(r, "cannot write %s: %s", dst, strerror(-r));
			p += n;
		}
		off = (uint64_t)hole;
	}
	return 0;
}

int sl_copy_file(const char *src, const char *dst, mode_t mode)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	uint64_t size;
	int r;

	if (in < 0)
		return sl_errorf(-errno, "cannot read %s: %s", src, strerror(errno));
	r = sl_fd_size(in, &size);
	if (r < 0)
		return r;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (out < 0)
		return sl_errorf(-errno, "cannot write %s: %s", dst, strerror(errno));
	r = sl_copy_data(in, src, size, out, 0, dst);
	if (r < 0)
		return r;
	if (ftruncate(out, (off_t)size) < 0 || fchmod(out, mode) < 0)
		return sl_errorf(-errno, "cannot write %s: %s", dst, strerror(errno));
	return 0;
}

/* Feed n bytes of fd at off into ctx. */
static int hash_range(EVP_MD_CTX *ctx, int fd, uint8_t *buf, uint64_t off, uint64_t n)
{
	while (n > 0) {
		size_t k = (size_t)MIN(n, (uint64_t)(1u << 20));
		int r = sl_pread_all(fd, buf, k, off);

		if (r < 0)
			return r;
		if (!EVP_DigestUpdate(ctx, buf, k))
			return -EIO;
		off += k;
		n -= k;
	}
	return 0;
}

/* Feed n zero bytes into ctx (a hole: nothing to read). */
static int hash_zeros(EVP_MD_CTX *ctx, const uint8_t *zeros, uint64_t n)
{
	while (n > 0) {
		size_t k = (size_t)MIN(n, (uint64_t)(1u << 20));

		if (!EVP_DigestUpdate(ctx, zeros, k))
			return -EIO;
		n -= k;
	}
	return 0;
}

int sl_sha256_file(const char *path, uint8_t ret_digest[static 32], uint64_t *ret_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ uint8_t *buf = NULL, *zeros = NULL;
	EVP_MD_CTX *ctx = NULL;
	uint64_t size, off = 0;
	unsigned len = 32;
	int r;

	if (fd < 0)
		return sl_errorf(-errno, "cannot read %s: %s", path, strerror(errno));
	r = sl_fd_size(fd, &size);
	if (r < 0)
		return sl_error_prefix(r, "%s: ", path);
	buf = malloc(1u << 20);
	zeros = calloc(1, 1u << 20);
	ctx = EVP_MD_CTX_new();
	if (!buf || !zeros || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = -ENOMEM;
		goto out;
	}
	/* Disk images are sparse: hash their holes without reading them. */
	while (off < size && r >= 0) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO) {
			r = hash_zeros(ctx, zeros, size - off);
			off = size;
			break;
		}
		if (data < 0) {
			/* No SEEK_DATA here: read everything. */
			r = hash_range(ctx, fd, buf, off, size - off);
			off = size;
			break;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		r = hash_zeros(ctx, zeros, (uint64_t)data - off);
		if (r >= 0)
			r = hash_range(ctx, fd, buf, (uint64_t)data, (uint64_t)(hole - data));
		off = (uint64_t)hole;
	}
	if (r < 0) {
		r = sl_errorf(r, "cannot read %s: %s", path, strerror(-r));
		goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, ret_digest, &len)) {
		r = -EIO;
		goto out;
	}
	if (ret_size)
		*ret_size = size;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}
