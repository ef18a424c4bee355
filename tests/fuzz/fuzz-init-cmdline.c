/* SPDX-License-Identifier: MIT */
/* The kernel command line as slate-init parses it, and module parameters from it. */
#include "init.h"
#include "slate/kmod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = malloc(size + 1), *params = NULL;
	InitConfig cfg;
	char desc[512];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (init_cmdline_parse(s, &cfg) == 0)
		init_config_describe(&cfg, desc, sizeof(desc));
	if (sl_kmod_cmdline_params(s, "dm_verity", &params) == 0 && strlen(params) > 2 * size + 8)
		__builtin_trap();
	return 0;
}
