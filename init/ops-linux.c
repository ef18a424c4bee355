/* SPDX-License-Identifier: MIT */
/*
 * InitOps on the running kernel: system calls, /sys/class/block, /dev/kmsg.
 * Only main.c uses this file; everything it calls is one system call or a few,
 * so that the logic that decides things stays in the tested files.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <linux/module.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>

#include "ops-linux.h"
#include "slate/fileio.h"
#include "slate/strutil.h"

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

#define DEVKMSG_SYSCTL "/proc/sys/kernel/printk_devkmsg"

static LinuxInit *L(void *userdata)
{
	return userdata;
}

/* Writes to /dev/kmsg are rate-limited per opener (10 lines in 5 s) unless
 * printk_devkmsg is "on"; slate-init logs every step, so it turns the limit off
 * while it runs and puts the old value back before systemd starts. */
static void devkmsg_unlimit(LinuxInit *l)
{
	_cleanup_free_ uint8_t *old = NULL;
	size_t len;
	int fd;

	if (l->devkmsg_saved[0] || sl_read_file(DEVKMSG_SYSCTL, 64, &old, &len) < 0)
		return;
	while (len && (old[len - 1] == '\n' || old[len - 1] == ' '))
		old[--len] = 0;
	if (!streq((char *)old, "ratelimit"))
		return;
	fd = open(DEVKMSG_SYSCTL, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* The sysctl takes the word with its newline ("on\n"), else EINVAL. */
	if (write(fd, "on\n", 3) == 3)
		snprintf(l->devkmsg_saved, sizeof(l->devkmsg_saved), "%s", (char *)old);
	close(fd);
}

static void devkmsg_restore(LinuxInit *l)
{
	int fd;

	if (!l->devkmsg_saved[0])
		return;
	fd = open(DEVKMSG_SYSCTL, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		char line[20];
		int n = snprintf(line, sizeof(line), "%s\n", l->devkmsg_saved);

		if (write(fd, line, (size_t)n) < 0)
			l->devkmsg_saved[0] = 0;
		close(fd);
	}
}

void linux_init_write_line(LinuxInit *l, int level, const char *line)
{
	char buf[1200];
	int n;

	if (l->kmsg < 0) {
		l->kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (l->kmsg >= 0)
			devkmsg_unlimit(l);
	}
	if (l->kmsg >= 0) {
		n = snprintf(buf, sizeof(buf), "<%d>slate-init: %s\n", level, line);
		if (n > 0 && write(l->kmsg, buf, (size_t)MIN(n, (int)sizeof(buf) - 1)) > 0)
			return;
	}
	/* No /dev yet (or no kmsg): the console the kernel gave us. */
	n = snprintf(buf, sizeof(buf), "slate-init: %s\n", line);
	if (n > 0 && write(STDERR_FILENO, buf, (size_t)MIN(n, (int)sizeof(buf) - 1)) < 0)
		return;
}

static void op_log(void *userdata, int level, const char *line)
{
	linux_init_write_line(L(userdata), level, line);
}

static uint64_t op_now_ms(void *userdata)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t op_now_us(void *userdata)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void op_sleep_ms(void *userdata, unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int op_kernel_release(void *userdata, char *out, size_t len)
{
	struct utsname u;

	if (uname(&u) < 0)
		return -errno;
	if (strlen(u.release) >= len)
		return -E2BIG;
	strcpy(out, u.release);
	return 0;
}

static int op_read_file(void *userdata, const char *path, size_t max, char **ret, size_t *ret_len)
{
	uint8_t *buf;
	int r = sl_read_file(path, max, &buf, ret_len);

	if (r < 0)
		return r;
	*ret = (char *)buf;
	return 0;
}

static bool op_exists(void *userdata, const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int op_probe(void *userdata, const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? -errno : 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int op_write_file(void *userdata, const char *path, const void *data, size_t len,
			 mode_t mode)
{
	_cleanup_close_ int fd =
		open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return -errno;
	return write_all(fd, data, len);
}

static int op_mkdir(void *userdata, const char *path, mode_t mode)
{
	return mkdir(path, mode) < 0 ? -errno : 0;
}

static int op_symlink(void *userdata, const char *target, const char *path)
{
	return symlink(target, path) < 0 ? -errno : 0;
}

static int op_mknod(void *userdata, const char *path, mode_t mode, dev_t dev)
{
	return mknod(path, mode, dev) < 0 ? -errno : 0;
}

static int op_mount(void *userdata, const char *source, const char *target, const char *fstype,
		    unsigned long flags, const char *data)
{
	return mount(source, target, fstype, flags, data) < 0 ? -errno : 0;
}

static bool compressed_module(const char *path)
{
	size_t n = strlen(path);

	return (n > 3 && streq(path + n - 3, ".xz")) || (n > 4 && streq(path + n - 4, ".zst")) ||
	       (n > 3 && streq(path + n - 3, ".gz"));
}

static int op_load_module(void *userdata, const char *path, const char *params)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/* The kernel decompresses .ko.xz itself (CONFIG_MODULE_DECOMPRESS). */
	if (syscall(SYS_finit_module, fd, params,
		    compressed_module(path) ? MODULE_INIT_COMPRESSED_FILE : 0) < 0)
		return -errno;
	return 0;
}

static int read_sysfs(int dirfd, const char *file, char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

/* One entry of /sys/class/block; -ENOENT when it vanished meanwhile. */
static int block_entry(int classfd, const char *name, InitBlockDev *b)
{
	_cleanup_close_ int dfd = openat(classfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[64], link[512];
	unsigned long long sectors;
	ssize_t n;

	if (dfd < 0 || strlen(name) >= sizeof(b->name))
		return -ENOENT;
	*b = (InitBlockDev){ 0 };
	strcpy(b->name, name);
	if (read_sysfs(dfd, "dev", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%u:%u", &b->major, &b->minor) != 2)
		return -ENOENT;
	if (read_sysfs(dfd, "size", buf, sizeof(buf)) < 0 || sscanf(buf, "%llu", &sectors) != 1)
		return -ENOENT;
	b->size = (uint64_t)sectors * 512; /* sysfs sizes are in 512-byte units */
	if (read_sysfs(dfd, "partition", buf, sizeof(buf)) == 0) {
		char *slash;

		b->partno = (unsigned)strtoul(buf, NULL, 10);
		/* .../block/vda/vda2: the disk is the directory above. */
		n = readlinkat(classfd, name, link, sizeof(link) - 1);
		if (n < 0)
			return -ENOENT;
		link[n] = 0;
		slash = strrchr(link, '/');
		if (!slash)
			return -ENOENT;
		*slash = 0;
		slash = strrchr(link, '/');
		slash = slash ? slash + 1 : link;
		if (strlen(slash) >= sizeof(b->disk))
			return -ENOENT;
		strcpy(b->disk, slash);
	}
	return 0;
}

static int op_list_block(void *userdata, InitBlockDev **ret, size_t *ret_n)
{
	_cleanup_free_ InitBlockDev *list = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir("/sys/class/block");
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		InitBlockDev b;

		if (de->d_name[0] == '.' || block_entry(dirfd(d), de->d_name, &b) < 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			InitBlockDev *nl = sl_realloc_array(list, ncap, sizeof(*nl));

			if (!nl) {
				closedir(d);
				return -ENOMEM;
			}
			list = nl;
			cap = ncap;
		}
		list[n++] = b;
	}
	closedir(d);
	*ret = TAKE_PTR(list);
	*ret_n = n;
	return 0;
}

typedef struct BlockIo {
	int fd;
} BlockIo;

static int bio_read(void *userdata, void *buf, size_t len, uint64_t offset)
{
	return sl_pread_all(((BlockIo *)userdata)->fd, buf, len, offset);
}

static int bio_write(void *userdata, const void *buf, size_t len, uint64_t offset)
{
	return sl_pwrite_all(((BlockIo *)userdata)->fd, buf, len, offset);
}

static int bio_flush(void *userdata)
{
	return fdatasync(((BlockIo *)userdata)->fd) < 0 ? -errno : 0;
}

static int op_block_open(void *userdata, const char *name, bool writable, SlGptOps *ret)
{
	char path[64];
	BlockIo *b;
	int fd, ssz = 512, r;
	uint64_t size;

	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = sl_fd_size(fd, &size);
	if (r >= 0 && ioctl(fd, BLKSSZGET, &ssz) < 0)
		r = -errno;
	b = r >= 0 ? malloc(sizeof(*b)) : NULL;
	if (!b) {
		close(fd);
		return r < 0 ? r : -ENOMEM;
	}
	b->fd = fd;
	*ret = (SlGptOps){ .read = bio_read,
			   .write = bio_write,
			   .flush = bio_flush,
			   .userdata = b,
			   .size = size,
			   .sector_size = (uint32_t)ssz };
	return 0;
}

static void op_block_close(void *userdata, SlGptOps *ops)
{
	BlockIo *b = ops->userdata;

	if (b) {
		close(b->fd);
		free(b);
	}
	ops->userdata = NULL;
}

static int op_resize_partition(void *userdata, const char *disk, unsigned partno, uint64_t start,
			       uint64_t len)
{
	struct blkpg_partition part = { .start = (long long)start,
					.length = (long long)len,
					.pno = (int)partno };
	struct blkpg_ioctl_arg arg = { .op = BLKPG_RESIZE_PARTITION,
				       .datalen = sizeof(part),
				       .data = &part };
	char path[64];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/dev/%s", disk);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return ioctl(fd, BLKPG, &arg) < 0 ? -errno : 0;
}

static int op_resize_ext4(void *userdata, const char *path, uint64_t blocks)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return ioctl(fd, EXT4_IOC_RESIZE_FS, &blocks) < 0 ? -errno : 0;
}

static int op_dm_open(void *userdata, SlDmOps *ret)
{
	LinuxInit *l = L(userdata);

	if (l->dm < 0) {
		l->dm = sl_dm_control_open();
		if (l->dm < 0) {
			int r = l->dm;

			l->dm = -1;
			return r;
		}
	}
	*ret = (SlDmOps){ .ioctl = sl_dm_fd_ioctl, .userdata = &l->dm };
	return 0;
}

static int op_add_key(void *userdata, const char *desc, const void *payload, size_t len,
		      int32_t *ret_serial)
{
	long r = syscall(SYS_add_key, "user", desc, payload, len, KEY_SPEC_THREAD_KEYRING);

	if (r < 0)
		return -errno;
	*ret_serial = (int32_t)r;
	return 0;
}

static int op_unlink_key(void *userdata, int32_t serial)
{
	return syscall(SYS_keyctl, KEYCTL_UNLINK, serial, KEY_SPEC_THREAD_KEYRING) < 0 ? -errno : 0;
}

static int op_tpm_open(void *userdata, char *ret_name, size_t len)
{
	/* The resource manager first, as systemd's default (device:/dev/tpmrm0). */
	static const char *const nodes[] = { "/dev/tpmrm0", "/dev/tpm0" };
	LinuxInit *l = L(userdata);
	int r = -ENOENT;

	for (size_t i = 0; i < ARRAY_SIZE(nodes) && l->tpm < 0; i++) {
		l->tpm = open(nodes[i], O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (l->tpm >= 0)
			snprintf(ret_name, len, "%s", nodes[i]);
		else if (errno != ENOENT)
			r = -errno;
	}
	return l->tpm >= 0 ? 0 : r;
}

/* The kernel's TPM character devices take one whole command per write() and
 * give the whole response to the next read(). */
static int op_tpm_transmit(void *userdata, const void *cmd, size_t len, void *rsp, size_t cap,
			   size_t *ret_len)
{
	LinuxInit *l = L(userdata);
	ssize_t n;

	if (l->tpm < 0)
		return -EBADF;
	do
		n = write(l->tpm, cmd, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	do
		n = read(l->tpm, rsp, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*ret_len = (size_t)n;
	return 0;
}

static void op_tpm_close(void *userdata)
{
	LinuxInit *l = L(userdata);

	if (l->tpm >= 0)
		close(l->tpm);
	l->tpm = -1;
}

/* mkdir -p of the directories above path, mode 0755. */
static void mkdir_parents(const char *path)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		(void)mkdir(dir, 0755);
		*s = '/';
	}
}

/* systemd 257 tpm2_userspace_log_open(): 0600 (anyone who can open it could lock
 * it), flock, and the sticky bit as the "being written" mark. */
static int op_mlog_begin(void *userdata, const char *path)
{
	LinuxInit *l = L(userdata);
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (l->mlog >= 0)
		return -EBUSY;
	mkdir_parents(path);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	if (st.st_mode & S_ISVTX)
		return -ESTALE;
	if (fchmod(fd, 0600 | S_ISVTX) < 0)
		return -errno;
	l->mlog = TAKE_FD(fd);
	return 0;
}

static int op_mlog_end(void *userdata, const char *record, size_t len)
{
	LinuxInit *l = L(userdata);
	_cleanup_close_ int fd = l->mlog;
	int r = 0;

	l->mlog = -1;
	if (fd < 0)
		return -EBADF;
	if (!record)
		return 0; /* the mark stays: this measurement is not in the log */
	if (lseek(fd, 0, SEEK_END) < 0)
		return -errno;
	r = write_all(fd, record, len);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && fchmod(fd, 0600) < 0)
		r = -errno;
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	return r;
}

static void op_configured(void *userdata, const InitConfig *cfg)
{
	L(userdata)->cfg = *cfg;
	L(userdata)->have_cfg = true;
}

/* Remove everything of the initramfs (a ramfs or tmpfs) below dirfd, staying on
 * its device: mounts such as the new root are left alone. Frees its memory. */
static void remove_tree(int dirfd, dev_t dev)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		bool is_dir;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		is_dir = S_ISDIR(st.st_mode);
		if (is_dir) {
			int sub = openat(dirfd, de->d_name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

			if (sub >= 0)
				remove_tree(sub, dev);
		}
		(void)unlinkat(dirfd, de->d_name, is_dir ? AT_REMOVEDIR : 0);
	}
	closedir(d);
}

static int op_switch_root(void *userdata, const char *newroot, const char *init)
{
	static const char *const api[] = { "/dev", "/proc", "/sys", "/run" };
	char path[256];
	struct statfs sfs;
	struct stat st;
	int fd;

	/* Check what can be checked while there is still a way back. */
	snprintf(path, sizeof(path), "%s%s", newroot, init);
	if (access(path, X_OK) < 0)
		return -errno;
	if (statfs("/", &sfs) < 0)
		return -errno;
	if ((unsigned long)sfs.f_type != RAMFS_MAGIC && (unsigned long)sfs.f_type != TMPFS_MAGIC)
		return -EPERM; /* never empty anything but an initramfs */
	if (stat("/", &st) < 0)
		return -errno;

	devkmsg_restore(L(userdata));
	for (size_t i = 0; i < ARRAY_SIZE(api); i++) {
		snprintf(path, sizeof(path), "%s%s", newroot, api[i]);
		if (mount(api[i], path, NULL, MS_MOVE, NULL) < 0)
			return -errno;
	}
	if (chdir(newroot) < 0)
		return -errno;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		remove_tree(fd, st.st_dev);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return -errno;
	umask(022);
	execv(init, (char *const[]){ (char *)init, NULL });
	return -errno;
}

void linux_init_ops(LinuxInit *l, InitOps *ops)
{
	*l = (LinuxInit){ .kmsg = -1, .dm = -1, .tpm = -1, .mlog = -1 };
	*ops = (InitOps){
		.userdata = l,
		.log = op_log,
		.now_ms = op_now_ms,
		.now_us = op_now_us,
		.sleep_ms = op_sleep_ms,
		.kernel_release = op_kernel_release,
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
