/* SPDX-License-Identifier: MIT */
/* The installed-package list, recorded before post-processing removes dpkg's
 * database, for the SBOM and the build report. */
#include "build-internal.h"
#include "slate/error.h"
#include "slate/strutil.h"

#define MAX_PACKAGES 20000u
#define MAX_FIELD    1024u
#define N_FIELDS     7

static void package_free_fields(SlPackage *p)
{
	free(p->name);
	free(p->version);
	free(p->architecture);
	free(p->source);
	free(p->source_version);
	free(p->maintainer);
	free(p->deb_sha256);
}

void sl_package_list_free(SlPackageList *l)
{
	for (size_t i = 0; i < l->n; i++)
		package_free_fields(&l->items[i]);
	free(l->items);
	*l = (SlPackageList){ 0 };
}

static int compare_packages(const void *a, const void *b)
{
	return strcmp(((const SlPackage *)a)->name, ((const SlPackage *)b)->name);
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static int parse_line(const char *line, size_t len, unsigned lineno, SlPackageList *l)
{
	const char *f[N_FIELDS];
	size_t flen[N_FIELDS];
	size_t start = 0, k = 0;
	SlPackage p = { 0 };
	SlPackage *items;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (k == N_FIELDS)
			return sl_errorf(-EBADMSG, "package list line %u: more than %d fields",
					 lineno, N_FIELDS);
		f[k] = line + start;
		flen[k] = i - start;
		if (flen[k] > MAX_FIELD || !printable(f[k], flen[k]))
			return sl_errorf(-EBADMSG, "package list line %u: field %zu is malformed",
					 lineno, k + 1);
		k++;
		start = i + 1;
	}
	if (k != N_FIELDS)
		return sl_errorf(-EBADMSG, "package list line %u: %zu fields, expected %d", lineno,
				 k, N_FIELDS);
	/* Status abbreviation: "ii" = wanted install, installed. Others are leftovers. */
	if (flen[6] < 2 || f[6][0] != 'i' || f[6][1] != 'i')
		return 0;
	if (flen[0] == 0 || flen[1] == 0 || flen[2] == 0)
		return sl_errorf(-EBADMSG,
				 "package list line %u: empty name, version or "
				 "architecture",
				 lineno);
	if (l->n >= MAX_PACKAGES)
		return sl_errorf(-E2BIG, "more than %u packages", MAX_PACKAGES);

	p.name = strndup(f[0], flen[0]);
	p.version = strndup(f[1], flen[1]);
	p.architecture = strndup(f[2], flen[2]);
	/* dpkg-query gives the binary package's name and version when there is no
	 * Source field; keep that fallback explicit in case of an empty field. */
	p.source = flen[3] ? strndup(f[3], flen[3]) : strndup(f[0], flen[0]);
	p.source_version = flen[4] ? strndup(f[4], flen[4]) : strndup(f[1], flen[1]);
	p.maintainer = strndup(f[5], flen[5]);
	items = sl_realloc_array(l->items, l->n + 1, sizeof(*items));
	if (!p.name || !p.version || !p.architecture || !p.source || !p.source_version ||
	    !p.maintainer || !items) {
		if (items)
			l->items = items;
		package_free_fields(&p);
		return -ENOMEM;
	}
	l->items = items;
	l->items[l->n++] = p;
	return 0;
}

int sl_packages_parse(const char *text, size_t len, SlPackageList *ret)
{
	SlPackageList l = { 0 };
	size_t pos = 0;
	unsigned lineno = 0;
	int r;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n > 0) {
			r = parse_line(text + pos, n, lineno, &l);
			if (r < 0) {
				sl_package_list_free(&l);
				return r;
			}
		}
		pos += n + (nl ? 1 : 0);
	}
	if (l.n)
		qsort(l.items, l.n, sizeof(*l.items), compare_packages);
	for (size_t i = 1; i < l.n; i++)
		if (streq(l.items[i - 1].name, l.items[i].name)) {
			r = sl_errorf(-EBADMSG, "package %s is listed twice", l.items[i].name);
			sl_package_list_free(&l);
			return r;
		}
	*ret = l;
	return 0;
}
