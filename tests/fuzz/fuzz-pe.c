/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: PE decoding, the Authenticode digest, and the edits a UKI build
 * and a signature make, on whatever decodes.
 */
#include "slate/pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Edits may be refused; what matters is that they never break the image. */
static void may_fail(int r)
{
	(void)r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SlPeImage *img = NULL;
	uint8_t digest[64];
	size_t n;
	SlPe pe;

	if (sl_pe_decode(data, size, &pe) < 0)
		return 0;
	if (sl_pe_authenticode_digest(&pe, "sha256", digest, &n) < 0)
		__builtin_trap();
	for (size_t i = 0; i < pe.n_sections; i++)
		(void)sl_pe_section_data(&pe, &pe.sections[i], &n);
	for (size_t i = 0; i < pe.n_certs; i++)
		(void)sl_pe_cert_data(&pe, &pe.certs[i], &n);
	(void)sl_pe_section_find(&pe, ".sbat");
	(void)sl_pe_checksum(&pe);

	if (size > (1u << 20) || sl_pe_image_new(data, size, &img) < 0)
		return 0;
	may_fail(sl_pe_image_remove_signatures(img));
	may_fail(sl_pe_image_strip_symbols(img));
	may_fail(sl_pe_image_align_raw(img));
	may_fail(sl_pe_image_add_section(img, ".cmdline", "console=ttyS0", 13, SL_PE_SCN_MEM_READ));
	if (img->pe.n_sections > 0)
		may_fail(sl_pe_image_replace_section(img, img->pe.n_sections - 1, "x", 1));
	may_fail(sl_pe_image_pad8(img));
	may_fail(sl_pe_image_append_signature(img, "\x30\x00", 2));
	/* Whatever the edits did, the image must still decode. */
	if (sl_pe_decode(img->buf, img->len, &pe) < 0)
		__builtin_trap();
	sl_pe_image_free(img);
	return 0;
}
