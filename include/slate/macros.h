/* SPDX-License-Identifier: MIT */
/*
 * Common attributes, cleanup helpers and overflow-checked arithmetic.
 *
 * Ownership conventions (STYLE.md): a variable declared with _cleanup_free_ or
 * _cleanup_close_ owns what it holds; TAKE_PTR()/TAKE_FD() hand ownership to the
 * caller and leave NULL / -1 behind so the cleanup does nothing.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _wur_	       __attribute__((warn_unused_result))
#define _unused_       __attribute__((unused))
#define _packed_       __attribute__((packed))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_     __attribute__((noreturn))
#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)                 \
	(sizeof(a) / sizeof((a)[0]) + \
	 0 * sizeof(char[1 -          \
			 2 * __builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0]))]))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Checked arithmetic: true on overflow, *r is then unspecified. */
#define sl_add_overflow(a, b, r) __builtin_add_overflow((a), (b), (r))
#define sl_sub_overflow(a, b, r) __builtin_sub_overflow((a), (b), (r))
#define sl_mul_overflow(a, b, r) __builtin_mul_overflow((a), (b), (r))

/* Take ownership: return the value and reset the variable to NULL / -1. */
#define TAKE_PTR(p)                      \
	({                               \
		__typeof__(p) _tp = (p); \
		(p) = NULL;              \
		_tp;                     \
	})
#define TAKE_FD(fd)              \
	({                       \
		int _tfd = (fd); \
		(fd) = -1;       \
		_tfd;            \
	})

static inline void sl_freep(void *p)
{
	free(*(void **)p);
}

static inline void sl_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void sl_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_	 _cleanup_(sl_freep)
#define _cleanup_close_	 _cleanup_(sl_closep)
#define _cleanup_fclose_ _cleanup_(sl_fclosep)

/* Defines a cleanup helper for pointers freed by a function that accepts NULL. */
#define SL_DEFINE_CLEANUP(type, func)       \
	static inline void func##p(type *p) \
	{                                   \
		if (*p)                     \
			func(*p);           \
	}

/* Overflow-checked allocation. NULL on overflow or when out of memory. */
static inline void *sl_malloc_array(size_t n, size_t size)
{
	size_t total;

	if (sl_mul_overflow(n, size, &total))
		return NULL;
	return malloc(total ? total : 1);
}

static inline void *sl_calloc_array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size ? size : 1);
}

static inline void *sl_realloc_array(void *p, size_t n, size_t size)
{
	size_t total;

	if (sl_mul_overflow(n, size, &total))
		return NULL;
	return realloc(p, total ? total : 1);
}

/* Round v up to a multiple of the power of two a; false on overflow. */
static inline bool sl_align_up_u64(uint64_t v, uint64_t a, uint64_t *ret)
{
	uint64_t t;

	if (sl_add_overflow(v, a - 1, &t))
		return false;
	*ret = t & ~(a - 1);
	return true;
}

static inline bool sl_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Constant-time comparison for digests and MACs: 0 when equal. */
static inline int sl_memcmp_ct(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d != 0;
}

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* If s starts with prefix, the rest of s; else NULL. */
static inline const char *startswith(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}
