/* SPDX-License-Identifier: MIT */
/* The embedded default definition (image/), written out on request. */
#include <libgen.h>

#include "build-internal.h"
#include "slate/error.h"
#include "slate/strutil.h"

int sl_build_default_export(const char *dir)
{
	int r = sl_mkdir_p(dir, 0755);

	if (r < 0)
		return r;
	for (size_t i = 0; i < sl_build_default_n_files; i++) {
		const SlBuildEmbeddedFile *f = &sl_build_default_files[i];
		_cleanup_free_ char *path = sl_asprintf("%s/%s", dir, f->path);
		_cleanup_free_ char *parent = NULL;

		if (!path)
			return -ENOMEM;
		parent = sl_strdup(path);
		if (!parent)
			return -ENOMEM;
		r = sl_mkdir_p(dirname(parent), 0755);
		if (r < 0)
			return r;
		r = sl_write_file(path, f->data, f->size, f->mode);
		if (r < 0)
			return r;
	}
	return 0;
}
