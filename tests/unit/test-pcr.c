/* SPDX-License-Identifier: MIT */
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

TEST(bank_names)
{
	ASSERT_STREQ(sl_pcr_bank_name(SL_PCR_SHA1), "sha1");
	ASSERT_EQ(sl_pcr_bank_size(SL_PCR_SHA384), 48);
	ASSERT_TRUE(sl_pcr_bank_name(_SL_PCR_BANK_MAX) == NULL);
}
