/* SPDX-License-Identifier: MIT */
/*
 * The OVMF variable store file (SPEC.md §3.5). Layout of Debian's
 * OVMF_VARS_4M.fd (OvmfPkg's VARS fd: variable store, event log, FTW working
 * block, FTW spare), all inside one firmware volume:
 *
 *   0x00000  EFI_FIRMWARE_VOLUME_HEADER (PI 1.8 vol. 3 §3.2.1), 72 bytes
 *   0x00048  VARIABLE_STORE_HEADER (28 bytes), authenticated variables follow
 *   0x40000  event log area (unused, 0xff)
 *   0x41000  EFI_FAULT_TOLERANT_WORKING_BLOCK_HEADER + write queue
 *   0x42000  FTW spare area
 *
 * Each variable (edk2 VariableFormat.h AUTHENTICATED_VARIABLE_HEADER, 60 bytes)
 * is followed directly by its UTF-16LE name and its data (no padding between
 * them on x86); the next header starts at the next 4-byte boundary.
 */
#include "slate/bytes.h"
#include "slate/crc32.h"
#include "slate/efivars.h"
#include "slate/error.h"

#define FV_HEADER_FIXED	  56 /* up to and without the block map */
#define FV_MAX_SIZE	  (64u << 20)
#define STORE_HEADER_SIZE 28
#define VAR_HEADER_SIZE	  60
#define VAR_START_ID	  0x55aa
#define FTW_HEADER_SIZE	  32

/* EFI_SYSTEM_NV_DATA_FV_GUID fff12b8d-7696-4c8b-a985-2747075b4f50 */
static const SlUuid nv_data_fv_guid = { { 0xff, 0xf1, 0x2b, 0x8d, 0x76, 0x96, 0x4c, 0x8b, 0xa9,
					  0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50 } };
/* gEfiAuthenticatedVariableGuid aaf32c78-947b-439a-a180-2e144ec37792 */
static const SlUuid auth_store_guid = { { 0xaa, 0xf3, 0x2c, 0x78, 0x94, 0x7b, 0x43, 0x9a, 0xa1,
					  0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92 } };
/* gEfiVariableGuid ddcf3616-3275-4164-98b6-fe85707ffe7d (no authenticated variables) */
static const SlUuid plain_store_guid = { { 0xdd, 0xcf, 0x36, 0x16, 0x32, 0x75, 0x41, 0x64, 0x98,
					   0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d } };
/* EDKII_WORKING_BLOCK_SIGNATURE_GUID 9e58292b-7c68-497d-a0ce-6500fd9f1b95 */
static const SlUuid ftw_working_guid = { { 0x9e, 0x58, 0x29, 0x2b, 0x7c, 0x68, 0x49, 0x7d, 0xa0,
					   0xce, 0x65, 0x00, 0xfd, 0x9f, 0x1b, 0x95 } };
/* EFI_SECURE_BOOT_ENABLE_DISABLE f0a30bc7-af08-4556-99c4-001009c93a44 */
static const SlUuid secure_boot_enable_guid = { { 0xf0, 0xa3, 0x0b, 0xc7, 0xaf, 0x08, 0x45, 0x56,
						  0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a,
						  0x44 } };
/* EFI_CUSTOM_MODE_ENABLE_GUID c076ec0c-7028-4399-a072-71ee5c448b9f */
static const SlUuid custom_mode_guid = { { 0xc0, 0x76, 0xec, 0x0c, 0x70, 0x28, 0x43, 0x99, 0xa0,
					   0x72, 0x71, 0xee, 0x5c, 0x44, 0x8b, 0x9f } };

static bool guid_at(const uint8_t *p, const SlUuid *want)
{
	uint8_t g[16];

	sl_uuid_to_guid(want, g);
	return memcmp(p, g, 16) == 0;
}

static bool all_ff(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xff)
			return false;
	return true;
}

int sl_efi_time_from_unix(time_t t, uint8_t out[static SL_EFI_TIME_SIZE])
{
	struct tm tm;

	if (t < 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
		return sl_errorf(-ERANGE, "time %lld cannot be an EFI_TIME", (long long)t);
	memset(out, 0, SL_EFI_TIME_SIZE);
	sl_put_le16(out, (uint16_t)(tm.tm_year + 1900));
	out[2] = (uint8_t)(tm.tm_mon + 1);
	out[3] = (uint8_t)tm.tm_mday;
	out[4] = (uint8_t)tm.tm_hour;
	out[5] = (uint8_t)tm.tm_min;
	out[6] = (uint8_t)tm.tm_sec;
	return 0;
}

bool sl_efi_variable_live(const SlEfiVariable *v)
{
	return v->state == SL_VAR_ADDED ||
	       v->state == (SL_VAR_ADDED & SL_VAR_IN_DELETED_TRANSITION);
}

bool sl_efi_variable_is(const SlEfiVariable *v, const char *name, const SlUuid *vendor)
{
	size_t n = strlen(name);

	if (!sl_uuid_equal(&v->vendor, vendor) || v->name_size != 2 * (n + 1))
		return false;
	for (size_t i = 0; i <= n; i++)
		if (sl_le16(v->name + 2 * i) != (uint8_t)name[i])
			return false;
	return true;
}

char *sl_efi_variable_name(const SlEfiVariable *v, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return out;
	for (size_t i = 0; i < v->name_size / 2; i++) {
		uint16_t c = sl_le16(v->name + 2 * i);
		char tmp[8];
		size_t tl;

		if (c == 0)
			break;
		if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			tl = 1;
		} else {
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
		}
		if (o + tl >= cap)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o] = 0;
	return out;
}

/* PI 1.8 vol. 3 §3.2.1: the firmware volume header, its checksum and block map. */
static int decode_fv_header(const uint8_t *buf, size_t len, SlVarStore *s, uint16_t *ret_hlen)
{
	uint16_t hlen, sum = 0;
	uint64_t covered = 0;
	size_t nmap = 0;

	if (len < FV_HEADER_FIXED + 16)
		return sl_errorf(-EBADMSG, "%zu bytes is too small for a firmware volume", len);
	if (len > FV_MAX_SIZE)
		return sl_errorf(-E2BIG, "%zu bytes is too large for a variable store (at most %u)",
				 len, FV_MAX_SIZE);
	for (size_t i = 0; i < 16; i++)
		if (buf[i])
			return sl_errorf(-EBADMSG, "firmware volume: ZeroVector is not zero");
	if (!guid_at(buf + 16, &nv_data_fv_guid))
		return sl_errorf(-EBADMSG, "firmware volume: file system GUID is not "
					   "EFI_SYSTEM_NV_DATA_FV_GUID (not a variable store)");
	if (memcmp(buf + 40, "_FVH", 4) != 0)
		return sl_errorf(-EBADMSG, "firmware volume: no _FVH signature at offset 40");
	s->fv_length = sl_le64(buf + 32);
	if (s->fv_length != len)
		return sl_errorf(-EBADMSG,
				 "firmware volume: length 0x%llx but the file has 0x%zx "
				 "bytes",
				 (unsigned long long)s->fv_length, len);
	s->fv_attributes = sl_le32(buf + 44);
	hlen = sl_le16(buf + 48);
	if (hlen < FV_HEADER_FIXED + 16 || hlen % 8 != 0 || hlen > len)
		return sl_errorf(-EBADMSG, "firmware volume: header length %u out of range", hlen);
	for (size_t i = 0; i < hlen; i += 2)
		sum = (uint16_t)(sum + sl_le16(buf + i));
	if (sum != 0)
		return sl_errorf(-EBADMSG, "firmware volume: header checksum is wrong");
	if (sl_le16(buf + 52) != 0)
		return sl_errorf(-EOPNOTSUPP,
				 "firmware volume: extended headers are not supported");
	if (buf[55] != 2)
		return sl_errorf(-EOPNOTSUPP, "firmware volume: revision %u (expected 2)", buf[55]);
	for (size_t off = FV_HEADER_FIXED;; off += 8, nmap++) {
		uint32_t nb, bl;
		uint64_t part;

		if (off + 8 > hlen)
			return sl_errorf(-EBADMSG, "firmware volume: block map has no terminator");
		nb = sl_le32(buf + off);
		bl = sl_le32(buf + off + 4);
		if (nb == 0 && bl == 0) {
			if (off + 8 != hlen)
				return sl_errorf(-EBADMSG,
						 "firmware volume: header length %u does "
						 "not end at the block map",
						 hlen);
			break;
		}
		if (nb == 0 || bl == 0)
			return sl_errorf(-EBADMSG, "firmware volume: block map entry %zu is empty",
					 nmap);
		if (nmap > 0)
			return sl_errorf(-EOPNOTSUPP, "firmware volume: more than one block size");
		part = (uint64_t)nb * bl;
		covered += part;
		s->block_size = bl;
		s->n_blocks = nb;
	}
	if (nmap != 1 || covered != s->fv_length)
		return sl_errorf(-EBADMSG,
				 "firmware volume: block map covers 0x%llx bytes, not "
				 "0x%llx",
				 (unsigned long long)covered, (unsigned long long)s->fv_length);
	if (!sl_is_pow2(s->block_size) || s->block_size < 512)
		return sl_errorf(-EBADMSG, "firmware volume: block size %u", s->block_size);
	*ret_hlen = hlen;
	return 0;
}

/* edk2 VariableFormat.h: VARIABLE_STORE_HEADER right after the volume header. */
static int decode_store_header(const uint8_t *buf, size_t len, uint16_t off, SlVarStore *s)
{
	const uint8_t *h = buf + off;

	if (len - off < STORE_HEADER_SIZE)
		return sl_errorf(-EBADMSG, "variable store header is truncated");
	if (guid_at(h, &plain_store_guid))
		return sl_errorf(-EOPNOTSUPP, "the store holds no authenticated variables (a "
					      "firmware built without Secure Boot)");
	if (!guid_at(h, &auth_store_guid))
		return sl_errorf(-EBADMSG, "variable store at 0x%x: unknown signature GUID", off);
	s->store_offset = off;
	s->store_size = sl_le32(h + 16);
	if (s->store_size < STORE_HEADER_SIZE || !sl_range_ok(off, s->store_size, len))
		return sl_errorf(-EBADMSG, "variable store size 0x%x does not fit the volume",
				 s->store_size);
	if (h[20] != 0x5a)
		return sl_errorf(-EBADMSG,
				 "variable store is not formatted (0x%02x, expected 0x5a)", h[20]);
	if (h[21] != 0xfe)
		return sl_errorf(-EBADMSG, "variable store state is 0x%02x, not healthy (0xfe)",
				 h[21]);
	for (size_t i = 22; i < STORE_HEADER_SIZE; i++)
		if (h[i])
			return sl_errorf(-EBADMSG,
					 "variable store header: reserved bytes not zero");
	return 0;
}

/* A live variable's name: UTF-16LE, at least one character, exactly one NUL at the end. */
static int check_name(const SlEfiVariable *v)
{
	if (v->name_size < 4 || v->name_size % 2 != 0)
		return sl_errorf(-EBADMSG, "variable at 0x%llx: name size %u",
				 (unsigned long long)v->offset, v->name_size);
	for (uint32_t i = 0; i + 2 < v->name_size; i += 2)
		if (sl_le16(v->name + i) == 0)
			return sl_errorf(-EBADMSG, "variable at 0x%llx: NUL inside the name",
					 (unsigned long long)v->offset);
	if (sl_le16(v->name + v->name_size - 2) != 0)
		return sl_errorf(-EBADMSG, "variable at 0x%llx: name is not NUL-terminated",
				 (unsigned long long)v->offset);
	return 0;
}

static int decode_variable(const uint8_t *buf, uint64_t pos, uint64_t end, SlEfiVariable *v)
{
	const uint8_t *h = buf + pos;
	uint64_t need;

	*v = (SlEfiVariable){
		.offset = pos,
		.state = h[2],
		.attributes = sl_le32(h + 4),
		.monotonic_count = sl_le64(h + 8),
		.pubkey_index = sl_le32(h + 32),
		.name_size = sl_le32(h + 36),
		.data_size = sl_le32(h + 40),
	};
	memcpy(v->timestamp, h + 16, SL_EFI_TIME_SIZE);
	sl_uuid_from_guid(h + 44, &v->vendor);
	need = (uint64_t)VAR_HEADER_SIZE + v->name_size + v->data_size;
	if (!sl_range_ok(pos, need, end))
		return sl_errorf(-EBADMSG,
				 "variable at 0x%llx: name (%u bytes) and data (%u bytes) run past "
				 "the end of the store",
				 (unsigned long long)pos, v->name_size, v->data_size);
	v->name = h + VAR_HEADER_SIZE;
	v->data = v->name + v->name_size;
	if (!sl_efi_variable_live(v))
		return 0;
	if (check_name(v) < 0)
		return -EBADMSG;
	if (!(v->attributes & SL_EFI_VARIABLE_NON_VOLATILE))
		return sl_errorf(-EBADMSG,
				 "variable at 0x%llx is not non-volatile (attributes "
				 "0x%x)",
				 (unsigned long long)pos, v->attributes);
	return 0;
}

/*
 * One live copy of each variable, or two while edk2 updates it: the new one
 * added and the old one in deleted transition. Any other pair (two added, two
 * in transition) is a corrupt store.
 */
static int check_duplicates(const SlVarStore *s)
{
	for (size_t i = 0; i < s->n_vars; i++) {
		const SlEfiVariable *a = &s->vars[i];

		if (!sl_efi_variable_live(a))
			continue;
		for (size_t j = i + 1; j < s->n_vars; j++) {
			const SlEfiVariable *b = &s->vars[j];
			char name[64];

			if (!sl_efi_variable_live(b) || !sl_uuid_equal(&a->vendor, &b->vendor) ||
			    a->name_size != b->name_size ||
			    memcmp(a->name, b->name, a->name_size) != 0)
				continue;
			if ((a->state == SL_VAR_ADDED) != (b->state == SL_VAR_ADDED))
				continue;
			return sl_errorf(-EBADMSG, "variable %s is stored twice (0x%llx, 0x%llx)",
					 sl_efi_variable_name(a, name, sizeof(name)),
					 (unsigned long long)a->offset,
					 (unsigned long long)b->offset);
		}
	}
	return 0;
}

static int decode_variables(const uint8_t *buf, SlVarStore *s)
{
	uint64_t end = s->store_offset + s->store_size;
	uint64_t pos = s->store_offset + STORE_HEADER_SIZE;
	size_t cap = 0;

	for (;;) {
		SlEfiVariable v;
		int r;

		pos = (pos + 3) & ~(uint64_t)3; /* HEADER_ALIGN */
		if (pos > end || end - pos < VAR_HEADER_SIZE || sl_le16(buf + pos) != VAR_START_ID)
			break;
		r = decode_variable(buf, pos, end, &v);
		if (r < 0)
			return r;
		if (s->n_vars == SL_VARSTORE_MAX_VARS)
			return sl_errorf(-E2BIG, "variable store: more than %u variables",
					 SL_VARSTORE_MAX_VARS);
		if (s->n_vars == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			SlEfiVariable *nv = sl_realloc_array(s->vars, ncap, sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			s->vars = nv;
			cap = ncap;
		}
		s->vars[s->n_vars++] = v;
		pos += VAR_HEADER_SIZE + (uint64_t)v.name_size + v.data_size;
	}
	s->free_offset = MIN(pos, end);
	if (!all_ff(buf + s->free_offset, end - s->free_offset))
		return sl_errorf(-EBADMSG,
				 "variable store: bytes after the last variable (0x%llx) "
				 "are not free space (0xff)",
				 (unsigned long long)s->free_offset);
	return check_duplicates(s);
}

/*
 * edk2 FaultTolerantWriteDxe: the working block follows the store at a block
 * boundary (after OVMF's event log block). Its CRC covers the 32-byte header
 * with the Crc field and the two state bits set to the erase value.
 */
static int decode_ftw(const uint8_t *buf, SlVarStore *s)
{
	uint64_t off;
	uint8_t h[FTW_HEADER_SIZE];

	if (!sl_align_up_u64(s->store_offset + s->store_size, s->block_size, &off))
		return -EBADMSG;
	for (; off + FTW_HEADER_SIZE <= s->fv_length; off += s->block_size)
		if (guid_at(buf + off, &ftw_working_guid))
			break;
	if (off + FTW_HEADER_SIZE > s->fv_length)
		return sl_errorf(-EBADMSG, "no fault-tolerant-write working block after the store");
	memcpy(h, buf + off, sizeof(h));
	if ((h[20] & 3) != 2)
		return sl_errorf(-EBADMSG,
				 "fault-tolerant-write working block at 0x%llx is not "
				 "valid (state 0x%02x)",
				 (unsigned long long)off, h[20]);
	memset(h + 16, 0xff, 4);
	h[20] |= 3;
	if (sl_crc32(0, h, sizeof(h)) != sl_le32(buf + off + 16))
		return sl_errorf(-EBADMSG,
				 "fault-tolerant-write working block at 0x%llx: CRC "
				 "mismatch",
				 (unsigned long long)off);
	s->ftw_offset = off;
	s->ftw_queue_size = sl_le64(buf + off + 24);
	if (!sl_range_ok(off + FTW_HEADER_SIZE, s->ftw_queue_size, s->fv_length))
		return sl_errorf(-EBADMSG,
				 "fault-tolerant-write queue of 0x%llx bytes runs past "
				 "the volume",
				 (unsigned long long)s->ftw_queue_size);
	s->ftw_pending = !all_ff(buf + off + FTW_HEADER_SIZE, s->ftw_queue_size);
	return 0;
}

void sl_varstore_done(SlVarStore *s)
{
	free(s->vars);
	*s = (SlVarStore){ 0 };
}

int sl_varstore_decode(const uint8_t *buf, size_t len, SlVarStore *ret)
{
	SlVarStore s = { 0 };
	uint16_t hlen;
	int r;

	r = decode_fv_header(buf, len, &s, &hlen);
	if (r >= 0)
		r = decode_store_header(buf, len, hlen, &s);
	if (r >= 0)
		r = decode_variables(buf, &s);
	if (r >= 0)
		r = decode_ftw(buf, &s);
	if (r < 0) {
		sl_varstore_done(&s);
		return r;
	}
	*ret = s;
	return 0;
}

/* ---- writing ---- */

typedef struct VarWriter {
	uint8_t *buf;
	uint64_t pos, end;
} VarWriter;

static int put_variable(VarWriter *w, const uint8_t *name, uint32_t name_size, const SlUuid *vendor,
			uint32_t attributes, const uint8_t *timestamp, uint64_t monotonic,
			uint32_t pubkey_index, const uint8_t *data, uint32_t data_size)
{
	uint64_t need = (uint64_t)VAR_HEADER_SIZE + name_size + data_size;
	uint8_t *h;

	w->pos = (w->pos + 3) & ~(uint64_t)3;
	if (w->pos > w->end || need > w->end - w->pos)
		return sl_errorf(-E2BIG, "the variables do not fit the %llu-byte store",
				 (unsigned long long)w->end);
	h = w->buf + w->pos;
	sl_put_le16(h, VAR_START_ID);
	h[2] = SL_VAR_ADDED;
	h[3] = 0;
	sl_put_le32(h + 4, attributes);
	sl_put_le64(h + 8, monotonic);
	memcpy(h + 16, timestamp, SL_EFI_TIME_SIZE);
	sl_put_le32(h + 32, pubkey_index);
	sl_put_le32(h + 36, name_size);
	sl_put_le32(h + 40, data_size);
	sl_uuid_to_guid(vendor, h + 44);
	memcpy(h + VAR_HEADER_SIZE, name, name_size);
	memcpy(h + VAR_HEADER_SIZE + name_size, data, data_size);
	w->pos += need;
	return 0;
}

/* A new variable with an ASCII name. */
static int put_new(VarWriter *w, const char *name, const SlUuid *vendor, uint32_t attributes,
		   const uint8_t *timestamp, const uint8_t *data, size_t data_size)
{
	uint8_t uname[64];
	size_t n = strlen(name);

	if (2 * (n + 1) > sizeof(uname) || data_size > UINT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i <= n; i++)
		sl_put_le16(uname + 2 * i, (uint8_t)name[i]);
	return put_variable(w, uname, (uint32_t)(2 * (n + 1)), vendor, attributes, timestamp, 0, 0,
			    data, (uint32_t)data_size);
}

/* Variables Slate writes itself; the template's copies are dropped. */
static bool replaced(const SlEfiVariable *v)
{
	return sl_efi_variable_is(v, "PK", &sl_efi_global_variable_guid) ||
	       sl_efi_variable_is(v, "KEK", &sl_efi_global_variable_guid) ||
	       sl_efi_variable_is(v, "db", &sl_efi_image_security_database_guid) ||
	       sl_efi_variable_is(v, "SecureBootEnable", &secure_boot_enable_guid) ||
	       sl_efi_variable_is(v, "CustomMode", &custom_mode_guid);
}

/* A live variable to carry over: added, or in deleted transition with no added twin. */
static bool carried_over(const SlVarStore *s, size_t i)
{
	const SlEfiVariable *v = &s->vars[i];

	if (!sl_efi_variable_live(v) || replaced(v))
		return false;
	if (v->state == SL_VAR_ADDED)
		return true;
	for (size_t j = 0; j < s->n_vars; j++) {
		const SlEfiVariable *o = &s->vars[j];

		if (o->state == SL_VAR_ADDED && sl_uuid_equal(&o->vendor, &v->vendor) &&
		    o->name_size == v->name_size && memcmp(o->name, v->name, v->name_size) == 0)
			return false;
	}
	return true;
}

static int build_esl(const SlSecureBootCert *certs, size_t n, const SlUuid *owner, uint8_t **ret,
		     size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		int r = sl_esl_append_x509(&buf, &len, owner, certs[i].der, certs[i].len);

		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int write_variables(const SlVarStore *s, const SlSecureBootKeys *keys, VarWriter *w)
{
	_cleanup_free_ uint8_t *pk = NULL, *kek = NULL, *db = NULL;
	size_t pk_len, kek_len, db_len;
	uint8_t ts[SL_EFI_TIME_SIZE], zero_ts[SL_EFI_TIME_SIZE] = { 0 };
	const uint8_t one = 1, zero = 0;
	const uint32_t nv_bs = SL_EFI_VARIABLE_NON_VOLATILE | SL_EFI_VARIABLE_BOOTSERVICE_ACCESS;
	int r;

	r = sl_efi_time_from_unix(keys->timestamp, ts);
	if (r < 0)
		return r;
	r = build_esl(&keys->pk, 1, &keys->owner, &pk, &pk_len);
	if (r >= 0)
		r = build_esl(keys->kek, keys->n_kek, &keys->owner, &kek, &kek_len);
	if (r >= 0)
		r = build_esl(keys->db, keys->n_db, &keys->owner, &db, &db_len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_vars; i++) {
		const SlEfiVariable *v = &s->vars[i];

		if (!carried_over(s, i))
			continue;
		r = put_variable(w, v->name, v->name_size, &v->vendor, v->attributes, v->timestamp,
				 v->monotonic_count, v->pubkey_index, v->data, v->data_size);
		if (r < 0)
			return r;
	}
	/* SPEC.md §3.5: what virt-fw-vars --secure-boot writes. */
	r = put_new(w, "PK", &sl_efi_global_variable_guid, SL_EFI_VARIABLE_SECURE_BOOT_POLICY, ts,
		    pk, pk_len);
	if (r >= 0)
		r = put_new(w, "KEK", &sl_efi_global_variable_guid,
			    SL_EFI_VARIABLE_SECURE_BOOT_POLICY, ts, kek, kek_len);
	if (r >= 0)
		r = put_new(w, "db", &sl_efi_image_security_database_guid,
			    SL_EFI_VARIABLE_SECURE_BOOT_POLICY, ts, db, db_len);
	if (r >= 0)
		r = put_new(w, "SecureBootEnable", &secure_boot_enable_guid, nv_bs, zero_ts, &one,
			    1);
	if (r >= 0)
		r = put_new(w, "CustomMode", &custom_mode_guid, nv_bs, zero_ts, &zero, 1);
	return r;
}

int sl_varstore_enroll(const uint8_t *tmpl, size_t tmpl_len, const SlSecureBootKeys *keys,
		       uint8_t **ret, size_t *ret_len)
{
	SlVarStore s;
	_cleanup_free_ uint8_t *out = NULL;
	VarWriter w;
	int r;

	if (keys->pk.len == 0 || keys->n_kek == 0 || keys->n_db == 0)
		return sl_errorf(-EINVAL, "PK, KEK and db each need a certificate");
	r = sl_varstore_decode(tmpl, tmpl_len, &s);
	if (r < 0)
		return r;
	if (s.ftw_pending) {
		sl_varstore_done(&s);
		return sl_errorf(-EBADMSG, "the fault-tolerant-write queue holds records (a store "
					   "in use): start from a fresh OVMF_VARS template");
	}
	out = malloc(tmpl_len);
	if (!out) {
		sl_varstore_done(&s);
		return -ENOMEM;
	}
	memcpy(out, tmpl, tmpl_len);
	memset(out + s.store_offset + STORE_HEADER_SIZE, 0xff, s.store_size - STORE_HEADER_SIZE);
	w = (VarWriter){ .buf = out,
			 .pos = s.store_offset + STORE_HEADER_SIZE,
			 .end = s.store_offset + s.store_size };
	r = write_variables(&s, keys, &w);
	sl_varstore_done(&s);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(out);
	*ret_len = tmpl_len;
	return 0;
}
