/* SPDX-License-Identifier: MIT */
/*
 * Disk layouts: a small text format (README "slate disk") turned into a GPT.
 * Derived UUIDs use SHA-256, so this file links libcrypto (gpt_layout_dep); the
 * rest of lib/gpt does not.
 */
#include <inttypes.h>
#include <openssl/evp.h>

#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/gpt.h"
#include "slate/hex.h"
#include "slate/strutil.h"

#define MAX_PARTS  128
#define MAX_TOKENS 8

const char sl_gpt_default_layout[] =
	"# Slate's disk (DESIGN.md, \"Disk layout\"). Type names are DPS names for the\n"
	"# layout's architecture (x86-64 unless an 'arch' line says otherwise).\n"
	"partition EFI-SYSTEM   256M esp\n"
	"partition USR-A        1G   usr        attrs=read-only\n"
	"partition USR-A-VERITY 64M  usr-verity attrs=read-only\n"
	"partition USR-B        1G   usr        attrs=read-only\n"
	"partition USR-B-VERITY 64M  usr-verity attrs=read-only\n"
	"partition ROOT         rest root       attrs=grow-file-system\n";

static const struct {
	const char *name;
	unsigned bit;
} attr_names[] = {
	{ "required", 0 },	    { "no-block-io", 1 }, { "legacy-bios-bootable", 2 },
	{ "grow-file-system", 59 }, { "read-only", 60 },  { "no-auto", 63 },
};

void sl_gpt_layout_free(SlGptLayout *l)
{
	if (!l)
		return;
	free(l->seed);
	free(l->parts);
	free(l);
}

void sl_gpt_derive_uuid(const char *seed, const char *key, SlUuid *ret)
{
	static const char domain[] = "slate-gpt-uuid";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	/* SHA-256(domain NUL seed NUL key), first 16 bytes as a version-4 UUID. */
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, domain, sizeof(domain)) != 1 ||
	    EVP_DigestUpdate(ctx, seed, strlen(seed) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, key, strlen(key)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 16)
		abort(); /* SHA-256 cannot fail short of memory exhaustion */
	EVP_MD_CTX_free(ctx);
	memcpy(ret->b, md, 16);
	ret->b[6] = (uint8_t)((ret->b[6] & 0x0f) | 0x40);
	ret->b[8] = (uint8_t)((ret->b[8] & 0x3f) | 0x80);
}

/* Split a line into whitespace-separated tokens; "double quotes" group. In place. */
static int tokenize(char *s, char **tok, int max, unsigned line)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			return n;
		if (n == max)
			return sl_errorf(-EBADMSG, "line %u: too many fields", line);
		if (*s == '"') {
			char *end = strchr(s + 1, '"');

			if (!end)
				return sl_errorf(-EBADMSG, "line %u: unterminated quote", line);
			tok[n++] = s + 1;
			*end = 0;
			s = end + 1;
			if (*s && *s != ' ' && *s != '\t')
				return sl_errorf(-EBADMSG, "line %u: text after a closing quote",
						 line);
			continue;
		}
		tok[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = 0;
	}
}

static int parse_attrs(const char *v, uint64_t *ret, unsigned line)
{
	_cleanup_free_ char *copy = sl_strdup(v);
	char *save = NULL;
	uint64_t attrs = 0;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint64_t bit = 64;

		for (size_t i = 0; i < ARRAY_SIZE(attr_names); i++)
			if (streq(t, attr_names[i].name))
				bit = attr_names[i].bit;
		if (bit == 64 && sl_parse_u64(t, 63, &bit) < 0)
			return sl_errorf(-EBADMSG,
					 "line %u: unknown attribute '%s' (a bit number "
					 "0-63 or required, no-block-io, legacy-bios-bootable, "
					 "grow-file-system, read-only, no-auto)",
					 line, t);
		attrs |= UINT64_C(1) << bit;
	}
	*ret = attrs;
	return 0;
}

static int parse_uuid_mode(const char *v, SlGptUuidMode *mode, SlUuid *uuid, unsigned line)
{
	if (streq(v, "derive"))
		*mode = SL_GPT_UUID_DERIVE;
	else if (streq(v, "random"))
		*mode = SL_GPT_UUID_RANDOM;
	else if (sl_uuid_parse(v, uuid) >= 0 && !sl_uuid_is_null(uuid))
		*mode = SL_GPT_UUID_FIXED;
	else
		return sl_errorf(-EBADMSG, "line %u: '%s' is not a UUID, 'derive' or 'random'",
				 line, v);
	return 0;
}

static int parse_type(const char *v, SlGptArch arch, SlUuid *ret, unsigned line)
{
	const SlGptType *t = sl_gpt_type_from_name(v, arch);

	if (t) {
		*ret = t->uuid;
		return 0;
	}
	if (sl_uuid_parse(v, ret) >= 0 && !sl_uuid_is_null(ret))
		return 0;
	return sl_errorf(-EBADMSG,
			 "line %u: unknown partition type '%s' (a DPS name such as "
			 "esp, root, usr, usr-verity, linux-generic, or a type UUID; "
			 "'slate disk types' lists them)",
			 line, v);
}

static int parse_partition(SlGptLayout *l, char **tok, int n, unsigned line)
{
	SlGptLayoutPart *p;
	SlGptEntry probe = { 0 };
	int r;

	if (n < 4)
		return sl_errorf(-EBADMSG,
				 "line %u: expected 'partition LABEL SIZE TYPE "
				 "[uuid=...] [attrs=...]'",
				 line);
	if (l->n_parts == MAX_PARTS)
		return sl_errorf(-E2BIG, "line %u: more than %d partitions", line, MAX_PARTS);
	p = &l->parts[l->n_parts];
	*p = (SlGptLayoutPart){ .line = line };
	r = sl_gpt_entry_set_name(&probe, tok[1]);
	if (r < 0)
		return sl_error_prefix(r, "line %u: ", line);
	if (!*tok[1])
		return sl_errorf(-EBADMSG, "line %u: empty partition label", line);
	for (size_t i = 0; i < l->n_parts; i++)
		if (streq(l->parts[i].label, tok[1]))
			return sl_errorf(-EBADMSG, "line %u: label '%s' is already used on line %u",
					 line, tok[1], l->parts[i].line);
	snprintf(p->label, sizeof(p->label), "%s", tok[1]);
	if (streq(tok[2], "rest")) {
		for (size_t i = 0; i < l->n_parts; i++)
			if (l->parts[i].size == 0)
				return sl_errorf(-EBADMSG,
						 "line %u: only one partition can take "
						 "the rest (line %u does)",
						 line, l->parts[i].line);
		p->size = 0;
	} else if (sl_parse_size(tok[2], &p->size) < 0 || p->size == 0) {
		return sl_errorf(-EBADMSG, "line %u: '%s' is not a size (e.g. 64M, 1G, rest)", line,
				 tok[2]);
	}
	r = parse_type(tok[3], l->arch, &p->type, line);
	if (r < 0)
		return r;
	for (int i = 4; i < n; i++) {
		const char *v;

		if ((v = startswith(tok[i], "uuid=")))
			r = parse_uuid_mode(v, &p->uuid_mode, &p->uuid, line);
		else if ((v = startswith(tok[i], "attrs=")))
			r = parse_attrs(v, &p->attributes, line);
		else
			r = sl_errorf(-EBADMSG, "line %u: unknown option '%s' (uuid=, attrs=)",
				      line, tok[i]);
		if (r < 0)
			return r;
	}
	l->n_parts++;
	return 0;
}

static int parse_directive(SlGptLayout *l, char **tok, int n, unsigned line)
{
	uint64_t v;
	int r;

	if (n != 2)
		return sl_errorf(-EBADMSG, "line %u: '%s' takes one value", line, tok[0]);
	if (l->n_parts > 0 && !streq(tok[0], "seed"))
		return sl_errorf(-EBADMSG, "line %u: '%s' must come before the partitions", line,
				 tok[0]);
	if (streq(tok[0], "sector-size")) {
		if (sl_parse_u64(tok[1], 4096, &v) < 0 || (v != 512 && v != 4096))
			return sl_errorf(-EBADMSG, "line %u: sector size must be 512 or 4096",
					 line);
		l->sector_size = (uint32_t)v;
	} else if (streq(tok[0], "align")) {
		if (sl_parse_size(tok[1], &v) < 0 || !sl_is_pow2(v) || v < 512 || v > (1u << 30))
			return sl_errorf(-EBADMSG,
					 "line %u: alignment must be a power of two "
					 "between 512 and 1G",
					 line);
		l->align = v;
	} else if (streq(tok[0], "entries")) {
		/* UEFI §5.3: the array is at least 16 KiB (sgdisk warns below that). */
		if (sl_parse_u64(tok[1], SL_GPT_MAX_ARRAY_BYTES / 128, &v) < 0 ||
		    v < SL_GPT_DEFAULT_ENTRIES)
			return sl_errorf(-EBADMSG, "line %u: entries must be %d to %u", line,
					 SL_GPT_DEFAULT_ENTRIES, SL_GPT_MAX_ARRAY_BYTES / 128);
		l->entry_count = (uint32_t)v;
	} else if (streq(tok[0], "arch")) {
		r = sl_gpt_arch_from_name(tok[1], &l->arch);
		if (r < 0)
			return sl_error_prefix(r, "line %u: ", line);
	} else if (streq(tok[0], "seed")) {
		free(l->seed);
		l->seed = sl_strdup(tok[1]);
		if (!l->seed)
			return -ENOMEM;
	} else if (streq(tok[0], "disk-uuid")) {
		return parse_uuid_mode(tok[1], &l->disk_uuid_mode, &l->disk_uuid, line);
	} else {
		return sl_errorf(-EBADMSG,
				 "line %u: unknown keyword '%s' (partition, sector-size, "
				 "align, entries, arch, seed, disk-uuid)",
				 line, tok[0]);
	}
	return 0;
}

int sl_gpt_layout_parse(const char *text, SlGptLayout **ret)
{
	_cleanup_gpt_layout_ SlGptLayout *l = calloc(1, sizeof(*l));
	_cleanup_free_ char *copy = sl_strdup(text);
	char *save = NULL, *line;
	unsigned lineno = 0;
	int r;

	if (!l || !copy)
		return -ENOMEM;
	l->parts = calloc(MAX_PARTS, sizeof(*l->parts));
	if (!l->parts)
		return -ENOMEM;
	l->align = 1024 * 1024;
	l->entry_count = SL_GPT_DEFAULT_ENTRIES;
	l->arch = SL_GPT_ARCH_X86_64;
	/* strtok_r would merge empty lines and lose the count: walk by hand. */
	for (line = copy; line; line = save) {
		char *tok[MAX_TOKENS];
		int n;

		lineno++;
		save = strchr(line, '\n');
		if (save)
			*save++ = 0;
		n = tokenize(line, tok, MAX_TOKENS, lineno);
		if (n < 0)
			return n;
		if (n == 0)
			continue;
		if (streq(tok[0], "partition"))
			r = parse_partition(l, tok, n, lineno);
		else
			r = parse_directive(l, tok, n, lineno);
		if (r < 0)
			return r;
	}
	if (l->n_parts == 0)
		return sl_errorf(-EBADMSG, "the layout has no partitions");
	*ret = TAKE_PTR(l);
	return 0;
}

static int pick_uuid(SlGptUuidMode mode, const SlUuid *fixed, const char *seed, const char *key,
		     SlUuid *ret)
{
	switch (mode) {
	case SL_GPT_UUID_FIXED:
		*ret = *fixed;
		return 0;
	case SL_GPT_UUID_RANDOM:
		return sl_uuid_random(ret);
	case SL_GPT_UUID_DERIVE:
		break;
	}
	sl_gpt_derive_uuid(seed, key, ret);
	return 0;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v / a * a;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return align_down(v + a - 1, a);
}

/* Place the partitions: before "rest" forward from the start, after it backward
 * from the end, "rest" in between. Fills first_lba/last_lba of gpt->entries. */
static int place(const SlGptLayout *l, SlGpt *gpt, uint64_t align)
{
	uint32_t ss = gpt->sector_size;
	uint64_t pos = gpt->first_usable_lba, limit = gpt->last_usable_lba + 1;
	size_t rest = l->n_parts;

	for (size_t i = 0; i < l->n_parts; i++)
		if (l->parts[i].size == 0)
			rest = i;
	for (size_t i = 0; i < l->n_parts; i++)
		if (l->parts[i].size % ss)
			return sl_errorf(-EBADMSG,
					 "line %u: size of '%s' is not a multiple of the "
					 "%" PRIu32 "-byte sector",
					 l->parts[i].line, l->parts[i].label, ss);
	for (size_t i = 0; i < rest; i++) {
		uint64_t start = align_up(pos, align), n = l->parts[i].size / ss;

		if (start > limit || n > limit - start)
			return sl_errorf(-ENOSPC,
					 "partition '%s' (line %u) does not fit on a disk "
					 "of %" PRIu64 " bytes",
					 l->parts[i].label, l->parts[i].line, gpt->disk_lbas * ss);
		gpt->entries[i].first_lba = start;
		gpt->entries[i].last_lba = start + n - 1;
		pos = start + n;
	}
	for (size_t i = l->n_parts; i-- > rest + 1;) {
		uint64_t n = l->parts[i].size / ss, start;

		if (n > limit || align_down(limit - n, align) < pos)
			return sl_errorf(-ENOSPC,
					 "partition '%s' (line %u) does not fit on a disk "
					 "of %" PRIu64 " bytes",
					 l->parts[i].label, l->parts[i].line, gpt->disk_lbas * ss);
		start = align_down(limit - n, align);
		gpt->entries[i].first_lba = start;
		gpt->entries[i].last_lba = start + n - 1;
		limit = start;
	}
	if (rest < l->n_parts) {
		uint64_t start = align_up(pos, align);
		uint64_t end = align_down(limit, align);

		if (end <= start)
			return sl_errorf(-ENOSPC,
					 "no room left for partition '%s' (line %u) on a "
					 "disk of %" PRIu64 " bytes",
					 l->parts[rest].label, l->parts[rest].line,
					 gpt->disk_lbas * ss);
		gpt->entries[rest].first_lba = start;
		gpt->entries[rest].last_lba = end - 1;
	}
	return 0;
}

int sl_gpt_layout_build(const SlGptLayout *l, uint64_t disk_bytes, uint32_t sector_size,
			const char *seed, SlGpt **ret)
{
	_cleanup_gpt_ SlGpt *gpt = NULL;
	char random_seed[33];
	uint64_t align;
	int r;

	if (sector_size && l->sector_size && sector_size != l->sector_size)
		return sl_errorf(-EINVAL,
				 "the layout is for %" PRIu32 "-byte sectors, not %" PRIu32,
				 l->sector_size, sector_size);
	if (!sector_size)
		sector_size = l->sector_size ? l->sector_size : 512;
	if (l->align % sector_size)
		return sl_errorf(-EINVAL,
				 "alignment %" PRIu64 " is not a multiple of the %" PRIu32
				 "-byte sector",
				 l->align, sector_size);
	align = l->align / sector_size;
	if (!seed)
		seed = l->seed;
	if (!seed) {
		uint8_t b[16];

		r = sl_random_bytes(b, sizeof(b));
		if (r < 0)
			return r;
		sl_hex_encode(b, sizeof(b), random_seed);
		seed = random_seed;
	}
	r = sl_gpt_new(disk_bytes, sector_size, l->entry_count, &gpt);
	if (r < 0)
		return r;
	r = pick_uuid(l->disk_uuid_mode, &l->disk_uuid, seed, "disk", &gpt->disk_guid);
	if (r < 0)
		return r;
	r = place(l, gpt, align);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n_parts; i++) {
		const SlGptLayoutPart *p = &l->parts[i];
		SlGptEntry *e = &gpt->entries[i];
		_cleanup_free_ char *key = sl_asprintf("partition:%s", p->label);

		if (!key)
			return -ENOMEM;
		e->type = p->type;
		e->attributes = p->attributes;
		r = sl_gpt_entry_set_name(e, p->label);
		if (r >= 0)
			r = pick_uuid(p->uuid_mode, &p->uuid, seed, key, &e->uuid);
		if (r < 0)
			return r;
	}
	r = sl_gpt_validate(gpt);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(gpt);
	return 0;
}
