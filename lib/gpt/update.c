/* SPDX-License-Identifier: MIT */
/*
 * The two in-place table updates a Slate node makes: the /usr slot PARTUUIDs after
 * an update fills a slot (SPEC.md §1.8), and growing ROOT on first boot. Both are
 * one sl_gpt_write(), whose write order makes them crash-safe.
 */
#include "slate/error.h"
#include "slate/gpt.h"

#define FILL_ALIGN (1u << 20) /* bytes: the end of a grown partition (sgdisk's grain) */

static int find_typed(const SlGpt *gpt, const char *label, SlGptRole role)
{
	const SlGptType *t;
	int i;

	i = sl_gpt_find_label(gpt, label);
	if (i < 0)
		return i;
	t = sl_gpt_type_from_uuid(&gpt->entries[i].type);
	if (!t || t->role != role)
		return sl_errorf(-ENOENT, "partition %d '%s' does not have a %s type", i + 1, label,
				 role == SL_GPT_ROLE_USR ? "/usr" : "/usr verity");
	return i;
}

int sl_gpt_find_slot(const SlGpt *gpt, char slot, SlGptSlot *ret)
{
	char data[16], verity[16];
	int d, v;

	if (slot != 'A' && slot != 'B')
		return sl_errorf(-EINVAL, "slot '%c' does not exist (A or B)", slot);
	snprintf(data, sizeof(data), "USR-%c", slot);
	snprintf(verity, sizeof(verity), "USR-%c-VERITY", slot);
	d = find_typed(gpt, data, SL_GPT_ROLE_USR);
	if (d < 0)
		return d;
	v = find_typed(gpt, verity, SL_GPT_ROLE_USR_VERITY);
	if (v < 0)
		return v;
	*ret = (SlGptSlot){ .name = slot, .data = d, .verity = v };
	return 0;
}

int sl_gpt_usrhash_partuuids(const uint8_t *hash, size_t len, SlUuid *ret_data, SlUuid *ret_verity)
{
	if (len < 32 || len > 64)
		return sl_errorf(-EINVAL,
				 "a root hash of %zu bytes cannot name partitions "
				 "(32 to 64 bytes)",
				 len);
	/* systemd: the UUID text is the hash bytes in order (text order, not GUID order). */
	memcpy(ret_data->b, hash, 16);
	memcpy(ret_verity->b, hash + len - 16, 16);
	return 0;
}

static bool needs_repair(const SlGpt *gpt)
{
	return gpt->status &
	       (SL_GPT_PRIMARY_DAMAGED | SL_GPT_BACKUP_DAMAGED | SL_GPT_COPIES_DIFFER);
}

int sl_gpt_set_usr_partuuids(const SlGptOps *ops, char slot, const uint8_t *hash, size_t len)
{
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGpt old;
	SlUuid data, verity;
	SlGptSlot s;
	int r;

	r = sl_gpt_usrhash_partuuids(hash, len, &data, &verity);
	if (r < 0)
		return r;
	r = sl_gpt_read(ops, 0, &gpt);
	if (r < 0)
		return r;
	r = sl_gpt_find_slot(gpt, slot, &s);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		const SlGptEntry *e = &gpt->entries[i];
		char u[SL_UUID_STRING_MAX];

		if (!sl_gpt_entry_used(e) || (int)i == s.data || (int)i == s.verity)
			continue;
		if (sl_uuid_equal(&e->uuid, &data) || sl_uuid_equal(&e->uuid, &verity))
			return sl_errorf(-EEXIST,
					 "partition %u already has the UUID %s: "
					 "the root hash is already on this disk",
					 i + 1, sl_uuid_format(&e->uuid, u));
	}
	if (sl_uuid_equal(&gpt->entries[s.data].uuid, &data) &&
	    sl_uuid_equal(&gpt->entries[s.verity].uuid, &verity) && !needs_repair(gpt))
		return 0;
	old = (SlGpt){ .backup_lba = gpt->backup_lba, .status = gpt->status };
	gpt->entries[s.data].uuid = data;
	gpt->entries[s.verity].uuid = verity;
	return sl_gpt_write(ops, gpt, &old);
}

/* The partition to grow: the one with a DPS root type, else the one labelled ROOT. */
static int find_root(const SlGpt *gpt)
{
	int found = -1;

	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		const SlGptType *t = sl_gpt_type_from_uuid(&gpt->entries[i].type);

		if (!sl_gpt_entry_used(&gpt->entries[i]) || !t || t->role != SL_GPT_ROLE_ROOT)
			continue;
		if (found >= 0)
			return sl_errorf(-EBADMSG, "partitions %d and %u both have a root type",
					 found + 1, i + 1);
		found = (int)i;
	}
	if (found >= 0)
		return found;
	found = sl_gpt_find_label(gpt, "ROOT");
	return found == -ENOENT ? -1 : found;
}

static bool is_last(const SlGpt *gpt, int idx)
{
	for (uint32_t i = 0; i < gpt->entry_count; i++)
		if (sl_gpt_entry_used(&gpt->entries[i]) && (int)i != idx &&
		    gpt->entries[i].last_lba > gpt->entries[idx].last_lba)
			return false;
	return true;
}

int sl_gpt_grow(const SlGptOps *ops, SlGptGrowResult *ret)
{
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGptGrowResult res = { .partition = -1 };
	SlGpt old = { 0 };
	uint64_t n_array, align, end;
	int root, r;

	r = sl_gpt_read(ops, 0, &gpt);
	if (r < 0)
		return r;
	root = find_root(gpt);
	if (root < -1)
		return root;
	old.backup_lba = gpt->backup_lba;
	old.status = gpt->status;
	res.old_backup_lba = res.new_backup_lba = gpt->backup_lba;

	/* The backup array and header at the very end (UEFI §5.3.2). */
	n_array = ((uint64_t)gpt->entry_count * gpt->entry_size + gpt->sector_size - 1) /
		  gpt->sector_size;
	if (gpt->backup_lba != gpt->disk_lbas - 1) {
		gpt->backup_lba = gpt->disk_lbas - 1;
		gpt->backup_entries_lba = gpt->backup_lba - n_array;
		gpt->last_usable_lba = gpt->backup_entries_lba - 1;
		res.backup_moved = true;
		res.new_backup_lba = gpt->backup_lba;
	}
	/* ROOT up to the last usable LBA, its end on a 1 MiB boundary. */
	if (root >= 0 && is_last(gpt, root)) {
		SlGptEntry *e = &gpt->entries[root];

		align = MAX(FILL_ALIGN / gpt->sector_size, 1u);
		end = (gpt->last_usable_lba + 1) / align * align;
		res.partition = root;
		res.old_last_lba = res.new_last_lba = e->last_lba;
		if (end > e->last_lba + 1) {
			e->last_lba = end - 1;
			res.new_last_lba = e->last_lba;
		}
	}
	res.changed = res.backup_moved || res.new_last_lba != res.old_last_lba;
	if (res.changed || needs_repair(gpt))
		r = sl_gpt_write(ops, gpt, &old);
	if (r >= 0 && ret)
		*ret = res;
	return r;
}
