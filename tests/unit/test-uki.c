/* SPDX-License-Identifier: MIT */
/*
 * lib/uki: layout, SBAT merging, kernel release detection. The byte-for-byte
 * comparison with ukify itself is tests/compat/uki.sh.
 */
#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/uki.h"
#include "test.h"

static uint8_t *read_vector(const char *name, size_t *ret_len)
{
	char path[4096];
	uint8_t *buf = NULL;

	snprintf(path, sizeof(path), "%s/tests/vectors/pe/%s", sl_test_srcdir(), name);
	if (sl_read_file(path, 1u << 20, &buf, ret_len) < 0)
		sl_test_fail(__FILE__, __LINE__, "cannot read %s", path);
	return buf;
}

/* A fake bzImage: "HdrS" and a version string, nothing else. */
static size_t fake_kernel(uint8_t *buf, size_t size, const char *version)
{
	memset(buf, 0, size);
	memcpy(buf + 0x202, "HdrS", 4);
	sl_put_le16(buf + 0x20e, 0x300);
	memcpy(buf + 0x500, version, strlen(version));
	return size;
}

TEST(kernel_release)
{
	uint8_t k[0x800];
	char out[128];

	fake_kernel(k, sizeof(k),
		    "6.12.118+deb13-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP "
		    "PREEMPT_DYNAMIC Debian 6.12.118-1");
	ASSERT_OK(sl_uki_kernel_release(k, sizeof(k), out, sizeof(out)));
	ASSERT_STREQ(out, "6.12.118+deb13-cloud-amd64");
	ASSERT_ERR(sl_uki_kernel_release(k, sizeof(k), out, 5), -ENOBUFS);

	fake_kernel(k, sizeof(k), "6.1.0 (builder) no-hash");
	ASSERT_ERR(sl_uki_kernel_release(k, sizeof(k), out, sizeof(out)), -ENODATA);
	fake_kernel(k, sizeof(k), "6.1.0-Upper (b) #1");
	ASSERT_ERR(sl_uki_kernel_release(k, sizeof(k), out, sizeof(out)), -ENODATA);
	fake_kernel(k, sizeof(k), "6.1.0 (two words) #1");
	ASSERT_ERR(sl_uki_kernel_release(k, sizeof(k), out, sizeof(out)), -ENODATA);
	/* The version pointer aimed past the end, and no setup header at all. */
	sl_put_le16(k + 0x20e, 0xffff);
	ASSERT_ERR(sl_uki_kernel_release(k, sizeof(k), out, sizeof(out)), -ENODATA);
	ASSERT_ERR(sl_uki_kernel_release(k, 0x100, out, sizeof(out)), -ENODATA);
}

TEST(merge_sbat_like_ukify)
{
	static const char stub[] =
		"sbat,1,SBAT Version,sbat,1,https://x/SBAT.md\n"
		"systemd-stub,1,The systemd Developers,systemd,257,https://systemd.io/\n"
		"\0\0\0\0";
	static const char crlf[] = "sbat,1,v\r\nlinux,1,Debian,linux,6.12,https://d\r\n";
	static const char notsbat[] = "linux,1,no header\n";
	static const char last[] = "sbat,1,v\nuki,1,UKI,uki,1,https://uapi\nmore,1";
	static const char want[] =
		"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"
		"systemd-stub,1,The systemd Developers,systemd,257,https://systemd.io/\n"
		"linux,1,Debian,linux,6.12,https://d\n"
		"uki,1,UKI,uki,1,https://uapi\n"
		"more,1\n";
	SlUkiBlob in[] = {
		{ (const uint8_t *)stub, sizeof(stub) - 1 },
		{ (const uint8_t *)crlf, sizeof(crlf) - 1 },
		{ (const uint8_t *)notsbat, sizeof(notsbat) - 1 },
		{ (const uint8_t *)last, sizeof(last) - 1 },
	};
	_cleanup_free_ char *out = NULL, *empty = NULL;
	size_t len;

	ASSERT_OK(sl_uki_merge_sbat(in, ARRAY_SIZE(in), &out, &len));
	ASSERT_UEQ(len, sizeof(want)); /* the final NUL is part of the section */
	ASSERT_MEMEQ(out, want, sizeof(want));

	/* No entries at all: '\n'.join([]) + '\n\0' after the header line. */
	ASSERT_OK(sl_uki_merge_sbat(NULL, 0, &empty, &len));
	ASSERT_UEQ(len, strlen(empty) + 1);
	ASSERT_TRUE(strstr(empty, "SBAT.md\n\n") != NULL);
}

typedef struct Built {
	uint8_t *buf;
	size_t len;
	SlPe pe;
} Built;

static void build(const SlUkiInput *in, Built *b)
{
	sl_error_clear();
	if (sl_uki_build(in, &b->buf, &b->len) < 0)
		sl_test_fail(__FILE__, __LINE__, "build: %s", sl_error_message(-EBADMSG));
	if (sl_pe_decode(b->buf, b->len, &b->pe) < 0)
		sl_test_fail(__FILE__, __LINE__, "decode: %s", sl_error_message(-EBADMSG));
}

static const uint8_t *section(const Built *b, const char *name, size_t *len)
{
	const SlPeSection *s = sl_pe_section_find(&b->pe, name);

	if (!s)
		sl_test_fail(__FILE__, __LINE__, "no section %s", name);
	return sl_pe_section_data(&b->pe, s, len);
}

TEST(build_layout)
{
	_cleanup_free_ uint8_t *stub = NULL;
	uint8_t kernel[0x900];
	static const char cmdline[] = "console=ttyS0 usrhash=00";
	static const char osrel[] = "ID=slate\n";
	SlUkiBlob initrds[] = { { (const uint8_t *)"abc", 3 }, { (const uint8_t *)"defgh", 5 } };
	size_t stub_len, len;
	Built a = {}, b = {};
	const uint8_t *d;
	static const char *const order[] = { ".text",  ".sbat",	 ".osrel", ".cmdline",
					     ".uname", ".linux", ".initrd" };

	stub = read_vector("small-align.pe", &stub_len); /* SA = FA = 0x200, has .sbat */
	fake_kernel(kernel, sizeof(kernel), "6.1.0-test (me) #1 SMP");
	{
		SlUkiInput in = {
			.stub = { stub, stub_len },
			.kernel = { kernel, sizeof(kernel) },
			.initrds = initrds,
			.n_initrds = 2,
			.cmdline = { (const uint8_t *)cmdline, strlen(cmdline) },
			.osrel = { (const uint8_t *)osrel, strlen(osrel) },
		};

		build(&in, &a);
		build(&in, &b);
	}
	/* Deterministic. */
	ASSERT_UEQ(a.len, b.len);
	ASSERT_MEMEQ(a.buf, b.buf, a.len);

	ASSERT_UEQ(a.pe.n_sections, ARRAY_SIZE(order));
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		ASSERT_STREQ(a.pe.sections[i].name, order[i]);
	/* Appended after the stub's last section (.sbat at 0x600), each aligned. */
	for (size_t i = 2; i < a.pe.n_sections; i++) {
		const SlPeSection *p = &a.pe.sections[i - 1], *s = &a.pe.sections[i];
		uint32_t end = p->virtual_address + p->virtual_size;

		ASSERT_UEQ(s->virtual_address, (end + 0x1ff) & ~0x1ffu);
		ASSERT_UEQ(s->raw_offset % 0x200, 0);
		ASSERT_UEQ(s->raw_size, (s->virtual_size + 0x1ff) & ~0x1ffu);
		ASSERT_UEQ(s->characteristics, streq(s->name, ".linux") ? 0x40000020 : 0x40000040);
	}
	ASSERT_UEQ(a.pe.sections[2].virtual_address, 0x800);
	/* .osrel 0x800, .cmdline 0xa00, .uname 0xc00, .linux 0xe00 (0x900), .initrd 0x1800. */
	ASSERT_UEQ(a.pe.size_of_image, 0x1a00);
	ASSERT_UEQ(a.pe.checksum, 0);

	d = section(&a, ".cmdline", &len);
	ASSERT_UEQ(len, strlen(cmdline));
	ASSERT_MEMEQ(d, cmdline, len);
	d = section(&a, ".uname", &len);
	ASSERT_UEQ(len, 10);
	ASSERT_MEMEQ(d, "6.1.0-test", 10);
	d = section(&a, ".initrd", &len);
	ASSERT_UEQ(len, 12); /* each initrd padded to 4 bytes */
	ASSERT_MEMEQ(d, "abc\0defgh\0\0\0", 12);
	d = section(&a, ".linux", &len);
	ASSERT_UEQ(len, sizeof(kernel));
	ASSERT_MEMEQ(d, kernel, len);

	/* .sbat merged in place: stub entries (none but the header) + the default. */
	ASSERT_UEQ(a.pe.sections[1].virtual_address, 0x600);
	ASSERT_UEQ(a.pe.sections[1].raw_offset, 0x600);
	d = section(&a, ".sbat", &len);
	ASSERT_UEQ(len, strlen((const char *)d) + 1);
	ASSERT_TRUE(strstr((const char *)d, "\nuki,1,UKI,uki,1,https://uapi-group.org/") != NULL);
	free(a.buf);
	free(b.buf);
}

TEST(build_sbat_fallback_when_it_does_not_fit)
{
	_cleanup_free_ uint8_t *stub = NULL;
	char big[0x300];
	uint8_t kernel[0x900];
	size_t stub_len, len;
	const uint8_t *d;
	Built a = {};

	stub = read_vector("small-align.pe", &stub_len);
	fake_kernel(kernel, sizeof(kernel), "6.1.0-test (me) #1 SMP");
	memset(big, 'x', sizeof(big));
	memcpy(big, "sbat,1\nbig,", 11);
	{
		SlUkiInput in = {
			.stub = { stub, stub_len },
			.kernel = { kernel, sizeof(kernel) },
			.sbat = { (const uint8_t *)big, sizeof(big) },
		};

		build(&in, &a);
	}
	/* The stub's section keeps its bytes under another name; one .sbat, at the end. */
	ASSERT_STREQ(a.pe.sections[1].name, ".osbat");
	ASSERT_MEMEQ(a.buf + 0x600, stub + 0x600, 0x200);
	ASSERT_STREQ(a.pe.sections[a.pe.n_sections - 1].name, ".sbat");
	d = section(&a, ".sbat", &len);
	ASSERT_TRUE(len > 0x300);
	ASSERT_TRUE(memmem(d, len, "\nbig,xxx", 8) != NULL);
	for (size_t i = 0; i < a.pe.n_sections - 1; i++)
		ASSERT_FALSE(streq(a.pe.sections[i].name, ".sbat"));
	free(a.buf);
}

TEST(build_nx_and_uname_rules)
{
	_cleanup_free_ uint8_t *stub = NULL, *kpe = NULL;
	size_t stub_len, kpe_len, len;
	Built a = {}, b = {};
	const uint8_t *d;

	stub = read_vector("small-align.pe", &stub_len);
	ASSERT_TRUE(sl_le16(stub + 0x80 + 24 + 70) & SL_PE_DLL_NX_COMPAT);
	/* A PE kernel without NX_COMPAT: the UKI loses it too. No setup header: no .uname. */
	kpe = read_vector("two-sections.pe", &kpe_len);
	sl_put_le16(kpe + 0x80 + 24 + 70, 0x60);
	{
		SlUkiInput in = { .stub = { stub, stub_len }, .kernel = { kpe, kpe_len } };

		build(&in, &a);
		ASSERT_FALSE(a.pe.dll_characteristics & SL_PE_DLL_NX_COMPAT);
		ASSERT_TRUE(sl_pe_section_find(&a.pe, ".uname") == NULL);
		ASSERT_TRUE(sl_pe_section_find(&a.pe, ".initrd") == NULL);
		ASSERT_TRUE(sl_pe_section_find(&a.pe, ".cmdline") == NULL);
	}
	/* With NX_COMPAT it stays; --uname wins over detection. */
	sl_put_le16(kpe + 0x80 + 24 + 70, 0x160);
	{
		SlUkiInput in = { .stub = { stub, stub_len },
				  .kernel = { kpe, kpe_len },
				  .uname = "given" };

		build(&in, &b);
		ASSERT_TRUE(b.pe.dll_characteristics & SL_PE_DLL_NX_COMPAT);
		d = section(&b, ".uname", &len);
		ASSERT_UEQ(len, 5);
		ASSERT_MEMEQ(d, "given", 5);
	}
	free(a.buf);
	free(b.buf);
}

TEST(build_refusals)
{
	_cleanup_free_ uint8_t *stub = NULL, *signed_stub = NULL, *plain = NULL;
	size_t stub_len, signed_len, plain_len, len;
	uint8_t kernel[0x900], *out = NULL;

	stub = read_vector("small-align.pe", &stub_len);
	signed_stub = read_vector("signed.pe", &signed_len);
	plain = read_vector("two-sections.pe", &plain_len);
	fake_kernel(kernel, sizeof(kernel), "6.1.0 (me) #1");
	{
		SlUkiInput in = { .stub = { signed_stub, signed_len },
				  .kernel = { kernel, sizeof(kernel) } };

		ASSERT_ERR(sl_uki_build(&in, &out, &len), -EINVAL);
		in.stub = (SlUkiBlob){ plain, plain_len };
		ASSERT_ERR(sl_uki_build(&in, &out, &len), -EBADMSG);
		in.stub = (SlUkiBlob){ stub, 0x300 };
		ASSERT_ERR(sl_uki_build(&in, &out, &len), -EBADMSG);
		in.stub = (SlUkiBlob){ stub, stub_len };
		in.kernel.len = 0;
		ASSERT_ERR(sl_uki_build(&in, &out, &len), -EINVAL);
		/* A UKI is not a stub. */
		in.kernel.len = sizeof(kernel);
		ASSERT_OK(sl_uki_build(&in, &out, &len));
		in.stub = (SlUkiBlob){ out, len };
		{
			uint8_t *again = NULL;

			ASSERT_ERR(sl_uki_build(&in, &again, &len), -EINVAL);
			ASSERT_TRUE(again == NULL);
		}
		free(out);
		out = NULL;
	}
	ASSERT_TRUE(out == NULL);
}

TEST(stub_version)
{
	_cleanup_free_ uint8_t *stub = NULL;
	_cleanup_(sl_pe_image_freep) SlPeImage *img = NULL;
	static const char magic[] = "#### LoaderInfo: systemd-stub 257.13-1~deb13u1 ####";
	char v[64];
	size_t len;

	stub = read_vector("small-align.pe", &len);
	ASSERT_OK(sl_pe_image_new(stub, len, &img));
	ASSERT_ERR(sl_uki_stub_version(&img->pe, v, sizeof(v)), -ENODATA);
	ASSERT_OK(
		sl_pe_image_add_section(img, ".sdmagic", magic, sizeof(magic), SL_PE_SCN_MEM_READ));
	ASSERT_OK(sl_uki_stub_version(&img->pe, v, sizeof(v)));
	ASSERT_STREQ(v, "systemd-stub 257.13-1~deb13u1");
	ASSERT_ERR(sl_uki_stub_version(&img->pe, v, 8), -ENODATA);
}
