/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <stdarg.h>
#include <strings.h>

#include "slate/error.h"
#include "slate/strutil.h"

int sl_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned base = 10;
	const char *p = s;

	if (!*p)
		return sl_errorf(-EBADMSG, "empty number");
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!*p)
			return sl_errorf(-EBADMSG, "'%s' is not a number", s);
	}
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			return sl_errorf(-EBADMSG, "'%s' is not a number", s);
		if (sl_mul_overflow(v, base, &v) || sl_add_overflow(v, d, &v))
			return sl_errorf(-ERANGE, "'%s' is too large", s);
	}
	if (v > max)
		return sl_errorf(-ERANGE, "%s is out of range (at most %llu)", s,
				 (unsigned long long)max);
	*ret = v;
	return 0;
}

int sl_parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{ "", 0 },     { "B", 0 },  { "K", 10 },   { "KiB", 10 }, { "M", 20 },
		{ "MiB", 20 }, { "G", 30 }, { "GiB", 30 }, { "T", 40 },	  { "TiB", 40 },
	};
	char num[32];
	size_t n = strspn(s, "0123456789");
	uint64_t v;
	int r;

	if (n == 0 || n >= sizeof(num))
		return sl_errorf(-EBADMSG, "'%s' is not a size (e.g. 4096, 64M, 1G)", s);
	memcpy(num, s, n);
	num[n] = 0;
	r = sl_parse_u64(num, UINT64_MAX, &v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcasecmp(s + n, units[i].suffix) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return sl_errorf(-ERANGE, "size '%s' is too large", s);
		*ret = v << units[i].shift;
		return 0;
	}
	return sl_errorf(-EBADMSG, "'%s' has an unknown size suffix (use K, M, G or T)", s);
}

char *sl_format_size(uint64_t bytes, char *out, size_t outlen)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned i = 0;
	uint64_t whole = bytes, rem = 0;

	while (whole >= 1024 && i + 1 < ARRAY_SIZE(units)) {
		rem = whole % 1024;
		whole /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, outlen, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, outlen, "%llu.%llu %s", (unsigned long long)whole,
			 (unsigned long long)(rem * 10 / 1024), units[i]);
	return out;
}

char *sl_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *sl_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}
