/* SPDX-License-Identifier: MIT */
#include <inttypes.h>

#include "slate/hex.h"
#include "slate/json.h"

void sl_json_init(SlJson *j, FILE *f, bool pretty)
{
	*j = (SlJson){ .f = f, .pretty = pretty };
	j->first[0] = true;
}

static void indent(SlJson *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Called before every value or key: commas and indentation. */
static void before_item(SlJson *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (j->depth > 0)
		indent(j);
}

static void open_container(SlJson *j, char c)
{
	before_item(j);
	fputc(c, j->f);
	if (j->depth + 1 < SL_JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_container(SlJson *j, char c)
{
	bool empty = j->first[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		indent(j);
	fputc(c, j->f);
}

void sl_json_begin_object(SlJson *j)
{
	open_container(j, '{');
}

void sl_json_end_object(SlJson *j)
{
	close_container(j, '}');
}

void sl_json_begin_array(SlJson *j)
{
	open_container(j, '[');
}

void sl_json_end_array(SlJson *j)
{
	close_container(j, ']');
}

static void put_string(SlJson *j, const char *s, size_t len)
{
	fputc('"', j->f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			fputs("\\\"", j->f);
			break;
		case '\\':
			fputs("\\\\", j->f);
			break;
		case '\n':
			fputs("\\n", j->f);
			break;
		case '\r':
			fputs("\\r", j->f);
			break;
		case '\t':
			fputs("\\t", j->f);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(j->f, "\\u%04x", c);
			else
				fputc(c, j->f);
		}
	}
	fputc('"', j->f);
}

void sl_json_key(SlJson *j, const char *key)
{
	before_item(j);
	put_string(j, key, strlen(key));
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = true;
}

void sl_json_string(SlJson *j, const char *s)
{
	if (!s) {
		sl_json_null(j);
		return;
	}
	sl_json_string_len(j, s, strlen(s));
}

void sl_json_string_len(SlJson *j, const char *s, size_t len)
{
	before_item(j);
	put_string(j, s, len);
}

void sl_json_uint(SlJson *j, uint64_t v)
{
	before_item(j);
	fprintf(j->f, "%" PRIu64, v);
}

void sl_json_int(SlJson *j, int64_t v)
{
	before_item(j);
	fprintf(j->f, "%" PRId64, v);
}

void sl_json_bool(SlJson *j, bool v)
{
	before_item(j);
	fputs(v ? "true" : "false", j->f);
}

void sl_json_null(SlJson *j)
{
	before_item(j);
	fputs("null", j->f);
}

void sl_json_hex(SlJson *j, const void *data, size_t len)
{
	const uint8_t *b = data;

	before_item(j);
	fputc('"', j->f);
	for (size_t i = 0; i < len; i++)
		fprintf(j->f, "%02x", b[i]);
	fputc('"', j->f);
}

void sl_json_kv_string(SlJson *j, const char *key, const char *s)
{
	sl_json_key(j, key);
	sl_json_string(j, s);
}

void sl_json_kv_uint(SlJson *j, const char *key, uint64_t v)
{
	sl_json_key(j, key);
	sl_json_uint(j, v);
}

void sl_json_kv_int(SlJson *j, const char *key, int64_t v)
{
	sl_json_key(j, key);
	sl_json_int(j, v);
}

void sl_json_kv_bool(SlJson *j, const char *key, bool v)
{
	sl_json_key(j, key);
	sl_json_bool(j, v);
}

void sl_json_kv_hex(SlJson *j, const char *key, const void *data, size_t len)
{
	sl_json_key(j, key);
	sl_json_hex(j, data, len);
}

void sl_json_finish(SlJson *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
