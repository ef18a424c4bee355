/* SPDX-License-Identifier: MIT */
#include "slate/kcmdline.h"
#include "slate/strutil.h"

/* The kernel's isspace() for command lines: ASCII white space. */
static bool kspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const char *skip_spaces(const char *s)
{
	while (*s && kspace(*s))
		s++;
	return s;
}

void sl_kcmdline_param_done(SlKcmdlineParam *prm)
{
	free(prm->key);
	free(prm->value);
	prm->key = prm->value = NULL;
}

/*
 * Mirrors next_arg() in the kernel's kernel/params.c: the word ends at white
 * space outside quotes; a leading quote of the word and of the value are
 * dropped together with the word's last character when that is a quote.
 */
int sl_kcmdline_next(const char **p, SlKcmdlineParam *ret)
{
	const char *args = skip_spaces(*p);
	size_t i, equals = 0, end;
	bool in_quote = false, quoted = false, has_equals = false;
	const char *val;
	size_t val_len, key_len;

	if (!*args || (args[0] == '-' && args[1] == '-' && (!args[2] || kspace(args[2])))) {
		*p = args;
		return 0;
	}
	if (*args == '"') {
		args++;
		in_quote = quoted = true;
	}
	for (i = 0; args[i]; i++) {
		if (kspace(args[i]) && !in_quote)
			break;
		if (!has_equals && args[i] == '=') {
			equals = i;
			has_equals = true;
		}
		if (args[i] == '"')
			in_quote = !in_quote;
	}
	end = i; /* the word is args[0, end) */

	if (!has_equals) {
		key_len = end;
		if (quoted && end > 0 && args[end - 1] == '"')
			key_len--;
		val = NULL;
		val_len = 0;
	} else {
		key_len = equals;
		val = args + equals + 1;
		val_len = end - equals - 1;
		if (val_len > 0 && *val == '"') {
			val++;
			val_len--;
			if (val_len > 0 && val[val_len - 1] == '"')
				val_len--;
		} else if (quoted && val_len > 0 && val[val_len - 1] == '"') {
			val_len--;
		}
	}

	ret->key = strndup(args, key_len);
	ret->value = val ? strndup(val, val_len) : NULL;
	if (!ret->key || (val && !ret->value)) {
		sl_kcmdline_param_done(ret);
		return -ENOMEM;
	}
	*p = skip_spaces(args + end);
	return 1;
}
