/* SPDX-License-Identifier: MIT */
/* modules.dep through sl_kmod_deps_parse() and sl_kmod_load_order(). */
#include "slate/kmod.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(sl_kmod_deps_freep) SlKmodDeps *d = NULL;
	_cleanup_free_ size_t *want = NULL, *order = NULL;
	size_t n;

	if (sl_kmod_deps_parse((const char *)data, size, &d) < 0)
		return 0;
	want = sl_malloc_array(d->n_modules, sizeof(size_t));
	if (!want)
		return 0;
	for (size_t i = 0; i < d->n_modules; i++)
		want[i] = d->n_modules - 1 - i;
	if (sl_kmod_load_order(d, want, d->n_modules, &order, &n) == 0 && n != d->n_modules)
		__builtin_trap();
	return 0;
}
