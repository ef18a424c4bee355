/* SPDX-License-Identifier: MIT */
/*
 * Releases (DESIGN.md, "Updates"): one version YYYYMM.DD.N made of the compressed
 * /usr image, its verity tree and the signed UKI, described by release.json and
 * signed with the Ed25519 release key as release.json.sig.
 *
 * release.json.sig holds the raw 64-byte Ed25519 signature (RFC 8032, "pure"
 * Ed25519, no pre-hash) over the exact bytes of release.json. It verifies with
 *   openssl pkeyutl -verify -pubin -inkey release.pub -rawin \
 *       -in release.json -sigfile release.json.sig
 * Keys are PEM: release.key (PKCS#8 private key), release.pub (SubjectPublicKeyInfo),
 * as `slate keys create` writes them.
 *
 * Errors: -EKEYREJECTED a signature that does not verify; -EBADMSG a key file that
 * is not an Ed25519 key; -ENOENT and other system errors as they come.
 */
#pragma once

#include <stdio.h>

#include "slate/macros.h"

#define SL_RELEASE_SIGNATURE_SIZE 64
#define SL_RELEASE_MANIFEST_MAX	  (1u << 20) /* a manifest larger than this is refused */

/* Sign data with the Ed25519 private key in key_path (PEM). */
int sl_release_sign(const char *key_path, const void *data, size_t len,
		    uint8_t ret_sig[static SL_RELEASE_SIGNATURE_SIZE]) _wur_;

/* Verify sig over data with the Ed25519 public key in pub_path (PEM). 0 or
 * -EKEYREJECTED. */
int sl_release_verify(const char *pub_path, const void *data, size_t len,
		      const uint8_t sig[static SL_RELEASE_SIGNATURE_SIZE]) _wur_;

typedef struct SlReleaseArtifact {
	const char *role; /* "usr", "usr-verity", "uki", ... (borrowed) */
	const char *file; /* file name in the release directory (borrowed) */
	uint64_t size;
	uint8_t sha256[32];
} SlReleaseArtifact;

/* The dm-verity parameters of the /usr image, so that a node can check a slot
 * against the signed manifest without trusting the unsigned superblock. */
typedef struct SlReleaseVerity {
	const char *algorithm; /* "sha256" */
	uint32_t hash_type;
	uint32_t data_block_size;
	uint32_t hash_block_size;
	uint64_t data_blocks;
	uint64_t hash_offset;
	const char *salt_hex; /* borrowed */
	const char *uuid;     /* borrowed, superblock UUID */
} SlReleaseVerity;

typedef struct SlReleaseManifest {
	const char *id;		  /* IMAGE_ID */
	const char *version;	  /* YYYYMM.DD.N */
	const char *channel;	  /* stable, beta, alpha */
	const char *architecture; /* "x86-64" (the DPS/UAPI name) */
	const char *root_hash;	  /* lowercase hex */
	int64_t created;	  /* seconds since the epoch (SOURCE_DATE_EPOCH) */
	SlReleaseVerity verity;
	const SlReleaseArtifact *artifacts;
	size_t n_artifacts;
} SlReleaseManifest;

/*
 * Write m as release.json: a JSON object with keys in a fixed order, so the same
 * release gives the same bytes. Fields: format ("slate-release-1"), id, version,
 * nodeImageVersion ("SlateContainerLinux-<version>"), channel, architecture,
 * rootHash, created (RFC 3339 UTC), verity {...}, artifacts [{role, file, size,
 * sha256}].
 */
int sl_release_manifest_write(FILE *f, const SlReleaseManifest *m) _wur_;
