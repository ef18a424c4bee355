/* SPDX-License-Identifier: MIT */
/*
 * A small unit-test harness with TAP output (one "ok"/"not ok" line per test).
 *
 *   TEST(hex_roundtrip) { ASSERT_EQ(sl_crc32(0, "a", 1), 0xe8b7be43u); }
 *
 * A failed ASSERT_* reports file, line and both values, then ends that test; the
 * other tests still run. The binary exits 1 if any test failed. Run one test with
 * `test-foo NAME` (names match as substrings).
 */
#pragma once

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "slate/macros.h"

typedef void (*SlTestFn)(void);
void sl_test_register(const char *name, SlTestFn fn);
_noreturn_ void sl_test_fail(const char *file, int line, const char *fmt, ...) _printf_(3, 4);
void sl_test_skip(const char *why);
/* A directory for this test's temporary files, removed after the run. */
const char *sl_test_tmpdir(void);
/* The source directory of the tests (for vectors), from SLATE_SRCDIR or the build. */
const char *sl_test_srcdir(void);

#define TEST(name)                                                          \
	static void test_##name(void);                                      \
	__attribute__((constructor)) static void test_register_##name(void) \
	{                                                                   \
		sl_test_register(#name, test_##name);                       \
	}                                                                   \
	static void test_##name(void)

#define ASSERT_TRUE(x)                                                             \
	do {                                                                       \
		if (!(x))                                                          \
			sl_test_fail(__FILE__, __LINE__, "expected true: %s", #x); \
	} while (0)

#define ASSERT_FALSE(x) ASSERT_TRUE(!(x))

#define ASSERT_EQ(a, b)                                                                           \
	do {                                                                                      \
		intmax_t _a = (intmax_t)(a), _b = (intmax_t)(b);                                  \
		if (_a != _b)                                                                     \
			sl_test_fail(__FILE__, __LINE__, "%s == %s: %jd != %jd", #a, #b, _a, _b); \
	} while (0)

#define ASSERT_UEQ(a, b)                                                                         \
	do {                                                                                     \
		uintmax_t _a = (uintmax_t)(a), _b = (uintmax_t)(b);                              \
		if (_a != _b)                                                                    \
			sl_test_fail(__FILE__, __LINE__, "%s == %s: %ju (0x%jx) != %ju (0x%jx)", \
				     #a, #b, _a, _a, _b, _b);                                    \
	} while (0)

#define ASSERT_OK(expr)                                                                    \
	do {                                                                               \
		intmax_t _r = (intmax_t)(expr);                                            \
		if (_r < 0)                                                                \
			sl_test_fail(__FILE__, __LINE__, "%s failed: %jd (%s)", #expr, _r, \
				     strerror((int)-_r));                                  \
	} while (0)

/* Expect a specific negative errno. */
#define ASSERT_ERR(expr, err)                                                                  \
	do {                                                                                   \
		intmax_t _r = (intmax_t)(expr);                                                \
		if (_r != (intmax_t)(err))                                                     \
			sl_test_fail(__FILE__, __LINE__, "%s: expected %s (%d), got %jd (%s)", \
				     #expr, #err, (int)(err), _r,                              \
				     _r < 0 ? strerror((int)-_r) : "success");                 \
	} while (0)

#define ASSERT_STREQ(a, b)                                                                     \
	do {                                                                                   \
		const char *_a = (a), *_b = (b);                                               \
		if (!_a || !_b || strcmp(_a, _b) != 0)                                         \
			sl_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
				     _a ? _a : "(null)", _b ? _b : "(null)");                  \
	} while (0)

#define ASSERT_MEMEQ(a, b, n)                                                                     \
	do {                                                                                      \
		if (memcmp((a), (b), (n)) != 0)                                                   \
			sl_test_fail(__FILE__, __LINE__, "%s and %s differ in %zu bytes", #a, #b, \
				     (size_t)(n));                                                \
	} while (0)
