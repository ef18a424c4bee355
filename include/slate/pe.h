/* SPDX-License-Identifier: MIT */
/*
 * PE/COFF images as UEFI loads them (systemd-stub, systemd-boot, Linux's EFI
 * stub, Unified Kernel Images): strict decoding, adding sections, appending a
 * certificate table, and the Authenticode image digest.
 *
 * Sources: Microsoft "PE Format" (sections "MS-DOS Stub", "COFF File Header",
 * "Optional Header", "Section Table", "The Attribute Certificate Table") and
 * "Windows Authenticode Portable Executable Signature Format"; edk2
 * DxeImageVerificationLib HashPeImage(); SPEC.md §2.1 and §3.
 *
 * Decoding takes the caller's buffer and never reads outside it. Every offset
 * and size from the file is checked against its enclosing region with
 * overflow-safe arithmetic, and every count has a cap, before anything is used.
 * A decoded SlPe points into the caller's buffer (borrowed): it stays valid as
 * long as that buffer does and is not modified.
 *
 * Errors: -EBADMSG malformed (the detail message names the field and offset),
 * -E2BIG over a cap (file size, SizeOfImage, sections, certificate entries),
 * -EOPNOTSUPP an optional-header magic other than PE32 / PE32+, -EINVAL bad
 * arguments.
 */
#pragma once

#include "slate/macros.h"

/* Caps. The PE format allows 65535 sections; Windows and edk2 load at most 96. */
#define SL_PE_MAX_SECTIONS  96
#define SL_PE_MAX_CERTS	    16
#define SL_PE_MAX_DATA_DIRS 16
/* Offsets in a PE are 32-bit; a UKI with a large initrd stays far below this. */
#define SL_PE_MAX_SIZE ((size_t)1 << 30)
/*
 * SizeOfImage is what a loader allocates and zero-fills (edk2's PE/COFF loader,
 * systemd-boot loading a UKI), and systemd-stub measures each section's
 * VirtualSize bytes of that memory: zeroes past SizeOfRawData are hashed too.
 * An image no larger than SL_PE_MAX_SIZE in the file has no business asking
 * for more memory than that, so the cap is the same 1 GiB: it bounds what
 * anything derived from the section table (a PCR prediction) may hash.
 */
#define SL_PE_MAX_IMAGE_SIZE ((uint32_t)1 << 30)

#define SL_PE_MAGIC_PE32     0x10b
#define SL_PE_MAGIC_PE32PLUS 0x20b

#define SL_PE_MACHINE_I386    0x014c
#define SL_PE_MACHINE_X86_64  0x8664
#define SL_PE_MACHINE_ARM64   0xaa64
#define SL_PE_MACHINE_RISCV64 0x5064

#define SL_PE_SUBSYSTEM_EFI_APPLICATION 10

/* COFF Characteristics. */
#define SL_PE_FILE_LOCAL_SYMS_STRIPPED 0x0008
/* DllCharacteristics. */
#define SL_PE_DLL_NX_COMPAT 0x0100

/* Section Characteristics. */
#define SL_PE_SCN_CNT_CODE		 0x00000020
#define SL_PE_SCN_CNT_INITIALIZED_DATA	 0x00000040
#define SL_PE_SCN_CNT_UNINITIALIZED_DATA 0x00000080
#define SL_PE_SCN_MEM_EXECUTE		 0x20000000
#define SL_PE_SCN_MEM_READ		 0x40000000
#define SL_PE_SCN_MEM_WRITE		 0x80000000

/* Data directory indices. */
#define SL_PE_DIR_SECURITY  4 /* the certificate table: "VirtualAddress" is a FILE offset */
#define SL_PE_DIR_BASERELOC 5

/* WIN_CERTIFICATE. */
#define SL_PE_WIN_CERT_REVISION_2_0	     0x0200
#define SL_PE_WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002
#define SL_PE_WIN_CERT_HEADER_SIZE	     8

typedef struct SlPeSection {
	char name[9]; /* the 8-byte Name up to its first NUL, NUL-terminated */
	uint32_t virtual_size;
	uint32_t virtual_address; /* RVA */
	uint32_t raw_size;	  /* SizeOfRawData */
	uint32_t raw_offset;	  /* PointerToRawData (file offset) */
	uint32_t characteristics;
} SlPeSection;

typedef struct SlPeDataDir {
	uint32_t address; /* an RVA, except for SL_PE_DIR_SECURITY (a file offset) */
	uint32_t size;
} SlPeDataDir;

/* One WIN_CERTIFICATE entry of the attribute certificate table. */
typedef struct SlPeCert {
	uint32_t offset; /* file offset of the 8-byte header; bCertificate follows it */
	uint32_t length; /* dwLength: header + certificate, unpadded */
	uint16_t revision;
	uint16_t type;
} SlPeCert;

typedef struct SlPe {
	const uint8_t *data; /* borrowed: the decoded buffer */
	size_t size;

	/* Where the headers are (file offsets), for code that patches them. */
	uint32_t pe_offset;	       /* e_lfanew: "PE\0\0" */
	uint32_t opt_offset;	       /* optional header */
	uint16_t opt_size;	       /* SizeOfOptionalHeader */
	uint32_t section_table_offset; /* first 40-byte section header */

	/* COFF file header. */
	uint16_t machine;
	uint32_t timestamp;
	uint32_t symbol_table_offset; /* PointerToSymbolTable (deprecated; 0 in images) */
	uint32_t n_symbols;
	uint16_t characteristics;

	/* Optional header. */
	uint16_t magic; /* SL_PE_MAGIC_PE32 or SL_PE_MAGIC_PE32PLUS */
	uint32_t entry_point;
	uint64_t image_base;
	uint32_t section_alignment;
	uint32_t file_alignment;
	uint16_t major_image_version, minor_image_version;
	uint32_t size_of_image;
	uint32_t size_of_headers;
	uint32_t checksum;
	uint16_t subsystem;
	uint16_t dll_characteristics;
	uint32_t n_data_dirs; /* NumberOfRvaAndSizes, at most SL_PE_MAX_DATA_DIRS */
	SlPeDataDir data_dirs[SL_PE_MAX_DATA_DIRS];

	/* Sections in section-table order. */
	size_t n_sections;
	SlPeSection sections[SL_PE_MAX_SECTIONS];
	/* End of the headers and of every section's raw data: where trailing data starts. */
	uint32_t raw_end;

	/* The attribute certificate table: both 0 when the image is not signed. */
	uint32_t cert_table_offset;
	uint32_t cert_table_size;
	size_t n_certs;
	SlPeCert certs[SL_PE_MAX_CERTS];
} SlPe;

/*
 * Decode and validate a PE32 or PE32+ image. Checks, in order: DOS header and
 * e_lfanew, "PE\0\0", COFF header, optional header magic and size, alignments
 * (powers of two, FileAlignment <= SectionAlignment), data directory count,
 * SizeOfImage at most SL_PE_MAX_IMAGE_SIZE (-E2BIG), section table inside
 * SizeOfHeaders inside the file, every section's raw data inside the file and
 * after the headers, raw data of different sections not overlapping, virtual
 * ranges ascending, non-overlapping and inside SizeOfImage (VirtualSize, or
 * SizeOfRawData when it is 0), and the certificate table (8-byte aligned, after all section
 * data, ending at the end of the file, well-formed WIN_CERTIFICATE entries).
 * *ret points into data. Nothing is written to *ret on failure.
 */
int sl_pe_decode(const void *data, size_t size, SlPe *ret) _wur_;

/*
 * Read the file at path (at most SL_PE_MAX_SIZE bytes) and decode it. The
 * caller owns *ret_data, which *ret points into. Errors: sl_read_file()'s
 * (-E2BIG over the cap, -errno) and sl_pe_decode()'s. Nothing is written to
 * the out-parameters on failure.
 */
int sl_pe_read_file(const char *path, uint8_t **ret_data, size_t *ret_size, SlPe *ret) _wur_;

/*
 * The section whose name equals name exactly (names are at most 8 bytes); the
 * last one when several match, as systemd-stub takes the last match. NULL when
 * there is none.
 */
const SlPeSection *sl_pe_section_find(const SlPe *pe, const char *name);

/*
 * The bytes of a section as its file provides them: min(VirtualSize,
 * SizeOfRawData) bytes at PointerToRawData (validated by sl_pe_decode). When
 * VirtualSize is larger, the loader fills the rest with zeroes. Points into the
 * decoded buffer, also when the length is 0 (then at its start: PointerToRawData
 * of a section without raw data may be anything).
 */
const uint8_t *sl_pe_section_data(const SlPe *pe, const SlPeSection *s, size_t *ret_len);

/* The bCertificate payload of a certificate entry (dwLength - 8 bytes). */
const uint8_t *sl_pe_cert_data(const SlPe *pe, const SlPeCert *c, size_t *ret_len);

/*
 * The Authenticode image digest (PE Authenticode spec; SPEC.md §3.2) with the
 * named hash ("sha256", "sha1", "sha384", "sha512"): the headers without the
 * CheckSum field and the certificate-table directory entry, every section's raw
 * data in file order, then any trailing data up to the certificate table. The
 * digest is of the file exactly as it is (pesign -h): no padding is added.
 * ret must hold 64 bytes; *ret_len gets the digest size. -EOPNOTSUPP for an
 * unknown hash name.
 */
int sl_pe_authenticode_digest(const SlPe *pe, const char *hash, uint8_t *ret, size_t *ret_len)
	_wur_;

/* A file range the Authenticode digest covers. */
typedef struct SlPeRange {
	uint32_t offset;
	uint32_t size;
} SlPeRange;

#define SL_PE_MAX_RANGES (SL_PE_MAX_SECTIONS + 4)

/* The ranges sl_pe_authenticode_digest() hashes, in hashing order. Returns their count. */
size_t sl_pe_authenticode_ranges(const SlPe *pe, SlPeRange ranges[static SL_PE_MAX_RANGES]);

/*
 * Editing. An SlPeImage owns a growing copy of an image and keeps its decoded
 * view current: every edit re-validates the result with sl_pe_decode(), so an
 * edit that would produce a malformed image fails and leaves the image as it
 * was. Free with sl_pe_image_free() (NULL is fine).
 */
typedef struct SlPeImage {
	uint8_t *buf; /* owned */
	size_t len;
	SlPe pe; /* decoded view of buf */
} SlPeImage;

/* Copy and decode data. */
int sl_pe_image_new(const void *data, size_t size, SlPeImage **ret) _wur_;
void sl_pe_image_free(SlPeImage *img);
SL_DEFINE_CLEANUP(SlPeImage *, sl_pe_image_free)

/*
 * Remove a COFF symbol and string table that ends the file (as old stubs carry
 * and image files should not): truncate it, zero PointerToSymbolTable and
 * NumberOfSymbols, set IMAGE_FILE_LOCAL_SYMS_STRIPPED. A table that is not at the
 * end of the file is left alone. Returns 1 if it stripped one, 0 if not.
 */
int sl_pe_image_strip_symbols(SlPeImage *img) _wur_;

/*
 * Move every section's raw data to FileAlignment-aligned offsets with
 * FileAlignment-multiple sizes (zero padding), shifting later data, and round
 * SizeOfHeaders up to FileAlignment (ukify does the same before adding
 * sections). Refuses signed images.
 */
int sl_pe_image_align_raw(SlPeImage *img) _wur_;

/*
 * Append a section named name (at most 8 bytes) holding len bytes of data:
 * header after the last section header (there must be room before
 * SizeOfHeaders), raw data at the next FileAlignment boundary after the current
 * end of the file, SizeOfRawData rounded up to FileAlignment, VirtualAddress the
 * next SectionAlignment boundary after the last section, VirtualSize = len.
 * Updates NumberOfSections, SizeOfImage and SizeOfInitializedData (or
 * SizeOfCode with SL_PE_SCN_CNT_CODE). Refuses signed images; -ENOSPC when the
 * headers have no room for another section header, -E2BIG over the caps.
 */
int sl_pe_image_add_section(SlPeImage *img, const char *name, const void *data, size_t len,
			    uint32_t characteristics) _wur_;

/*
 * Replace the contents of section index in place: data must fit in its
 * SizeOfRawData (-ENOSPC otherwise); the rest of the raw data is zeroed and
 * VirtualSize becomes len.
 */
int sl_pe_image_replace_section(SlPeImage *img, size_t index, const void *data, size_t len) _wur_;

/* Rename section index (name: 1 to 8 bytes). */
int sl_pe_image_rename_section(SlPeImage *img, size_t index, const char *name) _wur_;

/* Set the optional header's CheckSum field. */
void sl_pe_image_set_checksum(SlPeImage *img, uint32_t checksum);

/* Set DllCharacteristics. */
void sl_pe_image_set_dll_characteristics(SlPeImage *img, uint16_t value);

/* The PE checksum (the "image checksum" that sbsign writes; Authenticode ignores it). */
uint32_t sl_pe_checksum(const SlPe *pe);

/*
 * Zero-pad the file to a multiple of 8 bytes, as sbsign does before it hashes
 * and signs (SPEC.md §3.2): the padding becomes trailing data and is hashed.
 * Refuses signed images (their padding is fixed by the signature).
 */
int sl_pe_image_pad8(SlPeImage *img) _wur_;

/*
 * Append one WIN_CERTIFICATE (revision 2.0, type PKCS_SIGNED_DATA) holding
 * der: at the end of the existing certificate table, or as a new table at the
 * end of the (8-byte aligned) file. The entry is padded to 8 bytes and the
 * security directory's Size counts the padding. Existing signatures stay valid:
 * the Authenticode digest does not cover the table or its directory entry.
 */
int sl_pe_image_append_signature(SlPeImage *img, const void *der, size_t len) _wur_;

/* Remove the certificate table (truncate the file, clear the directory entry). */
int sl_pe_image_remove_signatures(SlPeImage *img) _wur_;
