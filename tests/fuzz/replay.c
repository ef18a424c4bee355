/* SPDX-License-Identifier: MIT */
/*
 * Replays a fuzz target's corpus as an ordinary test (the build without
 * libFuzzer). Arguments: files or directories; every file is one input, and the
 * result is one TAP line per input. A crash or sanitizer report fails the test.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "slate/fileio.h"
#include "slate/macros.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_run;

static int run_file(const char *path)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r = sl_read_file(path, 64u << 20, &buf, &len);

	n_run++;
	if (r < 0) {
		printf("not ok %d - %s: cannot read: %s\n", n_run, path, strerror(-r));
		return 1;
	}
	/* Hand the target an exactly-sized copy so ASan sees overreads. */
	{
		_cleanup_free_ uint8_t *exact = malloc(len ? len : 1);

		if (!exact)
			return 1;
		memcpy(exact, buf, len);
		LLVMFuzzerTestOneInput(exact, len);
	}
	printf("ok %d - %s\n", n_run, path);
	return 0;
}

static int compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int failed = 0;

	if (stat(path, &st) < 0) {
		printf("not ok %d - %s: %s\n", ++n_run, path, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (!d)
		return 1;
	while ((de = readdir(d))) {
		char **nn;

		if (de->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn)
			break;
		names = nn;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), compare);
	for (size_t i = 0; i < n; i++) {
		char full[4096];

		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		failed |= run_path(full);
		free(names[i]);
	}
	free(names);
	return failed;
}

int main(int argc, char **argv)
{
	int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++)
		failed |= run_path(argv[i]);
	printf("1..%d\n", n_run);
	return failed;
}
