/* SPDX-License-Identifier: MIT */
/*
 * slate build: turn Debian packages into a signed, verity-protected, bootable image.
 *
 * This module has three parts:
 *
 *   - the image definition: a small text format (README, "slate build") parsed and
 *     validated here (sl_build_config_*), and the embedded default definition from
 *     image/ (sl_build_default_*);
 *   - release versions: YYYYMM.DD.N strings (sl_build_version_*);
 *   - the pipeline (sl_build_run): mmdebstrap, post-processing, EROFS /usr, verity,
 *     initramfs, UKI, signing, ESP, disk, release manifest, SBOM.
 *
 * Like every Slate library it does not print: problems come back as negative errno
 * codes with a detail message (slate/error.h); progress is reported through a
 * callback so that the tool can render it.
 *
 * Error codes: -EBADMSG a malformed definition (the message names file:line), -ERANGE a
 * value out of range, -E2BIG a definition or list over its cap, -ENOENT a missing
 * file or program, -EIO a build step that failed (the message names the step and
 * its log), -EPERM not running as root.
 */
#pragma once

#include <time.h>

#include "slate/macros.h"

/* ---- the image definition ------------------------------------------------------ */

/* Caps for untrusted definitions. */
#define SL_BUILD_CONFIG_MAX_BYTES (1u << 20)
#define SL_BUILD_CONFIG_MAX_LINE  4096u
#define SL_BUILD_LIST_MAX	  4096u

/* One list section: items in file order, each with the line it came from. */
typedef struct SlBuildList {
	char **items;	 /* owned */
	unsigned *lines; /* owned, parallel to items */
	size_t n;
} SlBuildList;

typedef enum SlBuildListKind {
	SL_BUILD_LIST_PACKAGES, /* [packages]: Debian packages, "name" or "name=version" */
	SL_BUILD_LIST_EXCLUDE,	/* [exclude]: dpkg path globs never installed ("!" keeps) */
	SL_BUILD_LIST_REMOVE,	/* [remove]: globs removed after the package list is recorded */
	SL_BUILD_LIST_ENABLE,	/* [enable]: systemd units enabled in the image */
	SL_BUILD_LIST_MASK,	/* [mask]: systemd units masked in the image */
	SL_BUILD_LIST_INITRD_MODULES, /* [initrd-modules]: kernel modules for slate-init */
	_SL_BUILD_LIST_MAX,
} SlBuildListKind;

typedef struct SlBuildConfig {
	char *path;	    /* the definition's file name, for messages (owned) */
	char *id;	    /* IMAGE_ID, e.g. "slate" */
	char *name;	    /* NAME in os-release, e.g. "Slate Container Linux" */
	char *suite;	    /* Debian suite, e.g. "trixie" */
	char *architecture; /* Debian architecture: "amd64" */
	char *mirror;	    /* apt mirror URL; NULL = mmdebstrap's default for the suite */
	char *compression;  /* mkfs.erofs -z argument, e.g. "lz4hc,12" */
	char *cmdline;	    /* extra kernel command line ("" when none) */
	char *channel;	    /* default release channel: stable, beta or alpha */
	char *files;	    /* directory copied over the tree; absolute or NULL */
	uint64_t disk_size; /* size of the disk image in bytes */
	bool strip_setuid;  /* clear setuid/setgid bits in /usr */
	SlBuildList lists[_SL_BUILD_LIST_MAX];
} SlBuildConfig;

/*
 * Parse and validate a definition from text (len bytes, need not be NUL-terminated).
 * filename is used in messages ("FILE:LINE: problem") and to resolve a relative
 * `files` directory (against the file's directory). Every value is checked: unknown
 * sections and keys, duplicates, malformed package names, unit names, paths and
 * sizes are refused with -EBADMSG (or -ERANGE / -E2BIG) and a message naming the line.
 * On success the caller owns *ret (sl_build_config_free()).
 */
int sl_build_config_parse(const char *text, size_t len, const char *filename, SlBuildConfig **ret)
	_wur_;

/* Read FILE (at most SL_BUILD_CONFIG_MAX_BYTES) and parse it. */
int sl_build_config_load(const char *path, SlBuildConfig **ret) _wur_;

void sl_build_config_free(SlBuildConfig *c);
SL_DEFINE_CLEANUP(SlBuildConfig *, sl_build_config_free)

/* The name of a list section ("packages", "initrd-modules", ...). */
const char *sl_build_list_name(SlBuildListKind k);

/*
 * The embedded default definition (image/ in the source tree): slate.conf and the
 * files under image/files/, compiled into the binary.
 */
typedef struct SlBuildEmbeddedFile {
	const char *path; /* relative to image/, e.g. "slate.conf", "files/usr/lib/..." */
	unsigned mode;	  /* permission bits */
	const unsigned char *data;
	size_t size;
} SlBuildEmbeddedFile;

extern const SlBuildEmbeddedFile sl_build_default_files[];
extern const size_t sl_build_default_n_files;

/*
 * Write the embedded definition into the directory dir (created if missing; files
 * already there are replaced). The definition is then dir/slate.conf.
 */
int sl_build_default_export(const char *dir) _wur_;

/* ---- release versions ------------------------------------------------------------- */

#define SL_BUILD_VERSION_MAX 32 /* "YYYYMM.DD.N" with N up to 10 digits, and a NUL */

/*
 * Check a release version YYYYMM.DD.N (DESIGN.md, Updates): a real calendar date from
 * 2000 on, N a decimal number without leading zeros. -EBADMSG otherwise. Optionally
 * returns the UTC midnight of the date.
 */
int sl_build_version_parse(const char *s, time_t *ret_date) _wur_;

/* The version for the UTC date of t with counter n ("202611.29.0"). */
int sl_build_version_from_time(time_t t, unsigned n, char out[static SL_BUILD_VERSION_MAX]) _wur_;

/* stable, beta or alpha. */
bool sl_build_channel_valid(const char *s);

/* ---- the pipeline ------------------------------------------------------------------- */

typedef enum SlBuildEvent {
	SL_BUILD_STEP_BEGIN, /* a step starts: what = its title */
	SL_BUILD_STEP_TICK,  /* a step is still running (about every 200 ms) */
	SL_BUILD_STEP_END,   /* a step finished: what = a short result, or NULL */
	SL_BUILD_WARNING,    /* what = a warning the user must see */
} SlBuildEvent;

/* Progress: step counts from 1 to n_steps; elapsed = seconds since the step began. */
typedef void (*SlBuildProgressFn)(void *userdata, SlBuildEvent ev, unsigned step, unsigned n_steps,
				  const char *what, double elapsed);

typedef struct SlBuildOptions {
	const SlBuildConfig *config; /* borrowed; NULL: the embedded default */
	const char *output_dir;	     /* created if missing */
	const char *version;	     /* NULL: the date of source_date_epoch (or today), ".0" */
	const char *channel;	     /* NULL: the definition's */
	const char *keys_dir;	     /* NULL: development keys in cache_dir (created once) */
	const char *cache_dir;	     /* packages, tool roots, development keys */
	const char *init_path;	     /* the slate-init binary for the initramfs */
	/* SOURCE_DATE_EPOCH; < 0: midnight UTC of the version's date. */
	int64_t source_date_epoch;
	bool keep_work; /* keep output_dir/.work (the tree and intermediate files) */
	SlBuildProgressFn progress;
	void *userdata;
} SlBuildOptions;

typedef struct SlBuildResult {
	char id[65]; /* IMAGE_ID */
	char version[SL_BUILD_VERSION_MAX];
	char root_hash[65]; /* lowercase hex of the /usr verity root hash */
	uint64_t usr_size;  /* bytes of the EROFS /usr image */
	size_t n_packages;
	bool development_keys; /* signed with development keys */
	double seconds;
} SlBuildResult;

/*
 * Build an image. Must run as root (mmdebstrap --mode=root; -EPERM otherwise). Writes
 * into output_dir: slate.img (the disk), slate.vars.fd (OVMF variables with the
 * build's PK, KEK and db enrolled: `slate run` picks it up), the release (usr.erofs,
 * usr.verity, slate.efi, release.json, release.json.sig), usr.roothash and
 * usr.roothash.p7s, pcr11.json, sbom.spdx.json, packages.txt and build.log. Without
 * keys_dir, development keys are made once in cache_dir/development-keys (a
 * SL_BUILD_WARNING says so). On failure the message names the step and, for
 * external programs, the log file.
 */
int sl_build_run(const SlBuildOptions *o, SlBuildResult *ret) _wur_;
