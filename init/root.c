/* SPDX-License-Identifier: MIT */
/*
 * The root file system: ROOT (ext4, read-write) at /sysroot, the verified /usr
 * on it, /etc as an overlay of /usr/share/factory/etc (lower, read-only, part of
 * the release) and a directory on ROOT (upper: the machine's own changes).
 *
 * ROOT ships empty. The first boot creates the directories a merged-/usr system
 * expects; /etc/machine-id is left to systemd (its absence is systemd's own
 * first-boot signal). When the disk is larger than the image, ROOT's partition
 * grows to the end of the disk with lib/gpt's crash-safe update and its ext4
 * grows online (EXT4_IOC_RESIZE_FS); a failure there is a warning, not an
 * emergency: the machine still boots, just smaller.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include "init.h"
#include "slate/error.h"
#include "slate/bytes.h"
#include "slate/strutil.h"

/* ext2/3/4 superblock (at byte 1024): the fields we read. */
#define EXT4_MAGIC	       0xEF53
#define EXT4_SB_BLOCKS_LO      0x04
#define EXT4_SB_LOG_BLOCK_SIZE 0x18
#define EXT4_SB_MAGIC	       0x38
#define EXT4_SB_INCOMPAT       0x60
#define EXT4_SB_BLOCKS_HI      0x150
#define EXT4_INCOMPAT_64BIT    0x80

int init_ext4_size(const uint8_t *buf, size_t len, uint64_t *ret_blocks, uint32_t *ret_block_size)
{
	uint32_t log;
	uint64_t blocks;

	if (len < 1024 || sl_le16(buf + EXT4_SB_MAGIC) != EXT4_MAGIC)
		return -EBADMSG;
	log = sl_le32(buf + EXT4_SB_LOG_BLOCK_SIZE);
	if (log > 6) /* 1 KiB << 6 = 64 KiB, ext4's largest block */
		return -EBADMSG;
	blocks = sl_le32(buf + EXT4_SB_BLOCKS_LO);
	if (sl_le32(buf + EXT4_SB_INCOMPAT) & EXT4_INCOMPAT_64BIT)
		blocks |= (uint64_t)sl_le32(buf + EXT4_SB_BLOCKS_HI) << 32;
	if (blocks == 0)
		return -EBADMSG;
	*ret_blocks = blocks;
	*ret_block_size = 1024u << log;
	return 0;
}

/* Grow the partition table of ROOT's disk when the disk grew; tell the kernel. */
static void grow_partition(const InitOps *ops, const InitPartition *root, uint64_t *size)
{
	SlGptGrowResult res = { 0 };
	SlGptOps io;
	uint32_t sector;
	int r;

	r = ops->block_open(ops->userdata, root->disk, true, &io);
	if (r < 0) {
		init_warn(ops, "not growing ROOT: opening %s: %s", root->disk, strerror(-r));
		return;
	}
	sector = io.sector_size;
	r = sl_gpt_grow(&io, &res);
	ops->block_close(ops->userdata, &io);
	if (r < 0) {
		init_warn(ops, "not growing ROOT: %s: %s", root->disk, sl_error_message(r));
		return;
	}
	if (!res.changed)
		return;
	if (res.partition < 0 || (unsigned)res.partition + 1 != root->partno) {
		init_info(ops,
			  "%s grew; its backup GPT moved to the end (ROOT is not the last "
			  "partition, so it keeps its size)",
			  root->disk);
		return;
	}
	*size = (res.new_last_lba + 1) * sector - root->start;
	r = ops->resize_partition(ops->userdata, root->disk, root->partno, root->start, *size);
	if (r < 0) {
		init_warn(ops,
			  "ROOT %s grew in the GPT but the kernel did not take the new size: %s",
			  root->name, strerror(-r));
		*size = root->size;
		return;
	}
	init_info(ops, "grew ROOT %s from %llu to %llu MiB (the disk is larger than the image)",
		  root->name, (unsigned long long)(root->size >> 20),
		  (unsigned long long)(*size >> 20));
}

/* ext4's size before mounting, from its superblock. */
static int ext4_blocks(const InitOps *ops, const char *name, uint64_t *ret_blocks, uint32_t *ret_bs)
{
	uint8_t sb[1024];
	SlGptOps io;
	int r;

	r = ops->block_open(ops->userdata, name, false, &io);
	if (r < 0)
		return r;
	r = io.size >= 2048 ? io.read(io.userdata, sb, sizeof(sb), 1024) : -ENODATA;
	ops->block_close(ops->userdata, &io);
	if (r < 0)
		return r;
	return init_ext4_size(sb, sizeof(sb), ret_blocks, ret_bs);
}

/* The directories of a merged-/usr root; created when missing, on every boot. */
static const struct {
	const char *path;
	mode_t mode;
} skeleton[] = {
	{ "usr", 0755 },
	{ "etc", 0755 },
	{ "var", 0755 },
	{ "home", 0755 },
	{ "root", 0700 },
	{ "srv", 0755 },
	{ "opt", 0755 },
	{ "mnt", 0755 },
	{ "media", 0755 },
	{ "tmp", 01777 },
	{ "proc", 0555 },
	{ "sys", 0555 },
	{ "dev", 0755 },
	{ "run", 0755 },
	{ "boot", 0755 },
	{ "efi", 0755 },
	{ ".slate", 0700 },
	{ ".slate/etc", 0700 },
	{ ".slate/etc/upper", 0755 },
	{ ".slate/etc/work", 0700 },
};

static int prepare_root(const InitOps *ops, InitError *e)
{
	bool first = !ops->exists(ops->userdata, INIT_SYSROOT "/.slate");
	unsigned made = 0;

	if (first)
		init_info(ops, "first boot: preparing the empty ROOT");
	for (size_t i = 0; i < ARRAY_SIZE(skeleton); i++) {
		char path[256];
		int r;

		snprintf(path, sizeof(path), INIT_SYSROOT "/%s", skeleton[i].path);
		r = ops->mkdir(ops->userdata, path, skeleton[i].mode);
		if (r == -EEXIST)
			continue;
		if (r < 0)
			return init_fail(e, INIT_FAIL_ROOT_PREPARE, r, "mkdir %s: %s", path,
					 strerror(-r));
		made++;
	}
	if (made && !first)
		init_info(ops, "ROOT: created %u missing directories", made);
	return 0;
}

int init_mount_root(const InitOps *ops, const InitConfig *cfg, const InitPartition *root,
		    InitError *e)
{
	uint64_t size = root->size, blocks = 0;
	uint32_t bs = 0;
	char dev[48];
	bool resize = false;
	int r;

	if (cfg->grow)
		grow_partition(ops, root, &size);
	if (cfg->grow && streq(cfg->rootfstype, "ext4")) {
		r = ext4_blocks(ops, root->name, &blocks, &bs);
		if (r < 0)
			init_warn(ops, "ROOT %s: no ext4 superblock to size (%s)", root->name,
				  strerror(-r));
		else
			resize = size / bs > blocks;
	}

	snprintf(dev, sizeof(dev), "/dev/%s", root->name);
	r = ops->mount(ops->userdata, dev, INIT_SYSROOT, cfg->rootfstype, 0,
		       cfg->rootflags[0] ? cfg->rootflags : NULL);
	if (r < 0)
		return init_fail(e, INIT_FAIL_ROOT_MOUNT, r, "mounting ROOT %s (%s) on %s: %s", dev,
				 cfg->rootfstype, INIT_SYSROOT, strerror(-r));
	init_info(ops, "mounted ROOT %s (%s, read-write) on %s", dev, cfg->rootfstype,
		  INIT_SYSROOT);

	if (resize) {
		r = ops->resize_ext4(ops->userdata, INIT_SYSROOT, size / bs);
		if (r < 0)
			init_warn(ops, "growing ext4 on %s from %llu to %llu blocks failed: %s",
				  dev, (unsigned long long)blocks, (unsigned long long)(size / bs),
				  strerror(-r));
		else
			init_info(ops, "grew ext4 on %s from %llu to %llu blocks of %u bytes", dev,
				  (unsigned long long)blocks, (unsigned long long)(size / bs), bs);
	}
	return prepare_root(ops, e);
}

/*
 * Read the program systemd starts with, whole: every block of it is checked
 * against the tree now, while a mismatch still fails the read instead of
 * restarting the machine, and it must be an ELF executable.
 */
static int check_systemd(const InitOps *ops, const SlDmOps *dm, InitError *e)
{
	_cleanup_free_ char *elf = NULL;
	size_t len;
	int r;

	r = ops->read_file(ops->userdata, INIT_SYSROOT INIT_SYSTEMD, INIT_SYSTEMD_MAX, &elf, &len);
	if (r == -ENOENT)
		return init_fail(e, INIT_FAIL_SWITCH_ROOT, r, "/usr has no %s", INIT_SYSTEMD);
	if (r < 0)
		return init_usr_read_failed(ops, dm, r, INIT_FAIL_SWITCH_ROOT, e, "reading %s",
					    INIT_SYSTEMD);
	if (len < 4 || memcmp(elf, "\177ELF", 4) != 0)
		return init_fail(e, INIT_FAIL_SWITCH_ROOT, -ENOEXEC, "%s is not an ELF program",
				 INIT_SYSTEMD);
	init_info(ops, "read %s (%zu bytes): verified", INIT_SYSTEMD, len);
	return 0;
}

int init_mount_usr_and_etc(const InitOps *ops, const SlDmOps *dm, InitError *e)
{
	static const char *const merged[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
	int r;

	r = ops->mount(ops->userdata, "/dev/mapper/" INIT_USR_DM_NAME, INIT_SYSROOT "/usr", "erofs",
		       MS_RDONLY | MS_NODEV, NULL);
	if (r < 0)
		return init_usr_read_failed(ops, dm, r, INIT_FAIL_USR_MOUNT, e,
					    "mounting /dev/mapper/usr (erofs, read-only) on %s/usr",
					    INIT_SYSROOT);
	init_info(ops, "mounted /dev/mapper/usr (erofs, read-only) on %s/usr", INIT_SYSROOT);

	/* Merged /usr: /bin -> usr/bin and so on, for what this /usr has. */
	for (size_t i = 0; i < ARRAY_SIZE(merged); i++) {
		char in_usr[64], link[64], target[16];

		snprintf(in_usr, sizeof(in_usr), INIT_SYSROOT "/usr/%s", merged[i]);
		snprintf(link, sizeof(link), INIT_SYSROOT "/%s", merged[i]);
		snprintf(target, sizeof(target), "usr/%s", merged[i]);
		r = ops->probe(ops->userdata, in_usr);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return init_usr_read_failed(ops, dm, r, INIT_FAIL_USR_MOUNT, e,
						    "looking up %s", in_usr);
		if (ops->exists(ops->userdata, link))
			continue;
		r = ops->symlink(ops->userdata, target, link);
		if (r < 0 && r != -EEXIST)
			return init_fail(e, INIT_FAIL_ROOT_PREPARE, r, "symlink %s -> %s: %s", link,
					 target, strerror(-r));
	}

	r = ops->probe(ops->userdata, INIT_SYSROOT INIT_FACTORY_ETC);
	if (r == -ENOENT)
		return init_fail(e, INIT_FAIL_ETC_OVERLAY, r, "/usr has no %s: not a Slate /usr",
				 INIT_FACTORY_ETC);
	if (r < 0)
		return init_usr_read_failed(ops, dm, r, INIT_FAIL_ETC_OVERLAY, e, "looking up %s",
					    INIT_FACTORY_ETC);
	r = ops->mount(ops->userdata, "overlay", INIT_SYSROOT "/etc", "overlay", MS_NODEV,
		       "lowerdir=" INIT_SYSROOT INIT_FACTORY_ETC
		       ",upperdir=" INIT_SYSROOT INIT_ETC_UPPER
		       ",workdir=" INIT_SYSROOT INIT_ETC_WORK);
	if (r < 0)
		return init_usr_read_failed(ops, dm, r, INIT_FAIL_ETC_OVERLAY, e,
					    "mounting the /etc overlay");
	init_info(ops, "mounted /etc: overlay of %s (lower) and ROOT%s (upper)", INIT_FACTORY_ETC,
		  INIT_ETC_UPPER);
	return check_systemd(ops, dm, e);
}
