/* SPDX-License-Identifier: MIT */
/*
 * slate-init's boot against a fake system: InitOps backed by memory (files,
 * disks with real GPTs made by lib/gpt, a device-mapper that records what it is
 * asked, a clock that moves when slate-init sleeps). Covers the command line,
 * partition lookup, the dm table, module order and parameters, the signature
 * through the keyring, first boot and growing, and every emergency decision.
 */
#include <linux/dm-ioctl.h>
#include <openssl/evp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "init.h"
#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/fileio.h"
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

/* A TPM with PCR 11 in up to five banks (the fifth one an algorithm slate-init
 * has no digests for). It answers the three commands slate-init sends, parsed
 * here by hand from the TPM 2.0 specification, and extends with OpenSSL. */
typedef struct FakeTpm {
	bool present;
	uint64_t appear_ms;
	uint16_t algs[5];
	bool allocated[5];
	size_t n_algs;
	uint8_t pcr11[5][64];
	uint32_t fail_cc, fail_rc; /* answer this command with this code ... */
	int fail_times;		   /* ... this many times (-1: always) */
	unsigned extends, commands;
	bool open;
} FakeTpm;

typedef struct Fake {
	uint64_t now;
	FakeFile files[32];
	size_t n_files;
	char paths[64][192]; /* what exists besides the files */
	size_t n_paths;
	char log[32768];
	char mounts[16][320];
	size_t n_mounts;
	int mount_err_target_usr;
	const char *eio_path; /* probe, read_file and mount of this path fail with EIO */
	bool verity_corrupt;  /* dm-verity's status says "C" */
	int efivarfs_err;     /* mounting efivarfs fails with this */
	char loaded[16][160];
	size_t n_loaded;
	const char *module_enodev; /* the module whose init says ENODEV ... */
	int module_err;		   /* ... or this */
	FakeDisk disks[3];
	size_t n_disks;
	bool no_dm, no_verity_target;
	int dm_load_err, dm_reload_err; /* the first and the second DM_TABLE_LOAD */
	unsigned long dm_cmds[16];
	size_t n_dm;
	char dm_table[1024];	 /* the last table loaded */
	char dm_tables[2][1024]; /* the first two */
	size_t dm_loads, dm_load_mounts[2];
	uint32_t dm_load_flags;
	char key_desc[64];
	uint8_t key_payload[256];
	size_t key_len;
	bool key_added, key_unlinked, key_at_load;
	unsigned keys_added;
	FakeTpm tpm;
	char mlog[4096];
	bool mlog_open, mlog_marked;
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
	FakeFile *ff = NULL;

	for (size_t i = 0; i < f->n_files; i++)
		if (streq(f->files[i].path, path)) {
			ff = &f->files[i];
			free(ff->data);
		}
	if (!ff) {
		ASSERT_TRUE(f->n_files < ARRAY_SIZE(f->files));
		ff = &f->files[f->n_files++];
	}
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

static uint64_t op_now_us(void *ud)
{
	return F(ud)->now * 1000 + 7;
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

	if (f->eio_path && streq(path, f->eio_path))
		return -EIO;
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

static int op_probe(void *ud, const char *path)
{
	Fake *f = F(ud);

	if (f->eio_path && streq(path, f->eio_path))
		return -EIO;
	return op_exists(ud, path) ? 0 : -ENOENT;
}

static int op_write_file(void *ud, const char *path, const void *data, size_t len, mode_t mode)
{
	fake_add_file(F(ud), path, data, len);
	return 0;
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
	if (f->eio_path && streq(target, f->eio_path))
		return -EIO;
	if (streq(fstype, "efivarfs") && f->efivarfs_err)
		return f->efivarfs_err;
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
	if (f->module_enodev && strstr(path, f->module_enodev))
		return f->module_err ? f->module_err : -ENODEV;
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
		size_t n = f->dm_loads++;

		memcpy(&spec, (uint8_t *)buf + io.data_start, sizeof(spec));
		snprintf(f->dm_table, sizeof(f->dm_table), "%llu %llu %s %s",
			 (unsigned long long)spec.sector_start, (unsigned long long)spec.length,
			 spec.target_type, (char *)buf + io.data_start + sizeof(spec));
		if (n < 2) {
			strcpy(f->dm_tables[n], f->dm_table);
			f->dm_load_mounts[n] = f->n_mounts;
		}
		f->dm_load_flags = io.flags;
		f->key_at_load = f->key_added && !f->key_unlinked;
		return n == 0 ? f->dm_load_err : n == 1 ? f->dm_reload_err : 0;
	}
	if (request == DM_TABLE_STATUS) {
		/* One verity target whose status is "V" or "C" (verity_status()). */
		struct dm_target_spec spec = { .length = 32768, .next = 0 };
		char *params = (char *)buf + SL_DM_HEADER_SIZE + sizeof(spec);

		strcpy(spec.target_type, "verity");
		io.data_start = SL_DM_HEADER_SIZE;
		io.target_count = 1;
		io.data_size = SL_DM_HEADER_SIZE + sizeof(spec) + 8;
		memcpy(buf, &io, sizeof(io));
		memcpy((uint8_t *)buf + SL_DM_HEADER_SIZE, &spec, sizeof(spec));
		memset(params, 0, 8);
		params[0] = f->verity_corrupt ? 'C' : 'V';
		return 0;
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
	f->keys_added++;
	f->key_unlinked = false;
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

/* ---- The fake TPM ---- */

static size_t alg_size(uint16_t alg)
{
	return alg == 0x0004   ? 20
	       : alg == 0x000b ? 32
	       : alg == 0x000c ? 48
	       : alg == 0x000d ? 64
			       : 32;
}

static const char *alg_evp(uint16_t alg)
{
	return alg == 0x0004   ? "sha1"
	       : alg == 0x000b ? "sha256"
	       : alg == 0x000c ? "sha384"
	       : alg == 0x000d ? "sha512"
			       : "sm3";
}

static void evp(const char *alg, const void *data, size_t len, uint8_t *out)
{
	unsigned n;

	ASSERT_TRUE(EVP_Digest(data, len, out, &n, EVP_get_digestbyname(alg), NULL) == 1);
}

/* PCR = H(PCR || digest) */
static void pcr_extend(uint16_t alg, uint8_t *pcr, const uint8_t *digest)
{
	uint8_t buf[128];
	size_t n = alg_size(alg);

	memcpy(buf, pcr, n);
	memcpy(buf + n, digest, n);
	evp(alg_evp(alg), buf, 2 * n, pcr);
}

static int tpm_bank(FakeTpm *t, uint16_t alg)
{
	for (size_t i = 0; i < t->n_algs; i++)
		if (t->algs[i] == alg)
			return (int)i;
	return -1;
}

static int op_tpm_open(void *ud, char *ret_name, size_t len)
{
	Fake *f = F(ud);

	if (!f->tpm.present || f->now < f->tpm.appear_ms)
		return -ENOENT;
	f->tpm.open = true;
	snprintf(ret_name, len, "/dev/tpmrm0");
	return 0;
}

static void op_tpm_close(void *ud)
{
	F(ud)->tpm.open = false;
}

static int op_tpm_transmit(void *ud, const void *cmd, size_t len, void *rsp, size_t cap,
			   size_t *ret_len)
{
	FakeTpm *t = &F(ud)->tpm;
	const uint8_t *c = cmd;
	uint8_t *r = rsp;
	uint32_t cc;
	size_t n = 10;

	ASSERT_TRUE(t->open);
	ASSERT_TRUE(len >= 10 && sl_be32(c + 2) == len && cap >= 4096);
	cc = sl_be32(c + 6);
	t->commands++;
	if (cc == t->fail_cc && t->fail_times != 0) {
		if (t->fail_times > 0)
			t->fail_times--;
		sl_put_be16(r, 0x8001);
		sl_put_be32(r + 2, 10);
		sl_put_be32(r + 6, t->fail_rc);
		*ret_len = 10;
		return 0;
	}
	if (cc == 0x17a) { /* GetCapability(TPM_CAP_PCRS, 0, 1) */
		ASSERT_TRUE(len == 22 && sl_be32(c + 10) == 5);
		r[n++] = 0;
		sl_put_be32(r + n, 5);
		sl_put_be32(r + n + 4, (uint32_t)t->n_algs);
		n += 8;
		for (size_t i = 0; i < t->n_algs; i++) {
			sl_put_be16(r + n, t->algs[i]);
			r[n + 2] = 3;
			memset(r + n + 3, t->allocated[i] ? 0xff : 0x00, 3);
			n += 6;
		}
	} else if (cc == 0x17e) { /* PCR_Read */
		uint32_t count = sl_be32(c + 10), values = 0;
		uint8_t *vcount;

		sl_put_be32(r + n, 42); /* pcrUpdateCounter */
		sl_put_be32(r + n + 4, count);
		n += 8;
		for (uint32_t i = 0; i < count; i++) {
			const uint8_t *sel = c + 14 + 6 * i;
			int b = tpm_bank(t, sl_be16(sel));

			ASSERT_TRUE(sel[2] == 3 && sel[3] == 0 && sel[4] == 0x08 && sel[5] == 0);
			memcpy(r + n, sel, 6);
			if (b < 0 || !t->allocated[b])
				r[n + 4] = 0;
			n += 6;
		}
		vcount = r + n;
		n += 4;
		for (uint32_t i = 0; i < count; i++) {
			int b = tpm_bank(t, sl_be16(c + 14 + 6 * i));

			if (b < 0 || !t->allocated[b])
				continue;
			sl_put_be16(r + n, (uint16_t)alg_size(t->algs[b]));
			memcpy(r + n + 2, t->pcr11[b], alg_size(t->algs[b]));
			n += 2 + alg_size(t->algs[b]);
			values++;
		}
		sl_put_be32(vcount, values);
	} else if (cc == 0x182) { /* PCR_Extend(11), one password session */
		size_t off = 27;
		uint32_t count;

		ASSERT_TRUE(sl_be16(c) == 0x8002 && sl_be32(c + 10) == 11 && sl_be32(c + 14) == 9);
		ASSERT_TRUE(sl_be32(c + 18) == 0x40000009);
		count = sl_be32(c + off);
		off += 4;
		for (uint32_t i = 0; i < count; i++) {
			uint16_t alg = sl_be16(c + off);
			int b = tpm_bank(t, alg);

			ASSERT_TRUE(b >= 0 && t->allocated[b]);
			pcr_extend(alg, t->pcr11[b], c + off + 2);
			off += 2 + alg_size(alg);
		}
		ASSERT_EQ(off, len);
		t->extends++;
		/* parameterSize 0, nonce 0, continueSession, hmac 0 */
		memcpy(r + n, "\0\0\0\0\0\0\1\0\0", 9);
		n += 9;
		sl_put_be16(r, 0x8002);
		sl_put_be32(r + 2, (uint32_t)n);
		sl_put_be32(r + 6, 0);
		*ret_len = n;
		return 0;
	} else {
		sl_test_fail(__FILE__, __LINE__, "unexpected TPM command 0x%x", cc);
	}
	sl_put_be16(r, 0x8001);
	sl_put_be32(r + 2, (uint32_t)n);
	sl_put_be32(r + 6, 0);
	*ret_len = n;
	return 0;
}

static int op_mlog_begin(void *ud, const char *path)
{
	Fake *f = F(ud);

	ASSERT_STREQ(path, "/run/log/systemd/tpm2-measure.log");
	ASSERT_FALSE(f->mlog_open);
	if (f->mlog_marked)
		return -ESTALE;
	f->mlog_open = f->mlog_marked = true;
	return 0;
}

static int op_mlog_end(void *ud, const char *record, size_t len)
{
	Fake *f = F(ud);
	size_t have = strlen(f->mlog);

	ASSERT_TRUE(f->mlog_open);
	f->mlog_open = false;
	if (!record)
		return 0;
	ASSERT_TRUE(have + len < sizeof(f->mlog));
	memcpy(f->mlog + have, record, len);
	f->mlog[have + len] = 0;
	f->mlog_marked = false;
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
		.now_us = op_now_us,
		.sleep_ms = op_sleep,
		.kernel_release = op_release,
		.read_file = op_read_file,
		.exists = op_exists,
		.probe = op_probe,
		.write_file = op_write_file,
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
		.tpm_open = op_tpm_open,
		.tpm_transmit = op_tpm_transmit,
		.tpm_close = op_tpm_close,
		.mlog_begin = op_mlog_begin,
		.mlog_end = op_mlog_end,
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
	fake_add_file(f, "/sysroot/usr/lib/systemd/systemd", "\177ELF\2\1\1", 7);
	fake_add_file(f, "/proc/sys/kernel/random/boot_id",
		      "0123abcd-4567-89ef-0123-456789abcdef\n", 37);
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

	/* The dm-verity device: data vda2 (254:2), hash vda3 (254:3), read-only; first
	 * with EIO on corruption while slate-init reads /usr (all mounts but the API
	 * ones come after), then the same table with restart_on_corruption, swapped
	 * in live once slate-init is done (after the last mount). */
	ASSERT_EQ(f.n_dm, 6);
	ASSERT_UEQ(f.dm_cmds[0], DM_GET_TARGET_VERSION);
	ASSERT_UEQ(f.dm_cmds[1], DM_DEV_CREATE);
	ASSERT_UEQ(f.dm_cmds[2], DM_TABLE_LOAD);
	ASSERT_UEQ(f.dm_cmds[3], DM_DEV_SUSPEND);
	ASSERT_UEQ(f.dm_cmds[4], DM_TABLE_LOAD);
	ASSERT_UEQ(f.dm_cmds[5], DM_DEV_SUSPEND);
	ASSERT_EQ(f.dm_load_flags, DM_READONLY_FLAG);
	ASSERT_STREQ(f.dm_tables[0],
		     "0 32768 verity 1 254:2 254:3 4096 4096 4096 1 sha256 " ROOT_HASH " aabbccdd");
	ASSERT_STREQ(f.dm_tables[1],
		     "0 32768 verity 1 254:2 254:3 4096 4096 4096 1 sha256 " ROOT_HASH
		     " aabbccdd 1 restart_on_corruption");
	ASSERT_EQ(f.dm_load_mounts[0], 4);
	ASSERT_EQ(f.dm_load_mounts[1], 7);
	ASSERT_TRUE(strstr(f.log, "read /usr/lib/systemd/systemd (7 bytes): verified"));
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
	ASSERT_EQ(f.keys_added, 2); /* the kernel checks it again for the second table */
	ASSERT_STREQ(f.key_desc, "slate:usr:0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	ASSERT_EQ(f.key_len, sizeof(sig) - 1);
	ASSERT_MEMEQ(f.key_payload, sig, sizeof(sig) - 1);
	ASSERT_TRUE(strstr(f.dm_tables[0], " aabbccdd 2 root_hash_sig_key_desc "
					   "slate:usr:0f1e2d3c4b5a69788796a5b4c3d2e1f0"));
	ASSERT_TRUE(strstr(f.dm_tables[1],
			   " aabbccdd 3 restart_on_corruption root_hash_sig_key_desc "
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

	/* A module for hardware the machine lacks refuses with ENODEV: not fatal. */
	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &good_disk);
	f.module_enodev = "virtio_blk";
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_EQ(f.n_loaded, 7);
	ASSERT_TRUE(strstr(f.log, "module virtio_blk: nothing for it on this machine (ENODEV)"));
	fake_free(&f);

	/* Any other refusal is. */
	fake_init(&f, "usrhash=" ROOT_HASH);
	f.module_enodev = "erofs";
	f.module_err = -ENOEXEC;
	ASSERT_ERR(boot(&f, &cfg, &e), -ENOEXEC);
	ASSERT_EQ(e.failure, INIT_FAIL_MODULE);
	ASSERT_TRUE(strstr(e.what, "loading module erofs"));
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

/* ---- A corrupted /usr block while slate-init reads /usr ---- */

TEST(init_boot_usr_corruption_is_reported_before_the_restart_mode)
{
	static const struct {
		const char *eio;
		const char *what;
	} cases[] = {
		{ "/sysroot/usr", "mounting /dev/mapper/usr (erofs, read-only) on /sysroot/usr" },
		{ "/sysroot/usr/bin", "looking up /sysroot/usr/bin" },
		{ "/sysroot/usr/share/factory/etc", "looking up /usr/share/factory/etc" },
		{ "/sysroot/etc", "mounting the /etc overlay" },
		{ "/sysroot/usr/lib/systemd/systemd", "reading /usr/lib/systemd/systemd" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Fake f;
		InitConfig cfg;
		InitError e;
		InitEmergencyPlan plan;
		char want[256];

		fake_init(&f, "usrhash=" ROOT_HASH " slate.emergency=halt");
		fake_add_disk(&f, "vda", false, &good_disk);
		f.eio_path = cases[i].eio;
		f.verity_corrupt = true;
		ASSERT_ERR(boot(&f, &cfg, &e), -EIO);
		ASSERT_EQ(e.failure, INIT_FAIL_USR_CORRUPT);
		snprintf(want, sizeof(want),
			 "/usr does not match its signed root hash: %s: Input/output error",
			 cases[i].what);
		if (!strstr(e.what, want))
			sl_test_fail(__FILE__, __LINE__, "'%s' lacks '%s'", e.what, want);
		/* Only the EIO table was ever loaded: the restart never came into force. */
		ASSERT_EQ(f.dm_loads, 1);
		ASSERT_UEQ(f.dm_cmds[f.n_dm - 1], DM_TABLE_STATUS);
		ASSERT_FALSE(f.switched);
		init_emergency_plan(&e, &cfg, &plan);
		ASSERT_EQ(plan.action, INIT_ACTION_POWEROFF);
		ASSERT_TRUE(startswith(plan.line, "slate-init: FAILED: /usr does not match its "
						  "signed root hash: "));
		ASSERT_TRUE(strstr(plan.line, "; powering off (slate.emergency=halt)"));
		fake_free(&f);
	}
}

TEST(init_boot_usr_io_error_that_is_not_a_mismatch)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	/* dm-verity still says "V": a disk error, not a block that does not match. */
	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &good_disk);
	f.eio_path = "/sysroot/usr/lib/systemd/systemd";
	ASSERT_ERR(boot(&f, &cfg, &e), -EIO);
	ASSERT_EQ(e.failure, INIT_FAIL_SWITCH_ROOT);
	ASSERT_STREQ(e.what, "reading /usr/lib/systemd/systemd: Input/output error");
	fake_free(&f);

	/* Not a program. */
	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &good_disk);
	fake_add_file(&f, "/sysroot/usr/lib/systemd/systemd", "#!/bin/sh\n", 10);
	ASSERT_ERR(boot(&f, &cfg, &e), -ENOEXEC);
	ASSERT_EQ(e.failure, INIT_FAIL_SWITCH_ROOT);
	fake_free(&f);
}

TEST(init_boot_corruption_modes)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	/* slate.corruption=eio: the first table is the final one. */
	fake_init(&f, "usrhash=" ROOT_HASH " slate.corruption=eio");
	fake_add_disk(&f, "vda", false, &good_disk);
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_EQ(f.dm_loads, 1);
	ASSERT_TRUE(strstr(f.dm_table, " aabbccdd") && !strstr(f.dm_table, "corruption"));
	fake_free(&f);

	/* The kernel refuses the second table: the emergency path, never systemd. */
	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &good_disk);
	f.dm_reload_err = -EINVAL;
	ASSERT_ERR(boot(&f, &cfg, &e), -EINVAL);
	ASSERT_EQ(e.failure, INIT_FAIL_VERITY_DEVICE);
	ASSERT_STREQ(e.what, "replacing the /dev/mapper/usr table to set restart_on_corruption: "
			     "device-mapper refused /dev/mapper/usr: Invalid argument");
	ASSERT_UEQ(f.dm_cmds[f.n_dm - 1], DM_TABLE_LOAD); /* and no remove of the live device */
	ASSERT_FALSE(f.switched);
	fake_free(&f);
}

/* ---- PCR 11 boot phases ---- */

static const char *const evp_names[4] = { "sha1", "sha256", "sha384", "sha512" };
static const uint16_t tpm_algs[4] = { SL_TPM_ALG_SHA1, SL_TPM_ALG_SHA256, SL_TPM_ALG_SHA384,
				      SL_TPM_ALG_SHA512 };

TEST(init_phase_digests_are_the_words_hashes)
{
	static const char *const words[2] = { "enter-initrd", "leave-initrd" };

	for (size_t w = 0; w < 2; w++)
		for (size_t b = 0; b < 4; b++) {
			uint8_t want[64];
			const uint8_t *got = init_phase_digest(words[w], tpm_algs[b]);

			evp(evp_names[b], words[w], strlen(words[w]), want);
			ASSERT_TRUE(got != NULL);
			ASSERT_MEMEQ(got, want, sl_tpm_alg_digest_size(tpm_algs[b]));
		}
	ASSERT_TRUE(init_phase_digest("sysinit", SL_TPM_ALG_SHA256) == NULL);
	ASSERT_TRUE(init_phase_digest("enter-initrd", SL_TPM_ALG_SM3_256) == NULL);
}

TEST(init_efivar_uint_decoding)
{
	unsigned v = 0;

	/* attributes (NV|BS|RT = 7 or BS|RT = 6), then UTF-16LE "11" and a NUL. */
	ASSERT_OK(init_efivar_uint("\6\0\0\0"
				   "1\0"
				   "1\0"
				   "\0\0",
				   10, &v));
	ASSERT_EQ(v, 11);
	ASSERT_OK(init_efivar_uint("\6\0\0\0"
				   "1\0"
				   "2\0",
				   8, &v));
	ASSERT_EQ(v, 12);
	ASSERT_ERR(init_efivar_uint("\6\0\0", 3, &v), -EBADMSG);
	ASSERT_ERR(init_efivar_uint("\6\0\0\0", 4, &v), -EBADMSG);
	ASSERT_ERR(init_efivar_uint("\6\0\0\0"
				    "1\0"
				    "1",
				    7, &v),
		   -EBADMSG);
	ASSERT_ERR(init_efivar_uint("\6\0\0\0"
				    "x\0",
				    6, &v),
		   -EBADMSG);
	ASSERT_ERR(init_efivar_uint("\6\0\0\0"
				    "1\x01",
				    6, &v),
		   -EBADMSG);
	ASSERT_ERR(init_efivar_uint("\6\0\0\0"
				    "\0\0"
				    "1\0",
				    8, &v),
		   -EBADMSG);
	ASSERT_ERR(init_efivar_uint("\6\0\0\0"
				    "1\0"
				    "9\0"
				    "9\0"
				    "9\0"
				    "9\0"
				    "9\0"
				    "9\0"
				    "9\0"
				    "9\0"
				    "9\0",
				    24, &v),
		   -EBADMSG);
}

/* The log records systemd-pcrextend 257 wrote (tests/vectors/tpm), made again. */
TEST(init_measure_record_is_systemds)
{
	static const char *const words[2] = { "enter-initrd", "leave-initrd" };
	_cleanup_free_ uint8_t *log = NULL;
	char path[512];
	const char *rec;
	size_t len;

	snprintf(path, sizeof(path), "%s/tests/vectors/tpm/tpm2-measure.log", sl_test_srcdir());
	ASSERT_OK(sl_read_file(path, 1 << 16, &log, &len));
	rec = (const char *)log;
	for (size_t w = 0; w < 2; w++) {
		_cleanup_free_ char *ours = NULL;
		const char *end = strchr(rec, '\n'), *id, *ts;
		char boot_id[33] = "";
		unsigned long long usec;
		SlTpmDigest d[4];
		size_t ours_len;

		ASSERT_TRUE(end != NULL);
		id = strstr(rec, "\"bootId\":\"");
		ts = strstr(rec, "\"timestamp\":");
		ASSERT_TRUE(id && ts && id < end && ts < end);
		memcpy(boot_id, id + 10, 32);
		usec = strtoull(ts + 12, NULL, 10);
		for (size_t b = 0; b < 4; b++) {
			d[b] = (SlTpmDigest){ .alg = tpm_algs[b],
					      .size = (uint16_t)sl_tpm_alg_digest_size(
						      tpm_algs[b]) };
			memcpy(d[b].digest, init_phase_digest(words[w], tpm_algs[b]), d[b].size);
		}
		ASSERT_OK(init_measure_record(11, d, 4, words[w], boot_id, usec, &ours, &ours_len));
		ASSERT_EQ(ours_len, (size_t)(end + 1 - rec));
		ASSERT_MEMEQ(ours, rec, ours_len);
		rec = end + 1;
	}
	ASSERT_EQ((size_t)(rec - (const char *)log), len);
}

/* A UEFI boot that systemd-stub measured: StubPcrKernelImage=11, and a TPM whose
 * PCR 11 holds the stub's measurements in every bank. */
static void fake_measured_boot(Fake *f, const char *cmdline)
{
	fake_init(f, cmdline);
	fake_add_disk(f, "vda", false, &good_disk);
	fake_add_path(f, "/sys/firmware/efi");
	fake_add_file(f, "/sys/firmware/efi/efivars/" INIT_STUB_PCR_VAR,
		      "\6\0\0\0"
		      "1\0"
		      "1\0"
		      "\0\0",
		      10);
	f->tpm = (FakeTpm){ .present = true, .n_algs = 4 };
	for (size_t b = 0; b < 4; b++) {
		f->tpm.algs[b] = tpm_algs[b];
		f->tpm.allocated[b] = true;
		evp(evp_names[b], "the stub's sections", 19, f->tpm.pcr11[b]);
	}
}

/* PCR 11 of bank b from the stub's value through the given words. */
static void expect_pcr(uint16_t alg, const char *const *words, size_t n, uint8_t *out)
{
	uint8_t d[64];

	evp(alg_evp(alg), "the stub's sections", 19, out);
	for (size_t i = 0; i < n; i++) {
		evp(alg_evp(alg), words[i], strlen(words[i]), d);
		pcr_extend(alg, out, d);
	}
}

static void assert_pcr(Fake *f, const char *const *words, size_t n)
{
	for (size_t b = 0; b < f->tpm.n_algs; b++) {
		uint8_t want[64];

		expect_pcr(f->tpm.algs[b], words, n, want);
		if (memcmp(want, f->tpm.pcr11[b], alg_size(f->tpm.algs[b])) != 0)
			sl_test_fail(__FILE__, __LINE__, "PCR 11 %s after %zu words",
				     alg_evp(f->tpm.algs[b]), n);
	}
}

static const char *const both[2] = { "enter-initrd", "leave-initrd" };

TEST(init_boot_measures_enter_and_leave_initrd)
{
	Fake f;
	InitConfig cfg;
	InitError e;
	const char *enter, *leave, *table, *armed, *switching;
	uint8_t want[64];
	char hex[129], line[200];

	fake_measured_boot(&f, "usrhash=" ROOT_HASH);
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_TRUE(f.switched);
	ASSERT_EQ(f.tpm.extends, 2);
	assert_pcr(&f, both, 2);
	ASSERT_FALSE(f.tpm.open); /* closed before systemd starts */
	ASSERT_STREQ(f.mounts[4], "efivarfs /sys/firmware/efi/efivars efivarfs rw,nodev -");

	/* enter-initrd before /usr is touched, leave-initrd after the last read of
	 * /usr and the final table, right before the switch. */
	enter = strstr(f.log, "measured boot phase 'enter-initrd' into PCR 11 (sha1, sha256, "
			      "sha384, sha512)");
	table = strstr(f.log, "dm-verity table:");
	armed = strstr(f.log, "on corruption now restart_on_corruption");
	leave = strstr(f.log, "measured boot phase 'leave-initrd'");
	switching = strstr(f.log, "switching root");
	ASSERT_TRUE(enter && table && armed && leave && switching);
	ASSERT_TRUE(enter < table && armed < leave && leave < switching);
	ASSERT_TRUE(strstr(f.log, "TPM /dev/tpmrm0 (after 0 ms): PCR 11 banks sha1, sha256, "
				  "sha384, sha512"));
	/* The value after each phase on the console. */
	expect_pcr(SL_TPM_ALG_SHA256, both, 2, want);
	sl_hex_encode(want, 32, hex);
	snprintf(line, sizeof(line), " sha256=%s ", hex);
	ASSERT_TRUE(strstr(strstr(f.log, "PCR 11 after leave-initrd: sha1="), line));

	/* The measurement log: two records, complete (the mark cleared). */
	ASSERT_FALSE(f.mlog_marked);
	enter = strstr(f.mlog,
		       "\x1e{\"pcr\":11,\"digests\":[{\"hashAlg\":\"sha1\",\"digest\":\"b1b01d5f");
	leave = strstr(f.mlog, "\"content\":{\"string\":\"leave-initrd\",\"bootId\":"
			       "\"0123abcd456789ef0123456789abcdef\",\"timestamp\":");
	ASSERT_TRUE(enter == f.mlog && leave > enter);
	ASSERT_FALSE(f.log[0] && strstr(f.log, "WARNING"));
	ASSERT_FALSE(has_path(&f, INIT_MEASURE_INCOMPLETE));
	fake_free(&f);
}

TEST(init_measure_banks_as_systemd_picks_them)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	/* The firmware measured into sha1 and sha256 only: those are the good banks. */
	fake_measured_boot(&f, "usrhash=" ROOT_HASH);
	memset(f.tpm.pcr11[2], 0, 48);
	memset(f.tpm.pcr11[3], 0xff, 64);
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_TRUE(strstr(f.log, "PCR 11 banks sha1, sha256\n"));
	ASSERT_TRUE(strstr(f.mlog, "\"hashAlg\":\"sha256\"") && !strstr(f.mlog, "sha384"));
	for (size_t i = 0; i < 48; i++)
		ASSERT_EQ(f.tpm.pcr11[2][i], 0);
	fake_free(&f);

	/* None measured yet: every bank with all 24 PCRs (systemd's fallback). */
	fake_measured_boot(&f, "usrhash=" ROOT_HASH);
	for (size_t b = 0; b < 4; b++)
		memset(f.tpm.pcr11[b], 0, 64);
	f.tpm.allocated[0] = false; /* sha1 listed without PCRs: not allocated */
	f.tpm.algs[4] = SL_TPM_ALG_SM3_256;
	f.tpm.allocated[4] = true;
	f.tpm.n_algs = 5;
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_TRUE(strstr(f.log, "PCR 11 banks sha256, sha384, sha512\n"));
	ASSERT_TRUE(strstr(f.log, "TPM bank sm3_256 (0x0012): slate-init has no digests"));
	ASSERT_EQ(f.tpm.extends, 2);
	fake_free(&f);
}

TEST(init_measure_only_what_the_stub_measured)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	/* Not UEFI (the other tests' default): nothing is asked of any TPM. */
	fake_init(&f, "usrhash=" ROOT_HASH);
	fake_add_disk(&f, "vda", false, &good_disk);
	f.tpm.present = true;
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_EQ(f.tpm.commands, 0);
	ASSERT_TRUE(strstr(f.log, "not booted through UEFI: no PCR 11 boot phases"));
	fake_free(&f);

	/* UEFI, but no StubPcrKernelImage: systemd-pcrphase would skip, so do we. */
	fake_measured_boot(&f, "usrhash=" ROOT_HASH);
	strcpy(f.files[f.n_files - 1].path, "/nowhere");
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_EQ(f.tpm.commands, 0);
	ASSERT_TRUE(strstr(f.log, "systemd-stub did not measure this boot"));
	ASSERT_FALSE(strstr(f.log, "WARNING"));
	fake_free(&f);
}

/* Every way the TPM can fail: the boot goes on, loudly. */
TEST(init_measure_failures_never_stop_the_boot)
{
	static const struct {
		const char *name;
		int efivarfs_err;
		const char *var;
		size_t var_len;
		bool no_tpm;
		uint32_t fail_cc, fail_rc;
		int fail_times;
		bool stale_log;
		size_t extends; /* of the two phases, how many reached PCR 11 */
		const char *first_word;
		const char *why;
	} cases[] = {
		{ "no efivarfs", -ENODEV, NULL, 0, false, 0, 0, 0, false, 0, NULL,
		  "the initramfs needs the efivarfs module" },
		{ "PCR 12", 0,
		  "\6\0\0\0"
		  "1\0"
		  "2\0",
		  8, false, 0, 0, 0, false, 0, NULL,
		  "systemd-stub measured the UKI into PCR 12, not PCR 11" },
		{ "bad variable", 0,
		  "\6\0\0\0"
		  "x\0",
		  6, false, 0, 0, 0, false, 0, NULL, "StubPcrKernelImage cannot be read" },
		{ "no TPM", 0, NULL, 0, true, 0, 0, 0, false, 0, NULL,
		  "no TPM device (/dev/tpmrm0, /dev/tpm0) after 10 s" },
		{ "extend fails once", 0, NULL, 0, false, 0x182, 0x101, 1, false, 1, "leave-initrd",
		  "extending PCR 11 with 'enter-initrd' failed: TPM2_PCR_Extend: the TPM answered "
		  "TPM_RC_FAILURE" },
		{ "extend always fails", 0, NULL, 0, false, 0x182, 0x101, -1, false, 0, NULL,
		  "extending PCR 11 with 'leave-initrd' failed" },
		{ "no banks at first", 0, NULL, 0, false, 0x17a, 0x101, 1, false, 1, "leave-initrd",
		  "the TPM cannot be used: TPM2_GetCapability(TPM_CAP_PCRS): the TPM answered "
		  "TPM_RC_FAILURE" },
		{ "retry, retry, done", 0, NULL, 0, false, 0x182, 0x922, 2, false, 2,
		  "enter-initrd", NULL },
		{ "busy for good", 0, NULL, 0, false, 0x182, 0x922, -1, false, 0, NULL,
		  "TPM_RC_RETRY" },
		{ "stale log", 0, NULL, 0, false, 0, 0, 0, true, 2, "enter-initrd", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		Fake f;
		InitConfig cfg;
		InitError e;
		_cleanup_free_ char *marker = NULL;
		size_t len;

		fake_measured_boot(&f, "usrhash=" ROOT_HASH);
		f.efivarfs_err = cases[i].efivarfs_err;
		if (cases[i].var)
			fake_add_file(&f, "/sys/firmware/efi/efivars/" INIT_STUB_PCR_VAR,
				      cases[i].var, cases[i].var_len);
		f.tpm.present = !cases[i].no_tpm;
		f.tpm.fail_cc = cases[i].fail_cc;
		f.tpm.fail_rc = cases[i].fail_rc;
		f.tpm.fail_times = cases[i].fail_times;
		f.mlog_marked = cases[i].stale_log;
		ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
		if (!f.switched)
			sl_test_fail(__FILE__, __LINE__, "%s: the boot stopped", cases[i].name);
		if (f.tpm.extends != cases[i].extends)
			sl_test_fail(__FILE__, __LINE__, "%s: %u extends", cases[i].name,
				     f.tpm.extends);
		if (cases[i].extends)
			assert_pcr(&f, cases[i].extends == 2 ? both : both + 1, cases[i].extends);
		else
			assert_pcr(&f, both, 0);
		if (cases[i].first_word && f.tpm.extends == 1)
			ASSERT_STREQ(cases[i].first_word, "leave-initrd");
		if (cases[i].why) {
			ASSERT_OK(op_read_file(&f, INIT_MEASURE_INCOMPLETE, 4096, &marker, &len));
			if (!strstr(marker, cases[i].why))
				sl_test_fail(__FILE__, __LINE__, "%s: '%s' lacks '%s'",
					     cases[i].name, marker, cases[i].why);
			ASSERT_TRUE(strstr(f.log, "<2>WARNING: TPM measurements are incomplete: "));
		} else {
			ASSERT_FALSE(has_path(&f, INIT_MEASURE_INCOMPLETE));
			ASSERT_FALSE(strstr(f.log, "<2>WARNING"));
		}
		if (cases[i].stale_log) {
			ASSERT_TRUE(strstr(f.log, "an earlier write did not finish; 'enter-initrd' "
						  "is measured without a log record"));
			ASSERT_STREQ(f.mlog, "");
		}
		ASSERT_FALSE(f.tpm.open);
		fake_free(&f);
	}
}

TEST(init_measure_waits_for_the_tpm)
{
	Fake f;
	InitConfig cfg;
	InitError e;

	fake_measured_boot(&f, "usrhash=" ROOT_HASH);
	f.tpm.appear_ms = 1500;
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_EQ(f.tpm.extends, 2);
	ASSERT_TRUE(strstr(f.log, "TPM /dev/tpmrm0 (after 1500 ms)"));
	fake_free(&f);

	/* None at all: one wait of INIT_TPM_WAIT_MS, not one per phase. */
	fake_measured_boot(&f, "usrhash=" ROOT_HASH);
	f.tpm.present = false;
	ASSERT_ERR(boot(&f, &cfg, &e), -ECANCELED);
	ASSERT_TRUE(f.now >= INIT_TPM_WAIT_MS && f.now < INIT_TPM_WAIT_MS + 1000);
	fake_free(&f);
}
