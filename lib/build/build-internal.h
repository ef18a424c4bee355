/* SPDX-License-Identifier: MIT */
/* Internal interfaces between the files of lib/build. Not installed, not public. */
#pragma once

#include <sys/types.h>

#include "slate/build.h"

/* ---- running programs ------------------------------------------------------------ */

/* Called about every 200 ms while a program runs (for progress rendering). */
typedef void (*SlTickFn)(void *userdata);

typedef struct SlSpawn {
	const char *const *argv;    /* argv[0] is looked up in PATH unless it has a '/' */
	const char *const *env_add; /* "NAME=value" entries added to the environment */
	int log_fd;		    /* stdout and stderr go here (-1: /dev/null) */
	int stdout_fd;		    /* if >= 0, stdout goes here instead */
	const char *log_path;	    /* named in error messages */
	SlTickFn tick;
	void *userdata;
} SlSpawn;

/*
 * Run a program and wait for it. 0 when it exits 0; -EIO when it fails (the message
 * names the program, its exit status and the log); -ENOENT when it cannot be run.
 */
int sl_spawn(const SlSpawn *s) _wur_;

/* Quote s for a POSIX shell (single quotes). Caller owns the result; NULL on ENOMEM. */
char *sl_shell_quote(const char *s);

/* ---- files ------------------------------------------------------------------------ */

/* mkdir -p with mode for new directories. */
int sl_mkdir_p(const char *path, mode_t mode) _wur_;

/* rm -rf: path itself may be a file, a symlink (not followed) or a directory. */
int sl_rm_rf(const char *path) _wur_;

/* Write a small file (not atomically) with mode. */
int sl_write_file(const char *path, const void *data, size_t len, mode_t mode) _wur_;

/* Copy a regular file, creating or truncating dst with mode. Holes are kept. */
int sl_copy_file(const char *src, const char *dst, mode_t mode) _wur_;

/* SHA-256 of a file (32 bytes) and its size. */
int sl_sha256_file(const char *path, uint8_t ret_digest[static 32], uint64_t *ret_size) _wur_;

/* ---- the package list --------------------------------------------------------------- */

typedef struct SlPackage {
	char *name;
	char *version;
	char *architecture;
	char *source;	      /* source package name */
	char *source_version; /* source package version */
	char *maintainer;
	char *deb_sha256; /* hex SHA-256 of the .deb from the package cache, or NULL */
} SlPackage;

typedef struct SlPackageList {
	SlPackage *items;
	size_t n;
} SlPackageList;

void sl_package_list_free(SlPackageList *l);

/*
 * Parse dpkg-query output lines "name\tversion\tarch\tsource\tsource-version\t
 * maintainer\tstatus" (the format sl_packages_query() asks for); only installed
 * packages ("ii") are kept, sorted by name. -EBADMSG on a malformed line.
 */
int sl_packages_parse(const char *text, size_t len, SlPackageList *ret) _wur_;
