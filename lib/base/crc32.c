/* SPDX-License-Identifier: MIT */
/* CRC-32 as specified for GPT headers and entry arrays (UEFI spec §5.3.2, which
 * refers to the ISO 3309 / ITU-T V.42 CRC): slicing-by-one table, computed once. */
#include <pthread.h>

#include "slate/crc32.h"

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
}

uint32_t sl_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	pthread_once(&table_once, table_init);
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
