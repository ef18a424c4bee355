/* SPDX-License-Identifier: MIT */
/*
 * The usr-verity-sig partition of the Discoverable Partitions Specification
 * (SPEC.md §1.8): one JSON object, NUL-padded,
 *   {"rootHash":"<hex>","signature":"<base64 DER PKCS#7>","certificateFingerprint":...}
 * Untrusted bytes: a small strict JSON reader (RFC 8259 values, nesting capped)
 * and a strict base64 decoder, both bounded by the input. Only the signature
 * leaves this file; the kernel checks it against its keyrings.
 */
#include "init.h"
#include "slate/error.h"
#include "slate/hex.h"

#define JSON_MAX_DEPTH	16
#define JSON_STRING_MAX (1u << 20)

typedef struct Json {
	const char *s;
	size_t len, pos;
} Json;

static void skip_ws(Json *j)
{
	while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
				   j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
		j->pos++;
}

static bool eat(Json *j, char c)
{
	skip_ws(j);
	if (j->pos < j->len && j->s[j->pos] == c) {
		j->pos++;
		return true;
	}
	return false;
}

/* A string at the cursor; with out, its decoded bytes (caller frees), else skipped. */
static int parse_string(Json *j, char **out, size_t *out_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;

	if (!eat(j, '"'))
		return -EBADMSG;
	if (out) {
		/* The decoded string is never longer than what is left of the input. */
		buf = malloc(MIN(j->len - j->pos, (size_t)JSON_STRING_MAX) + 1);
		if (!buf)
			return -ENOMEM;
	}
	for (;;) {
		unsigned char c;
		unsigned cp = 0;

		if (j->pos >= j->len || n >= JSON_STRING_MAX)
			return -EBADMSG;
		c = (unsigned char)j->s[j->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			return -EBADMSG;
		if (c != '\\') {
			if (buf)
				buf[n] = (char)c;
			n++;
			continue;
		}
		if (j->pos >= j->len)
			return -EBADMSG;
		c = (unsigned char)j->s[j->pos++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			if (j->len - j->pos < 4)
				return -EBADMSG;
			for (int i = 0; i < 4; i++) {
				int h = sl_unhex_digit(j->s[j->pos++]);

				if (h < 0)
					return -EBADMSG;
				cp = cp << 4 | (unsigned)h;
			}
			/* The fields we read are ASCII; anything else is not ours to keep. */
			if (cp == 0 || cp > 0x7f)
				return -EBADMSG;
			c = (unsigned char)cp;
			break;
		default:
			return -EBADMSG;
		}
		if (buf)
			buf[n] = (char)c;
		n++;
	}
	if (out) {
		buf[n] = 0;
		*out = TAKE_PTR(buf);
		*out_len = n;
	}
	return 0;
}

static int skip_value(Json *j, unsigned depth);

static int skip_container(Json *j, char close, bool object, unsigned depth)
{
	int r;

	if (depth >= JSON_MAX_DEPTH)
		return -E2BIG;
	if (eat(j, close))
		return 0;
	do {
		if (object) {
			r = parse_string(j, NULL, NULL);
			if (r < 0)
				return r;
			if (!eat(j, ':'))
				return -EBADMSG;
		}
		r = skip_value(j, depth + 1);
		if (r < 0)
			return r;
	} while (eat(j, ','));
	return eat(j, close) ? 0 : -EBADMSG;
}

static int skip_value(Json *j, unsigned depth)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t start;

	skip_ws(j);
	if (j->pos >= j->len)
		return -EBADMSG;
	switch (j->s[j->pos]) {
	case '"':
		return parse_string(j, NULL, NULL);
	case '{':
		j->pos++;
		return skip_container(j, '}', true, depth);
	case '[':
		j->pos++;
		return skip_container(j, ']', false, depth);
	default:
		break;
	}
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		size_t wl = strlen(words[i]);

		if (j->len - j->pos >= wl && memcmp(j->s + j->pos, words[i], wl) == 0) {
			j->pos += wl;
			return 0;
		}
	}
	/* A number: -?digits[.digits][e[+-]digits], loosely but boundedly. */
	start = j->pos;
	if (j->s[j->pos] == '-')
		j->pos++;
	while (j->pos < j->len &&
	       ((j->s[j->pos] >= '0' && j->s[j->pos] <= '9') || j->s[j->pos] == '.' ||
		j->s[j->pos] == 'e' || j->s[j->pos] == 'E' || j->s[j->pos] == '+' ||
		j->s[j->pos] == '-'))
		j->pos++;
	return j->pos > start && (j->s[start] != '-' || j->pos > start + 1) ? 0 : -EBADMSG;
}

/* Strict base64 (RFC 4648 §4, padding required, no white space). */
static int base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ uint8_t *out = NULL;
	size_t n = 0;

	if (len == 0 || len % 4)
		return -EBADMSG;
	out = malloc(len / 4 * 3);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			char c = s[i + k];
			int d;

			if (c >= 'A' && c <= 'Z')
				d = c - 'A';
			else if (c >= 'a' && c <= 'z')
				d = c - 'a' + 26;
			else if (c >= '0' && c <= '9')
				d = c - '0' + 52;
			else if (c == '+')
				d = 62;
			else if (c == '/')
				d = 63;
			else if (c == '=' && i + 4 == len && k >= 2)
				d = -1;
			else
				return -EBADMSG;
			if (d < 0)
				pad++;
			else if (pad)
				return -EBADMSG; /* data after '=' */
			v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
		}
		out[n++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[n++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[n++] = (uint8_t)v;
	}
	*ret = TAKE_PTR(out);
	*ret_len = n;
	return 0;
}

int init_verity_sig_decode(const char *json, size_t len, const uint8_t *want, size_t want_size,
			   uint8_t **ret_sig, size_t *ret_sig_len)
{
	_cleanup_free_ char *root_hash = NULL, *signature = NULL;
	const char *nul = memchr(json, 0, len);
	size_t text_len = nul ? (size_t)(nul - json) : len, root_len = 0, sig_len = 0, n;
	uint8_t hash[SL_VERITY_DIGEST_MAX];
	Json j;
	int r;

	if (len > INIT_VERITY_SIG_MAX)
		return sl_errorf(-E2BIG, "verity signature partition is larger than 4 MiB");
	for (size_t i = text_len; i < len; i++)
		if (json[i])
			return sl_errorf(-EBADMSG, "verity signature: bytes after the JSON at %zu",
					 i);
	j = (Json){ .s = json, .len = text_len };
	if (!eat(&j, '{'))
		return sl_errorf(-EBADMSG, "verity signature: not a JSON object");
	if (!eat(&j, '}')) {
		do {
			_cleanup_free_ char *key = NULL;
			size_t key_len;

			r = parse_string(&j, &key, &key_len);
			if (r < 0 || !eat(&j, ':'))
				return sl_errorf(r == -ENOMEM ? r : -EBADMSG,
						 "verity signature: malformed JSON at byte %zu",
						 j.pos);
			if (streq(key, "rootHash") || streq(key, "signature")) {
				char **dst = streq(key, "rootHash") ? &root_hash : &signature;
				size_t *dlen = dst == &root_hash ? &root_len : &sig_len;

				if (*dst)
					return sl_errorf(-EBADMSG, "verity signature: %s twice",
							 key);
				r = parse_string(&j, dst, dlen);
			} else {
				r = skip_value(&j, 1);
			}
			if (r < 0)
				return sl_errorf(r == -ENOMEM ? r : -EBADMSG,
						 "verity signature: malformed JSON at byte %zu",
						 j.pos);
		} while (eat(&j, ','));
		if (!eat(&j, '}'))
			return sl_errorf(-EBADMSG, "verity signature: malformed JSON at byte %zu",
					 j.pos);
	}
	skip_ws(&j);
	if (j.pos != j.len)
		return sl_errorf(-EBADMSG, "verity signature: text after the JSON object");
	if (!root_hash || !signature)
		return sl_errorf(-EBADMSG, "verity signature: rootHash or signature missing");
	if (strlen(root_hash) != root_len || sl_hex_decode(root_hash, hash, sizeof(hash), &n) < 0)
		return sl_errorf(-EBADMSG, "verity signature: rootHash is not hex");
	if (n != want_size || memcmp(hash, want, n) != 0)
		return sl_errorf(-ESRCH, "verity signature: for root hash %.16s..., not this one",
				 root_hash);
	r = base64_decode(signature, sig_len, ret_sig, ret_sig_len);
	if (r < 0)
		return sl_errorf(r, "verity signature: signature is not base64");
	return 0;
}
