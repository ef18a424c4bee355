/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: PCR 11 prediction as `slate pcr predict` runs it on an untrusted
 * UKI: decode the PE, then predict with the stub version from .sdmagic and with
 * every version Slate knows (252..257). A prediction must agree with the
 * sections selected for it, and those must lie inside the decoded buffer.
 */
#include "slate/pcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Sets of sections larger than this are selected but not hashed: a decoded UKI
 * may ask for up to SL_PE_MAX_IMAGE_SIZE of zeroes, which is correct and slow
 * (test-pcr checks the zero fill); hashing it here would only stall the fuzzer.
 */
#define MAX_HASHED ((uint64_t)256 << 10)

static bool same_sections(const SlPcrSection *a, const SlPcrSection *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!streq(a[i].name, b[i].name) || a[i].data != b[i].data ||
		    a[i].len != b[i].len || a[i].size != b[i].size)
			return false;
	return true;
}

/* The sections a stub of major measures; false when refused or too large to hash. */
static bool select_checked(const SlPe *pe, unsigned major, SlPcrSection *s, size_t *n)
{
	uint64_t total = 0;

	if (sl_pcr11_select(pe, major, s, n) < 0)
		return false;
	if (*n == 0 || *n > SL_PCR11_MAX_SECTIONS || !streq(s[0].name, ".linux"))
		__builtin_trap();
	for (size_t i = 0; i < *n; i++) {
		if (s[i].size == 0 || s[i].size > SL_PE_MAX_IMAGE_SIZE || s[i].len > s[i].size)
			__builtin_trap();
		if (s[i].data < pe->data || s[i].len > pe->size ||
		    (size_t)(s[i].data - pe->data) > pe->size - s[i].len)
			__builtin_trap();
		total += s[i].size;
	}
	return total <= MAX_HASHED;
}

static void predict_version(const SlPe *pe, unsigned major)
{
	SlPcrSection s[SL_PCR11_MAX_SECTIONS];
	SlPcrValue v[SL_PCR11_N_PHASES];
	SlPcr11Prediction p;
	size_t n;

	if (!select_checked(pe, major, s, &n))
		return;
	/* Selected and small enough: prediction cannot fail and must hash just these. */
	if (sl_pcr11_predict(pe, major, &p) < 0 || p.stub_major != major || p.n_sections != n ||
	    !same_sections(p.sections, s, n))
		__builtin_trap();
	if (sl_pcr11_compute(s, n, v) < 0 || memcmp(v, p.phases, sizeof(v)) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SlPcrSection s[SL_PCR11_MAX_SECTIONS];
	SlPcr11Prediction p;
	char version[64];
	unsigned major;
	size_t n;
	SlPe pe;

	if (sl_pe_decode(data, size, &pe) < 0)
		return 0;
	for (unsigned v = SL_PCR_STUB_MIN; v <= SL_PCR_STUB_MAX; v++)
		predict_version(&pe, v);

	/* The version the UKI names itself, as `slate pcr predict` uses by default. */
	if (sl_pcr_stub_version(&pe, version, sizeof(version), &major) < 0)
		return 0;
	if (major < SL_PCR_STUB_MIN || major > SL_PCR_STUB_MAX) {
		if (sl_pcr11_predict(&pe, 0, &p) >= 0)
			__builtin_trap();
		return 0;
	}
	if (!select_checked(&pe, major, s, &n))
		return 0;
	if (sl_pcr11_predict(&pe, 0, &p) < 0 || p.stub_major != major ||
	    !streq(p.stub_version, version) || !same_sections(p.sections, s, n))
		__builtin_trap();
	return 0;
}
