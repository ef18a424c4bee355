/* SPDX-License-Identifier: MIT */
/*
 * Is this /init static? An initramfs has no dynamic loader and no libraries, so
 * a program that needs either dies before its first line with "No such file or
 * directory" from the kernel, and the machine panics. The ELF program headers
 * say it (System V ABI, gABI "Program Header"): PT_INTERP names a loader, and
 * PT_DYNAMIC's DT_NEEDED entries name libraries. Untrusted bytes: every table is
 * bounds-checked against the buffer.
 */
#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/initrd.h"

#define EI_CLASS    4
#define EI_DATA	    5
#define ELFCLASS32  1
#define ELFCLASS64  2
#define ELFDATA2LSB 1
#define ELFDATA2MSB 2
#define ET_EXEC	    2
#define ET_DYN	    3
#define PT_DYNAMIC  2
#define PT_INTERP   3
#define DT_NULL	    0
#define DT_NEEDED   1
#define PHNUM_MAX   4096

typedef struct Elf {
	const uint8_t *buf;
	size_t len;
	bool is64, le;
} Elf;

static uint64_t rd(const Elf *e, uint64_t off, unsigned size)
{
	const uint8_t *p = e->buf + off;

	if (size == 2)
		return e->le ? sl_le16(p) : sl_be16(p);
	if (size == 4)
		return e->le ? sl_le32(p) : sl_be32(p);
	return e->le ? sl_le64(p) : sl_be64(p);
}

/* A word of the ELF class's size (addresses, offsets). */
static uint64_t word(const Elf *e, uint64_t off)
{
	return rd(e, off, e->is64 ? 8 : 4);
}

static int check_dynamic(const Elf *e, uint64_t off, uint64_t size)
{
	unsigned entsize = e->is64 ? 16 : 8;

	if (!sl_range_ok(off, size, e->len))
		return sl_errorf(-EBADMSG, "ELF: PT_DYNAMIC lies outside the file");
	for (uint64_t at = off; at + entsize <= off + size; at += entsize) {
		uint64_t tag = word(e, at);

		if (tag == DT_NULL)
			break;
		if (tag == DT_NEEDED)
			return sl_errorf(-EINVAL,
					 "needs shared libraries (DT_NEEDED): not a static "
					 "program");
	}
	return 0;
}

int sl_initrd_check_static(const uint8_t *buf, size_t len)
{
	Elf e = { .buf = buf, .len = len };
	uint64_t phoff, type;
	unsigned phentsize, phnum, ehsize;

	if (len < 16 || memcmp(buf,
			       "\x7f"
			       "ELF",
			       4) != 0)
		return sl_errorf(-EBADMSG, "not an ELF file");
	if ((buf[EI_CLASS] != ELFCLASS32 && buf[EI_CLASS] != ELFCLASS64) ||
	    (buf[EI_DATA] != ELFDATA2LSB && buf[EI_DATA] != ELFDATA2MSB))
		return sl_errorf(-EBADMSG, "ELF: unknown class or byte order");
	e.is64 = buf[EI_CLASS] == ELFCLASS64;
	e.le = buf[EI_DATA] == ELFDATA2LSB;
	ehsize = e.is64 ? 64 : 52;
	if (len < ehsize)
		return sl_errorf(-EBADMSG, "ELF: truncated header");
	type = rd(&e, 16, 2);
	if (type != ET_EXEC && type != ET_DYN)
		return sl_errorf(-EINVAL, "ELF: not an executable (type %llu)",
				 (unsigned long long)type);
	phoff = word(&e, e.is64 ? 32 : 28);
	phentsize = (unsigned)rd(&e, e.is64 ? 54 : 42, 2);
	phnum = (unsigned)rd(&e, e.is64 ? 56 : 44, 2);
	if (phnum == 0 || phnum > PHNUM_MAX || phentsize < (e.is64 ? 56u : 32u) ||
	    !sl_range_ok(phoff, (uint64_t)phnum * phentsize, len))
		return sl_errorf(-EBADMSG, "ELF: program headers outside the file or malformed");
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t ph = phoff + (uint64_t)i * phentsize, pt = rd(&e, ph, 4), off, size;
		int r;

		if (pt == PT_INTERP)
			return sl_errorf(-EINVAL, "has a program interpreter (PT_INTERP): "
						  "dynamically linked, not a static program");
		if (pt != PT_DYNAMIC)
			continue;
		off = word(&e, ph + (e.is64 ? 8 : 4));
		size = word(&e, ph + (e.is64 ? 32 : 16));
		r = check_dynamic(&e, off, size);
		if (r < 0)
			return r;
	}
	return 0;
}
