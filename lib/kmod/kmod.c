/* SPDX-License-Identifier: MIT */
#include "slate/error.h"
#include "slate/kcmdline.h"
#include "slate/kmod.h"

static const char *const module_suffixes[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };

static bool name_equal_n(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n && b[i]; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

		if (x != y)
			return false;
	}
	return i == n && !b[i];
}

bool sl_kmod_name_equal(const char *a, const char *b)
{
	return name_equal_n(a, strlen(a), b);
}

/* The length of the module name in path[0, len) and where it starts, or -EBADMSG. */
static int name_span(const char *path, size_t len, size_t *ret_start, size_t *ret_len)
{
	size_t start = len;

	while (start > 0 && path[start - 1] != '/')
		start--;
	for (size_t i = 0; i < ARRAY_SIZE(module_suffixes); i++) {
		size_t sl = strlen(module_suffixes[i]);

		if (len - start > sl && memcmp(path + len - sl, module_suffixes[i], sl) == 0) {
			*ret_start = start;
			*ret_len = len - start - sl;
			return 0;
		}
	}
	return -EBADMSG;
}

static int name_from_span(const char *path, size_t len, char *out, size_t cap)
{
	size_t start, n;

	if (name_span(path, len, &start, &n) < 0)
		return sl_errorf(-EBADMSG,
				 "'%.*s' is not a kernel module file (.ko, .ko.xz, .ko.zst)",
				 (int)MIN(len, 200), path);
	if (n + 1 > cap)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		out[i] = path[start + i] == '-' ? '_' : path[start + i];
	out[n] = 0;
	return 0;
}

int sl_kmod_name_from_path(const char *path, char *out, size_t cap)
{
	return name_from_span(path, strlen(path), out, cap);
}

void sl_kmod_deps_free(SlKmodDeps *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_modules; i++) {
		free(d->modules[i].name);
		free(d->modules[i].path);
		free(d->modules[i].deps);
	}
	free(d->modules);
	free(d);
}

/* Paths sorted for binary search: modules.dep of a whole kernel has thousands of
 * lines, each with several dependencies. */
typedef struct PathIndex {
	const char *path;
	size_t idx;
} PathIndex;

static int cmp_path_index(const void *a, const void *b)
{
	return strcmp(((const PathIndex *)a)->path, ((const PathIndex *)b)->path);
}

/* Index of the module whose path is path[0, len), or -ENOENT. */
static int find_path_sorted(const PathIndex *ix, size_t n, const char *path, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(ix[mid].path, path, len);

		if (c == 0 && ix[mid].path[len])
			c = 1;
		if (c == 0)
			return (int)ix[mid].idx;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}

/* First pass: one module per non-empty line, its path and name. */
static int parse_lines(const char *text, size_t len, SlKmodDeps *d)
{
	size_t cap = 0, line = 0;

	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos), *colon;
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		SlKmodModule *m;
		char name[256];
		int r;

		pos += n + (nl ? 1 : 0);
		line++;
		if (n == 0)
			continue;
		if (memchr(s, 0, n))
			return sl_errorf(-EBADMSG, "modules.dep line %zu: NUL byte", line);
		colon = memchr(s, ':', n);
		if (!colon || colon == s)
			return sl_errorf(-EBADMSG, "modules.dep line %zu: no 'PATH:'", line);
		r = name_from_span(s, (size_t)(colon - s), name, sizeof(name));
		if (r < 0)
			return sl_error_prefix(r == -E2BIG ? -EBADMSG : r,
					       "modules.dep line %zu: ", line);
		if (d->n_modules == SL_KMOD_MAX_MODULES)
			return sl_errorf(-E2BIG, "modules.dep: more than %u modules",
					 SL_KMOD_MAX_MODULES);
		if (d->n_modules == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			SlKmodModule *nm = sl_realloc_array(d->modules, ncap, sizeof(*nm));

			if (!nm)
				return -ENOMEM;
			d->modules = nm;
			cap = ncap;
		}
		m = &d->modules[d->n_modules];
		*m = (SlKmodModule){ 0 };
		d->n_modules++;
		m->path = strndup(s, (size_t)(colon - s));
		m->name = strdup(name);
		if (!m->path || !m->name)
			return -ENOMEM;
	}
	return 0;
}

/* Second pass: resolve each line's dependency paths to indexes. */
static int parse_deps(const char *text, size_t len, SlKmodDeps *d, const PathIndex *ix)
{
	size_t mi = 0, line = 0;

	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos), *p, *end;
		size_t n = nl ? (size_t)(nl - s) : len - pos, cap = 0;
		SlKmodModule *m;

		pos += n + (nl ? 1 : 0);
		line++;
		if (n == 0)
			continue;
		m = &d->modules[mi++];
		p = (const char *)memchr(s, ':', n) + 1;
		end = s + n;
		while (p < end) {
			const char *w;
			int idx;

			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			if (p == end)
				break;
			w = p;
			while (p < end && *p != ' ' && *p != '\t')
				p++;
			idx = find_path_sorted(ix, d->n_modules, w, (size_t)(p - w));
			if (idx < 0)
				return sl_errorf(
					-EBADMSG,
					"modules.dep line %zu: dependency '%.*s' has no line", line,
					(int)MIN(p - w, 200), w);
			if ((size_t)idx == (size_t)(m - d->modules))
				return sl_errorf(-EBADMSG,
						 "modules.dep line %zu: %s depends on itself", line,
						 m->name);
			if (m->n_deps == SL_KMOD_MAX_DEPS)
				return sl_errorf(-E2BIG,
						 "modules.dep line %zu: more than %u dependencies",
						 line, SL_KMOD_MAX_DEPS);
			if (m->n_deps == cap) {
				size_t ncap = cap ? cap * 2 : 4, *nd;

				nd = sl_realloc_array(m->deps, ncap, sizeof(*nd));
				if (!nd)
					return -ENOMEM;
				m->deps = nd;
				cap = ncap;
			}
			m->deps[m->n_deps++] = (size_t)idx;
		}
	}
	return 0;
}

int sl_kmod_deps_parse(const char *text, size_t len, SlKmodDeps **ret)
{
	_cleanup_(sl_kmod_deps_freep) SlKmodDeps *d = NULL;
	_cleanup_free_ PathIndex *ix = NULL;
	int r;

	if (len > SL_KMOD_DEP_MAX_BYTES)
		return sl_errorf(-E2BIG, "modules.dep is larger than %u bytes",
				 SL_KMOD_DEP_MAX_BYTES);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = parse_lines(text, len, d);
	if (r < 0)
		return r;
	ix = sl_malloc_array(d->n_modules, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_modules; i++)
		ix[i] = (PathIndex){ d->modules[i].path, i };
	qsort(ix, d->n_modules, sizeof(*ix), cmp_path_index);
	for (size_t i = 1; i < d->n_modules; i++)
		if (streq(ix[i - 1].path, ix[i].path))
			return sl_errorf(-EBADMSG, "modules.dep: %s has two lines", ix[i].path);
	r = parse_deps(text, len, d, ix);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(d);
	return 0;
}

int sl_kmod_find(const SlKmodDeps *d, const char *name)
{
	for (size_t i = 0; i < d->n_modules; i++)
		if (sl_kmod_name_equal(d->modules[i].name, name))
			return (int)i;
	return -ENOENT;
}

enum { WHITE, GREY, BLACK };

/* Depth-first, dependencies before dependents. The depth is bounded by the number
 * of modules; recursion is fine for the few hundred a boot needs, and the cap on
 * modules bounds it in general. */
static int visit(const SlKmodDeps *d, size_t i, uint8_t *color, size_t *order, size_t *n)
{
	if (color[i] == BLACK)
		return 0;
	if (color[i] == GREY)
		return sl_errorf(-ELOOP, "module dependency cycle through %s", d->modules[i].name);
	color[i] = GREY;
	/* modules.dep lists the deepest dependency last (modprobe loads the list
	 * backwards); walking it backwards keeps that order among siblings. */
	for (size_t k = d->modules[i].n_deps; k > 0; k--) {
		int r = visit(d, d->modules[i].deps[k - 1], color, order, n);

		if (r < 0)
			return r;
	}
	color[i] = BLACK;
	order[(*n)++] = i;
	return 0;
}

int sl_kmod_load_order(const SlKmodDeps *d, const size_t *want, size_t n, size_t **ret_order,
		       size_t *ret_n)
{
	_cleanup_free_ uint8_t *color = calloc(d->n_modules ? d->n_modules : 1, 1);
	_cleanup_free_ size_t *order = sl_malloc_array(d->n_modules, sizeof(size_t));
	size_t count = 0;

	if (!color || !order)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		int r;

		if (want[k] >= d->n_modules)
			return -EINVAL;
		r = visit(d, want[k], color, order, &count);
		if (r < 0)
			return r;
	}
	*ret_order = TAKE_PTR(order);
	*ret_n = count;
	return 0;
}

bool sl_kmod_builtin(const char *text, size_t len, const char *name)
{
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos, start, nlen;

		pos += n + (nl ? 1 : 0);
		if (name_span(s, n, &start, &nlen) == 0 && name_equal_n(s + start, nlen, name))
			return true;
	}
	return false;
}

static int append(char **buf, size_t *len, const char *s, size_t n)
{
	char *nbuf = realloc(*buf, *len + n + 1);

	if (!nbuf)
		return -ENOMEM;
	memcpy(nbuf + *len, s, n);
	*len += n;
	nbuf[*len] = 0;
	*buf = nbuf;
	return 0;
}

static int append_param(char **out, size_t *len, const char *param, const char *value)
{
	bool quote = value && strpbrk(value, " \t\n\r\v\f");
	int r = 0;

	if (*len)
		r = append(out, len, " ", 1);
	if (r >= 0)
		r = append(out, len, param, strlen(param));
	if (r >= 0 && value) {
		r = append(out, len, quote ? "=\"" : "=", quote ? 2 : 1);
		if (r >= 0)
			r = append(out, len, value, strlen(value));
		if (r >= 0 && quote)
			r = append(out, len, "\"", 1);
	}
	return r;
}

int sl_kmod_cmdline_params(const char *cmdline, const char *module, char **ret)
{
	_cleanup_free_ char *out = strdup("");
	size_t len = 0;
	const char *p = cmdline;
	int r;

	if (!out)
		return -ENOMEM;
	for (;;) {
		SlKcmdlineParam prm = { 0 };
		const char *dot;

		r = sl_kcmdline_next(&p, &prm);
		if (r <= 0)
			break;
		dot = strchr(prm.key, '.');
		if (dot && dot != prm.key && dot[1] &&
		    name_equal_n(prm.key, (size_t)(dot - prm.key), module))
			r = append_param(&out, &len, dot + 1, prm.value);
		sl_kcmdline_param_done(&prm);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(out);
	return 0;
}
