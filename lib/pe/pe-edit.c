/* SPDX-License-Identifier: MIT */
/*
 * Editing PE images: the operations a UKI builder and an Authenticode signer
 * need. Each edit works on the owned buffer, then decodes the result again; if
 * that fails the edit is undone, so an SlPeImage always holds a valid image.
 */
#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/pe.h"

#define SECTION_HEADER_SIZE 40
#define SYMBOL_SIZE	    18 /* COFF symbol table entry */

/* Field offsets (PE Format), relative to the COFF header, optional header or section header. */
#define COFF_N_SECTIONS	      2
#define COFF_SYMBOL_TABLE     8
#define COFF_N_SYMBOLS	      12
#define COFF_CHARACTERISTICS  18
#define OPT_SIZE_OF_INIT_DATA 8
#define OPT_SIZE_OF_IMAGE     56
#define OPT_SIZE_OF_HEADERS   60
#define OPT_CHECKSUM	      64
#define OPT_DLL_CHARS	      70
#define OPT32_DIRS	      96
#define OPT64_DIRS	      112
#define SEC_VIRTUAL_SIZE      8
#define SEC_VIRTUAL_ADDRESS   12
#define SEC_RAW_SIZE	      16
#define SEC_RAW_OFFSET	      20
#define SEC_CHARACTERISTICS   36

static uint8_t *coff(SlPeImage *img)
{
	return img->buf + img->pe.pe_offset + 4;
}

static uint8_t *opt(SlPeImage *img)
{
	return img->buf + img->pe.opt_offset;
}

static uint8_t *section_header(SlPeImage *img, size_t i)
{
	return img->buf + img->pe.section_table_offset + SECTION_HEADER_SIZE * i;
}

static uint8_t *security_dir(SlPeImage *img)
{
	return opt(img) + (img->pe.magic == SL_PE_MAGIC_PE32 ? OPT32_DIRS : OPT64_DIRS) +
	       8 * SL_PE_DIR_SECURITY;
}

/* Make room for len bytes in the buffer (zeroed beyond the current end). */
static int reserve(SlPeImage *img, size_t len)
{
	uint8_t *p;

	if (len > SL_PE_MAX_SIZE)
		return sl_errorf(-E2BIG, "the image would exceed %zu bytes", SL_PE_MAX_SIZE);
	if (len <= img->len)
		return 0;
	p = realloc(img->buf, len);
	if (!p)
		return -ENOMEM;
	memset(p + img->len, 0, len - img->len);
	img->buf = p;
	return 0;
}

/*
 * An undo record for edits that change only the headers and the file's length
 * (and optionally one region inside it).
 */
typedef struct Undo {
	uint8_t *headers;
	size_t headers_len;
	size_t len;
	uint8_t *region;
	size_t region_off, region_len;
} Undo;

/* Drop an undo record without applying it (nothing was changed yet). Returns r. */
static int undo_abort(Undo *u, int r)
{
	free(u->headers);
	free(u->region);
	return r;
}

static int undo_begin(SlPeImage *img, Undo *u, size_t region_off, size_t region_len)
{
	*u = (Undo){ .len = img->len, .headers_len = img->pe.size_of_headers };
	u->headers = malloc(u->headers_len ? u->headers_len : 1);
	u->region = malloc(region_len ? region_len : 1);
	if (!u->headers || !u->region)
		return undo_abort(u, -ENOMEM);
	memcpy(u->headers, img->buf, u->headers_len);
	memcpy(u->region, img->buf + region_off, region_len);
	u->region_off = region_off;
	u->region_len = region_len;
	return 0;
}

/* Decode the edited buffer; on failure restore the snapshot. Frees the record. */
static int undo_commit(SlPeImage *img, Undo *u)
{
	SlPe pe;
	int r = sl_pe_decode(img->buf, img->len, &pe);

	if (r >= 0) {
		img->pe = pe;
	} else {
		memcpy(img->buf, u->headers, u->headers_len);
		memcpy(img->buf + u->region_off, u->region, u->region_len);
		img->len = u->len;
		img->pe.data = img->buf; /* the buffer may have moved */
		(void)sl_error_prefix(r, "edit produced an invalid image: ");
	}
	free(u->headers);
	free(u->region);
	return r;
}

static int refuse_signed(const SlPeImage *img, const char *what)
{
	if (img->pe.cert_table_size > 0)
		return sl_errorf(-EINVAL, "the image is signed: %s would invalidate its signature",
				 what);
	return 0;
}

int sl_pe_image_new(const void *data, size_t size, SlPeImage **ret)
{
	_cleanup_(sl_pe_image_freep) SlPeImage *img = calloc(1, sizeof(*img));
	int r;

	if (!img)
		return -ENOMEM;
	if (size > SL_PE_MAX_SIZE)
		return sl_errorf(-E2BIG, "%zu bytes exceeds the PE size cap of %zu", size,
				 SL_PE_MAX_SIZE);
	img->buf = malloc(size ? size : 1);
	if (!img->buf)
		return -ENOMEM;
	memcpy(img->buf, data, size);
	img->len = size;
	r = sl_pe_decode(img->buf, img->len, &img->pe);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(img);
	return 0;
}

void sl_pe_image_free(SlPeImage *img)
{
	if (!img)
		return;
	free(img->buf);
	free(img);
}

int sl_pe_image_strip_symbols(SlPeImage *img)
{
	uint64_t at = img->pe.symbol_table_offset, end;
	Undo u;
	int r;

	if (at == 0)
		return 0;
	end = at + (uint64_t)SYMBOL_SIZE * img->pe.n_symbols;
	/* The string table follows the symbols; its first u32 is its own size. */
	if (sl_range_ok(end, 4, img->len))
		end += sl_le32(img->buf + end);
	/* Only a table that ends the file and lies after all section data can go. */
	if (end != img->len || at < img->pe.raw_end)
		return 0;
	r = undo_begin(img, &u, 0, 0);
	if (r < 0)
		return r;
	sl_put_le32(coff(img) + COFF_SYMBOL_TABLE, 0);
	sl_put_le32(coff(img) + COFF_N_SYMBOLS, 0);
	sl_put_le16(coff(img) + COFF_CHARACTERISTICS,
		    img->pe.characteristics | SL_PE_FILE_LOCAL_SYMS_STRIPPED);
	img->len = (size_t)at;
	r = undo_commit(img, &u);
	return r < 0 ? r : 1;
}

int sl_pe_image_align_raw(SlPeImage *img)
{
	const SlPe *pe = &img->pe;
	uint32_t fa = pe->file_alignment;
	size_t order[SL_PE_MAX_SECTIONS], n = 0;
	uint64_t new_len = img->len, shift = 0, in = 0, out = 0, soh;
	_cleanup_free_ uint8_t *nb = NULL;
	uint32_t new_offset[SL_PE_MAX_SECTIONS], new_size[SL_PE_MAX_SECTIONS];
	SlPe decoded;
	int r;

	r = refuse_signed(img, "re-aligning sections");
	if (r < 0)
		return r;
	for (size_t i = 0; i < pe->n_sections; i++) {
		size_t j = n;

		if (pe->sections[i].raw_size == 0)
			continue;
		while (j > 0 &&
		       pe->sections[order[j - 1]].raw_offset > pe->sections[i].raw_offset) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
		n++;
	}

	/* Like ukify: in file order, pad each section's start up to FileAlignment and
	 * its size up to a multiple of it, shifting everything after it. */
	for (size_t k = 0; k < n; k++) {
		const SlPeSection *s = &pe->sections[order[k]];
		uint64_t at = s->raw_offset + shift, p, sz;

		if (!sl_align_up_u64(at, fa, &p) || !sl_align_up_u64(s->raw_size, fa, &sz))
			return -E2BIG;
		new_offset[order[k]] = (uint32_t)p;
		new_size[order[k]] = (uint32_t)sz;
		shift += (p - at) + (sz - s->raw_size);
	}
	new_len += shift;
	if (new_len > SL_PE_MAX_SIZE || new_len > UINT32_MAX)
		return sl_errorf(-E2BIG, "aligned image would exceed %zu bytes", SL_PE_MAX_SIZE);

	nb = calloc(1, new_len ? new_len : 1);
	if (!nb)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		const SlPeSection *s = &pe->sections[order[k]];

		/* Whatever lies between sections moves along unchanged. */
		memcpy(nb + out, img->buf + in, s->raw_offset - in);
		out = new_offset[order[k]];
		memcpy(nb + out, img->buf + s->raw_offset, s->raw_size);
		out += new_size[order[k]];
		in = (uint64_t)s->raw_offset + s->raw_size;
	}
	memcpy(nb + out, img->buf + in, img->len - in);

	for (size_t k = 0; k < n; k++) {
		uint8_t *h = nb + pe->section_table_offset + SECTION_HEADER_SIZE * order[k];

		sl_put_le32(h + SEC_RAW_OFFSET, new_offset[order[k]]);
		sl_put_le32(h + SEC_RAW_SIZE, new_size[order[k]]);
	}
	if (!sl_align_up_u64(pe->size_of_headers, fa, &soh))
		return -E2BIG;
	sl_put_le32(nb + pe->opt_offset + OPT_SIZE_OF_HEADERS, (uint32_t)soh);

	r = sl_pe_decode(nb, new_len, &decoded);
	if (r < 0)
		return sl_error_prefix(r, "re-aligned image is invalid: ");
	free(img->buf);
	img->buf = TAKE_PTR(nb);
	img->len = new_len;
	img->pe = decoded;
	return 0;
}

int sl_pe_image_add_section(SlPeImage *img, const char *name, const void *data, size_t len,
			    uint32_t characteristics)
{
	const SlPe *pe = &img->pe;
	size_t n = pe->n_sections, name_len = strlen(name);
	uint64_t header_at, raw_offset, raw_size, va, end, soi, init_data;
	uint8_t *h;
	Undo u;
	int r;

	r = refuse_signed(img, "adding a section");
	if (r < 0)
		return r;
	if (name_len == 0 || name_len > 8)
		return sl_errorf(-EINVAL, "section name '%s' is not 1 to 8 bytes", name);
	if (n >= SL_PE_MAX_SECTIONS)
		return sl_errorf(-E2BIG, "the image already has %zu sections", n);
	header_at = pe->section_table_offset + (uint64_t)SECTION_HEADER_SIZE * n;
	if (header_at + SECTION_HEADER_SIZE > pe->size_of_headers)
		return sl_errorf(-ENOSPC,
				 "no room for section header '%s': the headers end at 0x%x", name,
				 pe->size_of_headers);

	if (n > 0) {
		const SlPeSection *last = &pe->sections[n - 1];
		uint32_t extent = last->virtual_size ? last->virtual_size : last->raw_size;

		va = (uint64_t)last->virtual_address + extent;
	} else {
		va = pe->size_of_headers;
	}
	if (!sl_align_up_u64(va, pe->section_alignment, &va) ||
	    !sl_align_up_u64(img->len, pe->file_alignment, &raw_offset) ||
	    !sl_align_up_u64(len, pe->file_alignment, &raw_size) ||
	    !sl_align_up_u64(va + len, pe->section_alignment, &soi))
		return -E2BIG;
	end = raw_offset + raw_size;
	if (end > SL_PE_MAX_SIZE || soi > UINT32_MAX)
		return sl_errorf(-E2BIG, "section '%s' (%zu bytes) would make the image too large",
				 name, len);
	if (len == 0)
		raw_offset = 0;

	r = undo_begin(img, &u, 0, 0);
	if (r < 0)
		return r;
	r = reserve(img, len ? end : img->len);
	if (r < 0) {
		return undo_abort(&u, r);
	}
	if (len) {
		memcpy(img->buf + raw_offset, data, len);
		img->len = end;
	}
	h = section_header(img, n);
	memset(h, 0, SECTION_HEADER_SIZE);
	memcpy(h, name, name_len);
	sl_put_le32(h + SEC_VIRTUAL_SIZE, (uint32_t)len);
	sl_put_le32(h + SEC_VIRTUAL_ADDRESS, (uint32_t)va);
	sl_put_le32(h + SEC_RAW_SIZE, (uint32_t)raw_size);
	sl_put_le32(h + SEC_RAW_OFFSET, (uint32_t)raw_offset);
	sl_put_le32(h + SEC_CHARACTERISTICS, characteristics);
	sl_put_le16(coff(img) + COFF_N_SECTIONS, (uint16_t)(n + 1));
	sl_put_le32(opt(img) + OPT_SIZE_OF_IMAGE, (uint32_t)soi);
	/* As ukify does, whatever the section holds (a cosmetic field). */
	init_data = (uint64_t)sl_le32(opt(img) + OPT_SIZE_OF_INIT_DATA) + len;
	sl_put_le32(opt(img) + OPT_SIZE_OF_INIT_DATA, (uint32_t)MIN(init_data, UINT32_MAX));
	return undo_commit(img, &u);
}

int sl_pe_image_replace_section(SlPeImage *img, size_t index, const void *data, size_t len)
{
	const SlPeSection *s;
	Undo u;
	int r;

	r = refuse_signed(img, "replacing a section");
	if (r < 0)
		return r;
	if (index >= img->pe.n_sections)
		return -EINVAL;
	s = &img->pe.sections[index];
	if (len > s->raw_size)
		return sl_errorf(-ENOSPC,
				 "%zu bytes do not fit in section '%s' (SizeOfRawData 0x%x)", len,
				 s->name, s->raw_size);
	r = undo_begin(img, &u, s->raw_offset, s->raw_size);
	if (r < 0)
		return r;
	memcpy(img->buf + s->raw_offset, data, len);
	memset(img->buf + s->raw_offset + len, 0, s->raw_size - len);
	sl_put_le32(section_header(img, index) + SEC_VIRTUAL_SIZE, (uint32_t)len);
	return undo_commit(img, &u);
}

int sl_pe_image_rename_section(SlPeImage *img, size_t index, const char *name)
{
	size_t n = strlen(name);
	uint8_t *h;
	int r;

	r = refuse_signed(img, "renaming a section");
	if (r < 0)
		return r;
	if (index >= img->pe.n_sections || n == 0 || n > 8)
		return sl_errorf(-EINVAL, "cannot rename section %zu to '%s'", index, name);
	h = section_header(img, index);
	memset(h, 0, 8);
	memcpy(h, name, n);
	memcpy(img->pe.sections[index].name, name, n + 1);
	return 0;
}

void sl_pe_image_set_checksum(SlPeImage *img, uint32_t checksum)
{
	sl_put_le32(opt(img) + OPT_CHECKSUM, checksum);
	img->pe.checksum = checksum;
}

void sl_pe_image_set_dll_characteristics(SlPeImage *img, uint16_t value)
{
	sl_put_le16(opt(img) + OPT_DLL_CHARS, value);
	img->pe.dll_characteristics = value;
}

/*
 * The PE image checksum (imagehlp CheckSumMappedFile; sbsign computes the same):
 * a 16-bit ones'-complement-style sum of the file's little-endian 16-bit words,
 * the CheckSum field counted as zero, plus the file length.
 */
uint32_t sl_pe_checksum(const SlPe *pe)
{
	size_t at = pe->opt_offset + OPT_CHECKSUM;
	uint32_t sum = 0;

	for (size_t i = 0; i < pe->size; i += 2) {
		uint16_t w = 0;

		for (size_t k = 0; k < 2 && i + k < pe->size; k++)
			if (i + k < at || i + k >= at + 4)
				w |= (uint16_t)(pe->data[i + k] << (8 * k));
		sum += w;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	sum = (sum & 0xffff) + (sum >> 16);
	return sum + (uint32_t)pe->size;
}

int sl_pe_image_pad8(SlPeImage *img)
{
	size_t padded = (img->len + 7) & ~(size_t)7;
	Undo u;
	int r;

	r = refuse_signed(img, "padding");
	if (r < 0)
		return r;
	if (padded == img->len)
		return 0;
	r = undo_begin(img, &u, 0, 0);
	if (r < 0)
		return r;
	r = reserve(img, padded);
	if (r < 0) {
		return undo_abort(&u, r);
	}
	img->len = padded;
	return undo_commit(img, &u);
}

int sl_pe_image_append_signature(SlPeImage *img, const void *der, size_t len)
{
	uint64_t table, entry_at, entry_len, padded_len, end;
	uint8_t *dir;
	Undo u;
	int r;

	if (img->pe.n_data_dirs <= SL_PE_DIR_SECURITY)
		return sl_errorf(-EBADMSG,
				 "the image has no certificate table directory entry "
				 "(NumberOfRvaAndSizes %u)",
				 img->pe.n_data_dirs);
	if (img->pe.n_certs >= SL_PE_MAX_CERTS)
		return sl_errorf(-E2BIG, "the image already carries %zu signatures",
				 img->pe.n_certs);
	if (img->pe.cert_table_size > 0) {
		table = img->pe.cert_table_offset;
		entry_at = (img->len + 7) & ~(size_t)7; /* pad an unpadded last entry */
	} else {
		if (img->len % 8 != 0)
			return sl_errorf(-EINVAL,
					 "the image must be padded to 8 bytes before signing");
		table = entry_at = img->len;
	}
	entry_len = SL_PE_WIN_CERT_HEADER_SIZE + (uint64_t)len;
	padded_len = (entry_len + 7) & ~(uint64_t)7;
	end = entry_at + padded_len;
	if (end > SL_PE_MAX_SIZE || entry_len > UINT32_MAX)
		return sl_errorf(-E2BIG, "signature of %zu bytes is too large", len);

	r = undo_begin(img, &u, 0, 0);
	if (r < 0)
		return r;
	r = reserve(img, end);
	if (r < 0) {
		return undo_abort(&u, r);
	}
	sl_put_le32(img->buf + entry_at, (uint32_t)entry_len);
	sl_put_le16(img->buf + entry_at + 4, SL_PE_WIN_CERT_REVISION_2_0);
	sl_put_le16(img->buf + entry_at + 6, SL_PE_WIN_CERT_TYPE_PKCS_SIGNED_DATA);
	memcpy(img->buf + entry_at + SL_PE_WIN_CERT_HEADER_SIZE, der, len);
	img->len = end;
	dir = security_dir(img);
	sl_put_le32(dir, (uint32_t)table);
	sl_put_le32(dir + 4, (uint32_t)(end - table));
	return undo_commit(img, &u);
}

int sl_pe_image_remove_signatures(SlPeImage *img)
{
	Undo u;
	uint8_t *dir;
	int r;

	if (img->pe.cert_table_size == 0)
		return 0;
	r = undo_begin(img, &u, 0, 0);
	if (r < 0)
		return r;
	dir = security_dir(img);
	img->len = img->pe.cert_table_offset;
	sl_put_le32(dir, 0);
	sl_put_le32(dir + 4, 0);
	return undo_commit(img, &u);
}
