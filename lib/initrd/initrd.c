/* SPDX-License-Identifier: MIT */
/*
 * `slate initrd build`: the initramfs slate-init boots from (layout in
 * include/slate/initrd.h). Reads the kernel's modules.dep and modules.builtin,
 * resolves the named modules and their dependencies (lib/kmod), and writes them
 * with /init and a modules.dep of just those into a deterministic cpio
 * (lib/cpio), zstd-compressed when asked: the kernel unpacks zstd initramfs
 * images itself (CONFIG_RD_ZSTD).
 */
#include <zstd.h>

#include "slate/cpio.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/initrd.h"
#include "slate/kmod.h"
#include "slate/strutil.h"

#define ZSTD_LEVEL 19

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void sl_initrd_result_done(SlInitrdResult *r)
{
	free_strv(r->modules, r->n_modules);
	free_strv(r->builtin, r->n_builtin);
	free(r->data);
	*r = (SlInitrdResult){ 0 };
}

static int push(char ***v, size_t *n, const char *s)
{
	char **nv = sl_realloc_array(*v, *n + 1, sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* A file of the modules directory; max caps its size. */
static int read_in(const char *dir, const char *name, size_t max, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *path = sl_asprintf("%s/%s", dir, name);
	int r;

	if (!path)
		return -ENOMEM;
	r = sl_read_file(path, max, ret, ret_len);
	if (r < 0)
		return sl_errorf(r, "%s: %s", path, r == -E2BIG ? "too large" : strerror(-r));
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The module names the caller gave, resolved: indexes into deps (want) and the
 * built-in ones (recorded in the result). */
static int resolve(const SlInitrdOptions *o, const SlKmodDeps *deps, const char *builtin,
		   size_t builtin_len, size_t **ret_want, size_t *ret_n, SlInitrdResult *res)
{
	_cleanup_free_ size_t *want = sl_malloc_array(o->n_modules, sizeof(size_t));
	size_t n = 0;
	int r;

	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_modules; i++) {
		int idx = sl_kmod_find(deps, o->modules[i]);

		if (idx >= 0) {
			want[n++] = (size_t)idx;
			continue;
		}
		if (builtin && sl_kmod_builtin(builtin, builtin_len, o->modules[i])) {
			r = push(&res->builtin, &res->n_builtin, o->modules[i]);
			if (r < 0)
				return r;
			continue;
		}
		return sl_errorf(-ENOENT, "module %s is neither in %s/modules.dep nor built in",
				 o->modules[i], o->modules_dir);
	}
	/* In modules.dep order, whatever order they were named in: the same set of
	 * modules gives the same archive. */
	qsort(want, n, sizeof(size_t), cmp_size);
	*ret_want = TAKE_PTR(want);
	*ret_n = n;
	return 0;
}

/* modules.dep of the chosen modules, in load order, paths as in the original. */
static int add_modules(const SlInitrdOptions *o, const char *kver, SlCpio *c,
		       const SlKmodDeps *deps, const size_t *order, size_t n, SlInitrdResult *res)
{
	_cleanup_free_ char *dep = strdup(""), *dep_path = NULL;
	size_t dep_len = 0;
	int r;

	if (!dep)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const SlKmodModule *m = &deps->modules[order[i]];
		_cleanup_free_ uint8_t *data = NULL;
		_cleanup_free_ char *path = NULL, *line = NULL;
		size_t len;
		char *nd;

		r = read_in(o->modules_dir, m->path, SL_INITRD_MODULE_MAX, &data, &len);
		if (r < 0)
			return r;
		path = sl_asprintf("lib/modules/%s/%s", kver, m->path);
		if (!path)
			return -ENOMEM;
		r = sl_cpio_add_file(c, path, 0644, data, len);
		if (r < 0)
			return r;
		line = sl_asprintf("%s:", m->path);
		for (size_t k = 0; line && k < m->n_deps; k++) {
			char *l2 = sl_asprintf("%s %s", line, deps->modules[m->deps[k]].path);

			free(line);
			line = l2;
		}
		if (!line)
			return -ENOMEM;
		nd = realloc(dep, dep_len + strlen(line) + 2);
		if (!nd)
			return -ENOMEM;
		dep = nd;
		dep_len += (size_t)sprintf(dep + dep_len, "%s\n", line);
		r = push(&res->modules, &res->n_modules, m->name);
		if (r < 0)
			return r;
	}
	dep_path = sl_asprintf("lib/modules/%s/modules.dep", kver);
	if (!dep_path)
		return -ENOMEM;
	return sl_cpio_add_file(c, dep_path, 0644, dep, dep_len);
}

static int add_skeleton(const SlInitrdOptions *o, SlCpio *c)
{
	static const char *const dirs[] = { "dev", "proc", "sys", "run", "sysroot" };
	_cleanup_free_ uint8_t *init = NULL, *sig = NULL;
	size_t len;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		r = sl_cpio_add_dir(c, dirs[i], 0755);
		if (r < 0)
			return r;
	}
	/* The kernel opens /dev/console for init's stdin/out/err before /dev is mounted. */
	r = sl_cpio_add_chardev(c, "dev/console", 0600, 5, 1);
	if (r < 0)
		return r;

	r = sl_read_file(o->init, SL_INITRD_INIT_MAX, &init, &len);
	if (r < 0)
		return sl_errorf(r, "%s: %s", o->init, r == -E2BIG ? "too large" : strerror(-r));
	r = sl_initrd_check_static(init, len);
	if (r < 0)
		return sl_error_prefix(r, "%s: ", o->init);
	r = sl_cpio_add_file(c, "init", 0755, init, len);
	if (r < 0)
		return r;

	if (o->roothash_sig) {
		r = sl_read_file(o->roothash_sig, SL_INITRD_SIG_MAX, &sig, &len);
		if (r < 0)
			return sl_errorf(r, "%s: %s", o->roothash_sig,
					 r == -E2BIG ? "larger than a PKCS#7 signature"
						     : strerror(-r));
		if (len == 0)
			return sl_errorf(-EINVAL, "%s: empty", o->roothash_sig);
		r = sl_cpio_add_file(c, SL_INITRD_SIG_PATH, 0644, sig, len);
		if (r < 0)
			return r;
	}
	return 0;
}

typedef struct Mem {
	uint8_t *data;
	size_t len, cap;
} Mem;

static int mem_write(void *userdata, const void *buf, size_t len)
{
	Mem *m = userdata;

	if (m->len + len > m->cap) {
		size_t ncap = MAX(m->cap * 2, m->len + len + 65536);
		uint8_t *nd = realloc(m->data, ncap);

		if (!nd)
			return -ENOMEM;
		m->data = nd;
		m->cap = ncap;
	}
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return 0;
}

static int compress_zstd(Mem *m)
{
	size_t cap = ZSTD_compressBound(m->len), n;
	_cleanup_free_ uint8_t *out = malloc(cap);
	ZSTD_CCtx *cctx;

	if (!out)
		return -ENOMEM;
	cctx = ZSTD_createCCtx();
	if (!cctx)
		return -ENOMEM;
	/* One thread, a content checksum: the same bytes every time, and the kernel
	 * notices a damaged image. */
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(cctx, out, cap, m->data, m->len);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(n))
		return sl_errorf(-EIO, "zstd: %s", ZSTD_getErrorName(n));
	free(m->data);
	m->data = TAKE_PTR(out);
	m->len = m->cap = n;
	return 0;
}

int sl_initrd_build(const SlInitrdOptions *o, SlInitrdResult *ret)
{
	_cleanup_(sl_kmod_deps_freep) SlKmodDeps *deps = NULL;
	_cleanup_(sl_cpio_freep) SlCpio *c = NULL;
	_cleanup_free_ uint8_t *dep_text = NULL, *builtin = NULL;
	_cleanup_free_ size_t *want = NULL, *order = NULL;
	_cleanup_free_ char *kver_buf = NULL;
	SlInitrdResult res = { 0 };
	const char *kver = o->kernel_version;
	size_t dep_len, builtin_len = 0, n_want = 0, n_order = 0;
	Mem m = { 0 };
	int r;

	if (!kver) {
		const char *slash;

		kver_buf = strdup(o->modules_dir);
		if (!kver_buf)
			return -ENOMEM;
		while (strlen(kver_buf) > 1 && kver_buf[strlen(kver_buf) - 1] == '/')
			kver_buf[strlen(kver_buf) - 1] = 0;
		slash = strrchr(kver_buf, '/');
		kver = slash ? slash + 1 : kver_buf;
	}
	if (!*kver || strchr(kver, '/') || streq(kver, ".") || streq(kver, ".."))
		return sl_errorf(-EINVAL, "'%s' is not a kernel version", kver);

	r = read_in(o->modules_dir, "modules.dep", SL_KMOD_DEP_MAX_BYTES, &dep_text, &dep_len);
	if (r < 0)
		return r;
	r = sl_kmod_deps_parse((const char *)dep_text, dep_len, &deps);
	if (r < 0)
		return sl_error_prefix(r, "%s/", o->modules_dir);
	r = read_in(o->modules_dir, "modules.builtin", SL_KMOD_DEP_MAX_BYTES, &builtin,
		    &builtin_len);
	if (r < 0 && r != -ENOENT)
		return r;

	c = sl_cpio_new(o->mtime);
	if (!c)
		return -ENOMEM;
	r = resolve(o, deps, (const char *)builtin, builtin_len, &want, &n_want, &res);
	if (r >= 0)
		r = sl_kmod_load_order(deps, want, n_want, &order, &n_order);
	if (r >= 0)
		r = add_modules(o, kver, c, deps, order, n_order, &res);
	if (r >= 0)
		r = add_skeleton(o, c);
	if (r >= 0)
		r = sl_cpio_write(c, mem_write, &m);
	if (r >= 0) {
		res.cpio_size = m.len;
		if (o->compress == SL_INITRD_COMPRESS_ZSTD)
			r = compress_zstd(&m);
	}
	if (r < 0) {
		free(m.data);
		sl_initrd_result_done(&res);
		return r;
	}
	res.data = m.data;
	res.size = m.len;
	*ret = res;
	return 0;
}
