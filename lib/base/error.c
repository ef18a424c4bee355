/* SPDX-License-Identifier: MIT */
#include <stdarg.h>

#include "slate/error.h"

static _Thread_local char detail[512];
static _Thread_local int detail_code;

int sl_errorf(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	detail_code = r;
	return r;
}

int sl_error_prefix(int r, const char *fmt, ...)
{
	char prefix[256], old[sizeof(detail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (detail_code == r)
		memcpy(old, detail, sizeof(old));
	else
		snprintf(old, sizeof(old), "%s", strerror(r < 0 ? -r : r));
	/* Truncation is fine: the prefix is the more important part. */
	{
		size_t pl = MIN(strlen(prefix), sizeof(detail) - 1);
		size_t ol = MIN(strlen(old), sizeof(detail) - 1 - pl);

		memcpy(detail, prefix, pl);
		memcpy(detail + pl, old, ol);
		detail[pl + ol] = 0;
	}
	detail_code = r;
	return r;
}

const char *sl_error_message(int r)
{
	if (detail_code == r && detail[0])
		return detail;
	return strerror(r < 0 ? -r : r);
}

void sl_error_clear(void)
{
	detail[0] = 0;
	detail_code = 0;
}
