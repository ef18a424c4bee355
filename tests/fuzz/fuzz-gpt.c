/* SPDX-License-Identifier: MIT */
/*
 * GPT decoding: the input is a disk image, read at both sector sizes, as it is
 * and with its CRCs repaired (so mutations reach the checks behind them). What
 * reads and validates is then written back to a fresh disk and must read back
 * as the same table; the in-place updates run on a copy too.
 */
#include "slate/bytes.h"
#include "slate/crc32.h"
#include "slate/gpt.h"

#define MAX_INPUT (4u << 20)

/* Recompute the array and header CRCs of the headers at LBA 1 and the last LBA. */
static void fix_crcs(uint8_t *buf, size_t len, uint32_t ss)
{
	uint64_t where[2] = { 1, len / ss - 1 };

	for (int i = 0; i < 2; i++) {
		uint8_t *h = buf + where[i] * ss;
		uint64_t arr = sl_le64(h + 72), n = (uint64_t)sl_le32(h + 80) * sl_le32(h + 84);
		uint32_t hs = sl_le32(h + 12);

		if (arr < len / ss && n <= len - arr * ss)
			sl_put_le32(h + 88, sl_crc32(0, buf + arr * ss, n));
		if (hs >= 20 && hs <= ss) {
			sl_put_le32(h + 16, 0);
			sl_put_le32(h + 16, sl_crc32(0, h, hs));
		}
	}
}

static bool same_table(const SlGpt *a, const SlGpt *b)
{
	return sl_uuid_equal(&a->disk_guid, &b->disk_guid) &&
	       a->first_usable_lba == b->first_usable_lba &&
	       a->last_usable_lba == b->last_usable_lba && a->backup_lba == b->backup_lba &&
	       a->entry_count == b->entry_count && a->entry_size == b->entry_size &&
	       memcmp(a->entries, b->entries, a->entry_count * sizeof(SlGptEntry)) == 0;
}

static void exercise(const SlGpt *gpt, size_t len, uint32_t ss)
{
	SlGptMemory mem = { calloc(1, len), len };
	SlGptOps ops;
	SlGpt *again = NULL;
	SlGptSlot slot;

	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		char name[SL_GPT_NAME_MAX];
		SlGptEntry e = gpt->entries[i];

		sl_gpt_entry_name(&gpt->entries[i], name);
		if (strlen(name) >= SL_GPT_NAME_MAX)
			abort();
		(void)sl_gpt_type_from_uuid(&gpt->entries[i].type);
		/* A name that decodes without replacement encodes back to the same units. */
		if (!strstr(name, "\xef\xbf\xbd")) {
			size_t k;

			if (sl_gpt_entry_set_name(&e, name) < 0)
				abort();
			for (k = 0; k < SL_GPT_NAME_UNITS && gpt->entries[i].name[k]; k++)
				if (e.name[k] != gpt->entries[i].name[k])
					abort();
			if (k < SL_GPT_NAME_UNITS && e.name[k] != 0)
				abort();
		}
	}
	if (sl_gpt_find_slot(gpt, 'A', &slot) >= 0 &&
	    ((uint32_t)slot.data >= gpt->entry_count || (uint32_t)slot.verity >= gpt->entry_count))
		abort();
	if (!mem.buf)
		return;
	sl_gpt_ops_from_memory(&mem, ss, &ops);
	if (sl_gpt_validate(gpt) >= 0) {
		if (sl_gpt_write(&ops, gpt, NULL) < 0)
			abort();
		if (sl_gpt_read(&ops, 0, &again) < 0 || !same_table(gpt, again))
			abort();
		sl_gpt_free(again);
	}
	free(mem.buf);
}

static void one(const uint8_t *data, size_t size, uint32_t ss, bool repair, unsigned flags)
{
	SlGptMemory mem = { malloc(size), size };
	SlGptOps ops;
	SlGpt *gpt = NULL;
	static const uint8_t hash[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
					  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					  23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

	if (!mem.buf)
		return;
	memcpy(mem.buf, data, size);
	if (repair && size >= 2 * ss)
		fix_crcs(mem.buf, size, ss);
	sl_gpt_ops_from_memory(&mem, ss, &ops);
	if (sl_gpt_read(&ops, flags, &gpt) >= 0) {
		exercise(gpt, size, ss);
		sl_gpt_free(gpt);
		/* The in-place updates, on this copy: what they write reads back. */
		if (sl_gpt_set_usr_partuuids(&ops, 'A', hash, sizeof(hash)) >= 0) {
			if (sl_gpt_read(&ops, 0, &gpt) < 0)
				abort();
			sl_gpt_free(gpt);
		}
		if (sl_gpt_grow(&ops, NULL) >= 0) {
			if (sl_gpt_read(&ops, 0, &gpt) < 0)
				abort();
			sl_gpt_free(gpt);
		}
	}
	free(mem.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t sizes[] = { 512, 4096 };

	if (size > MAX_INPUT)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		one(data, size, sizes[i], false, 0);
		one(data, size, sizes[i], true, SL_GPT_READ_ALLOW_OVERLAP);
	}
	return 0;
}
