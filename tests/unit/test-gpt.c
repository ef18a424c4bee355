/* SPDX-License-Identifier: MIT */
/*
 * lib/gpt: round trips at both sector sizes, the on-disk encoding, tables made by
 * sfdisk and sgdisk (tests/vectors/gpt), every refusal, backup fallback, names,
 * types, slots, the PARTUUID update, grow and the layout format.
 */
#include <inttypes.h>

#include "slate/bytes.h"
#include "slate/crc32.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/gpt.h"
#include "slate/hex.h"
#include "slate/strutil.h"
#include "test.h"

#define MiB (UINT64_C(1) << 20)

/* A small Slate-like layout that fits a few MiB at either sector size. */
static const char small_layout[] =
	"align 64K\n"
	"disk-uuid 11111111-2222-4333-8444-555555555555\n"
	"partition EFI-SYSTEM   256K esp attrs=required\n"
	"partition USR-A        512K usr attrs=read-only\n"
	"partition USR-A-VERITY 64K  usr-verity attrs=read-only,no-auto\n"
	"partition USR-B        512K usr\n"
	"partition USR-B-VERITY 64K  usr-verity\n"
	"partition ROOT         rest root attrs=grow-file-system\n";

typedef struct Disk {
	SlGptMemory mem;
	SlGptOps ops;
} Disk;

static void disk_init(Disk *d, uint64_t size, uint32_t ss)
{
	d->mem.buf = calloc(1, size);
	d->mem.len = size;
	ASSERT_TRUE(d->mem.buf);
	sl_gpt_ops_from_memory(&d->mem, ss, &d->ops);
}

static void disk_done(Disk *d)
{
	free(d->mem.buf);
}

/* Disk with small_layout written, derived UUIDs from seed "test". */
static void disk_make(Disk *d, uint64_t size, uint32_t ss)
{
	_cleanup_gpt_layout_ SlGptLayout *l = NULL;
	_cleanup_gpt_ SlGpt *gpt = NULL;

	disk_init(d, size, ss);
	ASSERT_OK(sl_gpt_layout_parse(small_layout, &l));
	ASSERT_OK(sl_gpt_layout_build(l, size, ss, "test", &gpt));
	ASSERT_OK(sl_gpt_write(&d->ops, gpt, NULL));
}

static uint8_t *lba(Disk *d, uint64_t n)
{
	return d->mem.buf + n * d->ops.sector_size;
}

/* Recompute both headers' array and header CRCs after a test patched bytes. */
static void fix_crcs(Disk *d)
{
	uint32_t ss = d->ops.sector_size;
	uint64_t last = d->mem.len / ss - 1;
	uint64_t where[2] = { 1, last };

	for (int i = 0; i < 2; i++) {
		uint8_t *h = lba(d, where[i]);
		uint64_t arr = sl_le64(h + 72);
		uint64_t len = (uint64_t)sl_le32(h + 80) * sl_le32(h + 84);

		if (arr < d->mem.len / ss && len <= d->mem.len - arr * ss)
			sl_put_le32(h + 88, sl_crc32(0, lba(d, arr), len));
		sl_put_le32(h + 16, 0);
		sl_put_le32(h + 16, sl_crc32(0, h, MIN(sl_le32(h + 12), ss)));
	}
}

static int read_gpt(Disk *d, unsigned flags, SlGpt **ret)
{
	sl_error_clear();
	return sl_gpt_read(&d->ops, flags, ret);
}

static bool message_has(int r, const char *needle)
{
	const char *m = sl_error_message(r);

	printf("# refused as expected: %s\n", m);
	return strstr(m, needle) != NULL;
}

static void check_roundtrip(uint32_t ss)
{
	Disk d;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	char name[SL_GPT_NAME_MAX], u[SL_UUID_STRING_MAX];
	const uint8_t *h, *e;

	disk_make(&d, 4 * MiB, ss);
	ASSERT_OK(read_gpt(&d, 0, &gpt));
	ASSERT_EQ(gpt->status, 0);
	ASSERT_EQ(gpt->n_warnings, 0);
	ASSERT_EQ(gpt->sector_size, ss);
	ASSERT_EQ(gpt->entry_count, 128);
	ASSERT_EQ(gpt->backup_lba, 4 * MiB / ss - 1);
	ASSERT_EQ(gpt->first_usable_lba, 2 + 16384 / ss);
	ASSERT_EQ(gpt->last_usable_lba, gpt->backup_lba - 16384 / ss - 1);
	ASSERT_STREQ(sl_uuid_format(&gpt->disk_guid, u), "11111111-2222-4333-8444-555555555555");
	ASSERT_STREQ(sl_gpt_entry_name(&gpt->entries[2], name), "USR-A-VERITY");
	ASSERT_UEQ(gpt->entries[2].attributes, SL_GPT_ATTR_READ_ONLY | SL_GPT_ATTR_NO_AUTO);
	ASSERT_EQ(gpt->entries[0].first_lba, 65536 / ss);
	ASSERT_EQ(gpt->entries[0].last_lba, 65536 / ss + 262144 / ss - 1);
	ASSERT_FALSE(sl_gpt_entry_used(&gpt->entries[6]));
	/* ROOT ends on the layout's 64 KiB boundary, at or before the last usable LBA. */
	ASSERT_EQ((gpt->entries[5].last_lba + 1) * ss % 65536, 0);
	ASSERT_TRUE(gpt->entries[5].last_lba <= gpt->last_usable_lba);
	ASSERT_TRUE(gpt->last_usable_lba - gpt->entries[5].last_lba <= 65536 / ss);

	/* The bytes (SPEC.md §4.1): protective MBR, header fields, a mixed-endian type. */
	ASSERT_EQ(d.mem.buf[446 + 4], 0xee);
	ASSERT_EQ(sl_le32(d.mem.buf + 446 + 8), 1);
	ASSERT_EQ(sl_le32(d.mem.buf + 446 + 12), 4 * MiB / ss - 1);
	ASSERT_EQ(sl_le16(d.mem.buf + 510), 0xaa55);
	h = lba(&d, 1);
	ASSERT_MEMEQ(h, "EFI PART", 8);
	ASSERT_EQ(sl_le32(h + 8), 0x00010000);
	ASSERT_EQ(sl_le32(h + 12), 92);
	ASSERT_EQ(sl_le64(h + 24), 1);
	ASSERT_EQ(sl_le64(h + 32), 4 * MiB / ss - 1);
	ASSERT_EQ(sl_le64(h + 72), 2);
	e = lba(&d, 2) + 128; /* entry 2: USR-A, type 8484680c-9521-48c6-9c11-b0720656f69e */
	ASSERT_MEMEQ(e,
		     ((const uint8_t[]){ 0x0c, 0x68, 0x84, 0x84, 0x21, 0x95, 0xc6, 0x48, 0x9c, 0x11,
					 0xb0, 0x72, 0x06, 0x56, 0xf6, 0x9e }),
		     16);
	ASSERT_MEMEQ(e + 56, "U\0S\0R\0-\0A\0\0\0", 12);
	/* The backup: same array, MyLBA/AlternateLBA swapped. */
	h = lba(&d, gpt->backup_lba);
	ASSERT_EQ(sl_le64(h + 24), gpt->backup_lba);
	ASSERT_EQ(sl_le64(h + 32), 1);
	ASSERT_MEMEQ(lba(&d, gpt->backup_entries_lba), lba(&d, 2), 16384);
	disk_done(&d);
}

TEST(roundtrip_512)
{
	check_roundtrip(512);
}

TEST(roundtrip_4096)
{
	check_roundtrip(4096);
}

/*
 * Tables made by sfdisk and sgdisk (tests/vectors/gpt/make-vectors.sh): every
 * field slate reads equals the line sfdisk -J gave for it.
 */
static void check_vector(const char *name, uint32_t ss)
{
	_cleanup_free_ char *img_path = NULL, *exp_path = NULL;
	_cleanup_free_ uint8_t *img = NULL, *expect = NULL;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	size_t img_len, exp_len;
	SlGptMemory mem;
	SlGptOps ops;
	char *line, *save = NULL;
	int n = 0;

	img_path = sl_asprintf("%s/tests/vectors/gpt/%s.gpt", sl_test_srcdir(), name);
	exp_path = sl_asprintf("%s/tests/vectors/gpt/%s.expect", sl_test_srcdir(), name);
	ASSERT_OK(sl_read_file(img_path, 1 << 20, &img, &img_len));
	ASSERT_OK(sl_read_file(exp_path, 1 << 20, &expect, &exp_len));
	mem = (SlGptMemory){ img, img_len };
	sl_gpt_ops_from_memory(&mem, ss, &ops);
	ASSERT_OK(sl_gpt_read(&ops, 0, &gpt));
	ASSERT_EQ(gpt->n_warnings, 0);
	/* Each line: number first-lba size type-uuid uuid attribute-hex name */
	for (line = strtok_r((char *)expect, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned num;
		uint64_t start, size, attrs;
		char type[64], uuid[64], name_exp[256] = "", got[SL_GPT_NAME_MAX];
		char t[SL_UUID_STRING_MAX], u[SL_UUID_STRING_MAX];
		const SlGptEntry *e;
		int k = 0;

		if (line[0] == '#')
			continue;
		ASSERT_TRUE(sscanf(line, "%u %" SCNu64 " %" SCNu64 " %63s %63s %" SCNx64 " %n",
				   &num, &start, &size, type, uuid, &attrs, &k) >= 6);
		snprintf(name_exp, sizeof(name_exp), "%s", line + k);
		ASSERT_TRUE(num >= 1 && num <= gpt->entry_count);
		e = &gpt->entries[num - 1];
		ASSERT_EQ(e->first_lba, start);
		ASSERT_EQ(e->last_lba - e->first_lba + 1, size);
		ASSERT_STREQ(sl_uuid_format(&e->type, t), type);
		ASSERT_STREQ(sl_uuid_format(&e->uuid, u), uuid);
		ASSERT_UEQ(e->attributes, attrs);
		ASSERT_STREQ(sl_gpt_entry_name(e, got), name_exp);
		n++;
	}
	ASSERT_TRUE(n > 0);
	for (uint32_t i = 0, used = 0; i < gpt->entry_count; i++)
		if (sl_gpt_entry_used(&gpt->entries[i]) && ++used > (uint32_t)n)
			sl_test_fail(__FILE__, __LINE__, "more partitions than sfdisk saw");
}

TEST(vector_sfdisk_512)
{
	check_vector("sfdisk-512", 512);
}

TEST(vector_sgdisk_512)
{
	check_vector("sgdisk-512", 512);
}

TEST(vector_sfdisk_4096)
{
	check_vector("sfdisk-4096", 4096);
}

TEST(vector_sfdisk_small_table)
{
	check_vector("sfdisk-8-entries", 512);
}

TEST(probe_sector_size)
{
	Disk d;
	uint32_t ss;

	disk_make(&d, 4 * MiB, 4096);
	d.ops.sector_size = 512;
	ASSERT_OK(sl_gpt_probe_sector_size(&d.ops, &ss));
	ASSERT_EQ(ss, 4096);
	memset(d.mem.buf, 0, d.mem.len);
	ASSERT_ERR(sl_gpt_probe_sector_size(&d.ops, &ss), -ENOENT);
	disk_done(&d);
}

static void check_fallback(uint32_t ss, bool header)
{
	Disk d;
	_cleanup_gpt_ SlGpt *gpt = NULL, *good = NULL;

	disk_make(&d, 4 * MiB, ss);
	ASSERT_OK(read_gpt(&d, 0, &good));
	/* One flipped bit in the primary header or in its entry array. */
	if (header)
		lba(&d, 1)[60] ^= 0x01;
	else
		lba(&d, 2)[200] ^= 0x01;
	ASSERT_OK(read_gpt(&d, 0, &gpt));
	ASSERT_EQ(gpt->status, SL_GPT_PRIMARY_DAMAGED);
	ASSERT_EQ(gpt->n_warnings, 1);
	printf("# %s\n", gpt->warnings[0]);
	ASSERT_TRUE(strstr(gpt->warnings[0], "primary GPT is damaged"));
	ASSERT_TRUE(strstr(gpt->warnings[0], header ? "header CRC mismatch" : "does not match"));
	ASSERT_TRUE(strstr(gpt->warnings[0], "using the backup"));
	ASSERT_MEMEQ(gpt->entries, good->entries, sizeof(SlGptEntry) * 128);
	/* The damaged copy is repaired by any rewrite. */
	ASSERT_OK(sl_gpt_write(&d.ops, gpt, gpt));
	sl_gpt_free(TAKE_PTR(gpt));
	ASSERT_OK(read_gpt(&d, 0, &gpt));
	ASSERT_EQ(gpt->status, 0);
	disk_done(&d);
}

TEST(damaged_primary_header_uses_backup)
{
	check_fallback(512, true);
	check_fallback(4096, true);
}

TEST(damaged_primary_array_uses_backup)
{
	check_fallback(512, false);
	check_fallback(4096, false);
}

TEST(damaged_backup_uses_primary)
{
	Disk d;
	_cleanup_gpt_ SlGpt *gpt = NULL;

	disk_make(&d, 4 * MiB, 512);
	d.mem.buf[d.mem.len - 512 + 3] ^= 0xff; /* the backup signature */
	ASSERT_OK(read_gpt(&d, 0, &gpt));
	ASSERT_EQ(gpt->status, SL_GPT_BACKUP_DAMAGED);
	printf("# %s\n", gpt->warnings[0]);
	ASSERT_TRUE(strstr(gpt->warnings[0], "backup GPT is damaged"));
	disk_done(&d);
}

TEST(both_damaged_refused)
{
	Disk d;
	SlGpt *gpt = NULL;
	int r;

	disk_make(&d, 4 * MiB, 512);
	lba(&d, 1)[60] ^= 1;			     /* primary header: the disk GUID */
	d.mem.buf[d.mem.len - 512 - 16384 + 5] ^= 1; /* backup array */
	r = read_gpt(&d, 0, &gpt);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_TRUE(gpt == NULL);
	ASSERT_TRUE(message_has(r, "primary: GPT header at LBA 1: header CRC mismatch"));
	ASSERT_TRUE(message_has(r, "backup: entry array"));
	disk_done(&d);
}

TEST(copies_differ_uses_primary)
{
	Disk d;
	_cleanup_gpt_ SlGpt *gpt = NULL;

	disk_make(&d, 4 * MiB, 512);
	/* A different name in the backup array only, with its CRCs right. */
	d.mem.buf[d.mem.len - 512 - 16384 + 56] = 'X';
	{
		uint8_t *h = d.mem.buf + d.mem.len - 512;

		sl_put_le32(h + 88, sl_crc32(0, d.mem.buf + d.mem.len - 512 - 16384, 16384));
		sl_put_le32(h + 16, 0);
		sl_put_le32(h + 16, sl_crc32(0, h, 92));
	}
	ASSERT_OK(read_gpt(&d, 0, &gpt));
	ASSERT_EQ(gpt->status, SL_GPT_COPIES_DIFFER);
	printf("# %s\n", gpt->warnings[0]);
	ASSERT_TRUE(strstr(gpt->warnings[0], "differ (partition entries)"));
	ASSERT_EQ(gpt->entries[0].name[0], 'E');
	disk_done(&d);
}

TEST(truncated_image_refused)
{
	Disk d;
	SlGpt *gpt = NULL;
	int r;

	disk_make(&d, 4 * MiB, 512);
	d.ops.size = d.mem.len = 3 * MiB; /* the end of the image is gone */
	r = read_gpt(&d, 0, &gpt);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_TRUE(message_has(r, "truncated image?"));
	d.ops.size = d.mem.len = 2048; /* four sectors */
	r = read_gpt(&d, 0, &gpt);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_TRUE(message_has(r, "too small to hold a GPT"));
	disk_done(&d);
}

/* Patch entry idx (in both arrays) and fix the CRCs, so only the content is wrong. */
static void patch_entry(Disk *d, unsigned idx, uint64_t first, uint64_t last)
{
	uint32_t ss = d->ops.sector_size;
	uint64_t arrays[2] = { 2, sl_le64(lba(d, d->mem.len / ss - 1) + 72) };

	for (int i = 0; i < 2; i++) {
		uint8_t *e = lba(d, arrays[i]) + 128 * idx;

		sl_put_le64(e + 32, first);
		sl_put_le64(e + 40, last);
	}
	fix_crcs(d);
}

TEST(partition_outside_disk_refused)
{
	Disk d;
	SlGpt *gpt = NULL;
	int r;

	disk_make(&d, 4 * MiB, 512);
	patch_entry(&d, 5, 3000, 9000); /* ROOT past the last LBA 8191 */
	r = read_gpt(&d, SL_GPT_READ_ALLOW_OVERLAP, &gpt);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_TRUE(message_has(r, "partition 6 (LBA 3000..9000) extends past the end"));
	patch_entry(&d, 5, 3000, 2000);
	r = read_gpt(&d, 0, &gpt);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_TRUE(message_has(r, "partition 6: first LBA 3000 is after its last LBA 2000"));
	/* Inside the disk but on the backup array: refused, or a warning when inspecting. */
	patch_entry(&d, 5, 3000, 8170);
	r = read_gpt(&d, 0, &gpt);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_TRUE(message_has(
		r, "partition 6 (LBA 3000..8170) lies outside the usable area (LBA 34..8158)"));
	ASSERT_OK(read_gpt(&d, SL_GPT_READ_ALLOW_OVERLAP, &gpt));
	ASSERT_TRUE(gpt->status & SL_GPT_OVERLAPS);
	sl_gpt_free(gpt);
	disk_done(&d);
}

TEST(overlapping_partitions_refused)
{
	Disk d;
	SlGpt *gpt = NULL;
	int r;

	disk_make(&d, 4 * MiB, 512);
	/* USR-A is LBA 640..1663; make USR-A-VERITY start inside it. */
	patch_entry(&d, 2, 1600, 1791);
	r = read_gpt(&d, 0, &gpt);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_TRUE(message_has(r, "partitions 2 and 3 overlap (LBA 640..1663 and 1600..1791)"));
	/* slate disk inspect shows such a table with a warning. */
	ASSERT_OK(read_gpt(&d, SL_GPT_READ_ALLOW_OVERLAP, &gpt));
	ASSERT_EQ(gpt->status, SL_GPT_OVERLAPS);
	printf("# warning: %s\n", gpt->warnings[0]);
	ASSERT_TRUE(strstr(gpt->warnings[0], "partitions 2 and 3 overlap"));
	/* ... but it can never be written. */
	ASSERT_ERR(sl_gpt_validate(gpt), -EBADMSG);
	ASSERT_ERR(sl_gpt_write(&d.ops, gpt, NULL), -EBADMSG);
	sl_gpt_free(gpt);
	disk_done(&d);
}

/* Set a 32-bit header field in both headers (fixing CRCs); the read must fail. */
static int both_headers(Disk *d, size_t off, uint32_t v)
{
	SlGpt *gpt = NULL;

	sl_put_le32(lba(d, 1) + off, v);
	sl_put_le32(lba(d, d->mem.len / d->ops.sector_size - 1) + off, v);
	fix_crcs(d);
	return read_gpt(d, 0, &gpt);
}

TEST(absurd_counts_and_sizes_refused)
{
	static const struct {
		size_t off;
		uint32_t v;
		int err;
		const char *msg;
	} cases[] = {
		{ 80, 0, -EBADMSG, "zero partition entries" },
		{ 80, 0xffffffff, -E2BIG, "4294967295 entries of 128 bytes exceed the cap" },
		{ 80, 8193, -E2BIG, "8193 entries of 128 bytes exceed the cap" },
		{ 84, 0, -EBADMSG, "entry size 0 is not 128 x 2^n" },
		{ 84, 100, -EBADMSG, "entry size 100 is not 128 x 2^n" },
		{ 84, 192, -EBADMSG, "entry size 192 is not 128 x 2^n" },
		{ 84, 8192, -E2BIG, "entry size 8192 is over the cap" },
		{ 84, 0x80000000, -E2BIG, "entry size 2147483648 is over the cap" },
		{ 12, 91, -EBADMSG, "header size 91 is not between 92" },
		{ 12, 513, -EBADMSG, "header size 513 is not between 92" },
		{ 8, 0x00020000, -EOPNOTSUPP, "revision 2.0 is not supported" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Disk d;
		int r;

		disk_make(&d, 4 * MiB, 512);
		r = both_headers(&d, cases[i].off, cases[i].v);
		ASSERT_ERR(r, cases[i].err);
		ASSERT_TRUE(message_has(r, cases[i].msg));
		disk_done(&d);
	}
}

TEST(absurd_lbas_refused)
{
	static const struct {
		size_t off;
		uint64_t v;
		const char *msg;
	} cases[] = {
		{ 48, UINT64_C(1) << 40, "describes a disk of at least" }, /* last usable */
		{ 40, 9000, "usable area 9000..8158 is empty" },	   /* first usable */
		{ 40, 1, "clash with the usable area" },		   /* includes LBA 1 */
		{ 72, 30, "entry array at LBA 30 (32 sectors) overlaps" },
		{ 72, UINT64_MAX, "entry array at LBA 18446744073709551615" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Disk d;
		SlGpt *gpt = NULL;
		int r;

		disk_make(&d, 4 * MiB, 512);
		sl_put_le64(lba(&d, 1) + cases[i].off, cases[i].v);
		sl_put_le64(lba(&d, 8191) + cases[i].off, cases[i].v);
		fix_crcs(&d);
		r = read_gpt(&d, 0, &gpt);
		ASSERT_ERR(r, -EBADMSG);
		ASSERT_TRUE(message_has(r, cases[i].msg));
		disk_done(&d);
	}
}

TEST(mbr_checks)
{
	Disk d;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGpt *bad = NULL;
	int r;

	disk_make(&d, 4 * MiB, 512);
	/* A hybrid MBR is read (with a warning) and kept by a rewrite. */
	d.mem.buf[446 + 16 + 4] = 0x0c;
	ASSERT_OK(read_gpt(&d, 0, &gpt));
	ASSERT_EQ(gpt->status, SL_GPT_MBR_HYBRID);
	ASSERT_OK(sl_gpt_write(&d.ops, gpt, NULL));
	ASSERT_EQ(d.mem.buf[446 + 16 + 4], 0x0c);
	/* A real MBR table with stale GPT headers: refused. */
	d.mem.buf[446 + 4] = 0x83;
	r = read_gpt(&d, 0, &bad);
	ASSERT_ERR(r, -EBADMSG);
	ASSERT_TRUE(message_has(r, "MBR partition table, not a protective MBR"));
	/* No MBR at all: a warning; a rewrite puts the protective MBR back. */
	memset(d.mem.buf, 0, 512);
	sl_gpt_free(TAKE_PTR(gpt));
	ASSERT_OK(read_gpt(&d, 0, &gpt));
	ASSERT_EQ(gpt->status, SL_GPT_MBR_NOT_PROTECTIVE);
	ASSERT_OK(sl_gpt_write(&d.ops, gpt, NULL));
	ASSERT_EQ(d.mem.buf[446 + 4], 0xee);
	ASSERT_EQ(sl_le16(d.mem.buf + 510), 0xaa55);
	disk_done(&d);
}

TEST(names_utf16)
{
	SlGptEntry e = { 0 };
	char out[SL_GPT_NAME_MAX];

	ASSERT_OK(sl_gpt_entry_set_name(&e, "Données-根-😀"));
	ASSERT_EQ(e.name[4], 0x00e9);
	ASSERT_EQ(e.name[8], 0x6839);
	ASSERT_EQ(e.name[10], 0xd83d); /* U+1F600 as a surrogate pair */
	ASSERT_EQ(e.name[11], 0xde00);
	ASSERT_EQ(e.name[12], 0);
	ASSERT_STREQ(sl_gpt_entry_name(&e, out), "Données-根-😀");
	/* 36 units fit, 37 do not; a pair may not be split at the end. */
	ASSERT_OK(sl_gpt_entry_set_name(&e, "123456789012345678901234567890123456"));
	ASSERT_ERR(sl_gpt_entry_set_name(&e, "1234567890123456789012345678901234567"), -E2BIG);
	ASSERT_ERR(sl_gpt_entry_set_name(&e, "12345678901234567890123456789012345😀"), -E2BIG);
	ASSERT_ERR(sl_gpt_entry_set_name(&e, "bad\xff"), -EBADMSG);
	ASSERT_ERR(sl_gpt_entry_set_name(&e, "\xc0\xaf"), -EBADMSG);	 /* overlong */
	ASSERT_ERR(sl_gpt_entry_set_name(&e, "\xed\xa0\x80"), -EBADMSG); /* surrogate */
	/* A lone surrogate on disk reads as U+FFFD. */
	memset(e.name, 0, sizeof(e.name));
	e.name[0] = 'a';
	e.name[1] = 0xdc00;
	ASSERT_STREQ(sl_gpt_entry_name(&e, out), "a\xef\xbf\xbd");
	e.name[35] = 0xd800; /* a full-length name whose last unit is a high surrogate */
	for (int i = 2; i < 35; i++)
		e.name[i] = 0x6839;
	ASSERT_TRUE(strlen(sl_gpt_entry_name(&e, out)) < SL_GPT_NAME_MAX);
}

TEST(types)
{
	const SlGptType *t;
	char u[SL_UUID_STRING_MAX];
	SlUuid x;
	SlGptArch a;

	t = sl_gpt_type_from_name("usr", SL_GPT_ARCH_X86_64);
	ASSERT_STREQ(t->name, "usr-x86-64");
	ASSERT_STREQ(sl_uuid_format(&t->uuid, u), "8484680c-9521-48c6-9c11-b0720656f69e");
	t = sl_gpt_type_from_name("usr-verity", SL_GPT_ARCH_ARM64);
	ASSERT_STREQ(sl_uuid_format(&t->uuid, u), "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e");
	t = sl_gpt_type_from_name("root-arm64", SL_GPT_ARCH_X86_64);
	ASSERT_STREQ(sl_uuid_format(&t->uuid, u), "b921b045-1df0-41c3-af44-4c6f280d3fae");
	t = sl_gpt_type_from_name("usr-verity-sig", SL_GPT_ARCH_X86_64);
	ASSERT_STREQ(sl_uuid_format(&t->uuid, u), "e7bb33fb-06cf-4e81-8273-e543b413e2e2");
	t = sl_gpt_type_from_name("esp", SL_GPT_ARCH_ARM64);
	ASSERT_STREQ(sl_uuid_format(&t->uuid, u), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
	ASSERT_STREQ(t->description, "EFI System");
	ASSERT_TRUE(sl_gpt_type_from_name("nope", SL_GPT_ARCH_X86_64) == NULL);
	ASSERT_OK(sl_uuid_parse("2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", &x));
	t = sl_gpt_type_from_uuid(&x);
	ASSERT_STREQ(t->name, "root-x86-64-verity");
	ASSERT_EQ(t->role, SL_GPT_ROLE_ROOT_VERITY);
	ASSERT_EQ(t->arch, SL_GPT_ARCH_X86_64);
	ASSERT_OK(sl_gpt_arch_from_name("aarch64", &a));
	ASSERT_EQ(a, SL_GPT_ARCH_ARM64);
	ASSERT_ERR(sl_gpt_arch_from_name("riscv64", &a), -EINVAL);
	/* Every name is unique and every UUID maps back to its own entry. */
	{
		size_t n;
		const SlGptType *all = sl_gpt_types(&n);

		for (size_t i = 0; i < n; i++) {
			ASSERT_TRUE(sl_gpt_type_from_uuid(&all[i].uuid) == &all[i]);
			ASSERT_TRUE(sl_gpt_type_from_name(all[i].name, SL_GPT_ARCH_ANY) == &all[i]);
		}
	}
}

static const uint8_t roothash[32] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				      0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
				      0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				      0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };

TEST(set_usr_partuuids)
{
	Disk d;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGptSlot slot;
	char u[SL_UUID_STRING_MAX];

	disk_make(&d, 4 * MiB, 512);
	ASSERT_OK(sl_gpt_set_usr_partuuids(&d.ops, 'B', roothash, sizeof(roothash)));
	ASSERT_OK(read_gpt(&d, 0, &gpt));
	ASSERT_EQ(gpt->status, 0);
	ASSERT_OK(sl_gpt_find_slot(gpt, 'B', &slot));
	ASSERT_EQ(slot.data, 3);
	ASSERT_EQ(slot.verity, 4);
	/* SPEC.md §1.8: the UUID text is the hash in order; on disk it is mixed-endian. */
	ASSERT_STREQ(sl_uuid_format(&gpt->entries[3].uuid, u),
		     "01234567-89ab-cdef-1032-547698badcfe");
	ASSERT_STREQ(sl_uuid_format(&gpt->entries[4].uuid, u),
		     "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
	ASSERT_MEMEQ(lba(&d, 2) + 3 * 128 + 16,
		     ((const uint8_t[]){ 0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x10, 0x32,
					 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe }),
		     16);
	/* The same hash for slot A would duplicate the PARTUUIDs: refused. */
	sl_error_clear();
	ASSERT_ERR(sl_gpt_set_usr_partuuids(&d.ops, 'A', roothash, sizeof(roothash)), -EEXIST);
	ASSERT_TRUE(message_has(-EEXIST, "already has the UUID"));
	ASSERT_ERR(sl_gpt_set_usr_partuuids(&d.ops, 'C', roothash, sizeof(roothash)), -EINVAL);
	ASSERT_ERR(sl_gpt_set_usr_partuuids(&d.ops, 'A', roothash, 16), -EINVAL);
	/* A no-op when already set: nothing written. */
	memset(d.mem.buf, 0, 512);
	ASSERT_OK(sl_gpt_set_usr_partuuids(&d.ops, 'B', roothash, sizeof(roothash)));
	ASSERT_EQ(d.mem.buf[446 + 4], 0);
	disk_done(&d);
}

TEST(slots_by_label_and_type)
{
	Disk d;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGptSlot slot;

	disk_make(&d, 4 * MiB, 512);
	ASSERT_OK(read_gpt(&d, 0, &gpt));
	ASSERT_OK(sl_gpt_find_slot(gpt, 'A', &slot));
	ASSERT_EQ(slot.data, 1);
	ASSERT_EQ(slot.verity, 2);
	/* USR-A with the wrong type is not a slot. */
	gpt->entries[1].type = sl_gpt_type_from_name("linux-generic", SL_GPT_ARCH_ANY)->uuid;
	sl_error_clear();
	ASSERT_ERR(sl_gpt_find_slot(gpt, 'A', &slot), -ENOENT);
	ASSERT_TRUE(message_has(-ENOENT, "'USR-A' does not have a /usr type"));
	ASSERT_OK(sl_gpt_entry_set_name(&gpt->entries[1], "USR-B"));
	ASSERT_ERR(sl_gpt_find_slot(gpt, 'B', &slot), -EBADMSG);
	disk_done(&d);
}

static void check_grow(uint32_t ss)
{
	Disk d;
	_cleanup_gpt_ SlGpt *before = NULL, *after = NULL;
	SlGptGrowResult res;
	uint8_t *bigger;

	disk_make(&d, 4 * MiB, ss);
	ASSERT_OK(read_gpt(&d, 0, &before));
	/* Nothing to do on a disk that has not grown. */
	ASSERT_OK(sl_gpt_grow(&d.ops, &res));
	ASSERT_FALSE(res.changed);
	/* The disk grows to 6 MiB plus two sectors. */
	bigger = realloc(d.mem.buf, 6 * MiB + 2 * ss);
	ASSERT_TRUE(bigger);
	memset(bigger + d.mem.len, 0, 6 * MiB + 2 * ss - d.mem.len);
	d.mem.buf = bigger;
	d.mem.len = 6 * MiB + 2 * ss;
	sl_gpt_ops_from_memory(&d.mem, ss, &d.ops);
	sl_gpt_free(TAKE_PTR(after));
	ASSERT_OK(read_gpt(&d, 0, &after));
	ASSERT_EQ(after->status, SL_GPT_BACKUP_NOT_AT_END);
	printf("# %s\n", after->warnings[0]);
	ASSERT_OK(sl_gpt_grow(&d.ops, &res));
	ASSERT_TRUE(res.changed && res.backup_moved);
	ASSERT_EQ(res.partition, 5);
	sl_gpt_free(TAKE_PTR(after));
	ASSERT_OK(read_gpt(&d, 0, &after));
	ASSERT_EQ(after->status, 0);
	ASSERT_EQ(after->backup_lba, d.mem.len / ss - 1);
	ASSERT_EQ(after->last_usable_lba, after->backup_lba - 16384 / ss - 1);
	ASSERT_EQ(after->entries[5].first_lba, before->entries[5].first_lba);
	ASSERT_EQ(after->entries[5].last_lba, res.new_last_lba);
	ASSERT_EQ((after->entries[5].last_lba + 1) * ss, 5 * MiB); /* 1 MiB aligned */
	ASSERT_TRUE(after->last_usable_lba - after->entries[5].last_lba <= MiB / ss);
	ASSERT_MEMEQ(after->entries, before->entries, 5 * sizeof(SlGptEntry));
	/* The old backup header, now inside ROOT, is gone; the pMBR covers the disk. */
	ASSERT_FALSE(memcmp(lba(&d, before->backup_lba), "EFI PART", 8) == 0);
	ASSERT_EQ(sl_le32(d.mem.buf + 446 + 12), d.mem.len / ss - 1);
	ASSERT_OK(sl_gpt_grow(&d.ops, &res));
	ASSERT_FALSE(res.changed);
	disk_done(&d);
}

TEST(grow_512)
{
	check_grow(512);
}

TEST(grow_4096)
{
	check_grow(4096);
}

TEST(grow_root_not_last)
{
	static const char layout[] = "align 64K\n"
				     "partition ROOT 1M root\n"
				     "partition DATA 512K linux-generic\n";
	_cleanup_gpt_layout_ SlGptLayout *l = NULL;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGptGrowResult res;
	Disk d;

	disk_init(&d, 8 * MiB, 512);
	ASSERT_OK(sl_gpt_layout_parse(layout, &l));
	ASSERT_OK(sl_gpt_layout_build(l, 4 * MiB, 512, "x", &gpt));
	ASSERT_OK(sl_gpt_write(&d.ops, gpt, NULL));
	ASSERT_OK(sl_gpt_grow(&d.ops, &res));
	ASSERT_TRUE(res.backup_moved);
	ASSERT_EQ(res.partition, -1);
	disk_done(&d);
}

TEST(layout_default)
{
	_cleanup_gpt_layout_ SlGptLayout *l = NULL;
	_cleanup_gpt_ SlGpt *gpt = NULL, *again = NULL;
	char name[SL_GPT_NAME_MAX], u[SL_UUID_STRING_MAX];
	const uint64_t G = 1024 * MiB;

	ASSERT_OK(sl_gpt_layout_parse(sl_gpt_default_layout, &l));
	ASSERT_EQ(l->n_parts, 6);
	ASSERT_OK(sl_gpt_layout_build(l, 4 * G, 0, "seed", &gpt));
	ASSERT_EQ(gpt->sector_size, 512);
	ASSERT_STREQ(sl_gpt_entry_name(&gpt->entries[0], name), "EFI-SYSTEM");
	ASSERT_EQ(gpt->entries[0].first_lba, 2048);
	ASSERT_EQ(gpt->entries[0].last_lba, 2048 + 256 * 2048 - 1);
	ASSERT_EQ(gpt->entries[1].last_lba - gpt->entries[1].first_lba + 1, 2 * 1024 * 1024);
	ASSERT_STREQ(sl_uuid_format(&gpt->entries[4].type, u),
		     "77ff5f63-e7b6-4633-acf4-1565b864c0e6");
	ASSERT_STREQ(sl_uuid_format(&gpt->entries[5].type, u),
		     "4f68bce3-e8cd-4db1-96e7-fbcaf984b709");
	ASSERT_UEQ(gpt->entries[5].attributes, SL_GPT_ATTR_GROWFS);
	ASSERT_EQ(gpt->entries[5].last_lba, 8386559); /* (8388574 + 1) down to 1 MiB, - 1 */
	/* Derived UUIDs: stable for a seed, different per label and per seed. */
	ASSERT_OK(sl_gpt_layout_build(l, 8 * G, 0, "seed", &again));
	ASSERT_TRUE(sl_uuid_equal(&gpt->disk_guid, &again->disk_guid));
	ASSERT_TRUE(sl_uuid_equal(&gpt->entries[5].uuid, &again->entries[5].uuid));
	ASSERT_FALSE(sl_uuid_equal(&gpt->entries[4].uuid, &gpt->entries[5].uuid));
	ASSERT_EQ(gpt->entries[5].uuid.b[6] >> 4, 4);
	sl_gpt_free(TAKE_PTR(again));
	ASSERT_OK(sl_gpt_layout_build(l, 8 * G, 0, "other", &again));
	ASSERT_FALSE(sl_uuid_equal(&gpt->entries[5].uuid, &again->entries[5].uuid));
	sl_gpt_free(TAKE_PTR(again));
	/* Too small for the fixed partitions. */
	sl_error_clear();
	ASSERT_ERR(sl_gpt_layout_build(l, 2 * G, 0, NULL, &again), -ENOSPC);
	ASSERT_TRUE(message_has(-ENOSPC, "partition 'USR-B' (line 6) does not fit"));
	ASSERT_OK(sl_gpt_layout_build(l, 4 * G, 4096, NULL, &again));
	ASSERT_EQ(again->entries[0].first_lba, 256);
}

TEST(layout_options)
{
	static const char text[] =
		"# a comment\n"
		"\n"
		"sector-size 4096\n"
		"arch arm64\n"
		"entries 256\n"
		"align 1M   # trailing comment\n"
		"disk-uuid 01234567-89ab-cdef-0123-456789abcdef\n"
		"partition \"My Data\" 1M linux-generic uuid=random\n"
		"partition ROOT rest root uuid=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee "
		"attrs=0,2,48,no-auto\n"
		"partition TAIL 1M 0fc63daf-8483-4772-8e79-3d69d8477de4\n";
	_cleanup_gpt_layout_ SlGptLayout *l = NULL;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	char u[SL_UUID_STRING_MAX], name[SL_GPT_NAME_MAX];

	ASSERT_OK(sl_gpt_layout_parse(text, &l));
	ASSERT_OK(sl_gpt_layout_build(l, 64 * MiB, 0, NULL, &gpt));
	ASSERT_EQ(gpt->sector_size, 4096);
	ASSERT_EQ(gpt->entry_count, 256);
	ASSERT_EQ(gpt->first_usable_lba, 2 + 8);
	ASSERT_STREQ(sl_uuid_format(&gpt->disk_guid, u), "01234567-89ab-cdef-0123-456789abcdef");
	ASSERT_STREQ(sl_gpt_entry_name(&gpt->entries[0], name), "My Data");
	ASSERT_STREQ(sl_uuid_format(&gpt->entries[1].type, u),
		     "b921b045-1df0-41c3-af44-4c6f280d3fae");
	ASSERT_STREQ(sl_uuid_format(&gpt->entries[1].uuid, u),
		     "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	ASSERT_UEQ(gpt->entries[1].attributes,
		   UINT64_C(1) | 4 | UINT64_C(1) << 48 | SL_GPT_ATTR_NO_AUTO);
	/* TAIL sits at the end, ROOT fills the middle. */
	ASSERT_EQ(gpt->entries[2].first_lba, 62 * 256);
	ASSERT_EQ(gpt->entries[1].first_lba, 2 * 256);
	ASSERT_EQ(gpt->entries[1].last_lba, 62 * 256 - 1);
	sl_error_clear();
	ASSERT_ERR(sl_gpt_layout_build(l, 64 * MiB, 512, NULL, &gpt), -EINVAL);
}

TEST(layout_errors)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "partition A 1M esp\npartition B 1M nosuch\n", "line 2: unknown partition type" },
		{ "partition A 1M\n", "line 1: expected 'partition LABEL SIZE TYPE" },
		{ "partition A 1X esp\n", "line 1: '1X' is not a size" },
		{ "partition A 0 esp\n", "line 1: '0' is not a size" },
		{ "partition A rest esp\npartition B rest esp\n", "line 2: only one partition" },
		{ "partition A 1M esp\npartition A 1M esp\n", "line 2: label 'A' is already used" },
		{ "partition A 1M esp attrs=64\n", "line 1: unknown attribute '64'" },
		{ "partition A 1M esp attrs=shiny\n", "line 1: unknown attribute 'shiny'" },
		{ "partition A 1M esp uuid=nope\n", "line 1: 'nope' is not a UUID" },
		{ "partition A 1M esp colour=red\n", "line 1: unknown option 'colour=red'" },
		{ "partition \"A 1M esp\n", "line 1: unterminated quote" },
		{ "partition 1234567890123456789012345678901234567 1M esp\n",
		  "line 1: partition name" },
		{ "sector-size 1024\n", "line 1: sector size must be 512 or 4096" },
		{ "align 3K\n", "line 1: alignment must be a power of two" },
		{ "entries 16\n", "line 1: entries must be 128 to 8192" },
		{ "arch sparc\n", "line 1: unknown architecture 'sparc'" },
		{ "partition A 1M esp\narch arm64\n", "line 2: 'arch' must come before" },
		{ "bogus 1\n", "line 1: unknown keyword 'bogus'" },
		{ "# nothing\n", "the layout has no partitions" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		SlGptLayout *l = NULL;
		int r;

		sl_error_clear();
		r = sl_gpt_layout_parse(cases[i].text, &l);
		ASSERT_TRUE(r < 0);
		ASSERT_TRUE(l == NULL);
		if (!message_has(r, cases[i].msg))
			sl_test_fail(__FILE__, __LINE__, "case %zu: wanted '%s'", i, cases[i].msg);
	}
}

TEST(validate_refuses_duplicates)
{
	_cleanup_gpt_ SlGpt *gpt = NULL;

	ASSERT_OK(sl_gpt_new(4 * MiB, 512, 0, &gpt));
	gpt->entries[0] = (SlGptEntry){ .first_lba = 100, .last_lba = 200 };
	gpt->entries[0].type.b[0] = 1;
	gpt->entries[0].uuid.b[0] = 7;
	gpt->entries[1] = gpt->entries[0];
	gpt->entries[1].first_lba = 300;
	gpt->entries[1].last_lba = 400;
	sl_error_clear();
	ASSERT_ERR(sl_gpt_validate(gpt), -EEXIST);
	ASSERT_TRUE(message_has(-EEXIST, "partitions 1 and 2 have the same UUID"));
	memset(&gpt->entries[1].uuid, 0, 16);
	ASSERT_ERR(sl_gpt_validate(gpt), -EBADMSG);
	ASSERT_ERR(sl_gpt_new(4096, 512, 0, &gpt), -ENOSPC);
	ASSERT_ERR(sl_gpt_new(4 * MiB, 1024, 0, &gpt), -EOPNOTSUPP);
}
