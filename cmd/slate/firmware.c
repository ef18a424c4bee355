/* SPDX-License-Identifier: MIT */
/*
 * slate firmware: OVMF variable stores with Secure Boot keys enrolled
 * (`vars`), and a reader for any OVMF variable store (`inspect`).
 */
#include <openssl/sha.h>

#include "slate/bytes.h"
#include "slate/cli.h"
#include "slate/efivars.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/json.h"
#include "slate/strutil.h"
#include "commands.h"
#include "ovmf.h"

#define CERT_MAX  (1u << 20)
#define VARS_MAX  (64u << 20)
#define MAX_CERTS 64

typedef struct LoadedCert {
	char *path;
	uint8_t *der;
	size_t len;
	time_t not_before;
} LoadedCert;

static void certs_free(LoadedCert *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].path);
		free(c[i].der);
	}
}

static int load_cert(const char *path, LoadedCert *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = sl_read_file(path, CERT_MAX, &buf, &len);
	if (r < 0)
		return sl_cli_fail(path, r);
	r = sl_x509_load(buf, len, &ret->der, &ret->len, &ret->not_before);
	if (r < 0)
		return sl_cli_fail(path, r);
	ret->path = sl_strdup(path);
	return ret->path ? 0 : sl_cli_fail(path, -ENOMEM);
}

/* SOURCE_DATE_EPOCH when set, else the newest notBefore: deterministic, and never
 * later than an authenticated update signed today. */
static int pick_timestamp(const LoadedCert *certs, size_t n, time_t *ret)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	time_t t = 0;

	if (e && *e) {
		uint64_t v;
		int r = sl_parse_u64(e, 253402300799ull, &v); /* 9999-12-31T23:59:59Z */

		if (r < 0)
			return sl_cli_failf("SOURCE_DATE_EPOCH=%s: %s", e, sl_error_message(r));
		*ret = (time_t)v;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		t = MAX(t, certs[i].not_before);
	*ret = t;
	return 0;
}

static const char vars_usage[] =
	"--pk CERT --kek CERT --db CERT [OPTIONS...] -o VARS.fd\n"
	"       slate firmware vars --keys DIR [OPTIONS...] -o VARS.fd\n"
	"\n"
	"Options:\n"
	"  --pk CERT          the Platform Key certificate (PEM or DER)\n"
	"  --kek CERT         a Key Exchange Key certificate (repeatable)\n"
	"  --db CERT          a db certificate: images it signed boot (repeatable)\n"
	"  --keys DIR         take DIR/PK.crt, DIR/KEK.crt and DIR/db.crt (slate keys create)\n"
	"  --template FILE    the OVMF variable store to start from\n"
	"                     (default: " OVMF_VARS " of Debian's ovmf package)\n"
	"  --owner UUID       SignatureOwner of the entries (default: Slate's)\n"
	"  -o, --output FILE  the variable store to write\n"
	"\n"
	"Writes an OVMF variable store in which PK, KEK and db hold the certificates as\n"
	"EFI signature lists (authenticated variables, attributes 0x27), with\n"
	"SecureBootEnable=1 and CustomMode=0: the firmware enforces Secure Boot from\n"
	"the first boot. Other variables of the template are kept. The output is\n"
	"deterministic: the variables' timestamps are SOURCE_DATE_EPOCH when set, else\n"
	"the newest notBefore of the certificates.\n"
	"Boot with it: slate run IMAGE --vars VARS.fd";

static int vars_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pk", required_argument, NULL, 'P' },
		{ "kek", required_argument, NULL, 'K' },
		{ "db", required_argument, NULL, 'D' },
		{ "keys", required_argument, NULL, 'k' },
		{ "template", required_argument, NULL, 't' },
		{ "owner", required_argument, NULL, 'O' },
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	const char *pk = NULL, *keys_dir = NULL, *tmpl = NULL, *output = NULL;
	const char *kek[MAX_CERTS], *db[MAX_CERTS];
	size_t n_kek = 0, n_db = 0, n_certs = 0;
	LoadedCert certs[1 + 2 * MAX_CERTS] = { 0 };
	SlSecureBootCert kek_c[MAX_CERTS], db_c[MAX_CERTS];
	SlSecureBootKeys keys = { .owner = sl_efi_slate_owner_guid };
	_cleanup_free_ char *default_tmpl = NULL, *kpk = NULL, *kkek = NULL, *kdb = NULL;
	_cleanup_free_ uint8_t *tbuf = NULL, *out = NULL;
	size_t tlen, olen;
	int c, r, ret = SL_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) >= 0) {
		switch (c) {
		case 'P':
			pk = optarg;
			break;
		case 'K':
			if (n_kek == MAX_CERTS)
				return sl_cli_usage_error("at most %d --kek", MAX_CERTS);
			kek[n_kek++] = optarg;
			break;
		case 'D':
			if (n_db == MAX_CERTS)
				return sl_cli_usage_error("at most %d --db", MAX_CERTS);
			db[n_db++] = optarg;
			break;
		case 'k':
			keys_dir = optarg;
			break;
		case 't':
			tmpl = optarg;
			break;
		case 'O':
			if (sl_uuid_parse(optarg, &keys.owner) < 0)
				return sl_cli_usage_error("--owner: '%s' is not a UUID", optarg);
			break;
		case 'o':
			output = optarg;
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (optind != argc)
		return sl_cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!output)
		return sl_cli_usage_error("-o VARS.fd is required");
	if (keys_dir) {
		if (pk || n_kek || n_db)
			return sl_cli_usage_error("--keys and --pk/--kek/--db exclude each other");
		kpk = sl_asprintf("%s/PK.crt", keys_dir);
		kkek = sl_asprintf("%s/KEK.crt", keys_dir);
		kdb = sl_asprintf("%s/db.crt", keys_dir);
		if (!kpk || !kkek || !kdb)
			return sl_cli_fail(NULL, -ENOMEM);
		pk = kpk;
		kek[n_kek++] = kkek;
		db[n_db++] = kdb;
	}
	if (!pk || !n_kek || !n_db)
		return sl_cli_usage_error("--pk, --kek and --db (or --keys DIR) are required");
	if (!tmpl) {
		default_tmpl = sl_asprintf("%s/%s", ovmf_dir(), OVMF_VARS);
		if (!default_tmpl)
			return sl_cli_fail(NULL, -ENOMEM);
		if (access(default_tmpl, R_OK) < 0)
			return sl_cli_failf("%s: not found: install the Debian package %s, or give "
					    "--template",
					    default_tmpl, OVMF_DEBIAN_PACKAGE);
		tmpl = default_tmpl;
	}

	if (load_cert(pk, &certs[n_certs]) != 0)
		goto out;
	keys.pk = (SlSecureBootCert){ certs[n_certs].der, certs[n_certs].len };
	n_certs++;
	for (size_t i = 0; i < n_kek; i++, n_certs++) {
		if (load_cert(kek[i], &certs[n_certs]) != 0)
			goto out;
		kek_c[i] = (SlSecureBootCert){ certs[n_certs].der, certs[n_certs].len };
	}
	for (size_t i = 0; i < n_db; i++, n_certs++) {
		if (load_cert(db[i], &certs[n_certs]) != 0)
			goto out;
		db_c[i] = (SlSecureBootCert){ certs[n_certs].der, certs[n_certs].len };
	}
	keys.kek = kek_c;
	keys.n_kek = n_kek;
	keys.db = db_c;
	keys.n_db = n_db;
	if (pick_timestamp(certs, n_certs, &keys.timestamp) != 0)
		goto out;

	r = sl_read_file(tmpl, VARS_MAX, &tbuf, &tlen);
	if (r < 0) {
		sl_cli_fail(tmpl, r);
		goto out;
	}
	r = sl_varstore_enroll(tbuf, tlen, &keys, &out, &olen);
	if (r < 0) {
		sl_cli_fail(tmpl, r);
		goto out;
	}
	r = sl_write_file_atomic(output, out, olen, 0644);
	if (r < 0) {
		sl_cli_fail(output, r);
		goto out;
	}
	ret = SL_EXIT_OK;
out:
	certs_free(certs, n_certs + 1 > ARRAY_SIZE(certs) ? ARRAY_SIZE(certs) : n_certs + 1);
	return ret;
}

/* ---- inspect ---- */

static const char *state_name(uint8_t state)
{
	switch (state) {
	case SL_VAR_ADDED:
		return "added";
	case SL_VAR_ADDED &SL_VAR_IN_DELETED_TRANSITION:
		return "added, deletion in progress";
	case SL_VAR_HEADER_VALID_ONLY:
		return "header only";
	default:
		return "deleted";
	}
}

static void format_time(const uint8_t *t, char *out, size_t cap)
{
	snprintf(out, cap, "%04u-%02u-%02uT%02u:%02u:%02uZ", sl_le16(t), t[2], t[3], t[4], t[5],
		 t[6]);
}

static bool is_signature_db(const SlEfiVariable *v)
{
	return sl_efi_variable_is(v, "PK", &sl_efi_global_variable_guid) ||
	       sl_efi_variable_is(v, "KEK", &sl_efi_global_variable_guid) ||
	       sl_efi_variable_is(v, "db", &sl_efi_image_security_database_guid) ||
	       sl_efi_variable_is(v, "dbx", &sl_efi_image_security_database_guid);
}

static const char *esl_type_name(const SlUuid *t)
{
	if (sl_uuid_equal(t, &sl_efi_cert_x509_guid))
		return "x509";
	if (sl_uuid_equal(t, &sl_efi_cert_sha256_guid))
		return "sha256";
	return "other";
}

/* One signature entry: JSON object or an indented table line. */
static void print_entry(SlJson *j, const SlEslEntry *e)
{
	char owner[SL_UUID_STRING_MAX], hex[65];
	_cleanup_free_ char *subject = NULL;
	uint8_t digest[32];
	bool x509 = sl_uuid_equal(&e->type, &sl_efi_cert_x509_guid);

	sl_uuid_format(&e->owner, owner);
	if (x509) {
		SHA256(e->data, e->size, digest);
		if (sl_x509_subject(e->data, e->size, &subject) < 0)
			subject = NULL;
	}
	if (j) {
		sl_json_begin_object(j);
		sl_json_kv_string(j, "type", esl_type_name(&e->type));
		sl_json_kv_string(j, "owner", owner);
		sl_json_kv_uint(j, "size", e->size);
		if (x509) {
			sl_json_kv_string(j, "subject", subject ? subject : "(unreadable)");
			sl_json_kv_hex(j, "sha256", digest, sizeof(digest));
		} else if (e->size == 32) {
			sl_json_kv_hex(j, "hash", e->data, e->size);
		}
		sl_json_end_object(j);
		return;
	}
	if (x509) {
		sl_hex_encode(digest, sizeof(digest), hex);
		printf("    x509 %s  sha256 %s  owner %s\n", subject ? subject : "(unreadable)",
		       hex, owner);
	} else if (e->size == 32) {
		sl_hex_encode(e->data, 32, hex);
		printf("    %s %s  owner %s\n", esl_type_name(&e->type), hex, owner);
	} else {
		printf("    %s (%zu bytes)  owner %s\n", esl_type_name(&e->type), e->size, owner);
	}
}

static int print_signatures(SlJson *j, const SlEfiVariable *v)
{
	_cleanup_free_ SlEslEntry *entries = NULL;
	size_t n;
	int r = sl_esl_decode(v->data, v->data_size, &entries, &n);

	if (r < 0) {
		char name[64];

		return sl_error_prefix(r, "%s: ", sl_efi_variable_name(v, name, sizeof(name)));
	}
	if (j) {
		sl_json_key(j, "signatures");
		sl_json_begin_array(j);
	}
	for (size_t i = 0; i < n; i++)
		print_entry(j, &entries[i]);
	if (j)
		sl_json_end_array(j);
	return 0;
}

static int print_variable(SlJson *j, const SlEfiVariable *v)
{
	char name[256], vendor[SL_UUID_STRING_MAX], ts[32];

	sl_efi_variable_name(v, name, sizeof(name));
	sl_uuid_format(&v->vendor, vendor);
	format_time(v->timestamp, ts, sizeof(ts));
	if (j) {
		sl_json_begin_object(j);
		sl_json_kv_string(j, "name", name);
		sl_json_kv_string(j, "vendor", vendor);
		sl_json_kv_string(j, "state", state_name(v->state));
		sl_json_kv_uint(j, "offset", v->offset);
		sl_json_kv_uint(j, "attributes", v->attributes);
		sl_json_kv_string(j, "timestamp", ts);
		sl_json_kv_uint(j, "size", v->data_size);
		if (v->data_size <= 64)
			sl_json_kv_hex(j, "data", v->data, v->data_size);
	} else {
		printf("%-20s %s  0x%02x  %6u  %s%s\n", name, vendor, v->attributes, v->data_size,
		       ts, sl_efi_variable_live(v) ? "" : "  (deleted)");
	}
	if (sl_efi_variable_live(v) && is_signature_db(v)) {
		int r = print_signatures(j, v);

		if (r < 0)
			return r;
	}
	if (j)
		sl_json_end_object(j);
	return 0;
}

static const char inspect_usage[] =
	"VARS.fd [--all] [-o json|table]\n"
	"\n"
	"Options:\n"
	"  --all              also list deleted variables\n"
	"  -o, --output FMT   json or table (default)\n"
	"\n"
	"Checks an OVMF variable store strictly and lists its variables; PK, KEK, db and\n"
	"dbx are decoded as EFI signature lists (certificate subjects and SHA-256\n"
	"fingerprints).";

static int inspect_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	_cleanup_free_ uint8_t *buf = NULL;
	SlOutput fmt = SL_OUTPUT_TABLE;
	SlVarStore s;
	SlJson json, *j = NULL;
	bool all = false;
	size_t len;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) >= 0) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'o':
			if (sl_cli_parse_output(optarg, &fmt) < 0)
				return sl_cli_usage_error("-o: use json or table");
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (argc - optind != 1)
		return sl_cli_usage_error("expected one VARS.fd");
	r = sl_read_file(argv[optind], VARS_MAX, &buf, &len);
	if (r >= 0)
		r = sl_varstore_decode(buf, len, &s);
	if (r < 0)
		return sl_cli_fail(argv[optind], r);
	if (fmt == SL_OUTPUT_JSON) {
		j = &json;
		sl_json_init(j, stdout, true);
		sl_json_begin_object(j);
		sl_json_kv_uint(j, "size", s.fv_length);
		sl_json_kv_uint(j, "store_offset", s.store_offset);
		sl_json_kv_uint(j, "store_size", s.store_size);
		sl_json_kv_uint(j, "free_offset", s.free_offset);
		sl_json_kv_uint(j, "ftw_offset", s.ftw_offset);
		sl_json_kv_bool(j, "ftw_pending", s.ftw_pending);
		sl_json_key(j, "variables");
		sl_json_begin_array(j);
	} else {
		printf("volume %llu bytes, store at 0x%llx (%u bytes, %llu used), FTW queue %s\n\n",
		       (unsigned long long)s.fv_length, (unsigned long long)s.store_offset,
		       s.store_size, (unsigned long long)(s.free_offset - s.store_offset),
		       s.ftw_pending ? "has records" : "empty");
		printf("%-20s %-36s  %-4s  %6s  %s\n", "NAME", "VENDOR", "ATTR", "SIZE",
		       "TIMESTAMP");
	}
	for (size_t i = 0; i < s.n_vars && r >= 0; i++)
		if (all || sl_efi_variable_live(&s.vars[i]))
			r = print_variable(j, &s.vars[i]);
	if (j) {
		sl_json_end_array(j);
		sl_json_end_object(j);
		sl_json_finish(j);
	}
	sl_varstore_done(&s);
	if (r < 0)
		return sl_cli_fail(argv[optind], r);
	return SL_EXIT_OK;
}

static const SlCommand cmd_vars = {
	.name = "vars",
	.summary = "Write an OVMF variable store with Secure Boot keys enrolled.",
	.usage = vars_usage,
	.run = vars_run,
};

static const SlCommand cmd_inspect = {
	.name = "inspect",
	.summary = "Check and list an OVMF variable store.",
	.usage = inspect_usage,
	.run = inspect_run,
};

static const SlCommand *const firmware_children[] = { &cmd_vars, &cmd_inspect, NULL };

const SlCommand sl_cmd_firmware = {
	.name = "firmware",
	.summary = "UEFI firmware variable stores (Secure Boot enrollment).",
	.children = firmware_children,
};
