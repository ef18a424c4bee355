/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: Authenticode signatures. The input is a whole PE image (the
 * corpus holds signed ones); whatever decodes has its certificate table parsed
 * as PKCS#7 and SpcIndirectDataContent (sl_sign_pe_signatures), the path
 * `slate uki inspect` and `slate verify` take before any trust decision.
 */
#include "slate/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SlPeSignature sigs[SL_PE_MAX_CERTS];
	size_t n;
	SlPe pe;

	if (sl_pe_decode(data, size, &pe) < 0)
		return 0;
	if (sl_sign_pe_signatures(&pe, sigs, SL_PE_MAX_CERTS, &n) >= 0)
		for (size_t i = 0; i < n; i++)
			if (sigs[i].digest_len > sizeof(sigs[i].digest))
				__builtin_trap();
	return 0;
}
