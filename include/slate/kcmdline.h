/* SPDX-License-Identifier: MIT */
/*
 * The kernel command line (/proc/cmdline), split into parameters the way the
 * kernel splits it (kernel/params.c next_arg()): words separated by white space;
 * double quotes group spaces into one word, "key=va lue" or key="va lue", and
 * the quotes are dropped. A word up to its first '=' is the key, the rest the
 * value; a word without '=' has no value.
 *
 *   const char *p = cmdline;
 *   SlKcmdlineParam prm;
 *   while ((r = sl_kcmdline_next(&p, &prm)) > 0) { ... sl_kcmdline_param_done(&prm); }
 *
 * Words after a lone "--" are arguments for init; the iterator stops there.
 */
#pragma once

#include "slate/macros.h"

#define SL_KCMDLINE_MAX 65536 /* longer than any kernel accepts (COMMAND_LINE_SIZE) */

typedef struct SlKcmdlineParam {
	char *key;   /* owned */
	char *value; /* owned; NULL when the word has no '=' */
} SlKcmdlineParam;

/*
 * Take the next parameter from *p and advance *p. Returns 1 with *ret filled,
 * 0 at the end (or at "--"), -ENOMEM. Never fails on content: any byte string
 * splits into words, as it does in the kernel.
 */
int sl_kcmdline_next(const char **p, SlKcmdlineParam *ret) _wur_;

void sl_kcmdline_param_done(SlKcmdlineParam *prm);
