/* SPDX-License-Identifier: MIT */
/* Release versions YYYYMM.DD.N (DESIGN.md, Updates) and channels. */
#include "slate/build.h"
#include "slate/error.h"
#include "slate/strutil.h"

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static unsigned days_in_month(unsigned year, unsigned month)
{
	static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

int sl_build_version_parse(const char *s, time_t *ret_date)
{
	unsigned year, month, day;
	uint64_t n;
	struct tm tm = { 0 };
	time_t t;

	/* YYYYMM . DD . N */
	if (strlen(s) < 11 || strlen(s) >= SL_BUILD_VERSION_MAX || !digits(s, 6) || s[6] != '.' ||
	    !digits(s + 7, 2) || s[9] != '.' || !s[10])
		return sl_errorf(-EBADMSG, "version '%.40s' is not YYYYMM.DD.N (e.g. 202611.29.0)",
				 s);
	if (!digits(s + 10, strlen(s + 10)) || (s[10] == '0' && s[11]))
		return sl_errorf(-EBADMSG, "version '%s': N must be a number without leading zeros",
				 s);
	if (sl_parse_u64(s + 10, UINT32_MAX, &n) < 0)
		return sl_errorf(-ERANGE, "version '%s': N is too large", s);
	year = (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
			  (s[3] - '0'));
	month = (unsigned)((s[4] - '0') * 10 + (s[5] - '0'));
	day = (unsigned)((s[7] - '0') * 10 + (s[8] - '0'));
	if (year < 2000 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
		return sl_errorf(-EBADMSG, "version '%s' does not name a real date", s);
	if (ret_date) {
		tm.tm_year = (int)year - 1900;
		tm.tm_mon = (int)month - 1;
		tm.tm_mday = (int)day;
		t = timegm(&tm);
		if (t == (time_t)-1)
			return sl_errorf(-ERANGE, "version '%s': date out of range", s);
		*ret_date = t;
	}
	return 0;
}

int sl_build_version_from_time(time_t t, unsigned n, char out[static SL_BUILD_VERSION_MAX])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 2000 || tm.tm_year + 1900 > 9999)
		return sl_errorf(-ERANGE, "time %lld has no version date", (long long)t);
	snprintf(out, SL_BUILD_VERSION_MAX, "%04d%02d.%02d.%u", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, n);
	return 0;
}

bool sl_build_channel_valid(const char *s)
{
	return s && (streq(s, "stable") || streq(s, "beta") || streq(s, "alpha"));
}
