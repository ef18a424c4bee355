/* SPDX-License-Identifier: MIT */
/*
 * Unified Kernel Images (UAPI Group "Unified Kernel Image" spec; SPEC.md §2.1):
 * systemd-stub with the kernel, initrd, command line and os-release added as
 * PE sections.
 *
 * sl_uki_build() lays the image out exactly as systemd's ukify (v257) does, so
 * that the same inputs give the same file, byte for byte, and deterministically:
 *   1. the stub's trailing COFF symbol table is stripped and its sections' raw
 *      data re-aligned to FileAlignment (old stubs need both);
 *   2. sections are appended in ukify's order .osrel .cmdline .dtb .uname
 *      .splash .linux .initrd, each at the next SectionAlignment boundary after
 *      the last section, raw data at the next FileAlignment boundary;
 *   3. the stub's own .sbat section is replaced in place by the merged SBAT
 *      (stub's entries, the kernel's, then ours) when it has room for it; when
 *      not (Debian 12's stub, where ukify makes overlapping sections), the
 *      stub's section is renamed .osbat and the merged one appended, so the
 *      image stays valid and has one .sbat;
 *   4. NX_COMPAT is cleared when the kernel does not declare it, CheckSum is 0.
 *
 * Errors: -EBADMSG a malformed stub or input, -EINVAL a signed stub or bad
 * arguments, -ENOSPC no room in the stub's headers for the section headers,
 * -E2BIG over the PE size cap.
 */
#pragma once

#include "slate/macros.h"
#include "slate/pe.h"

/* A borrowed byte string. */
typedef struct SlUkiBlob {
	const uint8_t *data;
	size_t len;
} SlUkiBlob;

#define SL_UKI_MAX_INITRDS 64

/* The SBAT entry ukify adds when none is given (UAPI UKI spec). */
#define SL_UKI_DEFAULT_SBAT                                                             \
	"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" \
	"uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/\n"

typedef struct SlUkiInput {
	SlUkiBlob stub;		  /* required: linuxx64.efi.stub */
	SlUkiBlob kernel;	  /* required: the kernel, .linux (a bzImage / EFI stub kernel) */
	const SlUkiBlob *initrds; /* concatenated, each padded to 4 bytes when several */
	size_t n_initrds;
	SlUkiBlob cmdline; /* bytes as they go into .cmdline; empty: none */
	SlUkiBlob osrel;   /* os-release; empty: none */
	const char *uname; /* NULL: read from the kernel's x86 setup header */
	SlUkiBlob sbat;	   /* SBAT CSV to merge; empty: SL_UKI_DEFAULT_SBAT */
	SlUkiBlob splash;  /* BMP; empty: none */
	SlUkiBlob dtb;	   /* devicetree; empty: none */
} SlUkiInput;

/* Build a UKI. *ret is a new buffer owned by the caller. */
int sl_uki_build(const SlUkiInput *in, uint8_t **ret, size_t *ret_len) _wur_;

/*
 * The kernel release ("6.12.118+deb13-cloud-amd64") from an x86 bzImage's setup
 * header (Documentation/arch/x86/boot.rst: "HdrS" at 0x202, kernel_version at
 * 0x20e), as ukify finds it. -ENODATA when the kernel has no such string.
 */
int sl_uki_kernel_release(const uint8_t *kernel, size_t len, char *ret, size_t ret_size) _wur_;

/*
 * ukify's SBAT merge: the header line "sbat,1,...", then every entry (all lines
 * but the first) of each input that starts with "sbat,", one per line, then a
 * NUL. Inputs are the stub's and kernel's .sbat sections (NUL padding ignored)
 * and the SBAT text given. *ret is a new NUL-terminated string; *ret_len counts
 * the final NUL, which is part of the section.
 */
int sl_uki_merge_sbat(const SlUkiBlob *inputs, size_t n, char **ret, size_t *ret_len) _wur_;

/*
 * The "systemd-stub 257.13-1~deb13u1" part of a stub's .sdmagic section
 * ("#### LoaderInfo: ... ####"). -ENODATA when absent.
 */
int sl_uki_stub_version(const SlPe *pe, char *ret, size_t ret_size) _wur_;
