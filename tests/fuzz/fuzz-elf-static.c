/* SPDX-License-Identifier: MIT */
/* ELF program headers through sl_initrd_check_static() (is this /init static?). */
#include "slate/initrd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)!sl_initrd_check_static(data, size);
	return 0;
}
