/* SPDX-License-Identifier: MIT */
/*
 * TPM 2.0 command and response buffers: the three commands slate-init needs to
 * extend PCR 11 with systemd's boot phases (TCG TPM 2.0 Library, Part 2
 * "Structures" and Part 3 "Commands", revision 1.59):
 *
 *   TPM2_GetCapability(TPM_CAP_PCRS)   which PCR banks are allocated
 *   TPM2_PCR_Read                      one PCR in several banks
 *   TPM2_PCR_Extend                    one PCR, one digest per bank
 *
 * Pure functions over byte buffers, no I/O and no OpenSSL (slate-init is
 * static): builders write a command into the caller's buffer, decoders read a
 * response from untrusted bytes (the TPM, or whatever answers on /dev/tpm0)
 * through a bounded reader. Everything on the wire is big-endian.
 *
 * Errors (negative errno; sl_error_message() says what was wrong):
 *   -EBADMSG    a malformed response: length, tag, a count or size over its cap
 *               or past the end, trailing bytes, a digest of the wrong size
 *   -EREMOTEIO  a well-formed response whose response code is not
 *               TPM_RC_SUCCESS; the code is in *ret_rc (sl_tpm_rc_describe())
 *   -EINVAL     bad arguments to a builder (PCR out of range, unknown algorithm,
 *               no digests)
 *   -ENOBUFS    the caller's buffer is too small for the command
 */
#pragma once

#include "slate/macros.h"

/* Part 2 §6.9 TPM_ST, §6.5 TPM_CC, §6.12 TPM_CAP, §7.4 TPM_RS_PW, §6.3 TPM_ALG_ID. */
#define SL_TPM_ST_NO_SESSIONS	 0x8001u
#define SL_TPM_ST_SESSIONS	 0x8002u
#define SL_TPM_CC_PCR_EXTEND	 0x00000182u
#define SL_TPM_CC_PCR_READ	 0x0000017Eu
#define SL_TPM_CC_GET_CAPABILITY 0x0000017Au
#define SL_TPM_CAP_PCRS		 0x00000005u
#define SL_TPM_RS_PW		 0x40000009u

#define SL_TPM_ALG_SHA1	    0x0004u
#define SL_TPM_ALG_SHA256   0x000Bu
#define SL_TPM_ALG_SHA384   0x000Cu
#define SL_TPM_ALG_SHA512   0x000Du
#define SL_TPM_ALG_SM3_256  0x0012u
#define SL_TPM_ALG_SHA3_256 0x0027u
#define SL_TPM_ALG_SHA3_384 0x0028u
#define SL_TPM_ALG_SHA3_512 0x0029u

#define SL_TPM_HEADER_SIZE 10u	 /* tag u16, size u32, code u32 */
#define SL_TPM_BUFFER_MAX  4096u /* TPM_PT_MAX_COMMAND_SIZE/RESPONSE_SIZE of PC TPMs */
#define SL_TPM_PCRS	   24u	 /* PCRs of a PC Client TPM */
#define SL_TPM_SELECT_MAX  32u	 /* bytes of one pcrSelect bitmap we accept */
#define SL_TPM_BANKS_MAX   16u	 /* TPML_PCR_SELECTION entries (HASH_COUNT) */
#define SL_TPM_DIGEST_MAX  64u	 /* the largest digest (SHA-512, SHA3-512) */
#define SL_TPM_NONCE_MAX   64u	 /* a session nonce or HMAC in a response */

/* Response codes the callers tell apart (Part 2 §6.6). */
#define SL_TPM_RC_SUCCESS    0x000u
#define SL_TPM_RC_INITIALIZE 0x100u
#define SL_TPM_RC_YIELDED    0x908u
#define SL_TPM_RC_TESTING    0x90Au
#define SL_TPM_RC_RETRY	     0x922u

/* "sha256" etc., or NULL for an algorithm Slate has no name for. */
const char *sl_tpm_alg_name(uint16_t alg);

/* Digest size in bytes of a hash algorithm, 0 when unknown. */
size_t sl_tpm_alg_digest_size(uint16_t alg);

/*
 * The response code in words, e.g. "TPM_RC_VALUE (parameter 1) 0x000001c4" or
 * "TPM_RC_RETRY 0x00000922". Writes into out (NUL-terminated) and returns it.
 */
const char *sl_tpm_rc_describe(uint32_t rc, char *out, size_t len);

/* The codes after which the same command may succeed when sent again. */
bool sl_tpm_rc_is_transient(uint32_t rc);

/*
 * Only the header of a response: its size must be len, its tag one of the two.
 * *ret_rc gets the response code. -EBADMSG when malformed. (The decoders below
 * check the whole response; this lets a caller tell a TPM that asks to be asked
 * again, sl_tpm_rc_is_transient(), before decoding.)
 */
int sl_tpm_response_code(const void *buf, size_t len, uint32_t *ret_rc) _wur_;

/* One TPMS_PCR_SELECTION: a bank and the PCRs selected in it. */
typedef struct SlTpmPcrSelection {
	uint16_t alg;
	uint8_t size_of_select;
	uint8_t select[SL_TPM_SELECT_MAX];
} SlTpmPcrSelection;

typedef struct SlTpmBanks {
	size_t n;
	SlTpmPcrSelection bank[SL_TPM_BANKS_MAX];
} SlTpmBanks;

/* Whether PCR pcr is selected in s. */
bool sl_tpm_selection_has(const SlTpmPcrSelection *s, unsigned pcr);

/* Whether all 24 PC Client PCRs are allocated in bank s (systemd's test of a usable
 * bank, tpm2_bank_has24()). */
bool sl_tpm_selection_has_all(const SlTpmPcrSelection *s);

/* One digest for one bank. */
typedef struct SlTpmDigest {
	uint16_t alg;
	uint16_t size;
	uint8_t digest[SL_TPM_DIGEST_MAX];
} SlTpmDigest;

/*
 * TPM2_GetCapability(capability TPM_CAP_PCRS, property 0, propertyCount 1),
 * without sessions: the current PCR allocation. Returns the command size.
 */
int sl_tpm_get_pcrs_command(uint8_t *buf, size_t cap, size_t *ret_len) _wur_;

/*
 * Its response: moreData, TPMS_CAPABILITY_DATA { TPM_CAP_PCRS, TPML_PCR_SELECTION }.
 * Every bank's algorithm is kept, known or not (the caller decides which it can
 * extend); duplicate algorithms are malformed. *ret_rc is always written when the
 * header could be read (0 on success).
 */
int sl_tpm_get_pcrs_decode(const void *buf, size_t len, SlTpmBanks *ret, uint32_t *ret_rc) _wur_;

/*
 * TPM2_PCR_Read of PCR pcr in the n banks algs (known algorithms only, no
 * duplicates, n <= 8: a TPM returns at most 8 digests per call).
 */
int sl_tpm_pcr_read_command(unsigned pcr, const uint16_t *algs, size_t n, uint8_t *buf, size_t cap,
			    size_t *ret_len) _wur_;

/*
 * Its response: pcrUpdateCounter, the selection the TPM answered for, and one
 * TPM2B_DIGEST per selected PCR, in selection order. The answered selection must
 * select only PCR pcr (a TPM may leave out banks it lacks), and each digest
 * must have its algorithm's size. ret gets one digest per answered bank,
 * *ret_n how many.
 */
int sl_tpm_pcr_read_decode(const void *buf, size_t len, unsigned pcr, SlTpmDigest *ret,
			   size_t ret_cap, size_t *ret_n, uint32_t *ret_rc) _wur_;

/*
 * TPM2_PCR_Extend of PCR pcr (handle = pcr) with one digest per bank, authorized
 * by the empty password session (TPM_RS_PW, no nonce, no HMAC): the PC Client
 * PCRs 0-15 need no other authorization. Each digest's size must be its
 * algorithm's.
 */
int sl_tpm_pcr_extend_command(unsigned pcr, const SlTpmDigest *digests, size_t n, uint8_t *buf,
			      size_t cap, size_t *ret_len) _wur_;

/*
 * Its response: TPM_ST_SESSIONS, parameterSize 0, and the password session's
 * acknowledgement (an empty nonce, attributes, an empty HMAC). An error response
 * (TPM_ST_NO_SESSIONS, 10 bytes) gives -EREMOTEIO.
 */
int sl_tpm_pcr_extend_decode(const void *buf, size_t len, uint32_t *ret_rc) _wur_;
