/* SPDX-License-Identifier: MIT */
/*
 * TPM 2.0 responses (whatever answers on /dev/tpm0) through the three decoders
 * slate-init uses: TPM2_GetCapability(TPM_CAP_PCRS), TPM2_PCR_Read,
 * TPM2_PCR_Extend. The first input byte picks the PCR for PCR_Read.
 */
#include "slate/tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SlTpmDigest v[8];
	SlTpmBanks b;
	uint32_t rc;
	size_t n;
	unsigned pcr;

	if (size < 1)
		return 0;
	pcr = data[0] % SL_TPM_PCRS;
	data++;
	size--;
	if (sl_tpm_get_pcrs_decode(data, size, &b, &rc) == 0) {
		if (b.n > SL_TPM_BANKS_MAX)
			__builtin_trap();
		for (size_t i = 0; i < b.n; i++)
			if (b.bank[i].size_of_select > SL_TPM_SELECT_MAX)
				__builtin_trap();
	}
	if (sl_tpm_pcr_read_decode(data, size, pcr, v, 8, &n, &rc) == 0) {
		if (n > 8)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (v[i].size != sl_tpm_alg_digest_size(v[i].alg))
				__builtin_trap();
	}
	if (sl_tpm_pcr_extend_decode(data, size, &rc) == -EREMOTEIO && rc == 0)
		__builtin_trap();
	return 0;
}
