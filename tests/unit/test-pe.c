/* SPDX-License-Identifier: MIT */
/*
 * lib/pe: decoding and validation against the vectors in tests/vectors/pe/
 * (made by make-pe.py, signed by sbsign, digests from pesign -h: see
 * regenerate.sh there), malformed images, and the editing operations.
 */
#include <openssl/evp.h>

#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/pe.h"
#include "test.h"

static uint8_t *read_vector(const char *name, size_t *ret_len)
{
	char path[4096];
	uint8_t *buf = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/tests/vectors/pe/%s", sl_test_srcdir(), name);
	r = sl_read_file(path, 1u << 20, &buf, ret_len);
	if (r < 0)
		sl_test_fail(__FILE__, __LINE__, "cannot read %s: %s", path, strerror(-r));
	return buf;
}

static void digest_hex(const SlPe *pe, char out[65])
{
	uint8_t d[64];
	size_t n;

	if (sl_pe_authenticode_digest(pe, "sha256", d, &n) < 0 || n != 32)
		sl_test_fail(__FILE__, __LINE__, "digest failed");
	sl_hex_encode(d, n, out);
}

TEST(vectors_digest_equals_pesign)
{
	_cleanup_free_ uint8_t *list = NULL;
	size_t list_len, n = 0;
	char *line, *save = NULL;

	list = read_vector("digests.txt", &list_len);
	for (line = strtok_r((char *)list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], want[65], got[65];
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len;
		SlPe pe;

		ASSERT_EQ(sscanf(line, "%127s %64s", name, want), 2);
		buf = read_vector(name, &len);
		sl_error_clear();
		if (sl_pe_decode(buf, len, &pe) < 0)
			sl_test_fail(__FILE__, __LINE__, "%s: %s", name,
				     sl_error_message(-EBADMSG));
		digest_hex(&pe, got);
		if (!streq(got, want))
			sl_test_fail(__FILE__, __LINE__, "%s: digest %s, pesign says %s", name, got,
				     want);
		n++;
	}
	ASSERT_TRUE(n >= 8);
}

/*
 * With fewer than five data directories there is no certificate-table entry to
 * skip. edk2's HashPeImage (what the firmware runs) then hashes from after
 * CheckSum to SizeOfHeaders; pesign skips 8 bytes at the entry's usual place
 * anyway, so few-dirs.pe is not in digests.txt. Slate follows the firmware.
 */
TEST(digest_without_security_directory)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t want[32], got[64];
	size_t len, n;
	EVP_MD_CTX *ctx;
	SlPe pe;

	buf = read_vector("few-dirs.pe", &len);
	ASSERT_OK(sl_pe_decode(buf, len, &pe));
	ASSERT_UEQ(pe.n_data_dirs, 4);
	ASSERT_OK(sl_pe_authenticode_digest(&pe, "sha256", got, &n));
	ctx = EVP_MD_CTX_new();
	ASSERT_TRUE(ctx);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, buf, pe.opt_offset + 64);
	EVP_DigestUpdate(ctx, buf + pe.opt_offset + 68, 0x400 - (pe.opt_offset + 68));
	EVP_DigestUpdate(ctx, buf + 0x400, len - 0x400);
	EVP_DigestFinal_ex(ctx, want, NULL);
	EVP_MD_CTX_free(ctx);
	ASSERT_UEQ(n, 32);
	ASSERT_MEMEQ(got, want, 32);
}

TEST(decode_fields)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len, dlen;
	const SlPeSection *s;
	const uint8_t *d;
	SlPe pe;

	buf = read_vector("two-sections.pe", &len);
	ASSERT_OK(sl_pe_decode(buf, len, &pe));
	ASSERT_UEQ(pe.machine, SL_PE_MACHINE_X86_64);
	ASSERT_UEQ(pe.magic, SL_PE_MAGIC_PE32PLUS);
	ASSERT_UEQ(pe.image_base, 0x140000000);
	ASSERT_UEQ(pe.section_alignment, 0x1000);
	ASSERT_UEQ(pe.file_alignment, 0x200);
	ASSERT_UEQ(pe.size_of_headers, 0x400);
	ASSERT_UEQ(pe.size_of_image, 0x3000);
	ASSERT_UEQ(pe.subsystem, SL_PE_SUBSYSTEM_EFI_APPLICATION);
	ASSERT_UEQ(pe.n_data_dirs, 16);
	ASSERT_UEQ(pe.n_sections, 2);
	ASSERT_UEQ(pe.raw_end, 0xa00);
	ASSERT_UEQ(pe.cert_table_size, 0);
	ASSERT_STREQ(pe.sections[0].name, ".text");
	ASSERT_STREQ(pe.sections[1].name, ".data");
	s = sl_pe_section_find(&pe, ".data");
	ASSERT_TRUE(s == &pe.sections[1]);
	ASSERT_UEQ(s->virtual_address, 0x2000);
	ASSERT_UEQ(s->virtual_size, 0x123);
	ASSERT_UEQ(s->raw_offset, 0x800);
	ASSERT_UEQ(s->raw_size, 0x200);
	d = sl_pe_section_data(&pe, s, &dlen);
	ASSERT_UEQ(dlen, 0x123);
	ASSERT_TRUE(d == buf + 0x800);
	ASSERT_TRUE(sl_pe_section_find(&pe, ".dat") == NULL);
	ASSERT_TRUE(sl_pe_section_find(&pe, ".data2") == NULL);

	free(buf);
	buf = read_vector("pe32.pe", &len);
	ASSERT_OK(sl_pe_decode(buf, len, &pe));
	ASSERT_UEQ(pe.magic, SL_PE_MAGIC_PE32);
	ASSERT_UEQ(pe.image_base, 0x400000);
	ASSERT_UEQ(pe.machine, SL_PE_MACHINE_I386);
}

TEST(decode_signed_by_sbsign)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len, clen;
	const uint8_t *c;
	SlPe pe;

	buf = read_vector("signed.pe", &len);
	ASSERT_OK(sl_pe_decode(buf, len, &pe));
	ASSERT_UEQ(pe.cert_table_offset, 0xa00);
	ASSERT_UEQ(pe.cert_table_offset + pe.cert_table_size, len);
	ASSERT_UEQ(pe.n_certs, 1);
	ASSERT_UEQ(pe.certs[0].revision, SL_PE_WIN_CERT_REVISION_2_0);
	ASSERT_UEQ(pe.certs[0].type, SL_PE_WIN_CERT_TYPE_PKCS_SIGNED_DATA);
	c = sl_pe_cert_data(&pe, &pe.certs[0], &clen);
	ASSERT_UEQ(clen, pe.certs[0].length - 8);
	ASSERT_UEQ(c[0], 0x30); /* DER SEQUENCE: ContentInfo */
	/* sbsign recomputes the PE checksum: ours agrees. */
	ASSERT_UEQ(sl_pe_checksum(&pe), pe.checksum);

	free(buf);
	buf = read_vector("signed-trailing.pe", &len);
	ASSERT_OK(sl_pe_decode(buf, len, &pe));
	ASSERT_UEQ(sl_pe_checksum(&pe), pe.checksum);
	/* sbsign padded trailing.pe (2661 bytes) to 2664 before the table. */
	ASSERT_UEQ(pe.cert_table_offset, 2664);
}

TEST(malformed_vectors_refused)
{
	static const struct {
		const char *name;
		int err;
		const char *words;
	} cases[] = {
		{ "bad-empty.pe", -EBADMSG, "shorter than a DOS header" },
		{ "bad-dos-only.pe", -EBADMSG, "e_lfanew" },
		{ "bad-truncated-coff.pe", -EBADMSG,
		  "PE header at 0x80 (e_lfanew) is past the end" },
		{ "bad-truncated-optional.pe", -EBADMSG, "optional header" },
		{ "bad-truncated-section-table.pe", -EBADMSG, "SizeOfHeaders" },
		{ "bad-truncated-sections.pe", -EBADMSG, "outside the file" },
		{ "bad-no-mz.pe", -EBADMSG, "MZ" },
		{ "bad-no-pe.pe", -EBADMSG, "PE\\0\\0" },
		{ "bad-lfanew.pe", -EBADMSG, "e_lfanew" },
		{ "bad-magic.pe", -EOPNOTSUPP, "magic 0x107" },
		{ "bad-opt-size.pe", -EBADMSG, "SizeOfOptionalHeader" },
		{ "bad-ndirs.pe", -EBADMSG, "NumberOfRvaAndSizes" },
		{ "bad-nsections.pe", -E2BIG, "NumberOfSections 65535" },
		{ "bad-nsections-headers.pe", -EBADMSG, "section table" },
		{ "bad-file-align.pe", -EBADMSG, "FileAlignment" },
		{ "bad-section-align.pe", -EBADMSG, "SectionAlignment" },
		{ "bad-section-outside.pe", -EBADMSG, "outside the file" },
		{ "bad-raw-overflow.pe", -EBADMSG, "outside the file" },
		{ "bad-overlap-raw.pe", -EBADMSG, "overlaps the data before it" },
		{ "bad-overlap-va.pe", -EBADMSG, "overlaps the previous section" },
		{ "bad-raw-in-headers.pe", -EBADMSG, "overlaps the headers" },
		{ "bad-size-of-image.pe", -EBADMSG, "SizeOfImage" },
		{ "bad-size-of-image-cap.pe", -E2BIG, "SizeOfImage 0x40001000 exceeds the cap" },
		{ "bad-cert-outside.pe", -EBADMSG, "points outside the file" },
		{ "bad-cert-overflow.pe", -EBADMSG, "points outside the file" },
		{ "bad-cert-misaligned.pe", -EBADMSG, "not 8-byte aligned" },
		{ "bad-cert-in-sections.pe", -EBADMSG, "overlaps headers or section data" },
		{ "bad-cert-entry-length.pe", -EBADMSG, "has length 0x100" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len;
		SlPe pe;
		int r;

		buf = read_vector(cases[i].name, &len);
		sl_error_clear();
		r = sl_pe_decode(buf, len, &pe);
		if (r != cases[i].err)
			sl_test_fail(__FILE__, __LINE__, "%s: got %d (%s), want %d", cases[i].name,
				     r, r < 0 ? sl_error_message(r) : "ok", cases[i].err);
		if (!strstr(sl_error_message(r), cases[i].words))
			sl_test_fail(__FILE__, __LINE__, "%s: message '%s' lacks '%s'",
				     cases[i].name, sl_error_message(r), cases[i].words);
	}
}

/* Every proper prefix of a valid image is refused, whatever the cut. */
TEST(every_truncation_refused)
{
	static const char *const names[] = { "two-sections.pe", "signed.pe", "small-align.pe" };

	for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len;
		SlPe pe;

		buf = read_vector(names[k], &len);
		ASSERT_OK(sl_pe_decode(buf, len, &pe));
		for (size_t cut = 0; cut < len; cut++) {
			_cleanup_free_ uint8_t *copy = malloc(cut ? cut : 1);

			memcpy(copy, buf, cut);
			if (sl_pe_decode(copy, cut, &pe) >= 0)
				sl_test_fail(__FILE__, __LINE__, "%s cut to %zu bytes was accepted",
					     names[k], cut);
		}
	}
}

/* Field-level corruption of a valid image: each one refused with its message. */
TEST(corrupted_fields_refused)
{
	_cleanup_free_ uint8_t *good = NULL;
	size_t len;
	SlPe pe;
	uint32_t opt, sec;
	static const struct {
		int where; /* 0: COFF, 1: optional header, 2: second section header */
		uint32_t off;
		int width;
		uint32_t value;
		const char *words;
	} cases[] = {
		{ 0, 2, 2, 97, "NumberOfSections 97" },
		{ 1, 32, 4, 0, "SectionAlignment" },
		{ 1, 36, 4, 0, "FileAlignment" },
		{ 1, 36, 4, 0x2000, "below FileAlignment" },
		{ 1, 60, 4, 0x100, "section table" },
		{ 1, 60, 4, 0xffffffff, "SizeOfHeaders" },
		{ 1, 56, 4, 0x200, "SizeOfImage" },
		{ 1, 108, 4, 17, "NumberOfRvaAndSizes 17" },
		{ 2, 12, 4, 0x1000, "overlaps the previous section" },
		{ 2, 12, 4, 0x200, "overlaps the headers" },
		{ 2, 20, 4, 0x600, "overlaps the data before it" },
		{ 2, 20, 4, 0x900, "outside the file" },
		{ 2, 16, 4, 0xfffffe00, "outside the file" },
		{ 2, 8, 4, 0x10000000, "SizeOfImage" },
	};

	good = read_vector("two-sections.pe", &len);
	ASSERT_OK(sl_pe_decode(good, len, &pe));
	opt = pe.opt_offset;
	sec = pe.section_table_offset + 40;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ uint8_t *b = malloc(len);
		uint32_t at = cases[i].off + (cases[i].where == 0   ? pe.pe_offset + 4
					      : cases[i].where == 1 ? opt
								    : sec);
		int r;

		memcpy(b, good, len);
		if (cases[i].width == 2)
			sl_put_le16(b + at, (uint16_t)cases[i].value);
		else
			sl_put_le32(b + at, cases[i].value);
		sl_error_clear();
		r = sl_pe_decode(b, len, &pe);
		if (r >= 0 || !strstr(sl_error_message(r), cases[i].words))
			sl_test_fail(__FILE__, __LINE__, "case %zu: got %d '%s', want '%s'", i, r,
				     r < 0 ? sl_error_message(r) : "", cases[i].words);
	}
}

TEST(size_cap)
{
	SlPe pe;
	static const uint8_t b[64] = { 'M', 'Z' };

	ASSERT_ERR(sl_pe_decode(b, SL_PE_MAX_SIZE + 1, &pe), -E2BIG);
	ASSERT_ERR(sl_pe_decode(NULL, 10, &pe), -EINVAL);
}

TEST(read_file)
{
	char good[4096], bad[4096], none[4096];
	_cleanup_free_ uint8_t *data = NULL;
	uint8_t *untouched = (uint8_t *)"x";
	size_t len = 7;
	SlPe pe;

	snprintf(good, sizeof(good), "%s/tests/vectors/pe/two-sections.pe", sl_test_srcdir());
	snprintf(bad, sizeof(bad), "%s/tests/vectors/pe/bad-size-of-image-cap.pe",
		 sl_test_srcdir());
	snprintf(none, sizeof(none), "%s/tests/vectors/pe/no-such.pe", sl_test_srcdir());
	ASSERT_OK(sl_pe_read_file(good, &data, &len, &pe));
	ASSERT_TRUE(pe.data == data && pe.size == len);
	ASSERT_UEQ(pe.n_sections, 2);
	{
		uint8_t *d = untouched;

		ASSERT_ERR(sl_pe_read_file(bad, &d, &len, &pe), -E2BIG);
		ASSERT_TRUE(strstr(sl_error_message(-E2BIG), "SizeOfImage 0x40001000") != NULL);
		ASSERT_ERR(sl_pe_read_file(none, &d, &len, &pe), -ENOENT);
		ASSERT_TRUE(d == untouched);
	}
}

/* A section without raw data: its PointerToRawData is never used (found by fuzz-pcr). */
TEST(section_data_without_raw_data)
{
	_cleanup_free_ uint8_t *b = NULL;
	const uint8_t *d;
	size_t len, n;
	uint32_t h;
	SlPe pe;

	b = read_vector("two-sections.pe", &len);
	ASSERT_OK(sl_pe_decode(b, len, &pe));
	h = pe.section_table_offset + 40;
	sl_put_le32(b + h + 16, 0);	     /* SizeOfRawData */
	sl_put_le32(b + h + 20, 0xfffff000); /* PointerToRawData, far past the end */
	ASSERT_OK(sl_pe_decode(b, len, &pe));
	d = sl_pe_section_data(&pe, &pe.sections[1], &n);
	ASSERT_UEQ(n, 0);
	ASSERT_TRUE(d == b);
}

/* SizeOfImage is capped at SL_PE_MAX_IMAGE_SIZE, and every section lies inside it. */
TEST(size_of_image_cap)
{
	_cleanup_free_ uint8_t *b = NULL;
	uint32_t soi, vsize;
	size_t len;
	SlPe pe;

	b = read_vector("two-sections.pe", &len);
	ASSERT_OK(sl_pe_decode(b, len, &pe));
	soi = pe.opt_offset + 56;
	/* The second section's VirtualSize; its VirtualAddress is 0x2000. */
	vsize = pe.section_table_offset + 40 + 8;
	ASSERT_UEQ(pe.sections[1].virtual_address, 0x2000);

	sl_put_le32(b + soi, SL_PE_MAX_IMAGE_SIZE + 0x1000);
	sl_error_clear();
	ASSERT_ERR(sl_pe_decode(b, len, &pe), -E2BIG);
	ASSERT_STREQ(sl_error_message(-E2BIG),
		     "SizeOfImage 0x40001000 exceeds the cap of 0x40000000 (1 GiB) that Slate "
		     "loads or measures");
	sl_put_le32(b + soi, 0xffffffff);
	ASSERT_ERR(sl_pe_decode(b, len, &pe), -E2BIG);

	/* At the cap, a section may fill it, and not one byte more. */
	sl_put_le32(b + soi, SL_PE_MAX_IMAGE_SIZE);
	sl_put_le32(b + vsize, SL_PE_MAX_IMAGE_SIZE - 0x2000);
	ASSERT_OK(sl_pe_decode(b, len, &pe));
	ASSERT_UEQ(pe.size_of_image, SL_PE_MAX_IMAGE_SIZE);
	ASSERT_UEQ(pe.sections[1].virtual_size, SL_PE_MAX_IMAGE_SIZE - 0x2000);
	sl_put_le32(b + vsize, SL_PE_MAX_IMAGE_SIZE - 0x1fff);
	sl_error_clear();
	ASSERT_ERR(sl_pe_decode(b, len, &pe), -EBADMSG);
	ASSERT_STREQ(sl_error_message(-EBADMSG),
		     "section 1 '.data': VirtualAddress 0x2000 + VirtualSize 0x3fffe001 ends past "
		     "SizeOfImage 0x40000000");
	sl_put_le32(b + vsize, 0xffffffff);
	ASSERT_ERR(sl_pe_decode(b, len, &pe), -EBADMSG);
}

TEST(add_section_layout)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(sl_pe_image_freep) SlPeImage *img = NULL;
	static const char payload[] = "hello, section";
	const SlPeSection *s;
	size_t len, dlen;
	const uint8_t *d;

	buf = read_vector("two-sections.pe", &len);
	ASSERT_OK(sl_pe_image_new(buf, len, &img));
	ASSERT_OK(sl_pe_image_add_section(img, ".osrel", payload, sizeof(payload) - 1,
					  SL_PE_SCN_MEM_READ | SL_PE_SCN_CNT_INITIALIZED_DATA));
	ASSERT_UEQ(img->pe.n_sections, 3);
	s = &img->pe.sections[2];
	ASSERT_STREQ(s->name, ".osrel");
	/* After .data (0x2000 + 0x123), rounded up to SectionAlignment. */
	ASSERT_UEQ(s->virtual_address, 0x3000);
	ASSERT_UEQ(s->virtual_size, sizeof(payload) - 1);
	ASSERT_UEQ(s->raw_offset, 0xa00);
	ASSERT_UEQ(s->raw_size, 0x200);
	ASSERT_UEQ(img->pe.size_of_image, 0x4000);
	ASSERT_UEQ(img->len, 0xc00);
	d = sl_pe_section_data(&img->pe, s, &dlen);
	ASSERT_UEQ(dlen, sizeof(payload) - 1);
	ASSERT_MEMEQ(d, payload, dlen);
	/* The original bytes before the new section are untouched but the header. */
	ASSERT_MEMEQ(img->buf + 0x400, buf + 0x400, len - 0x400);

	/* An 8-byte name has no NUL in the header. */
	ASSERT_OK(sl_pe_image_add_section(img, ".cmdline", "x", 1, SL_PE_SCN_MEM_READ));
	ASSERT_STREQ(img->pe.sections[3].name, ".cmdline");
	ASSERT_UEQ(img->pe.sections[3].virtual_address, 0x4000);
	ASSERT_ERR(sl_pe_image_add_section(img, ".toolong!", "x", 1, 0), -EINVAL);
	ASSERT_ERR(sl_pe_image_add_section(img, "", "x", 1, 0), -EINVAL);
}

TEST(add_section_until_headers_full)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(sl_pe_image_freep) SlPeImage *img = NULL;
	size_t len, n, before;
	int r;

	buf = read_vector("two-sections.pe", &len);
	ASSERT_OK(sl_pe_image_new(buf, len, &img));
	/* Headers end at 0x400; the table starts at 0x188: room for 15 headers. */
	for (n = 0; n < 100; n++) {
		r = sl_pe_image_add_section(img, ".x", "y", 1, SL_PE_SCN_MEM_READ);
		if (r < 0)
			break;
	}
	ASSERT_ERR(r, -ENOSPC);
	ASSERT_UEQ(img->pe.n_sections, (0x400 - img->pe.section_table_offset) / 40);
	/* The failed edit changed nothing. */
	before = img->len;
	ASSERT_ERR(sl_pe_image_add_section(img, ".x", "y", 1, 0), -ENOSPC);
	ASSERT_UEQ(img->len, before);
	{
		SlPe pe;

		ASSERT_OK(sl_pe_decode(img->buf, img->len, &pe));
	}
}

TEST(replace_section_in_place)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(sl_pe_image_freep) SlPeImage *img = NULL;
	uint8_t big[0x201];
	size_t len;

	buf = read_vector("small-align.pe", &len);
	ASSERT_OK(sl_pe_image_new(buf, len, &img));
	ASSERT_OK(sl_pe_image_replace_section(img, 1, "sbat,1\nlinux,1\n", 15));
	ASSERT_UEQ(img->pe.sections[1].virtual_size, 15);
	ASSERT_UEQ(img->len, len);
	ASSERT_MEMEQ(img->buf + 0x600, "sbat,1\nlinux,1\n", 15);
	ASSERT_UEQ(img->buf[0x600 + 15], 0);
	memset(big, 'a', sizeof(big));
	ASSERT_ERR(sl_pe_image_replace_section(img, 1, big, sizeof(big)), -ENOSPC);
	ASSERT_UEQ(img->pe.sections[1].virtual_size, 15);
	ASSERT_ERR(sl_pe_image_replace_section(img, 2, big, 1), -EINVAL);
}

TEST(strip_symbols_and_align)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(sl_pe_image_freep) SlPeImage *img = NULL;
	size_t len;

	buf = read_vector("symtab.pe", &len);
	ASSERT_OK(sl_pe_image_new(buf, len, &img));
	ASSERT_TRUE(img->pe.symbol_table_offset != 0);
	ASSERT_EQ(sl_pe_image_strip_symbols(img), 1);
	ASSERT_UEQ(img->len, 0xa00);
	ASSERT_UEQ(img->pe.symbol_table_offset, 0);
	ASSERT_UEQ(img->pe.n_symbols, 0);
	ASSERT_TRUE(img->pe.characteristics & SL_PE_FILE_LOCAL_SYMS_STRIPPED);
	ASSERT_EQ(sl_pe_image_strip_symbols(img), 0);

	/* A symbol table followed by other data stays. */
	sl_pe_image_free(TAKE_PTR(img));
	{
		_cleanup_free_ uint8_t *more = malloc(len + 8);

		memcpy(more, buf, len);
		memset(more + len, 0xee, 8);
		ASSERT_OK(sl_pe_image_new(more, len + 8, &img));
		ASSERT_EQ(sl_pe_image_strip_symbols(img), 0);
		ASSERT_UEQ(img->len, len + 8);
	}
}

TEST(align_raw_moves_unaligned_sections)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(sl_pe_image_freep) SlPeImage *img = NULL;
	size_t len, dlen;
	const uint8_t *d;

	/* Make .data start unaligned (0x800 -> 0x7f0 would overlap .text; use a
	 * shorter .text instead: SizeOfRawData 0x3f0, .data at 0x7f0). */
	buf = read_vector("two-sections.pe", &len);
	{
		SlPe pe;

		ASSERT_OK(sl_pe_decode(buf, len, &pe));
		sl_put_le32(buf + pe.section_table_offset + 16, 0x3f0);
		memmove(buf + 0x7f0, buf + 0x800, 0x200);
		sl_put_le32(buf + pe.section_table_offset + 40 + 20, 0x7f0);
		ASSERT_OK(sl_pe_decode(buf, len, &pe));
		ASSERT_UEQ(pe.sections[1].raw_offset, 0x7f0);
	}
	ASSERT_OK(sl_pe_image_new(buf, len, &img));
	ASSERT_OK(sl_pe_image_align_raw(img));
	ASSERT_UEQ(img->pe.sections[0].raw_offset, 0x400);
	ASSERT_UEQ(img->pe.sections[0].raw_size, 0x400);
	ASSERT_UEQ(img->pe.sections[1].raw_offset, 0x800);
	ASSERT_UEQ(img->pe.sections[1].raw_size, 0x200);
	d = sl_pe_section_data(&img->pe, &img->pe.sections[1], &dlen);
	ASSERT_MEMEQ(d, buf + 0x7f0, dlen);
	/* The 0x10 bytes that followed (trailing data) moved along. */
	ASSERT_UEQ(img->len, len + 0x10);
	ASSERT_MEMEQ(img->buf + 0xa00, buf + 0x9f0, 0x10);
}

TEST(sign_layout_and_digest_stability)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(sl_pe_image_freep) SlPeImage *img = NULL;
	char before[65], after[65], again[65];
	uint8_t der[37];
	size_t len;

	buf = read_vector("trailing.pe", &len); /* 2661 bytes: not 8-aligned */
	ASSERT_OK(sl_pe_image_new(buf, len, &img));
	memset(der, 0x30, sizeof(der));
	ASSERT_ERR(sl_pe_image_append_signature(img, der, sizeof(der)), -EINVAL);
	ASSERT_OK(sl_pe_image_pad8(img));
	ASSERT_UEQ(img->len, 2664);
	digest_hex(&img->pe, before);
	ASSERT_OK(sl_pe_image_append_signature(img, der, sizeof(der)));
	ASSERT_UEQ(img->pe.cert_table_offset, 2664);
	ASSERT_UEQ(img->pe.cert_table_size, 48); /* 8 + 37, padded to 8 */
	ASSERT_UEQ(img->pe.n_certs, 1);
	ASSERT_UEQ(img->pe.certs[0].length, 45);
	digest_hex(&img->pe, after);
	ASSERT_STREQ(before, after);
	/* The digest in the signature: the padded file's, which sbsign signed too. */
	{
		_cleanup_free_ uint8_t *list = read_vector("digests.txt", &len);

		ASSERT_TRUE(strstr((char *)list, after) != NULL);
	}
	/* Signed images refuse edits that would break the signature. */
	ASSERT_ERR(sl_pe_image_add_section(img, ".x", "y", 1, 0), -EINVAL);
	ASSERT_ERR(sl_pe_image_pad8(img), -EINVAL);
	/* A second signature is appended to the table; the digest stays. */
	ASSERT_OK(sl_pe_image_append_signature(img, der, 3));
	ASSERT_UEQ(img->pe.n_certs, 2);
	ASSERT_UEQ(img->pe.certs[1].offset, 2664 + 48);
	digest_hex(&img->pe, again);
	ASSERT_STREQ(before, again);
	ASSERT_OK(sl_pe_image_remove_signatures(img));
	ASSERT_UEQ(img->len, 2664);
	ASSERT_UEQ(img->pe.n_certs, 0);
	ASSERT_MEMEQ(img->buf, buf, len);
}

TEST(ranges_skip_checksum_and_certdir)
{
	_cleanup_free_ uint8_t *buf = NULL;
	SlPeRange ranges[SL_PE_MAX_RANGES];
	size_t len, n;
	SlPe pe;

	buf = read_vector("signed.pe", &len);
	ASSERT_OK(sl_pe_decode(buf, len, &pe));
	n = sl_pe_authenticode_ranges(&pe, ranges);
	ASSERT_UEQ(n, 5); /* 3 header pieces, 2 sections, no trailing data */
	ASSERT_UEQ(ranges[0].offset, 0);
	ASSERT_UEQ(ranges[0].size, pe.opt_offset + 64);
	ASSERT_UEQ(ranges[1].offset, pe.opt_offset + 68);
	ASSERT_UEQ(ranges[2].offset, pe.opt_offset + 112 + 40);
	ASSERT_UEQ(ranges[2].offset + ranges[2].size, 0x400);
	ASSERT_UEQ(ranges[3].offset, 0x400);
	ASSERT_UEQ(ranges[4].offset, 0x800);
}
