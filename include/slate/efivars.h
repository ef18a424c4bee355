/* SPDX-License-Identifier: MIT */
/*
 * UEFI variables for Secure Boot: EFI signature lists (ESL) and the OVMF variable
 * store file (OVMF_VARS*.fd), SPEC.md §3.4 and §3.5.
 *
 * The variable store is an edk2 firmware volume holding an authenticated
 * variable store (edk2 MdeModulePkg/Include/Guid/VariableFormat.h) followed by
 * the fault-tolerant-write (FTW) working block and spare area. Slate reads such a
 * file strictly (it is untrusted input: a template or a store a VM has used),
 * and writes one with PK, KEK and db enrolled so that Secure Boot is enforced
 * from the first boot.
 *
 * Nothing here does I/O: decoders take the caller's buffer and point into it.
 *
 * Errors: -EBADMSG malformed (the detail names the field and offset),
 * -EOPNOTSUPP a valid volume of a kind Slate does not write (a store without
 * authenticated variables, an FV extension header), -E2BIG the variables do not
 * fit, -ENOMEM.
 */
#pragma once

#include <time.h>

#include "slate/macros.h"
#include "slate/uuid.h"

/* UEFI 2.10 §8.2 variable attributes. */
#define SL_EFI_VARIABLE_NON_VOLATILE			      0x00000001u
#define SL_EFI_VARIABLE_BOOTSERVICE_ACCESS		      0x00000002u
#define SL_EFI_VARIABLE_RUNTIME_ACCESS			      0x00000004u
#define SL_EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS 0x00000020u
/* NV|BS|RT|TIME_BASED_AUTHENTICATED_WRITE: PK, KEK, db, dbx (SPEC.md §3.4). */
#define SL_EFI_VARIABLE_SECURE_BOOT_POLICY 0x27u

/* Well-known GUIDs (text order). */
extern const SlUuid sl_efi_global_variable_guid;	 /* 8be4df61-...: PK, KEK */
extern const SlUuid sl_efi_image_security_database_guid; /* d719b2cb-...: db, dbx */
extern const SlUuid sl_efi_cert_x509_guid;		 /* a5c059a1-... */
extern const SlUuid sl_efi_cert_sha256_guid;		 /* c1c41626-... */
/* The owner GUID Slate puts into the signature lists it writes. */
extern const SlUuid sl_efi_slate_owner_guid;

/* EFI_TIME (UEFI 2.10 §8.3), 16 bytes on disk. */
#define SL_EFI_TIME_SIZE 16

/* The EFI_TIME of t (UTC, whole seconds, Pad/Nanosecond/TimeZone/Daylight zero).
 * -ERANGE before 1970 or after 9999. */
int sl_efi_time_from_unix(time_t t, uint8_t out[static SL_EFI_TIME_SIZE]) _wur_;

/* ---- EFI signature lists (UEFI 2.10 §32.4.1) ---- */

/* One EFI_SIGNATURE_DATA inside a list. Pointers borrow the caller's buffer. */
typedef struct SlEslEntry {
	SlUuid type;  /* the list's SignatureType */
	SlUuid owner; /* SignatureOwner */
	const uint8_t *data;
	size_t size;
} SlEslEntry;

/*
 * Append to *buf (a malloc'd buffer of *len bytes, may be NULL/0) one signature
 * list holding the DER certificate der (X509 type, one entry). On failure *buf and
 * *len are unchanged.
 */
int sl_esl_append_x509(uint8_t **buf, size_t *len, const SlUuid *owner, const uint8_t *der,
		       size_t der_len) _wur_;

/*
 * Decode a concatenation of signature lists (a PK/KEK/db/dbx value). On success
 * *ret_entries is a new array (caller frees) of *ret_n entries pointing into data.
 * An empty buffer is valid (no entries). Caps: 4096 entries.
 */
int sl_esl_decode(const uint8_t *data, size_t len, SlEslEntry **ret_entries, size_t *ret_n) _wur_;

/* ---- The OVMF variable store file ---- */

/* edk2 VARIABLE_HEADER State values. A variable is live in the added state, or
 * added with a deletion in progress (edk2 keeps it until the new copy exists). */
#define SL_VAR_ADDED		     0x3f
#define SL_VAR_IN_DELETED_TRANSITION 0xfe
#define SL_VAR_DELETED		     0xfd
#define SL_VAR_HEADER_VALID_ONLY     0x7f

typedef struct SlEfiVariable {
	uint64_t offset; /* of the variable header in the file */
	uint8_t state;
	uint32_t attributes;
	uint64_t monotonic_count;
	uint8_t timestamp[SL_EFI_TIME_SIZE]; /* EFI_TIME as stored */
	uint32_t pubkey_index;
	SlUuid vendor;
	const uint8_t *name; /* UTF-16LE with its NUL, name_size bytes; borrowed */
	uint32_t name_size;
	const uint8_t *data; /* borrowed */
	uint32_t data_size;
} SlEfiVariable;

typedef struct SlVarStore {
	uint64_t fv_length;	 /* = the file size */
	uint32_t fv_attributes;	 /* EFI_FVB_ATTRIBUTES_2 of the volume */
	uint32_t block_size;	 /* from the block map (one entry) */
	uint32_t n_blocks;	 /* block_size * n_blocks = fv_length */
	uint64_t store_offset;	 /* of the variable store header */
	uint32_t store_size;	 /* incl. its 28-byte header */
	uint64_t free_offset;	 /* first byte after the last variable */
	uint64_t ftw_offset;	 /* FTW working block header */
	uint64_t ftw_queue_size; /* bytes of write queue after it */
	bool ftw_pending;	 /* the write queue holds records */
	SlEfiVariable *vars;	 /* owned; every header found, dead ones too */
	size_t n_vars;
} SlVarStore;

/* Variable headers in one store, dead ones included (Debian's 256 KiB store holds
 * at most about 4300 of the smallest). */
#define SL_VARSTORE_MAX_VARS 8192u

/*
 * Decode and validate an OVMF variable store file (SPEC.md §3.5): firmware
 * volume header and checksum, block map, authenticated variable store header,
 * every variable (bounds, sizes, NUL-terminated UTF-16 names, no live
 * duplicates but an added copy beside one in deleted transition, at most
 * SL_VARSTORE_MAX_VARS headers), free space all 0xff, the FTW working block
 * header and its CRC.
 * On success *ret owns an array pointing into buf; free with sl_varstore_done().
 */
int sl_varstore_decode(const uint8_t *buf, size_t len, SlVarStore *ret) _wur_;

void sl_varstore_done(SlVarStore *s);

/* True for SL_VAR_ADDED and SL_VAR_ADDED & SL_VAR_IN_DELETED_TRANSITION. */
bool sl_efi_variable_live(const SlEfiVariable *v);

/* True when v's name is the ASCII string name and its vendor GUID is vendor. */
bool sl_efi_variable_is(const SlEfiVariable *v, const char *name, const SlUuid *vendor);

/*
 * v's name as printable ASCII into out (cap bytes); other UTF-16 code units are
 * written as \uXXXX. Truncates to fit. Returns out.
 */
char *sl_efi_variable_name(const SlEfiVariable *v, char *out, size_t cap);

/* Secure Boot keys to enroll: DER certificates, borrowed. */
typedef struct SlSecureBootCert {
	const uint8_t *der;
	size_t len;
} SlSecureBootCert;

typedef struct SlSecureBootKeys {
	SlSecureBootCert pk;	     /* exactly one */
	const SlSecureBootCert *kek; /* n_kek >= 1 */
	size_t n_kek;
	const SlSecureBootCert *db; /* n_db >= 1 */
	size_t n_db;
	SlUuid owner;	  /* SignatureOwner of every entry */
	time_t timestamp; /* TimeStamp of PK, KEK, db */
} SlSecureBootKeys;

/*
 * Write a new store from the template tmpl: the template's live variables
 * except PK, KEK, db, SecureBootEnable and CustomMode (dead ones are dropped,
 * as edk2's reclaim does), then PK, KEK and db (attributes 0x27, one X509
 * signature list per certificate), SecureBootEnable=1 and CustomMode=0
 * (attributes 0x03). The firmware volume header and the FTW areas are copied
 * unchanged. Deterministic: the same inputs give the same bytes. A template
 * whose FTW queue holds records is refused (-EBADMSG): edk2 could replay them
 * over the new store. On success *ret (caller frees) has tmpl_len bytes.
 */
int sl_varstore_enroll(const uint8_t *tmpl, size_t tmpl_len, const SlSecureBootKeys *keys,
		       uint8_t **ret, size_t *ret_len) _wur_;

/* ---- X.509 certificates (OpenSSL) ---- */

/*
 * Parse one X.509 certificate in PEM or DER (exactly one: several PEM blocks or
 * trailing bytes are refused). *ret_der (caller frees) is its DER encoding;
 * *ret_not_before its notBefore time, when ret_not_before is not NULL.
 */
int sl_x509_load(const uint8_t *buf, size_t len, uint8_t **ret_der, size_t *ret_der_len,
		 time_t *ret_not_before) _wur_;

/* The subject of a DER certificate in RFC 2253 form (caller frees *ret). */
int sl_x509_subject(const uint8_t *der, size_t len, char **ret) _wur_;
