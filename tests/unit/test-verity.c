/* SPDX-License-Identifier: MIT */
/*
 * lib/verity: superblock, layout and table line against veritysetup's vectors
 * (tests/vectors/verity/, made by generate.sh there), and every refusal of a
 * malformed superblock, each printed as a TAP comment; the SHA-NI SHA-256 path
 * against the NIST vectors, OpenSSL and the OpenSSL-built tree.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>

#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/strutil.h"
#include "slate/verity.h"
#include "test.h"
#include "verity-vectors.h"
#include "../../lib/verity/digest.h"
#include "../../lib/verity/sha256.h"

static void assert_params_equal(const SlVerityParams *a, const SlVerityParams *b)
{
	ASSERT_EQ(a->hash_type, b->hash_type);
	ASSERT_STREQ(a->algorithm, b->algorithm);
	ASSERT_UEQ(a->data_block_size, b->data_block_size);
	ASSERT_UEQ(a->hash_block_size, b->hash_block_size);
	ASSERT_UEQ(a->data_blocks, b->data_blocks);
	ASSERT_UEQ(a->hash_offset, b->hash_offset);
	ASSERT_EQ(a->superblock, b->superblock);
	ASSERT_TRUE(sl_uuid_equal(&a->uuid, &b->uuid));
	ASSERT_EQ(a->salt_size, b->salt_size);
	ASSERT_MEMEQ(a->salt, b->salt, a->salt_size);
}

TEST(vectors_superblock_and_layout)
{
	VerityVector *v = NULL;
	size_t n = 0;

	vv_load(&v, &n);
	ASSERT_TRUE(n >= 9);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ uint8_t *hash = NULL;
		size_t hash_len;
		SlVerityLayout l;
		SlVerityParams got;
		uint8_t enc[SL_VERITY_SUPERBLOCK_SIZE];

		hash = vv_read_hash(&v[i], &hash_len);
		ASSERT_OK(sl_verity_layout(&v[i].params, &l));
		/* veritysetup writes exactly up to the end of the tree. */
		ASSERT_UEQ(l.hash_area_end, hash_len);
		ASSERT_OK(sl_verity_check_sizes(
			&v[i].params, v[i].params.data_blocks * v[i].params.data_block_size,
			hash_len, false));
		if (!v[i].params.superblock)
			continue;
		ASSERT_OK(sl_verity_superblock_decode(hash + v[i].params.hash_offset,
						      hash_len - v[i].params.hash_offset, &got));
		got.hash_offset = v[i].params.hash_offset;
		assert_params_equal(&got, &v[i].params);
		ASSERT_OK(sl_verity_superblock_encode(&v[i].params, enc));
		ASSERT_MEMEQ(enc, hash + v[i].params.hash_offset, sizeof(enc));
	}
	vv_free(v, n);
}

TEST(layout_geometry)
{
	SlVerityParams p;
	SlVerityLayout l;

	/* SPEC.md §1.3: 1 GiB, 4 KiB, sha256: levels 3, sizes 2048/16/1. */
	sl_verity_params_init(&p);
	p.data_blocks = 262144;
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_EQ(l.levels, 3);
	ASSERT_EQ(l.per_block_bits, 7);
	ASSERT_UEQ(l.level_blocks[0], 2048);
	ASSERT_UEQ(l.level_blocks[1], 16);
	ASSERT_UEQ(l.level_blocks[2], 1);
	ASSERT_UEQ(l.hash_blocks, 2065);
	ASSERT_UEQ(l.hash_start_block, 1);
	ASSERT_UEQ(l.level_block[2], 1);
	ASSERT_UEQ(l.level_block[1], 2);
	ASSERT_UEQ(l.level_block[0], 18);
	ASSERT_UEQ(l.hash_area_end, (1 + 2065) * 4096);

	/* One block: no levels, root = digest of the block. */
	p.data_blocks = 1;
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_EQ(l.levels, 0);
	ASSERT_UEQ(l.hash_area_end, 4096);

	/* 129 blocks: two levels (128 per block). */
	p.data_blocks = 129;
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_EQ(l.levels, 2);
	p.data_blocks = 128;
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_EQ(l.levels, 1);

	/* sha1, format 1: 20-byte digests padded to 32; format 0: packed. */
	strcpy(p.algorithm, "sha1");
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_EQ(l.digest_stride, 32);
	p.hash_type = 0;
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_EQ(l.digest_stride, 20);
	ASSERT_EQ(l.per_block_bits, 7);

	/* Superblock at 1536 with 4 KiB blocks: first hash block 1 (ceil(2048/4096)). */
	sl_verity_params_init(&p);
	p.data_blocks = 17;
	p.hash_offset = 1536;
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_UEQ(l.hash_start_block, 1);
	p.hash_offset = 4096;
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_UEQ(l.hash_start_block, 2);
	p.superblock = false;
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_UEQ(l.hash_start_block, 1);

	/* The largest tree: 2^63 - 1 bytes of data still lays out without overflow. */
	sl_verity_params_init(&p);
	p.data_block_size = 512;
	p.hash_block_size = 512;
	strcpy(p.algorithm, "sha512");
	p.data_blocks = (UINT64_C(1) << 54) - 1;
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_EQ(l.levels, 18);
}

static void show_refusal(const char *what, int r)
{
	printf("# %s: refused: %s\n", what, sl_error_message(r));
}

#define ASSERT_PARAMS_REFUSED(p, err, what)            \
	do {                                           \
		SlVerityLayout _l;                     \
		int _vr = sl_verity_layout(&(p), &_l); \
		ASSERT_ERR(_vr, err);                  \
		show_refusal(what, _vr);               \
	} while (0)

TEST(params_refused)
{
	SlVerityParams p, base;

	sl_verity_params_init(&base);
	base.data_blocks = 8;

	p = base;
	p.hash_type = 2;
	ASSERT_PARAMS_REFUSED(p, -EOPNOTSUPP, "hash type 2");
	p = base;
	strcpy(p.algorithm, "md5");
	ASSERT_PARAMS_REFUSED(p, -EOPNOTSUPP, "algorithm md5");
	p = base;
	p.data_block_size = 4000;
	ASSERT_PARAMS_REFUSED(p, -EBADMSG, "data block size 4000");
	p = base;
	p.hash_block_size = 256;
	ASSERT_PARAMS_REFUSED(p, -EBADMSG, "hash block size 256");
	p = base;
	p.hash_block_size = 1u << 20;
	ASSERT_PARAMS_REFUSED(p, -EBADMSG, "hash block size 1 MiB");
	p = base;
	p.salt_size = 257;
	ASSERT_PARAMS_REFUSED(p, -EBADMSG, "salt of 257 bytes");
	p = base;
	p.data_blocks = 0;
	ASSERT_PARAMS_REFUSED(p, -EBADMSG, "no data blocks");
	p = base;
	p.data_blocks = UINT64_MAX / 2;
	ASSERT_PARAMS_REFUSED(p, -EBADMSG, "data blocks overflowing 64 bits");
	p = base;
	p.hash_offset = 1000;
	ASSERT_PARAMS_REFUSED(p, -EINVAL, "hash offset 1000");
	p = base;
	p.superblock = false;
	p.hash_offset = 512;
	ASSERT_PARAMS_REFUSED(p, -EINVAL, "hash offset 512 without superblock, 4 KiB blocks");
	p = base;
	p.hash_offset = UINT64_MAX - 511;
	ASSERT_PARAMS_REFUSED(p, -EBADMSG, "hash offset near 2^64");
}

TEST(check_sizes)
{
	SlVerityParams p;
	int r;

	sl_verity_params_init(&p);
	p.data_blocks = 10;
	ASSERT_OK(sl_verity_check_sizes(&p, 40960, 8192, false));
	ASSERT_OK(sl_verity_check_sizes(&p, 40961, 9000, false));
	r = sl_verity_check_sizes(&p, 40959, 8192, false);
	ASSERT_ERR(r, -EBADMSG);
	show_refusal("data device one byte short", r);
	r = sl_verity_check_sizes(&p, 40960, 8191, false);
	ASSERT_ERR(r, -EBADMSG);
	show_refusal("hash device one byte short", r);
	/* Same device: the hash area must begin after the data. */
	p.hash_offset = 36864;
	r = sl_verity_check_sizes(&p, 1 << 20, 1 << 20, true);
	ASSERT_ERR(r, -EINVAL);
	show_refusal("hash area inside the data area", r);
	p.hash_offset = 40960;
	ASSERT_OK(sl_verity_check_sizes(&p, 49152, 49152, true));
}

/* A valid superblock to damage: the spec-index vector's. */
static void good_superblock(uint8_t sb[static SL_VERITY_SUPERBLOCK_SIZE])
{
	SlVerityParams p;
	size_t n;

	sl_verity_params_init(&p);
	p.data_blocks = 130;
	ASSERT_OK(sl_uuid_parse("12345678-9abc-def0-1234-56789abcdef0", &p.uuid));
	ASSERT_OK(sl_hex_decode("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
				p.salt, sizeof(p.salt), &n));
	p.salt_size = (uint16_t)n;
	ASSERT_OK(sl_verity_superblock_encode(&p, sb));
}

#define ASSERT_SB_REFUSED(buf, len, err, what)                            \
	do {                                                              \
		SlVerityParams _p;                                        \
		int _vr = sl_verity_superblock_decode((buf), (len), &_p); \
		ASSERT_ERR(_vr, err);                                     \
		show_refusal(what, _vr);                                  \
	} while (0)

TEST(superblock_refused)
{
	uint8_t good[SL_VERITY_SUPERBLOCK_SIZE], sb[SL_VERITY_SUPERBLOCK_SIZE];
	SlVerityParams p;

	good_superblock(good);
	ASSERT_OK(sl_verity_superblock_decode(good, sizeof(good), &p));
	ASSERT_UEQ(p.data_blocks, 130);

	ASSERT_SB_REFUSED(good, 511, -EBADMSG, "truncated to 511 bytes");
	ASSERT_SB_REFUSED(good, 0, -EBADMSG, "empty");

	memcpy(sb, good, sizeof(sb));
	sb[0] = 'V';
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "bad magic");
	memcpy(sb, good, sizeof(sb));
	sb[7] = 1;
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "bad magic padding");

	memcpy(sb, good, sizeof(sb));
	sl_put_le32(sb + 8, 2);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EOPNOTSUPP, "version 2");
	sl_put_le32(sb + 8, 0);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EOPNOTSUPP, "version 0");

	memcpy(sb, good, sizeof(sb));
	sl_put_le32(sb + 12, 7);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EOPNOTSUPP, "hash type 7");

	memcpy(sb, good, sizeof(sb));
	memcpy(sb + 32, "whirlpool", 10);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EOPNOTSUPP, "algorithm whirlpool");
	memcpy(sb, good, sizeof(sb));
	memset(sb + 32, 'a', 32);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "unterminated algorithm");
	memcpy(sb, good, sizeof(sb));
	sb[40] = 'x';
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "garbage after the algorithm name");

	memcpy(sb, good, sizeof(sb));
	sl_put_le32(sb + 64, 0);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "data block size 0");
	sl_put_le32(sb + 64, 4097);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "data block size 4097");
	sl_put_le32(sb + 64, 256);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "data block size 256");
	sl_put_le32(sb + 64, UINT32_C(1) << 31);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "data block size 2 GiB");
	memcpy(sb, good, sizeof(sb));
	sl_put_le32(sb + 68, 1u << 20);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "hash block size 1 MiB");
	sl_put_le32(sb + 68, 3000);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "hash block size 3000");

	memcpy(sb, good, sizeof(sb));
	sl_put_le64(sb + 72, 0);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "zero data blocks");
	sl_put_le64(sb + 72, UINT64_MAX);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "2^64-1 data blocks");

	memcpy(sb, good, sizeof(sb));
	sl_put_le16(sb + 80, 257);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "salt size 257");
	sl_put_le16(sb + 80, 0xffff);
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "salt size 65535");

	memcpy(sb, good, sizeof(sb));
	sb[84] = 1;
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "non-zero padding after salt size");
	memcpy(sb, good, sizeof(sb));
	sb[88 + 32] = 1;
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "non-zero byte after the salt");
	memcpy(sb, good, sizeof(sb));
	sb[511] = 1;
	ASSERT_SB_REFUSED(sb, sizeof(sb), -EBADMSG, "non-zero final padding");

	/* Longer buffers are fine: only the first 512 bytes count. */
	{
		uint8_t big[4096] = { 0 };

		memcpy(big, good, sizeof(good));
		big[4000] = 0xff;
		ASSERT_OK(sl_verity_superblock_decode(big, sizeof(big), &p));
	}
}

TEST(superblock_data_blocks_overflow_device)
{
	uint8_t sb[SL_VERITY_SUPERBLOCK_SIZE];
	SlVerityParams p;
	int r;

	/* A valid superblock claiming more data than the device holds. */
	good_superblock(sb);
	sl_put_le64(sb + 72, UINT64_C(1) << 40);
	ASSERT_OK(sl_verity_superblock_decode(sb, sizeof(sb), &p));
	r = sl_verity_check_sizes(&p, 130 * 4096, 1u << 30, false);
	ASSERT_ERR(r, -EBADMSG);
	show_refusal("2^40 data blocks on a 130-block device", r);
	/* The tree for 2^40 blocks does not fit on the hash device either. */
	r = sl_verity_check_sizes(&p, UINT64_C(1) << 53, 16384, false);
	ASSERT_ERR(r, -EBADMSG);
	show_refusal("tree larger than the hash device", r);
}

TEST(table_line)
{
	static const char expect[] =
		"0 1040 verity 1 /dev/loop0 /dev/loop1 4096 4096 130 1 sha256 "
		"ad83ec81416b7305bd6248962b2023ea0a876bfd1e501d584d9aa5b1303ead9c "
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
		"2 panic_on_corruption ignore_zero_blocks";
	uint8_t sb[SL_VERITY_SUPERBLOCK_SIZE], root[32];
	SlVerityTableOptions o = { 0 };
	SlVerityParams p;
	char *line;
	size_t n;
	int r;

	good_superblock(sb);
	ASSERT_OK(sl_verity_superblock_decode(sb, sizeof(sb), &p));
	ASSERT_OK(sl_hex_decode("ad83ec81416b7305bd6248962b2023ea0a876bfd1e501d584d9aa5b1303ead9c",
				root, sizeof(root), &n));

	/* SPEC.md §1.5's example. */
	o.on_corruption = SL_VERITY_CORRUPTION_PANIC;
	o.ignore_zero_blocks = true;
	ASSERT_OK(sl_verity_table_line(&p, "/dev/loop0", "/dev/loop1", root, 32, &o, &line));
	ASSERT_STREQ(line, expect);
	free(line);

	/* No options: no count. */
	ASSERT_OK(sl_verity_table_line(&p, "7:0", "7:1", root, 32, NULL, &line));
	ASSERT_STREQ(line, "0 1040 verity 1 7:0 7:1 4096 4096 130 1 sha256 "
			   "ad83ec81416b7305bd6248962b2023ea0a876bfd1e501d584d9aa5b1303ead9c "
			   "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	free(line);

	/* Everything: the key description counts two tokens. */
	o = (SlVerityTableOptions){
		.on_corruption = SL_VERITY_CORRUPTION_RESTART,
		.on_error = SL_VERITY_ERROR_PANIC,
		.ignore_zero_blocks = true,
		.check_at_most_once = true,
		.root_hash_sig_key_desc = "slate:usr",
	};
	ASSERT_OK(sl_verity_table_line(&p, "/dev/vda2", "/dev/vda3", root, 32, &o, &line));
	ASSERT_TRUE(strstr(line, " 6 restart_on_corruption panic_on_error ignore_zero_blocks "
				 "check_at_most_once root_hash_sig_key_desc slate:usr") != NULL);
	free(line);

	/* Empty salt is "-"; no superblock, hash offset 1 MiB: start block 256. */
	p.salt_size = 0;
	p.superblock = false;
	p.hash_offset = 1 << 20;
	p.hash_type = 0;
	ASSERT_OK(sl_verity_table_line(&p, "/dev/vda2", "/dev/vda2", root, 32, NULL, &line));
	ASSERT_STREQ(line, "0 1040 verity 0 /dev/vda2 /dev/vda2 4096 4096 130 256 sha256 "
			   "ad83ec81416b7305bd6248962b2023ea0a876bfd1e501d584d9aa5b1303ead9c -");
	free(line);

	/* Refusals. */
	r = sl_verity_table_line(&p, "/dev/a b", "/dev/c", root, 32, NULL, &line);
	ASSERT_ERR(r, -EINVAL);
	show_refusal("device name with a space", r);
	r = sl_verity_table_line(&p, "/dev/a", "", root, 32, NULL, &line);
	ASSERT_ERR(r, -EINVAL);
	r = sl_verity_table_line(&p, "/dev/a", "/dev/b", root, 20, NULL, &line);
	ASSERT_ERR(r, -EINVAL);
	show_refusal("20-byte root hash for sha256", r);
	o = (SlVerityTableOptions){ .root_hash_sig_key_desc = "two words" };
	r = sl_verity_table_line(&p, "/dev/a", "/dev/b", root, 32, &o, &line);
	ASSERT_ERR(r, -EINVAL);
	o = (SlVerityTableOptions){ .on_corruption = (SlVerityOnCorruption)9 };
	r = sl_verity_table_line(&p, "/dev/a", "/dev/b", root, 32, &o, &line);
	ASSERT_ERR(r, -EINVAL);
}

/* ---- Hashing (OpenSSL) ---- */

static char *tmp_path(const char *name)
{
	char *p = sl_asprintf("%s/%s", sl_test_tmpdir(), name);

	ASSERT_TRUE(p);
	return p;
}

static int write_new_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(sl_pwrite_all(fd, buf, len, 0));
	return fd;
}

static void format_vectors(unsigned threads)
{
	VerityVector *v = NULL;
	size_t n = 0;

	vv_load(&v, &n);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ uint8_t *data = NULL, *want = NULL, *got = NULL;
		_cleanup_free_ char *dpath = tmp_path("data"), *hpath = tmp_path("hash");
		_cleanup_close_ int dfd = -1, hfd = -1;
		uint8_t root[SL_VERITY_DIGEST_MAX];
		size_t dlen, wlen, glen;

		data = vv_make_data(&v[i], &dlen);
		want = vv_read_hash(&v[i], &wlen);
		dfd = write_new_file(dpath, data, dlen);
		hfd = write_new_file(hpath, "", 0);
		ASSERT_OK(sl_verity_format(dfd, hfd, &v[i].params, threads, root));
		if (memcmp(root, v[i].root, v[i].root_size) != 0)
			sl_test_fail(__FILE__, __LINE__, "%s: root hash differs", v[i].name);
		ASSERT_OK(sl_read_file(hpath, 64 << 20, &got, &glen));
		ASSERT_UEQ(glen, wlen);
		if (memcmp(got, want, wlen) != 0)
			sl_test_fail(__FILE__, __LINE__, "%s: hash area differs", v[i].name);
		/* And veritysetup's own tree verifies. */
		close(hfd);
		hfd = write_new_file(hpath, want, wlen);
		ASSERT_OK(sl_verity_verify(dfd, hfd, &v[i].params, v[i].root, v[i].root_size,
					   threads, NULL));
	}
	vv_free(v, n);
}

TEST(vectors_format_verify_1_thread)
{
	format_vectors(1);
}

TEST(vectors_format_verify_3_threads)
{
	format_vectors(3);
}

TEST(vectors_format_verify_read_path)
{
	/* The pread path instead of the mapping. */
	setenv("SLATE_VERITY_NO_MMAP", "1", 1);
	format_vectors(2);
	unsetenv("SLATE_VERITY_NO_MMAP");
}

TEST(vectors_format_verify_openssl_sha256)
{
	/* On a CPU with the SHA extensions the tests above hash sha256 with
	 * lib/verity/sha256.c: the OpenSSL path must match veritysetup too. */
	setenv("SLATE_VERITY_NO_SHANI", "1", 1);
	ASSERT_FALSE(verity_sha256_fast());
	format_vectors(2);
	unsetenv("SLATE_VERITY_NO_SHANI");
}

/* A multi-level tree with small blocks: 3000 blocks of 512 bytes, 16 digests per
 * hash block (sha256, 512-byte hash blocks) -> levels 188/12/1. */
static void small_tree_params(SlVerityParams *p)
{
	sl_verity_params_init(p);
	p->data_block_size = 512;
	p->hash_block_size = 512;
	p->data_blocks = 3000;
	p->salt_size = 5;
	memcpy(p->salt, "salty", 5);
}

static uint8_t *pattern(size_t len, uint32_t seed)
{
	uint8_t *b = malloc(len);

	ASSERT_TRUE(b);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
	return b;
}

TEST(same_file_with_hash_offset)
{
	_cleanup_free_ char *path = tmp_path("both");
	_cleanup_free_ uint8_t *data = NULL;
	_cleanup_close_ int fd = -1, fd2 = -1;
	uint8_t root[SL_VERITY_DIGEST_MAX], root2[SL_VERITY_DIGEST_MAX];
	SlVerityParams p;
	SlVerityLayout l;
	int r;

	small_tree_params(&p);
	data = pattern(3000 * 512, 7);
	fd = write_new_file(path, data, 3000 * 512);
	fd2 = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_TRUE(fd2 >= 0);

	/* Overlap refused, with either fd. */
	p.hash_offset = 2999 * 512;
	r = sl_verity_format(fd, fd2, &p, 2, root);
	ASSERT_ERR(r, -EINVAL);
	show_refusal("hash area inside the data, same file", r);

	p.hash_offset = 3000 * 512;
	ASSERT_OK(sl_verity_format(fd, fd2, &p, 2, root));
	ASSERT_OK(sl_verity_verify(fd, fd, &p, root, 32, 2, NULL));
	ASSERT_OK(sl_verity_layout(&p, &l));
	/* The data is untouched, and the same tree in a separate file gives the same root. */
	{
		_cleanup_free_ uint8_t *back = malloc(3000 * 512);
		_cleanup_free_ char *hpath = tmp_path("sep");
		_cleanup_close_ int hfd = write_new_file(hpath, "", 0);

		ASSERT_OK(sl_pread_all(fd, back, 3000 * 512, 0));
		ASSERT_MEMEQ(back, data, 3000 * 512);
		p.hash_offset = 0;
		ASSERT_OK(sl_verity_format(fd, hfd, &p, 1, root2));
		ASSERT_MEMEQ(root, root2, 32);
	}
}

TEST(every_changed_byte_is_named)
{
	_cleanup_free_ char *dpath = tmp_path("cdata"), *hpath = tmp_path("chash");
	_cleanup_free_ uint8_t *data = NULL;
	_cleanup_close_ int dfd = -1, hfd = -1;
	uint8_t root[SL_VERITY_DIGEST_MAX];
	SlVerityCorruption bad;
	SlVerityParams p;
	SlVerityLayout l;
	unsigned tried = 0;
	int r;

	small_tree_params(&p);
	p.hash_block_size = 1024;
	p.hash_offset = 1024; /* superblock at 1024, zero gap to 2048, tree from block 2 */
	ASSERT_OK(sl_verity_layout(&p, &l));
	ASSERT_EQ(l.levels, 3);
	data = pattern(3000 * 512, 11);
	dfd = write_new_file(dpath, data, 3000 * 512);
	hfd = write_new_file(hpath, "", 0);
	ASSERT_OK(sl_verity_format(dfd, hfd, &p, 2, root));
	ASSERT_OK(sl_verity_verify(dfd, hfd, &p, root, 32, 2, &bad));
	ASSERT_EQ(bad.area, SL_VERITY_AREA_NONE);

	/* Every byte after the superblock in the hash area (gap, every hash block
	 * and its padding), and a spread of data bytes: flip, verify, restore. */
	for (uint64_t off = p.hash_offset + SL_VERITY_SUPERBLOCK_SIZE; off < l.hash_area_end;
	     off += 5 + off % 7) {
		uint8_t b, x;

		ASSERT_OK(sl_pread_all(hfd, &b, 1, off));
		x = b ^ (uint8_t)(1u << (off % 8));
		ASSERT_OK(sl_pwrite_all(hfd, &x, 1, off));
		r = sl_verity_verify(dfd, hfd, &p, root, 32, 2, &bad);
		ASSERT_OK(sl_pwrite_all(hfd, &b, 1, off));
		if (r != -EUCLEAN || bad.area != SL_VERITY_AREA_HASH || bad.block != off / 1024)
			sl_test_fail(__FILE__, __LINE__,
				     "hash byte %" PRIu64 ": got %d, area %d, block %" PRIu64, off,
				     r, bad.area, bad.block);
		if (tried++ % 1000 == 0)
			printf("# hash byte %" PRIu64 ": %s\n", off, sl_error_message(r));
	}
	for (uint64_t off = 0; off < 3000 * 512; off += 4093) {
		uint8_t b, x;

		ASSERT_OK(sl_pread_all(dfd, &b, 1, off));
		x = (uint8_t)~b;
		ASSERT_OK(sl_pwrite_all(dfd, &x, 1, off));
		r = sl_verity_verify(dfd, hfd, &p, root, 32, 2, &bad);
		ASSERT_OK(sl_pwrite_all(dfd, &b, 1, off));
		if (r != -EUCLEAN || bad.area != SL_VERITY_AREA_DATA || bad.block != off / 512 ||
		    bad.offset != off / 512 * 512)
			sl_test_fail(__FILE__, __LINE__,
				     "data byte %" PRIu64 ": got %d, area %d, block %" PRIu64, off,
				     r, bad.area, bad.block);
		if (tried++ % 150 == 0)
			printf("# data byte %" PRIu64 ": %s\n", off, sl_error_message(r));
	}
	printf("# %u single-byte changes, each one found and named\n", tried);
	/* The last data block and the wrong root. */
	root[31] ^= 1;
	r = sl_verity_verify(dfd, hfd, &p, root, 32, 1, &bad);
	ASSERT_ERR(r, -EUCLEAN);
	ASSERT_EQ(bad.area, SL_VERITY_AREA_HASH);
	ASSERT_UEQ(bad.block, l.level_block[2]);
	show_refusal("wrong root hash", r);
}

TEST(truncated_files_refused)
{
	_cleanup_free_ char *dpath = tmp_path("tdata"), *hpath = tmp_path("thash");
	_cleanup_free_ uint8_t *data = NULL;
	_cleanup_close_ int dfd = -1, hfd = -1;
	uint8_t root[SL_VERITY_DIGEST_MAX];
	SlVerityParams p;
	SlVerityLayout l;
	int r;

	small_tree_params(&p);
	ASSERT_OK(sl_verity_layout(&p, &l));
	data = pattern(3000 * 512, 3);
	dfd = write_new_file(dpath, data, 3000 * 512);
	hfd = write_new_file(hpath, "", 0);
	ASSERT_OK(sl_verity_format(dfd, hfd, &p, 2, root));

	ASSERT_OK(ftruncate(hfd, (off_t)l.hash_area_end - 1));
	r = sl_verity_verify(dfd, hfd, &p, root, 32, 2, NULL);
	ASSERT_ERR(r, -EBADMSG);
	show_refusal("hash file one byte short", r);
	ASSERT_OK(ftruncate(dfd, 3000 * 512 - 1));
	r = sl_verity_verify(dfd, hfd, &p, root, 32, 2, NULL);
	ASSERT_ERR(r, -EBADMSG);
	show_refusal("data file one byte short", r);
	r = sl_verity_format(dfd, hfd, &p, 2, root);
	ASSERT_ERR(r, -EBADMSG);
	show_refusal("format of a short data file", r);
	r = sl_verity_verify(dfd, hfd, &p, root, 20, 2, NULL);
	ASSERT_TRUE(r < 0);
}

TEST(threads_agree)
{
	_cleanup_free_ char *dpath = tmp_path("mdata"), *hpath = tmp_path("mhash");
	_cleanup_free_ uint8_t *data = NULL, *first = NULL;
	_cleanup_close_ int dfd = -1, hfd = -1;
	uint8_t root1[SL_VERITY_DIGEST_MAX], root[SL_VERITY_DIGEST_MAX];
	SlVerityParams p;
	size_t len;

	/* 3 MiB + one block: several work chunks, an odd tail. */
	sl_verity_params_init(&p);
	p.data_blocks = 769;
	data = pattern(769 * 4096, 5);
	dfd = write_new_file(dpath, data, 769 * 4096);
	hfd = write_new_file(hpath, "", 0);
	ASSERT_OK(sl_verity_format(dfd, hfd, &p, 1, root1));
	ASSERT_OK(sl_read_file(hpath, 1 << 20, &first, &len));
	for (unsigned t = 2; t <= 9; t += 7) {
		_cleanup_free_ uint8_t *again = NULL;
		size_t len2;

		ASSERT_OK(sl_verity_format(dfd, hfd, &p, t, root));
		ASSERT_MEMEQ(root, root1, 32);
		ASSERT_OK(sl_read_file(hpath, 1 << 20, &again, &len2));
		ASSERT_UEQ(len2, len);
		ASSERT_MEMEQ(again, first, len);
	}
	ASSERT_TRUE(sl_verity_default_threads() >= 1);
}

/* ---- SHA-256 with the SHA extensions (lib/verity/sha256.c) ---- */

static bool sha_ni_or_skip(void)
{
	if (verity_sha256_cpu())
		return true;
	sl_test_skip("this CPU has no SHA extensions");
	return false;
}

/* FIPS 180-2 Appendix B (the same in the NIST CAVP examples): plain SHA-256 is
 * the format 1 node with no salt. */
TEST(sha_ni_nist_vectors)
{
	static const struct {
		const char *msg;
		const char *digest;
	} v[] = {
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmno"
		  "pqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	_cleanup_free_ uint8_t *million = malloc(1000000);
	VeritySha256 s;
	uint8_t got[VERITY_SHA256_LANES][32], want[32];
	uint8_t *out[VERITY_SHA256_LANES] = { got[0], got[1], got[2], got[3] };
	size_t len;

	if (!sha_ni_or_skip())
		return;
	verity_sha256_init(&s, 1, NULL, 0);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		/* Each lane count, all lanes the same message. */
		const uint8_t *in[VERITY_SHA256_LANES];

		for (unsigned l = 0; l < VERITY_SHA256_LANES; l++)
			in[l] = (const uint8_t *)v[i].msg;
		ASSERT_OK(sl_hex_decode(v[i].digest, want, sizeof(want), &len));
		for (unsigned n = 1; n <= VERITY_SHA256_LANES; n++) {
			memset(got, 0, sizeof(got));
			verity_sha256_digest(&s, n, in, strlen(v[i].msg), out);
			for (unsigned l = 0; l < n; l++)
				ASSERT_MEMEQ(got[l], want, 32);
		}
	}
	/* One million "a". */
	ASSERT_TRUE(million);
	memset(million, 'a', 1000000);
	ASSERT_OK(sl_hex_decode("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
				want, sizeof(want), &len));
	verity_sha256_digest(&s, 1, (const uint8_t *const[]){ million }, 1000000, out);
	ASSERT_MEMEQ(got[0], want, 32);
}

/* The node digest the way dm-verity defines it, with OpenSSL in one call. */
static void openssl_node(unsigned type, const uint8_t *salt, size_t salt_size, const uint8_t *block,
			 size_t len, uint8_t out[32])
{
	_cleanup_free_ uint8_t *msg = malloc(len + salt_size + 1);

	ASSERT_TRUE(msg);
	if (type == 1) {
		memcpy(msg, salt, salt_size);
		memcpy(msg + salt_size, block, len);
	} else {
		memcpy(msg, block, len);
		memcpy(msg + len, salt, salt_size);
	}
	ASSERT_EQ(EVP_Digest(msg, len + salt_size, out, NULL, EVP_sha256(), NULL), 1);
}

/* Random salts (0..256 bytes), both formats, random lengths and the block sizes
 * 512..65536, 1 to 4 blocks at unaligned places: the same digests as OpenSSL. */
TEST(sha_ni_matches_openssl)
{
	const size_t cap = VERITY_SHA256_LANES * 65536 + 4096;
	_cleanup_free_ uint8_t *buf = pattern(cap, 11);
	uint32_t seed = 1;

	if (!sha_ni_or_skip())
		return;
	for (unsigned c = 0; c < 400; c++) {
		const uint8_t *in[VERITY_SHA256_LANES];
		uint8_t got[VERITY_SHA256_LANES][32], want[32], salt[SL_VERITY_SALT_MAX];
		uint8_t *out[VERITY_SHA256_LANES] = { got[0], got[1], got[2], got[3] };
		unsigned type, n;
		size_t salt_size, len;
		VeritySha256 s;

#define RND() (seed = seed * 1103515245u + 12345u, seed >> 8)
		type = RND() & 1;
		salt_size = RND() % (SL_VERITY_SALT_MAX + 1);
		/* Half the cases a real block size, half any length below 64 KiB. */
		len = (c & 1) ? (size_t)512 << (RND() % 8) : RND() % 65536;
		n = 1 + RND() % VERITY_SHA256_LANES;
		for (size_t i = 0; i < salt_size; i++)
			salt[i] = (uint8_t)RND();
		for (unsigned l = 0; l < n; l++) {
			in[l] = buf + l * 65536 + RND() % 4096;
			ASSERT_TRUE(in[l] + len <= buf + cap);
		}
#undef RND
		verity_sha256_init(&s, type, salt, salt_size);
		verity_sha256_digest(&s, n, in, len, out);
		for (unsigned l = 0; l < n; l++) {
			openssl_node(type, salt, salt_size, in[l], len, want);
			if (memcmp(got[l], want, 32) != 0)
				sl_test_fail(
					__FILE__, __LINE__,
					"format %u, salt %zu bytes, length %zu, lane %u of %u: "
					"differs from OpenSSL",
					type, salt_size, len, l, n);
		}
	}
}

/* A stand-in that is wrong in one case only: format 0 with a 65-byte salt, the
 * third of three blocks. */
static void almost_sha256(const VeritySha256 *s, unsigned n, const uint8_t *const blocks[],
			  size_t len, uint8_t *const out[])
{
	verity_sha256_digest(s, n, blocks, len, out);
	if (s->tail_len == 65 && n == 3)
		out[2][31] ^= 1;
}

TEST(sha_ni_self_test)
{
	if (!sha_ni_or_skip())
		return;
	/* It passes here, so format uses it; a single wrong digest fails it. */
	ASSERT_TRUE(verity_sha256_self_test(verity_sha256_digest));
	ASSERT_TRUE(verity_sha256_fast());
	ASSERT_FALSE(verity_sha256_self_test(almost_sha256));
	setenv("SLATE_VERITY_NO_SHANI", "1", 1);
	ASSERT_FALSE(verity_sha256_fast());
	unsetenv("SLATE_VERITY_NO_SHANI");
}

/* Whole trees, SHA-NI against OpenSSL: both formats, salts around the 64-byte
 * block, data and hash block sizes 512..65536, odd block counts. */
TEST(sha_ni_tree_matches_openssl)
{
	static const struct {
		unsigned type;
		size_t salt, dbs, hbs;
		uint64_t blocks;
	} c[] = {
		{ 1, 32, 4096, 4096, 1027 }, { 0, 32, 4096, 4096, 333 },
		{ 1, 0, 512, 512, 3001 },    { 0, 0, 512, 1024, 999 },
		{ 1, 63, 1024, 512, 517 },   { 0, 64, 2048, 4096, 129 },
		{ 1, 65, 65536, 4096, 37 },  { 0, 256, 4096, 65536, 301 },
		{ 1, 256, 8192, 32768, 65 }, { 0, 127, 16384, 2048, 7 },
	};
	_cleanup_free_ char *dpath = tmp_path("ndata"), *hpath = tmp_path("nhash");

	if (!sha_ni_or_skip())
		return;
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		_cleanup_free_ uint8_t *data = NULL, *fast = NULL, *slow = NULL;
		_cleanup_close_ int dfd = -1, hfd = -1;
		uint8_t root[SL_VERITY_DIGEST_MAX], root_ssl[SL_VERITY_DIGEST_MAX];
		SlVerityParams p;
		SlVerityCorruption bad;
		size_t flen, slen, dlen = (size_t)(c[i].blocks * c[i].dbs);

		sl_verity_params_init(&p);
		p.hash_type = c[i].type;
		p.salt_size = c[i].salt;
		for (size_t k = 0; k < c[i].salt; k++)
			p.salt[k] = (uint8_t)(k * 7 + i);
		p.data_block_size = c[i].dbs;
		p.hash_block_size = c[i].hbs;
		p.data_blocks = c[i].blocks;
		data = pattern(dlen, (uint32_t)i);
		dfd = write_new_file(dpath, data, dlen);
		hfd = write_new_file(hpath, "", 0);
		ASSERT_OK(sl_verity_format(dfd, hfd, &p, 2, root));
		ASSERT_OK(sl_read_file(hpath, 64 << 20, &fast, &flen));
		setenv("SLATE_VERITY_NO_SHANI", "1", 1);
		ASSERT_OK(sl_verity_format(dfd, hfd, &p, 2, root_ssl));
		unsetenv("SLATE_VERITY_NO_SHANI");
		ASSERT_OK(sl_read_file(hpath, 64 << 20, &slow, &slen));
		if (memcmp(root, root_ssl, 32) != 0)
			sl_test_fail(__FILE__, __LINE__, "case %zu: root hash differs", i);
		ASSERT_UEQ(flen, slen);
		ASSERT_MEMEQ(fast, slow, flen);
		/* Verify with SHA-NI names the last data block when it changes. */
		ASSERT_OK(sl_verity_verify(dfd, hfd, &p, root, 32, 2, NULL));
		data[dlen - 1] ^= 0x80;
		ASSERT_OK(sl_pwrite_all(dfd, data + dlen - 1, 1, dlen - 1));
		ASSERT_ERR(sl_verity_verify(dfd, hfd, &p, root, 32, 2, &bad), -EUCLEAN);
		ASSERT_EQ(bad.area, SL_VERITY_AREA_DATA);
		ASSERT_UEQ(bad.block, c[i].blocks - 1);
	}
}
