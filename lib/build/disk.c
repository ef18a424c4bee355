/* SPDX-License-Identifier: MIT */
/*
 * The disk image: Slate's GPT layout (lib/gpt's default, DESIGN.md "Disk layout")
 * with slot A's PARTUUIDs from the root hash (data = first 128 bits, verity = last
 * 128 bits), the ESP, /usr and its verity tree in slot A, slot B empty, and an empty
 * ext4 ROOT that slate-init fills on first boot and grows to the disk. A sparse
 * file: only data is written.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "build-internal.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/gpt.h"
#include "slate/strutil.h"

#define SECTOR 512u

/* Copy src's data regions into dst_fd (named dst) at offset; it must fit in cap bytes. */
static int copy_into(const char *src, int dst_fd, const char *dst, uint64_t offset, uint64_t cap)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	uint64_t size;
	int r;

	if (in < 0)
		return sl_errorf(-errno, "%s: %s", src, strerror(errno));
	r = sl_fd_size(in, &size);
	if (r < 0)
		return r;
	if (size > cap)
		return sl_errorf(-ENOSPC, "%s (%llu bytes) does not fit its partition (%llu bytes)",
				 src, (unsigned long long)size, (unsigned long long)cap);
	return sl_copy_data(in, src, size, dst_fd, offset, dst);
}

/* An empty ext4 for ROOT, reproducible: derived UUID and hash seed, fixed time. */
static int make_root_fs(SlBuild *b, const char *path, uint64_t size)
{
	char uuid[SL_UUID_STRING_MAX], seed[SL_UUID_STRING_MAX], opts[128], size_k[32];
	const char *argv[] = { "mkfs.ext4", "-q", "-F", "-L", "ROOT", "-U",
			       uuid,	    "-E", opts, path, size_k, NULL };
	SlUuid u;
	int r;

	r = sl_build_derive_uuid(b, "root-fs-uuid", &u);
	if (r < 0)
		return r;
	sl_uuid_format(&u, uuid);
	r = sl_build_derive_uuid(b, "root-fs-hash-seed", &u);
	if (r < 0)
		return r;
	sl_uuid_format(&u, seed);
	snprintf(opts, sizeof(opts), "root_owner=0:0,hash_seed=%s", seed);
	snprintf(size_k, sizeof(size_k), "%lluk", (unsigned long long)(size / 1024));
	(void)unlink(path);
	return sl_build_spawn(b, argv, -1);
}

/* The entry index of the partition labelled label. */
static int part_index(const SlGpt *gpt, const char *label)
{
	int idx = sl_gpt_find_label(gpt, label);

	return idx < 0 ? sl_error_prefix(idx, "partition %s: ", label) : idx;
}

static uint64_t part_size(const SlGpt *gpt, int idx)
{
	return (gpt->entries[idx].last_lba - gpt->entries[idx].first_lba + 1) * SECTOR;
}

int sl_build_disk(SlBuild *b, const char *esp)
{
	_cleanup_gpt_layout_ SlGptLayout *layout = NULL;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	_cleanup_free_ char *path = sl_build_out_path(b, "slate.img");
	_cleanup_free_ char *tmp = sl_build_out_path(b, ".slate.img.tmp");
	_cleanup_free_ char *usr = sl_build_out_path(b, "usr.erofs");
	_cleanup_free_ char *verity = sl_build_out_path(b, "usr.verity");
	_cleanup_free_ char *rootfs = sl_build_work_path(b, "root.ext4");
	_cleanup_close_ int fd = -1;
	const struct {
		const char *label;
		const char *file;
	} parts[] = {
		{ "EFI-SYSTEM", esp },
		{ "USR-A", usr },
		{ "USR-A-VERITY", verity },
		{ "ROOT", rootfs },
	};
	SlGptSlot slot;
	SlGptOps ops;
	uint8_t seed_bytes[32];
	char seed[65];
	int r;

	if (!path || !tmp || !usr || !verity || !rootfs)
		return -ENOMEM;
	r = sl_gpt_layout_parse(sl_gpt_default_layout, &layout);
	if (r < 0)
		return r;
	/* Partition and disk UUIDs derived from the release, so that the same build
	 * gives the same disk; slot A's from the root hash (below). */
	sl_build_derive(b, "gpt-seed", seed_bytes);
	for (size_t i = 0; i < 16; i++)
		snprintf(seed + 2 * i, 3, "%02x", seed_bytes[i]);
	r = sl_gpt_layout_build(layout, b->c->disk_size, SECTOR, seed, &gpt);
	if (r < 0)
		return r;
	r = sl_gpt_find_slot(gpt, 'A', &slot);
	if (r < 0)
		return r;
	r = sl_gpt_usrhash_partuuids(b->root_hash, sizeof(b->root_hash),
				     &gpt->entries[slot.data].uuid,
				     &gpt->entries[slot.verity].uuid);
	if (r < 0)
		return r;
	r = part_index(gpt, "ROOT");
	if (r < 0)
		return r;
	r = make_root_fs(b, rootfs, part_size(gpt, r));
	if (r < 0)
		return r;

	(void)unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_errorf(-errno, "%s: %s", tmp, strerror(errno));
	if (ftruncate(fd, (off_t)b->c->disk_size) < 0)
		return sl_errorf(-errno, "%s: %s", tmp, strerror(errno));
	r = sl_gpt_ops_from_fd(fd, SECTOR, &ops);
	if (r >= 0)
		r = sl_gpt_write(&ops, gpt, NULL);
	if (r < 0)
		return sl_error_prefix(r, "writing the partition table: ");
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		int idx = part_index(gpt, parts[i].label);

		if (idx < 0)
			return idx;
		r = copy_into(parts[i].file, fd, tmp, gpt->entries[idx].first_lba * SECTOR,
			      part_size(gpt, idx));
		if (r < 0)
			return sl_error_prefix(r, "partition %s: ", parts[i].label);
	}
	if (fsync(fd) < 0)
		return -errno;
	if (rename(tmp, path) < 0)
		return sl_errorf(-errno, "%s: %s", path, strerror(errno));
	return 0;
}
