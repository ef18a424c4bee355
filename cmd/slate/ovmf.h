/* SPDX-License-Identifier: MIT */
/*
 * Where Debian's OVMF package puts its firmware (`slate firmware`, `slate run`).
 * SLATE_OVMF_DIR overrides the directory (tests, other distributions).
 */
#pragma once

#include <stdlib.h>

#define OVMF_DEBIAN_PACKAGE "ovmf"
#define OVMF_CODE_SECBOOT   "OVMF_CODE_4M.secboot.fd"
#define OVMF_CODE	    "OVMF_CODE_4M.fd"
#define OVMF_VARS	    "OVMF_VARS_4M.fd"

static inline const char *ovmf_dir(void)
{
	const char *d = getenv("SLATE_OVMF_DIR");

	return d && *d ? d : "/usr/share/OVMF";
}
