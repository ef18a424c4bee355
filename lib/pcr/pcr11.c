/* SPDX-License-Identifier: MIT */
/*
 * PCR 11 prediction for systemd-stub UKIs (SPEC.md §2.2-2.3; systemd
 * src/fundamental/uki.h per version, src/boot/efi/stub.c, src/boot/measure.c).
 */
#include <openssl/evp.h>

#include "slate/error.h"
#include "slate/pcr.h"
#include "slate/uki.h"

const char *const sl_pcr11_phases[SL_PCR11_N_PHASES] = {
	"",
	"enter-initrd",
	"enter-initrd:leave-initrd",
	"enter-initrd:leave-initrd:sysinit",
	"enter-initrd:leave-initrd:sysinit:ready",
};

static const char *const bank_names[_SL_PCR_BANK_MAX] = { "sha1", "sha256", "sha384", "sha512" };
static const size_t bank_sizes[_SL_PCR_BANK_MAX] = { 20, 32, 48, 64 };

const char *sl_pcr_bank_name(SlPcrBank bank)
{
	return bank < _SL_PCR_BANK_MAX ? bank_names[bank] : NULL;
}

size_t sl_pcr_bank_size(SlPcrBank bank)
{
	return bank < _SL_PCR_BANK_MAX ? bank_sizes[bank] : 0;
}

/*
 * The canonical measurement order of each stub version (uki.h's UnifiedSection
 * enum without .pcrsig, which is never measured).
 */
static const char *const order_252[] = { ".linux",  ".osrel", ".cmdline", ".initrd",
					 ".splash", ".dtb",   ".pcrpkey", NULL };
static const char *const order_254[] = { ".linux", ".osrel", ".cmdline", ".initrd",  ".splash",
					 ".dtb",   ".uname", ".sbat",	 ".pcrpkey", NULL };
static const char *const order_256[] = { ".linux", ".osrel",   ".cmdline", ".initrd",
					 ".ucode", ".splash",  ".dtb",	   ".uname",
					 ".sbat",  ".pcrpkey", NULL };
/* v257 also knows .profile (multi-profile UKIs) and .dtbauto/.hwids (chosen by the
 * machine's hardware IDs): their measurement depends on the boot, so refused. */
static const char *const order_257[] = { ".linux", ".osrel",   ".cmdline", ".initrd",
					 ".ucode", ".splash",  ".dtb",	   ".uname",
					 ".sbat",  ".pcrpkey", NULL };
static const char *const machine_dependent_257[] = { ".profile", ".dtbauto", ".hwids", ".efifw",
						     NULL };

static const char *const *order_for(unsigned major)
{
	switch (major) {
	case 252:
	case 253:
		return order_252;
	case 254:
	case 255:
		return order_254;
	case 256:
		return order_256;
	case 257:
		return order_257;
	default:
		return NULL;
	}
}

int sl_pcr_stub_version(const SlPe *pe, char *out, size_t cap, unsigned *ret_major)
{
	char info[128];
	const char *v;
	unsigned major = 0;
	size_t n;

	if (!sl_pe_section_find(pe, ".sdmagic"))
		return sl_errorf(-EBADMSG, "no .sdmagic section: not a systemd-stub UKI (give the "
					   "stub version)");
	/* "#### LoaderInfo: systemd-stub 257.13-1~deb13u1 ####", decoded by lib/uki. */
	if (sl_uki_stub_version(pe, info, sizeof(info)) < 0 ||
	    !(v = startswith(info, "systemd-stub ")))
		return sl_errorf(-EBADMSG, ".sdmagic has no systemd-stub LoaderInfo");
	n = strcspn(v, " ");
	for (size_t i = 0; i < n && v[i] >= '0' && v[i] <= '9' && major < 100000; i++)
		major = major * 10 + (unsigned)(v[i] - '0');
	if (n == 0 || major == 0)
		return sl_errorf(-EBADMSG, ".sdmagic: unreadable systemd-stub version");
	if (n >= cap)
		return sl_errorf(-E2BIG, ".sdmagic: systemd-stub version longer than %zu bytes",
				 cap - 1);
	memcpy(out, v, n);
	out[n] = 0;
	*ret_major = major;
	return 0;
}

/*
 * v252-v255 match section names by prefix and take the last match; later
 * versions compare whole names and take the first. Slate refuses every UKI in
 * which that difference could matter: two sections of one known name, or a
 * name that merely starts with a known one.
 */
static int check_unambiguous(const SlPe *pe, const char *known)
{
	size_t exact = 0;

	for (size_t i = 0; i < pe->n_sections; i++) {
		const char *name = pe->sections[i].name;

		if (streq(name, known))
			exact++;
		else if (startswith(name, known))
			return sl_errorf(-EBADMSG,
					 "section %s would be taken for %s by some stub versions",
					 name, known);
	}
	if (exact > 1)
		return sl_errorf(-EBADMSG, "%zu sections named %s", exact, known);
	return 0;
}

int sl_pcr11_select(const SlPe *pe, unsigned stub_major, SlPcrSection *ret, size_t *ret_n)
{
	const char *const *order = order_for(stub_major);
	size_t n = 0;
	int r;

	if (!order)
		return sl_errorf(-EOPNOTSUPP,
				 "systemd-stub %u: Slate knows the measurements of %u to %u",
				 stub_major, SL_PCR_STUB_MIN, SL_PCR_STUB_MAX);
	if (stub_major >= 257)
		for (const char *const *m = machine_dependent_257; *m; m++)
			if (sl_pe_section_find(pe, *m))
				return sl_errorf(-EOPNOTSUPP,
						 "the UKI has a %s section: what the stub measures "
						 "depends on the machine or the chosen profile",
						 *m);
	for (const char *const *k = order; *k; k++) {
		const SlPeSection *s;

		r = check_unambiguous(pe, *k);
		if (r < 0)
			return r;
		s = sl_pe_section_find(pe, *k);
		if (!s || s->virtual_size == 0)
			continue;
		if (n == SL_PCR11_MAX_SECTIONS)
			return -E2BIG;
		snprintf(ret[n].name, sizeof(ret[n].name), "%s", *k);
		ret[n].data = sl_pe_section_data(pe, s, &ret[n].len);
		ret[n].size = s->virtual_size;
		n++;
	}
	if (n == 0 || !streq(ret[0].name, ".linux"))
		return sl_errorf(-EBADMSG, "no .linux section: not a UKI");
	*ret_n = n;
	return 0;
}

SL_DEFINE_CLEANUP(EVP_MD_CTX *, EVP_MD_CTX_free)

static const EVP_MD *bank_md(SlPcrBank b)
{
	switch (b) {
	case SL_PCR_SHA1:
		return EVP_sha1();
	case SL_PCR_SHA256:
		return EVP_sha256();
	case SL_PCR_SHA384:
		return EVP_sha384();
	default:
		return EVP_sha512();
	}
}

/* H(data[0..len) || zeroes up to size): a section as the loader maps it. */
static int digest_section(const EVP_MD *md, const uint8_t *data, size_t len, uint64_t size,
			  uint8_t *out)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static const uint8_t zeroes[4096];
	uint64_t left;

	if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL))
		return -ENOMEM;
	len = MIN((uint64_t)len, size);
	if (len && !EVP_DigestUpdate(ctx, data, len))
		return -EIO;
	for (left = size - len; left > 0;) {
		size_t n = (size_t)MIN(left, sizeof(zeroes));

		if (!EVP_DigestUpdate(ctx, zeroes, n))
			return -EIO;
		left -= n;
	}
	return EVP_DigestFinal_ex(ctx, out, NULL) ? 0 : -EIO;
}

/* TPM2_PCR_Extend: PCR = H(PCR || H(event)). */
static int extend(SlPcrValue *pcr, const uint8_t *data, size_t len, uint64_t size)
{
	for (SlPcrBank b = 0; b < _SL_PCR_BANK_MAX; b++) {
		const EVP_MD *md = bank_md(b);
		uint8_t buf[2 * SL_PCR_DIGEST_MAX];
		size_t ds = bank_sizes[b];
		int r;

		memcpy(buf, pcr->bank[b], ds);
		r = digest_section(md, data, len, size, buf + ds);
		if (r >= 0)
			r = digest_section(md, buf, 2 * ds, 2 * ds, pcr->bank[b]);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * A section is at most what a loader maps: sl_pe_decode() keeps every decoded
 * section inside SizeOfImage <= SL_PE_MAX_IMAGE_SIZE; sections given directly
 * get the same cap, so no caller can make the zero-fill hash gigabytes.
 */
static int check_sections(const SlPcrSection *sections, size_t n)
{
	if (n > 0 && !sections)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const SlPcrSection *s = &sections[i];

		if (s->size > SL_PE_MAX_IMAGE_SIZE)
			return sl_errorf(-E2BIG,
					 "section %.8s: VirtualSize 0x%llx exceeds the cap of "
					 "0x%x (1 GiB)",
					 s->name, (unsigned long long)s->size,
					 SL_PE_MAX_IMAGE_SIZE);
		if (!s->data && MIN((uint64_t)s->len, s->size) > 0)
			return -EINVAL;
	}
	return 0;
}

int sl_pcr11_compute(const SlPcrSection *sections, size_t n,
		     SlPcrValue ret[static SL_PCR11_N_PHASES])
{
	static const char *const words[] = { "enter-initrd", "leave-initrd", "sysinit", "ready" };
	SlPcrValue pcr = { 0 }; /* PCR 11 starts at zero */
	int r;

	/* All sizes first, so that nothing is hashed for a refused set. */
	r = check_sections(sections, n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const char *name = sections[i].name;

		/* The name with its NUL, then the contents: two events. */
		r = extend(&pcr, (const uint8_t *)name, strlen(name) + 1, strlen(name) + 1);
		if (r >= 0)
			r = extend(&pcr, sections[i].data, sections[i].len, sections[i].size);
		if (r < 0)
			return r;
	}
	ret[0] = pcr;
	for (size_t p = 0; p < ARRAY_SIZE(words); p++) {
		/* systemd-pcrphase: the word without a NUL. */
		r = extend(&pcr, (const uint8_t *)words[p], strlen(words[p]), strlen(words[p]));
		if (r < 0)
			return r;
		ret[p + 1] = pcr;
	}
	return 0;
}

int sl_pcr11_predict(const SlPe *pe, unsigned stub_major, SlPcr11Prediction *ret)
{
	SlPcr11Prediction p = { 0 };
	int r;

	if (stub_major == 0) {
		r = sl_pcr_stub_version(pe, p.stub_version, sizeof(p.stub_version), &p.stub_major);
		if (r < 0)
			return r;
	} else {
		p.stub_major = stub_major;
	}
	r = sl_pcr11_select(pe, p.stub_major, p.sections, &p.n_sections);
	if (r >= 0)
		r = sl_pcr11_compute(p.sections, p.n_sections, p.phases);
	if (r < 0)
		return r;
	*ret = p;
	return 0;
}
