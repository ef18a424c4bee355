/* SPDX-License-Identifier: MIT */
/*
 * PE/COFF decoding and validation (Microsoft "PE Format"; SPEC.md §3.1).
 *
 * Decoding runs in a fixed order: the DOS header, the COFF header, the optional
 * header, then the section table, the sections' placement in the file and in
 * memory, and the attribute certificate table. Nothing read from the file is
 * used as an offset or a count before it has been checked.
 */
#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/pe.h"

#define DOS_HEADER_SIZE	    64
#define DOS_LFANEW_OFFSET   0x3c
#define COFF_HEADER_SIZE    20
#define SECTION_HEADER_SIZE 40

/* Offsets inside the optional header (PE Format, "Optional Header Standard Fields"). */
#define OPT_MAGIC	    0
#define OPT_ENTRY_POINT	    16
#define OPT_SECTION_ALIGN   32
#define OPT_FILE_ALIGN	    36
#define OPT_MAJOR_IMAGE	    44
#define OPT_MINOR_IMAGE	    46
#define OPT_SIZE_OF_IMAGE   56
#define OPT_SIZE_OF_HEADERS 60
#define OPT_CHECKSUM	    64
#define OPT_SUBSYSTEM	    68
#define OPT_DLL_CHARS	    70
#define OPT32_IMAGE_BASE    28
#define OPT32_N_DIRS	    92
#define OPT32_DIRS	    96
#define OPT64_IMAGE_BASE    24
#define OPT64_N_DIRS	    108
#define OPT64_DIRS	    112

/* Alignments beyond these are not seen in real images; reject them as absurd. */
#define MAX_FILE_ALIGNMENT    0x10000u
#define MAX_SECTION_ALIGNMENT 0x1000000u

static int decode_dos_coff(SlPe *pe)
{
	SlReader r = sl_reader(pe->data, pe->size);
	uint32_t lfanew;

	if (pe->size < DOS_HEADER_SIZE)
		return sl_errorf(-EBADMSG, "truncated: %zu bytes is shorter than a DOS header",
				 pe->size);
	if (pe->data[0] != 'M' || pe->data[1] != 'Z')
		return sl_errorf(-EBADMSG, "not a PE image: no 'MZ' signature");
	lfanew = sl_le32(pe->data + DOS_LFANEW_OFFSET);
	if (!sl_range_ok(lfanew, 4 + COFF_HEADER_SIZE, pe->size))
		return sl_errorf(-EBADMSG,
				 "truncated: PE header at 0x%x (e_lfanew) is past the end", lfanew);
	if (memcmp(pe->data + lfanew, "PE\0\0", 4) != 0)
		return sl_errorf(-EBADMSG, "not a PE image: no 'PE\\0\\0' signature at 0x%x",
				 lfanew);

	sl_reader_seek(&r, lfanew + 4);
	pe->pe_offset = lfanew;
	pe->machine = sl_reader_le16(&r);
	pe->n_sections = sl_reader_le16(&r);
	pe->timestamp = sl_reader_le32(&r);
	pe->symbol_table_offset = sl_reader_le32(&r);
	pe->n_symbols = sl_reader_le32(&r);
	pe->opt_size = sl_reader_le16(&r);
	pe->characteristics = sl_reader_le16(&r);
	if (!sl_reader_ok(&r))
		return sl_errorf(-EBADMSG, "truncated COFF header");
	pe->opt_offset = lfanew + 4 + COFF_HEADER_SIZE;

	if (pe->n_sections > SL_PE_MAX_SECTIONS)
		return sl_errorf(-E2BIG, "NumberOfSections %zu exceeds %d", pe->n_sections,
				 SL_PE_MAX_SECTIONS);
	return 0;
}

static int decode_optional_header(SlPe *pe)
{
	const uint8_t *opt;
	uint32_t dirs_at, n_dirs_at, min_size;

	if (pe->opt_size < 2 || !sl_range_ok(pe->opt_offset, pe->opt_size, pe->size))
		return sl_errorf(-EBADMSG,
				 "truncated: optional header (%u bytes at 0x%x) is not in the file",
				 pe->opt_size, pe->opt_offset);
	opt = pe->data + pe->opt_offset;
	pe->magic = sl_le16(opt + OPT_MAGIC);
	if (pe->magic == SL_PE_MAGIC_PE32PLUS) {
		dirs_at = OPT64_DIRS;
		n_dirs_at = OPT64_N_DIRS;
	} else if (pe->magic == SL_PE_MAGIC_PE32) {
		dirs_at = OPT32_DIRS;
		n_dirs_at = OPT32_N_DIRS;
	} else {
		return sl_errorf(-EOPNOTSUPP, "optional header magic 0x%x is not PE32 or PE32+",
				 pe->magic);
	}
	if (pe->opt_size < dirs_at)
		return sl_errorf(-EBADMSG, "SizeOfOptionalHeader %u is too small for %s",
				 pe->opt_size, pe->magic == SL_PE_MAGIC_PE32 ? "PE32" : "PE32+");

	pe->n_data_dirs = sl_le32(opt + n_dirs_at);
	if (pe->n_data_dirs > SL_PE_MAX_DATA_DIRS)
		return sl_errorf(-EBADMSG, "NumberOfRvaAndSizes %u exceeds %d", pe->n_data_dirs,
				 SL_PE_MAX_DATA_DIRS);
	min_size = dirs_at + 8 * pe->n_data_dirs;
	if (pe->opt_size < min_size)
		return sl_errorf(-EBADMSG,
				 "SizeOfOptionalHeader %u is too small for %u data directories",
				 pe->opt_size, pe->n_data_dirs);

	pe->entry_point = sl_le32(opt + OPT_ENTRY_POINT);
	pe->image_base = pe->magic == SL_PE_MAGIC_PE32PLUS ? sl_le64(opt + OPT64_IMAGE_BASE)
							   : sl_le32(opt + OPT32_IMAGE_BASE);
	pe->section_alignment = sl_le32(opt + OPT_SECTION_ALIGN);
	pe->file_alignment = sl_le32(opt + OPT_FILE_ALIGN);
	pe->major_image_version = sl_le16(opt + OPT_MAJOR_IMAGE);
	pe->minor_image_version = sl_le16(opt + OPT_MINOR_IMAGE);
	pe->size_of_image = sl_le32(opt + OPT_SIZE_OF_IMAGE);
	pe->size_of_headers = sl_le32(opt + OPT_SIZE_OF_HEADERS);
	pe->checksum = sl_le32(opt + OPT_CHECKSUM);
	pe->subsystem = sl_le16(opt + OPT_SUBSYSTEM);
	pe->dll_characteristics = sl_le16(opt + OPT_DLL_CHARS);
	for (uint32_t i = 0; i < pe->n_data_dirs; i++) {
		pe->data_dirs[i].address = sl_le32(opt + dirs_at + 8 * i);
		pe->data_dirs[i].size = sl_le32(opt + dirs_at + 8 * i + 4);
	}

	/* PE Format: FileAlignment a power of two from 512 to 64K (smaller ones exist
	 * in the wild, zero does not), SectionAlignment >= FileAlignment. */
	if (!sl_is_pow2(pe->file_alignment) || pe->file_alignment > MAX_FILE_ALIGNMENT)
		return sl_errorf(-EBADMSG, "FileAlignment 0x%x is not a power of two up to 0x%x",
				 pe->file_alignment, MAX_FILE_ALIGNMENT);
	if (!sl_is_pow2(pe->section_alignment) || pe->section_alignment > MAX_SECTION_ALIGNMENT)
		return sl_errorf(-EBADMSG, "SectionAlignment 0x%x is not a power of two up to 0x%x",
				 pe->section_alignment, MAX_SECTION_ALIGNMENT);
	if (pe->section_alignment < pe->file_alignment)
		return sl_errorf(-EBADMSG, "SectionAlignment 0x%x is below FileAlignment 0x%x",
				 pe->section_alignment, pe->file_alignment);
	/* Every section's VirtualSize is checked against SizeOfImage below, so this
	 * cap also bounds what a measurement of the loaded sections hashes. */
	if (pe->size_of_image > SL_PE_MAX_IMAGE_SIZE)
		return sl_errorf(-E2BIG,
				 "SizeOfImage 0x%x exceeds the cap of 0x%x (1 GiB) that Slate "
				 "loads or measures",
				 pe->size_of_image, SL_PE_MAX_IMAGE_SIZE);
	return 0;
}

static int decode_sections(SlPe *pe)
{
	uint64_t table_end = (uint64_t)pe->opt_offset + pe->opt_size +
			     (uint64_t)SECTION_HEADER_SIZE * pe->n_sections;

	pe->section_table_offset = pe->opt_offset + pe->opt_size;
	if (pe->size_of_headers > pe->size)
		return sl_errorf(-EBADMSG, "truncated: SizeOfHeaders 0x%x is past the end (0x%zx)",
				 pe->size_of_headers, pe->size);
	if (table_end > pe->size_of_headers)
		return sl_errorf(-EBADMSG,
				 "section table (%zu entries at 0x%x) ends past SizeOfHeaders 0x%x",
				 pe->n_sections, pe->section_table_offset, pe->size_of_headers);
	if (pe->size_of_image < pe->size_of_headers)
		return sl_errorf(-EBADMSG, "SizeOfImage 0x%x is below SizeOfHeaders 0x%x",
				 pe->size_of_image, pe->size_of_headers);

	for (size_t i = 0; i < pe->n_sections; i++) {
		const uint8_t *h = pe->data + pe->section_table_offset + SECTION_HEADER_SIZE * i;
		SlPeSection *s = &pe->sections[i];

		memcpy(s->name, h, 8);
		s->name[8] = 0;
		s->name[strnlen(s->name, 8)] = 0;
		s->virtual_size = sl_le32(h + 8);
		s->virtual_address = sl_le32(h + 12);
		s->raw_size = sl_le32(h + 16);
		s->raw_offset = sl_le32(h + 20);
		s->characteristics = sl_le32(h + 36);
	}
	return 0;
}

/* A section's extent in memory: VirtualSize, or SizeOfRawData when that is 0. */
static uint32_t virtual_extent(const SlPeSection *s)
{
	return s->virtual_size ? s->virtual_size : s->raw_size;
}

static int validate_sections(SlPe *pe)
{
	size_t order[SL_PE_MAX_SECTIONS], n = 0;
	uint64_t prev_end = 0;

	for (size_t i = 0; i < pe->n_sections; i++) {
		const SlPeSection *s = &pe->sections[i];
		uint64_t vend = (uint64_t)s->virtual_address + virtual_extent(s);

		if (s->raw_size > 0) {
			if (!sl_range_ok(s->raw_offset, s->raw_size, pe->size))
				return sl_errorf(-EBADMSG,
						 "section %zu '%s': raw data 0x%x+0x%x is outside "
						 "the file (0x%zx bytes)",
						 i, s->name, s->raw_offset, s->raw_size, pe->size);
			if (s->raw_offset < pe->size_of_headers)
				return sl_errorf(-EBADMSG,
						 "section %zu '%s': raw data at 0x%x overlaps the "
						 "headers (SizeOfHeaders 0x%x)",
						 i, s->name, s->raw_offset, pe->size_of_headers);
			order[n++] = i;
		}
		/* VirtualAddress should be a multiple of SectionAlignment, but real
		 * images break that (Debian 12's stub: .sdmagic at 0x19100 with 0x200)
		 * and loaders cope: only order and overlap matter here. */
		if (s->virtual_address < pe->size_of_headers)
			return sl_errorf(
				-EBADMSG,
				"section %zu '%s': VirtualAddress 0x%x overlaps the headers", i,
				s->name, s->virtual_address);
		if (s->virtual_address < prev_end)
			return sl_errorf(
				-EBADMSG,
				"section %zu '%s': VirtualAddress 0x%x overlaps the previous "
				"section (sections must be ascending and disjoint)",
				i, s->name, s->virtual_address);
		if (vend > pe->size_of_image)
			return sl_errorf(-EBADMSG,
					 "section %zu '%s': VirtualAddress 0x%x + %s 0x%x ends "
					 "past SizeOfImage 0x%x",
					 i, s->name, s->virtual_address,
					 s->virtual_size ? "VirtualSize" : "SizeOfRawData",
					 virtual_extent(s), pe->size_of_image);
		prev_end = vend;
	}

	/* Raw data of different sections must not overlap: the Authenticode digest
	 * hashes each section's raw data once, in file order. n <= 96: insertion sort. */
	for (size_t i = 1; i < n; i++) {
		size_t v = order[i], j = i;

		while (j > 0 &&
		       pe->sections[order[j - 1]].raw_offset > pe->sections[v].raw_offset) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = v;
	}
	pe->raw_end = pe->size_of_headers;
	for (size_t i = 0; i < n; i++) {
		const SlPeSection *s = &pe->sections[order[i]];

		if (s->raw_offset < pe->raw_end)
			return sl_errorf(
				-EBADMSG,
				"section '%s': raw data at 0x%x overlaps the data before it "
				"(which ends at 0x%x)",
				s->name, s->raw_offset, pe->raw_end);
		pe->raw_end = s->raw_offset + s->raw_size; /* in the file: checked above */
	}
	return 0;
}

/* The attribute certificate table (PE Format, "The Attribute Certificate Table"). */
static int decode_cert_table(SlPe *pe)
{
	const SlPeDataDir *d;
	uint64_t pos, end;

	pe->cert_table_offset = pe->cert_table_size = 0;
	pe->n_certs = 0;
	if (pe->n_data_dirs <= SL_PE_DIR_SECURITY)
		return 0;
	d = &pe->data_dirs[SL_PE_DIR_SECURITY];
	if (d->size == 0 && d->address == 0)
		return 0;
	if (d->size == 0 || d->address == 0)
		return sl_errorf(-EBADMSG, "certificate table: offset 0x%x with size 0x%x",
				 d->address, d->size);
	if (!sl_range_ok(d->address, d->size, pe->size))
		return sl_errorf(
			-EBADMSG,
			"certificate table 0x%x+0x%x points outside the file (0x%zx bytes)",
			d->address, d->size, pe->size);
	if (d->address % 8 != 0)
		return sl_errorf(-EBADMSG, "certificate table at 0x%x is not 8-byte aligned",
				 d->address);
	if (d->address < pe->raw_end)
		return sl_errorf(
			-EBADMSG,
			"certificate table at 0x%x overlaps headers or section data (up to "
			"0x%x)",
			d->address, pe->raw_end);
	/* The digest covers everything before the table and nothing after it, so the
	 * table must end the file (edk2 HashPeImage and every signing tool assume so). */
	if ((uint64_t)d->address + d->size != pe->size)
		return sl_errorf(-EBADMSG,
				 "certificate table 0x%x+0x%x does not end the file (0x%zx bytes)",
				 d->address, d->size, pe->size);

	pe->cert_table_offset = d->address;
	pe->cert_table_size = d->size;
	end = (uint64_t)d->address + d->size;
	for (pos = d->address; pos < end;) {
		SlPeCert *c;
		uint64_t next;

		if (end - pos < SL_PE_WIN_CERT_HEADER_SIZE)
			return sl_errorf(-EBADMSG, "certificate table: truncated entry at 0x%llx",
					 (unsigned long long)pos);
		if (pe->n_certs == SL_PE_MAX_CERTS)
			return sl_errorf(-E2BIG, "certificate table: more than %d entries",
					 SL_PE_MAX_CERTS);
		c = &pe->certs[pe->n_certs];
		c->offset = (uint32_t)pos;
		c->length = sl_le32(pe->data + pos);
		c->revision = sl_le16(pe->data + pos + 4);
		c->type = sl_le16(pe->data + pos + 6);
		if (c->length < SL_PE_WIN_CERT_HEADER_SIZE || c->length > end - pos)
			return sl_errorf(-EBADMSG,
					 "certificate table: entry at 0x%x has length 0x%x, %llu "
					 "bytes remain",
					 c->offset, c->length, (unsigned long long)(end - pos));
		pe->n_certs++;
		/* Entries are 8-byte aligned; the last one may end unpadded. */
		next = pos + (((uint64_t)c->length + 7) & ~(uint64_t)7);
		pos = MIN(next, end);
	}
	return 0;
}

int sl_pe_decode(const void *data, size_t size, SlPe *ret)
{
	SlPe *pe;
	int r;

	if (!data && size > 0)
		return -EINVAL;
	if (size > SL_PE_MAX_SIZE)
		return sl_errorf(-E2BIG, "%zu bytes exceeds the PE size cap of %zu", size,
				 SL_PE_MAX_SIZE);
	/* SlPe is large (the section array): decode into the heap, copy out on success. */
	pe = calloc(1, sizeof(*pe));
	if (!pe)
		return -ENOMEM;
	pe->data = data;
	pe->size = size;
	r = decode_dos_coff(pe);
	if (r >= 0)
		r = decode_optional_header(pe);
	if (r >= 0)
		r = decode_sections(pe);
	if (r >= 0)
		r = validate_sections(pe);
	if (r >= 0)
		r = decode_cert_table(pe);
	if (r >= 0)
		*ret = *pe;
	free(pe);
	return r < 0 ? r : 0;
}

const SlPeSection *sl_pe_section_find(const SlPe *pe, const char *name)
{
	for (size_t i = pe->n_sections; i > 0; i--)
		if (streq(pe->sections[i - 1].name, name))
			return &pe->sections[i - 1];
	return NULL;
}

const uint8_t *sl_pe_section_data(const SlPe *pe, const SlPeSection *s, size_t *ret_len)
{
	*ret_len = MIN(s->virtual_size, s->raw_size);
	/* PointerToRawData of a section without raw data is not checked (loaders
	 * ignore it): never form a pointer from it. */
	if (*ret_len == 0)
		return pe->data;
	return pe->data + s->raw_offset;
}

const uint8_t *sl_pe_cert_data(const SlPe *pe, const SlPeCert *c, size_t *ret_len)
{
	*ret_len = c->length - SL_PE_WIN_CERT_HEADER_SIZE;
	return pe->data + c->offset + SL_PE_WIN_CERT_HEADER_SIZE;
}
