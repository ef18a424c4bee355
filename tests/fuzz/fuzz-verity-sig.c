/* SPDX-License-Identifier: MIT */
/* The usr-verity-sig partition JSON, as slate-init reads it (init_verity_sig_decode). */
#include "init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The root hash the corpus files name (tests/unit/test-init.c ROOT_HASH). */
	static const uint8_t want[32] = { 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
					  0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
					  0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78,
					  0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0 };
	uint8_t *sig = NULL;
	size_t len;

	if (init_verity_sig_decode((const char *)data, size, want, sizeof(want), &sig, &len) == 0) {
		if (len > size)
			__builtin_trap();
		free(sig);
	}
	return 0;
}
