/* SPDX-License-Identifier: MIT */
/* Device-mapper replies (DM_TABLE_STATUS answers) through sl_dm_reply_decode(). */
#include "slate/dm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SlDmReply r;

	if (sl_dm_reply_decode(data, size, true, &r) == 0) {
		for (size_t i = 0; i < r.n_targets; i++)
			if (strlen(r.targets[i].params) > size)
				__builtin_trap();
		sl_dm_reply_done(&r);
	}
	return 0;
}
