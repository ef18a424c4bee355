/* SPDX-License-Identifier: MIT */
#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/pcr.h"
#include "test.h"

static SlPcrSection sec(const char *name, const char *data)
{
	SlPcrSection s = { .data = (const uint8_t *)data,
			   .len = strlen(data),
			   .size = strlen(data) };

	snprintf(s.name, sizeof(s.name), "%s", name);
	return s;
}

static const char *hex(const SlPcrValue *v, SlPcrBank b)
{
	static char out[2 * SL_PCR_DIGEST_MAX + 1];

	sl_hex_encode(v->bank[b], sl_pcr_bank_size(b), out);
	return out;
}

/* SPEC.md §2.3, checked there against systemd-measure 252. */
TEST(spec_worked_example)
{
	SlPcrSection s[4] = {
		sec(".linux", "FAKEKERNEL\n"),
		sec(".osrel", "ID=demo\nVERSION_ID=1\nPRETTY_NAME=\"Demo OS 1\"\n"),
		sec(".cmdline", "root=/dev/vda2 ro quiet"),
		sec(".initrd", "INITRD"),
	};
	SlPcrValue v[SL_PCR11_N_PHASES];

	ASSERT_OK(sl_pcr11_compute(s, 4, v));
	ASSERT_STREQ(hex(&v[0], SL_PCR_SHA256),
		     "bd89aaa1f6c71c3127580a1999954458873db92c0dfb20da4a0e6578ceaffb24");
	ASSERT_STREQ(hex(&v[1], SL_PCR_SHA256),
		     "f4ad984a1a0c2d3d8297a6c1c686b47e2fe629a04daf94264736b72e4e77b2f3");
	ASSERT_STREQ(hex(&v[2], SL_PCR_SHA256),
		     "e590e31a1d3a0c17235bcc4f8f9be584c6aca76b132c1db5f5f9a17de4deca82");
	ASSERT_STREQ(hex(&v[3], SL_PCR_SHA256),
		     "47c7a435c5ab32b022152fc8851cd68d9e563fd735b39e9b5e3914f9e2d0227a");
	ASSERT_STREQ(hex(&v[4], SL_PCR_SHA256),
		     "adc1f197c55051179c8c030b9a1e93ab10cece9f3e59960a638d54a3142ea0c1");
}

TEST(zero_fill_past_raw_data)
{
	/* VirtualSize beyond the file's bytes: the loader's zeroes are measured. */
	static const uint8_t padded[8] = { 'a', 'b', 0, 0, 0, 0, 0, 0 };
	SlPcrSection a = { ".linux", padded, 8, 8 }, b = { ".linux", padded, 2, 8 };
	SlPcrValue va[SL_PCR11_N_PHASES], vb[SL_PCR11_N_PHASES];

	ASSERT_OK(sl_pcr11_compute(&a, 1, va));
	ASSERT_OK(sl_pcr11_compute(&b, 1, vb));
	ASSERT_MEMEQ(&va[0], &vb[0], sizeof(va[0]));
	b.size = 7;
	ASSERT_OK(sl_pcr11_compute(&b, 1, vb));
	ASSERT_TRUE(memcmp(&va[0], &vb[0], sizeof(va[0])) != 0);
}

/* The zeroes are hashed in blocks: a fill across several blocks equals the bytes. */
TEST(zero_fill_across_blocks)
{
	const size_t size = 3 * 4096 + 5;
	_cleanup_free_ uint8_t *full = calloc(1, size);
	SlPcrSection a = { ".initrd", NULL, size, size }, b = { ".initrd", NULL, 3, size };
	SlPcrValue va[SL_PCR11_N_PHASES], vb[SL_PCR11_N_PHASES];

	ASSERT_TRUE(full != NULL);
	memcpy(full, "abc", 3);
	a.data = b.data = full;
	ASSERT_OK(sl_pcr11_compute(&a, 1, va));
	ASSERT_OK(sl_pcr11_compute(&b, 1, vb));
	ASSERT_MEMEQ(va, vb, sizeof(va));
}

/* No section is hashed beyond what a loader maps; nothing is hashed for a refused set. */
TEST(refuse_section_over_cap)
{
	SlPcrSection s[2] = { sec(".linux", "KERNEL"), { ".initrd", (const uint8_t *)"x", 1, 0 } };
	SlPcrValue v[SL_PCR11_N_PHASES];

	sl_error_clear();
	s[1].size = (uint64_t)SL_PE_MAX_IMAGE_SIZE + 1;
	ASSERT_ERR(sl_pcr11_compute(s, 2, v), -E2BIG);
	ASSERT_STREQ(
		sl_error_message(-E2BIG),
		"section .initrd: VirtualSize 0x40000001 exceeds the cap of 0x40000000 (1 GiB)");
	s[1].size = UINT64_MAX;
	ASSERT_ERR(sl_pcr11_compute(s, 2, v), -E2BIG);
	s[1].data = NULL;
	s[1].size = 1;
	ASSERT_ERR(sl_pcr11_compute(s, 2, v), -EINVAL);
	s[1].len = 0; /* all zeroes: no data needed */
	ASSERT_OK(sl_pcr11_compute(s, 2, v));
}

TEST(bank_names)
{
	ASSERT_STREQ(sl_pcr_bank_name(SL_PCR_SHA1), "sha1");
	ASSERT_EQ(sl_pcr_bank_size(SL_PCR_SHA384), 48);
	ASSERT_TRUE(sl_pcr_bank_name(_SL_PCR_BANK_MAX) == NULL);
}

/*
 * UKIs made from tests/vectors/pe/two-sections.pe with lib/pe's editor: a
 * .sdmagic naming the stub, then the given sections, each holding "<name> data".
 */
static const char magic_257[] = "#### LoaderInfo: systemd-stub 257.13-1~deb13u1 ####";

static SlPeImage *make_uki(const char *magic, const char *const *names)
{
	_cleanup_free_ uint8_t *buf = NULL;
	SlPeImage *img = NULL;
	char path[4096], data[64];
	size_t len;

	snprintf(path, sizeof(path), "%s/tests/vectors/pe/two-sections.pe", sl_test_srcdir());
	if (sl_read_file(path, 1u << 20, &buf, &len) < 0 || sl_pe_image_new(buf, len, &img) < 0)
		sl_test_fail(__FILE__, __LINE__, "cannot load %s", path);
	if (magic && sl_pe_image_add_section(img, ".sdmagic", magic, strlen(magic) + 1,
					     SL_PE_SCN_MEM_READ) < 0)
		sl_test_fail(__FILE__, __LINE__, "cannot add .sdmagic");
	for (; *names; names++) {
		int r;

		snprintf(data, sizeof(data), "%s data", *names);
		r = sl_pe_image_add_section(img, *names, data, strlen(data),
					    SL_PE_SCN_MEM_READ | SL_PE_SCN_CNT_INITIALIZED_DATA);
		if (r < 0)
			sl_test_fail(__FILE__, __LINE__, "cannot add %s", *names);
	}
	return img;
}

/* What `slate pcr predict` does with a file's bytes: decode, then predict. */
static int predict(const uint8_t *buf, size_t len, unsigned stub, SlPcr11Prediction *ret)
{
	SlPe pe;
	int r;

	sl_error_clear();
	r = sl_pe_decode(buf, len, &pe);
	if (r >= 0)
		r = sl_pcr11_predict(&pe, stub, ret);
	return r;
}

/* The refusal with its error and message; the message goes into the TAP output. */
#define ASSERT_REFUSED(buf, len, stub, err, words)                                            \
	do {                                                                                  \
		SlPcr11Prediction _p;                                                         \
		int _r = predict(buf, len, stub, &_p);                                        \
		const char *_m = _r < 0 ? sl_error_message(_r) : "(accepted)";                \
		printf("# %s:%d refused: %s\n", __FILE__, __LINE__, _m);                      \
		if (_r != (err) || !strstr(_m, words))                                        \
			sl_test_fail(__FILE__, __LINE__, "got %d '%s', want %d '%s'", _r, _m, \
				     (int)(err), words);                                      \
	} while (0)

TEST(predict_from_uki)
{
	static const char *const names[] = { ".pcrsig", ".cmdline", ".osbat", ".linux",
					     ".osrel",	".sbat",    NULL };
	_cleanup_(sl_pe_image_freep) SlPeImage *img = make_uki(magic_257, names);
	SlPcrSection want[4];
	SlPcrValue v[SL_PCR11_N_PHASES];
	SlPcr11Prediction p;

	ASSERT_OK(predict(img->buf, img->len, 0, &p));
	ASSERT_STREQ(p.stub_version, "257.13-1~deb13u1");
	ASSERT_EQ(p.stub_major, 257);
	/* The stub's order, not the file's; .pcrsig and unknown sections are not measured. */
	ASSERT_EQ(p.n_sections, 4);
	want[0] = sec(".linux", ".linux data");
	want[1] = sec(".osrel", ".osrel data");
	want[2] = sec(".cmdline", ".cmdline data");
	want[3] = sec(".sbat", ".sbat data");
	for (size_t i = 0; i < 4; i++) {
		ASSERT_STREQ(p.sections[i].name, want[i].name);
		ASSERT_UEQ(p.sections[i].size, want[i].size);
		ASSERT_MEMEQ(p.sections[i].data, want[i].data, want[i].len);
	}
	ASSERT_OK(sl_pcr11_compute(want, 4, v));
	ASSERT_MEMEQ(p.phases, v, sizeof(v));

	/* Measured as 252: .sbat is not measured, so the value differs. */
	ASSERT_OK(predict(img->buf, img->len, 252, &p));
	ASSERT_EQ(p.n_sections, 3);
	ASSERT_STREQ(p.stub_version, "");
	ASSERT_TRUE(memcmp(&p.phases[0], &v[0], sizeof(v[0])) != 0);
}

TEST(refuse_duplicate_sections)
{
	static const char *const linux2[] = { ".linux", ".osrel", ".linux", NULL };
	static const char *const cmdline2[] = { ".linux", ".cmdline", ".cmdline", NULL };
	static const char *const sbat2[] = { ".linux", ".sbat", ".sbat", NULL };
	_cleanup_(sl_pe_image_freep) SlPeImage *a = make_uki(magic_257, linux2);
	_cleanup_(sl_pe_image_freep) SlPeImage *b = make_uki(magic_257, cmdline2);
	_cleanup_(sl_pe_image_freep) SlPeImage *c = make_uki(magic_257, sbat2);

	ASSERT_REFUSED(a->buf, a->len, 0, -EBADMSG, "2 sections named .linux");
	ASSERT_REFUSED(b->buf, b->len, 0, -EBADMSG, "2 sections named .cmdline");
	ASSERT_REFUSED(c->buf, c->len, 0, -EBADMSG, "2 sections named .sbat");
	/* A 252 stub does not measure .sbat: two of them change nothing it measures. */
	{
		SlPcr11Prediction p;

		ASSERT_OK(predict(c->buf, c->len, 252, &p));
	}
}

TEST(refuse_prefix_names)
{
	/* v252-v255 match a known name as a prefix of the 8-byte Name. */
	static const char *const linuxx[] = { ".linux", ".linuxx", NULL };
	static const char *const initrd2[] = { ".linux", ".initrd", ".initrd2", NULL };
	static const char *const only_prefix[] = { ".linux", ".osrelX", NULL };
	static const char *const dtbauto[] = { ".linux", ".dtbauto", NULL };
	_cleanup_(sl_pe_image_freep) SlPeImage *a = make_uki(magic_257, linuxx);
	_cleanup_(sl_pe_image_freep) SlPeImage *b = make_uki(magic_257, initrd2);
	_cleanup_(sl_pe_image_freep) SlPeImage *c = make_uki(magic_257, only_prefix);
	_cleanup_(sl_pe_image_freep) SlPeImage *d = make_uki(magic_257, dtbauto);

	ASSERT_REFUSED(a->buf, a->len, 0, -EBADMSG,
		       "section .linuxx would be taken for .linux by some stub versions");
	ASSERT_REFUSED(b->buf, b->len, 0, -EBADMSG, "section .initrd2 would be taken for .initrd");
	ASSERT_REFUSED(c->buf, c->len, 0, -EBADMSG, "section .osrelX would be taken for .osrel");
	/* A 252 stub would measure .dtbauto as .dtb; a 257 one chooses it per machine. */
	ASSERT_REFUSED(d->buf, d->len, 252, -EBADMSG, "section .dtbauto would be taken for .dtb");
	ASSERT_REFUSED(d->buf, d->len, 0, -EOPNOTSUPP, "has a .dtbauto section");
}

TEST(refuse_machine_dependent_sections)
{
	static const char *const profile[] = { ".linux", ".osrel", ".profile", NULL };
	static const char *const hwids[] = { ".linux", ".hwids", NULL };
	static const char *const efifw[] = { ".linux", ".efifw", NULL };
	_cleanup_(sl_pe_image_freep) SlPeImage *a = make_uki(magic_257, profile);
	_cleanup_(sl_pe_image_freep) SlPeImage *b = make_uki(magic_257, hwids);
	_cleanup_(sl_pe_image_freep) SlPeImage *c = make_uki(magic_257, efifw);
	SlPcr11Prediction p;

	ASSERT_REFUSED(a->buf, a->len, 0, -EOPNOTSUPP,
		       "the UKI has a .profile section: what the stub measures depends on the "
		       "machine or the chosen profile");
	ASSERT_REFUSED(b->buf, b->len, 0, -EOPNOTSUPP, "has a .hwids section");
	ASSERT_REFUSED(c->buf, c->len, 0, -EOPNOTSUPP, "has a .efifw section");
	/* Stubs before 257 know no profiles: they ignore the section. */
	ASSERT_OK(predict(a->buf, a->len, 255, &p));
	ASSERT_EQ(p.n_sections, 2);
}

TEST(refuse_bad_stub_version)
{
	static const char *const lin[] = { ".linux", NULL };
	_cleanup_(sl_pe_image_freep) SlPeImage *none = make_uki(NULL, lin);
	_cleanup_(sl_pe_image_freep) SlPeImage *other =
		make_uki("#### LoaderInfo: systemd-boot 257 ####", lin);
	_cleanup_(sl_pe_image_freep) SlPeImage *old =
		make_uki("#### LoaderInfo: systemd-stub 251.4 ####", lin);
	_cleanup_(sl_pe_image_freep) SlPeImage *junk =
		make_uki("#### LoaderInfo: systemd-stub x257 ####", lin);
	SlPcr11Prediction p;

	ASSERT_REFUSED(none->buf, none->len, 0, -EBADMSG, "no .sdmagic section");
	ASSERT_OK(predict(none->buf, none->len, 257, &p)); /* --stub-version */
	ASSERT_REFUSED(other->buf, other->len, 0, -EBADMSG, "no systemd-stub LoaderInfo");
	ASSERT_REFUSED(old->buf, old->len, 0, -EOPNOTSUPP,
		       "systemd-stub 251: Slate knows the measurements of 252 to 257");
	ASSERT_REFUSED(junk->buf, junk->len, 0, -EBADMSG, "unreadable systemd-stub version");
	ASSERT_REFUSED(none->buf, none->len, 258, -EOPNOTSUPP, "systemd-stub 258");
}

TEST(refuse_without_linux)
{
	static const char *const no_linux[] = { ".osrel", ".cmdline", NULL };
	static const char *const lin[] = { ".osrel", ".linux", NULL };
	_cleanup_(sl_pe_image_freep) SlPeImage *a = make_uki(magic_257, no_linux);
	_cleanup_(sl_pe_image_freep) SlPeImage *b = make_uki(magic_257, lin);
	SlPeSection *s;

	ASSERT_REFUSED(a->buf, a->len, 0, -EBADMSG, "no .linux section: not a UKI");
	/* An empty .linux (VirtualSize 0) is skipped by the stub: no kernel. */
	s = &b->pe.sections[b->pe.n_sections - 1];
	ASSERT_STREQ(s->name, ".linux");
	sl_put_le32(b->buf + b->pe.section_table_offset + 40 * (b->pe.n_sections - 1) + 8, 0);
	ASSERT_REFUSED(b->buf, b->len, 0, -EBADMSG, "no .linux section: not a UKI");
}

/* Every proper prefix of a UKI is refused by the decoder, with a message. */
TEST(refuse_truncated)
{
	static const char *const names[] = { ".linux", ".osrel", ".cmdline", ".initrd", NULL };
	_cleanup_(sl_pe_image_freep) SlPeImage *img = make_uki(magic_257, names);
	_cleanup_free_ uint8_t *copy = malloc(img->len);
	SlPcr11Prediction p;

	ASSERT_OK(predict(img->buf, img->len, 0, &p));
	memcpy(copy, img->buf, img->len);
	for (size_t cut = 0; cut < img->len; cut++) {
		int r = predict(copy, cut, 0, &p);

		if (r >= 0 || !strcmp(sl_error_message(r), strerror(-r)))
			sl_test_fail(__FILE__, __LINE__, "cut to %zu bytes: %d '%s'", cut, r,
				     r < 0 ? sl_error_message(r) : "accepted");
	}
	ASSERT_REFUSED(copy, img->len - 1, 0, -EBADMSG, "outside the file");
	ASSERT_REFUSED(copy, 0x300, 0, -EBADMSG, "SizeOfHeaders 0x400 is past the end");
	ASSERT_REFUSED(copy, 10, 0, -EBADMSG, "shorter than a DOS header");
}

/*
 * A UKI asking for more memory than any loader gives it: refused by the decoder
 * before a VirtualSize of gigabytes could be measured as zeroes.
 */
TEST(refuse_huge_size_of_image)
{
	static const char *const names[] = { ".linux", ".osrel", NULL };
	_cleanup_(sl_pe_image_freep) SlPeImage *img = make_uki(magic_257, names);
	size_t linux_vsize = img->pe.section_table_offset + 40 * (img->pe.n_sections - 2) + 8;
	size_t soi = img->pe.opt_offset + 56;
	_cleanup_free_ uint8_t *b = malloc(img->len);

	ASSERT_STREQ(img->pe.sections[img->pe.n_sections - 2].name, ".linux");
	memcpy(b, img->buf, img->len);
	sl_put_le32(b + soi, 0xffffffff);
	ASSERT_REFUSED(b, img->len, 0, -E2BIG, "SizeOfImage 0xffffffff exceeds the cap");
	sl_put_le32(b + linux_vsize, 0xf0000000);
	ASSERT_REFUSED(b, img->len, 0, -E2BIG, "SizeOfImage 0xffffffff exceeds the cap");
	sl_put_le32(b + soi, SL_PE_MAX_IMAGE_SIZE + 1);
	ASSERT_REFUSED(b, img->len, 0, -E2BIG, "SizeOfImage 0x40000001 exceeds the cap");
	/* Under the cap, the section must still lie inside SizeOfImage. */
	sl_put_le32(b + soi, SL_PE_MAX_IMAGE_SIZE);
	ASSERT_REFUSED(b, img->len, 0, -EBADMSG, "VirtualSize 0xf0000000 ends past SizeOfImage");
}

/* A measured section whose header points outside the file or the image. */
TEST(refuse_sections_outside_the_file)
{
	static const char *const names[] = { ".linux", ".osrel", NULL };
	_cleanup_(sl_pe_image_freep) SlPeImage *img = make_uki(magic_257, names);
	/* .linux is the second-to-last section header: 8 VirtualSize, 12 VirtualAddress,
	 * 16 SizeOfRawData, 20 PointerToRawData. */
	size_t at = img->pe.section_table_offset + 40 * (img->pe.n_sections - 2);
	static const struct {
		uint32_t off, value;
		const char *words;
	} cases[] = {
		{ 20, 0x100000, "outside the file" },
		{ 20, 0xfffffe00, "outside the file" },
		{ 16, 0x7ffffe00, "outside the file" },
		{ 8, 0x100000, "SizeOfImage" },
		{ 8, 0xffffffff, "SizeOfImage" },
		{ 12, 0x100000, "SizeOfImage" },
		{ 12, 0x1000, "overlaps the previous section" },
		{ 20, 0x200, "overlaps the headers" },
	};
	_cleanup_free_ uint8_t *b = malloc(img->len);

	ASSERT_STREQ(img->pe.sections[img->pe.n_sections - 2].name, ".linux");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memcpy(b, img->buf, img->len);
		sl_put_le32(b + at + cases[i].off, cases[i].value);
		ASSERT_REFUSED(b, img->len, 0, -EBADMSG, cases[i].words);
	}
}
