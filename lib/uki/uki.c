/* SPDX-License-Identifier: MIT */
/*
 * Building Unified Kernel Images the way systemd's ukify (v257,
 * src/ukify/ukify.py: make_uki(), pe_add_sections(), merge_sbat()) builds
 * them, so that both give the same bytes for the same inputs.
 */
#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/uki.h"

#define SBAT_HEADER "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"

/* Documentation/arch/x86/boot.rst: the real-mode kernel header. */
#define X86_SETUP_HEADER_MAGIC	0x202 /* "HdrS" */
#define X86_KERNEL_VERSION_PTR	0x20e /* u16, relative to 0x200 */
#define X86_KERNEL_VERSION_BASE 0x200
#define UNAME_MAX		128 /* ukify reads at most 128 bytes */

static bool release_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '+' || c == '-';
}

int sl_uki_kernel_release(const uint8_t *kernel, size_t len, char *ret, size_t ret_size)
{
	char text[UNAME_MAX + 1];
	size_t at, n, v, i;

	if (len < X86_KERNEL_VERSION_PTR + 2 || memcmp(kernel + X86_SETUP_HEADER_MAGIC, "HdrS", 4))
		return sl_errorf(-ENODATA, "the kernel has no x86 setup header");
	at = X86_KERNEL_VERSION_BASE + (size_t)sl_le16(kernel + X86_KERNEL_VERSION_PTR);
	if (at >= len)
		return sl_errorf(-ENODATA, "the kernel's version string is outside the file");
	n = MIN(len - at, (size_t)UNAME_MAX);
	memcpy(text, kernel + at, n);
	text[n] = 0;

	/* ukify: "(?P<version>[a-z0-9._+-]+) \([^ )]+\) (?:#.*)", anchored at the start. */
	for (v = 0; text[v] && release_char(text[v]); v++)
		;
	if (v == 0 || text[v] != ' ' || text[v + 1] != '(')
		return sl_errorf(-ENODATA, "cannot parse the kernel's version string");
	for (i = v + 2; text[i] && text[i] != ' ' && text[i] != ')'; i++)
		;
	if (i == v + 2 || text[i] != ')' || text[i + 1] != ' ' || text[i + 2] != '#')
		return sl_errorf(-ENODATA, "cannot parse the kernel's version string");
	if (v + 1 > ret_size)
		return -ENOBUFS;
	memcpy(ret, text, v);
	ret[v] = 0;
	return 0;
}

/* Python's str.splitlines() line boundaries, for the ASCII range. */
static size_t line_break(const char *s, size_t len, size_t i)
{
	switch (s[i]) {
	case '\r':
		return i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
	case '\n':
	case '\v':
	case '\f':
	case '\x1c':
	case '\x1d':
	case '\x1e':
		return 1;
	default:
		return 0;
	}
}

/* Append the entries (lines after the first) of one SBAT text to out. */
static int append_entries(const uint8_t *data, size_t len, char **out, size_t *out_len,
			  size_t *n_entries)
{
	const char *s = (const char *)data;
	size_t i = 0, start = 0, line = 0;

	while (len > 0 && s[len - 1] == 0)
		len--;
	if (len < 5 || memcmp(s, "sbat,", 5) != 0)
		return 0; /* not SBAT: ukify skips it too */
	while (i <= len) {
		size_t brk = i < len ? line_break(s, len, i) : 1;

		if (brk == 0) {
			i++;
			continue;
		}
		/* A final line ends at len; an empty one after a final break does not count. */
		if (i < len || i > start) {
			if (line > 0) {
				size_t need = *out_len + (*n_entries ? 1 : 0) + (i - start);
				char *p = realloc(*out, need + 1);

				if (!p)
					return -ENOMEM;
				*out = p;
				if (*n_entries)
					p[(*out_len)++] = '\n';
				memcpy(p + *out_len, s + start, i - start);
				*out_len += i - start;
				(*n_entries)++;
			}
			line++;
		}
		i += brk;
		start = i;
	}
	return 0;
}

int sl_uki_merge_sbat(const SlUkiBlob *inputs, size_t n, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *out = strdup(SBAT_HEADER);
	size_t out_len = strlen(SBAT_HEADER), n_entries = 0;
	char *p;
	int r;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = append_entries(inputs[i].data, inputs[i].len, &out, &out_len, &n_entries);
		if (r < 0)
			return r;
	}
	/* '\n'.join(entries) + '\n\0' */
	p = realloc(out, out_len + 3);
	if (!p)
		return -ENOMEM;
	out = p;
	out[out_len++] = '\n';
	out[out_len++] = 0;
	*ret_len = out_len;
	*ret = TAKE_PTR(out);
	return 0;
}

int sl_uki_stub_version(const SlPe *pe, char *ret, size_t ret_size)
{
	static const char prefix[] = "#### LoaderInfo: ";
	const SlPeSection *s = sl_pe_section_find(pe, ".sdmagic");
	const char *text, *end;
	size_t len;

	if (!s)
		return -ENODATA;
	text = (const char *)sl_pe_section_data(pe, s, &len);
	if (len < sizeof(prefix) - 1 || memcmp(text, prefix, sizeof(prefix) - 1) != 0)
		return -ENODATA;
	text += sizeof(prefix) - 1;
	len -= sizeof(prefix) - 1;
	end = memmem(text, len, " ####", 5);
	if (!end || (size_t)(end - text) + 1 > ret_size)
		return -ENODATA;
	for (const char *c = text; c < end; c++)
		if (*c < 0x20 || *c > 0x7e)
			return -ENODATA;
	memcpy(ret, text, (size_t)(end - text));
	ret[end - text] = 0;
	return 0;
}

/* ukify's join_initrds(): one as it is; several each padded to 4 bytes. */
static int join_initrds(const SlUkiInput *in, uint8_t **ret, size_t *ret_len)
{
	size_t total = 0, at = 0;
	uint8_t *buf;

	if (in->n_initrds == 1) {
		*ret = NULL;
		*ret_len = in->initrds[0].len;
		return 0;
	}
	for (size_t i = 0; i < in->n_initrds; i++) {
		size_t padded = (in->initrds[i].len + 3) & ~(size_t)3;

		if (padded < in->initrds[i].len || sl_add_overflow(total, padded, &total) ||
		    total > SL_PE_MAX_SIZE)
			return sl_errorf(-E2BIG, "the initrds exceed %zu bytes", SL_PE_MAX_SIZE);
	}
	buf = calloc(1, total ? total : 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < in->n_initrds; i++) {
		if (in->initrds[i].len)
			memcpy(buf + at, in->initrds[i].data, in->initrds[i].len);
		at += (in->initrds[i].len + 3) & ~(size_t)3;
	}
	*ret = buf;
	*ret_len = total;
	return 0;
}

/* Bytes a section can hold in place: its raw data, and the addresses before the next section. */
static size_t room_in_place(const SlPe *pe, size_t i)
{
	size_t room = pe->sections[i].raw_size;

	if (i + 1 < pe->n_sections)
		room = MIN(room, (size_t)(pe->sections[i + 1].virtual_address -
					  pe->sections[i].virtual_address));
	return room;
}

/*
 * Add a section, or, when the stub itself has one of that name (in practice
 * .sbat), put the data into the stub's section in place, as ukify does.
 *
 * ukify replaces in place whenever the raw data fits, even when the new
 * VirtualSize runs into the next section's addresses: with Debian 12's stub
 * (0x200 section alignment, .sdmagic 0x100 after .sbat) the merged SBAT does, the
 * image has overlapping sections and the 252 stub says "Overlapping PE sections
 * detected. Boot may fail due to image memory corruption!". Where the data does
 * not fit, slate keeps the image valid instead: the stub's section is renamed
 * .osbat (shim refuses images with two .sbat sections) and the new one appended.
 */
static int add_or_replace(SlPeImage *img, size_t n_stub_sections, const char *name,
			  const void *data, size_t len, uint32_t characteristics)
{
	int r;

	if (len == 0)
		return 0;
	for (size_t i = 0; i < n_stub_sections; i++) {
		if (!streq(img->pe.sections[i].name, name))
			continue;
		if (len <= room_in_place(&img->pe, i))
			return sl_pe_image_replace_section(img, i, data, len);
		r = sl_pe_image_rename_section(img, i, ".osbat");
		if (r < 0)
			return r;
		break;
	}
	r = sl_pe_image_add_section(img, name, data, len, characteristics);
	if (r < 0)
		return sl_error_prefix(r, "adding %s: ", name);
	return 0;
}

/* ukify: a kernel PE without NX_COMPAT makes the UKI lose it too. */
static void match_nx_compat(SlPeImage *img, const SlUkiBlob *kernel)
{
	SlPe k;

	if (sl_pe_decode(kernel->data, kernel->len, &k) < 0) {
		sl_error_clear(); /* not a PE (test kernels): ukify ignores it too */
		return;
	}
	if (!(k.dll_characteristics & SL_PE_DLL_NX_COMPAT))
		sl_pe_image_set_dll_characteristics(img, img->pe.dll_characteristics &
								 (uint16_t)~SL_PE_DLL_NX_COMPAT);
}

static int merged_sbat(const SlUkiInput *in, const SlPe *stub, char **ret, size_t *ret_len)
{
	SlUkiBlob inputs[3];
	size_t n = 0;
	const SlPeSection *s;
	SlPe k;

	/* ukify reads each input PE's .sbat raw data (SizeOfRawData bytes, NULs dropped). */
	s = sl_pe_section_find(stub, ".sbat");
	if (s)
		inputs[n++] = (SlUkiBlob){ stub->data + s->raw_offset, s->raw_size };
	if (sl_pe_decode(in->kernel.data, in->kernel.len, &k) >= 0) {
		s = sl_pe_section_find(&k, ".sbat");
		if (s)
			inputs[n++] = (SlUkiBlob){ k.data + s->raw_offset, s->raw_size };
	} else {
		sl_error_clear();
	}
	if (in->sbat.len)
		inputs[n++] = in->sbat;
	else
		inputs[n++] = (SlUkiBlob){ (const uint8_t *)SL_UKI_DEFAULT_SBAT,
					   strlen(SL_UKI_DEFAULT_SBAT) };
	return sl_uki_merge_sbat(inputs, n, ret, ret_len);
}

int sl_uki_build(const SlUkiInput *in, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(sl_pe_image_freep) SlPeImage *img = NULL;
	_cleanup_free_ uint8_t *joined = NULL;
	_cleanup_free_ char *sbat = NULL;
	char uname[UNAME_MAX + 1] = "";
	const uint8_t *initrd = NULL;
	size_t initrd_len = 0, sbat_len, n_stub;
	SlPe stub;
	int r;

	if (!in->stub.len || !in->kernel.len)
		return sl_errorf(-EINVAL, "a stub and a kernel are required");
	if (in->n_initrds > SL_UKI_MAX_INITRDS)
		return sl_errorf(-E2BIG, "more than %d initrds", SL_UKI_MAX_INITRDS);
	r = sl_pe_decode(in->stub.data, in->stub.len, &stub);
	if (r < 0)
		return sl_error_prefix(r, "stub: ");
	if (stub.cert_table_size > 0)
		return sl_errorf(-EINVAL, "the stub is signed: sign the finished UKI instead");
	if (!sl_pe_section_find(&stub, ".sdmagic") && !sl_pe_section_find(&stub, ".sbat"))
		return sl_errorf(-EBADMSG, "the stub is not systemd-stub (no .sdmagic section)");
	if (sl_pe_section_find(&stub, ".linux"))
		return sl_errorf(-EINVAL, "the stub already is a UKI (it has a .linux section)");

	if (in->uname) {
		if (strlen(in->uname) > UNAME_MAX)
			return sl_errorf(-EINVAL, "uname is longer than %d bytes", UNAME_MAX);
		snprintf(uname, sizeof(uname), "%s", in->uname);
	} else if (sl_uki_kernel_release(in->kernel.data, in->kernel.len, uname, sizeof(uname)) <
		   0) {
		sl_error_clear();
		uname[0] = 0; /* no .uname, as with ukify when it cannot find one */
	}
	if (in->n_initrds > 0) {
		r = join_initrds(in, &joined, &initrd_len);
		if (r < 0)
			return r;
		initrd = joined ? joined : in->initrds[0].data;
	}
	r = merged_sbat(in, &stub, &sbat, &sbat_len);
	if (r < 0)
		return r;

	r = sl_pe_image_new(in->stub.data, in->stub.len, &img);
	if (r < 0)
		return r;
	r = sl_pe_image_strip_symbols(img);
	if (r >= 0)
		r = sl_pe_image_align_raw(img);
	if (r < 0)
		return sl_error_prefix(r, "stub: ");
	n_stub = img->pe.n_sections;

	{
		const uint32_t data = SL_PE_SCN_MEM_READ | SL_PE_SCN_CNT_INITIALIZED_DATA;
		const uint32_t code = SL_PE_SCN_MEM_READ | SL_PE_SCN_CNT_CODE;
		const struct {
			const char *name;
			const void *data;
			size_t len;
			uint32_t characteristics;
		} sections[] = {
			/* ukify's order (make_uki()); .sbat last, in place in the stub's. */
			{ ".osrel", in->osrel.data, in->osrel.len, data },
			{ ".cmdline", in->cmdline.data, in->cmdline.len, data },
			{ ".dtb", in->dtb.data, in->dtb.len, data },
			{ ".uname", uname, strlen(uname), data },
			{ ".splash", in->splash.data, in->splash.len, data },
			{ ".linux", in->kernel.data, in->kernel.len, code },
			{ ".initrd", initrd, initrd_len, data },
			{ ".sbat", sbat, sbat_len, data },
		};

		for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
			r = add_or_replace(img, n_stub, sections[i].name, sections[i].data,
					   sections[i].len, sections[i].characteristics);
			if (r < 0)
				return r;
		}
	}
	match_nx_compat(img, &in->kernel);
	sl_pe_image_set_checksum(img, 0);
	*ret_len = img->len;
	*ret = TAKE_PTR(img->buf);
	return 0;
}
