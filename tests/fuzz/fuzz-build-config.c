/* SPDX-License-Identifier: MIT */
/* Fuzz target: the image definition parser (untrusted text, slate build --config). */
#include "slate/build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SlBuildConfig *c = NULL;

	if (sl_build_config_parse((const char *)data, size, "fuzz.conf", &c) >= 0) {
		/* A definition that parses must be internally consistent. */
		if (!c->id || !c->name || !c->suite || !c->compression || !c->cmdline ||
		    !c->channel || c->lists[SL_BUILD_LIST_PACKAGES].n == 0)
			__builtin_trap();
		for (int k = 0; k < _SL_BUILD_LIST_MAX; k++)
			for (size_t i = 0; i < c->lists[k].n; i++)
				if (!c->lists[k].items[i][0] || c->lists[k].lines[i] == 0)
					__builtin_trap();
		sl_build_config_free(c);
	} else if (c) {
		__builtin_trap(); /* never an out-param on failure */
	}
	return 0;
}
