/* SPDX-License-Identifier: MIT */
/*
 * TPM 2.0 command and response buffers (include/slate/tpm.h). Section numbers
 * are those of the TCG TPM 2.0 Library specification, revision 1.59: Part 2
 * (structures) for the wire types, Part 3 (commands) for the command and
 * response layouts. Every integer on the wire is big-endian (Part 1 §18.2).
 */
#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/tpm.h"

static const struct {
	uint16_t alg;
	const char *name;
	size_t size;
} algs[] = {
	{ SL_TPM_ALG_SHA1, "sha1", 20 },	 { SL_TPM_ALG_SHA256, "sha256", 32 },
	{ SL_TPM_ALG_SHA384, "sha384", 48 },	 { SL_TPM_ALG_SHA512, "sha512", 64 },
	{ SL_TPM_ALG_SM3_256, "sm3_256", 32 },	 { SL_TPM_ALG_SHA3_256, "sha3_256", 32 },
	{ SL_TPM_ALG_SHA3_384, "sha3_384", 48 }, { SL_TPM_ALG_SHA3_512, "sha3_512", 64 },
};

const char *sl_tpm_alg_name(uint16_t alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return NULL;
}

size_t sl_tpm_alg_digest_size(uint16_t alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].size;
	return 0;
}

/* Part 2 §6.6.3 (format-zero codes, RC_VER1 + n and RC_WARN + n) and §6.6.3
 * format-one codes (RC_FMT1 + n, with a handle, session or parameter number). */
static const struct {
	uint16_t rc;
	const char *name;
} fmt0[] = {
	{ 0x100, "TPM_RC_INITIALIZE" },
	{ 0x101, "TPM_RC_FAILURE" },
	{ 0x103, "TPM_RC_SEQUENCE" },
	{ 0x120, "TPM_RC_DISABLED" },
	{ 0x124, "TPM_RC_AUTH_TYPE" },
	{ 0x125, "TPM_RC_AUTH_MISSING" },
	{ 0x126, "TPM_RC_POLICY" },
	{ 0x127, "TPM_RC_PCR" },
	{ 0x128, "TPM_RC_PCR_CHANGED" },
	{ 0x12D, "TPM_RC_UPGRADE" },
	{ 0x130, "TPM_RC_REBOOT" },
	{ 0x142, "TPM_RC_COMMAND_SIZE" },
	{ 0x143, "TPM_RC_COMMAND_CODE" },
	{ 0x144, "TPM_RC_AUTHSIZE" },
	{ 0x145, "TPM_RC_AUTH_CONTEXT" },
	{ 0x153, "TPM_RC_NEEDS_TEST" },
	{ 0x154, "TPM_RC_NO_RESULT" },
	{ 0x902, "TPM_RC_OBJECT_MEMORY" },
	{ 0x903, "TPM_RC_SESSION_MEMORY" },
	{ 0x904, "TPM_RC_MEMORY" },
	{ 0x905, "TPM_RC_SESSION_HANDLES" },
	{ 0x906, "TPM_RC_OBJECT_HANDLES" },
	{ 0x907, "TPM_RC_LOCALITY" },
	{ 0x908, "TPM_RC_YIELDED" },
	{ 0x909, "TPM_RC_CANCELED" },
	{ 0x90A, "TPM_RC_TESTING" },
	{ 0x921, "TPM_RC_LOCKOUT" },
	{ 0x922, "TPM_RC_RETRY" },
	{ 0x923, "TPM_RC_NV_UNAVAILABLE" },
}, fmt1[] = {
	{ 0x003, "TPM_RC_HASH" },	 { 0x004, "TPM_RC_VALUE" },
	{ 0x005, "TPM_RC_HIERARCHY" },	 { 0x00A, "TPM_RC_TYPE" },
	{ 0x00B, "TPM_RC_HANDLE" },	 { 0x00E, "TPM_RC_AUTH_FAIL" },
	{ 0x00F, "TPM_RC_NONCE" },	 { 0x015, "TPM_RC_SIZE" },
	{ 0x017, "TPM_RC_TAG" },	 { 0x018, "TPM_RC_SELECTOR" },
	{ 0x01A, "TPM_RC_INSUFFICIENT" }, { 0x021, "TPM_RC_RESERVED_BITS" },
	{ 0x022, "TPM_RC_BAD_AUTH" },
};

const char *sl_tpm_rc_describe(uint32_t rc, char *out, size_t len)
{
	const char *name = NULL;
	char where[32] = "";

	if (rc > 0xFFF) {
		/* A layer above the TPM (a resource manager) answered. */
		snprintf(out, len, "TPM error 0x%08x", rc);
		return out;
	}
	if (rc & 0x80) {
		unsigned n = (rc >> 8) & 0xF;

		for (size_t i = 0; i < ARRAY_SIZE(fmt1); i++)
			if (fmt1[i].rc == (rc & 0x3F))
				name = fmt1[i].name;
		if (rc & 0x40)
			snprintf(where, sizeof(where), " (parameter %u)", n);
		else if (n & 0x8)
			snprintf(where, sizeof(where), " (session %u)", n & 0x7);
		else if (n)
			snprintf(where, sizeof(where), " (handle %u)", n);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(fmt0); i++)
			if (fmt0[i].rc == rc)
				name = fmt0[i].name;
	}
	snprintf(out, len, "%s%s 0x%08x", name ? name : "TPM error", where, rc);
	return out;
}

bool sl_tpm_rc_is_transient(uint32_t rc)
{
	return rc == SL_TPM_RC_YIELDED || rc == SL_TPM_RC_TESTING || rc == SL_TPM_RC_RETRY;
}

bool sl_tpm_selection_has(const SlTpmPcrSelection *s, unsigned pcr)
{
	return pcr / 8 < s->size_of_select && (s->select[pcr / 8] >> (pcr % 8) & 1);
}

bool sl_tpm_selection_has_all(const SlTpmPcrSelection *s)
{
	for (unsigned pcr = 0; pcr < SL_TPM_PCRS; pcr++)
		if (!sl_tpm_selection_has(s, pcr))
			return false;
	return true;
}

/* ---- Commands ---- */

/* A command under construction in the caller's buffer. */
typedef struct Writer {
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
} Writer;

static uint8_t *put(Writer *w, size_t n)
{
	uint8_t *p;

	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

static void put_u8(Writer *w, uint8_t v)
{
	uint8_t *p = put(w, 1);

	if (p)
		*p = v;
}

static void put_u16(Writer *w, uint16_t v)
{
	uint8_t *p = put(w, 2);

	if (p)
		sl_put_be16(p, v);
}

static void put_u32(Writer *w, uint32_t v)
{
	uint8_t *p = put(w, 4);

	if (p)
		sl_put_be32(p, v);
}

static void put_bytes(Writer *w, const void *data, size_t n)
{
	uint8_t *p = put(w, n);

	if (p)
		memcpy(p, data, n);
}

/* Header with a placeholder size (Part 1 §18.2: tag, commandSize, commandCode). */
static Writer begin(uint8_t *buf, size_t cap, uint16_t tag, uint32_t code)
{
	Writer w = { .buf = buf, .cap = cap };

	put_u16(&w, tag);
	put_u32(&w, 0);
	put_u32(&w, code);
	return w;
}

static int finish(Writer *w, size_t *ret_len)
{
	if (w->overflow)
		return -ENOBUFS;
	sl_put_be32(w->buf + 2, (uint32_t)w->len);
	*ret_len = w->len;
	return 0;
}

int sl_tpm_get_pcrs_command(uint8_t *buf, size_t cap, size_t *ret_len)
{
	/* Part 3 §30.2: capability, property, propertyCount. For TPM_CAP_PCRS the
	 * property is 0 and the TPM returns the whole allocation. */
	Writer w = begin(buf, cap, SL_TPM_ST_NO_SESSIONS, SL_TPM_CC_GET_CAPABILITY);

	put_u32(&w, SL_TPM_CAP_PCRS);
	put_u32(&w, 0);
	put_u32(&w, 1);
	return finish(&w, ret_len);
}

/* A TPMS_PCR_SELECTION of one PCR (Part 2 §10.6.2): 3 bytes cover the 24 PCRs. */
static void put_selection(Writer *w, uint16_t alg, unsigned pcr)
{
	uint8_t select[3] = { 0 };

	select[pcr / 8] = (uint8_t)(1u << (pcr % 8));
	put_u16(w, alg);
	put_u8(w, sizeof(select));
	put_bytes(w, select, sizeof(select));
}

int sl_tpm_pcr_read_command(unsigned pcr, const uint16_t *pcr_algs, size_t n, uint8_t *buf,
			    size_t cap, size_t *ret_len)
{
	Writer w;

	if (pcr >= SL_TPM_PCRS || n == 0 || n > 8)
		return sl_errorf(-EINVAL, "TPM2_PCR_Read: PCR %u in %zu banks", pcr, n);
	for (size_t i = 0; i < n; i++) {
		if (!sl_tpm_alg_digest_size(pcr_algs[i]))
			return sl_errorf(-EINVAL, "TPM2_PCR_Read: unknown algorithm 0x%04x",
					 pcr_algs[i]);
		for (size_t j = 0; j < i; j++)
			if (pcr_algs[j] == pcr_algs[i])
				return sl_errorf(-EINVAL, "TPM2_PCR_Read: bank 0x%04x twice",
						 pcr_algs[i]);
	}
	/* Part 3 §22.4: pcrSelectionIn, a TPML_PCR_SELECTION. */
	w = begin(buf, cap, SL_TPM_ST_NO_SESSIONS, SL_TPM_CC_PCR_READ);
	put_u32(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		put_selection(&w, pcr_algs[i], pcr);
	return finish(&w, ret_len);
}

int sl_tpm_pcr_extend_command(unsigned pcr, const SlTpmDigest *digests, size_t n, uint8_t *buf,
			      size_t cap, size_t *ret_len)
{
	Writer w;

	if (pcr >= SL_TPM_PCRS || n == 0 || n > SL_TPM_BANKS_MAX)
		return sl_errorf(-EINVAL, "TPM2_PCR_Extend: PCR %u with %zu digests", pcr, n);
	for (size_t i = 0; i < n; i++) {
		size_t size = sl_tpm_alg_digest_size(digests[i].alg);

		if (!size || size != digests[i].size)
			return sl_errorf(-EINVAL,
					 "TPM2_PCR_Extend: a %u-byte digest for algorithm 0x%04x",
					 digests[i].size, digests[i].alg);
		for (size_t j = 0; j < i; j++)
			if (digests[j].alg == digests[i].alg)
				return sl_errorf(-EINVAL, "TPM2_PCR_Extend: bank 0x%04x twice",
						 digests[i].alg);
	}
	/* Part 3 §22.2: handle pcrHandle (TPM_RH_PCR0 + pcr = pcr), the authorization
	 * area (Part 1 §18.7: authorizationSize, then one TPMS_AUTH_COMMAND of the
	 * password session: handle TPM_RS_PW, empty nonce, attributes 0, empty
	 * password), then digests, a TPML_DIGEST_VALUES of TPMT_HA. */
	w = begin(buf, cap, SL_TPM_ST_SESSIONS, SL_TPM_CC_PCR_EXTEND);
	put_u32(&w, pcr);
	put_u32(&w, 4 + 2 + 1 + 2);
	put_u32(&w, SL_TPM_RS_PW);
	put_u16(&w, 0);
	put_u8(&w, 0);
	put_u16(&w, 0);
	put_u32(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		put_u16(&w, digests[i].alg);
		put_bytes(&w, digests[i].digest, digests[i].size);
	}
	return finish(&w, ret_len);
}

/* ---- Responses ---- */

/* The header of a response (Part 1 §18.2): its size must be exactly the bytes
 * received, its tag one of the two. */
static int read_header(SlReader *r, const char *what, uint16_t *ret_tag, uint32_t *ret_rc)
{
	uint16_t tag;
	uint32_t size, rc;

	tag = sl_reader_be16(r);
	size = sl_reader_be32(r);
	rc = sl_reader_be32(r);
	if (!sl_reader_ok(r))
		return sl_errorf(-EBADMSG, "%s: a %zu-byte response, shorter than its header", what,
				 r->len);
	if (size != r->len)
		return sl_errorf(-EBADMSG, "%s: the response says %u bytes but has %zu", what, size,
				 r->len);
	if (tag != SL_TPM_ST_NO_SESSIONS && tag != SL_TPM_ST_SESSIONS)
		return sl_errorf(-EBADMSG, "%s: response tag 0x%04x", what, tag);
	*ret_tag = tag;
	*ret_rc = rc;
	return 0;
}

int sl_tpm_response_code(const void *buf, size_t len, uint32_t *ret_rc)
{
	SlReader r = sl_reader(buf, len);
	uint16_t tag;

	return read_header(&r, "TPM response", &tag, ret_rc);
}

/*
 * A response code other than success ends the decoding with -EREMOTEIO;
 * success must come with the tag the command expects.
 */
static int response_begin(SlReader *r, const char *what, uint16_t want_tag, uint32_t *ret_rc)
{
	uint16_t tag;
	uint32_t rc;
	int k;

	k = read_header(r, what, &tag, &rc);
	if (k < 0)
		return k;
	*ret_rc = rc;
	if (rc != SL_TPM_RC_SUCCESS) {
		char desc[64];

		return sl_errorf(-EREMOTEIO, "%s: the TPM answered %s", what,
				 sl_tpm_rc_describe(rc, desc, sizeof(desc)));
	}
	if (tag != want_tag)
		return sl_errorf(-EBADMSG, "%s: response tag 0x%04x, not 0x%04x", what, tag,
				 want_tag);
	return 0;
}

static int response_end(const SlReader *r, const char *what)
{
	if (!sl_reader_ok(r))
		return sl_errorf(-EBADMSG, "%s: the response ends early", what);
	if (sl_reader_left(r))
		return sl_errorf(-EBADMSG, "%s: %zu bytes after the response", what,
				 sl_reader_left(r));
	return 0;
}

/* One TPMS_PCR_SELECTION (Part 2 §10.6.2). */
static int read_selection(SlReader *r, const char *what, SlTpmPcrSelection *s)
{
	*s = (SlTpmPcrSelection){ 0 };
	s->alg = sl_reader_be16(r);
	s->size_of_select = sl_reader_u8(r);
	if (!sl_reader_ok(r))
		return sl_errorf(-EBADMSG, "%s: the response ends inside a PCR selection", what);
	if (s->size_of_select > SL_TPM_SELECT_MAX)
		return sl_errorf(-EBADMSG, "%s: a %u-byte PCR bitmap (at most %u)", what,
				 s->size_of_select, SL_TPM_SELECT_MAX);
	if (!sl_reader_copy(r, s->select, s->size_of_select))
		return sl_errorf(-EBADMSG, "%s: the response ends inside a PCR bitmap", what);
	return 0;
}

/* A TPML_PCR_SELECTION: count, then the selections, no algorithm twice. */
static int read_selections(SlReader *r, const char *what, SlTpmBanks *ret)
{
	uint32_t count = sl_reader_be32(r);
	int k;

	if (!sl_reader_ok(r))
		return sl_errorf(-EBADMSG, "%s: the response ends before its PCR selections", what);
	if (count > SL_TPM_BANKS_MAX)
		return sl_errorf(-EBADMSG, "%s: %u PCR banks (at most %u)", what, count,
				 SL_TPM_BANKS_MAX);
	ret->n = 0;
	for (uint32_t i = 0; i < count; i++) {
		SlTpmPcrSelection *s = &ret->bank[ret->n];

		k = read_selection(r, what, s);
		if (k < 0)
			return k;
		for (size_t j = 0; j < ret->n; j++)
			if (ret->bank[j].alg == s->alg)
				return sl_errorf(-EBADMSG, "%s: PCR bank 0x%04x appears twice",
						 what, s->alg);
		ret->n++;
	}
	return 0;
}

int sl_tpm_get_pcrs_decode(const void *buf, size_t len, SlTpmBanks *ret, uint32_t *ret_rc)
{
	static const char what[] = "TPM2_GetCapability(TPM_CAP_PCRS)";
	SlReader r = sl_reader(buf, len);
	SlTpmBanks banks;
	uint8_t more;
	uint32_t cap;
	int k;

	k = response_begin(&r, what, SL_TPM_ST_NO_SESSIONS, ret_rc);
	if (k < 0)
		return k;
	/* Part 3 §30.2: moreData (TPMI_YES_NO), capabilityData (TPMS_CAPABILITY_DATA). */
	more = sl_reader_u8(&r);
	cap = sl_reader_be32(&r);
	if (!sl_reader_ok(&r))
		return sl_errorf(-EBADMSG, "%s: the response ends early", what);
	if (more > 1)
		return sl_errorf(-EBADMSG, "%s: moreData is %u", what, more);
	if (cap != SL_TPM_CAP_PCRS)
		return sl_errorf(-EBADMSG, "%s: the TPM answered for capability 0x%08x", what, cap);
	k = read_selections(&r, what, &banks);
	if (k < 0)
		return k;
	k = response_end(&r, what);
	if (k < 0)
		return k;
	*ret = banks;
	return 0;
}

int sl_tpm_pcr_read_decode(const void *buf, size_t len, unsigned pcr, SlTpmDigest *ret,
			   size_t ret_cap, size_t *ret_n, uint32_t *ret_rc)
{
	static const char what[] = "TPM2_PCR_Read";
	SlReader r = sl_reader(buf, len);
	SlTpmDigest values[8];
	SlTpmBanks sel;
	size_t n = 0;
	uint32_t count;
	int k;

	k = response_begin(&r, what, SL_TPM_ST_NO_SESSIONS, ret_rc);
	if (k < 0)
		return k;
	/* Part 3 §22.4: pcrUpdateCounter, pcrSelectionOut, pcrValues (TPML_DIGEST). */
	(void)sl_reader_be32(&r);
	k = read_selections(&r, what, &sel);
	if (k < 0)
		return k;
	for (size_t i = 0; i < sel.n; i++) {
		SlTpmPcrSelection *s = &sel.bank[i];

		for (unsigned bit = 0; bit < 8u * s->size_of_select; bit++)
			if (bit != pcr && sl_tpm_selection_has(s, bit))
				return sl_errorf(-EBADMSG,
						 "%s: the TPM answered for PCR %u, not only %u",
						 what, bit, pcr);
		if (!sl_tpm_selection_has(s, pcr))
			continue; /* a bank the TPM does not have */
		if (n == ARRAY_SIZE(values))
			return sl_errorf(-EBADMSG, "%s: more than 8 values", what);
		if (!sl_tpm_alg_digest_size(s->alg))
			return sl_errorf(-EBADMSG, "%s: a value for unknown algorithm 0x%04x", what,
					 s->alg);
		values[n++] = (SlTpmDigest){ .alg = s->alg };
	}
	count = sl_reader_be32(&r);
	if (!sl_reader_ok(&r))
		return sl_errorf(-EBADMSG, "%s: the response ends before its values", what);
	if (count != n)
		return sl_errorf(-EBADMSG, "%s: %u values for %zu selected banks", what, count, n);
	for (size_t i = 0; i < n; i++) {
		uint16_t size = sl_reader_be16(&r);

		if (!sl_reader_ok(&r))
			return sl_errorf(-EBADMSG, "%s: the response ends inside value %zu", what,
					 i);
		if (size != sl_tpm_alg_digest_size(values[i].alg))
			return sl_errorf(-EBADMSG, "%s: a %u-byte %s value", what, size,
					 sl_tpm_alg_name(values[i].alg));
		values[i].size = size;
		if (!sl_reader_copy(&r, values[i].digest, size))
			return sl_errorf(-EBADMSG, "%s: the response ends inside value %zu", what,
					 i);
	}
	k = response_end(&r, what);
	if (k < 0)
		return k;
	if (n > ret_cap)
		return sl_errorf(-EBADMSG, "%s: %zu values, more than the %zu asked for", what, n,
				 ret_cap);
	memcpy(ret, values, n * sizeof(values[0]));
	*ret_n = n;
	return 0;
}

int sl_tpm_pcr_extend_decode(const void *buf, size_t len, uint32_t *ret_rc)
{
	static const char what[] = "TPM2_PCR_Extend";
	SlReader r = sl_reader(buf, len);
	uint32_t param_size;
	uint16_t nonce, hmac;
	int k;

	k = response_begin(&r, what, SL_TPM_ST_SESSIONS, ret_rc);
	if (k < 0)
		return k;
	/* Part 1 §18.8: parameterSize (PCR_Extend returns no parameters), then one
	 * TPMS_AUTH_RESPONSE per session: nonceTPM, sessionAttributes, hmac. */
	param_size = sl_reader_be32(&r);
	if (!sl_reader_ok(&r))
		return sl_errorf(-EBADMSG, "%s: the response ends before parameterSize", what);
	if (param_size != 0)
		return sl_errorf(-EBADMSG, "%s: %u bytes of parameters, expected none", what,
				 param_size);
	nonce = sl_reader_be16(&r);
	if (nonce > SL_TPM_NONCE_MAX || !sl_reader_skip(&r, nonce))
		return sl_errorf(-EBADMSG, "%s: a %u-byte session nonce", what, nonce);
	(void)sl_reader_u8(&r);
	hmac = sl_reader_be16(&r);
	if (!sl_reader_ok(&r) || hmac > SL_TPM_NONCE_MAX || !sl_reader_skip(&r, hmac))
		return sl_errorf(-EBADMSG, "%s: a malformed session acknowledgement", what);
	return response_end(&r, what);
}
