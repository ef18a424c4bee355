/* SPDX-License-Identifier: MIT */
/*
 * The boot chain of the image, from the EROFS /usr on: its dm-verity tree, the
 * root-hash signature, the initramfs, the signed UKI and systemd-boot, the expected
 * PCR 11 values and the OVMF variable store with the build's keys.
 *
 * All of it is deterministic: salt and UUIDs are derived (sl_build_derive), the
 * initramfs's timestamps are SOURCE_DATE_EPOCH, the UKI is laid out as ukify does it,
 * and Slate's Authenticode and PKCS#7 signatures carry no signing time (RSA
 * PKCS#1 v1.5 signatures are a function of key and message).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "build-internal.h"
#include "slate/efivars.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/initrd.h"
#include "slate/json.h"
#include "slate/pcr.h"
#include "slate/pe.h"
#include "slate/sign.h"
#include "slate/strutil.h"
#include "slate/uki.h"
#include "slate/verity.h"

#define VERITY_SLOT_SIZE (64ull << 20) /* DESIGN.md, Disk layout */
#define BLOCK_SIZE	 4096u
#define BOOT_FILE_MAX	 (256u << 20) /* kernel, initramfs, UKI */

static int load_db_key(const SlBuild *b, SlSignKey **ret)
{
	_cleanup_free_ char *key = sl_asprintf("%s/db.key", b->keys);
	_cleanup_free_ char *crt = sl_asprintf("%s/db.crt", b->keys);

	if (!key || !crt)
		return -ENOMEM;
	return sl_sign_key_load(key, crt, ret);
}

/* ---- dm-verity -------------------------------------------------------------------- */

int sl_build_verity(SlBuild *b)
{
	_cleanup_free_ char *data = sl_build_out_path(b, "usr.erofs");
	_cleanup_free_ char *hash = sl_build_out_path(b, "usr.verity");
	_cleanup_free_ char *hex_path = sl_build_out_path(b, "usr.roothash");
	_cleanup_close_ int dfd = -1, hfd = -1;
	uint8_t salt[32], root[SL_VERITY_DIGEST_MAX];
	SlVerityParams p;
	struct stat st;
	char line[66];
	int r;

	if (!data || !hash || !hex_path)
		return -ENOMEM;
	dfd = open(data, O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return sl_errorf(-errno, "%s: %s", data, strerror(errno));
	if (fstat(dfd, &st) < 0)
		return -errno;
	if (st.st_size == 0 || st.st_size % BLOCK_SIZE)
		return sl_errorf(-EBADMSG, "%s: %lld bytes is not a whole number of 4 KiB blocks",
				 data, (long long)st.st_size);
	hfd = open(hash, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (hfd < 0)
		return sl_errorf(-errno, "%s: %s", hash, strerror(errno));

	/* veritysetup's defaults (format 1, sha256, 4 KiB blocks, superblock at 0),
	 * with a salt and UUID derived from the release instead of random ones. */
	sl_verity_params_init(&p);
	p.data_blocks = (uint64_t)st.st_size / BLOCK_SIZE;
	sl_build_derive(b, "verity-salt", salt);
	memcpy(p.salt, salt, sizeof(salt));
	p.salt_size = sizeof(salt);
	r = sl_build_derive_uuid(b, "verity-uuid", &p.uuid);
	if (r < 0)
		return r;
	r = sl_verity_format(dfd, hfd, &p, 0, root);
	if (r < 0)
		return sl_error_prefix(r, "%s: ", data);
	if (fstat(hfd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > VERITY_SLOT_SIZE)
		return sl_errorf(-E2BIG,
				 "the verity tree (%lld bytes) is larger than its 64 MiB slot",
				 (long long)st.st_size);
	memcpy(b->root_hash, root, sizeof(b->root_hash));
	sl_hex_encode(root, sizeof(b->root_hash), b->root_hash_hex);
	b->verity = p;
	snprintf(line, sizeof(line), "%s\n", b->root_hash_hex);
	return sl_write_file(hex_path, line, strlen(line), 0644);
}

/* The root hash as the kernel checks it: the DER PKCS#7 over the lowercase hex
 * (SPEC.md §1.7), made with the Secure Boot db key. */
int sl_build_sign_roothash(SlBuild *b)
{
	_cleanup_(sl_sign_key_freep) SlSignKey *key = NULL;
	_cleanup_free_ char *path = sl_build_out_path(b, "usr.roothash.p7s");
	_cleanup_free_ uint8_t *der = NULL;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = load_db_key(b, &key);
	if (r < 0)
		return r;
	r = sl_sign_detached(key, b->root_hash_hex, strlen(b->root_hash_hex), &der, &len);
	if (r < 0)
		return r;
	return sl_write_file(path, der, len, 0644);
}

/* ---- initramfs ---------------------------------------------------------------------- */

static bool has_module(const SlInitrdResult *res, const char *name)
{
	for (size_t i = 0; i < res->n_modules; i++)
		if (streq(res->modules[i], name))
			return true;
	for (size_t i = 0; i < res->n_builtin; i++)
		if (streq(res->builtin[i], name))
			return true;
	return false;
}

int sl_build_initrd(SlBuild *b)
{
	const SlBuildList *mods = &b->c->lists[SL_BUILD_LIST_INITRD_MODULES];
	_cleanup_free_ char *modules_dir =
		sl_asprintf("%s/usr/lib/modules/%s", b->root, b->kernel_version);
	_cleanup_free_ char *sig = sl_build_out_path(b, "usr.roothash.p7s");
	_cleanup_free_ char *out = sl_build_work_path(b, "initrd.cpio");
	SlInitrdResult res = { 0 };
	int r;

	if (!modules_dir || !sig || !out)
		return -ENOMEM;
	if (!b->o->init_path)
		return sl_errorf(-ENOENT, "no slate-init binary was given to the build");
	r = sl_initrd_build(
		&(SlInitrdOptions){
			.modules_dir = modules_dir,
			.kernel_version = b->kernel_version,
			.modules = (const char *const *)mods->items,
			.n_modules = mods->n,
			.init = b->o->init_path,
			.roothash_sig = sig,
			.mtime = (uint32_t)b->epoch,
			.compress = SL_INITRD_COMPRESS_NONE,
		},
		&res);
	if (r < 0)
		return r;
	for (size_t i = 0; i < res.n_modules; i++)
		sl_build_log(b, "initramfs module %s", res.modules[i]);
	for (size_t i = 0; i < res.n_builtin; i++)
		sl_build_log(b, "initramfs module %s is built into the kernel", res.builtin[i]);
	if (!has_module(&res, "efivarfs")) {
		sl_initrd_result_done(&res);
		return sl_errorf(-EINVAL,
				 "[initrd-modules] lacks efivarfs: slate-init reads systemd-stub's "
				 "EFI variables through it to measure the boot phases into PCR 11, "
				 "and without them the node's PCR 11 would not match pcr11.json");
	}
	r = sl_write_file(out, res.data, res.size, 0644);
	sl_initrd_result_done(&res);
	return r;
}

/* ---- UKI and systemd-boot ------------------------------------------------------------- */

static int read_blob(const char *path, uint8_t **ret, size_t *ret_len)
{
	int r = sl_read_file(path, BOOT_FILE_MAX, ret, ret_len);

	return r < 0 ? sl_error_prefix(r, "%s: ", path) : 0;
}

/* The kernel command line of the signed UKI. */
static char *uki_cmdline(const SlBuild *b)
{
	/* usrhash= names /usr by its root hash (slate-init finds the partitions by it);
	 * dm_verity.require_signatures=1 makes the kernel refuse any verity device
	 * without a root-hash signature from the db key (DESIGN.md, Boot chain). */
	return sl_asprintf("usrhash=%s dm_verity.require_signatures=1%s%s", b->root_hash_hex,
			   b->c->cmdline[0] ? " " : "", b->c->cmdline);
}

static int sign_pe_file(const SlSignKey *key, const uint8_t *in, size_t len, const char *out)
{
	_cleanup_free_ uint8_t *signed_buf = NULL;
	size_t signed_len;
	int r = sl_sign_pe(key, in, len, 0, &signed_buf, &signed_len);

	if (r < 0)
		return sl_error_prefix(r, "signing %s: ", out);
	return sl_write_file(out, signed_buf, signed_len, 0644);
}

int sl_build_uki(SlBuild *b)
{
	_cleanup_(sl_sign_key_freep) SlSignKey *key = NULL;
	_cleanup_free_ char *initrd_path = sl_build_work_path(b, "initrd.cpio");
	_cleanup_free_ char *uki_path = sl_build_out_path(b, "slate.efi");
	_cleanup_free_ char *boot_signed = sl_build_work_path(b, "systemd-bootx64.signed.efi");
	_cleanup_free_ char *cmdline = uki_cmdline(b);
	_cleanup_free_ uint8_t *stub = NULL, *kernel = NULL, *initrd = NULL, *osrel = NULL;
	_cleanup_free_ uint8_t *uki = NULL, *boot = NULL;
	size_t stub_len, kernel_len, initrd_len, osrel_len, uki_len, boot_len;
	SlUkiBlob initrd_blob;
	int r;

	if (!initrd_path || !uki_path || !boot_signed || !cmdline)
		return -ENOMEM;
	r = load_db_key(b, &key);
	if (r < 0)
		return r;
	if ((r = read_blob(b->stub, &stub, &stub_len)) < 0 ||
	    (r = read_blob(b->kernel, &kernel, &kernel_len)) < 0 ||
	    (r = read_blob(initrd_path, &initrd, &initrd_len)) < 0 ||
	    (r = read_blob(b->os_release, &osrel, &osrel_len)) < 0)
		return r;
	initrd_blob = (SlUkiBlob){ initrd, initrd_len };
	sl_build_log(b, "UKI command line: %s", cmdline);
	r = sl_uki_build(
		&(SlUkiInput){
			.stub = { stub, stub_len },
			.kernel = { kernel, kernel_len },
			.initrds = &initrd_blob,
			.n_initrds = 1,
			.cmdline = { (const uint8_t *)cmdline, strlen(cmdline) },
			.osrel = { osrel, osrel_len },
			.uname = b->kernel_version,
		},
		&uki, &uki_len);
	if (r < 0)
		return sl_error_prefix(r, "building the UKI: ");
	r = sign_pe_file(key, uki, uki_len, uki_path);
	if (r < 0)
		return r;
	/* systemd-boot is signed by the same db key: the firmware checks both. */
	r = read_blob(b->systemd_boot, &boot, &boot_len);
	if (r < 0)
		return r;
	r = sign_pe_file(key, boot, boot_len, boot_signed);
	if (r < 0)
		return r;
	free(b->systemd_boot);
	b->systemd_boot = TAKE_PTR(boot_signed);
	return 0;
}

/* ---- PCR 11 -------------------------------------------------------------------------- */

/*
 * pcr11.json: PCR 11 along a Slate boot. systemd-stub measures the UKI; slate-init
 * (the initramfs) extends "enter-initrd" when it starts and "leave-initrd" before
 * switch_root, as systemd's initrd would; the real root's systemd-pcrphase-sysinit
 * extends "sysinit" and systemd-pcrphase "ready" (multi-user). "boot" holds the value
 * after each step, named by its last word ("stub" for the stub's own); a healthy
 * node's PCR 11 is "ready". The same sequence as systemd-measure's phases
 * ("enter-initrd:leave-initrd:sysinit:ready"), given beside each value.
 */
int sl_build_pcr(SlBuild *b)
{
	static const char *const steps[SL_PCR11_N_PHASES] = { "stub", "enter-initrd",
							      "leave-initrd", "sysinit", "ready" };
	_cleanup_free_ char *uki_path = sl_build_out_path(b, "slate.efi");
	_cleanup_free_ char *path = sl_build_out_path(b, "pcr11.json");
	_cleanup_free_ uint8_t *uki = NULL;
	_cleanup_free_ SlPe *pe = NULL;
	_cleanup_free_ SlPcr11Prediction *pred = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	size_t len;
	SlJson j;
	int r;

	pe = calloc(1, sizeof(*pe));
	pred = calloc(1, sizeof(*pred));
	if (!uki_path || !path || !pe || !pred)
		return -ENOMEM;
	r = read_blob(uki_path, &uki, &len);
	if (r < 0)
		return r;
	r = sl_pe_decode(uki, len, pe);
	if (r < 0)
		return sl_error_prefix(r, "%s: ", uki_path);
	r = sl_pcr11_predict(pe, 0, pred);
	if (r < 0)
		return sl_error_prefix(r, "%s: ", uki_path);

	f = fopen(path, "we");
	if (!f)
		return sl_errorf(-errno, "%s: %s", path, strerror(errno));
	sl_json_init(&j, f, true);
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "uki", "slate.efi");
	sl_json_kv_string(&j, "stubVersion", pred->stub_version);
	sl_json_kv_uint(&j, "pcr", 11);
	sl_json_key(&j, "boot");
	sl_json_begin_object(&j);
	for (int i = 0; i < SL_PCR11_N_PHASES; i++) {
		sl_json_key(&j, steps[i]);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "phase", sl_pcr11_phases[i]);
		for (int k = 0; k < _SL_PCR_BANK_MAX; k++)
			sl_json_kv_hex(&j, sl_pcr_bank_name((SlPcrBank)k), pred->phases[i].bank[k],
				       sl_pcr_bank_size((SlPcrBank)k));
		sl_json_end_object(&j);
	}
	sl_json_end_object(&j);
	sl_json_end_object(&j);
	sl_json_finish(&j);
	return ferror(f) ? -EIO : 0;
}

/* ---- OVMF variables -------------------------------------------------------------------- */

#define OVMF_VARS_TEMPLATE "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define VARS_MAX	   (16u << 20)

static int load_cert(const SlBuild *b, const char *name, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *path = sl_asprintf("%s/%s", b->keys, name);
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	if (!path)
		return -ENOMEM;
	r = sl_read_file(path, 1u << 20, &buf, &len);
	if (r >= 0)
		r = sl_x509_load(buf, len, ret, ret_len, NULL);
	return r < 0 ? sl_error_prefix(r, "%s: ", path) : 0;
}

/* slate.vars.fd next to slate.img: what `slate run out/slate.img` boots with. */
int sl_build_vars(SlBuild *b)
{
	_cleanup_free_ uint8_t *pk = NULL, *kek = NULL, *db = NULL, *tmpl = NULL, *out = NULL;
	_cleanup_free_ char *path = sl_build_out_path(b, "slate.vars.fd");
	size_t pk_len, kek_len, db_len, tmpl_len, out_len;
	SlSecureBootCert kek_c, db_c;
	int r;

	if (!path)
		return -ENOMEM;
	if ((r = load_cert(b, "PK.crt", &pk, &pk_len)) < 0 ||
	    (r = load_cert(b, "KEK.crt", &kek, &kek_len)) < 0 ||
	    (r = load_cert(b, "db.crt", &db, &db_len)) < 0)
		return r;
	r = sl_read_file(OVMF_VARS_TEMPLATE, VARS_MAX, &tmpl, &tmpl_len);
	if (r < 0)
		return sl_error_prefix(r, "%s (Debian package ovmf): ", OVMF_VARS_TEMPLATE);
	kek_c = (SlSecureBootCert){ kek, kek_len };
	db_c = (SlSecureBootCert){ db, db_len };
	r = sl_varstore_enroll(tmpl, tmpl_len,
			       &(SlSecureBootKeys){
				       .pk = { pk, pk_len },
				       .kek = &kek_c,
				       .n_kek = 1,
				       .db = &db_c,
				       .n_db = 1,
				       .owner = sl_efi_slate_owner_guid,
				       .timestamp = (time_t)b->epoch,
			       },
			       &out, &out_len);
	if (r < 0)
		return sl_error_prefix(r, "%s: ", OVMF_VARS_TEMPLATE);
	return sl_write_file(path, out, out_len, 0644);
}
