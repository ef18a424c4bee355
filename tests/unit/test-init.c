/* SPDX-License-Identifier: MIT */
/*
 * slate-init's boot against a fake system: InitOps backed by memory (files,
 * disks with real GPTs made by lib/gpt, a device-mapper that records what it is
 * asked, a clock that moves when slate-init sleeps). Covers the command line,
 * partition lookup, the dm table, module order and parameters, the signature
 * through the keyring, first boot and growing, and every emergency decision.
 */
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "init.h"
#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/hex.h"
#include "slate/strutil.h"
#include "test.h"

#define RELEASE	    "6.12.118+deb13-cloud-amd64"
#define MIB	    (1024ull * 1024)
#define ROOT_HASH   "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"
#define DATA_UUID   "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define HASH_UUID   "01122334-4556-6778-899a-abbccddeeff0"
#define DATA_BLOCKS 4096 /* 16 MiB of /usr */

static const char modules_dep[] =
	"kernel/drivers/block/virtio_blk.ko.xz:\n"
	"kernel/drivers/md/dm-mod.ko.xz:\n"
	"kernel/drivers/md/dm-bufio.ko.xz: kernel/drivers/md/dm-mod.ko.xz\n"
	"kernel/drivers/md/dm-verity.ko.xz: kernel/drivers/md/dm-bufio.ko.xz "
	"kernel/drivers/md/dm-mod.ko.xz kernel/lib/reed_solomon/reed_solomon.ko.xz\n"
	"kernel/lib/reed_solomon/reed_solomon.ko.xz:\n"
	"kernel/fs/erofs/erofs.ko.xz: kernel/lib/libcrc32c.ko.xz\n"
	"kernel/lib/libcrc32c.ko.xz:\n"
	"kernel/fs/overlayfs/overlay.ko.xz:\n";

/* ---- The fake system ---- */

typedef struct FakeFile {
	char path[128];
	char *data;
	size_t len;
} FakeFile;

typedef struct FakeDisk {
	char name[32];
	bool p_sep; /* partitions named "<disk>p<n>" (NVMe) rather than "<disk><n>" */
	unsigned major, minor;
	uint8_t *img;
	size_t len;
	uint64_t appear_ms;
} FakeDisk;

typedef struct Fake {
	uint64_t now;
	FakeFile files[16];
	size_t n_files;
	char paths[64][192]; /* what exists besides the files */
	size_t n_paths;
	char log[32768];
	char mounts[16][320];
	size_t n_mounts;
	int mount_err_target_usr;
	char loaded[16][160];
	size_t n_loaded;
	FakeDisk disks[3];
	size_t n_disks;
	bool no_dm, no_verity_target;
	int dm_load_err;
	unsigned long dm_cmds[8];
	size_t n_dm;
	char dm_table[1024];
	uint32_t dm_load_flags;
	char key_desc[64];
	uint8_t key_payload[256];
	size_t key_len;
	bool key_added, key_unlinked, key_at_load;
	unsigned resized_partno;
	uint64_t resized_start, resized_len, ext4_blocks;
	bool switched;
	char init[64];
	InitConfig configured;
	bool was_configured;
} Fake;

static Fake *F(void *ud)
{
	return ud;
}

static void fake_add_file(Fake *f, const char *path, const void *data, size_t len)
{
	FakeFile *ff = &f->files[f->n_files++];

	ASSERT_TRUE(f->n_files <= ARRAY_SIZE(f->files));
	snprintf(ff->path, sizeof(ff->path), "%s", path);
	ff->data = malloc(len + 1);
	memcpy(ff->data, data, len);
	ff->data[len] = 0;
	ff->len = len;
}

static void fake_add_path(Fake *f, const char *path)
{
	ASSERT_TRUE(f->n_paths < ARRAY_SIZE(f->paths));
	snprintf(f->paths[f->n_paths++], sizeof(f->paths[0]), "%s", path);
}

static void fake_free(Fake *f)
{
	for (size_t i = 0; i < f->n_files; i++)
		free(f->files[i].data);
	for (size_t i = 0; i < f->n_disks; i++)
		free(f->disks[i].img);
}

static void op_log(void *ud, int level, const char *line)
{
	Fake *f = F(ud);
	size_t n = strlen(f->log);

	snprintf(f->log + n, sizeof(f->log) - n, "<%d>%s\n", level, line);
}

static uint64_t op_now(void *ud)
{
	return F(ud)->now;
}

static void op_sleep(void *ud, unsigned ms)
{
	F(ud)->now += ms;
}

static int op_release(void *ud, char *out, size_t len)
{
	snprintf(out, len, "%s", RELEASE);
	return 0;
}

static int op_read_file(void *ud, const char *path, size_t max, char **ret, size_t *ret_len)
{
	Fake *f = F(ud);

	for (size_t i = 0; i < f->n_files; i++) {
		if (!streq(f->files[i].path, path))
			continue;
		if (f->files[i].len > max)
			return -E2BIG;
		*ret = malloc(f->files[i].len + 1);
		memcpy(*ret, f->files[i].data, f->files[i].len + 1);
		*ret_len = f->files[i].len;
		return 0;
	}
	return -ENOENT;
}

static bool op_exists(void *ud, const char *path)
{
	Fake *f = F(ud);

	for (size_t i = 0; i < f->n_paths; i++)
		if (streq(f->paths[i], path))
			return true;
	for (size_t i = 0; i < f->n_files; i++)
		if (streq(f->files[i].path, path))
			return true;
	return false;
}

static int op_mkdir(void *ud, const char *path, mode_t mode)
{
	if (op_exists(ud, path))
		return -EEXIST;
	fake_add_path(F(ud), path);
	return 0;
}

static int op_symlink(void *ud, const char *target, const char *path)
{
	char s[128];

	snprintf(s, sizeof(s), "%s -> %s", path, target);
	fake_add_path(F(ud), s);
	fake_add_path(F(ud), path);
	return 0;
}

static int op_mknod(void *ud, const char *path, mode_t mode, dev_t dev)
{
	char s[128];

	snprintf(s, sizeof(s), "%s %s %u:%u", path, S_ISBLK(mode) ? "b" : "c", major(dev),
		 minor(dev));
	fake_add_path(F(ud), s);
	return 0;
}

static int op_mount(void *ud, const char *source, const char *target, const char *fstype,
		    unsigned long flags, const char *data)
{
	Fake *f = F(ud);

	if (f->mount_err_target_usr && streq(target, "/sysroot/usr"))
		return f->mount_err_target_usr;
	ASSERT_TRUE(f->n_mounts < ARRAY_SIZE(f->mounts));
	snprintf(f->mounts[f->n_mounts++], sizeof(f->mounts[0]), "%s %s %s %s%s %s", source, target,
		 fstype, flags & MS_RDONLY ? "ro" : "rw", flags & MS_NODEV ? ",nodev" : "",
		 data ? data : "-");
	return 0;
}

static int op_load_module(void *ud, const char *path, const char *params)
{
	Fake *f = F(ud);
	char want[160];

	snprintf(want, sizeof(want), "/lib/modules/%s/", RELEASE);
	ASSERT_TRUE(startswith(path, want));
	if (!op_exists(ud, path))
		return -ENOENT;
	ASSERT_TRUE(f->n_loaded < ARRAY_SIZE(f->loaded));
	snprintf(f->loaded[f->n_loaded++], sizeof(f->loaded[0]), "%s%s%s", strrchr(path, '/') + 1,
		 *params ? " " : "", params);
	return 0;
}

static void part_name(const FakeDisk *d, unsigned n, char *out, size_t len)
{
	snprintf(out, len, "%s%s%u", d->name, d->p_sep ? "p" : "", n);
}

/* The kernel's view of the disks: whole disks and the partitions of their GPT. */
static int op_list_block(void *ud, InitBlockDev **ret, size_t *ret_n)
{
	Fake *f = F(ud);
	InitBlockDev *list = calloc(64, sizeof(*list));
	size_t n = 0;

	for (size_t d = 0; d < f->n_disks; d++) {
		FakeDisk *disk = &f->disks[d];
		SlGptMemory mem = { disk->img, disk->len };
		SlGptOps io;
		SlGpt *gpt = NULL;

		if (f->now < disk->appear_ms)
			continue;
		list[n++] = (InitBlockDev){ .major = disk->major,
					    .minor = disk->minor,
					    .size = disk->len };
		strcpy(list[n - 1].name, disk->name);
		sl_gpt_ops_from_memory(&mem, 512, &io);
		if (sl_gpt_read(&io, 0, &gpt) < 0)
			continue;
		for (uint32_t i = 0; i < gpt->entry_count; i++) {
			InitBlockDev *b;

			if (!sl_gpt_entry_used(&gpt->entries[i]))
				continue;
			b = &list[n++];
			*b = (InitBlockDev){ .partno = i + 1,
					     .major = disk->major,
					     .minor = disk->minor + i + 1,
					     .size = (gpt->entries[i].last_lba -
						      gpt->entries[i].first_lba + 1) *
						     512 };
			part_name(disk, i + 1, b->name, sizeof(b->name));
			strcpy(b->disk, disk->name);
		}
		sl_gpt_free(gpt);
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

typedef struct FakeIo {
	SlGptMemory mem;
} FakeIo;

static int op_block_open(void *ud, const char *name, bool writable, SlGptOps *ret)
{
	Fake *f = F(ud);

	for (size_t d = 0; d < f->n_disks; d++) {
		FakeDisk *disk = &f->disks[d];
		FakeIo *io;
		SlGpt *gpt = NULL;
		SlGptMemory whole = { disk->img, disk->len };
		SlGptOps wops;

		if (f->now < disk->appear_ms)
			continue;
		io = calloc(1, sizeof(*io));
		if (streq(name, disk->name)) {
			io->mem = whole;
			sl_gpt_ops_from_memory(&io->mem, 512, ret);
			return 0;
		}
		sl_gpt_ops_from_memory(&whole, 512, &wops);
		if (sl_gpt_read(&wops, 0, &gpt) == 0) {
			for (uint32_t i = 0; i < gpt->entry_count; i++) {
				char pname[32];

				part_name(disk, i + 1, pname, sizeof(pname));
				if (!sl_gpt_entry_used(&gpt->entries[i]) || !streq(pname, name))
					continue;
				io->mem = (SlGptMemory){
					disk->img + gpt->entries[i].first_lba * 512,
					(gpt->entries[i].last_lba - gpt->entries[i].first_lba + 1) *
						512
				};
				sl_gpt_free(gpt);
				sl_gpt_ops_from_memory(&io->mem, 512, ret);
				ret->userdata = &io->mem;
				return 0;
			}
		}
		sl_gpt_free(gpt);
		free(io);
	}
	return -ENOENT;
}

static void op_block_close(void *ud, SlGptOps *ops)
{
	/* userdata is &FakeIo.mem, the first member. */
	free(ops->userdata);
}

static int op_resize_partition(void *ud, const char *disk, unsigned partno, uint64_t start,
			       uint64_t len)
{
	Fake *f = F(ud);

	f->resized_partno = partno;
	f->resized_start = start;
	f->resized_len = len;
	return 0;
}

static int op_resize_ext4(void *ud, const char *path, uint64_t blocks)
{
	ASSERT_STREQ(path, "/sysroot");
	F(ud)->ext4_blocks = blocks;
	return 0;
}

static int fake_dm_ioctl(void *ud, unsigned long request, void *buf)
{
	Fake *f = F(ud);
	struct dm_ioctl io;

	memcpy(&io, buf, sizeof(io));
	ASSERT_TRUE(f->n_dm < ARRAY_SIZE(f->dm_cmds));
	f->dm_cmds[f->n_dm++] = request;
	if (request == DM_GET_TARGET_VERSION) {
		struct dm_target_versions tv = { .version = { 1, 10, 0 } };

		if (f->no_verity_target)
			return -EINVAL;
		ASSERT_STREQ(io.name, "verity");
		memcpy((uint8_t *)buf + io.data_start, &tv, sizeof(tv));
		strcpy((char *)buf + io.data_start + sizeof(tv), "verity");
		io.data_size = io.data_start + (uint32_t)sizeof(tv) + 8;
		memcpy(buf, &io, sizeof(io));
		return 0;
	}
	/* As dm-ioctl.c: a reply without payload ends at the header's data field. */
	io.data_size = offsetof(struct dm_ioctl, data);
	memcpy(buf, &io, sizeof(io));
	if (request == DM_DEV_CREATE) {
		ASSERT_STREQ(io.name, "usr");
		io.dev = makedev(253, 0);
		memcpy(buf, &io, sizeof(io));
		return 0;
	}
	if (request == DM_TABLE_LOAD) {
		struct dm_target_spec spec;

		memcpy(&spec, (uint8_t *)buf + io.data_start, sizeof(spec));
		snprintf(f->dm_table, sizeof(f->dm_table), "%llu %llu %s %s",
			 (unsigned long long)spec.sector_start, (unsigned long long)spec.length,
			 spec.target_type, (char *)buf + io.data_start + sizeof(spec));
		f->dm_load_flags = io.flags;
		f->key_at_load = f->key_added && !f->key_unlinked;
		return f->dm_load_err;
	}
	return 0;
}

static int op_dm_open(void *ud, SlDmOps *ret)
{
	if (F(ud)->no_dm)
		return -ENOENT;
	*ret = (SlDmOps){ fake_dm_ioctl, ud };
	return 0;
}

static int op_add_key(void *ud, const char *desc, const void *payload, size_t len,
		      int32_t *ret_serial)
{
	Fake *f = F(ud);

	snprintf(f->key_desc, sizeof(f->key_desc), "%s", desc);
	ASSERT_TRUE(len <= sizeof(f->key_payload));
	memcpy(f->key_payload, payload, len);
	f->key_len = len;
	f->key_added = true;
	*ret_serial = 42;
	return 0;
}

static int op_unlink_key(void *ud, int32_t serial)
{
	ASSERT_EQ(serial, 42);
	F(ud)->key_unlinked = true;
	return 0;
}

static void op_configured(void *ud, const InitConfig *cfg)
{
	F(ud)->configured = *cfg;
	F(ud)->was_configured = true;
}

static int op_switch_root(void *ud, const char *newroot, const char *init)
{
	Fake *f = F(ud);

	ASSERT_STREQ(newroot, "/sysroot");
	snprintf(f->init, sizeof(f->init), "%s", init);
	f->switched = true;
	return -ECANCELED; /* "would have executed systemd" */
}

static InitOps fake_ops(Fake *f)
{
	return (InitOps){
		.userdata = f,
		.log = op_log,
		.now_ms = op_now,
		.sleep_ms = op_sleep,
		.kernel_release = op_release,
		.read_file = op_read_file,
		.exists = op_exists,
		.mkdir = op_mkdir,
		.symlink = op_symlink,
		.mknod = op_mknod,
		.mount = op_mount,
		.load_module = op_load_module,
		.list_block = op_list_block,
		.block_open = op_block_open,
		.block_close = op_block_close,
		.resize_partition = op_resize_partition,
		.resize_ext4 = op_resize_ext4,
		.dm_open = op_dm_open,
		.add_key = op_add_key,
		.unlink_key = op_unlink_key,
		.configured = op_configured,
		.switch_root = op_switch_root,
	};
}

/* ---- A Slate disk ---- */

typedef struct DiskSpec {
	const char *data_uuid, *hash_uuid; /* NULL: leave the partition out */
	bool second_root;
	const char *sig_json; /* a usr-verity-sig partition with this content */
	uint64_t grow_by;     /* bytes added after the GPT was written */
} DiskSpec;

static void put_part(SlGpt *gpt, int i, const char *type, const char *uuid, const char *label,
		     uint64_t first_mib, uint64_t mib)
{
	SlGptEntry *e = &gpt->entries[i];

	ASSERT_TRUE(sl_gpt_type_from_name(type, SL_GPT_ARCH_X86_64) != NULL);
	e->type = sl_gpt_type_from_name(type, SL_GPT_ARCH_X86_64)->uuid;
	ASSERT_OK(sl_uuid_parse(uuid, &e->uuid));
	e->first_lba = first_mib * MIB / 512;
	e->last_lba = (first_mib + mib) * MIB / 512 - 1;
	ASSERT_OK(sl_gpt_entry_set_name(e, label));
}

static void fake_add_disk(Fake *f, const char *name, bool p_sep, const DiskSpec *s)
{
	FakeDisk *d = &f->disks[f->n_disks++];
	uint64_t size = 64 * MIB;
	SlGptMemory mem;
	SlGptOps io;
	SlGpt *gpt = NULL;
	SlVerityParams p;
	uint8_t sb[SL_VERITY_SUPERBLOCK_SIZE], ext4[1024] = { 0 };

	snprintf(d->name, sizeof(d->name), "%s", name);
	d->p_sep = p_sep;
	d->major = strncmp(name, "nvme", 4) == 0 ? 259 : 254;
	d->minor = 16 * (unsigned)(f->n_disks - 1);
	d->img = calloc(1, size + s->grow_by);
	d->len = size;
	mem = (SlGptMemory){ d->img, d->len };
	sl_gpt_ops_from_memory(&mem, 512, &io);
	ASSERT_OK(sl_gpt_new(size, 512, 0, &gpt));
	put_part(gpt, 0, "esp", "11111111-1111-1111-1111-111111111111", "EFI-SYSTEM", 1, 4);
	if (s->data_uuid)
		put_part(gpt, 1, "usr", s->data_uuid, "USR-A", 5, 20);
	if (s->hash_uuid)
		put_part(gpt, 2, "usr-verity", s->hash_uuid, "USR-A-VERITY", 25, 2);
	put_part(gpt, 3, "usr", "33333333-3333-3333-3333-333333333333", "USR-B", 27, 2);
	if (s->sig_json)
		put_part(gpt, 4, "usr-verity-sig", "55555555-5555-5555-5555-555555555555",
			 "USR-A-VERITY-SIG", 29, 1);
	if (s->second_root)
		put_part(gpt, 6, "root", "77777777-7777-7777-7777-777777777777", "ROOT2", 30, 4);
	put_part(gpt, 5, "root", "66666666-6666-6666-6666-666666666666", "ROOT", 34, 29);
	/* ROOT ends at the last whole MiB, as slate disk create makes it: it fills the disk. */
	ASSERT_OK(sl_gpt_write(&io, gpt, NULL));
	sl_gpt_free(gpt);

	/* The verity superblock a real tree would have: 4096-byte blocks, a salt. */
	sl_verity_params_init(&p);
	p.data_blocks = DATA_BLOCKS;
	p.salt_size = 4;
	memcpy(p.salt, "\xaa\xbb\xcc\xdd", 4);
	ASSERT_OK(sl_uuid_parse("12345678-9abc-def0-1234-56789abcdef0", &p.uuid));
	ASSERT_OK(sl_verity_superblock_encode(&p, sb));
	memcpy(d->img + 25 * MIB, sb, sizeof(sb));
	if (s->sig_json)
		memcpy(d->img + 29 * MIB, s->sig_json, strlen(s->sig_json));
	/* ROOT: an ext4 superblock of a 16 MiB file system, 4096-byte blocks. */
	sl_put_le16(ext4 + 0x38, 0xEF53);
	sl_put_le32(ext4 + 0x04, 4096);
	sl_put_le32(ext4 + 0x18, 2);
	memcpy(d->img + 34 * MIB + 1024, ext4, sizeof(ext4));
	d->len = size + s->grow_by;
}

/* A fake system with a good initramfs and /usr, and cmdline. */
static void fake_init(Fake *f, const char *cmdline)
{
	static const char fs[] = "nodev\tsysfs\nnodev\tproc\nnodev\toverlay\n\text4\n\terofs\n";
	static const char *const mods[] = { "drivers/block/virtio_blk",
					    "drivers/md/dm-mod",
					    "drivers/md/dm-bufio",
					    "drivers/md/dm-verity",
					    "lib/reed_solomon/reed_solomon",
					    "fs/erofs/erofs",
					    "lib/libcrc32c",
					    "fs/overlayfs/overlay" };
	char path[160];

	memset(f, 0, sizeof(*f));
	fake_add_file(f, "/proc/cmdline", cmdline, strlen(cmdline));
	fake_add_file(f, "/proc/filesystems", fs, strlen(fs));
	fake_add_file(f, "/lib/modules/" RELEASE "/modules.dep", modules_dep, strlen(modules_dep));
	for (size_t i = 0; i < ARRAY_SIZE(mods); i++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/kernel/%s.ko.xz", RELEASE, mods[i]);
		fake_add_path(f, path);
	}
	fake_add_path(f, "/lib/modules");
	fake_add_path(f, "/proc");
	fake_add_path(f, "/sys");
	fake_add_path(f, "/dev");
	fake_add_path(f, "/run");
	fake_add_path(f, "/sysroot/usr/share/factory/etc");
	fake_add_path(f, "/sysroot/usr/bin");
	fake_add_path(f, "/sysroot/usr/lib");
	fake_add_path(f, "/sysroot/usr/lib64");
}

static const DiskSpec good_disk = { DATA_UUID, HASH_UUID, false, NULL, 0 };

static bool has_path(Fake *f, const char *p)
{
	return op_exists(f, p);
}

static int boot(Fake *f, InitConfig *cfg, InitError *e)
{
	InitOps ops = fake_ops(f);

	return init_boot(&ops, cfg, e);
}

/* ---- The boot ---- */

TEST(init_boot_virtio)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	fake_init(&f, "BOOT_IMAGE=/vmlinuz usrhash=" ROOT_HASH
		      " console=ttyS0 dm_verity.require_signatures=1\n");
	fake_add_disk(&f, "vda", false, &good_disk);
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_EQ(e.failure, INIT_FAIL_SWITCH_ROOT);
	ASSERT_TRUE(f.switched);
	ASSERT_STREQ(f.init, "/usr/lib/systemd/systemd");

	/* Modules: every one, dependencies first, parameters from the command line. */
	ASSERT_EQ(f.n_loaded, 8);
	ASSERT_STREQ(f.loaded[0], "virtio_blk.ko.xz");
	ASSERT_STREQ(f.loaded[1], "dm-mod.ko.xz");
	ASSERT_STREQ(f.loaded[2], "dm-bufio.ko.xz");
	ASSERT_STREQ(f.loaded[3], "reed_solomon.ko.xz");
	ASSERT_STREQ(f.loaded[4], "dm-verity.ko.xz require_signatures=1");
	ASSERT_STREQ(f.loaded[5], "libcrc32c.ko.xz");
	ASSERT_STREQ(f.loaded[6], "erofs.ko.xz");
	ASSERT_STREQ(f.loaded[7], "overlay.ko.xz");

	/* The dm-verity device: data vda2 (254:2), hash vda3 (254:3), read-only. */
	ASSERT_EQ(f.n_dm, 4);
	ASSERT_UEQ(f.dm_cmds[0], DM_GET_TARGET_VERSION);
	ASSERT_UEQ(f.dm_cmds[1], DM_DEV_CREATE);
	ASSERT_UEQ(f.dm_cmds[2], DM_TABLE_LOAD);
	ASSERT_UEQ(f.dm_cmds[3], DM_DEV_SUSPEND);
	ASSERT_EQ(f.dm_load_flags, DM_READONLY_FLAG);
	ASSERT_STREQ(f.dm_table, "0 32768 verity 1 254:2 254:3 4096 4096 4096 1 sha256 " ROOT_HASH
				 " aabbccdd 1 restart_on_corruption");
	ASSERT_FALSE(f.key_added);
	ASSERT_TRUE(has_path(&f, "/dev/mapper/usr b 253:0"));

	/* Mounts, in order. */
	ASSERT_EQ(f.n_mounts, 7);
	ASSERT_STREQ(f.mounts[0], "proc /proc proc rw,nodev -");
	ASSERT_STREQ(f.mounts[2], "devtmpfs /dev devtmpfs rw mode=0755");
	ASSERT_STREQ(f.mounts[3], "tmpfs /run tmpfs rw,nodev mode=0755");
	ASSERT_STREQ(f.mounts[4], "/dev/vda6 /sysroot ext4 rw -");
	ASSERT_STREQ(f.mounts[5], "/dev/mapper/usr /sysroot/usr erofs ro,nodev -");
	ASSERT_STREQ(f.mounts[6],
		     "overlay /sysroot/etc overlay rw,nodev "
		     "lowerdir=/sysroot/usr/share/factory/etc,"
		     "upperdir=/sysroot/.slate/etc/upper,workdir=/sysroot/.slate/etc/work");

	/* First boot: the skeleton, merged-/usr links for what /usr has. */
	ASSERT_TRUE(strstr(f.log, "first boot: preparing the empty ROOT"));
	ASSERT_TRUE(has_path(&f, "/sysroot/.slate/etc/upper"));
	ASSERT_TRUE(has_path(&f, "/sysroot/tmp"));
	ASSERT_TRUE(has_path(&f, "/sysroot/bin -> usr/bin"));
	ASSERT_TRUE(has_path(&f, "/sysroot/lib64 -> usr/lib64"));
	ASSERT_FALSE(has_path(&f, "/sysroot/sbin"));
	ASSERT_FALSE(has_path(&f, "/sysroot/etc/machine-id"));
	/* No growing: the disk is as large as its table. */
	ASSERT_EQ(f.resized_partno, 0);
	ASSERT_TRUE(f.was_configured);
	ASSERT_TRUE(strstr(f.log, "found /usr vda2 + vda3, ROOT vda6"));
	fake_free(&f);
}

TEST(init_boot_nvme_late_disk)
{
	Fake f;
	InitConfig cfg;
	InitError e;
	DiskSpec s = good_disk;

	fake_init(&f, "usrhash=" ROOT_HASH " slate.corruption=panic");
	fake_add_disk(&f, "nvme0n1", true, &s);
	f.disks[0].appear_ms = 2500; /* the controller takes a while */
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_TRUE(f.switched);
	ASSERT_TRUE(f.now >= 2500 && f.now < 3000);
	ASSERT_TRUE(strstr(f.dm_table, " 259:2 259:3 "));
	ASSERT_TRUE(strstr(f.dm_table, " 1 panic_on_corruption"));
	ASSERT_STREQ(f.mounts[4], "/dev/nvme0n1p6 /sysroot ext4 rw -");
	ASSERT_TRUE(strstr(f.log, "waiting up to 30 s for the disks"));
	fake_free(&f);
}

TEST(init_boot_second_boot_and_root_options)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	fake_init(&f, "usrhash=" ROOT_HASH " root=PARTLABEL=ROOT rootflags=noatime");
	fake_add_disk(&f, "vda", false, &good_disk);
	fake_add_path(&f, "/sysroot/.slate");
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_FALSE(strstr(f.log, "first boot"));
	ASSERT_STREQ(f.mounts[4], "/dev/vda6 /sysroot ext4 rw noatime");
	fake_free(&f);

	fake_init(&f, "usrhash=" ROOT_HASH " root=/dev/vda1 rootfstype=vfat");
	fake_add_disk(&f, "vda", false, &good_disk);
	ASSERT_ERR(boot(&f, &cfg, &e), -ENODEV); /* no vfat in /proc/filesystems */
	ASSERT_EQ(e.failure, INIT_FAIL_KERNEL_FEATURE);
	fake_free(&f);

	fake_init(&f, "usrhash=" ROOT_HASH " root=PARTUUID=66666666-6666-6666-6666-666666666666");
	fake_add_disk(&f, "vda", false, &good_disk);
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_STREQ(f.mounts[4], "/dev/vda6 /sysroot ext4 rw -");
	fake_free(&f);
}

TEST(init_boot_signature_from_initramfs)
{
	Fake f;
	InitConfig cfg;
	InitError e;
	static const char sig[] = "\x30\x82\x01\x00 PKCS7-DER";

	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &good_disk);
	fake_add_file(&f, "/slate/usr.roothash.p7s", sig, sizeof(sig) - 1);
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_TRUE(f.key_added);
	ASSERT_TRUE(f.key_at_load); /* in the keyring while the table loads */
	ASSERT_TRUE(f.key_unlinked);
	ASSERT_STREQ(f.key_desc, "slate:usr:0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	ASSERT_EQ(f.key_len, sizeof(sig) - 1);
	ASSERT_MEMEQ(f.key_payload, sig, sizeof(sig) - 1);
	ASSERT_TRUE(strstr(f.dm_table, " aabbccdd 3 restart_on_corruption root_hash_sig_key_desc "
				       "slate:usr:0f1e2d3c4b5a69788796a5b4c3d2e1f0"));
	fake_free(&f);
}

TEST(init_boot_signature_from_partition)
{
	Fake f;
	InitConfig cfg;
	InitError e;
	/* Two sig partitions would be the A and B slots; here the other slot's first. */
	DiskSpec s = good_disk;

	s.sig_json = "{\"rootHash\":\"" ROOT_HASH "\",\"signature\":\"MIIBAA==\","
		     "\"certificateFingerprint\":\"00\"}";
	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &s);
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_TRUE(f.key_added && f.key_at_load && f.key_unlinked);
	ASSERT_EQ(f.key_len, 4);
	ASSERT_MEMEQ(f.key_payload, "\x30\x82\x01\x00", 4);
	ASSERT_TRUE(strstr(f.log, "signature from partition vda5 accepted"));
	fake_free(&f);
}

/* What the kernel answers to the table decides the failure. */
TEST(init_boot_signature_failures)
{
	static const struct {
		bool sig;
		int err;
		InitFailure want;
	} cases[] = {
		{ true, -EKEYREJECTED, INIT_FAIL_SIGNATURE_REJECTED },
		{ true, -ENOKEY, INIT_FAIL_SIGNATURE_UNTRUSTED },
		{ false, -ENOKEY, INIT_FAIL_SIGNATURE_REQUIRED },
		{ false, -EINVAL, INIT_FAIL_VERITY_DEVICE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Fake f;
		InitConfig cfg;
		InitError e;

		fake_init(&f, "usrhash=" ROOT_HASH " dm_verity.require_signatures=1");
		fake_add_disk(&f, "vda", false, &good_disk);
		if (cases[i].sig)
			fake_add_file(&f, "/slate/usr.roothash.p7s", "sig", 3);
		f.dm_load_err = cases[i].err;
		ASSERT_ERR(boot(&f, &cfg, &e), cases[i].err);
		ASSERT_EQ(e.failure, cases[i].want);
		/* The half-made device is removed, the key unlinked, nothing mounted. */
		ASSERT_UEQ(f.dm_cmds[f.n_dm - 1], DM_DEV_REMOVE);
		ASSERT_EQ(f.key_added, f.key_unlinked);
		ASSERT_EQ(f.n_mounts, 4);
		ASSERT_FALSE(f.switched);
		fake_free(&f);
	}
}

TEST(init_boot_wrong_usrhash_times_out)
{
	Fake f;
	InitConfig cfg;
	InitError e;
	InitEmergencyPlan plan;

	fake_init(&f, "usrhash=" ROOT_HASH " slate.timeout=5 slate.emergency=halt");
	fake_add_disk(&f, "vda", false,
		      &(DiskSpec){ "aaaaaaaa-0000-0000-0000-000000000000",
				   "bbbbbbbb-0000-0000-0000-000000000000", false, NULL, 0 });
	ASSERT_ERR(boot(&f, &cfg, &e), -ETIMEDOUT);
	ASSERT_EQ(e.failure, INIT_FAIL_USR_NOT_FOUND);
	ASSERT_TRUE(f.now >= 5000 && f.now < 5100);
	ASSERT_EQ(f.n_dm, 1); /* only the feature check */
	init_emergency_plan(&e, &cfg, &plan);
	ASSERT_EQ(plan.action, INIT_ACTION_POWEROFF);
	ASSERT_TRUE(strstr(plan.line,
			   "slate-init: FAILED: /usr: no partition with PARTUUID " DATA_UUID
			   " (data) or " HASH_UUID " (verity)"));
	ASSERT_TRUE(strstr(plan.line, "after 5 s"));
	ASSERT_TRUE(strstr(plan.line, "powering off"));
	fake_free(&f);
}

TEST(init_boot_missing_partitions)
{
	static const struct {
		DiskSpec disk;
		InitFailure want;
		const char *line;
	} cases[] = {
		{ { DATA_UUID, NULL, false, NULL, 0 },
		  INIT_FAIL_USR_VERITY_MISSING,
		  "the data partition is vda2, but no partition has the verity "
		  "PARTUUID " HASH_UUID },
		{ { NULL, HASH_UUID, false, NULL, 0 },
		  INIT_FAIL_USR_DATA_MISSING,
		  "the verity partition is vda3, but no partition has the data "
		  "PARTUUID " DATA_UUID },
		{ { DATA_UUID, HASH_UUID, true, NULL, 0 },
		  INIT_FAIL_PARTITION_AMBIGUOUS,
		  "ROOT: both vda6 and vda7 match" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Fake f;
		InitConfig cfg;
		InitError e;

		fake_init(&f, "usrhash=" ROOT_HASH " slate.timeout=2");
		fake_add_disk(&f, "vda", false, &cases[i].disk);
		ASSERT_TRUE(boot(&f, &cfg, &e) < 0);
		ASSERT_EQ(e.failure, cases[i].want);
		if (!strstr(e.what, cases[i].line))
			sl_test_fail(__FILE__, __LINE__, "'%s' lacks '%s'", e.what, cases[i].line);
		ASSERT_EQ(f.n_dm, 1);
		fake_free(&f);
	}
}

TEST(init_boot_kernel_features)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	/* An initramfs built without erofs. */
	fake_init(&f, "usrhash=" ROOT_HASH);
	free(f.files[1].data);
	f.files[1].data = strdup("nodev\tproc\nnodev\toverlay\n\text4\n");
	f.files[1].len = strlen(f.files[1].data);
	fake_add_disk(&f, "vda", false, &good_disk);
	ASSERT_ERR(boot(&f, &cfg, &e), -ENODEV);
	ASSERT_EQ(e.failure, INIT_FAIL_KERNEL_FEATURE);
	ASSERT_TRUE(strstr(e.what, "no erofs file system: module erofs"));
	fake_free(&f);

	fake_init(&f, "usrhash=" ROOT_HASH);
	f.no_verity_target = true;
	ASSERT_ERR(boot(&f, &cfg, &e), -ENOENT);
	ASSERT_EQ(e.failure, INIT_FAIL_KERNEL_FEATURE);
	ASSERT_TRUE(strstr(e.what, "module dm_verity"));
	fake_free(&f);

	fake_init(&f, "usrhash=" ROOT_HASH);
	f.no_dm = true;
	ASSERT_ERR(boot(&f, &cfg, &e), -ENOENT);
	ASSERT_EQ(e.failure, INIT_FAIL_KERNEL_FEATURE);
	ASSERT_TRUE(strstr(e.what, "module dm_mod"));
	fake_free(&f);
}

TEST(init_boot_module_problems)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	/* modules.dep names a file the initramfs lacks. */
	fake_init(&f, "usrhash=" ROOT_HASH);
	strcpy(f.paths[3], "/nowhere"); /* dm-verity.ko.xz */
	ASSERT_ERR(boot(&f, &cfg, &e), -ENOENT);
	ASSERT_EQ(e.failure, INIT_FAIL_MODULE);
	ASSERT_TRUE(strstr(e.what, "module dm_verity: /lib/modules/" RELEASE
				   "/kernel/drivers/md/dm-verity.ko.xz is missing"));
	fake_free(&f);

	/* An initramfs for another kernel. */
	fake_init(&f, "usrhash=" ROOT_HASH);
	strcpy(f.files[2].path, "/lib/modules/6.1.0-28-amd64/modules.dep");
	ASSERT_ERR(boot(&f, &cfg, &e), -ENOENT);
	ASSERT_EQ(e.failure, INIT_FAIL_MODULE);
	ASSERT_TRUE(strstr(e.what, "built for another kernel"));
	fake_free(&f);
}

TEST(init_boot_grows_root)
{
	Fake f;
	InitConfig cfg;
	InitError e;
	DiskSpec s = good_disk;

	s.grow_by = 64 * MIB; /* the image was written to a 128 MiB disk */
	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &s);
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_EQ(f.resized_partno, 6);
	ASSERT_UEQ(f.resized_start, 34 * MIB);
	/* To the end of the disk, less the backup GPT (33 sectors), aligned down to 1 MiB. */
	ASSERT_UEQ(f.resized_len, 127 * MIB - 34 * MIB);
	ASSERT_UEQ(f.ext4_blocks, f.resized_len / 4096);
	ASSERT_TRUE(strstr(f.log, "grew ROOT vda6 from 29 to 93 MiB"));
	ASSERT_TRUE(strstr(f.log, "grew ext4 on /dev/vda6 from 4096 to"));
	fake_free(&f);

	/* slate.grow=no leaves it alone. */
	fake_init(&f, "usrhash=" ROOT_HASH " slate.grow=no");
	fake_add_disk(&f, "vda", false, &s);
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_EQ(f.resized_partno, 0);
	ASSERT_EQ(f.ext4_blocks, 0);
	fake_free(&f);
}

TEST(init_boot_usr_and_etc_failures)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	fake_init(&f, "usrhash=" ROOT_HASH " slate.corruption=eio");
	fake_add_disk(&f, "vda", false, &good_disk);
	f.mount_err_target_usr = -EIO;
	ASSERT_ERR(boot(&f, &cfg, &e), -EIO);
	ASSERT_EQ(e.failure, INIT_FAIL_USR_MOUNT);
	ASSERT_TRUE(strstr(f.dm_table, " aabbccdd") && !strstr(f.dm_table, "corruption"));
	fake_free(&f);

	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &good_disk);
	strcpy(f.paths[f.n_paths - 4], "/sysroot/usr/share/nothing");
	ASSERT_ERR(boot(&f, &cfg, &e), -ENOENT);
	ASSERT_EQ(e.failure, INIT_FAIL_ETC_OVERLAY);
	fake_free(&f);
}

TEST(init_boot_bad_superblock)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &good_disk);
	f.disks[0].img[25 * MIB] = 'X'; /* "verity" magic */
	ASSERT_ERR(boot(&f, &cfg, &e), -EBADMSG);
	ASSERT_EQ(e.failure, INIT_FAIL_VERITY_SUPERBLOCK);
	ASSERT_EQ(f.n_dm, 1);
	fake_free(&f);

	/* A sha512 usrhash= against a sha256 tree. */
	fake_init(&f, "usrhash=" ROOT_HASH ROOT_HASH);
	fake_add_disk(
		&f, "vda", false,
		&(DiskSpec){ "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", HASH_UUID, false, NULL, 0 });
	ASSERT_TRUE(boot(&f, &cfg, &e) < 0);
	ASSERT_EQ(e.failure, INIT_FAIL_VERITY_SUPERBLOCK);
	ASSERT_TRUE(strstr(e.what, "sha256 (32-byte hashes) but usrhash= has 64 bytes"));
	fake_free(&f);
}

TEST(init_boot_cmdline_errors_keep_policy)
{
	Fake f;
	InitConfig cfg;
	InitError e;
	InitEmergencyPlan plan;

	fake_init(&f, "slate.emergency=halt usrhash=xyz slate.timeout=7");
	ASSERT_ERR(boot(&f, &cfg, &e), -EBADMSG);
	ASSERT_EQ(e.failure, INIT_FAIL_CMDLINE);
	ASSERT_TRUE(strstr(e.what, "usrhash=: 'xyz' has 3 hex digits"));
	ASSERT_TRUE(f.was_configured);
	ASSERT_EQ(f.configured.emergency, INIT_EMERGENCY_HALT);
	ASSERT_EQ(f.configured.timeout_s, 7); /* later options still apply */
	init_emergency_plan(&e, &f.configured, &plan);
	ASSERT_EQ(plan.action, INIT_ACTION_POWEROFF);
	ASSERT_EQ(f.n_loaded, 0);
	fake_free(&f);

	fake_init(&f, "console=ttyS0");
	ASSERT_ERR(boot(&f, &cfg, &e), -ENOKEY);
	ASSERT_EQ(e.failure, INIT_FAIL_CMDLINE);
	ASSERT_TRUE(strstr(e.what, "usrhash= is missing"));
	fake_free(&f);
}

/* ---- The command line ---- */

TEST(init_cmdline_defaults_and_options)
{
	InitConfig c;
	char hex[129];

	ASSERT_OK(init_cmdline_parse("quiet splash", &c));
	ASSERT_FALSE(c.have_usrhash);
	ASSERT_EQ(c.emergency, INIT_EMERGENCY_REBOOT);
	ASSERT_EQ(c.emergency_delay_s, 30);
	ASSERT_EQ(c.timeout_s, 30);
	ASSERT_EQ(c.corruption, SL_VERITY_CORRUPTION_RESTART);
	ASSERT_TRUE(c.grow);
	ASSERT_EQ(c.root_kind, INIT_ROOT_AUTO);
	ASSERT_STREQ(c.rootfstype, "ext4");

	ASSERT_OK(
		init_cmdline_parse("usrhash=" ROOT_HASH " slate.emergency=halt "
				   "slate.emergency_delay=0 slate.timeout=90 slate.corruption=eio "
				   "slate.grow=0 root=/dev/disk/by-partuuid/"
				   "66666666-6666-6666-6666-666666666666 systemd.log_level=debug "
				   "dm_verity.require_signatures=1 ro",
				   &c));
	ASSERT_TRUE(c.have_usrhash);
	ASSERT_EQ(c.usrhash_size, 32);
	sl_hex_encode(c.usrhash, c.usrhash_size, hex);
	ASSERT_STREQ(hex, ROOT_HASH);
	ASSERT_EQ(c.emergency, INIT_EMERGENCY_HALT);
	ASSERT_EQ(c.emergency_delay_s, 0);
	ASSERT_EQ(c.timeout_s, 90);
	ASSERT_EQ(c.corruption, SL_VERITY_CORRUPTION_EIO);
	ASSERT_FALSE(c.grow);
	ASSERT_EQ(c.root_kind, INIT_ROOT_PARTUUID);

	/* Upper-case hex; the last of two values, as the kernel would take it. */
	ASSERT_OK(init_cmdline_parse(
		"usrhash=" ROOT_HASH " usrhash="
		"0F1E2D3C4B5A69788796A5B4C3D2E1F00112233445566778899AABBCCDDEEFF1",
		&c));
	ASSERT_EQ(c.usrhash_size, 32);
	ASSERT_EQ(c.usrhash[31], 0xf1);
	ASSERT_OK(init_cmdline_parse(
		"slate.grow slate.emergency=poweroff root=\"PARTLABEL=My Root\"", &c));
	ASSERT_TRUE(c.grow);
	ASSERT_EQ(c.emergency, INIT_EMERGENCY_HALT);
	ASSERT_STREQ(c.root_name, "My Root");
}

TEST(init_cmdline_errors_name_the_parameter)
{
	static const struct {
		const char *cmdline, *message;
	} bad[] = {
		{ "usrhash=abc", "usrhash=: 'abc' has 3 hex digits" },
		{ "usrhash=" ROOT_HASH "0", "usrhash=: " },
		{ "usrhash=zz" ROOT_HASH, "usrhash=: " },
		{ "usrhash", "usrhash: needs a value" },
		{ "root=UUID=1234", "root=: 'UUID=1234' is not understood" },
		{ "root=LABEL=root", "root=: 'LABEL=root'" },
		{ "root=PARTUUID=xyz", "root=: 'xyz' is not a UUID" },
		{ "root=/dev/disk/by-label/x",
		  "root=: '/dev/disk/by-label/x' is not a kernel device" },
		{ "root=", "root=: needs a value" },
		{ "slate.emergency=shell", "slate.emergency=: 'shell' is not reboot or halt" },
		{ "slate.emergency", "slate.emergency: needs a value" },
		{ "slate.timeout=0", "slate.timeout=: '0' is not a number of seconds (1 to 3600)" },
		{ "slate.timeout=5s", "slate.timeout=: '5s'" },
		{ "slate.emergency_delay=3601", "slate.emergency_delay=: '3601'" },
		{ "slate.corruption=ignore",
		  "slate.corruption=: 'ignore' is not restart, panic or eio" },
		{ "slate.grow=maybe", "slate.grow=: 'maybe' is not yes or no" },
		{ "slate.emergncy=halt", "slate.emergncy: unknown option" },
		{ "rootfstype=", "rootfstype=: the value is missing" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		InitConfig c;
		int r = init_cmdline_parse(bad[i].cmdline, &c);

		if (r != -EBADMSG || !strstr(sl_error_message(r), bad[i].message))
			sl_test_fail(__FILE__, __LINE__, "%s: got %d '%s', wanted '%s'",
				     bad[i].cmdline, r, sl_error_message(r), bad[i].message);
	}
}

/* ---- Emergency decisions ---- */

TEST(init_emergency_every_failure_has_its_own_meaning)
{
	for (int a = 0; a < _INIT_FAIL_MAX; a++) {
		const char *m = init_failure_meaning((InitFailure)a);

		ASSERT_TRUE(m && strlen(m) > 20);
		for (int b = 0; b < a; b++)
			ASSERT_FALSE(streq(m, init_failure_meaning((InitFailure)b)));
	}
	ASSERT_STREQ(init_failure_meaning(_INIT_FAIL_MAX), "the boot cannot go on");
}

TEST(init_emergency_policy)
{
	InitError e;
	InitConfig c;
	InitEmergencyPlan p;

	init_fail(&e, INIT_FAIL_USR_VERITY_MISSING, -ETIMEDOUT, "/usr: no verity partition");
	/* No configuration (the command line could not be read): reboot after 30 s. */
	init_emergency_plan(&e, NULL, &p);
	ASSERT_EQ(p.action, INIT_ACTION_REBOOT);
	ASSERT_EQ(p.delay_s, 30);
	ASSERT_STREQ(p.line, "slate-init: FAILED: /usr: no verity partition: the hash tree of "
			     "/usr is missing, so /usr cannot be verified; booting unverified "
			     "code is refused; rebooting in 30 s (slate.emergency=reboot)");
	ASSERT_FALSE(strchr(p.line, '\n')); /* one line */

	ASSERT_OK(init_cmdline_parse("slate.emergency_delay=5", &c));
	init_emergency_plan(&e, &c, &p);
	ASSERT_EQ(p.action, INIT_ACTION_REBOOT);
	ASSERT_EQ(p.delay_s, 5);
	ASSERT_TRUE(strstr(p.line, "rebooting in 5 s"));

	/* halt: power off at once, whatever the delay says. */
	ASSERT_OK(init_cmdline_parse("slate.emergency=halt slate.emergency_delay=5", &c));
	init_emergency_plan(&e, &c, &p);
	ASSERT_EQ(p.action, INIT_ACTION_POWEROFF);
	ASSERT_EQ(p.delay_s, 0);
	ASSERT_TRUE(strstr(p.line, "; powering off (slate.emergency=halt)"));

	/* init_fail keeps a negative errno even when given none. */
	ASSERT_EQ(init_fail(&e, INIT_FAIL_CRASH, 0, "x"), -EIO);
}

/* ---- Decoders ---- */

TEST(init_ext4_superblock)
{
	uint8_t sb[1024] = { 0 };
	uint64_t blocks;
	uint32_t bs;

	ASSERT_ERR(init_ext4_size(sb, sizeof(sb), &blocks, &bs), -EBADMSG);
	sl_put_le16(sb + 0x38, 0xEF53);
	sl_put_le32(sb + 0x04, 1000);
	sl_put_le32(sb + 0x18, 2);
	sl_put_le32(sb + 0x150, 7); /* ignored without the 64bit feature */
	ASSERT_OK(init_ext4_size(sb, sizeof(sb), &blocks, &bs));
	ASSERT_EQ(blocks, 1000);
	ASSERT_EQ(bs, 4096);
	sl_put_le32(sb + 0x60, 0x80);
	ASSERT_OK(init_ext4_size(sb, sizeof(sb), &blocks, &bs));
	ASSERT_UEQ(blocks, (7ull << 32) + 1000);
	sl_put_le32(sb + 0x18, 7);
	ASSERT_ERR(init_ext4_size(sb, sizeof(sb), &blocks, &bs), -EBADMSG);
	ASSERT_ERR(init_ext4_size(sb, 100, &blocks, &bs), -EBADMSG);
}

TEST(init_verity_sig_json)
{
	uint8_t want[32], *sig = NULL;
	size_t n, len;
	char padded[4096] = { 0 };
	static const char good[] =
		"{ \"rootHash\" : \"" ROOT_HASH "\",\n \"signature\":\"AQID\","
		"\"certificateFingerprint\":\"ab\",\"x\":[1,-2.5e3,{\"y\":null}],"
		"\"z\":true }";

	ASSERT_OK(sl_hex_decode(ROOT_HASH, want, sizeof(want), &n));
	memcpy(padded, good, strlen(good));
	ASSERT_OK(init_verity_sig_decode(padded, sizeof(padded), want, 32, &sig, &len));
	ASSERT_EQ(len, 3);
	ASSERT_MEMEQ(sig, "\x01\x02\x03", 3);
	free(sig);

	/* Another slot's signature. */
	want[0] ^= 1;
	ASSERT_ERR(init_verity_sig_decode(good, strlen(good), want, 32, &sig, &len), -ESRCH);
	want[0] ^= 1;

	static const char *const bad[] = {
		"",
		"[]",
		"{\"rootHash\":\"" ROOT_HASH "\"}",
		"{\"signature\":\"AQID\"}",
		"{\"rootHash\":\"" ROOT_HASH "\",\"signature\":\"AQI\"}",
		"{\"rootHash\":\"" ROOT_HASH "\",\"signature\":\"A=ID\"}",
		"{\"rootHash\":\"" ROOT_HASH "\",\"signature\":\"AQID\"} x",
		"{\"rootHash\":\"" ROOT_HASH "\",\"signature\":\"AQID\",}",
		"{\"rootHash\":\"" ROOT_HASH "\",\"rootHash\":\"" ROOT_HASH
		"\",\"signature\":\"AQID\"}",
		"{\"rootHash\":\"zz\",\"signature\":\"AQID\"}",
		"{\"rootHash\":\"" ROOT_HASH
		"\",\"signature\":\"AQID\",\"x\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}",
		"{\"rootHash\":\"\\u0000\",\"signature\":\"AQID\"}",
		"{\"rootHash\":\"" ROOT_HASH "\",\"signature\":\"AQID\",\"x\":tru}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = init_verity_sig_decode(bad[i], strlen(bad[i]), want, 32, &sig, &len);

		if (r != -EBADMSG && r != -E2BIG)
			sl_test_fail(__FILE__, __LINE__, "case %zu: %d", i, r);
	}
	/* Non-NUL bytes after the NUL padding started. */
	memcpy(padded, good, strlen(good));
	padded[4000] = 'x';
	ASSERT_ERR(init_verity_sig_decode(padded, sizeof(padded), want, 32, &sig, &len), -EBADMSG);
}
