/* SPDX-License-Identifier: MIT */
/* CRC-32 (IEEE 802.3, reflected 0xEDB88320, as zlib's crc32() and the UEFI spec use). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0. sl_crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t sl_crc32(uint32_t crc, const void *data, size_t len);
