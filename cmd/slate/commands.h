/* SPDX-License-Identifier: MIT */
/* The subcommands of `slate`, one per file in cmd/slate/. Keep in name order:
 * each module adds one extern and one entry. */
#pragma once

#include "slate/cli.h"

extern const SlCommand sl_cmd_build;
extern const SlCommand sl_cmd_disk;
extern const SlCommand sl_cmd_firmware;
extern const SlCommand sl_cmd_initrd;
extern const SlCommand sl_cmd_keys;
extern const SlCommand sl_cmd_pcr;
extern const SlCommand sl_cmd_run;
extern const SlCommand sl_cmd_sign;
extern const SlCommand sl_cmd_uki;
extern const SlCommand sl_cmd_verify;
extern const SlCommand sl_cmd_verity;

/* The slate-init binary next to this slate (the build tree's), else the installed
 * one; caller frees. Shared by `slate initrd build` and `slate build`. */
char *sl_cli_default_init(void);

/* One line per command, so that additions merge cleanly. */
/* clang-format off */
#define SLATE_COMMANDS \
	&sl_cmd_build, \
	&sl_cmd_disk, \
	&sl_cmd_firmware, \
	&sl_cmd_initrd, \
	&sl_cmd_keys, \
	&sl_cmd_pcr, \
	&sl_cmd_run, \
	&sl_cmd_sign, \
	&sl_cmd_uki, \
	&sl_cmd_verify, \
	&sl_cmd_verity,
/* clang-format on */
