/* SPDX-License-Identifier: MIT */
/* Internal interfaces between the files of lib/build. Not installed, not public. */
#pragma once

#include <sys/types.h>

#include "slate/build.h"
#include "slate/uuid.h"
#include "slate/verity.h"

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

/*
 * Copy the data regions of the first size bytes of in (named src in errors) to
 * out at offset + their offset (named dst): holes are skipped, not written.
 */
int sl_copy_data(int in, const char *src, uint64_t size, int out, uint64_t offset, const char *dst)
	_wur_;

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

/* ---- the SBOM ---------------------------------------------------------------------- */

typedef struct SlBuildSbomFile {
	const char *name; /* file name in the output directory */
	uint8_t sha256[32];
} SlBuildSbomFile;

typedef struct SlBuildSbom {
	const char *id;		    /* IMAGE_ID */
	const char *name;	    /* NAME */
	const char *version;	    /* image version */
	const char *distro;	    /* purl distro qualifier, e.g. "debian-13" */
	const char *namespace_uuid; /* document namespace (urn:uuid:...) */
	int64_t created;	    /* SOURCE_DATE_EPOCH */
	const SlPackageList *packages;
	const SlBuildSbomFile *files;
	size_t n_files;
} SlBuildSbom;

/* Write an SPDX 2.3 JSON document (see sbom.c). */
int sl_build_sbom_write(FILE *f, const SlBuildSbom *s) _wur_;

/* ---- argument vectors ------------------------------------------------------------- */

typedef struct SlArgv {
	char **v; /* NULL-terminated, owned */
	size_t n;
	bool oom; /* a push failed; sl_argv_done() reports it */
} SlArgv;

void sl_argv_push(SlArgv *a, const char *s);
void sl_argv_pushf(SlArgv *a, const char *fmt, ...) _printf_(2, 3);
/* -ENOMEM if any push failed, else 0. */
int sl_argv_done(const SlArgv *a) _wur_;
void sl_argv_free(SlArgv *a);

/* ---- one build --------------------------------------------------------------------- */

typedef struct SlBuild {
	const SlBuildOptions *o;
	const SlBuildConfig *c;	   /* o->config or own_config */
	SlBuildConfig *own_config; /* the embedded default, when o->config is NULL */
	char version[SL_BUILD_VERSION_MAX];
	const char *channel;
	int64_t epoch; /* SOURCE_DATE_EPOCH */
	char epoch_env[48];
	char e2fs_time_env[48];

	char *out;	/* output directory */
	char *work;	/* out/.work */
	char *root;	/* work/root: the tree mmdebstrap makes */
	char *log_path; /* out/build.log */
	int log_fd;
	char *cache; /* cache directory */
	char *debs;  /* cache/debs/<suite> */
	char *lists; /* cache/lists/<suite> */
	char *tools; /* cache/tools/<suite>: the root with mkfs.erofs */
	char *keys;  /* keys directory */
	bool dev_keys;

	SlPackageList packages;
	char *kernel_version; /* uname -r of the image's kernel */
	char *kernel;	      /* work/vmlinuz */
	char *stub;	      /* work/linuxx64.efi.stub */
	char *systemd_boot;   /* work/systemd-bootx64.efi */
	char *os_release;     /* work/os-release */

	uint8_t root_hash[32];
	char root_hash_hex[65];
	SlVerityParams verity; /* of usr.verity */
	uint64_t usr_size;

	/* progress */
	unsigned step, n_steps;
	double step_started, build_started;
} SlBuild;

double sl_build_now(void);
/* Progress ticks for sl_spawn() while a step's program runs. */
void sl_build_tick(void *userdata);
/* A path below the work directory / output directory; NULL on ENOMEM. */
char *sl_build_work_path(const SlBuild *b, const char *name);
char *sl_build_out_path(const SlBuild *b, const char *name);
/* Run a program with the build's log and progress ticks. */
int sl_build_spawn(SlBuild *b, const char *const *argv, int stdout_fd) _wur_;
/* Write a line into build.log ("slate build: ..."). */
void sl_build_log(SlBuild *b, const char *fmt, ...) _printf_(2, 3);

/* Steps (rootfs.c, postprocess.c, esp.c, ...). */
int sl_build_tools_root(SlBuild *b) _wur_;
int sl_build_bootstrap(SlBuild *b) _wur_;
int sl_build_postprocess(SlBuild *b) _wur_;
int sl_build_erofs(SlBuild *b) _wur_;
int sl_build_esp(SlBuild *b, const char *uki, const char *esp_path) _wur_;
int sl_build_verity(SlBuild *b) _wur_;
int sl_build_sign_roothash(SlBuild *b) _wur_;
int sl_build_initrd(SlBuild *b) _wur_;
int sl_build_uki(SlBuild *b) _wur_;
int sl_build_pcr(SlBuild *b) _wur_;
int sl_build_vars(SlBuild *b) _wur_;
int sl_build_disk(SlBuild *b, const char *esp_path) _wur_;

/* A value derived from the image id, version and what ("erofs-uuid", ...): the
 * same build gives the same UUIDs and salts, different builds different ones. */
void sl_build_derive(const SlBuild *b, const char *what, uint8_t ret[static 32]);
int sl_build_derive_uuid(const SlBuild *b, const char *what, SlUuid *ret) _wur_;
