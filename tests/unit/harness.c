/* SPDX-License-Identifier: MIT */
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>

#include "test.h"

#define MAX_TESTS 1024

static struct {
	const char *name;
	SlTestFn fn;
} tests[MAX_TESTS];
static int n_tests;
static jmp_buf test_jmp;
static const char *skip_reason;
static char tmpdir[256];

void sl_test_register(const char *name, SlTestFn fn)
{
	if (n_tests == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		abort();
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void sl_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	longjmp(test_jmp, 1);
}

void sl_test_skip(const char *why)
{
	skip_reason = why;
	longjmp(test_jmp, 2);
}

const char *sl_test_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/slate-test-XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			abort();
		}
	}
	return tmpdir;
}

const char *sl_test_srcdir(void)
{
	const char *s = getenv("SLATE_SRCDIR");

	return s ? s : SLATE_SRCDIR;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	volatile int failed = 0, run = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < n_tests; i++)
		if (argc < 2 || strstr(tests[i].name, argv[1]))
			run++;
	printf("1..%d\n", run);
	run = 0;
	for (int i = 0; i < n_tests; i++) {
		volatile int outcome;

		if (argc >= 2 && !strstr(tests[i].name, argv[1]))
			continue;
		run++;
		outcome = setjmp(test_jmp);
		if (outcome == 0) {
			tests[i].fn();
			printf("ok %d - %s\n", (int)run, tests[i].name);
		} else if (outcome == 2) {
			printf("ok %d - %s # SKIP %s\n", run, tests[i].name, skip_reason);
		} else {
			printf("not ok %d - %s\n", run, tests[i].name);
			failed++;
		}
	}
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? 1 : 0;
}
