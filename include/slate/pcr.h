/* SPDX-License-Identifier: MIT */
/*
 * TPM PCR 11 of a Unified Kernel Image as systemd-stub measures it, and the
 * values after each boot phase systemd-pcrphase adds (SPEC.md §2.2, §2.3).
 *
 * The stub measures, in the canonical order of its own version, every known
 * section that is present and not empty (except .pcrsig): first the section
 * name with one NUL, then VirtualSize bytes of its contents as loaded (zeroes
 * past SizeOfRawData), each as PCR = H(PCR || H(bytes)) in every bank. The
 * order differs between stub versions, so the predictor reads the version from
 * the UKI's .sdmagic section ("#### LoaderInfo: systemd-stub 257.13 ####").
 *
 * Errors: -EBADMSG the UKI is not one the stub would measure predictably
 * (no .linux, two sections of one name, a name a stub would match by prefix),
 * -EOPNOTSUPP a stub version Slate does not know or sections whose measurement
 * depends on the machine (.profile, .dtbauto, .hwids, .efifw), -E2BIG a section
 * over SL_PE_MAX_IMAGE_SIZE, -ENOMEM.
 */
#pragma once

#include "slate/macros.h"
#include "slate/pe.h"

typedef enum SlPcrBank {
	SL_PCR_SHA1,
	SL_PCR_SHA256,
	SL_PCR_SHA384,
	SL_PCR_SHA512,
	_SL_PCR_BANK_MAX,
} SlPcrBank;

#define SL_PCR_DIGEST_MAX 64

/* "sha1", "sha256", ... and the digest size of a bank. */
const char *sl_pcr_bank_name(SlPcrBank bank);
size_t sl_pcr_bank_size(SlPcrBank bank);

/* One PCR's value in every bank. */
typedef struct SlPcrValue {
	uint8_t bank[_SL_PCR_BANK_MAX][SL_PCR_DIGEST_MAX];
} SlPcrValue;

/* One measured section: name, and size bytes of which the first len come from data
 * (borrowed) and the rest are zeroes. */
typedef struct SlPcrSection {
	char name[9];
	const uint8_t *data;
	size_t len;
	uint64_t size;
} SlPcrSection;

/* The phases: after the stub only (""), then the words systemd-pcrphase extends. */
#define SL_PCR11_N_PHASES 5
extern const char *const sl_pcr11_phases[SL_PCR11_N_PHASES];

/* The oldest and newest systemd-stub versions whose section order Slate knows. */
#define SL_PCR_STUB_MIN 252
#define SL_PCR_STUB_MAX 257

#define SL_PCR11_MAX_SECTIONS 16

typedef struct SlPcr11Prediction {
	char stub_version[64]; /* from .sdmagic, e.g. "257.13-1~deb13u1"; "" if forced */
	unsigned stub_major;   /* the order used */
	size_t n_sections;     /* measured, in measurement order */
	SlPcrSection sections[SL_PCR11_MAX_SECTIONS];
	SlPcrValue phases[SL_PCR11_N_PHASES]; /* after the stub, enter-initrd, ... */
} SlPcr11Prediction;

/*
 * The systemd-stub version of a UKI from its .sdmagic section. *ret_major is
 * the leading number. -EBADMSG when there is no systemd-stub LoaderInfo.
 */
int sl_pcr_stub_version(const SlPe *pe, char *out, size_t cap, unsigned *ret_major) _wur_;

/*
 * Pick the sections a systemd-stub of major version stub_major measures, in its
 * order. Pointers go into pe's buffer. -EOPNOTSUPP for an unknown version.
 */
int sl_pcr11_select(const SlPe *pe, unsigned stub_major, SlPcrSection *ret, size_t *ret_n) _wur_;

/*
 * Extend PCR 11 from zero over the sections, then over each phase word. The
 * zeroes past a section's len are hashed from a small static block, never
 * allocated. -E2BIG (before anything is hashed) for a section larger than
 * SL_PE_MAX_IMAGE_SIZE, which no loader would map.
 */
int sl_pcr11_compute(const SlPcrSection *sections, size_t n,
		     SlPcrValue ret[static SL_PCR11_N_PHASES]) _wur_;

/*
 * All of it for a decoded UKI: the stub version (or stub_major when it is not
 * 0, for a UKI without .sdmagic or to override it), the sections, the values.
 */
int sl_pcr11_predict(const SlPe *pe, unsigned stub_major, SlPcr11Prediction *ret) _wur_;
