/* SPDX-License-Identifier: MIT */
/*
 * GPT decoding, validation and encoding (UEFI 2.10 §5.2.3 protective MBR, §5.3.2
 * header, §5.3.3 entries; SPEC.md §4.1). All disk access goes through SlGptOps.
 */
#include <inttypes.h>
#include <stdarg.h>

#include "slate/bytes.h"
#include "slate/crc32.h"
#include "slate/error.h"
#include "slate/gpt.h"

#define GPT_SIGNATURE  "EFI PART"
#define GPT_REVISION_1 0x00010000u
#define MBR_TYPE_GPT   0xee
#define MBR_RECORDS    446 /* four 16-byte partition records (UEFI table 5-3) */
#define MBR_SIGNATURE  510

/* One copy of the table as read from disk (a header and its array). */
typedef struct GptCopy {
	uint64_t my_lba;
	uint32_t revision;
	uint32_t header_size;
	uint64_t alternate_lba;
	uint64_t first_usable;
	uint64_t last_usable;
	SlUuid disk_guid;
	uint64_t entries_lba;
	uint32_t entry_count;
	uint32_t entry_size;
	uint32_t entries_crc;
	uint8_t *array; /* owned, entry_count * entry_size bytes */
	int r;		/* 0 when valid */
	char problem[SL_GPT_WARNING_MAX];
} GptCopy;

static void copy_done(GptCopy *c)
{
	free(c->array);
	c->array = NULL;
}

void sl_gpt_free(SlGpt *gpt)
{
	if (!gpt)
		return;
	free(gpt->entries);
	free(gpt->entry_tails);
	free(gpt);
}

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static uint64_t array_sectors(uint32_t count, uint32_t size, uint32_t ss)
{
	return div_round_up((uint64_t)count * size, ss);
}

_printf_(2, 3) static void add_warning(SlGpt *gpt, const char *fmt, ...)
{
	va_list ap;

	if (gpt->n_warnings >= SL_GPT_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(gpt->warnings[gpt->n_warnings++], SL_GPT_WARNING_MAX, fmt, ap);
	va_end(ap);
}

/* ---- names: UTF-16LE code units <-> UTF-8 ---- */

static size_t put_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

char *sl_gpt_entry_name(const SlGptEntry *e, char out[static SL_GPT_NAME_MAX])
{
	size_t o = 0;

	/* Each unit yields at most 3 bytes (a surrogate pair: 4 bytes for 2 units). */
	for (size_t i = 0; i < SL_GPT_NAME_UNITS && e->name[i]; i++) {
		uint32_t u = e->name[i], cp = u;

		if (u >= 0xd800 && u <= 0xdbff && i + 1 < SL_GPT_NAME_UNITS &&
		    e->name[i + 1] >= 0xdc00 && e->name[i + 1] <= 0xdfff) {
			cp = 0x10000 + ((u - 0xd800) << 10) + (e->name[i + 1] - 0xdc00u);
			i++;
		} else if (u >= 0xd800 && u <= 0xdfff) {
			cp = 0xfffd;
		}
		o += put_utf8(cp, out + o);
	}
	out[o] = 0;
	return out;
}

/* Next code point of NUL-terminated UTF-8 at *p; -EBADMSG when malformed. */
static int next_utf8(const unsigned char **p, uint32_t *ret)
{
	const unsigned char *s = *p;
	uint32_t cp, min;
	int n;

	if (s[0] < 0x80) {
		cp = s[0];
		n = 0;
		min = 0;
	} else if ((s[0] & 0xe0) == 0xc0) {
		cp = s[0] & 0x1f;
		n = 1;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		cp = s[0] & 0x0f;
		n = 2;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		cp = s[0] & 0x07;
		n = 3;
		min = 0x10000;
	} else {
		return -EBADMSG;
	}
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -EBADMSG;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -EBADMSG;
	*p = s + n + 1;
	*ret = cp;
	return 0;
}

int sl_gpt_entry_set_name(SlGptEntry *e, const char *utf8)
{
	uint16_t units[SL_GPT_NAME_UNITS] = { 0 };
	const unsigned char *p = (const unsigned char *)utf8;
	size_t n = 0;

	while (*p) {
		uint32_t cp;

		if (next_utf8(&p, &cp) < 0)
			return sl_errorf(-EBADMSG, "partition name '%s' is not valid UTF-8", utf8);
		if (n + (cp >= 0x10000 ? 2 : 1) > SL_GPT_NAME_UNITS)
			return sl_errorf(-E2BIG,
					 "partition name '%s' is longer than %d UTF-16 units", utf8,
					 SL_GPT_NAME_UNITS);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			units[n++] = (uint16_t)(0xd800 + (cp >> 10));
			units[n++] = (uint16_t)(0xdc00 + (cp & 0x3ff));
		} else {
			units[n++] = (uint16_t)cp;
		}
	}
	memcpy(e->name, units, sizeof(units));
	return 0;
}

int sl_gpt_find_label(const SlGpt *gpt, const char *label)
{
	int found = -ENOENT;

	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		char name[SL_GPT_NAME_MAX];

		if (!sl_gpt_entry_used(&gpt->entries[i]) ||
		    !streq(sl_gpt_entry_name(&gpt->entries[i], name), label))
			continue;
		if (found >= 0)
			return sl_errorf(-EBADMSG, "partitions %d and %u are both labelled '%s'",
					 found + 1, i + 1, label);
		found = (int)i;
	}
	if (found < 0)
		return sl_errorf(-ENOENT, "no partition labelled '%s'", label);
	return found;
}

/* ---- decoding one copy ---- */

/*
 * Decode and check the header in sector (at my_lba) against a disk of disk_lbas
 * sectors, in the order UEFI §5.3.2 gives: signature, size, CRC, MyLBA, then the
 * fields. Records the problem with sl_errorf.
 */
static int decode_header(const uint8_t *sector, uint32_t ss, uint64_t my_lba, uint64_t disk_lbas,
			 GptCopy *c)
{
	SlReader rd = sl_reader(sector, ss);
	uint8_t guid[16], crc_zeroed[4] = { 0 };
	uint32_t stored_crc, crc;
	uint64_t n_array, array_bytes;

	if (memcmp(sector, GPT_SIGNATURE, 8) != 0)
		return sl_errorf(-EBADMSG, "no GPT signature at LBA %" PRIu64, my_lba);
	sl_reader_skip(&rd, 8);
	c->revision = sl_reader_le32(&rd);
	c->header_size = sl_reader_le32(&rd);
	stored_crc = sl_reader_le32(&rd);
	sl_reader_skip(&rd, 4); /* reserved */
	c->my_lba = sl_reader_le64(&rd);
	c->alternate_lba = sl_reader_le64(&rd);
	c->first_usable = sl_reader_le64(&rd);
	c->last_usable = sl_reader_le64(&rd);
	sl_reader_copy(&rd, guid, 16);
	c->entries_lba = sl_reader_le64(&rd);
	c->entry_count = sl_reader_le32(&rd);
	c->entry_size = sl_reader_le32(&rd);
	c->entries_crc = sl_reader_le32(&rd);
	if (!sl_reader_ok(&rd))
		return sl_errorf(-EBADMSG, "GPT header at LBA %" PRIu64 " is truncated", my_lba);
	sl_uuid_from_guid(guid, &c->disk_guid);

	if (c->header_size < SL_GPT_HEADER_MIN_SIZE || c->header_size > ss)
		return sl_errorf(-EBADMSG,
				 "GPT header at LBA %" PRIu64 ": header size %" PRIu32
				 " is not between 92 and the sector size %" PRIu32,
				 my_lba, c->header_size, ss);
	crc = sl_crc32(0, sector, 16);
	crc = sl_crc32(crc, crc_zeroed, 4);
	crc = sl_crc32(crc, sector + 20, c->header_size - 20);
	if (crc != stored_crc)
		return sl_errorf(-EBADMSG,
				 "GPT header at LBA %" PRIu64
				 ": header CRC mismatch (stored %08" PRIx32 ", computed %08" PRIx32
				 ")",
				 my_lba, stored_crc, crc);
	if (c->revision >> 16 != 1)
		return sl_errorf(-EOPNOTSUPP,
				 "GPT header at LBA %" PRIu64
				 ": revision %u.%u is not supported (1.x)",
				 my_lba, c->revision >> 16, c->revision & 0xffff);
	if (c->my_lba != my_lba)
		return sl_errorf(-EBADMSG,
				 "GPT header at LBA %" PRIu64 " says it is at LBA %" PRIu64, my_lba,
				 c->my_lba);
	if (c->entry_size < SL_GPT_ENTRY_MIN_SIZE || !sl_is_pow2(c->entry_size))
		return sl_errorf(-EBADMSG,
				 "GPT header at LBA %" PRIu64 ": entry size %" PRIu32
				 " is not 128 x 2^n",
				 my_lba, c->entry_size);
	if (c->entry_size > SL_GPT_MAX_ENTRY_SIZE)
		return sl_errorf(-E2BIG,
				 "GPT header at LBA %" PRIu64 ": entry size %" PRIu32
				 " is over the cap of %d",
				 my_lba, c->entry_size, SL_GPT_MAX_ENTRY_SIZE);
	if (c->entry_count == 0)
		return sl_errorf(-EBADMSG, "GPT header at LBA %" PRIu64 ": zero partition entries",
				 my_lba);
	array_bytes = (uint64_t)c->entry_count * c->entry_size;
	if (array_bytes > SL_GPT_MAX_ARRAY_BYTES)
		return sl_errorf(-E2BIG,
				 "GPT header at LBA %" PRIu64 ": %" PRIu32 " entries of %" PRIu32
				 " bytes exceed the cap of %u bytes",
				 my_lba, c->entry_count, c->entry_size, SL_GPT_MAX_ARRAY_BYTES);
	n_array = div_round_up(array_bytes, ss);

	if (c->last_usable >= disk_lbas || c->alternate_lba >= disk_lbas)
		return sl_errorf(-EBADMSG,
				 "GPT header at LBA %" PRIu64
				 " describes a disk of at least %" PRIu64
				 " sectors, but the disk has %" PRIu64 " (truncated image?)",
				 my_lba, MAX(c->last_usable, c->alternate_lba) + 1, disk_lbas);
	if (c->first_usable > c->last_usable || c->first_usable == 0)
		return sl_errorf(-EBADMSG,
				 "GPT header at LBA %" PRIu64 ": usable area %" PRIu64 "..%" PRIu64
				 " is empty or includes LBA 0",
				 my_lba, c->first_usable, c->last_usable);
	if ((my_lba >= c->first_usable && my_lba <= c->last_usable) ||
	    (c->alternate_lba >= c->first_usable && c->alternate_lba <= c->last_usable) ||
	    c->alternate_lba == my_lba || c->alternate_lba == 0)
		return sl_errorf(-EBADMSG,
				 "GPT header at LBA %" PRIu64 ": header LBAs %" PRIu64
				 " and %" PRIu64 " clash with the usable area %" PRIu64
				 "..%" PRIu64,
				 my_lba, my_lba, c->alternate_lba, c->first_usable, c->last_usable);
	/* The array: inside the disk, not on LBA 0, the headers or the usable area. */
	if (c->entries_lba == 0 || !sl_range_ok(c->entries_lba, n_array, disk_lbas) ||
	    (my_lba >= c->entries_lba && my_lba < c->entries_lba + n_array) ||
	    (c->alternate_lba >= c->entries_lba && c->alternate_lba < c->entries_lba + n_array) ||
	    (c->entries_lba <= c->last_usable && c->entries_lba + n_array > c->first_usable))
		return sl_errorf(-EBADMSG,
				 "GPT header at LBA %" PRIu64 ": entry array at LBA %" PRIu64
				 " (%" PRIu64 " sectors) overlaps a header, the usable area "
				 "or the end of the disk",
				 my_lba, c->entries_lba, n_array);
	return 0;
}

/* Read and check the copy whose header is at lba. On failure c->r and c->problem. */
static void read_copy(const SlGptOps *ops, uint64_t lba, uint64_t disk_lbas, GptCopy *c)
{
	uint32_t ss = ops->sector_size;
	_cleanup_free_ uint8_t *sector = malloc(ss);
	uint64_t len;
	int r;

	*c = (GptCopy){ .my_lba = lba };
	if (!sector) {
		c->r = -ENOMEM;
		return;
	}
	sl_error_clear();
	if (lba >= disk_lbas)
		r = sl_errorf(-EBADMSG, "LBA %" PRIu64 " is beyond the end of the disk", lba);
	else
		r = ops->read(ops->userdata, sector, ss, lba * ss);
	if (r >= 0)
		r = decode_header(sector, ss, lba, disk_lbas, c);
	if (r >= 0) {
		len = (uint64_t)c->entry_count * c->entry_size;
		c->array = malloc(len);
		if (!c->array)
			r = -ENOMEM;
	}
	if (r >= 0)
		r = ops->read(ops->userdata, c->array, len, c->entries_lba * ss);
	if (r >= 0 && sl_crc32(0, c->array, len) != c->entries_crc)
		r = sl_errorf(-EBADMSG,
			      "entry array at LBA %" PRIu64
			      " does not match its CRC in the header at LBA %" PRIu64,
			      c->entries_lba, lba);
	if (r < 0) {
		c->r = r;
		snprintf(c->problem, sizeof(c->problem), "%s", sl_error_message(r));
		copy_done(c);
	}
}

/* What differs between two valid copies ("" when they hold the same table). */
static const char *copies_differ(const GptCopy *p, const GptCopy *b)
{
	if (!sl_uuid_equal(&p->disk_guid, &b->disk_guid))
		return "disk GUID";
	if (p->first_usable != b->first_usable || p->last_usable != b->last_usable)
		return "usable area";
	if (p->entry_count != b->entry_count || p->entry_size != b->entry_size)
		return "entry count or size";
	if (memcmp(p->array, b->array, (size_t)p->entry_count * p->entry_size) != 0)
		return "partition entries";
	if (b->alternate_lba != p->my_lba)
		return "the backup's AlternateLBA";
	return "";
}

static void decode_entries(const GptCopy *c, SlGpt *gpt)
{
	for (uint32_t i = 0; i < c->entry_count; i++) {
		const uint8_t *p = c->array + (size_t)i * c->entry_size;
		SlReader rd = sl_reader(p, c->entry_size);
		SlGptEntry *e = &gpt->entries[i];
		uint8_t guid[16];

		sl_reader_copy(&rd, guid, 16);
		sl_uuid_from_guid(guid, &e->type);
		sl_reader_copy(&rd, guid, 16);
		sl_uuid_from_guid(guid, &e->uuid);
		e->first_lba = sl_reader_le64(&rd);
		e->last_lba = sl_reader_le64(&rd);
		e->attributes = sl_reader_le64(&rd);
		for (size_t k = 0; k < SL_GPT_NAME_UNITS; k++)
			e->name[k] = sl_reader_le16(&rd);
		if (gpt->entry_tails)
			memcpy(gpt->entry_tails + (size_t)i * (c->entry_size - 128), p + 128,
			       c->entry_size - 128);
	}
}

static int compare_by_start(const void *a, const void *b, void *userdata)
{
	const SlGptEntry *e = userdata;
	uint64_t x = e[*(const uint32_t *)a].first_lba, y = e[*(const uint32_t *)b].first_lba;

	return x < y ? -1 : x > y;
}

/*
 * Check the used entries: each inside the disk (always) and the usable area, no
 * two overlapping. With lenient, the last two are warnings.
 */
static int check_entries(SlGpt *gpt, bool lenient)
{
	_cleanup_free_ uint32_t *order = NULL;
	uint32_t n = 0;

	order = sl_malloc_array(gpt->entry_count, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		const SlGptEntry *e = &gpt->entries[i];

		if (!sl_gpt_entry_used(e))
			continue;
		if (e->first_lba > e->last_lba)
			return sl_errorf(-EBADMSG,
					 "partition %u: first LBA %" PRIu64
					 " is after its last LBA %" PRIu64,
					 i + 1, e->first_lba, e->last_lba);
		if (e->last_lba >= gpt->disk_lbas)
			return sl_errorf(-EBADMSG,
					 "partition %u (LBA %" PRIu64 "..%" PRIu64
					 ") extends past the end of the disk (last LBA %" PRIu64
					 ")",
					 i + 1, e->first_lba, e->last_lba, gpt->disk_lbas - 1);
		if (e->first_lba < gpt->first_usable_lba || e->last_lba > gpt->last_usable_lba) {
			if (!lenient)
				return sl_errorf(-EBADMSG,
						 "partition %u (LBA %" PRIu64 "..%" PRIu64
						 ") lies outside the usable area (LBA %" PRIu64
						 "..%" PRIu64 ")",
						 i + 1, e->first_lba, e->last_lba,
						 gpt->first_usable_lba, gpt->last_usable_lba);
			add_warning(gpt,
				    "partition %u (LBA %" PRIu64 "..%" PRIu64
				    ") lies outside the usable area (LBA %" PRIu64 "..%" PRIu64 ")",
				    i + 1, e->first_lba, e->last_lba, gpt->first_usable_lba,
				    gpt->last_usable_lba);
			gpt->status |= SL_GPT_OVERLAPS;
		}
		order[n++] = i;
	}
	qsort_r(order, n, sizeof(*order), compare_by_start, gpt->entries);
	for (uint32_t k = 1, prev = 0; k < n; k++) {
		const SlGptEntry *a = &gpt->entries[order[prev]], *b = &gpt->entries[order[k]];

		if (b->first_lba <= a->last_lba) {
			if (!lenient)
				return sl_errorf(-EBADMSG,
						 "partitions %u and %u overlap (LBA %" PRIu64
						 "..%" PRIu64 " and %" PRIu64 "..%" PRIu64 ")",
						 order[prev] + 1, order[k] + 1, a->first_lba,
						 a->last_lba, b->first_lba, b->last_lba);
			add_warning(gpt,
				    "partitions %u and %u overlap (LBA %" PRIu64 "..%" PRIu64
				    " and %" PRIu64 "..%" PRIu64 ")",
				    order[prev] + 1, order[k] + 1, a->first_lba, a->last_lba,
				    b->first_lba, b->last_lba);
			gpt->status |= SL_GPT_OVERLAPS;
		}
		if (b->last_lba > a->last_lba)
			prev = k;
	}
	return 0;
}

static void warn_duplicate_uuids(SlGpt *gpt)
{
	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		if (!sl_gpt_entry_used(&gpt->entries[i]))
			continue;
		for (uint32_t k = i + 1; k < gpt->entry_count; k++) {
			char s[SL_UUID_STRING_MAX];

			if (sl_gpt_entry_used(&gpt->entries[k]) &&
			    sl_uuid_equal(&gpt->entries[i].uuid, &gpt->entries[k].uuid)) {
				add_warning(gpt, "partitions %u and %u have the same UUID %s",
					    i + 1, k + 1, sl_uuid_format(&gpt->entries[i].uuid, s));
				return;
			}
		}
	}
}

/*
 * LBA 0 (UEFI §5.2.3): a protective MBR has a 0xEE record. A real MBR partition
 * table there (records but no 0xEE) means the GPT headers are stale: refuse.
 */
static int check_mbr(const SlGptOps *ops, SlGpt *gpt)
{
	uint8_t mbr[512];
	bool protective = false, others = false;
	int r;

	r = ops->read(ops->userdata, mbr, sizeof(mbr), 0);
	if (r < 0)
		return r;
	if (sl_le16(mbr + MBR_SIGNATURE) == 0xaa55) {
		for (int i = 0; i < 4; i++) {
			const uint8_t *rec = mbr + MBR_RECORDS + 16 * i;

			if (rec[4] == MBR_TYPE_GPT)
				protective = true;
			else if (rec[4] != 0)
				others = true;
		}
	}
	if (!protective && others)
		return sl_errorf(-EBADMSG, "LBA 0 holds an MBR partition table, not a protective "
					   "MBR: the GPT headers are stale");
	if (!protective) {
		gpt->status |= SL_GPT_MBR_NOT_PROTECTIVE;
		add_warning(gpt, "LBA 0 has no protective MBR (firmware and kernels may ignore "
				 "this GPT)");
	} else if (others) {
		gpt->status |= SL_GPT_MBR_HYBRID;
		add_warning(gpt, "LBA 0 holds a hybrid MBR");
	}
	return 0;
}

static int check_ops(const SlGptOps *ops, uint64_t *ret_lbas)
{
	uint32_t ss = ops->sector_size;

	if (ss != 512 && ss != 4096)
		return sl_errorf(-EOPNOTSUPP,
				 "sector size %" PRIu32 " is not supported (512 or 4096)", ss);
	/* MBR, two headers, two one-sector arrays and one usable sector at least. */
	if (ops->size / ss < 6)
		return sl_errorf(-EBADMSG,
				 "the disk (%" PRIu64
				 " bytes) is too small to hold a GPT (truncated image?)",
				 ops->size);
	*ret_lbas = ops->size / ss;
	return 0;
}

int sl_gpt_read(const SlGptOps *ops, unsigned flags, SlGpt **ret)
{
	_cleanup_gpt_ SlGpt *gpt = NULL;
	GptCopy p, b;
	const GptCopy *use;
	uint64_t disk_lbas = 0;
	int r;

	r = check_ops(ops, &disk_lbas);
	if (r < 0)
		return r;
	gpt = calloc(1, sizeof(*gpt));
	if (!gpt)
		return -ENOMEM;
	gpt->sector_size = ops->sector_size;
	gpt->disk_lbas = disk_lbas;
	r = check_mbr(ops, gpt);
	if (r < 0)
		return r;

	/* UEFI §5.3.2: the primary at LBA 1; the backup where it points, or at the
	 * last LBA when the primary cannot be trusted. */
	read_copy(ops, 1, disk_lbas, &p);
	read_copy(ops, p.r == 0 ? p.alternate_lba : disk_lbas - 1, disk_lbas, &b);
	if (p.r < 0 && b.r < 0) {
		r = p.r == -ENOMEM || b.r == -ENOMEM ? -ENOMEM : p.r;
		if (r == -EBADMSG && b.r != -EBADMSG)
			r = b.r;
		return sl_errorf(r, "no valid GPT: primary: %s; backup: %s", p.problem, b.problem);
	}
	if (p.r < 0) {
		gpt->status |= SL_GPT_PRIMARY_DAMAGED;
		add_warning(gpt,
			    "the primary GPT is damaged (%s); using the backup at LBA %" PRIu64,
			    p.problem, b.my_lba);
		use = &b;
	} else {
		use = &p;
		if (b.r < 0) {
			gpt->status |= SL_GPT_BACKUP_DAMAGED;
			add_warning(gpt, "the backup GPT is damaged (%s); using the primary",
				    b.problem);
		} else if (*copies_differ(&p, &b)) {
			gpt->status |= SL_GPT_COPIES_DIFFER;
			add_warning(gpt,
				    "the primary and backup GPT differ (%s); using the primary",
				    copies_differ(&p, &b));
		}
		if (p.alternate_lba != disk_lbas - 1) {
			gpt->status |= SL_GPT_BACKUP_NOT_AT_END;
			add_warning(gpt,
				    "the backup GPT header is at LBA %" PRIu64
				    ", not at the end of the disk (LBA %" PRIu64
				    "): the disk has grown ('slate disk grow' moves it)",
				    p.alternate_lba, disk_lbas - 1);
		}
	}

	gpt->disk_guid = use->disk_guid;
	gpt->revision = use->revision;
	gpt->header_size = use->header_size;
	gpt->first_usable_lba = use->first_usable;
	gpt->last_usable_lba = use->last_usable;
	gpt->entry_count = use->entry_count;
	gpt->entry_size = use->entry_size;
	gpt->primary_lba = 1;
	if (use == &p) {
		gpt->backup_lba = p.alternate_lba;
		gpt->primary_entries_lba = p.entries_lba;
		gpt->backup_entries_lba =
			b.r == 0 ? b.entries_lba
				 : p.alternate_lba - array_sectors(p.entry_count, p.entry_size,
								   ops->sector_size);
	} else {
		gpt->backup_lba = b.my_lba;
		gpt->backup_entries_lba = b.entries_lba;
		gpt->primary_entries_lba = 2; /* where UEFI puts it; checked before a write */
	}
	gpt->entries = calloc(use->entry_count, sizeof(*gpt->entries));
	if (!gpt->entries)
		r = -ENOMEM;
	if (r >= 0 && use->entry_size > 128) {
		gpt->entry_tails = sl_malloc_array(use->entry_count, use->entry_size - 128);
		if (!gpt->entry_tails)
			r = -ENOMEM;
	}
	if (r >= 0) {
		decode_entries(use, gpt);
		r = check_entries(gpt, flags & SL_GPT_READ_ALLOW_OVERLAP);
	}
	copy_done(&p);
	copy_done(&b);
	if (r < 0)
		return r;
	warn_duplicate_uuids(gpt);
	*ret = TAKE_PTR(gpt);
	return 0;
}

/* ---- new tables, validation, encoding, writing ---- */

int sl_gpt_new(uint64_t disk_bytes, uint32_t sector_size, uint32_t entry_count, SlGpt **ret)
{
	_cleanup_gpt_ SlGpt *gpt = NULL;
	uint64_t n_array, disk_lbas;
	int r;

	if (sector_size != 512 && sector_size != 4096)
		return sl_errorf(-EOPNOTSUPP,
				 "sector size %" PRIu32 " is not supported (512 or 4096)",
				 sector_size);
	if (entry_count == 0)
		entry_count = SL_GPT_DEFAULT_ENTRIES;
	if ((uint64_t)entry_count * SL_GPT_ENTRY_MIN_SIZE > SL_GPT_MAX_ARRAY_BYTES)
		return sl_errorf(-E2BIG, "%" PRIu32 " partition entries exceed the cap of %u bytes",
				 entry_count, SL_GPT_MAX_ARRAY_BYTES);
	disk_lbas = disk_bytes / sector_size;
	n_array = array_sectors(entry_count, SL_GPT_ENTRY_MIN_SIZE, sector_size);
	if (disk_lbas < 4 + 2 * n_array)
		return sl_errorf(-ENOSPC, "a disk of %" PRIu64 " bytes is too small for a GPT",
				 disk_bytes);
	gpt = calloc(1, sizeof(*gpt));
	if (!gpt)
		return -ENOMEM;
	gpt->entries = calloc(entry_count, sizeof(*gpt->entries));
	if (!gpt->entries)
		return -ENOMEM;
	r = sl_uuid_random(&gpt->disk_guid);
	if (r < 0)
		return r;
	gpt->sector_size = sector_size;
	gpt->disk_lbas = disk_lbas;
	gpt->revision = GPT_REVISION_1;
	gpt->header_size = SL_GPT_HEADER_MIN_SIZE;
	gpt->entry_count = entry_count;
	gpt->entry_size = SL_GPT_ENTRY_MIN_SIZE;
	gpt->primary_lba = 1;
	gpt->primary_entries_lba = 2;
	gpt->first_usable_lba = 2 + n_array;
	gpt->backup_lba = disk_lbas - 1;
	gpt->backup_entries_lba = gpt->backup_lba - n_array;
	gpt->last_usable_lba = gpt->backup_entries_lba - 1;
	*ret = TAKE_PTR(gpt);
	return 0;
}

static int validate_geometry(const SlGpt *gpt)
{
	uint64_t n_array;

	if (gpt->sector_size != 512 && gpt->sector_size != 4096)
		return sl_errorf(-EOPNOTSUPP, "sector size %" PRIu32 " is not supported",
				 gpt->sector_size);
	if (gpt->header_size < SL_GPT_HEADER_MIN_SIZE || gpt->header_size > gpt->sector_size)
		return sl_errorf(-EBADMSG, "header size %" PRIu32 " out of range",
				 gpt->header_size);
	if (gpt->entry_size < SL_GPT_ENTRY_MIN_SIZE || !sl_is_pow2(gpt->entry_size) ||
	    gpt->entry_size > SL_GPT_MAX_ENTRY_SIZE || gpt->entry_count == 0 ||
	    (uint64_t)gpt->entry_count * gpt->entry_size > SL_GPT_MAX_ARRAY_BYTES)
		return sl_errorf(-EBADMSG,
				 "%" PRIu32 " entries of %" PRIu32
				 " bytes: not a valid entry array",
				 gpt->entry_count, gpt->entry_size);
	n_array = array_sectors(gpt->entry_count, gpt->entry_size, gpt->sector_size);
	if (gpt->primary_lba != 1 || gpt->primary_entries_lba < 2 ||
	    gpt->primary_entries_lba + n_array > gpt->first_usable_lba ||
	    gpt->first_usable_lba > gpt->last_usable_lba ||
	    gpt->backup_entries_lba <= gpt->last_usable_lba ||
	    gpt->backup_entries_lba + n_array > gpt->backup_lba ||
	    gpt->backup_lba >= gpt->disk_lbas)
		return sl_errorf(-EBADMSG,
				 "inconsistent GPT geometry: arrays at LBA %" PRIu64 " and %" PRIu64
				 ", usable %" PRIu64 "..%" PRIu64 ", backup header %" PRIu64
				 ", disk %" PRIu64 " sectors",
				 gpt->primary_entries_lba, gpt->backup_entries_lba,
				 gpt->first_usable_lba, gpt->last_usable_lba, gpt->backup_lba,
				 gpt->disk_lbas);
	return 0;
}

int sl_gpt_validate(const SlGpt *gpt)
{
	SlGpt copy;
	int r;

	r = validate_geometry(gpt);
	if (r < 0)
		return r;
	/* check_entries() may add warnings; run it on a shallow copy. */
	copy = *gpt;
	copy.n_warnings = 0;
	r = check_entries(&copy, false);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		const SlGptEntry *e = &gpt->entries[i];
		char s[SL_UUID_STRING_MAX];

		if (!sl_gpt_entry_used(e))
			continue;
		if (sl_uuid_is_null(&e->uuid))
			return sl_errorf(-EBADMSG, "partition %u has a null UUID", i + 1);
		for (uint32_t k = i + 1; k < gpt->entry_count; k++)
			if (sl_gpt_entry_used(&gpt->entries[k]) &&
			    sl_uuid_equal(&e->uuid, &gpt->entries[k].uuid))
				return sl_errorf(-EEXIST,
						 "partitions %u and %u have the same UUID %s",
						 i + 1, k + 1, sl_uuid_format(&e->uuid, s));
	}
	return 0;
}

void sl_gpt_encoded_done(SlGptEncoded *enc)
{
	free(enc->mbr);
	free(enc->primary_header);
	free(enc->backup_header);
	free(enc->entries);
	*enc = (SlGptEncoded){ 0 };
}

static void encode_entries(const SlGpt *gpt, uint8_t *out)
{
	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		const SlGptEntry *e = &gpt->entries[i];
		uint8_t *p = out + (size_t)i * gpt->entry_size;

		sl_uuid_to_guid(&e->type, p);
		sl_uuid_to_guid(&e->uuid, p + 16);
		sl_put_le64(p + 32, e->first_lba);
		sl_put_le64(p + 40, e->last_lba);
		sl_put_le64(p + 48, e->attributes);
		for (size_t k = 0; k < SL_GPT_NAME_UNITS; k++)
			sl_put_le16(p + 56 + 2 * k, e->name[k]);
		if (gpt->entry_tails)
			memcpy(p + 128, gpt->entry_tails + (size_t)i * (gpt->entry_size - 128),
			       gpt->entry_size - 128);
	}
}

static void encode_header(const SlGpt *gpt, bool backup, uint32_t entries_crc, uint8_t *out)
{
	uint64_t my = backup ? gpt->backup_lba : gpt->primary_lba;
	uint64_t alt = backup ? gpt->primary_lba : gpt->backup_lba;

	memset(out, 0, gpt->sector_size);
	memcpy(out, GPT_SIGNATURE, 8);
	sl_put_le32(out + 8, gpt->revision);
	sl_put_le32(out + 12, gpt->header_size);
	sl_put_le64(out + 24, my);
	sl_put_le64(out + 32, alt);
	sl_put_le64(out + 40, gpt->first_usable_lba);
	sl_put_le64(out + 48, gpt->last_usable_lba);
	sl_uuid_to_guid(&gpt->disk_guid, out + 56);
	sl_put_le64(out + 72, backup ? gpt->backup_entries_lba : gpt->primary_entries_lba);
	sl_put_le32(out + 80, gpt->entry_count);
	sl_put_le32(out + 84, gpt->entry_size);
	sl_put_le32(out + 88, entries_crc);
	sl_put_le32(out + 16, sl_crc32(0, out, gpt->header_size));
}

/* The protective MBR record (UEFI §5.2.3 table 5-4). */
static void encode_mbr_record(uint8_t *rec, uint64_t disk_lbas)
{
	memset(rec, 0, 16);
	rec[2] = 0x02; /* StartingCHS 0x000200 */
	rec[4] = MBR_TYPE_GPT;
	rec[5] = rec[6] = rec[7] = 0xff; /* EndingCHS: not representable */
	sl_put_le32(rec + 8, 1);
	sl_put_le32(rec + 12, (uint32_t)MIN(disk_lbas - 1, UINT64_C(0xffffffff)));
}

int sl_gpt_encode(const SlGpt *gpt, SlGptEncoded *ret)
{
	SlGptEncoded enc = { 0 };
	uint32_t ss = gpt->sector_size;
	int r;

	r = sl_gpt_validate(gpt);
	if (r < 0)
		return r;
	enc.entries_len = array_sectors(gpt->entry_count, gpt->entry_size, ss) * ss;
	enc.mbr = calloc(1, ss);
	enc.primary_header = malloc(ss);
	enc.backup_header = malloc(ss);
	enc.entries = calloc(1, enc.entries_len);
	if (!enc.mbr || !enc.primary_header || !enc.backup_header || !enc.entries) {
		sl_gpt_encoded_done(&enc);
		return -ENOMEM;
	}
	encode_entries(gpt, enc.entries);
	enc.entries_crc = sl_crc32(0, enc.entries, (size_t)gpt->entry_count * gpt->entry_size);
	encode_header(gpt, false, enc.entries_crc, enc.primary_header);
	encode_header(gpt, true, enc.entries_crc, enc.backup_header);
	encode_mbr_record(enc.mbr + MBR_RECORDS, gpt->disk_lbas);
	sl_put_le16(enc.mbr + MBR_SIGNATURE, 0xaa55);
	*ret = enc;
	return 0;
}

/*
 * The MBR sector to write over cur (the sector on disk now), or false when it stays:
 * a protective MBR gets its size updated, a hybrid one is kept, anything else is
 * replaced by the protective MBR with the boot code area (0..439) kept.
 */
static bool mbr_update(const uint8_t *cur, const uint8_t *fresh, uint64_t disk_lbas, uint8_t *out)
{
	int ee = -1, others = 0;

	memcpy(out, cur, 512);
	if (sl_le16(cur + MBR_SIGNATURE) == 0xaa55)
		for (int i = 0; i < 4; i++) {
			uint8_t type = cur[MBR_RECORDS + 16 * i + 4];

			if (type == MBR_TYPE_GPT)
				ee = i;
			else if (type != 0)
				others++;
		}
	if (ee >= 0 && others)
		return false;
	if (ee >= 0)
		sl_put_le32(out + MBR_RECORDS + 16 * ee + 12,
			    (uint32_t)MIN(disk_lbas - 1, UINT64_C(0xffffffff)));
	else
		memcpy(out + 440, fresh + 440, 72);
	return memcmp(out, cur, 512) != 0;
}

static int write_lba(const SlGptOps *ops, uint64_t lba, const void *buf, size_t len)
{
	return ops->write(ops->userdata, buf, len, lba * ops->sector_size);
}

/* One copy, array before header, then a flush that makes it durable. */
static int write_copy(const SlGptOps *ops, const SlGpt *gpt, const SlGptEncoded *enc, bool backup)
{
	int r;

	r = write_lba(ops, backup ? gpt->backup_entries_lba : gpt->primary_entries_lba,
		      enc->entries, enc->entries_len);
	if (r >= 0)
		r = write_lba(ops, backup ? gpt->backup_lba : gpt->primary_lba,
			      backup ? enc->backup_header : enc->primary_header, ops->sector_size);
	if (r >= 0)
		r = ops->flush(ops->userdata);
	return r;
}

int sl_gpt_write(const SlGptOps *ops, const SlGpt *gpt, const SlGpt *old)
{
	SlGptEncoded enc;
	_cleanup_free_ uint8_t *sector = NULL;
	bool primary_first = old && (old->status & SL_GPT_PRIMARY_DAMAGED);
	uint8_t mbr[512];
	int r;

	if (ops->sector_size != gpt->sector_size || ops->size / ops->sector_size < gpt->disk_lbas)
		return sl_errorf(-EINVAL, "the table was made for another disk geometry");
	r = sl_gpt_encode(gpt, &enc);
	if (r < 0)
		return r;
	sector = calloc(1, ops->sector_size);
	if (!sector) {
		r = -ENOMEM;
		goto out;
	}
	/*
	 * One copy at a time, each made durable before the other is touched, so that
	 * one valid copy (old or new) exists at every moment. First the copy readers
	 * do not use now: normally the backup (readers use the primary while it is
	 * valid; once it is being rewritten they fall back to the backup, already
	 * new, at the end of the disk where they look for it); the primary first
	 * when it is the damaged one and readers live on the backup.
	 */
	r = write_copy(ops, gpt, &enc, !primary_first);
	if (r >= 0)
		r = write_copy(ops, gpt, &enc, primary_first);
	if (r < 0)
		goto out;
	/* Housekeeping that no reader depends on. */
	r = ops->read(ops->userdata, mbr, sizeof(mbr), 0);
	if (r >= 0 && mbr_update(mbr, enc.mbr, gpt->disk_lbas, sector))
		r = ops->write(ops->userdata, sector, 512, 0);
	/* The old backup header, if it now lies in the usable area (a grown disk),
	 * would be a stale but valid GPT header inside a partition. */
	if (r >= 0 && old && old->backup_lba >= gpt->first_usable_lba &&
	    old->backup_lba < gpt->backup_entries_lba) {
		memset(sector, 0, ops->sector_size);
		r = write_lba(ops, old->backup_lba, sector, ops->sector_size);
	}
	if (r >= 0)
		r = ops->flush(ops->userdata);
out:
	sl_gpt_encoded_done(&enc);
	return r;
}
