/* SPDX-License-Identifier: MIT */
/*
 * PCR 11 boot phases. slate-init stands where a systemd initrd would, so it does
 * what systemd-pcrphase-initrd.service does there (systemd 257, src/pcrextend):
 * extend PCR 11 with "enter-initrd" when the initrd starts and "leave-initrd"
 * before the switch to the real root (SPEC.md §2.2-2.3), so that PCR 11 matches
 * the values systemd-measure and `slate pcr predict` compute for each phase.
 *
 * As systemd does:
 *   - only when systemd-stub measured the UKI: the EFI variable
 *     StubPcrKernelImage (loader vendor GUID) says "11";
 *   - into the banks TPM2_GetCapability(TPM_CAP_PCRS) lists with all 24 PCRs,
 *     of those the ones whose PCR 11 is already extended (not all zeroes or all
 *     ones) when there are any (tpm2_get_good_pcr_banks());
 *   - one TPM2_PCR_Extend per word with the word's digest (no NUL) in each bank;
 *   - the event appended to /run/log/systemd/tpm2-measure.log, opened and marked
 *     before the extend and completed after it, so systemd-pcrlock can replay it.
 *
 * slate-init has no hash code: the words are fixed, so their digests are
 * constants (tests/unit/test-init.c recomputes them with OpenSSL).
 *
 * A TPM that cannot be used never stops the boot. It leaves PCR 11 short of the
 * phase, which only makes PCR policies fail closed (secrets sealed to a phase
 * stay sealed), a critical console line, and the reason in
 * /run/slate/pcr11-incomplete for the running system to report.
 */
#include <stdarg.h>
#include <sys/mount.h>

#include "init.h"
#include "slate/error.h"
#include "slate/hex.h"
#include "slate/json.h"

/* sha1, sha256, sha384, sha512 of "enter-initrd" and of "leave-initrd". */
static const uint8_t enter_sha1[20] = {
	0xb1, 0xb0, 0x1d, 0x5f, 0x73, 0xf3, 0x21, 0xeb, 0x70, 0xe7,
	0x6f, 0x8a, 0x0e, 0x24, 0x1a, 0xc0, 0xa3, 0xfa, 0x4a, 0x6e,
};
static const uint8_t enter_sha256[32] = {
	0x51, 0xe6, 0xb9, 0x2f, 0x40, 0x5d, 0x1f, 0x98, 0xd9, 0x6e, 0x3d,
	0xe3, 0x43, 0xd6, 0x1d, 0x42, 0x0a, 0xd6, 0x92, 0x3b, 0x25, 0xde,
	0x21, 0xd7, 0x66, 0xf9, 0x29, 0x81, 0x92, 0xf1, 0x4f, 0xed,
};
static const uint8_t enter_sha384[48] = {
	0x68, 0x7e, 0xef, 0x3a, 0x3a, 0x8c, 0x71, 0x64, 0x39, 0xb5, 0xed, 0x58,
	0x36, 0x57, 0xe8, 0x66, 0x84, 0x01, 0x63, 0x0c, 0x32, 0x1f, 0x2f, 0x35,
	0xd1, 0x9b, 0x95, 0x3d, 0xdf, 0x20, 0xb6, 0x8a, 0x96, 0x47, 0x4d, 0x0c,
	0x2e, 0x5f, 0x0e, 0x17, 0x57, 0xbf, 0xa5, 0xba, 0x70, 0xb9, 0xfc, 0x32,
};
static const uint8_t enter_sha512[64] = {
	0xab, 0x0d, 0xdf, 0xda, 0xbe, 0x43, 0xf1, 0xd0, 0x6b, 0x3e, 0x58, 0xfb, 0xe1,
	0x74, 0x39, 0xa0, 0xf7, 0xf5, 0x52, 0xe9, 0xe2, 0x28, 0xd8, 0x56, 0x65, 0xd4,
	0x85, 0xec, 0xec, 0xf7, 0xe7, 0x33, 0xba, 0xe4, 0xcd, 0x7e, 0x0a, 0x17, 0xe5,
	0x45, 0x6e, 0x2e, 0xe7, 0xe4, 0x12, 0xf5, 0xa0, 0xf3, 0x7d, 0xe0, 0x5a, 0x78,
	0x2c, 0xce, 0x78, 0x1e, 0x17, 0x3e, 0xe2, 0x69, 0x58, 0xde, 0x7f, 0x30,
};
static const uint8_t leave_sha1[20] = {
	0x86, 0x5e, 0x1f, 0xf2, 0xcc, 0x5b, 0x8d, 0xb8, 0x15, 0x31,
	0x3b, 0x23, 0xfe, 0x3d, 0x8b, 0x56, 0x12, 0x12, 0xf5, 0xd1,
};
static const uint8_t leave_sha256[32] = {
	0x3b, 0xe2, 0x61, 0xaf, 0xf7, 0xdb, 0x92, 0xbf, 0x50, 0x7e, 0xae,
	0x94, 0x7f, 0x40, 0x03, 0xff, 0xa2, 0xbc, 0xad, 0x0b, 0xff, 0xe3,
	0x52, 0x46, 0x01, 0xd6, 0x2d, 0x0b, 0xc8, 0xbe, 0x71, 0x35,
};
static const uint8_t leave_sha384[48] = {
	0x9c, 0x07, 0x43, 0xb7, 0xa2, 0xe1, 0xee, 0x06, 0xc7, 0x0b, 0x71, 0x37,
	0xb7, 0x63, 0xcd, 0x22, 0x05, 0xc2, 0x6c, 0xed, 0x27, 0x41, 0x49, 0x95,
	0x9b, 0x05, 0xbd, 0x5a, 0x51, 0xbf, 0xa9, 0x6b, 0x4f, 0xed, 0xaa, 0x4f,
	0x87, 0x39, 0x8b, 0x5c, 0x88, 0x98, 0x6d, 0x1f, 0xf0, 0x87, 0x99, 0x10,
};
static const uint8_t leave_sha512[64] = {
	0x01, 0xb8, 0xca, 0x86, 0xb9, 0xf8, 0xfa, 0xc9, 0x67, 0xf3, 0x83, 0x38, 0x0a,
	0xff, 0x7c, 0xdf, 0xfd, 0x2e, 0xf0, 0xc4, 0x96, 0x57, 0x45, 0x17, 0xc2, 0x53,
	0x98, 0xf7, 0xc7, 0x4a, 0xa6, 0x11, 0x82, 0x1d, 0xd4, 0x69, 0xba, 0x02, 0x1b,
	0x2a, 0xa9, 0xb9, 0xa7, 0x23, 0x28, 0x65, 0x70, 0x8c, 0xa4, 0x5c, 0x79, 0x36,
	0x8f, 0x2e, 0x7f, 0xff, 0xda, 0x3d, 0xd6, 0xb3, 0x08, 0x26, 0x40, 0x08,
};

static const struct {
	const char *word;
	uint16_t alg;
	const uint8_t *digest;
} phase_digests[] = {
	{ INIT_PHASE_ENTER, SL_TPM_ALG_SHA1, enter_sha1 },
	{ INIT_PHASE_ENTER, SL_TPM_ALG_SHA256, enter_sha256 },
	{ INIT_PHASE_ENTER, SL_TPM_ALG_SHA384, enter_sha384 },
	{ INIT_PHASE_ENTER, SL_TPM_ALG_SHA512, enter_sha512 },
	{ INIT_PHASE_LEAVE, SL_TPM_ALG_SHA1, leave_sha1 },
	{ INIT_PHASE_LEAVE, SL_TPM_ALG_SHA256, leave_sha256 },
	{ INIT_PHASE_LEAVE, SL_TPM_ALG_SHA384, leave_sha384 },
	{ INIT_PHASE_LEAVE, SL_TPM_ALG_SHA512, leave_sha512 },
};

const uint8_t *init_phase_digest(const char *word, uint16_t alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(phase_digests); i++)
		if (streq(phase_digests[i].word, word) && phase_digests[i].alg == alg)
			return phase_digests[i].digest;
	return NULL;
}

int init_efivar_uint(const void *buf, size_t len, unsigned *ret)
{
	const uint8_t *p = buf;
	unsigned v = 0, digits = 0;
	size_t i;

	/* efivarfs: u32 attributes, then the data; systemd writes numbers as
	 * UTF-16LE text (efivar_set_uint_string()). */
	if (len < 4 || len > 4 + 2 * 16 || (len - 4) % 2)
		return -EBADMSG;
	for (i = 4; i < len; i += 2) {
		uint16_t c = (uint16_t)(p[i] | p[i + 1] << 8);

		if (c == 0)
			break;
		if (c < '0' || c > '9' || digits == 9)
			return -EBADMSG;
		v = v * 10 + (c - '0');
		digits++;
	}
	/* Nothing but NULs after the terminator. */
	for (; i < len; i++)
		if (p[i])
			return -EBADMSG;
	if (!digits)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int init_measure_record(unsigned pcr, const SlTpmDigest *digests, size_t n, const char *word,
			const char *boot_id, uint64_t usec, char **ret, size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;
	SlJson j;
	FILE *f;

	if (strlen(boot_id) != 32 || strspn(boot_id, "0123456789abcdef") != 32)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!sl_tpm_alg_name(digests[i].alg))
			return -EINVAL;
	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	/* RFC 7464: each record starts with RS (0x1E) and ends with a newline. */
	fputc(0x1e, f);
	sl_json_init(&j, f, false);
	sl_json_begin_object(&j);
	sl_json_kv_uint(&j, "pcr", pcr);
	sl_json_key(&j, "digests");
	sl_json_begin_array(&j);
	for (size_t i = 0; i < n; i++) {
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "hashAlg", sl_tpm_alg_name(digests[i].alg));
		sl_json_kv_hex(&j, "digest", digests[i].digest, digests[i].size);
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);
	sl_json_kv_string(&j, "content_type", "systemd");
	sl_json_key(&j, "content");
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "string", word);
	sl_json_kv_string(&j, "bootId", boot_id);
	sl_json_kv_uint(&j, "timestamp", usec);
	sl_json_kv_string(&j, "eventType", "phase");
	sl_json_end_object(&j);
	sl_json_end_object(&j);
	sl_json_finish(&j);
	if (ferror(f)) {
		fclose(f);
		free(text);
		return -ENOMEM;
	}
	fclose(f);
	*ret = text;
	*ret_len = len;
	return 0;
}

/* A phase is missing from PCR 11: say so on the console, and where the running
 * system looks (/run survives the switch to the real root). */
static void incomplete(const InitOps *ops, InitMeasure *m, const char *fmt, ...) _printf_(3, 4);
static void incomplete(const InitOps *ops, InitMeasure *m, const char *fmt, ...)
{
	char line[400];
	size_t n = strlen(m->why);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	init_log(ops, 2,
		 "WARNING: TPM measurements are incomplete: %s; PCR 11 will not match the values "
		 "predicted for this boot (systemd-measure, slate pcr predict), so secrets "
		 "sealed to them stay sealed; the boot goes on",
		 line);
	m->incomplete = true;
	snprintf(m->why + n, sizeof(m->why) - n, "%s%s", n ? "\n" : "", line);
	(void)ops->mkdir(ops->userdata, "/run/slate", 0755);
	n = strlen(m->why);
	m->why[n] = '\n';
	if (ops->write_file(ops->userdata, INIT_MEASURE_INCOMPLETE, m->why, n + 1, 0644) < 0)
		init_warn(ops, "cannot write %s", INIT_MEASURE_INCOMPLETE);
	m->why[n] = 0;
}

/*
 * Send cmd and read the response into rsp, sending again while the TPM answers
 * with a code that asks for it (RETRY, YIELDED, TESTING: Part 2 §6.6.3).
 */
static int transact(const InitOps *ops, const uint8_t *cmd, size_t len, uint8_t *rsp,
		    size_t *ret_len)
{
	for (unsigned try = 1;; try++) {
		uint32_t rc;
		int r;

		r = ops->tpm_transmit(ops->userdata, cmd, len, rsp, SL_TPM_BUFFER_MAX, ret_len);
		if (r < 0)
			return r;
		if (sl_tpm_response_code(rsp, *ret_len, &rc) < 0 || !sl_tpm_rc_is_transient(rc) ||
		    try == INIT_TPM_TRIES)
			return 0;
		ops->sleep_ms(ops->userdata, 50u * try);
	}
}

/* PCR 11 in the banks algs: TPM2_PCR_Read. */
static int read_pcr(const InitOps *ops, const uint16_t *algs, size_t n, SlTpmDigest *ret,
		    size_t *ret_n, char *err, size_t err_len)
{
	uint8_t cmd[SL_TPM_BUFFER_MAX], rsp[SL_TPM_BUFFER_MAX];
	size_t len, rlen;
	uint32_t rc;
	int r;

	r = sl_tpm_pcr_read_command(INIT_PCR_KERNEL_BOOT, algs, n, cmd, sizeof(cmd), &len);
	if (r >= 0)
		r = transact(ops, cmd, len, rsp, &rlen);
	if (r >= 0)
		r = sl_tpm_pcr_read_decode(rsp, rlen, INIT_PCR_KERNEL_BOOT, ret, n, ret_n, &rc);
	if (r < 0)
		snprintf(err, err_len, "%s", sl_error_message(r));
	return r;
}

/* systemd's test of a PCR that something was measured into. */
static bool pcr_extended(const SlTpmDigest *d)
{
	bool zero = true, ones = true;

	for (size_t i = 0; i < d->size; i++) {
		zero &= d->digest[i] == 0x00;
		ones &= d->digest[i] == 0xff;
	}
	return !zero && !ones;
}

/* The banks to extend: allocated with all 24 PCRs, and known to slate-init. */
static int find_banks(const InitOps *ops, InitMeasure *m, char *err, size_t err_len)
{
	uint8_t cmd[SL_TPM_BUFFER_MAX], rsp[SL_TPM_BUFFER_MAX];
	SlTpmDigest values[4];
	SlTpmBanks banks;
	size_t len, rlen, n_values, n_good = 0;
	uint16_t good[4];
	uint32_t rc;
	int r;

	r = sl_tpm_get_pcrs_command(cmd, sizeof(cmd), &len);
	if (r >= 0)
		r = transact(ops, cmd, len, rsp, &rlen);
	if (r >= 0)
		r = sl_tpm_get_pcrs_decode(rsp, rlen, &banks, &rc);
	if (r < 0) {
		snprintf(err, err_len, "%s", sl_error_message(r));
		return r;
	}
	m->n_algs = 0;
	for (size_t i = 0; i < banks.n; i++) {
		const SlTpmPcrSelection *s = &banks.bank[i];
		const char *name = sl_tpm_alg_name(s->alg);

		if (!sl_tpm_selection_has_all(s))
			continue;
		if (!init_phase_digest(INIT_PHASE_ENTER, s->alg) || m->n_algs == 4) {
			init_warn(ops,
				  "TPM bank %s (0x%04x): slate-init has no digests for it; "
				  "PCR 11 is not extended there",
				  name ? name : "?", s->alg);
			continue;
		}
		m->algs[m->n_algs++] = s->alg;
	}
	if (!m->n_algs) {
		snprintf(err, err_len, "the TPM has no sha1, sha256, sha384 or sha512 bank");
		return -EOPNOTSUPP;
	}
	/* Prefer the banks the firmware measured into (systemd's "good" banks). */
	r = read_pcr(ops, m->algs, m->n_algs, values, &n_values, err, err_len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_values; i++)
		if (pcr_extended(&values[i]))
			good[n_good++] = values[i].alg;
	if (n_good) {
		memcpy(m->algs, good, n_good * sizeof(good[0]));
		m->n_algs = n_good;
	}
	return 0;
}

static void bank_list(const InitMeasure *m, char *out, size_t len)
{
	out[0] = 0;
	for (size_t i = 0; i < m->n_algs; i++) {
		size_t n = strlen(out);

		snprintf(out + n, len - n, "%s%s", i ? ", " : "", sl_tpm_alg_name(m->algs[i]));
	}
}

/* Did systemd-stub measure this boot into PCR 11? Sets m->state unless it did. */
static bool stub_measured(const InitOps *ops, InitMeasure *m)
{
	_cleanup_free_ char *var = NULL;
	unsigned pcr;
	size_t len;
	int r;

	if (ops->probe(ops->userdata, "/sys/firmware/efi") < 0) {
		init_info(ops, "not booted through UEFI: no PCR 11 boot phases to measure");
		m->state = INIT_MEASURE_OFF;
		return false;
	}
	r = ops->mount(ops->userdata, "efivarfs", INIT_EFIVARS, "efivarfs",
		       MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	if (r < 0 && r != -EBUSY) {
		m->state = INIT_MEASURE_BROKEN;
		incomplete(ops, m,
			   "cannot read EFI variables (mounting efivarfs: %s; the initramfs needs "
			   "the efivarfs module: slate initrd build --module efivarfs), so PCR 11 "
			   "boot phases are not measured",
			   strerror(-r));
		return false;
	}
	r = ops->read_file(ops->userdata, INIT_EFIVARS "/" INIT_STUB_PCR_VAR, 64, &var, &len);
	if (r == -ENOENT) {
		init_info(ops, "systemd-stub did not measure this boot (no StubPcrKernelImage): no "
			       "PCR 11 boot phases to measure");
		m->state = INIT_MEASURE_OFF;
		return false;
	}
	if (r >= 0)
		r = init_efivar_uint(var, len, &pcr);
	if (r < 0) {
		m->state = INIT_MEASURE_BROKEN;
		incomplete(ops, m, "the EFI variable StubPcrKernelImage cannot be read: %s",
			   sl_error_message(r));
		return false;
	}
	if (pcr != INIT_PCR_KERNEL_BOOT) {
		m->state = INIT_MEASURE_BROKEN;
		incomplete(ops, m, "systemd-stub measured the UKI into PCR %u, not PCR %u", pcr,
			   INIT_PCR_KERNEL_BOOT);
		return false;
	}
	return true;
}

/* Open the TPM, waiting up to wait_ms for its device node, and find its banks. */
static int open_tpm(const InitOps *ops, InitMeasure *m, unsigned wait_ms, char *err, size_t err_len)
{
	uint64_t start = ops->now_ms(ops->userdata);
	char banks[64];
	int r;

	for (;;) {
		r = ops->tpm_open(ops->userdata, m->tpm, sizeof(m->tpm));
		if (r >= 0 || ops->now_ms(ops->userdata) - start >= wait_ms)
			break;
		ops->sleep_ms(ops->userdata, 50);
	}
	if (r < 0) {
		snprintf(err, err_len, "no TPM device (/dev/tpmrm0, /dev/tpm0) after %u s: %s",
			 wait_ms / 1000, strerror(-r));
		return r;
	}
	m->tpm_seen = true;
	r = find_banks(ops, m, err, err_len);
	if (r < 0) {
		m->n_algs = 0;
		ops->tpm_close(ops->userdata);
		return r;
	}
	bank_list(m, banks, sizeof(banks));
	init_info(ops, "TPM %s (after %llu ms): PCR %u banks %s", m->tpm,
		  (unsigned long long)(ops->now_ms(ops->userdata) - start), INIT_PCR_KERNEL_BOOT,
		  banks);
	m->state = INIT_MEASURE_ON;
	return 0;
}

/* The boot id as systemd writes it: 32 hex digits, no dashes. */
static int boot_id(const InitOps *ops, char out[static 33])
{
	_cleanup_free_ char *text = NULL;
	size_t len, n = 0;
	int r;

	r = ops->read_file(ops->userdata, "/proc/sys/kernel/random/boot_id", 64, &text, &len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < len && text[i] != '\n'; i++) {
		if (text[i] == '-')
			continue;
		if (n == 32 || !strchr("0123456789abcdef", text[i]) || !text[i])
			return -EBADMSG;
		out[n++] = text[i];
	}
	out[n] = 0;
	return n == 32 ? 0 : -EBADMSG;
}

/* The log record after a successful extend; systemd skips it (leaving the log
 * marked) when it cannot make one. */
static void log_record(const InitOps *ops, const SlTpmDigest *d, size_t n, const char *word)
{
	_cleanup_free_ char *rec = NULL;
	char id[33];
	size_t len;
	int r;

	r = boot_id(ops, id);
	if (r >= 0)
		r = init_measure_record(INIT_PCR_KERNEL_BOOT, d, n, word, id,
					ops->now_us(ops->userdata), &rec, &len);
	if (r >= 0)
		r = ops->mlog_end(ops->userdata, rec, len);
	if (r < 0) {
		(void)ops->mlog_end(ops->userdata, NULL, 0);
		init_warn(ops, "%s: the record of '%s' is missing: %s", INIT_MEASURE_LOG, word,
			  strerror(-r));
	}
}

static int extend(const InitOps *ops, InitMeasure *m, const char *word, char *err, size_t err_len)
{
	uint8_t cmd[SL_TPM_BUFFER_MAX], rsp[SL_TPM_BUFFER_MAX];
	SlTpmDigest d[4];
	size_t len, rlen;
	uint32_t rc;
	bool logging;
	int r;

	for (size_t i = 0; i < m->n_algs; i++) {
		d[i] = (SlTpmDigest){ .alg = m->algs[i],
				      .size = (uint16_t)sl_tpm_alg_digest_size(m->algs[i]) };
		memcpy(d[i].digest, init_phase_digest(word, m->algs[i]), d[i].size);
	}
	r = sl_tpm_pcr_extend_command(INIT_PCR_KERNEL_BOOT, d, m->n_algs, cmd, sizeof(cmd), &len);
	if (r < 0) {
		snprintf(err, err_len, "%s", sl_error_message(r));
		return r;
	}
	/* Open and mark the log before the extend, so that nothing comes between the
	 * two unseen (systemd's order). */
	r = ops->mlog_begin(ops->userdata, INIT_MEASURE_LOG);
	logging = r >= 0;
	if (!logging)
		init_warn(ops, "%s: %s; '%s' is measured without a log record", INIT_MEASURE_LOG,
			  r == -ESTALE ? "an earlier write did not finish" : strerror(-r), word);
	r = transact(ops, cmd, len, rsp, &rlen);
	if (r >= 0)
		r = sl_tpm_pcr_extend_decode(rsp, rlen, &rc);
	if (r < 0) {
		if (logging)
			(void)ops->mlog_end(ops->userdata, NULL, 0);
		snprintf(err, err_len, "%s", sl_error_message(r));
		return r;
	}
	if (logging)
		log_record(ops, d, m->n_algs, word);
	return 0;
}

/* What PCR 11 holds now, for the console (the VM test compares it). */
static void show_pcr(const InitOps *ops, InitMeasure *m, const char *word)
{
	SlTpmDigest v[4];
	char line[600], err[200];
	size_t n, used;

	if (read_pcr(ops, m->algs, m->n_algs, v, &n, err, sizeof(err)) < 0) {
		init_warn(ops, "reading PCR %u back: %s", INIT_PCR_KERNEL_BOOT, err);
		return;
	}
	used = (size_t)snprintf(line, sizeof(line), "PCR %u after %s:", INIT_PCR_KERNEL_BOOT, word);
	for (size_t i = 0; i < n && used < sizeof(line); i++) {
		char hex[2 * SL_TPM_DIGEST_MAX + 1];

		sl_hex_encode(v[i].digest, v[i].size, hex);
		used += (size_t)snprintf(line + used, sizeof(line) - used, " %s=%s",
					 sl_tpm_alg_name(v[i].alg), hex);
	}
	init_info(ops, "%s", line);
}

void init_measure_phase(const InitOps *ops, InitMeasure *m, const char *word)
{
	char err[300] = "", banks[64];
	int r;

	if (m->state == INIT_MEASURE_UNKNOWN) {
		if (!stub_measured(ops, m))
			return;
		if (open_tpm(ops, m, INIT_TPM_WAIT_MS, err, sizeof(err)) < 0) {
			m->state = INIT_MEASURE_BROKEN;
			incomplete(ops, m,
				   "systemd-stub measured this boot, but the TPM cannot be "
				   "used: %s; '%s' is not measured",
				   err, word);
			return;
		}
	} else if (m->state == INIT_MEASURE_BROKEN && m->tpm_seen) {
		/* The TPM was there but did not answer: ask once more, without waiting
		 * for a device. */
		if (open_tpm(ops, m, 0, err, sizeof(err)) < 0) {
			incomplete(ops, m, "the TPM still cannot be used: %s; '%s' is not measured",
				   err, word);
			return;
		}
		init_info(ops, "the TPM answers now");
	}
	if (m->state != INIT_MEASURE_ON) {
		if (m->state == INIT_MEASURE_BROKEN)
			incomplete(ops, m, "'%s' is not measured either", word);
		return;
	}
	r = extend(ops, m, word, err, sizeof(err));
	if (r < 0) {
		incomplete(ops, m, "extending PCR %u with '%s' failed: %s", INIT_PCR_KERNEL_BOOT,
			   word, err);
		return;
	}
	bank_list(m, banks, sizeof(banks));
	init_info(ops, "measured boot phase '%s' into PCR %u (%s)", word, INIT_PCR_KERNEL_BOOT,
		  banks);
	show_pcr(ops, m, word);
}

void init_measure_done(const InitOps *ops, InitMeasure *m)
{
	/* /dev/tpm0 (no resource manager) admits one user: systemd's turn. */
	ops->tpm_close(ops->userdata);
}
