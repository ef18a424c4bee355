/* SPDX-License-Identifier: MIT */
/*
 * OVMF variable store decoding (sl_varstore_decode), the signature lists inside
 * it, and enrollment over a decoded store: whatever the input, no crash, and
 * a store Slate writes decodes again with the keys in it.
 */
#include <stdlib.h>

#include "slate/efivars.h"

static const uint8_t cert[] = { 0x30, 0x03, 0x01, 0x02, 0x03 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SlSecureBootCert c = { cert, sizeof(cert) };
	SlSecureBootKeys keys = {
		.pk = c,
		.kek = &c,
		.n_kek = 1,
		.db = &c,
		.n_db = 1,
		.owner = sl_efi_slate_owner_guid,
		.timestamp = 1795910400,
	};
	SlVarStore s, again;
	uint8_t *out = NULL;
	size_t len;
	char name[128];

	if (sl_varstore_decode(data, size, &s) < 0)
		return 0;
	for (size_t i = 0; i < s.n_vars; i++) {
		SlEslEntry *e = NULL;
		size_t n;

		sl_efi_variable_name(&s.vars[i], name, sizeof(name));
		if (sl_efi_variable_live(&s.vars[i]) &&
		    sl_esl_decode(s.vars[i].data, s.vars[i].data_size, &e, &n) >= 0)
			free(e);
	}
	sl_varstore_done(&s);
	if (sl_varstore_enroll(data, size, &keys, &out, &len) < 0)
		return 0;
	if (sl_varstore_decode(out, len, &again) < 0)
		abort(); /* Slate wrote a store it cannot read back */
	sl_varstore_done(&again);
	free(out);
	return 0;
}
