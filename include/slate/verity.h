/* SPDX-License-Identifier: MIT */
/*
 * dm-verity hash trees, byte-compatible with the kernel's dm-verity target and
 * with cryptsetup's veritysetup (SPEC.md §1).
 *
 * The module has two halves:
 *
 *   - parameters, tree geometry, the on-disk superblock and the kernel table line
 *     (lib/verity/params.c, superblock.c, table.c): no OpenSSL, no I/O; slate-init
 *     (a static binary) links only these, through verity_core_dep;
 *   - hashing (lib/verity/digest.c, sha256.c, tree.c): building and verifying trees
 *     from file descriptors, on several threads, with OpenSSL's EVP digests (and
 *     for sha256, on a CPU with the SHA extensions, Slate's own SHA-256 that hashes
 *     a few blocks at once, checked against OpenSSL at first use; the environment
 *     variable SLATE_VERITY_NO_SHANI=1 turns it off), through verity_dep.
 *
 * Errors (negative errno, with a detail message from sl_error_message()):
 *   -EBADMSG     malformed input: a superblock that is not one, a field out of
 *                range, a tree or data area larger than its device (truncated)
 *   -EOPNOTSUPP  unknown superblock version, hash type or algorithm
 *   -EUCLEAN     a block does not match its hash (sl_verity_verify() says which)
 *   -EINVAL      parameters given by the caller that make no sense (e.g. a hash
 *                offset that is not 512-aligned, data and hash areas overlapping)
 *   -ENOSPC      the hash device is too small for the tree (block devices)
 *   -ENOMEM, -EIO and other system errors as they come
 */
#pragma once

#include "slate/macros.h"
#include "slate/uuid.h"

#define SL_VERITY_SUPERBLOCK_SIZE 512u
#define SL_VERITY_SALT_MAX	  256u
#define SL_VERITY_DIGEST_MAX	  64u
#define SL_VERITY_ALGORITHM_MAX	  32u /* the superblock field, NUL included */
#define SL_VERITY_BLOCK_MIN	  512u
#define SL_VERITY_BLOCK_MAX	  (512u * 1024u) /* cryptsetup's limit */
#define SL_VERITY_MAX_LEVELS	  63u
#define SL_VERITY_HEX_MAX	  (2 * SL_VERITY_DIGEST_MAX + 1)

/*
 * Everything that defines a tree. Plain data: copy it freely.
 *
 * hash_offset is where the verity area starts on the hash device, in bytes: the
 * superblock when there is one (512-aligned), else the first hash block (a
 * multiple of hash_block_size).
 */
typedef struct SlVerityParams {
	uint32_t hash_type;			 /* 0: Chrome OS format, 1: normal */
	char algorithm[SL_VERITY_ALGORITHM_MAX]; /* "sha1", "sha256" or "sha512" */
	uint32_t data_block_size;		 /* bytes, power of two, 512..512 KiB */
	uint32_t hash_block_size;		 /* bytes, power of two, 512..512 KiB */
	uint64_t data_blocks;			 /* number of data blocks, >= 1 */
	uint64_t hash_offset;			 /* bytes on the hash device */
	bool superblock;			 /* a superblock at hash_offset */
	SlUuid uuid;				 /* stored in the superblock only */
	uint16_t salt_size;			 /* <= SL_VERITY_SALT_MAX */
	uint8_t salt[SL_VERITY_SALT_MAX];
} SlVerityParams;

/* veritysetup's defaults: format 1, sha256, 4096-byte blocks, a superblock at offset
 * 0, no salt, null UUID, data_blocks 0 (to be set). */
void sl_verity_params_init(SlVerityParams *p);

/* Digest size in bytes of a supported algorithm, 0 for any other name. */
size_t sl_verity_digest_size(const char *algorithm);

/*
 * Check the parameters on their own: known hash type and algorithm, block sizes,
 * salt size, data_blocks >= 1, the hash offset's alignment, and that the tree fits
 * in 64-bit byte offsets. -EOPNOTSUPP for an unknown type or algorithm, -EBADMSG
 * for anything else (the detail message names the field).
 */
int sl_verity_params_validate(const SlVerityParams *p) _wur_;

/*
 * Where the tree lives on the hash device (cryptsetup hash_levels(), kernel
 * verity_ctr()). Level 0 holds the digests of the data blocks; the top level is
 * one block whose digest is the root hash; on disk the top level comes first.
 * Block numbers are in hash_block_size units from the start of the hash device.
 */
typedef struct SlVerityLayout {
	size_t digest_size;	   /* bytes of one digest */
	size_t digest_stride;	   /* bytes per entry: padded to a power of two in format 1 */
	unsigned per_block_bits;   /* log2 of the entries in one hash block */
	unsigned levels;	   /* 0 when there is a single data block */
	uint64_t hash_start_block; /* first hash block (the table's <hash_start_block>) */
	uint64_t level_block[SL_VERITY_MAX_LEVELS];  /* first block of each level */
	uint64_t level_blocks[SL_VERITY_MAX_LEVELS]; /* blocks in each level */
	uint64_t hash_blocks;			     /* all levels together */
	uint64_t hash_area_end;			     /* bytes: end of the last hash block */
	uint64_t data_area_size;		     /* bytes: data_blocks * data_block_size */
} SlVerityLayout;

/* Validates p (as above) and computes its layout. */
int sl_verity_layout(const SlVerityParams *p, SlVerityLayout *ret) _wur_;

/*
 * Check that the data area fits in a data device of data_size bytes and the
 * verity area (superblock and tree) in a hash device of hash_size bytes; with
 * same_device, also that the hash area starts after the data area. -EBADMSG with
 * a message naming the shortfall ("truncated?"), -EINVAL for an overlap.
 */
int sl_verity_check_sizes(const SlVerityParams *p, uint64_t data_size, uint64_t hash_size,
			  bool same_device) _wur_;

/*
 * Decode and validate a superblock from untrusted bytes (len >= 512; only the first
 * 512 are read). On success *ret holds every field, with superblock = true and
 * hash_offset = 0 (the caller knows where it read it). Refuses a short buffer, a
 * bad signature, a version other than 1, an unknown hash type or algorithm, block
 * sizes that are not powers of two in 512..512 KiB, a salt over 256 bytes, zero or
 * overflowing data_blocks, and non-zero reserved bytes. *ret is untouched on failure.
 */
int sl_verity_superblock_decode(const void *buf, size_t len, SlVerityParams *ret) _wur_;

/* Encode p's superblock into out (validates p first). */
int sl_verity_superblock_encode(const SlVerityParams *p,
				uint8_t out[static SL_VERITY_SUPERBLOCK_SIZE]) _wur_;

/* What the kernel does when a block does not match (dm-verity optional arguments). */
typedef enum SlVerityOnCorruption {
	SL_VERITY_CORRUPTION_EIO,     /* the kernel's default: the read fails */
	SL_VERITY_CORRUPTION_IGNORE,  /* ignore_corruption: log only */
	SL_VERITY_CORRUPTION_RESTART, /* restart_on_corruption */
	SL_VERITY_CORRUPTION_PANIC,   /* panic_on_corruption */
} SlVerityOnCorruption;

typedef enum SlVerityOnError {
	SL_VERITY_ERROR_EIO,	 /* default */
	SL_VERITY_ERROR_RESTART, /* restart_on_error (Linux 6.12+) */
	SL_VERITY_ERROR_PANIC,	 /* panic_on_error (Linux 6.12+) */
} SlVerityOnError;

typedef struct SlVerityTableOptions {
	SlVerityOnCorruption on_corruption;
	SlVerityOnError on_error;
	bool ignore_zero_blocks;
	bool check_at_most_once;
	const char *root_hash_sig_key_desc; /* borrowed; NULL: no signature */
} SlVerityTableOptions;

/*
 * Render the dm-verity table line (SPEC.md §1.5, kernel verity.rst):
 *
 *   0 <sectors> verity <type> <data_dev> <hash_dev> <data_bs> <hash_bs> <blocks>
 *     <hash_start_block> <alg> <root hex> <salt hex|-> [<#args> <args>...]
 *
 * data_dev and hash_dev are paths or MAJOR:MINOR (no whitespace); root_hash has
 * the algorithm's digest size. opts may be NULL (no optional arguments). The
 * optional-argument count counts tokens. *ret_line is a new string owned by the
 * caller, without a trailing newline. -EINVAL for a bad argument.
 */
int sl_verity_table_line(const SlVerityParams *p, const char *data_dev, const char *hash_dev,
			 const uint8_t *root_hash, size_t root_hash_size,
			 const SlVerityTableOptions *opts, char **ret_line) _wur_;

/* ---- Hashing (verity_dep: OpenSSL) ---- */

/*
 * Build the tree of the data_blocks blocks at the start of data_fd and write it
 * (after the superblock, when p->superblock) to hash_fd at p->hash_offset, as
 * veritysetup format does: the bytes between the superblock and the first hash
 * block, and all padding, are written as zeros. A regular hash file grows as
 * needed. data_fd and hash_fd may refer to the same file or device; the hash area
 * must then start after the data area. threads: 0 = the online CPUs.
 * On success the root hash (digest_size bytes) goes to ret_root.
 */
int sl_verity_format(int data_fd, int hash_fd, const SlVerityParams *p, unsigned threads,
		     uint8_t ret_root[static SL_VERITY_DIGEST_MAX]) _wur_;

typedef enum SlVerityArea {
	SL_VERITY_AREA_NONE,
	SL_VERITY_AREA_DATA, /* a data block */
	SL_VERITY_AREA_HASH, /* a hash block, or the bytes around the superblock */
} SlVerityArea;

/* The first corrupted block, in verification order: top of the tree down. */
typedef struct SlVerityCorruption {
	SlVerityArea area;
	uint64_t block;	 /* data block number, or hash block number on the hash device */
	unsigned level;	 /* hash blocks: tree level (0 = leaves) */
	uint64_t offset; /* byte offset of the block on its device */
} SlVerityCorruption;

/*
 * Verify the data and hash areas against root_hash (root_hash_size must be the
 * digest size). Every hash block is checked against its parent from the top down,
 * then every data block against level 0; the zero padding between the superblock
 * and the first hash block is checked too. Returns 0 when everything matches,
 * -EUCLEAN when something does not: *ret_bad (may be NULL) then names the first
 * corrupted block and the detail message says it in words. Other errors as above.
 */
int sl_verity_verify(int data_fd, int hash_fd, const SlVerityParams *p, const uint8_t *root_hash,
		     size_t root_hash_size, unsigned threads, SlVerityCorruption *ret_bad) _wur_;

/* The default thread count: the online CPUs, at least 1. */
unsigned sl_verity_default_threads(void);
