/* SPDX-License-Identifier: MIT */
/*
 * slate verity format|verify|dump: dm-verity hash trees with veritysetup's options
 * and report (lib/verity).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "slate/bytes.h"
#include "slate/cli.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/json.h"
#include "slate/strutil.h"
#include "slate/verity.h"

/* Options shared by the three commands; arg_has_* says what the user gave. */
static SlVerityParams arg_params;
static bool arg_has_hash, arg_has_data_block_size, arg_has_hash_block_size, arg_has_format,
	arg_has_salt, arg_has_uuid, arg_has_data_blocks;
static const char *arg_root_hash_file;
static unsigned arg_threads;
static SlOutput arg_output = SL_OUTPUT_TABLE;

enum {
	OPT_HASH = 0x100,
	OPT_DATA_BLOCK_SIZE,
	OPT_HASH_BLOCK_SIZE,
	OPT_DATA_BLOCKS,
	OPT_HASH_OFFSET,
	OPT_FORMAT,
	OPT_NO_SUPERBLOCK,
	OPT_UUID,
	OPT_ROOT_HASH_FILE,
	OPT_THREADS,
};

static const struct option options[] = {
	{ "hash", required_argument, NULL, OPT_HASH },
	{ "data-block-size", required_argument, NULL, OPT_DATA_BLOCK_SIZE },
	{ "hash-block-size", required_argument, NULL, OPT_HASH_BLOCK_SIZE },
	{ "data-blocks", required_argument, NULL, OPT_DATA_BLOCKS },
	{ "hash-offset", required_argument, NULL, OPT_HASH_OFFSET },
	{ "salt", required_argument, NULL, 's' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "no-superblock", no_argument, NULL, OPT_NO_SUPERBLOCK },
	{ "uuid", required_argument, NULL, OPT_UUID },
	{ "root-hash-file", required_argument, NULL, OPT_ROOT_HASH_FILE },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{}
};

static int parse_block_size(const char *opt, const char *s, uint32_t *ret)
{
	uint64_t v;

	if (sl_parse_size(s, &v) < 0 || v < SL_VERITY_BLOCK_MIN || v > SL_VERITY_BLOCK_MAX ||
	    !sl_is_pow2(v))
		return sl_cli_usage_error("--%s: '%s' is not a power of two from 512 to 524288",
					  opt, s);
	*ret = (uint32_t)v;
	return 0;
}

/* Parses the options; returns 0, or the exit code for a usage error. */
static int parse_options(int argc, char **argv)
{
	int c, r;
	uint64_t v;
	size_t n;

	sl_verity_params_init(&arg_params);
	while ((c = getopt_long(argc, argv, "s:o:h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_HASH:
			if (!sl_verity_digest_size(optarg))
				return sl_cli_usage_error(
					"--hash: unsupported algorithm '%s' (sha1, sha256, sha512)",
					optarg);
			snprintf(arg_params.algorithm, sizeof(arg_params.algorithm), "%s", optarg);
			arg_has_hash = true;
			break;
		case OPT_DATA_BLOCK_SIZE:
			r = parse_block_size("data-block-size", optarg,
					     &arg_params.data_block_size);
			if (r)
				return r;
			arg_has_data_block_size = true;
			break;
		case OPT_HASH_BLOCK_SIZE:
			r = parse_block_size("hash-block-size", optarg,
					     &arg_params.hash_block_size);
			if (r)
				return r;
			arg_has_hash_block_size = true;
			break;
		case OPT_DATA_BLOCKS:
			if (sl_parse_u64(optarg, UINT64_MAX, &v) < 0 || v == 0)
				return sl_cli_usage_error(
					"--data-blocks: '%s' is not a positive number", optarg);
			arg_params.data_blocks = v;
			arg_has_data_blocks = true;
			break;
		case OPT_HASH_OFFSET:
			if (sl_parse_size(optarg, &v) < 0 || v % 512)
				return sl_cli_usage_error(
					"--hash-offset: '%s' is not a multiple of 512 bytes",
					optarg);
			arg_params.hash_offset = v;
			break;
		case 's':
			arg_has_salt = true;
			arg_params.salt_size = 0;
			if (streq(optarg, "-"))
				break;
			r = sl_hex_decode(optarg, arg_params.salt, sizeof(arg_params.salt), &n);
			if (r < 0)
				return sl_cli_usage_error(
					"--salt: %s (hex, at most %u bytes, or -)",
					sl_error_message(r), SL_VERITY_SALT_MAX);
			arg_params.salt_size = (uint16_t)n;
			break;
		case OPT_FORMAT:
			if (!streq(optarg, "0") && !streq(optarg, "1"))
				return sl_cli_usage_error("--format: '%s' is not 0 or 1", optarg);
			arg_params.hash_type = optarg[0] == '1';
			arg_has_format = true;
			break;
		case OPT_NO_SUPERBLOCK:
			arg_params.superblock = false;
			break;
		case OPT_UUID:
			if (sl_uuid_parse(optarg, &arg_params.uuid) < 0)
				return sl_cli_usage_error("--uuid: '%s' is not a UUID", optarg);
			arg_has_uuid = true;
			break;
		case OPT_ROOT_HASH_FILE:
			arg_root_hash_file = optarg;
			break;
		case OPT_THREADS:
			if (sl_parse_u64(optarg, 256, &v) < 0 || v == 0)
				return sl_cli_usage_error(
					"--threads: '%s' is not a number from 1 to 256", optarg);
			arg_threads = (unsigned)v;
			break;
		case 'o':
			if (sl_cli_parse_output(optarg, &arg_output) < 0)
				return sl_cli_usage_error("-o: '%s' is not json or table", optarg);
			break;
		case 'h':
			sl_cli_print_help(sl_cli_current);
			return -1;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (!arg_params.superblock && arg_params.hash_offset % arg_params.hash_block_size)
		return sl_cli_usage_error("--hash-offset must be a multiple of the hash block size "
					  "with --no-superblock");
	return 0;
}

static int open_file(const char *path, int flags, int *ret_fd)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY, 0644);
	struct stat st;

	if (fd < 0)
		return sl_errorf(-errno, "cannot open: %m");
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		close(fd);
		return sl_errorf(-EINVAL, "not a regular file or block device");
	}
	*ret_fd = fd;
	return 0;
}

/* The veritysetup report ("VERITY header information for ..."), or JSON. */
static void print_report(const char *hash_path, const SlVerityParams *p, const uint8_t *root)
{
	char uuid[SL_UUID_STRING_MAX] = "", salt[2 * SL_VERITY_SALT_MAX + 1] = "-";
	char root_hex[SL_VERITY_HEX_MAX] = "";
	SlVerityLayout l;

	if (sl_verity_layout(p, &l) < 0)
		return; /* validated by the caller */
	if (p->superblock)
		sl_uuid_format(&p->uuid, uuid);
	if (p->salt_size)
		sl_hex_encode(p->salt, p->salt_size, salt);
	if (root)
		sl_hex_encode(root, l.digest_size, root_hex);

	if (arg_output == SL_OUTPUT_JSON) {
		SlJson j;

		sl_json_init(&j, stdout, true);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "hash_device", hash_path);
		if (p->superblock)
			sl_json_kv_string(&j, "uuid", uuid);
		else {
			sl_json_key(&j, "uuid");
			sl_json_null(&j);
		}
		sl_json_kv_uint(&j, "hash_type", p->hash_type);
		sl_json_kv_uint(&j, "data_blocks", p->data_blocks);
		sl_json_kv_uint(&j, "data_block_size", p->data_block_size);
		sl_json_kv_uint(&j, "hash_blocks", l.hash_blocks);
		sl_json_kv_uint(&j, "hash_block_size", p->hash_block_size);
		sl_json_kv_string(&j, "hash_algorithm", p->algorithm);
		sl_json_kv_hex(&j, "salt", p->salt, p->salt_size);
		if (root)
			sl_json_kv_string(&j, "root_hash", root_hex);
		sl_json_kv_bool(&j, "superblock", p->superblock);
		sl_json_kv_uint(&j, "hash_offset", p->hash_offset);
		sl_json_kv_uint(&j, "hash_start_block", l.hash_start_block);
		sl_json_kv_uint(&j, "hash_levels", l.levels);
		sl_json_kv_uint(&j, "hash_device_size", l.hash_area_end);
		sl_json_end_object(&j);
		sl_json_finish(&j);
		return;
	}
	/* Exactly veritysetup 2.6.1's layout, tabs included. */
	printf("VERITY header information for %s\n", hash_path);
	printf("UUID:            \t%s\n", uuid);
	printf("Hash type:       \t%u\n", p->hash_type);
	printf("Data blocks:     \t%" PRIu64 "\n", p->data_blocks);
	printf("Data block size: \t%u\n", p->data_block_size);
	printf("Hash blocks:     \t%" PRIu64 "\n", l.hash_blocks);
	printf("Hash block size: \t%u\n", p->hash_block_size);
	printf("Hash algorithm:  \t%s\n", p->algorithm);
	printf("Salt:            \t%s\n", salt);
	if (root)
		printf("Root hash:      \t%s\n", root_hex);
	/* veritysetup knows the device size only for an area at offset 0. */
	if (p->hash_offset == 0)
		printf("Hash device size: \t%" PRIu64 " [bytes]\n", l.hash_area_end);
}

static int data_blocks_from_size(const char *data_path, int data_fd, SlVerityParams *p)
{
	uint64_t size;
	int r;

	if (arg_has_data_blocks)
		return 0;
	r = sl_fd_size(data_fd, &size);
	if (r < 0)
		return sl_cli_fail(data_path, r);
	p->data_blocks = size / p->data_block_size;
	if (p->data_blocks == 0)
		return sl_cli_failf("%s: smaller than one data block (%u bytes)", data_path,
				    p->data_block_size);
	return 0;
}

static int verity_format(int argc, char **argv)
{
	_cleanup_close_ int data_fd = -1, hash_fd = -1;
	uint8_t root[SL_VERITY_DIGEST_MAX];
	SlVerityParams *p = &arg_params;
	const char *data_path, *hash_path;
	int r;

	r = parse_options(argc, argv);
	if (r)
		return r < 0 ? SL_EXIT_OK : r;
	if (argc - optind != 2)
		return sl_cli_usage_error("expected DATA and HASH");
	data_path = argv[optind];
	hash_path = argv[optind + 1];

	/* veritysetup's defaults: a random 32-byte salt and a random UUID. */
	if (!arg_has_salt) {
		p->salt_size = 32;
		r = sl_random_bytes(p->salt, p->salt_size);
		if (r < 0)
			return sl_cli_fail(NULL, r);
	}
	if (!arg_has_uuid && p->superblock) {
		r = sl_uuid_random(&p->uuid);
		if (r < 0)
			return sl_cli_fail(NULL, r);
	}

	r = open_file(data_path, O_RDONLY, &data_fd);
	if (r < 0)
		return sl_cli_fail(data_path, r);
	r = data_blocks_from_size(data_path, data_fd, p);
	if (r)
		return r;
	r = open_file(hash_path, O_RDWR | O_CREAT, &hash_fd);
	if (r < 0)
		return sl_cli_fail(hash_path, r);

	sl_error_clear();
	r = sl_verity_format(data_fd, hash_fd, p, arg_threads, root);
	if (r < 0)
		return sl_cli_fail(r == -EINVAL || r == -ENOSPC ? hash_path : data_path, r);

	if (arg_root_hash_file) {
		char hex[SL_VERITY_HEX_MAX];

		sl_hex_encode(root, sl_verity_digest_size(p->algorithm), hex);
		/* Like veritysetup: the hex digest without a newline. */
		r = sl_write_file_atomic(arg_root_hash_file, hex, strlen(hex), 0644);
		if (r < 0)
			return sl_cli_fail(arg_root_hash_file, r);
	}
	print_report(hash_path, p, root);
	return SL_EXIT_OK;
}

/* With a superblock, options the user gave must agree with it. */
static int check_option_conflicts(const char *hash_path, const SlVerityParams *sb)
{
	const SlVerityParams *o = &arg_params;

#define CONFLICT(has, field, opt, fmt)                                                     \
	if ((has) && o->field != sb->field)                                                \
		return sl_cli_failf("%s: %s " fmt " does not match the superblock's " fmt, \
				    hash_path, opt, o->field, sb->field);
	CONFLICT(arg_has_data_block_size, data_block_size, "--data-block-size", "%u");
	CONFLICT(arg_has_hash_block_size, hash_block_size, "--hash-block-size", "%u");
	CONFLICT(arg_has_data_blocks, data_blocks, "--data-blocks", "%" PRIu64);
	CONFLICT(arg_has_format, hash_type, "--format", "%u");
#undef CONFLICT
	if (arg_has_hash && !streq(o->algorithm, sb->algorithm))
		return sl_cli_failf("%s: --hash %s does not match the superblock's %s", hash_path,
				    o->algorithm, sb->algorithm);
	if (arg_has_salt &&
	    (o->salt_size != sb->salt_size || memcmp(o->salt, sb->salt, o->salt_size) != 0))
		return sl_cli_failf("%s: --salt does not match the superblock's salt", hash_path);
	if (arg_has_uuid && !sl_uuid_equal(&o->uuid, &sb->uuid))
		return sl_cli_failf("%s: --uuid does not match the superblock's UUID", hash_path);
	return 0;
}

/* Reads and decodes the superblock at --hash-offset into *ret. */
static int load_superblock(const char *hash_path, int hash_fd, SlVerityParams *ret)
{
	uint8_t buf[SL_VERITY_SUPERBLOCK_SIZE];
	uint64_t size;
	int r;

	r = sl_fd_size(hash_fd, &size);
	if (r < 0)
		return sl_cli_fail(hash_path, r);
	if (!sl_range_ok(arg_params.hash_offset, sizeof(buf), size))
		return sl_cli_failf("%s: no verity superblock at offset %" PRIu64
				    " (the file has %" PRIu64 " bytes)",
				    hash_path, arg_params.hash_offset, size);
	r = sl_pread_all(hash_fd, buf, sizeof(buf), arg_params.hash_offset);
	if (r < 0)
		return sl_cli_fail(hash_path, r);
	r = sl_verity_superblock_decode(buf, sizeof(buf), ret);
	if (r < 0)
		return sl_cli_fail(hash_path, r);
	ret->hash_offset = arg_params.hash_offset;
	return 0;
}

static int read_root_hash(const char *arg, size_t digest_size, uint8_t *root)
{
	_cleanup_free_ uint8_t *file = NULL;
	char text[2 * SL_VERITY_DIGEST_MAX + 2];
	size_t len, n;
	int r;

	if (arg_root_hash_file) {
		r = sl_read_file(arg_root_hash_file, 4096, &file, &len);
		if (r < 0)
			return sl_cli_fail(arg_root_hash_file, r);
		while (len && (file[len - 1] == '\n' || file[len - 1] == ' '))
			file[--len] = 0;
		arg = (const char *)file;
	}
	if (strlen(arg) != 2 * digest_size)
		return sl_cli_failf("root hash '%.140s' is not %zu hex digits", arg,
				    2 * digest_size);
	snprintf(text, sizeof(text), "%s", arg);
	r = sl_hex_decode(text, root, SL_VERITY_DIGEST_MAX, &n);
	if (r < 0)
		return sl_cli_failf("root hash: %s", sl_error_message(r));
	return 0;
}

static int verity_verify(int argc, char **argv)
{
	_cleanup_close_ int data_fd = -1, hash_fd = -1;
	uint8_t root[SL_VERITY_DIGEST_MAX];
	SlVerityParams p;
	SlVerityCorruption bad;
	const char *data_path, *hash_path, *root_arg = NULL;
	char hex[SL_VERITY_HEX_MAX];
	int r;

	r = parse_options(argc, argv);
	if (r)
		return r < 0 ? SL_EXIT_OK : r;
	if (argc - optind != 3 - !!arg_root_hash_file)
		return sl_cli_usage_error("expected DATA HASH ROOTHASH (or --root-hash-file)");
	data_path = argv[optind];
	hash_path = argv[optind + 1];
	if (!arg_root_hash_file)
		root_arg = argv[optind + 2];

	r = open_file(data_path, O_RDONLY, &data_fd);
	if (r < 0)
		return sl_cli_fail(data_path, r);
	r = open_file(hash_path, O_RDONLY, &hash_fd);
	if (r < 0)
		return sl_cli_fail(hash_path, r);

	if (arg_params.superblock) {
		r = load_superblock(hash_path, hash_fd, &p);
		if (r)
			return r;
		r = check_option_conflicts(hash_path, &p);
		if (r)
			return r;
	} else {
		p = arg_params;
		r = data_blocks_from_size(data_path, data_fd, &p);
		if (r)
			return r;
	}
	r = read_root_hash(root_arg, sl_verity_digest_size(p.algorithm), root);
	if (r)
		return r;

	sl_error_clear();
	r = sl_verity_verify(data_fd, hash_fd, &p, root, sl_verity_digest_size(p.algorithm),
			     arg_threads, &bad);
	if (r == -EUCLEAN)
		return sl_cli_fail(bad.area == SL_VERITY_AREA_DATA ? data_path : hash_path, r);
	if (r < 0)
		return sl_cli_fail(r == -EBADMSG && strstr(sl_error_message(r), "hash") ? hash_path
											: data_path,
				   r);

	sl_hex_encode(root, sl_verity_digest_size(p.algorithm), hex);
	if (arg_output == SL_OUTPUT_JSON) {
		SlJson j;

		sl_json_init(&j, stdout, true);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "data_device", data_path);
		sl_json_kv_string(&j, "hash_device", hash_path);
		sl_json_kv_string(&j, "root_hash", hex);
		sl_json_kv_uint(&j, "data_blocks", p.data_blocks);
		sl_json_kv_bool(&j, "verified", true);
		sl_json_end_object(&j);
		sl_json_finish(&j);
	} else {
		printf("%s: %" PRIu64 " data blocks verified against root hash %s\n", data_path,
		       p.data_blocks, hex);
	}
	return SL_EXIT_OK;
}

static int verity_dump(int argc, char **argv)
{
	_cleanup_close_ int hash_fd = -1;
	const char *hash_path;
	SlVerityParams p;
	int r;

	r = parse_options(argc, argv);
	if (r)
		return r < 0 ? SL_EXIT_OK : r;
	if (argc - optind != 1)
		return sl_cli_usage_error("expected HASH");
	hash_path = argv[optind];
	r = open_file(hash_path, O_RDONLY, &hash_fd);
	if (r < 0)
		return sl_cli_fail(hash_path, r);
	r = load_superblock(hash_path, hash_fd, &p);
	if (r)
		return r;
	print_report(hash_path, &p, NULL);
	return SL_EXIT_OK;
}

#define COMMON_OPTIONS                                                                     \
	"      --hash=ALG             sha256 (default), sha1 or sha512\n"                  \
	"      --data-block-size=N    data block size in bytes (default 4096)\n"           \
	"      --hash-block-size=N    hash block size in bytes (default 4096)\n"           \
	"      --data-blocks=N        number of data blocks (default: all of DATA)\n"      \
	"      --hash-offset=BYTES    where the verity area starts on HASH (default 0);\n" \
	"                             DATA and HASH may then be the same file or device\n" \
	"  -s, --salt=HEX|-           salt, up to 256 bytes (default: 32 random bytes)\n"  \
	"      --format=0|1           1: normal (default), 0: original Chrome OS\n"        \
	"      --no-superblock        no superblock: parameters come from the options\n"   \
	"      --uuid=UUID            UUID stored in the superblock (default: random)\n"   \
	"      --root-hash-file=FILE  root hash in FILE (hex, no newline)\n"               \
	"      --threads=N            hashing threads (default: the online CPUs)\n"        \
	"  -o, --output=json|table    output format (default table)\n"                     \
	"  -h, --help                 this help\n"

static const SlCommand verity_format_cmd = {
	.name = "format",
	.summary = "Build a hash tree for DATA into HASH and print its root hash.",
	.usage = "[OPTIONS] DATA HASH\n\n" COMMON_OPTIONS,
	.run = verity_format,
};

static const SlCommand verity_verify_cmd = {
	.name = "verify",
	.summary = "Check DATA and HASH against ROOTHASH; name the first corrupted block.",
	.usage = "[OPTIONS] DATA HASH [ROOTHASH]\n\n"
		 "With a superblock the parameters are read from it (options given must agree).\n"
		 "Exit 1 naming the data or hash block when anything does not "
		 "match.\n\n" COMMON_OPTIONS,
	.run = verity_verify,
};

static const SlCommand verity_dump_cmd = {
	.name = "dump",
	.summary = "Print the verity superblock of HASH.",
	.usage = "[--hash-offset=BYTES] [-o json|table] HASH\n",
	.run = verity_dump,
};

static const SlCommand *const verity_children[] = {
	&verity_format_cmd,
	&verity_verify_cmd,
	&verity_dump_cmd,
	NULL,
};

const SlCommand sl_cmd_verity = {
	.name = "verity",
	.summary = "dm-verity hash trees (veritysetup-compatible).",
	.children = verity_children,
};
