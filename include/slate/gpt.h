/* SPDX-License-Identifier: MIT */
/*
 * GUID Partition Tables (UEFI 2.10 §5.2-5.3, SPEC.md §4): decode, validate, encode
 * and crash-safe updates, plus the Discoverable Partitions type table.
 *
 * This module needs no OpenSSL and does all its I/O through SlGptOps, so the
 * static slate-init can use it on a block device, the tests can interrupt every
 * write, and the fuzzer can feed it memory. The layout functions at the end
 * (sl_gpt_layout_*) derive UUIDs with SHA-256 and live in gpt_layout_dep, which
 * links libcrypto; everything else is in gpt_dep.
 *
 * Errors (negative errno, with a detail message from sl_error_message()):
 *   -EBADMSG     malformed or inconsistent table (both copies damaged, a partition
 *                outside the disk or overlapping another, a truncated image, ...)
 *   -E2BIG       an entry array over SL_GPT_MAX_ARRAY_BYTES, an entry size over
 *                SL_GPT_MAX_ENTRY_SIZE, a name over 36 UTF-16 units
 *   -EOPNOTSUPP  a header revision other than 1.x, a sector size other than 512/4096
 *   -ENOENT      no such partition or slot (USR-A, ...)
 *   -ENOSPC      a layout or partition contents that do not fit
 *   -EEXIST      a PARTUUID that another partition already carries
 *   -EINVAL      a bad argument from the caller
 *   other        whatever the ops' read/write/flush returned (-EIO, ...)
 */
#pragma once

#include "slate/macros.h"
#include "slate/uuid.h"

#define SL_GPT_HEADER_MIN_SIZE 92
#define SL_GPT_ENTRY_MIN_SIZE  128
#define SL_GPT_MAX_ENTRY_SIZE  4096
#define SL_GPT_MAX_ARRAY_BYTES (1u << 20) /* cap on entry_count * entry_size */
#define SL_GPT_DEFAULT_ENTRIES 128
#define SL_GPT_NAME_UNITS      36			   /* UTF-16 code units in an entry name */
#define SL_GPT_NAME_MAX	       (3 * SL_GPT_NAME_UNITS + 1) /* UTF-8 bytes + NUL */
#define SL_GPT_MAX_WARNINGS    8
#define SL_GPT_WARNING_MAX     256

/* Attribute bits (UEFI §5.3.3 table 5-8; DPS "Partition Attribute Flags"). */
#define SL_GPT_ATTR_REQUIRED	(UINT64_C(1) << 0)
#define SL_GPT_ATTR_NO_BLOCK_IO (UINT64_C(1) << 1)
#define SL_GPT_ATTR_LEGACY_BOOT (UINT64_C(1) << 2)
#define SL_GPT_ATTR_GROWFS	(UINT64_C(1) << 59)
#define SL_GPT_ATTR_READ_ONLY	(UINT64_C(1) << 60)
#define SL_GPT_ATTR_NO_AUTO	(UINT64_C(1) << 63)

/*
 * I/O on one disk. Offsets and lengths are in bytes; reads and writes transfer
 * everything or fail with a negative errno. flush() makes every write before it
 * durable (fdatasync); writes between two flushes may reach the disk in any
 * order, which is how the crash-safe updates below are tested.
 */
typedef struct SlGptOps {
	int (*read)(void *userdata, void *buf, size_t len, uint64_t offset);
	int (*write)(void *userdata, const void *buf, size_t len, uint64_t offset);
	int (*flush)(void *userdata);
	void *userdata;	      /* borrowed */
	uint64_t size;	      /* disk size in bytes */
	uint32_t sector_size; /* logical sector (LBA) size: 512 or 4096 */
} SlGptOps;

/*
 * Ops on an open file or block device (fd borrowed, must outlive the ops). The
 * size comes from fstat/BLKGETSIZE64. sector_size 0 means: BLKSSZGET for a block
 * device; for a regular file, the size at which a GPT header is found
 * (sl_gpt_probe_sector_size), else 512.
 */
int sl_gpt_ops_from_fd(int fd, uint32_t sector_size, SlGptOps *ret) _wur_;

/* A disk in memory, for tests and fuzzers: mem and its buffer are borrowed. */
typedef struct SlGptMemory {
	uint8_t *buf;
	size_t len;
} SlGptMemory;

void sl_gpt_ops_from_memory(SlGptMemory *mem, uint32_t sector_size, SlGptOps *ret);

/* Where a GPT header ("EFI PART" at LBA 1 or the last LBA) is: 512 or 4096; -ENOENT
 * when neither size finds one. */
int sl_gpt_probe_sector_size(const SlGptOps *ops, uint32_t *ret) _wur_;

/* One partition entry (UEFI §5.3.3). Unused entries have a null type. */
typedef struct SlGptEntry {
	SlUuid type; /* text order; converted from the mixed-endian GUID on disk */
	SlUuid uuid; /* the unique partition GUID (PARTUUID), text order */
	uint64_t first_lba;
	uint64_t last_lba; /* inclusive */
	uint64_t attributes;
	uint16_t name[SL_GPT_NAME_UNITS]; /* UTF-16 code units as on disk, NUL-padded */
} SlGptEntry;

/* Which copy sl_gpt_read() used and what it noticed. */
#define SL_GPT_PRIMARY_DAMAGED	  (1u << 0) /* the primary header or array is invalid */
#define SL_GPT_BACKUP_DAMAGED	  (1u << 1) /* the backup header or array is invalid */
#define SL_GPT_COPIES_DIFFER	  (1u << 2) /* both valid but not the same table */
#define SL_GPT_BACKUP_NOT_AT_END  (1u << 3) /* the disk grew: backup before the last LBA */
#define SL_GPT_MBR_NOT_PROTECTIVE (1u << 4) /* LBA 0 has no 0xEE record (or is blank) */
#define SL_GPT_MBR_HYBRID	  (1u << 5) /* 0xEE plus other MBR records */
#define SL_GPT_OVERLAPS		  (1u << 6) /* partitions overlap (only with ALLOW_OVERLAP) */

typedef struct SlGpt {
	uint32_t sector_size;
	uint64_t disk_lbas; /* size of the disk in sectors when read or made */
	SlUuid disk_guid;   /* text order */
	uint32_t revision;
	uint32_t header_size;
	uint64_t primary_lba; /* always 1 */
	uint64_t backup_lba;  /* AlternateLBA of the primary */
	uint64_t primary_entries_lba;
	uint64_t backup_entries_lba;
	uint64_t first_usable_lba;
	uint64_t last_usable_lba;
	uint32_t entry_count;
	uint32_t entry_size;
	SlGptEntry *entries;  /* owned, entry_count of them (used and unused) */
	uint8_t *entry_tails; /* owned: bytes 128..entry_size of every entry, kept as
			       * read; NULL when entry_size is 128 */
	/* Filled by sl_gpt_read(). */
	unsigned status; /* SL_GPT_PRIMARY_DAMAGED, ... */
	unsigned n_warnings;
	char warnings[SL_GPT_MAX_WARNINGS][SL_GPT_WARNING_MAX]; /* human-readable */
} SlGpt;

void sl_gpt_free(SlGpt *gpt);
SL_DEFINE_CLEANUP(SlGpt *, sl_gpt_free)
#define _cleanup_gpt_ _cleanup_(sl_gpt_freep)

/* sl_gpt_read() flags. */
#define SL_GPT_READ_ALLOW_OVERLAP                           \
	(1u << 0) /* overlapping partitions, or partitions  \
		   * outside the usable area but inside the \
		   * disk, are warnings, not errors (for    \
		   * inspection; never for writing) */

/*
 * Read and validate the table: protective MBR, primary header and array, backup
 * header (at the primary's AlternateLBA, or the last LBA when the primary is
 * damaged) and array. Uses the primary when it is valid, else the backup, and
 * records which in status and warnings. Refuses (-EBADMSG) when both copies are
 * damaged, the image is truncated, a partition lies outside the disk or the
 * usable area, partitions overlap, or LBA 0 holds a real MBR partition table.
 * Caller owns *ret.
 */
int sl_gpt_read(const SlGptOps *ops, unsigned flags, SlGpt **ret) _wur_;

/*
 * A new empty table for a disk of disk_bytes: 1 + array sectors at the start,
 * array + header at the end, a random disk GUID. entry_count 0 means 128.
 */
int sl_gpt_new(uint64_t disk_bytes, uint32_t sector_size, uint32_t entry_count, SlGpt **ret) _wur_;

/*
 * Check a table before writing it: geometry consistent with its disk, every used
 * entry inside the usable area, no overlaps, no duplicate PARTUUIDs, no null
 * PARTUUID in a used entry. -EBADMSG / -EEXIST with the partition named.
 */
int sl_gpt_validate(const SlGpt *gpt) _wur_;

/* The sectors of a table as they go on disk. */
typedef struct SlGptEncoded {
	uint8_t *mbr;		 /* one sector: protective MBR (no boot code) */
	uint8_t *primary_header; /* one sector */
	uint8_t *backup_header;	 /* one sector */
	uint8_t *entries;	 /* the array, rounded up to whole sectors */
	size_t entries_len;
	uint32_t entries_crc;
} SlGptEncoded;

/* Encode gpt (validated first). Caller frees with sl_gpt_encoded_done(). */
int sl_gpt_encode(const SlGpt *gpt, SlGptEncoded *ret) _wur_;
void sl_gpt_encoded_done(SlGptEncoded *enc);

/*
 * Write gpt to the disk so that a crash at any moment, with writes between
 * flushes landing in any order and any single sector torn, leaves a table that
 * sl_gpt_read() reads as entirely old or entirely new. One copy at a time, array
 * then header, each followed by a flush:
 *   1. the backup (at gpt->backup_lba, maybe a new place); flush
 *   2. the primary; flush
 *   3. the protective MBR (only if it changes), and the old backup header zeroed
 *      when it now lies in the usable area (a grown disk); flush
 * While the primary is untouched every reader uses it (old); while it is being
 * rewritten its CRCs fail and readers use the backup (new, already durable, at
 * the last LBA). When old says the primary is damaged, the primary goes first.
 * old is the table on disk as sl_gpt_read() returned it (its backup_lba and
 * status are used), NULL for a blank disk. A boot code area or a hybrid MBR is
 * kept.
 */
int sl_gpt_write(const SlGptOps *ops, const SlGpt *gpt, const SlGpt *old) _wur_;

/* Decode an entry name to UTF-8 (out: SL_GPT_NAME_MAX bytes). Unpaired
 * surrogates become U+FFFD. Returns out. */
char *sl_gpt_entry_name(const SlGptEntry *e, char out[static SL_GPT_NAME_MAX]);

/* Set an entry name from UTF-8: -EBADMSG on invalid UTF-8, -E2BIG over 36 units. */
int sl_gpt_entry_set_name(SlGptEntry *e, const char *utf8) _wur_;

static inline bool sl_gpt_entry_used(const SlGptEntry *e)
{
	return !sl_uuid_is_null(&e->type);
}

/* Index of the used entry whose name is label; -ENOENT if none, -EBADMSG if several. */
int sl_gpt_find_label(const SlGpt *gpt, const char *label) _wur_;

/* ---- Discoverable Partitions types (uapi-group DPS, SPEC.md §4.3) ---- */

typedef enum SlGptArch {
	SL_GPT_ARCH_ANY = 0, /* architecture-independent types */
	SL_GPT_ARCH_X86_64,
	SL_GPT_ARCH_ARM64,
} SlGptArch;

#if defined(__aarch64__)
#define SL_GPT_ARCH_NATIVE SL_GPT_ARCH_ARM64
#else
#define SL_GPT_ARCH_NATIVE SL_GPT_ARCH_X86_64
#endif

typedef enum SlGptRole {
	SL_GPT_ROLE_OTHER = 0,
	SL_GPT_ROLE_ESP,
	SL_GPT_ROLE_XBOOTLDR,
	SL_GPT_ROLE_ROOT,
	SL_GPT_ROLE_ROOT_VERITY,
	SL_GPT_ROLE_ROOT_VERITY_SIG,
	SL_GPT_ROLE_USR,
	SL_GPT_ROLE_USR_VERITY,
	SL_GPT_ROLE_USR_VERITY_SIG,
	SL_GPT_ROLE_SWAP,
	SL_GPT_ROLE_HOME,
	SL_GPT_ROLE_SRV,
	SL_GPT_ROLE_VAR,
	SL_GPT_ROLE_TMP,
	SL_GPT_ROLE_USER_HOME,
	SL_GPT_ROLE_LINUX_GENERIC,
} SlGptRole;

typedef struct SlGptType {
	const char *name;	 /* systemd-repart's name: "usr-x86-64-verity", "esp" */
	const char *description; /* "Linux /usr verity (x86-64)" */
	SlGptRole role;
	SlGptArch arch;
	SlUuid uuid; /* text order */
} SlGptType;

/* The whole table (n entries), for listings. */
const SlGptType *sl_gpt_types(size_t *ret_n);

/*
 * A type by name: a full name ("root-arm64", "usr-x86-64-verity-sig", "esp",
 * "linux-generic"), or a role without architecture ("root", "usr", "usr-verity",
 * "usr-verity-sig", ...) meaning that role for arch. NULL if unknown.
 */
const SlGptType *sl_gpt_type_from_name(const char *name, SlGptArch arch);
/* A type by UUID; NULL if not in the table. */
const SlGptType *sl_gpt_type_from_uuid(const SlUuid *uuid);
/* The type with this role and arch (arch ignored for architecture-independent roles). */
const SlGptType *sl_gpt_type_from_role(SlGptRole role, SlGptArch arch);

const char *sl_gpt_arch_name(SlGptArch arch); /* "x86-64", "arm64", "any" */
int sl_gpt_arch_from_name(const char *s, SlGptArch *ret) _wur_;

/* ---- Slate's /usr slots (DESIGN.md "Disk layout") ---- */

typedef struct SlGptSlot {
	char name;  /* 'A' or 'B' */
	int data;   /* entry index of USR-<name>, a usr-typed partition */
	int verity; /* entry index of USR-<name>-VERITY, a usr-verity-typed partition */
} SlGptSlot;

/* Find slot 'A' or 'B' by label and type. -ENOENT (missing, or wrong type),
 * -EBADMSG (label used twice), -EINVAL (not A or B). */
int sl_gpt_find_slot(const SlGpt *gpt, char slot, SlGptSlot *ret) _wur_;

/*
 * The PARTUUIDs that name a dm-verity root hash (systemd convention, SPEC.md §1.8):
 * data = the first 16 bytes, verity = the last 16 bytes, as UUIDs in text order.
 * len must be 32..64. -EINVAL otherwise.
 */
int sl_gpt_usrhash_partuuids(const uint8_t *hash, size_t len, SlUuid *ret_data, SlUuid *ret_verity)
	_wur_;

/*
 * Give slot 'A' or 'B' the PARTUUIDs of root hash `hash`, as one crash-safe table
 * rewrite (sl_gpt_write). Refuses (-EEXIST) when another partition already carries
 * either UUID (e.g. the other slot holds the same release). A no-op when the slot
 * already has them.
 */
int sl_gpt_set_usr_partuuids(const SlGptOps *ops, char slot, const uint8_t *hash, size_t len) _wur_;

/* What sl_gpt_grow() did. */
typedef struct SlGptGrowResult {
	bool changed;	   /* false: nothing to do */
	bool backup_moved; /* backup header moved to the new last LBA */
	uint64_t old_backup_lba;
	uint64_t new_backup_lba;
	int partition;	       /* entry index of the grown partition, -1 if none */
	uint64_t old_last_lba; /* of that partition */
	uint64_t new_last_lba;
} SlGptGrowResult;

/*
 * After the disk has grown: move the backup array and header to the end of the
 * disk and extend the ROOT partition (the one partition with a DPS root type, or
 * else the one labelled ROOT) to the new last usable LBA, its end aligned down to
 * 1 MiB (where sgdisk and sfdisk end partitions). ROOT is extended only when it is the last
 * partition on the disk. Crash-safe as sl_gpt_write(): the new backup lands first, at the new end,
 * where readers look for it once the primary is invalid. Caller's ret may be NULL.
 */
int sl_gpt_grow(const SlGptOps *ops, SlGptGrowResult *ret) _wur_;

/* ---- Layouts (gpt_layout_dep: links libcrypto for derived UUIDs) ---- */

typedef enum SlGptUuidMode {
	SL_GPT_UUID_DERIVE = 0, /* from the seed and the label (default) */
	SL_GPT_UUID_FIXED,
	SL_GPT_UUID_RANDOM,
} SlGptUuidMode;

typedef struct SlGptLayoutPart {
	char label[SL_GPT_NAME_MAX];
	uint64_t size; /* bytes; 0 = "rest" (fills what is left) */
	SlUuid type;
	SlGptUuidMode uuid_mode;
	SlUuid uuid; /* when FIXED */
	uint64_t attributes;
	unsigned line; /* where it was defined (for messages) */
} SlGptLayoutPart;

typedef struct SlGptLayout {
	uint32_t sector_size; /* 0: not set (the caller's choice, default 512) */
	uint64_t align;	      /* partition starts, bytes (default 1 MiB) */
	uint32_t entry_count; /* default 128 */
	SlGptArch arch;	      /* for role-only type names (default x86-64) */
	char *seed;	      /* owned, NULL: none (derived UUIDs then use a random seed) */
	SlGptUuidMode disk_uuid_mode;
	SlUuid disk_uuid;
	SlGptLayoutPart *parts; /* owned */
	size_t n_parts;
} SlGptLayout;

void sl_gpt_layout_free(SlGptLayout *l);
SL_DEFINE_CLEANUP(SlGptLayout *, sl_gpt_layout_free)
#define _cleanup_gpt_layout_ _cleanup_(sl_gpt_layout_freep)

/* The text of Slate's default layout (DESIGN.md), in the layout format. */
extern const char sl_gpt_default_layout[];

/* Parse the layout format (README "slate disk"); -EBADMSG naming the line. */
int sl_gpt_layout_parse(const char *text, SlGptLayout **ret) _wur_;

/*
 * Lay the partitions out on a disk of disk_bytes with sector_size (0: the layout's,
 * else 512): starts aligned, one "rest" partition taking what is left (its end
 * aligned down to the alignment too). seed overrides the layout's seed (may be NULL).
 * -ENOSPC when the partitions do not fit. Caller owns *ret.
 */
int sl_gpt_layout_build(const SlGptLayout *l, uint64_t disk_bytes, uint32_t sector_size,
			const char *seed, SlGpt **ret) _wur_;

/* The UUID derived from seed for key ("disk", or a partition label). */
void sl_gpt_derive_uuid(const char *seed, const char *key, SlUuid *ret);
