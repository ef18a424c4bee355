/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer for `-o json` output and manifests. It tracks
 * nesting and commas; strings are escaped per RFC 8259. Output is deterministic:
 * keys appear in the order written.
 */
#pragma once

#include <stdio.h>

#include "slate/macros.h"

#define SL_JSON_MAX_DEPTH 32

typedef struct SlJson {
	FILE *f; /* borrowed */
	int depth;
	bool pretty;
	bool first[SL_JSON_MAX_DEPTH];
	bool after_key;
} SlJson;

void sl_json_init(SlJson *j, FILE *f, bool pretty);
void sl_json_begin_object(SlJson *j);
void sl_json_end_object(SlJson *j);
void sl_json_begin_array(SlJson *j);
void sl_json_end_array(SlJson *j);
void sl_json_key(SlJson *j, const char *key);
void sl_json_string(SlJson *j, const char *s);
/* A string from len bytes (may contain NULs, which are escaped). */
void sl_json_string_len(SlJson *j, const char *s, size_t len);
void sl_json_uint(SlJson *j, uint64_t v);
void sl_json_int(SlJson *j, int64_t v);
void sl_json_bool(SlJson *j, bool v);
void sl_json_null(SlJson *j);
/* Lowercase hex of bytes, as a JSON string. */
void sl_json_hex(SlJson *j, const void *data, size_t len);

/* Key/value shorthands. */
void sl_json_kv_string(SlJson *j, const char *key, const char *s);
void sl_json_kv_uint(SlJson *j, const char *key, uint64_t v);
void sl_json_kv_int(SlJson *j, const char *key, int64_t v);
void sl_json_kv_bool(SlJson *j, const char *key, bool v);
void sl_json_kv_hex(SlJson *j, const char *key, const void *data, size_t len);

/* Ends the document with a newline. */
void sl_json_finish(SlJson *j);
