/* SPDX-License-Identifier: MIT */
#include "slate/bytes.h"
#include "slate/crc32.h"
#include "slate/efivars.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "test.h"

#define FV_SIZE	   0x84000u
#define BLOCK	   0x1000u
#define STORE_OFF  0x48u
#define STORE_SIZE 0x3ffb8u
#define FTW_OFF	   0x41000u

/*
 * A fresh variable store: fv_size bytes of volume, store_size bytes of store
 * after the volume header, the FTW working block at ftw_off.
 */
static uint8_t *make_volume(uint32_t fv_size, uint32_t store_size, uint32_t ftw_off)
{
	uint8_t *b = malloc(fv_size), h[32];
	uint16_t sum = 0;
	SlUuid g;

	memset(b, 0xff, fv_size);
	memset(b, 0, STORE_OFF);
	ASSERT_OK(sl_uuid_parse("fff12b8d-7696-4c8b-a985-2747075b4f50", &g));
	sl_uuid_to_guid(&g, b + 16);
	sl_put_le64(b + 32, fv_size);
	memcpy(b + 40, "_FVH", 4);
	sl_put_le32(b + 44, 0x0004feff);
	sl_put_le16(b + 48, 72);
	b[55] = 2;
	sl_put_le32(b + 56, fv_size / BLOCK);
	sl_put_le32(b + 60, BLOCK);
	for (int i = 0; i < 72; i += 2)
		sum = (uint16_t)(sum + sl_le16(b + i));
	sl_put_le16(b + 50, (uint16_t)-sum);
	ASSERT_OK(sl_uuid_parse("aaf32c78-947b-439a-a180-2e144ec37792", &g));
	sl_uuid_to_guid(&g, b + STORE_OFF);
	sl_put_le32(b + STORE_OFF + 16, store_size);
	b[STORE_OFF + 20] = 0x5a;
	b[STORE_OFF + 21] = 0xfe;
	memset(b + STORE_OFF + 22, 0, 6);
	/* FTW working block header (edk2 FaultTolerantWrite.h). */
	ASSERT_OK(sl_uuid_parse("9e58292b-7c68-497d-a0ce-6500fd9f1b95", &g));
	sl_uuid_to_guid(&g, b + ftw_off);
	b[ftw_off + 20] = 0xfe;
	sl_put_le64(b + ftw_off + 24, BLOCK - 32);
	memcpy(h, b + ftw_off, 32);
	h[20] = 0xff;
	sl_put_le32(b + ftw_off + 16, sl_crc32(0, h, 32));
	return b;
}

/*
 * A fresh variable store laid out as SPEC.md §3.5 describes Debian's
 * OVMF_VARS_4M.fd (test `template_matches_debian` checks it byte for byte).
 */
static uint8_t *make_template(void)
{
	return make_volume(FV_SIZE, STORE_SIZE, FTW_OFF);
}

static void fix_fv_checksum(uint8_t *b)
{
	uint16_t sum = 0;

	sl_put_le16(b + 50, 0);
	for (int i = 0; i < 72; i += 2)
		sum = (uint16_t)(sum + sl_le16(b + i));
	sl_put_le16(b + 50, (uint16_t)-sum);
}

/* Append a variable with an ASCII name at *pos (4-aligned afterwards). */
static void add_var(uint8_t *b, uint32_t *pos, uint8_t state, const char *name, const char *vendor,
		    uint32_t attr, const void *data, uint32_t size)
{
	uint32_t ns = (uint32_t)(2 * (strlen(name) + 1));
	SlUuid g;

	ASSERT_OK(sl_uuid_parse(vendor, &g));
	memset(b + *pos, 0, 60);
	sl_put_le16(b + *pos, 0x55aa);
	b[*pos + 2] = state;
	sl_put_le32(b + *pos + 4, attr);
	sl_put_le32(b + *pos + 36, ns);
	sl_put_le32(b + *pos + 40, size);
	sl_uuid_to_guid(&g, b + *pos + 44);
	for (size_t i = 0; i <= strlen(name); i++)
		sl_put_le16(b + *pos + 60 + 2 * i, (uint8_t)name[i]);
	memcpy(b + *pos + 60 + ns, data, size);
	*pos = (*pos + 60 + ns + size + 3) & ~3u;
}

#define GLOBAL "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define IMGSEC "d719b2cb-3d3a-4596-a3bc-dad00e67656f"

static const uint8_t fake_pk[] = { 0x30, 0x03, 0x01, 0x02, 0x03 };
static const uint8_t fake_kek[] = { 0x30, 0x02, 0xaa, 0xbb };
static const uint8_t fake_db[] = { 0x30, 0x01, 0xdb };

static SlSecureBootKeys test_keys(SlSecureBootCert *kek, SlSecureBootCert *db)
{
	*kek = (SlSecureBootCert){ fake_kek, sizeof(fake_kek) };
	*db = (SlSecureBootCert){ fake_db, sizeof(fake_db) };
	return (SlSecureBootKeys){
		.pk = { fake_pk, sizeof(fake_pk) },
		.kek = kek,
		.n_kek = 1,
		.db = db,
		.n_db = 1,
		.owner = sl_efi_slate_owner_guid,
		.timestamp = 1795910400, /* 2026-11-29 00:00:00 UTC */
	};
}

static const SlEfiVariable *find(const SlVarStore *s, const char *name, const SlUuid *vendor)
{
	for (size_t i = 0; i < s->n_vars; i++)
		if (sl_efi_variable_live(&s->vars[i]) &&
		    sl_efi_variable_is(&s->vars[i], name, vendor))
			return &s->vars[i];
	return NULL;
}

TEST(guid_constants)
{
	SlUuid g;

	ASSERT_OK(sl_uuid_parse(GLOBAL, &g));
	ASSERT_TRUE(sl_uuid_equal(&g, &sl_efi_global_variable_guid));
	ASSERT_OK(sl_uuid_parse(IMGSEC, &g));
	ASSERT_TRUE(sl_uuid_equal(&g, &sl_efi_image_security_database_guid));
	ASSERT_OK(sl_uuid_parse("a5c059a1-94e4-4aa7-87b5-ab155c2bf072", &g));
	ASSERT_TRUE(sl_uuid_equal(&g, &sl_efi_cert_x509_guid));
	ASSERT_OK(sl_uuid_parse("c1c41626-504c-4092-aca9-41f936934328", &g));
	ASSERT_TRUE(sl_uuid_equal(&g, &sl_efi_cert_sha256_guid));
}

TEST(template_matches_debian)
{
	_cleanup_free_ uint8_t *t = make_template(), *deb = NULL;
	size_t len;

	if (sl_read_file("/usr/share/OVMF/OVMF_VARS_4M.fd", 1 << 20, &deb, &len) < 0) {
		sl_test_skip("Debian's ovmf package is not installed");
		return;
	}
	ASSERT_UEQ(len, FV_SIZE);
	ASSERT_MEMEQ(t, deb, FV_SIZE);
}

TEST(efi_time)
{
	uint8_t t[16];
	static const uint8_t want[16] = { 0xea, 0x07, 11, 29, 0, 0, 0 };

	ASSERT_OK(sl_efi_time_from_unix(1795910400, t));
	ASSERT_MEMEQ(t, want, 16);
	ASSERT_ERR(sl_efi_time_from_unix(-1, t), -ERANGE);
}

TEST(esl_x509_layout)
{
	/* SPEC.md §3.4: header, then owner GUID, then the DER. */
	static const uint8_t want_hdr[28] = { 0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7,
					      0x4a, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b,
					      0xf0, 0x72, 49,	0,    0,    0,	  0,
					      0,    0,	  0,	21,   0,    0,	  0 };
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ SlEslEntry *e = NULL;
	size_t len = 0, n;
	SlUuid owner;

	ASSERT_OK(sl_uuid_parse("11111111-2222-3333-4444-555555555555", &owner));
	ASSERT_OK(sl_esl_append_x509(&buf, &len, &owner, fake_pk, sizeof(fake_pk)));
	ASSERT_UEQ(len, 49);
	ASSERT_MEMEQ(buf, want_hdr, 28);
	ASSERT_MEMEQ(buf + 28,
		     ((const uint8_t[]){ 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33 }), 8);
	ASSERT_MEMEQ(buf + 44, fake_pk, sizeof(fake_pk));
	ASSERT_OK(sl_esl_append_x509(&buf, &len, &owner, fake_db, sizeof(fake_db)));
	ASSERT_OK(sl_esl_decode(buf, len, &e, &n));
	ASSERT_EQ(n, 2);
	ASSERT_TRUE(sl_uuid_equal(&e[0].owner, &owner));
	ASSERT_TRUE(sl_uuid_equal(&e[1].type, &sl_efi_cert_x509_guid));
	ASSERT_UEQ(e[1].size, sizeof(fake_db));
	ASSERT_MEMEQ(e[1].data, fake_db, sizeof(fake_db));
	ASSERT_ERR(sl_esl_append_x509(&buf, &len, &owner, fake_db, 0), -E2BIG);
}

TEST(esl_malformed)
{
	_cleanup_free_ uint8_t *buf = NULL;
	SlEslEntry *e = NULL;
	size_t len = 0, n;

	ASSERT_OK(
		sl_esl_append_x509(&buf, &len, &sl_efi_slate_owner_guid, fake_pk, sizeof(fake_pk)));
	ASSERT_ERR(sl_esl_decode(buf, 27, &e, &n), -EBADMSG);	   /* truncated header */
	ASSERT_ERR(sl_esl_decode(buf, len - 1, &e, &n), -EBADMSG); /* list past the end */
	sl_put_le32(buf + 24, 16);				   /* SignatureSize without data */
	ASSERT_ERR(sl_esl_decode(buf, len, &e, &n), -EBADMSG);
	sl_put_le32(buf + 24, 20); /* not a multiple */
	ASSERT_ERR(sl_esl_decode(buf, len, &e, &n), -EBADMSG);
	sl_put_le32(buf + 24, 21);
	sl_put_le32(buf + 20, 100); /* header size beyond the list */
	ASSERT_ERR(sl_esl_decode(buf, len, &e, &n), -EBADMSG);
	sl_put_le32(buf + 20, 0);
	sl_put_le32(buf + 16, 10); /* list smaller than its header */
	ASSERT_ERR(sl_esl_decode(buf, len, &e, &n), -EBADMSG);
	ASSERT_TRUE(e == NULL);
	ASSERT_OK(sl_esl_decode(buf, 0, &e, &n));
	ASSERT_EQ(n, 0);
	free(e);
}

TEST(decode_fresh_template)
{
	_cleanup_free_ uint8_t *t = make_template();
	SlVarStore s;

	ASSERT_OK(sl_varstore_decode(t, FV_SIZE, &s));
	ASSERT_UEQ(s.store_offset, STORE_OFF);
	ASSERT_UEQ(s.store_size, STORE_SIZE);
	ASSERT_UEQ(s.free_offset, 100);
	ASSERT_UEQ(s.ftw_offset, FTW_OFF);
	ASSERT_UEQ(s.block_size, BLOCK);
	ASSERT_EQ(s.n_vars, 0);
	ASSERT_FALSE(s.ftw_pending);
	sl_varstore_done(&s);
}

TEST(enroll_writes_secure_boot_variables)
{
	_cleanup_free_ uint8_t *t = make_template(), *out = NULL, *out2 = NULL;
	_cleanup_free_ SlEslEntry *e = NULL;
	SlSecureBootCert kek, db;
	SlSecureBootKeys keys = test_keys(&kek, &db);
	const SlEfiVariable *v;
	size_t len, len2, n;
	SlVarStore s;
	SlUuid sbe, cm;

	ASSERT_OK(sl_varstore_enroll(t, FV_SIZE, &keys, &out, &len));
	ASSERT_UEQ(len, FV_SIZE);
	/* Everything outside the variable area is the template's. */
	ASSERT_MEMEQ(out, t, 100);
	ASSERT_MEMEQ(out + 0x40000, t + 0x40000, FV_SIZE - 0x40000);
	ASSERT_OK(sl_varstore_decode(out, len, &s));
	ASSERT_EQ(s.n_vars, 5);
	v = find(&s, "PK", &sl_efi_global_variable_guid);
	ASSERT_TRUE(v);
	ASSERT_UEQ(v->offset, 100);
	ASSERT_UEQ(v->attributes, 0x27);
	ASSERT_MEMEQ(v->timestamp, ((const uint8_t[]){ 0xea, 0x07, 11, 29, 0, 0, 0, 0 }), 8);
	ASSERT_OK(sl_esl_decode(v->data, v->data_size, &e, &n));
	ASSERT_EQ(n, 1);
	ASSERT_MEMEQ(e[0].data, fake_pk, sizeof(fake_pk));
	ASSERT_TRUE(find(&s, "KEK", &sl_efi_global_variable_guid));
	v = find(&s, "db", &sl_efi_image_security_database_guid);
	ASSERT_TRUE(v);
	ASSERT_UEQ(v->data_size, 28 + 16 + sizeof(fake_db));
	ASSERT_OK(sl_uuid_parse("f0a30bc7-af08-4556-99c4-001009c93a44", &sbe));
	ASSERT_OK(sl_uuid_parse("c076ec0c-7028-4399-a072-71ee5c448b9f", &cm));
	v = find(&s, "SecureBootEnable", &sbe);
	ASSERT_TRUE(v);
	ASSERT_UEQ(v->attributes, 3);
	ASSERT_EQ(v->data_size, 1);
	ASSERT_EQ(v->data[0], 1);
	v = find(&s, "CustomMode", &cm);
	ASSERT_TRUE(v);
	ASSERT_EQ(v->data[0], 0);
	sl_varstore_done(&s);
	/* Deterministic, and idempotent when re-enrolled over its own output. */
	ASSERT_OK(sl_varstore_enroll(t, FV_SIZE, &keys, &out2, &len2));
	ASSERT_MEMEQ(out, out2, FV_SIZE);
	free(out2);
	out2 = NULL;
	ASSERT_OK(sl_varstore_enroll(out, FV_SIZE, &keys, &out2, &len2));
	ASSERT_MEMEQ(out, out2, FV_SIZE);
}

TEST(enroll_keeps_other_variables)
{
	_cleanup_free_ uint8_t *t = make_template(), *out = NULL;
	SlSecureBootCert kek, db;
	SlSecureBootKeys keys = test_keys(&kek, &db);
	uint32_t pos = 100;
	size_t len;
	SlVarStore s;
	SlUuid global;
	char name[32];

	ASSERT_OK(sl_uuid_parse(GLOBAL, &global));
	add_var(t, &pos, 0x3c, "BootOrder", GLOBAL, 7, "\x01\x00", 2); /* deleted */
	add_var(t, &pos, 0x3f, "BootOrder", GLOBAL, 7, "\x02\x00", 2); /* live */
	add_var(t, &pos, 0x3e, "Timeout", GLOBAL, 7, "\x05\x00", 2);   /* in transition */
	add_var(t, &pos, 0x3f, "Timeout", GLOBAL, 7, "\x06\x00", 2);   /* its new copy */
	add_var(t, &pos, 0x3e, "Lang", GLOBAL, 7, "eng", 3);	       /* only copy */
	add_var(t, &pos, 0x3f, "PK", GLOBAL, 0x27, "old", 3);	       /* replaced */
	add_var(t, &pos, 0x3f, "dbx", IMGSEC, 0x27, "x", 1);	       /* kept */
	ASSERT_OK(sl_varstore_enroll(t, FV_SIZE, &keys, &out, &len));
	ASSERT_OK(sl_varstore_decode(out, len, &s));
	ASSERT_EQ(s.n_vars, 4 + 5);
	ASSERT_STREQ(sl_efi_variable_name(&s.vars[0], name, sizeof(name)), "BootOrder");
	ASSERT_EQ(s.vars[0].data[0], 2);
	ASSERT_STREQ(sl_efi_variable_name(&s.vars[1], name, sizeof(name)), "Timeout");
	ASSERT_EQ(s.vars[1].data[0], 6);
	ASSERT_STREQ(sl_efi_variable_name(&s.vars[2], name, sizeof(name)), "Lang");
	ASSERT_EQ(s.vars[2].state, 0x3f);
	ASSERT_STREQ(sl_efi_variable_name(&s.vars[3], name, sizeof(name)), "dbx");
	ASSERT_STREQ(sl_efi_variable_name(&s.vars[4], name, sizeof(name)), "PK");
	ASSERT_EQ(s.vars[4].data_size, 28 + 16 + sizeof(fake_pk));
	sl_varstore_done(&s);
}

TEST(enroll_refuses_pending_ftw_and_overflow)
{
	_cleanup_free_ uint8_t *t = make_template(), *out = NULL;
	_cleanup_free_ uint8_t *big = calloc(1, 60000);
	SlSecureBootCert kek, db, dbs[5];
	SlSecureBootKeys keys = test_keys(&kek, &db);
	size_t len;

	t[FTW_OFF + 32] = 0xfe; /* a write record in the queue */
	ASSERT_ERR(sl_varstore_enroll(t, FV_SIZE, &keys, &out, &len), -EBADMSG);
	t[FTW_OFF + 32] = 0xff;
	for (int i = 0; i < 5; i++)
		dbs[i] = (SlSecureBootCert){ big, 60000 };
	keys.db = dbs;
	keys.n_db = 5; /* 300 KB of db does not fit a 256 KiB store */
	ASSERT_ERR(sl_varstore_enroll(t, FV_SIZE, &keys, &out, &len), -E2BIG);
	ASSERT_TRUE(out == NULL);
	keys.n_db = 0;
	ASSERT_ERR(sl_varstore_enroll(t, FV_SIZE, &keys, &out, &len), -EINVAL);
}

/* Each corruption of a valid store and the error it must produce. */
TEST(decode_refuses_malformed)
{
	_cleanup_free_ uint8_t *good = make_template(), *b = malloc(FV_SIZE);
	uint32_t pos = 100;
	SlVarStore s;

	add_var(good, &pos, 0x3f, "Lang", GLOBAL, 7, "eng", 3);
	ASSERT_OK(sl_varstore_decode(good, FV_SIZE, &s));
	sl_varstore_done(&s);
#define BAD(expr, err)                                                 \
	do {                                                           \
		memcpy(b, good, FV_SIZE);                              \
		expr;                                                  \
		ASSERT_ERR(sl_varstore_decode(b, FV_SIZE, &s), (err)); \
	} while (0)
#define BAD_FV(expr, err) BAD((expr, fix_fv_checksum(b)), err)
	ASSERT_ERR(sl_varstore_decode(good, 71, &s), -EBADMSG);		 /* truncated */
	ASSERT_ERR(sl_varstore_decode(good, FV_SIZE - 1, &s), -EBADMSG); /* length mismatch */
	BAD_FV(b[3] = 1, -EBADMSG);					 /* ZeroVector */
	BAD_FV(b[16] ^= 1, -EBADMSG);					 /* not NV data */
	BAD_FV(b[40] = 'X', -EBADMSG);					 /* _FVH */
	BAD(b[50] ^= 1, -EBADMSG);					 /* checksum */
	BAD_FV(sl_put_le16(b + 48, 70), -EBADMSG);			 /* header length */
	BAD_FV(sl_put_le16(b + 48, 0xfff8), -EBADMSG);
	BAD_FV(sl_put_le16(b + 52, 0x48), -EOPNOTSUPP); /* ext header */
	BAD_FV(b[55] = 1, -EOPNOTSUPP);			/* revision */
	BAD_FV(sl_put_le32(b + 56, 0x83), -EBADMSG);	/* block map */
	BAD_FV(sl_put_le32(b + 60, 0), -EBADMSG);
	BAD(b[STORE_OFF] ^= 1, -EBADMSG);			 /* store GUID */
	BAD(sl_put_le32(b + STORE_OFF + 16, FV_SIZE), -EBADMSG); /* store size */
	BAD(b[STORE_OFF + 20] = 0xff, -EBADMSG);		 /* format */
	BAD(b[STORE_OFF + 21] = 0xff, -EBADMSG);		 /* state */
	BAD(b[STORE_OFF + 24] = 1, -EBADMSG);			 /* reserved */
	BAD(sl_put_le32(b + 100 + 40, STORE_SIZE), -EBADMSG);	 /* data past the end */
	BAD(sl_put_le32(b + 100 + 36, 0xfffffff0), -EBADMSG);	 /* name past the end */
	BAD(sl_put_le16(b + 100 + 60 + 8, 'x'), -EBADMSG);	 /* name without NUL */
	BAD(sl_put_le16(b + 100 + 60 + 2, 0), -EBADMSG);	 /* NUL inside the name */
	BAD(sl_put_le32(b + 100 + 36, 1), -EBADMSG);		 /* odd name size */
	BAD(sl_put_le32(b + 100 + 4, 6), -EBADMSG);		 /* volatile */
	BAD(b[pos + 5] = 0, -EBADMSG);				 /* garbage in free space */
	BAD(b[STORE_OFF + STORE_SIZE - 1] = 0, -EBADMSG);
	BAD(b[FTW_OFF + 30] = 1, -EBADMSG);		       /* FTW CRC */
	BAD(b[FTW_OFF] = 0, -EBADMSG);			       /* no FTW block */
	BAD(b[FTW_OFF + 20] = 0xfc, -EBADMSG);		       /* FTW invalid */
	BAD(sl_put_le64(b + FTW_OFF + 24, FV_SIZE), -EBADMSG); /* (CRC first) */
	{
		/* The same variable live twice. */
		uint32_t p2 = pos;

		BAD(add_var(b, &p2, 0x3f, "Lang", GLOBAL, 7, "deu", 3), -EBADMSG);
	}
	{
		/* A store without authenticated variables. */
		SlUuid plain;

		ASSERT_OK(sl_uuid_parse("ddcf3616-3275-4164-98b6-fe85707ffe7d", &plain));
		BAD(sl_uuid_to_guid(&plain, b + STORE_OFF), -EOPNOTSUPP);
	}
#undef BAD
#undef BAD_FV
}

TEST(dead_variables_need_only_bounds)
{
	_cleanup_free_ uint8_t *t = make_template();
	uint32_t pos = 100;
	SlVarStore s;

	/* A half-written header (edk2 writes the header, then name and data). */
	add_var(t, &pos, 0x7f, "X", GLOBAL, 0, "", 0);
	sl_put_le16(t + 100 + 60, 0xffff);
	sl_put_le16(t + 100 + 62, 0xffff);
	add_var(t, &pos, 0x3f, "Y", GLOBAL, 7, "1", 1);
	ASSERT_OK(sl_varstore_decode(t, FV_SIZE, &s));
	ASSERT_EQ(s.n_vars, 2);
	ASSERT_FALSE(sl_efi_variable_live(&s.vars[0]));
	ASSERT_TRUE(sl_efi_variable_live(&s.vars[1]));
	sl_varstore_done(&s);
}

/*
 * edk2 updates a variable by adding the new copy and then deleting the old one,
 * so an added copy beside one in deleted transition (0x3e) is a valid store, and
 * enrollment keeps only the added one. Two copies in transition are not valid:
 * enrolling over such a store wrote the variable twice, both added, into a store
 * that did not decode again (corpus/varstore/bad-duplicate-in-transition).
 */
TEST(duplicates_in_deleted_transition)
{
	_cleanup_free_ uint8_t *t = make_template(), *b = malloc(FV_SIZE), *out = NULL;
	SlSecureBootCert kek, db;
	SlSecureBootKeys keys = test_keys(&kek, &db);
	uint32_t pos = 100, p2;
	size_t len;
	SlVarStore s;

	add_var(t, &pos, 0x3e, "Timeout", GLOBAL, 7, "\x05\x00", 2);
	p2 = pos;
	/* Added beside in transition, in either order: valid. */
	memcpy(b, t, FV_SIZE);
	add_var(b, &p2, 0x3f, "Timeout", GLOBAL, 7, "\x06\x00", 2);
	ASSERT_OK(sl_varstore_decode(b, FV_SIZE, &s));
	sl_varstore_done(&s);
	/* Two in transition: refused, with the variable named. */
	memcpy(b, t, FV_SIZE);
	p2 = pos;
	add_var(b, &p2, 0x3e, "Timeout", GLOBAL, 7, "\x07\x00", 2);
	sl_error_clear();
	ASSERT_ERR(sl_varstore_decode(b, FV_SIZE, &s), -EBADMSG);
	ASSERT_TRUE(strstr(sl_error_message(-EBADMSG), "variable Timeout is stored twice"));
	ASSERT_ERR(sl_varstore_enroll(b, FV_SIZE, &keys, &out, &len), -EBADMSG);
	/* One in transition of another vendor is another variable. */
	memcpy(b, t, FV_SIZE);
	p2 = pos;
	add_var(b, &p2, 0x3e, "Timeout", IMGSEC, 7, "\x07\x00", 2);
	ASSERT_OK(sl_varstore_enroll(b, FV_SIZE, &keys, &out, &len));
	ASSERT_OK(sl_varstore_decode(out, len, &s));
	ASSERT_EQ(s.n_vars, 2 + 5);
	sl_varstore_done(&s);
}

/* Every header is counted against the cap, dead ones too (a 64 MiB volume of
 * 60-byte headers would otherwise be a million of them, compared pairwise). */
TEST(variable_count_cap)
{
	/* 1 MiB: a 0xfefb8-byte store, the FTW working block in the last 4 KiB. */
	_cleanup_free_ uint8_t *t = make_volume(0x100000, 0xfefb8, 0xff000);
	uint32_t pos = 100;
	SlVarStore s;
	size_t n;

	ASSERT_OK(sl_varstore_decode(t, 0x100000, &s));
	sl_varstore_done(&s);
	for (n = 0; n < SL_VARSTORE_MAX_VARS; n++)
		add_var(t, &pos, 0x3c, "", GLOBAL, 0, "", 0); /* deleted, 64 bytes */
	ASSERT_TRUE(pos < STORE_OFF + 0xfefb8 - 64);
	ASSERT_OK(sl_varstore_decode(t, 0x100000, &s));
	ASSERT_EQ(s.n_vars, SL_VARSTORE_MAX_VARS);
	sl_varstore_done(&s);
	add_var(t, &pos, 0x3f, "X", GLOBAL, 7, "", 0);
	sl_error_clear();
	ASSERT_ERR(sl_varstore_decode(t, 0x100000, &s), -E2BIG);
	ASSERT_TRUE(strstr(sl_error_message(-E2BIG), "more than 8192 variables"));
}

TEST(x509_load)
{
	char path[512];
	_cleanup_free_ uint8_t *pem = NULL, *der = NULL, *der2 = NULL, *two = NULL;
	_cleanup_free_ char *subject = NULL;
	size_t pem_len, der_len, der2_len;
	time_t nb;

	snprintf(path, sizeof(path), "%s/tests/vectors/efivars/db.crt", sl_test_srcdir());
	ASSERT_OK(sl_read_file(path, 1 << 20, &pem, &pem_len));
	ASSERT_OK(sl_x509_load(pem, pem_len, &der, &der_len, &nb));
	ASSERT_EQ(der[0], 0x30);
	ASSERT_TRUE(nb > 1500000000);
	ASSERT_OK(sl_x509_subject(der, der_len, &subject));
	ASSERT_STREQ(subject, "CN=Slate test db");
	/* DER in, the same DER out. */
	ASSERT_OK(sl_x509_load(der, der_len, &der2, &der2_len, NULL));
	ASSERT_UEQ(der2_len, der_len);
	ASSERT_MEMEQ(der2, der, der_len);
	free(der2);
	/* Trailing bytes, two PEM blocks, garbage: refused. */
	der2 = malloc(der_len + 1);
	memcpy(der2, der, der_len);
	der2[der_len] = 0;
	ASSERT_ERR(sl_x509_load(der2, der_len + 1, &der, &der_len, NULL), -EBADMSG);
	two = malloc(2 * pem_len);
	memcpy(two, pem, pem_len);
	memcpy(two + pem_len, pem, pem_len);
	ASSERT_ERR(sl_x509_load(two, 2 * pem_len, &der2, &der2_len, NULL), -EBADMSG);
	ASSERT_ERR(sl_x509_load((const uint8_t *)"hello", 5, &der2, &der2_len, NULL), -EBADMSG);
	ASSERT_ERR(sl_x509_load(pem, 0, &der2, &der2_len, NULL), -EBADMSG);
}
