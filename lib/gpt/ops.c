/* SPDX-License-Identifier: MIT */
/* SlGptOps over a file descriptor or a memory buffer. */
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/bytes.h"
#include "slate/gpt.h"

static int fd_of(void *userdata)
{
	return (int)(intptr_t)userdata;
}

static int fd_read(void *userdata, void *buf, size_t len, uint64_t offset)
{
	return sl_pread_all(fd_of(userdata), buf, len, offset);
}

static int fd_write(void *userdata, const void *buf, size_t len, uint64_t offset)
{
	return sl_pwrite_all(fd_of(userdata), buf, len, offset);
}

static int fd_flush(void *userdata)
{
	return fdatasync(fd_of(userdata)) < 0 ? -errno : 0;
}

int sl_gpt_probe_sector_size(const SlGptOps *ops, uint32_t *ret)
{
	static const uint32_t sizes[] = { 512, 4096 };

	/* Primary first (LBA 1), then the backup (last LBA) of either size. */
	for (int backup = 0; backup <= 1; backup++) {
		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			uint64_t off = backup ? ops->size - sizes[i] : sizes[i];
			char sig[8];

			if (ops->size < 3 * (uint64_t)sizes[i])
				continue;
			if (ops->read(ops->userdata, sig, sizeof(sig), off) < 0)
				continue;
			if (memcmp(sig, "EFI PART", 8) == 0) {
				*ret = sizes[i];
				return 0;
			}
		}
	}
	return sl_errorf(-ENOENT, "no GPT header at LBA 1 or the last LBA (512 or 4096 bytes)");
}

int sl_gpt_ops_from_fd(int fd, uint32_t sector_size, SlGptOps *ret)
{
	SlGptOps ops = {
		.read = fd_read,
		.write = fd_write,
		.flush = fd_flush,
		.userdata = (void *)(intptr_t)fd,
	};
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	r = sl_fd_size(fd, &ops.size);
	if (r < 0)
		return r;
	if (sector_size == 0 && S_ISBLK(st.st_mode)) {
		int ss;

		if (ioctl(fd, BLKSSZGET, &ss) < 0)
			return -errno;
		sector_size = (uint32_t)ss;
	}
	if (sector_size == 0) {
		ops.sector_size = 512;
		if (sl_gpt_probe_sector_size(&ops, &sector_size) < 0)
			sector_size = 512;
	}
	if (sector_size != 512 && sector_size != 4096)
		return sl_errorf(-EOPNOTSUPP, "sector size %u is not supported (512 or 4096)",
				 sector_size);
	ops.sector_size = sector_size;
	*ret = ops;
	return 0;
}

static int mem_read(void *userdata, void *buf, size_t len, uint64_t offset)
{
	const SlGptMemory *mem = userdata;

	if (!sl_range_ok(offset, len, mem->len))
		return -EIO;
	memcpy(buf, mem->buf + offset, len);
	return 0;
}

static int mem_write(void *userdata, const void *buf, size_t len, uint64_t offset)
{
	SlGptMemory *mem = userdata;

	if (!sl_range_ok(offset, len, mem->len))
		return -EIO;
	memcpy(mem->buf + offset, buf, len);
	return 0;
}

static int mem_flush(void *userdata)
{
	return 0;
}

void sl_gpt_ops_from_memory(SlGptMemory *mem, uint32_t sector_size, SlGptOps *ret)
{
	*ret = (SlGptOps){
		.read = mem_read,
		.write = mem_write,
		.flush = mem_flush,
		.userdata = mem,
		.size = mem->len,
		.sector_size = sector_size,
	};
}
