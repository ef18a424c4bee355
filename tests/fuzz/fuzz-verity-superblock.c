/* SPDX-License-Identifier: MIT */
/*
 * Superblock decoding from arbitrary bytes. Whatever the decoder accepts must
 * encode back to the same 512 bytes (it accepts only canonical superblocks), lay
 * out without overflow, pass the size checks against devices of the sizes it
 * implies, and render a table line.
 */
#include <assert.h>

#include "slate/verity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t root[SL_VERITY_DIGEST_MAX];
	uint8_t enc[SL_VERITY_SUPERBLOCK_SIZE];
	SlVerityParams p;
	SlVerityLayout l;
	char *line = NULL;

	if (sl_verity_superblock_decode(data, size, &p) < 0)
		return 0;
	assert(size >= SL_VERITY_SUPERBLOCK_SIZE);
	assert(sl_verity_superblock_encode(&p, enc) == 0);
	assert(memcmp(enc, data, sizeof(enc)) == 0);
	assert(sl_verity_layout(&p, &l) == 0);
	assert(l.hash_area_end >= SL_VERITY_SUPERBLOCK_SIZE);
	assert(sl_verity_check_sizes(&p, l.data_area_size, l.hash_area_end, false) == 0);
	if (l.data_area_size > 0)
		assert(sl_verity_check_sizes(&p, l.data_area_size - 1, l.hash_area_end, false) < 0);
	assert(sl_verity_table_line(&p, "/dev/vda2", "/dev/vda3", root, l.digest_size, NULL,
				    &line) == 0);
	free(line);
	return 0;
}
