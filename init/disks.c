/* SPDX-License-Identifier: MIT */
/*
 * Finding /usr and ROOT without udev. The kernel announces disks in
 * /sys/class/block; slate-init polls it, reads each new disk's GPT itself
 * (lib/gpt: the kernel does not export PARTUUIDs), and waits until the
 * partitions it needs have their block devices, or until slate.timeout= runs out.
 *
 * /usr is named by its root hash (systemd's convention, SPEC.md §1.8): the data
 * partition's PARTUUID is the first 128 bits of usrhash=, the verity partition's
 * the last 128 bits. ROOT is root= or else the one Discoverable Partitions root
 * partition on the disk that holds /usr.
 */
#include <strings.h>

#include "init.h"
#include "slate/error.h"
#include "slate/hex.h"

#define POLL_MS 10

void init_disks_done(InitDisks *d)
{
	free(d->parts);
	*d = (InitDisks){ 0 };
}

/* The one partition matching, NULL when none; -EBADMSG via *ret_dup when several. */
typedef bool (*PartMatch)(const InitPartition *p, const void *arg);

static const InitPartition *find_one(const InitPartition *parts, size_t n, PartMatch match,
				     const void *arg, const InitPartition **ret_dup)
{
	const InitPartition *found = NULL;

	*ret_dup = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!match(&parts[i], arg))
			continue;
		if (found) {
			*ret_dup = &parts[i];
			return found;
		}
		found = &parts[i];
	}
	return found;
}

static bool match_uuid(const InitPartition *p, const void *arg)
{
	return sl_uuid_equal(&p->uuid, arg);
}

static bool match_label(const InitPartition *p, const void *arg)
{
	return streq(p->label, arg);
}

static bool match_name(const InitPartition *p, const void *arg)
{
	return streq(p->name, arg);
}

typedef struct RoleOnDisk {
	SlGptRole role;
	const char *disk;
} RoleOnDisk;

static bool match_role_on_disk(const InitPartition *p, const void *arg)
{
	const RoleOnDisk *r = arg;
	const SlGptType *t = sl_gpt_type_from_uuid(&p->type);

	return t && t->role == r->role &&
	       (t->arch == SL_GPT_ARCH_NATIVE || t->arch == SL_GPT_ARCH_ANY) &&
	       streq(p->disk, r->disk);
}

static int ambiguous(InitError *e, const char *what, const InitPartition *a, const InitPartition *b)
{
	return init_fail(e, INIT_FAIL_PARTITION_AMBIGUOUS, -EBADMSG, "%s: both %s and %s match",
			 what, a->name, b->name);
}

static int find_root(const InitPartition *parts, size_t n, const InitConfig *cfg,
		     const InitPartition *usr, InitFound *ret, InitError *e)
{
	const InitPartition *dup = NULL;
	char u[SL_UUID_STRING_MAX];
	RoleOnDisk rd = { SL_GPT_ROLE_ROOT, usr->disk };

	switch (cfg->root_kind) {
	case INIT_ROOT_PARTUUID:
		ret->root = find_one(parts, n, match_uuid, &cfg->root_partuuid, &dup);
		if (!ret->root)
			return init_fail(e, INIT_FAIL_ROOT_NOT_FOUND, -EAGAIN,
					 "ROOT: no partition with PARTUUID %s (root=)",
					 sl_uuid_format(&cfg->root_partuuid, u));
		break;
	case INIT_ROOT_PARTLABEL:
		ret->root = find_one(parts, n, match_label, cfg->root_name, &dup);
		if (!ret->root)
			return init_fail(e, INIT_FAIL_ROOT_NOT_FOUND, -EAGAIN,
					 "ROOT: no partition labelled %s (root=)", cfg->root_name);
		break;
	case INIT_ROOT_DEVICE:
		ret->root = find_one(parts, n, match_name, cfg->root_name, &dup);
		if (!ret->root)
			return init_fail(e, INIT_FAIL_ROOT_NOT_FOUND, -EAGAIN,
					 "ROOT: no GPT partition /dev/%s (root=)", cfg->root_name);
		break;
	case INIT_ROOT_AUTO:
	default:
		ret->root = find_one(parts, n, match_role_on_disk, &rd, &dup);
		if (!ret->root)
			return init_fail(
				e, INIT_FAIL_ROOT_NOT_FOUND, -EAGAIN,
				"ROOT: no partition of type root-%s on %s, the disk of /usr",
				sl_gpt_arch_name(SL_GPT_ARCH_NATIVE), usr->disk);
		break;
	}
	if (dup)
		return ambiguous(e, "ROOT", ret->root, dup);
	if (ret->root == usr || ret->root == ret->usr_verity)
		return init_fail(e, INIT_FAIL_ROOT_NOT_FOUND, -EINVAL,
				 "ROOT: root= names %s, a /usr partition", ret->root->name);
	return 0;
}

int init_find_partitions(const InitPartition *parts, size_t n, const InitConfig *cfg,
			 InitFound *ret, InitError *e)
{
	const InitPartition *dup_data, *dup_verity;
	SlUuid data_uuid, verity_uuid;
	char du[SL_UUID_STRING_MAX], vu[SL_UUID_STRING_MAX];
	RoleOnDisk sig;
	int r;

	*ret = (InitFound){ 0 };
	r = sl_gpt_usrhash_partuuids(cfg->usrhash, cfg->usrhash_size, &data_uuid, &verity_uuid);
	if (r < 0)
		return init_fail(e, INIT_FAIL_CMDLINE, r, "usrhash= has %zu bytes",
				 cfg->usrhash_size);
	sl_uuid_format(&data_uuid, du);
	sl_uuid_format(&verity_uuid, vu);

	ret->usr_data = find_one(parts, n, match_uuid, &data_uuid, &dup_data);
	ret->usr_verity = find_one(parts, n, match_uuid, &verity_uuid, &dup_verity);
	if (dup_data)
		return ambiguous(e, "/usr data (PARTUUID from usrhash=)", ret->usr_data, dup_data);
	if (dup_verity)
		return ambiguous(e, "/usr verity (PARTUUID from usrhash=)", ret->usr_verity,
				 dup_verity);
	if (!ret->usr_data && !ret->usr_verity)
		return init_fail(e, INIT_FAIL_USR_NOT_FOUND, -EAGAIN,
				 "/usr: no partition with PARTUUID %s (data) or %s (verity), the "
				 "halves of usrhash=",
				 du, vu);
	if (!ret->usr_verity)
		return init_fail(e, INIT_FAIL_USR_VERITY_MISSING, -EAGAIN,
				 "/usr: the data partition is %s, but no partition has the verity "
				 "PARTUUID %s (last 128 bits of usrhash=)",
				 ret->usr_data->name, vu);
	if (!ret->usr_data)
		return init_fail(e, INIT_FAIL_USR_DATA_MISSING, -EAGAIN,
				 "/usr: the verity partition is %s, but no partition has the data "
				 "PARTUUID %s (first 128 bits of usrhash=)",
				 ret->usr_verity->name, du);

	sig = (RoleOnDisk){ SL_GPT_ROLE_USR_VERITY_SIG, ret->usr_data->disk };
	for (size_t i = 0; i < n && ret->n_verity_sig < ARRAY_SIZE(ret->verity_sig); i++)
		if (match_role_on_disk(&parts[i], &sig))
			ret->verity_sig[ret->n_verity_sig++] = &parts[i];

	return find_root(parts, n, cfg, ret->usr_data, ret, e);
}

/* Disks worth reading a partition table from. */
static bool is_candidate_disk(const InitBlockDev *b)
{
	static const char *const skip[] = { "loop", "ram", "zram", "dm-", "sr", "fd", "md", "nbd" };

	if (b->partno != 0 || b->size == 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (strncmp(b->name, skip[i], strlen(skip[i])) == 0)
			return false;
	return true;
}

static bool disk_scanned(const InitDisks *d, const char *name)
{
	for (size_t i = 0; i < d->n_scanned; i++)
		if (streq(d->scanned[i], name))
			return true;
	return false;
}

static int mark_scanned(InitDisks *d, const char *name)
{
	if (d->n_scanned == ARRAY_SIZE(d->scanned))
		return -E2BIG;
	snprintf(d->scanned[d->n_scanned++], sizeof(d->scanned[0]), "%s", name);
	return 0;
}

/* Record the used GPT entries of disk; partition devices are filled in later. */
static int scan_disk(const InitOps *ops, InitDisks *d, const InitBlockDev *disk)
{
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGptOps io;
	size_t used = 0;
	int r;

	r = ops->block_open(ops->userdata, disk->name, false, &io);
	if (r < 0)
		return r; /* not openable yet: try again on the next round */
	r = sl_gpt_read(&io, 0, &gpt);
	ops->block_close(ops->userdata, &io);
	if (r < 0) {
		init_info(ops, "%s: no usable GPT (%s)", disk->name, sl_error_message(r));
		return mark_scanned(d, disk->name);
	}
	for (uint32_t i = 0; i < gpt->entry_count; i++)
		used += sl_gpt_entry_used(&gpt->entries[i]);
	if (used) {
		InitPartition *np = sl_realloc_array(d->parts, d->n_parts + used, sizeof(*np));

		if (!np)
			return -ENOMEM;
		d->parts = np;
	}
	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		const SlGptEntry *en = &gpt->entries[i];
		InitPartition *p;

		if (!sl_gpt_entry_used(en))
			continue;
		p = &d->parts[d->n_parts++];
		*p = (InitPartition){ .partno = i + 1, /* Linux numbers GPT slots from 1 */
				      .type = en->type,
				      .uuid = en->uuid,
				      .start = en->first_lba * gpt->sector_size,
				      .size = (en->last_lba - en->first_lba + 1) *
					      gpt->sector_size };
		snprintf(p->disk, sizeof(p->disk), "%s", disk->name);
		sl_gpt_entry_name(en, p->label);
	}
	init_info(ops, "%s: GPT with %zu partitions%s", disk->name, used,
		  gpt->status & SL_GPT_PRIMARY_DAMAGED ? " (primary header damaged, backup used)"
						       : "");
	return mark_scanned(d, disk->name);
}

/* Give every recorded partition its block device, once the kernel made it. */
static void attach_devices(InitDisks *d, const InitBlockDev *devs, size_t n_devs)
{
	for (size_t i = 0; i < d->n_parts; i++) {
		InitPartition *p = &d->parts[i];

		if (p->name[0])
			continue;
		for (size_t k = 0; k < n_devs; k++)
			if (devs[k].partno == p->partno && streq(devs[k].disk, p->disk)) {
				snprintf(p->name, sizeof(p->name), "%s", devs[k].name);
				p->major = devs[k].major;
				p->minor = devs[k].minor;
				break;
			}
	}
}

static bool has_device(const InitPartition *p)
{
	return p && p->name[0];
}

int init_wait_partitions(const InitOps *ops, const InitConfig *cfg, InitDisks *disks,
			 InitFound *ret, InitError *e)
{
	uint64_t start = ops->now_ms(ops->userdata), deadline = start + cfg->timeout_s * 1000ull;
	bool said_waiting = false;

	for (;;) {
		_cleanup_free_ InitBlockDev *devs = NULL;
		size_t n_devs = 0;
		int r;

		r = ops->list_block(ops->userdata, &devs, &n_devs);
		if (r < 0)
			return init_fail(e, INIT_FAIL_API_MOUNTS, r, "listing /sys/class/block: %s",
					 strerror(-r));
		for (size_t i = 0; i < n_devs; i++) {
			if (!is_candidate_disk(&devs[i]) || disk_scanned(disks, devs[i].name))
				continue;
			r = scan_disk(ops, disks, &devs[i]);
			if (r == -ENOMEM || r == -E2BIG)
				return init_fail(e, INIT_FAIL_USR_NOT_FOUND, r,
						 "too many disks or partitions");
		}
		attach_devices(disks, devs, n_devs);

		r = init_find_partitions(disks->parts, disks->n_parts, cfg, ret, e);
		if (r == 0 && has_device(ret->usr_data) && has_device(ret->usr_verity) &&
		    has_device(ret->root)) {
			init_info(ops, "found /usr %s + %s, ROOT %s after %llu ms",
				  ret->usr_data->name, ret->usr_verity->name, ret->root->name,
				  (unsigned long long)(ops->now_ms(ops->userdata) - start));
			return 0;
		}
		if (r < 0 && r != -EAGAIN)
			return r;
		if (r == 0)
			init_fail(
				e, INIT_FAIL_USR_NOT_FOUND, -EAGAIN,
				"the partitions were found but their block devices did not appear");
		if (ops->now_ms(ops->userdata) >= deadline) {
			/* Say which disks were looked at: the usual cause is the wrong one. */
			size_t len = strlen(e->what);

			snprintf(e->what + len, sizeof(e->what) - len,
				 " (after %u s; disks with a GPT: %zu, partitions: %zu)",
				 cfg->timeout_s, disks->n_scanned, disks->n_parts);
			e->err = -ETIMEDOUT;
			return e->err;
		}
		if (!said_waiting) {
			init_info(ops, "waiting up to %u s for the disks: %s", cfg->timeout_s,
				  e->what);
			said_waiting = true;
		}
		ops->sleep_ms(ops->userdata, POLL_MS);
	}
}
