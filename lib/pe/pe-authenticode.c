/* SPDX-License-Identifier: MIT */
/*
 * The Authenticode image digest ("Windows Authenticode Portable Executable
 * Signature Format", "Calculating the PE Image Hash"; edk2 HashPeImage();
 * SPEC.md §3.2).
 */
#include <openssl/evp.h>

#include "slate/error.h"
#include "slate/pe.h"

/* Offsets inside the optional header of the fields the digest skips. */
#define OPT_CHECKSUM  64
#define OPT32_DIRS    96
#define OPT64_DIRS    112
#define DATA_DIR_SIZE 8

static void add_range(SlPeRange *ranges, size_t *n, uint64_t from, uint64_t to)
{
	if (to > from) {
		ranges[*n] = (SlPeRange){ .offset = (uint32_t)from, .size = (uint32_t)(to - from) };
		(*n)++;
	}
}

size_t sl_pe_authenticode_ranges(const SlPe *pe, SlPeRange ranges[static SL_PE_MAX_RANGES])
{
	uint32_t checksum = pe->opt_offset + OPT_CHECKSUM;
	uint32_t dirs = pe->opt_offset + (pe->magic == SL_PE_MAGIC_PE32 ? OPT32_DIRS : OPT64_DIRS);
	uint32_t certdir = dirs + SL_PE_DIR_SECURITY * DATA_DIR_SIZE;
	const SlPeSection *sorted[SL_PE_MAX_SECTIONS];
	uint64_t hashed, file_end;
	size_t n = 0, ns = 0;

	/* 1-3: the headers, without CheckSum and without the security directory entry.
	 * An image with fewer than five data directories has no such entry. */
	add_range(ranges, &n, 0, checksum);
	if (pe->n_data_dirs > SL_PE_DIR_SECURITY) {
		add_range(ranges, &n, checksum + 4, certdir);
		add_range(ranges, &n, certdir + DATA_DIR_SIZE, pe->size_of_headers);
	} else {
		add_range(ranges, &n, checksum + 4, pe->size_of_headers);
	}

	/* 4: sections with raw data, in ascending PointerToRawData order. */
	for (size_t i = 0; i < pe->n_sections; i++) {
		const SlPeSection *s = &pe->sections[i];
		size_t j = ns;

		if (s->raw_size == 0)
			continue;
		while (j > 0 && sorted[j - 1]->raw_offset > s->raw_offset) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = s;
		ns++;
	}
	hashed = pe->size_of_headers;
	for (size_t i = 0; i < ns; i++) {
		add_range(ranges, &n, sorted[i]->raw_offset,
			  (uint64_t)sorted[i]->raw_offset + sorted[i]->raw_size);
		hashed += sorted[i]->raw_size;
	}

	/* 5: trailing data. The spec (and edk2, pesign, sbsign) count it from
	 * SizeOfHeaders + the sum of SizeOfRawData, up to the certificate table.
	 * sl_pe_decode() guarantees sections do not overlap the headers or each
	 * other, so that point is at most raw_end. */
	file_end = pe->size - pe->cert_table_size;
	add_range(ranges, &n, hashed, file_end);
	return n;
}

int sl_pe_authenticode_digest(const SlPe *pe, const char *hash, uint8_t *ret, size_t *ret_len)
{
	SlPeRange ranges[SL_PE_MAX_RANGES];
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
	unsigned len = 0;
	size_t n;
	int ok;

	if (streq(hash, "sha256"))
		md = EVP_sha256();
	else if (streq(hash, "sha1"))
		md = EVP_sha1();
	else if (streq(hash, "sha384"))
		md = EVP_sha384();
	else if (streq(hash, "sha512"))
		md = EVP_sha512();
	else
		return sl_errorf(-EOPNOTSUPP, "unknown digest '%s'", hash);

	n = sl_pe_authenticode_ranges(pe, ranges);
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, md, NULL);
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, pe->data + ranges[i].offset, ranges[i].size);
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, ret, &len);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return sl_errorf(-EIO, "OpenSSL could not compute %s", hash);
	*ret_len = len;
	return 0;
}
