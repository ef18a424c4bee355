/* SPDX-License-Identifier: MIT */
/*
 * EFI signature lists (UEFI 2.10 §32.4.1, SPEC.md §3.4):
 *
 *   EFI_SIGNATURE_LIST { GUID SignatureType; u32 SignatureListSize;
 *                        u32 SignatureHeaderSize; u32 SignatureSize; }   28 bytes
 *   u8 SignatureHeader[SignatureHeaderSize]
 *   EFI_SIGNATURE_DATA[n] { GUID SignatureOwner; u8 SignatureData[SignatureSize - 16]; }
 */
#include "slate/bytes.h"
#include "slate/efivars.h"
#include "slate/error.h"

#define ESL_HEADER_SIZE	  28
#define ESL_MAX_ENTRIES	  4096
#define ESL_MAX_X509_SIZE (64u << 10)

const SlUuid sl_efi_global_variable_guid = { { 0x8b, 0xe4, 0xdf, 0x61, 0x93, 0xca, 0x11, 0xd2, 0xaa,
					       0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c } };
const SlUuid sl_efi_image_security_database_guid = { { 0xd7, 0x19, 0xb2, 0xcb, 0x3d, 0x3a, 0x45,
						       0x96, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67,
						       0x65, 0x6f } };
const SlUuid sl_efi_cert_x509_guid = { { 0xa5, 0xc0, 0x59, 0xa1, 0x94, 0xe4, 0x4a, 0xa7, 0x87, 0xb5,
					 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 } };
const SlUuid sl_efi_cert_sha256_guid = { { 0xc1, 0xc4, 0x16, 0x26, 0x50, 0x4c, 0x40, 0x92, 0xac,
					   0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 } };
/* 5c6b6a2e-1f0b-4a4e-9d3c-736c61746501: Slate's own SignatureOwner. */
const SlUuid sl_efi_slate_owner_guid = { { 0x5c, 0x6b, 0x6a, 0x2e, 0x1f, 0x0b, 0x4a, 0x4e, 0x9d,
					   0x3c, 0x73, 0x6c, 0x61, 0x74, 0x65, 0x01 } };

int sl_esl_append_x509(uint8_t **buf, size_t *len, const SlUuid *owner, const uint8_t *der,
		       size_t der_len)
{
	size_t list_size = ESL_HEADER_SIZE + 16 + der_len, total;
	uint8_t *p, *n;

	if (der_len == 0 || der_len > ESL_MAX_X509_SIZE)
		return sl_errorf(-E2BIG, "certificate of %zu bytes (at most %u)", der_len,
				 ESL_MAX_X509_SIZE);
	if (sl_add_overflow(*len, list_size, &total))
		return -E2BIG;
	n = realloc(*buf, total);
	if (!n)
		return -ENOMEM;
	p = n + *len;
	sl_uuid_to_guid(&sl_efi_cert_x509_guid, p);
	sl_put_le32(p + 16, (uint32_t)list_size);
	sl_put_le32(p + 20, 0); /* SignatureHeaderSize */
	sl_put_le32(p + 24, (uint32_t)(16 + der_len));
	sl_uuid_to_guid(owner, p + 28);
	memcpy(p + 44, der, der_len);
	*buf = n;
	*len = total;
	return 0;
}

int sl_esl_decode(const uint8_t *data, size_t len, SlEslEntry **ret_entries, size_t *ret_n)
{
	_cleanup_free_ SlEslEntry *entries = NULL;
	size_t n = 0, off = 0;

	while (off < len) {
		SlUuid type;
		uint32_t list_size, hdr_size, sig_size;
		size_t count;

		if (len - off < ESL_HEADER_SIZE)
			return sl_errorf(
				-EBADMSG,
				"signature list at offset %zu: truncated header (%zu bytes)", off,
				len - off);
		sl_uuid_from_guid(data + off, &type);
		list_size = sl_le32(data + off + 16);
		hdr_size = sl_le32(data + off + 20);
		sig_size = sl_le32(data + off + 24);
		if (list_size < ESL_HEADER_SIZE || list_size > len - off)
			return sl_errorf(-EBADMSG,
					 "signature list at offset %zu: size %u outside the %zu "
					 "bytes left",
					 off, list_size, len - off);
		if (hdr_size > list_size - ESL_HEADER_SIZE)
			return sl_errorf(-EBADMSG,
					 "signature list at offset %zu: header size %u too large",
					 off, hdr_size);
		if (sig_size <= 16)
			return sl_errorf(-EBADMSG,
					 "signature list at offset %zu: signature size %u (must "
					 "exceed 16)",
					 off, sig_size);
		if ((list_size - ESL_HEADER_SIZE - hdr_size) % sig_size != 0)
			return sl_errorf(-EBADMSG,
					 "signature list at offset %zu: %u bytes of signatures are "
					 "not a multiple of the signature size %u",
					 off, list_size - ESL_HEADER_SIZE - hdr_size, sig_size);
		if (sl_uuid_equal(&type, &sl_efi_cert_sha256_guid) && sig_size != 16 + 32)
			return sl_errorf(
				-EBADMSG,
				"signature list at offset %zu: SHA-256 entries of %u bytes", off,
				sig_size);
		count = (list_size - ESL_HEADER_SIZE - hdr_size) / sig_size;
		if (count == 0)
			return sl_errorf(-EBADMSG, "signature list at offset %zu: no signatures",
					 off);
		if (count > ESL_MAX_ENTRIES - n)
			return sl_errorf(-E2BIG, "more than %d signatures", ESL_MAX_ENTRIES);
		{
			SlEslEntry *ne = sl_realloc_array(entries, n + count, sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			entries = ne;
		}
		for (size_t i = 0; i < count; i++) {
			const uint8_t *s =
				data + off + ESL_HEADER_SIZE + hdr_size + i * (size_t)sig_size;

			entries[n].type = type;
			sl_uuid_from_guid(s, &entries[n].owner);
			entries[n].data = s + 16;
			entries[n].size = sig_size - 16;
			n++;
		}
		off += list_size;
	}
	*ret_entries = TAKE_PTR(entries);
	*ret_n = n;
	return 0;
}
