/* SPDX-License-Identifier: MIT */
#include <sys/stat.h>

#include "slate/cpio.h"
#include "slate/error.h"

/* newc: "070701" and 13 fields of 8 hex digits; name and data each padded to 4. */
#define NEWC_HEADER_SIZE 110
#define NEWC_MAGIC	 "070701"
#define NEWC_TRAILER	 "TRAILER!!!"
#define ARCHIVE_BLOCK	 512 /* GNU cpio pads the archive to its 512-byte blocks */

typedef struct Entry {
	char *path;    /* owned */
	uint32_t mode; /* type and permissions */
	uint32_t rmajor, rminor;
	uint8_t *data; /* owned: file contents or symlink target */
	size_t size;
} Entry;

struct SlCpio {
	Entry *entries; /* owned, kept sorted by path */
	size_t n, cap;
	uint32_t mtime;
};

SlCpio *sl_cpio_new(uint32_t mtime)
{
	SlCpio *c = calloc(1, sizeof(*c));

	if (c)
		c->mtime = mtime;
	return c;
}

void sl_cpio_free(SlCpio *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].path);
		free(c->entries[i].data);
	}
	free(c->entries);
	free(c);
}

size_t sl_cpio_count(const SlCpio *c)
{
	return c->n;
}

static int check_path(const char *path, size_t len)
{
	if (len == 0 || len > SL_CPIO_PATH_MAX || path[len - 1] == '/')
		return sl_errorf(-EINVAL, "cpio: path '%.100s' is empty, too long or ends in '/'",
				 path);
	for (const char *s = path; s < path + len;) {
		const char *slash = memchr(s, '/', (size_t)(path + len - s));
		size_t n = slash ? (size_t)(slash - s) : (size_t)(path + len - s);

		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return sl_errorf(-EINVAL,
					 "cpio: path '%.*s' has an empty, '.' or '..' part",
					 (int)MIN(len, 200), path);
		s += n + 1;
	}
	return 0;
}

/* Position of path[0, len) in the sorted entries; *found when present. */
static size_t lookup(const SlCpio *c, const char *path, size_t len, bool *found)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strncmp(c->entries[mid].path, path, len);

		if (r == 0 && c->entries[mid].path[len])
			r = 1;
		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Insert path[0, len) at its sorted place; takes data on success. */
static int insert(SlCpio *c, const char *path, size_t len, uint32_t mode, unsigned rmajor,
		  unsigned rminor, uint8_t *data, size_t size)
{
	bool found;
	size_t at = lookup(c, path, len, &found);
	char *p;

	if (found) {
		const Entry *e = &c->entries[at];

		if (S_ISDIR(mode) && e->mode == mode)
			return 0;
		return sl_errorf(-EEXIST, "cpio: '%.*s' added twice", (int)MIN(len, 200), path);
	}
	if (c->n == SL_CPIO_ENTRIES_MAX)
		return sl_errorf(-E2BIG, "cpio: more than %u entries", SL_CPIO_ENTRIES_MAX);
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		Entry *ne = sl_realloc_array(c->entries, ncap, sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		c->entries = ne;
		c->cap = ncap;
	}
	p = strndup(path, len);
	if (!p)
		return -ENOMEM;
	memmove(c->entries + at + 1, c->entries + at, (c->n - at) * sizeof(Entry));
	c->entries[at] = (Entry){ .path = p,
				  .mode = mode,
				  .rmajor = rmajor,
				  .rminor = rminor,
				  .data = data,
				  .size = size };
	c->n++;
	return 0;
}

/* Every parent of path exists as a directory (added with 0755 when missing). */
static int add_parents(SlCpio *c, const char *path)
{
	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		size_t len = (size_t)(s - path);
		bool found;
		size_t at = lookup(c, path, len, &found);
		int r;

		if (found) {
			if (!S_ISDIR(c->entries[at].mode))
				return sl_errorf(-ENOTDIR, "cpio: '%.*s' is not a directory",
						 (int)MIN(len, 200), path);
			continue;
		}
		r = insert(c, path, len, S_IFDIR | 0755, 0, 0, NULL, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add(SlCpio *c, const char *path, uint32_t mode, unsigned rmajor, unsigned rminor,
	       const void *data, size_t size)
{
	_cleanup_free_ uint8_t *copy = NULL;
	size_t len = strlen(path);
	int r;

	r = check_path(path, len);
	if (r < 0)
		return r;
	if (size > SL_CPIO_FILE_MAX)
		return sl_errorf(-E2BIG, "cpio: '%s' is larger than 4 GiB", path);
	if (size) {
		copy = malloc(size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, size);
	}
	r = add_parents(c, path);
	if (r < 0)
		return r;
	r = insert(c, path, len, mode, rmajor, rminor, copy, size);
	if (r < 0)
		return r;
	TAKE_PTR(copy);
	return 0;
}

int sl_cpio_add_dir(SlCpio *c, const char *path, mode_t perm)
{
	if (perm & ~07777u)
		return -EINVAL;
	return add(c, path, S_IFDIR | (uint32_t)perm, 0, 0, NULL, 0);
}

int sl_cpio_add_file(SlCpio *c, const char *path, mode_t perm, const void *data, size_t len)
{
	if (perm & ~07777u)
		return -EINVAL;
	return add(c, path, S_IFREG | (uint32_t)perm, 0, 0, data, len);
}

int sl_cpio_add_symlink(SlCpio *c, const char *path, const char *target)
{
	size_t len = strlen(target);

	if (len == 0 || len > SL_CPIO_PATH_MAX)
		return sl_errorf(-EINVAL, "cpio: symlink '%s' has an empty or too long target",
				 path);
	/* Symlinks are 0777, as lstat() shows them on Linux. */
	return add(c, path, S_IFLNK | 0777, 0, 0, target, len);
}

int sl_cpio_add_chardev(SlCpio *c, const char *path, mode_t perm, unsigned major, unsigned minor)
{
	if (perm & ~07777u)
		return -EINVAL;
	return add(c, path, S_IFCHR | (uint32_t)perm, major, minor, NULL, 0);
}

typedef struct Out {
	SlCpioWriteFn write;
	void *userdata;
	uint64_t offset;
} Out;

static int out_write(Out *o, const void *buf, size_t len)
{
	int r = o->write(o->userdata, buf, len);

	if (r < 0)
		return r;
	o->offset += len;
	return 0;
}

static int out_pad(Out *o, uint64_t align)
{
	static const uint8_t zeros[ARCHIVE_BLOCK];
	size_t n = (size_t)((align - o->offset % align) % align);

	return n ? out_write(o, zeros, n) : 0;
}

static int write_entry(Out *o, uint32_t ino, uint32_t mode, uint32_t nlink, uint32_t mtime,
		       const Entry *e, const char *name)
{
	char hdr[NEWC_HEADER_SIZE + 1];
	size_t namesize = strlen(name) + 1;
	int r;

	/* Fields: ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor
	 * rdevminor namesize check. Upper-case hex as GNU cpio and gen_init_cpio. */
	snprintf(hdr, sizeof(hdr),
		 NEWC_MAGIC "%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u,
		 0u, nlink, mtime, e ? (uint32_t)e->size : 0u, 0u, 0u, e ? e->rmajor : 0u,
		 e ? e->rminor : 0u, (uint32_t)namesize, 0u);
	r = out_write(o, hdr, NEWC_HEADER_SIZE);
	if (r >= 0)
		r = out_write(o, name, namesize);
	if (r >= 0)
		r = out_pad(o, 4);
	if (r >= 0 && e && e->size) {
		r = out_write(o, e->data, e->size);
		if (r >= 0)
			r = out_pad(o, 4);
	}
	return r;
}

/* Directories: 2 + direct subdirectories, as stat() reports on a real file system.
 * The entries under "dir/" are contiguous in byte order, but need not follow
 * "dir" directly ("dir-x" sorts between them), so search for where they start. */
static uint32_t dir_nlink(const SlCpio *c, size_t i)
{
	const char *dir = c->entries[i].path;
	size_t len = strlen(dir), lo = i + 1, hi = c->n;
	uint32_t n = 2;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = c->entries[mid].path;
		int r = strncmp(p, dir, len);

		if (r == 0)
			r = (unsigned char)p[len] < '/' ? -1 : p[len] == '/' ? 0 : 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k < c->n; k++) {
		const Entry *e = &c->entries[k];

		if (strncmp(e->path, dir, len) != 0 || e->path[len] != '/')
			break;
		if (S_ISDIR(e->mode) && !strchr(e->path + len + 1, '/'))
			n++;
	}
	return n;
}

int sl_cpio_write(const SlCpio *c, SlCpioWriteFn write, void *userdata)
{
	Out o = { .write = write, .userdata = userdata };
	int r;

	for (size_t i = 0; i < c->n; i++) {
		const Entry *e = &c->entries[i];

		r = write_entry(&o, (uint32_t)i, e->mode, S_ISDIR(e->mode) ? dir_nlink(c, i) : 1,
				c->mtime, e, e->path);
		if (r < 0)
			return r;
	}
	r = write_entry(&o, 0, 0, 1, 0, NULL, NEWC_TRAILER);
	if (r < 0)
		return r;
	return out_pad(&o, ARCHIVE_BLOCK);
}
