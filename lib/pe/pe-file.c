/* SPDX-License-Identifier: MIT */
/*
 * A PE file read whole and decoded: what every tool that inspects, measures or
 * verifies an image does first. Kept apart from the decoder, which does no I/O.
 */
#include "slate/fileio.h"
#include "slate/pe.h"

int sl_pe_read_file(const char *path, uint8_t **ret_data, size_t *ret_size, SlPe *ret)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t size;
	int r;

	if (!path || !ret_data || !ret_size || !ret)
		return -EINVAL;
	r = sl_read_file(path, SL_PE_MAX_SIZE, &data, &size);
	if (r < 0)
		return r;
	r = sl_pe_decode(data, size, ret);
	if (r < 0)
		return r;
	*ret_data = TAKE_PTR(data);
	*ret_size = size;
	return 0;
}
