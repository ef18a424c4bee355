/* SPDX-License-Identifier: MIT */
/*
 * The layout format of `slate disk create --layout` (README "slate disk"): a
 * config file, so untrusted input. What parses is laid out on a small and a large
 * disk at its sector size; every table that comes out must validate and encode.
 */
#include "slate/gpt.h"

#define MAX_INPUT (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t disks[] = { 64ull << 20, 16ull << 30 };
	_cleanup_gpt_layout_ SlGptLayout *layout = NULL;
	_cleanup_free_ char *text = NULL;

	if (size > MAX_INPUT)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (sl_gpt_layout_parse(text, &layout) < 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(disks); i++) {
		_cleanup_gpt_ SlGpt *gpt = NULL;
		SlGptEncoded enc;

		if (sl_gpt_layout_build(layout, disks[i], 0, "fuzz", &gpt) < 0)
			continue;
		if (sl_gpt_validate(gpt) < 0)
			abort(); /* the layout code made a table the validator refuses */
		if (sl_gpt_encode(gpt, &enc) < 0)
			abort();
		sl_gpt_encoded_done(&enc);
	}
	return 0;
}
