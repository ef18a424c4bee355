/* SPDX-License-Identifier: MIT */
/*
 * slate disk: make, inspect and update GPT disks and images (lib/gpt).
 *
 *   slate disk create IMAGE --size SIZE [--layout FILE] [--part LABEL=FILE]...
 *   slate disk inspect IMAGE|DEVICE [-o json|table]
 *   slate disk set-usrhash IMAGE|DEVICE --slot A|B ROOTHASH
 *   slate disk grow IMAGE|DEVICE
 *   slate disk types [-o json|table]
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/blkpg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "slate/cli.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/gpt.h"
#include "slate/hex.h"
#include "slate/json.h"
#include "slate/strutil.h"
#include "commands.h"

#define MAX_PARTS	  64
#define COPY_CHUNK	  (1u << 20)
#define MAX_LAYOUT_BYTES  (1u << 20)
#define MAX_ROOTHASH_TEXT 256

static const struct {
	unsigned bit;
	const char *name;
} attr_names[] = {
	{ 0, "required" },	    { 1, "no-block-io" }, { 2, "legacy-bios-bootable" },
	{ 59, "grow-file-system" }, { 60, "read-only" },  { 63, "no-auto" },
};

/* Option -s/--sector-size; -EINVAL after printing the usage error. */
static int parse_sector_size(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (sl_parse_u64(s, 4096, &v) < 0 || (v != 512 && v != 4096)) {
		sl_cli_usage_error("--sector-size must be 512 or 4096");
		return -EINVAL;
	}
	*ret = (uint32_t)v;
	return 0;
}

static int open_disk(const char *path, bool rw, uint32_t sector_size, int *ret_fd, SlGptOps *ops)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = sl_gpt_ops_from_fd(fd, sector_size, ops);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/*
 * The options of inspect and grow: -s/--sector-size, and -o/--output when output is
 * not NULL, then exactly one IMAGE or DEVICE, returned. NULL after a usage error.
 */
static const char *parse_disk_options(int argc, char **argv, uint32_t *ss, SlOutput *output)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sector-size", required_argument, NULL, 's' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, output ? "o:s:" : "s:", options, NULL)) >= 0) {
		if (c == 'o' && output && sl_cli_parse_output(optarg, output) >= 0)
			continue;
		if (c == 's' && parse_sector_size(optarg, ss) >= 0)
			continue;
		if (c == 'o' && output)
			sl_cli_usage_error("unknown output format '%s'", optarg);
		else if (c != 's')
			sl_cli_option_error(argv);
		return NULL;
	}
	if (argc - optind != 1) {
		sl_cli_usage_error("expected one IMAGE or DEVICE");
		return NULL;
	}
	return argv[optind];
}

static void print_warnings(const char *path, const SlGpt *gpt)
{
	for (unsigned i = 0; i < gpt->n_warnings; i++)
		fprintf(stderr, "%s: %s: warning: %s\n", sl_cli_program, path, gpt->warnings[i]);
}

/* "read-only,no-auto,48" or "-". */
static char *attrs_text(uint64_t attrs, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (unsigned bit = 0; bit < 64; bit++) {
		const char *name = NULL;

		if (!(attrs >> bit & 1))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(attr_names); i++)
			if (attr_names[i].bit == bit)
				name = attr_names[i].name;
		if (name)
			o += (size_t)snprintf(out + o, len - MIN(o, len), "%s%s", o ? "," : "",
					      name);
		else
			o += (size_t)snprintf(out + o, len - MIN(o, len), "%s%u", o ? "," : "",
					      bit);
	}
	if (!o)
		snprintf(out, len, "-");
	return out;
}

/* Which slot partition i belongs to: "A", "A-verity", or NULL. */
static const char *slot_of(const SlGptSlot slots[2], const bool have[2], uint32_t i)
{
	static const char *const names[2][2] = { { "A", "A-verity" }, { "B", "B-verity" } };

	for (int s = 0; s < 2; s++) {
		if (!have[s])
			continue;
		if ((int)i == slots[s].data)
			return names[s][0];
		if ((int)i == slots[s].verity)
			return names[s][1];
	}
	return NULL;
}

/* The root hash a slot's PARTUUIDs name (SPEC.md §1.8): data UUID || verity UUID. */
static void slot_hash(const SlGpt *gpt, const SlGptSlot *s, char out[65])
{
	uint8_t h[32];

	memcpy(h, gpt->entries[s->data].uuid.b, 16);
	memcpy(h + 16, gpt->entries[s->verity].uuid.b, 16);
	sl_hex_encode(h, sizeof(h), out);
}

static const char *type_name(const SlGptEntry *e)
{
	const SlGptType *t = sl_gpt_type_from_uuid(&e->type);

	return t ? t->name : NULL;
}

static void inspect_json(const char *path, const SlGptOps *ops, const SlGpt *gpt,
			 const SlGptSlot slots[2], const bool have[2])
{
	SlJson j;
	char u[SL_UUID_STRING_MAX], name[SL_GPT_NAME_MAX], hex[19], hash[65];

	sl_json_init(&j, stdout, true);
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "device", path);
	sl_json_kv_uint(&j, "size", ops->size);
	sl_json_kv_uint(&j, "sector_size", gpt->sector_size);
	sl_json_kv_string(&j, "disk_guid", sl_uuid_format(&gpt->disk_guid, u));
	sl_json_kv_uint(&j, "first_usable_lba", gpt->first_usable_lba);
	sl_json_kv_uint(&j, "last_usable_lba", gpt->last_usable_lba);
	sl_json_kv_uint(&j, "entry_count", gpt->entry_count);
	sl_json_kv_uint(&j, "entry_size", gpt->entry_size);
	sl_json_key(&j, "primary");
	sl_json_begin_object(&j);
	sl_json_kv_uint(&j, "header_lba", gpt->primary_lba);
	sl_json_kv_uint(&j, "entries_lba", gpt->primary_entries_lba);
	sl_json_kv_bool(&j, "valid", !(gpt->status & SL_GPT_PRIMARY_DAMAGED));
	sl_json_end_object(&j);
	sl_json_key(&j, "backup");
	sl_json_begin_object(&j);
	sl_json_kv_uint(&j, "header_lba", gpt->backup_lba);
	sl_json_kv_uint(&j, "entries_lba", gpt->backup_entries_lba);
	sl_json_kv_bool(&j, "valid", !(gpt->status & SL_GPT_BACKUP_DAMAGED));
	sl_json_kv_bool(&j, "at_end", !(gpt->status & SL_GPT_BACKUP_NOT_AT_END));
	sl_json_end_object(&j);
	sl_json_key(&j, "partitions");
	sl_json_begin_array(&j);
	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		const SlGptEntry *e = &gpt->entries[i];
		const SlGptType *t = sl_gpt_type_from_uuid(&e->type);
		const char *slot = slot_of(slots, have, i);

		if (!sl_gpt_entry_used(e))
			continue;
		sl_json_begin_object(&j);
		sl_json_kv_uint(&j, "number", i + 1);
		sl_json_kv_string(&j, "label", sl_gpt_entry_name(e, name));
		sl_json_key(&j, "type");
		if (t)
			sl_json_string(&j, t->name);
		else
			sl_json_null(&j);
		sl_json_kv_string(&j, "type_uuid", sl_uuid_format(&e->type, u));
		sl_json_key(&j, "type_description");
		if (t)
			sl_json_string(&j, t->description);
		else
			sl_json_null(&j);
		sl_json_kv_string(&j, "uuid", sl_uuid_format(&e->uuid, u));
		sl_json_kv_uint(&j, "first_lba", e->first_lba);
		sl_json_kv_uint(&j, "last_lba", e->last_lba);
		sl_json_kv_uint(&j, "size_lba", e->last_lba - e->first_lba + 1);
		sl_json_kv_uint(&j, "size", (e->last_lba - e->first_lba + 1) * gpt->sector_size);
		/* A string: bit 63 is beyond what JSON readers keep exact in a number. */
		snprintf(hex, sizeof(hex), "0x%016" PRIx64, e->attributes);
		sl_json_kv_string(&j, "attributes", hex);
		sl_json_key(&j, "attribute_bits");
		sl_json_begin_array(&j);
		for (unsigned bit = 0; bit < 64; bit++)
			if (e->attributes >> bit & 1)
				sl_json_uint(&j, bit);
		sl_json_end_array(&j);
		sl_json_key(&j, "slot");
		if (slot)
			sl_json_string(&j, slot);
		else
			sl_json_null(&j);
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);
	sl_json_key(&j, "slots");
	sl_json_begin_array(&j);
	for (int s = 0; s < 2; s++) {
		if (!have[s])
			continue;
		sl_json_begin_object(&j);
		sl_json_key(&j, "name");
		sl_json_string_len(&j, &slots[s].name, 1);
		sl_json_kv_uint(&j, "data", (uint64_t)slots[s].data + 1);
		sl_json_kv_uint(&j, "verity", (uint64_t)slots[s].verity + 1);
		slot_hash(gpt, &slots[s], hash);
		sl_json_kv_string(&j, "usrhash", hash);
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);
	sl_json_key(&j, "warnings");
	sl_json_begin_array(&j);
	for (unsigned i = 0; i < gpt->n_warnings; i++)
		sl_json_string(&j, gpt->warnings[i]);
	sl_json_end_array(&j);
	sl_json_end_object(&j);
	sl_json_finish(&j);
}

static void inspect_table(const char *path, const SlGptOps *ops, const SlGpt *gpt,
			  const SlGptSlot slots[2], const bool have[2])
{
	char u[SL_UUID_STRING_MAX], name[SL_GPT_NAME_MAX], size[32], attrs[256], hash[65];

	printf("Disk %s: %s, %" PRIu64 " sectors of %" PRIu32 " bytes\n", path,
	       sl_format_size(ops->size, size, sizeof(size)), ops->size / gpt->sector_size,
	       gpt->sector_size);
	printf("Disk GUID: %s\n", sl_uuid_format(&gpt->disk_guid, u));
	printf("Table: %" PRIu32 " entries of %" PRIu32 " bytes; usable LBA %" PRIu64 "..%" PRIu64
	       "\n",
	       gpt->entry_count, gpt->entry_size, gpt->first_usable_lba, gpt->last_usable_lba);
	printf("Primary: header LBA %" PRIu64 ", entries LBA %" PRIu64 "%s\n", gpt->primary_lba,
	       gpt->primary_entries_lba, gpt->status & SL_GPT_PRIMARY_DAMAGED ? " (damaged)" : "");
	printf("Backup: header LBA %" PRIu64 ", entries LBA %" PRIu64 "%s\n\n", gpt->backup_lba,
	       gpt->backup_entries_lba, gpt->status & SL_GPT_BACKUP_DAMAGED ? " (damaged)" : "");
	printf("%3s  %-16s %-22s %12s %12s %10s  %-36s  %-10s %s\n", "#", "LABEL", "TYPE", "FIRST",
	       "LAST", "SIZE", "UUID", "SLOT", "ATTRIBUTES");
	for (uint32_t i = 0; i < gpt->entry_count; i++) {
		const SlGptEntry *e = &gpt->entries[i];
		const char *slot = slot_of(slots, have, i), *t = type_name(e);
		char tu[SL_UUID_STRING_MAX];

		if (!sl_gpt_entry_used(e))
			continue;
		printf("%3u  %-16s %-22s %12" PRIu64 " %12" PRIu64 " %10s  %-36s  %-10s %s\n",
		       i + 1, sl_gpt_entry_name(e, name), t ? t : sl_uuid_format(&e->type, tu),
		       e->first_lba, e->last_lba,
		       sl_format_size((e->last_lba - e->first_lba + 1) * gpt->sector_size, size,
				      sizeof(size)),
		       sl_uuid_format(&e->uuid, u), slot ? slot : "-",
		       attrs_text(e->attributes, attrs, sizeof(attrs)));
	}
	for (int s = 0; s < 2; s++) {
		if (!have[s])
			continue;
		slot_hash(gpt, &slots[s], hash);
		printf("%sSlot %c: partitions %d and %d; their PARTUUIDs name usrhash=%s\n",
		       s == 0 || !have[0] ? "\n" : "", slots[s].name, slots[s].data + 1,
		       slots[s].verity + 1, hash);
	}
}

static int show(const char *path, const SlGptOps *ops, const SlGpt *gpt, SlOutput output)
{
	SlGptSlot slots[2];
	bool have[2];

	have[0] = sl_gpt_find_slot(gpt, 'A', &slots[0]) >= 0;
	have[1] = sl_gpt_find_slot(gpt, 'B', &slots[1]) >= 0;
	if (output == SL_OUTPUT_JSON)
		inspect_json(path, ops, gpt, slots, have);
	else
		inspect_table(path, ops, gpt, slots, have);
	return fflush(stdout) == 0 ? SL_EXIT_OK : sl_cli_fail(path, -EIO);
}

/* ---- slate disk inspect ---- */

static int run_inspect(int argc, char **argv)
{
	_cleanup_close_ int fd = -1;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlOutput output = SL_OUTPUT_TABLE;
	uint32_t ss = 0;
	const char *path;
	SlGptOps ops;
	int r;

	path = parse_disk_options(argc, argv, &ss, &output);
	if (!path)
		return SL_EXIT_USAGE;
	sl_error_clear();
	r = open_disk(path, false, ss, &fd, &ops);
	if (r >= 0)
		r = sl_gpt_read(&ops, SL_GPT_READ_ALLOW_OVERLAP, &gpt);
	if (r < 0)
		return sl_cli_fail(path, r);
	print_warnings(path, gpt);
	return show(path, &ops, gpt, output);
}

/* ---- slate disk create ---- */

/* Copy file into [off, off+cap) of fd, leaving all-zero chunks as holes. */
static int copy_in(int fd, uint64_t off, uint64_t cap, const char *file, const char *label)
{
	_cleanup_close_ int in = -1;
	_cleanup_free_ uint8_t *buf = NULL, *zero = NULL;
	uint64_t size, done = 0;
	int r;

	in = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in < 0)
		return sl_errorf(-errno, "%s: %s", file, strerror(errno));
	r = sl_fd_size(in, &size);
	if (r < 0)
		return sl_error_prefix(r, "%s: ", file);
	if (size > cap)
		return sl_errorf(-ENOSPC,
				 "%s (%" PRIu64 " bytes) does not fit partition %s (%" PRIu64
				 " bytes)",
				 file, size, label, cap);
	buf = malloc(COPY_CHUNK);
	zero = calloc(1, COPY_CHUNK);
	if (!buf || !zero)
		return -ENOMEM;
	while (done < size) {
		size_t n = (size_t)MIN((uint64_t)COPY_CHUNK, size - done);

		r = sl_pread_all(in, buf, n, done);
		if (r < 0)
			return sl_errorf(r, "%s: read failed: %s", file, strerror(-r));
		if (memcmp(buf, zero, n) != 0) {
			r = sl_pwrite_all(fd, buf, n, off + done);
			if (r < 0)
				return r;
		}
		done += n;
	}
	return 0;
}

static int parse_roothash(const char *arg, uint8_t *hash, size_t *ret_len)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int r;

	if (arg[0] == '@') {
		r = sl_read_file(arg + 1, MAX_ROOTHASH_TEXT, &text, &len);
		if (r < 0)
			return sl_error_prefix(r, "%s: ", arg + 1);
		while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
			text[--len] = 0;
		arg = (const char *)text;
	}
	r = sl_hex_decode(arg, hash, 64, ret_len);
	if (r < 0 || *ret_len < 32)
		return sl_errorf(-EINVAL, "'%s' is not a root hash (64 to 128 hex digits)", arg);
	return 0;
}

typedef struct CreateArgs {
	const char *image;
	uint64_t size;
	uint32_t sector_size;
	const char *layout;
	const char *seed;
	const char *usrhash;
	bool force;
	const char *parts[MAX_PARTS]; /* "LABEL=FILE" */
	size_t n_parts;
} CreateArgs;

static int set_slot_a(SlGpt *gpt, const char *usrhash)
{
	uint8_t hash[64];
	size_t len;
	SlGptSlot slot;
	int r;

	r = parse_roothash(usrhash, hash, &len);
	if (r < 0)
		return r;
	r = sl_gpt_find_slot(gpt, 'A', &slot);
	if (r < 0)
		return sl_error_prefix(r, "--usrhash: ");
	return sl_gpt_usrhash_partuuids(hash, len, &gpt->entries[slot.data].uuid,
					&gpt->entries[slot.verity].uuid);
}

static int create(const CreateArgs *a, int fd, SlGpt **ret)
{
	_cleanup_gpt_layout_ SlGptLayout *layout = NULL;
	_cleanup_free_ uint8_t *text = NULL;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGptOps ops;
	size_t len;
	int r;

	if (a->layout) {
		r = sl_read_file(a->layout, MAX_LAYOUT_BYTES, &text, &len);
		if (r < 0)
			return sl_error_prefix(r, "%s: ", a->layout);
		if (strlen((const char *)text) != len)
			return sl_errorf(-EBADMSG, "%s: not a text file", a->layout);
	}
	r = sl_gpt_layout_parse(text ? (const char *)text : sl_gpt_default_layout, &layout);
	if (r < 0)
		return a->layout ? sl_error_prefix(r, "%s: ", a->layout) : r;
	r = sl_gpt_layout_build(layout, a->size, a->sector_size, a->seed, &gpt);
	if (r < 0)
		return r;
	if (a->usrhash) {
		r = set_slot_a(gpt, a->usrhash);
		if (r < 0)
			return r;
	}
	if (ftruncate(fd, (off_t)a->size) < 0)
		return -errno;
	r = sl_gpt_ops_from_fd(fd, gpt->sector_size, &ops);
	if (r >= 0)
		r = sl_gpt_write(&ops, gpt, NULL);
	if (r < 0)
		return r;
	for (size_t i = 0; i < a->n_parts; i++) {
		_cleanup_free_ char *label = sl_strdup(a->parts[i]);
		char *file = label ? strchr(label, '=') : NULL;
		const SlGptEntry *e;
		int idx;

		if (!file)
			return -ENOMEM;
		*file++ = 0;
		idx = sl_gpt_find_label(gpt, label);
		if (idx < 0)
			return sl_error_prefix(idx, "--part %s: ", a->parts[i]);
		e = &gpt->entries[idx];
		r = copy_in(fd, e->first_lba * gpt->sector_size,
			    (e->last_lba - e->first_lba + 1) * gpt->sector_size, file, label);
		if (r < 0)
			return r;
	}
	if (fsync(fd) < 0)
		return -errno;
	*ret = TAKE_PTR(gpt);
	return 0;
}

static int run_create(int argc, char **argv)
{
	static const struct option options[] = {
		{ "size", required_argument, NULL, 'S' },
		{ "layout", required_argument, NULL, 'l' },
		{ "part", required_argument, NULL, 'p' },
		{ "sector-size", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'e' },
		{ "usrhash", required_argument, NULL, 'u' },
		{ "force", no_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	CreateArgs a = { 0 };
	_cleanup_close_ int fd = -1;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlOutput output = SL_OUTPUT_TABLE;
	SlGptOps ops;
	struct stat st;
	int c, r;

	while ((c = getopt_long(argc, argv, "S:l:p:s:e:u:fo:", options, NULL)) >= 0) {
		switch (c) {
		case 'S':
			if (sl_parse_size(optarg, &a.size) < 0)
				return sl_cli_usage_error("--size: '%s' is not a size", optarg);
			break;
		case 'l':
			a.layout = optarg;
			break;
		case 'p':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return sl_cli_usage_error("--part takes LABEL=FILE, not '%s'",
							  optarg);
			if (a.n_parts == MAX_PARTS)
				return sl_cli_usage_error("too many --part options");
			a.parts[a.n_parts++] = optarg;
			break;
		case 's':
			if (parse_sector_size(optarg, &a.sector_size) < 0)
				return SL_EXIT_USAGE;
			break;
		case 'e':
			a.seed = optarg;
			break;
		case 'u':
			a.usrhash = optarg;
			break;
		case 'f':
			a.force = true;
			break;
		case 'o':
			if (sl_cli_parse_output(optarg, &output) < 0)
				return sl_cli_usage_error("unknown output format '%s'", optarg);
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (argc - optind != 1)
		return sl_cli_usage_error("expected one IMAGE");
	if (!a.size)
		return sl_cli_usage_error("--size is required");
	a.image = argv[optind];
	if (stat(a.image, &st) == 0 && !S_ISREG(st.st_mode))
		return sl_cli_failf("%s: not a regular file (slate disk create makes image files)",
				    a.image);
	fd = open(a.image, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (a.force ? O_TRUNC : O_EXCL),
		  0644);
	if (fd < 0 && errno == EEXIST)
		return sl_cli_failf("%s: already exists (--force replaces it)", a.image);
	if (fd < 0)
		return sl_cli_fail(a.image, -errno);
	sl_error_clear();
	r = create(&a, fd, &gpt);
	if (r < 0) {
		unlink(a.image);
		return sl_cli_fail(a.image, r);
	}
	r = sl_gpt_ops_from_fd(fd, gpt->sector_size, &ops);
	if (r < 0)
		return sl_cli_fail(a.image, r);
	return show(a.image, &ops, gpt, output);
}

/* ---- slate disk set-usrhash ---- */

static int run_set_usrhash(int argc, char **argv)
{
	static const struct option options[] = {
		{ "slot", required_argument, NULL, 'S' },
		{ "sector-size", required_argument, NULL, 's' },
		{},
	};
	_cleanup_close_ int fd = -1;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	char slot = 0, u[SL_UUID_STRING_MAX], v[SL_UUID_STRING_MAX];
	uint8_t hash[64];
	size_t len;
	uint32_t ss = 0;
	SlGptOps ops;
	SlGptSlot s;
	int c, r;

	while ((c = getopt_long(argc, argv, "S:s:", options, NULL)) >= 0) {
		switch (c) {
		case 'S':
			if (!streq(optarg, "A") && !streq(optarg, "B") && !streq(optarg, "a") &&
			    !streq(optarg, "b"))
				return sl_cli_usage_error("--slot must be A or B");
			slot = (char)(optarg[0] & ~0x20);
			break;
		case 's':
			if (parse_sector_size(optarg, &ss) < 0)
				return SL_EXIT_USAGE;
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (argc - optind != 2)
		return sl_cli_usage_error("expected IMAGE|DEVICE and ROOTHASH");
	if (!slot)
		return sl_cli_usage_error("--slot is required");
	sl_error_clear();
	r = parse_roothash(argv[optind + 1], hash, &len);
	if (r < 0)
		return sl_cli_fail(NULL, r);
	r = open_disk(argv[optind], true, ss, &fd, &ops);
	if (r >= 0)
		r = sl_gpt_set_usr_partuuids(&ops, slot, hash, len);
	if (r >= 0)
		r = sl_gpt_read(&ops, 0, &gpt);
	if (r >= 0)
		r = sl_gpt_find_slot(gpt, slot, &s);
	if (r < 0)
		return sl_cli_fail(argv[optind], r);
	printf("Slot %c: partition %d PARTUUID %s, partition %d PARTUUID %s\n", slot, s.data + 1,
	       sl_uuid_format(&gpt->entries[s.data].uuid, u), s.verity + 1,
	       sl_uuid_format(&gpt->entries[s.verity].uuid, v));
	return SL_EXIT_OK;
}

/* ---- slate disk grow ---- */

/* Tell the kernel the new size of a partition of a block device in use. */
static int kernel_resize_partition(int fd, const SlGpt *gpt, int idx)
{
	const SlGptEntry *e = &gpt->entries[idx];
	struct blkpg_partition part = {
		.start = (long long)(e->first_lba * gpt->sector_size),
		.length = (long long)((e->last_lba - e->first_lba + 1) * gpt->sector_size),
		.pno = idx + 1,
	};
	struct blkpg_ioctl_arg arg = {
		.op = BLKPG_RESIZE_PARTITION,
		.datalen = sizeof(part),
		.data = &part,
	};

	return ioctl(fd, BLKPG, &arg) < 0 ? -errno : 0;
}

static int run_grow(int argc, char **argv)
{
	_cleanup_close_ int fd = -1;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGptGrowResult res;
	char name[SL_GPT_NAME_MAX], a[32], b[32];
	uint32_t ss = 0;
	const char *path;
	SlGptOps ops;
	struct stat st;
	int r;

	path = parse_disk_options(argc, argv, &ss, NULL);
	if (!path)
		return SL_EXIT_USAGE;
	sl_error_clear();
	r = open_disk(path, true, ss, &fd, &ops);
	if (r >= 0)
		r = sl_gpt_grow(&ops, &res);
	if (r >= 0)
		r = sl_gpt_read(&ops, 0, &gpt);
	if (r < 0)
		return sl_cli_fail(path, r);
	if (!res.changed) {
		printf("%s: nothing to do: the backup GPT is at the end and ROOT fills the disk\n",
		       path);
		return SL_EXIT_OK;
	}
	if (res.backup_moved)
		printf("%s: backup GPT moved from LBA %" PRIu64 " to LBA %" PRIu64 "\n", path,
		       res.old_backup_lba, res.new_backup_lba);
	if (res.partition < 0) {
		printf("%s: no ROOT partition at the end of the disk to extend\n", path);
		return SL_EXIT_OK;
	}
	printf("%s: partition %d (%s) grown from %s to %s\n", path, res.partition + 1,
	       sl_gpt_entry_name(&gpt->entries[res.partition], name),
	       sl_format_size((res.old_last_lba - gpt->entries[res.partition].first_lba + 1) *
				      gpt->sector_size,
			      a, sizeof(a)),
	       sl_format_size((res.new_last_lba - gpt->entries[res.partition].first_lba + 1) *
				      gpt->sector_size,
			      b, sizeof(b)));
	if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) && res.new_last_lba != res.old_last_lba) {
		r = kernel_resize_partition(fd, gpt, res.partition);
		if (r < 0)
			fprintf(stderr,
				"%s: %s: warning: the kernel still sees the old size of partition "
				"%d (%s); run 'partx -u %s' or reboot\n",
				sl_cli_program, path, res.partition + 1, strerror(-r), path);
	}
	return SL_EXIT_OK;
}

/* ---- slate disk types ---- */

static int run_types(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	SlOutput output = SL_OUTPUT_TABLE;
	const SlGptType *t;
	size_t n;
	int c;

	while ((c = getopt_long(argc, argv, "o:", options, NULL)) >= 0) {
		if (c != 'o')
			return sl_cli_option_error(argv);
		if (sl_cli_parse_output(optarg, &output) < 0)
			return sl_cli_usage_error("unknown output format '%s'", optarg);
	}
	if (optind != argc)
		return sl_cli_usage_error("unexpected argument '%s'", argv[optind]);
	t = sl_gpt_types(&n);
	if (output == SL_OUTPUT_JSON) {
		SlJson j;
		char u[SL_UUID_STRING_MAX];

		sl_json_init(&j, stdout, true);
		sl_json_begin_array(&j);
		for (size_t i = 0; i < n; i++) {
			sl_json_begin_object(&j);
			sl_json_kv_string(&j, "name", t[i].name);
			sl_json_kv_string(&j, "uuid", sl_uuid_format(&t[i].uuid, u));
			sl_json_kv_string(&j, "description", t[i].description);
			sl_json_kv_string(&j, "arch", sl_gpt_arch_name(t[i].arch));
			sl_json_end_object(&j);
		}
		sl_json_end_array(&j);
		sl_json_finish(&j);
	} else {
		char u[SL_UUID_STRING_MAX];

		printf("%-24s %-36s %s\n", "NAME", "UUID", "DESCRIPTION");
		for (size_t i = 0; i < n; i++)
			printf("%-24s %-36s %s\n", t[i].name, sl_uuid_format(&t[i].uuid, u),
			       t[i].description);
		printf("\nIn a layout, root, usr, root-verity, usr-verity, root-verity-sig and "
		       "usr-verity-sig\nmean the type for the layout's arch (x86-64 unless "
		       "set).\n");
	}
	return SL_EXIT_OK;
}

static const SlCommand cmd_create = {
	.name = "create",
	.summary = "Make a sparse disk image with a GPT (Slate's layout by default).",
	.usage = "IMAGE --size SIZE [OPTIONS...]\n"
		 "\n"
		 "  -S, --size SIZE          image size (e.g. 4G)\n"
		 "  -l, --layout FILE        partition layout (README: 'slate disk'); default:\n"
		 "                           Slate's layout (ESP, USR-A/B with verity, ROOT)\n"
		 "  -p, --part LABEL=FILE    write FILE into the partition LABEL (repeatable)\n"
		 "  -s, --sector-size 512|4096  logical sector size (default: the layout's, 512)\n"
		 "  -e, --seed SEED          seed of the derived UUIDs (default: random)\n"
		 "  -u, --usrhash HASH|@FILE set slot A's PARTUUIDs from a /usr root hash\n"
		 "  -f, --force              replace an existing IMAGE\n"
		 "  -o, --output json|table  how to show the result (default table)",
	.run = run_create,
};

static const SlCommand cmd_inspect = {
	.name = "inspect",
	.summary = "Show a disk's GPT: partitions, types, UUIDs, Slate's A/B slots.",
	.usage =
		"IMAGE|DEVICE [OPTIONS...]\n"
		"\n"
		"  -o, --output json|table  output format (default table)\n"
		"  -s, --sector-size 512|4096  logical sector size of an image (default: found)\n"
		"\n"
		"Warnings (damaged copy, copies that differ, overlaps, a grown disk) go to stderr.",
	.run = run_inspect,
};

static const SlCommand cmd_set_usrhash = {
	.name = "set-usrhash",
	.summary = "Name a /usr slot by its root hash (PARTUUIDs), crash-safely.",
	.usage = "IMAGE|DEVICE --slot A|B ROOTHASH|@FILE\n"
		 "\n"
		 "Sets USR-<slot>'s PARTUUID to the first 128 bits of ROOTHASH and\n"
		 "USR-<slot>-VERITY's to the last 128 bits (what usrhash= looks for), in one\n"
		 "crash-safe table rewrite.\n"
		 "\n"
		 "  -S, --slot A|B           the slot to name\n"
		 "  -s, --sector-size 512|4096  logical sector size of an image (default: found)",
	.run = run_set_usrhash,
};

static const SlCommand cmd_grow = {
	.name = "grow",
	.summary = "After the disk grew: move the backup GPT to the end, extend ROOT.",
	.usage = "IMAGE|DEVICE [OPTIONS...]\n"
		 "\n"
		 "Moves the backup GPT to the end of the disk and extends the ROOT partition\n"
		 "(the DPS root type, else the label ROOT) to fill it, crash-safely. The file\n"
		 "system inside is not resized.\n"
		 "\n"
		 "  -s, --sector-size 512|4096  logical sector size of an image (default: found)",
	.run = run_grow,
};

static const SlCommand cmd_types = {
	.name = "types",
	.summary = "List the partition type names a layout may use.",
	.usage = "[-o json|table]",
	.run = run_types,
};

static const SlCommand *const disk_children[] = {
	&cmd_create, &cmd_grow, &cmd_inspect, &cmd_set_usrhash, &cmd_types, NULL,
};

const SlCommand sl_cmd_disk = {
	.name = "disk",
	.summary = "Make, inspect and update GPT disks (A/B /usr slots, grow).",
	.children = disk_children,
};
