/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <sys/stat.h>

#include "slate/bytes.h"
#include "slate/crc32.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/json.h"
#include "slate/strutil.h"
#include "slate/uuid.h"
#include "test.h"

TEST(crc32_check_value)
{
	/* The CRC-32 check value from the catalogue of parametrised CRC algorithms. */
	ASSERT_UEQ(sl_crc32(0, "123456789", 9), 0xCBF43926u);
	ASSERT_UEQ(sl_crc32(0, "", 0), 0);
	/* Continuation equals one pass. */
	ASSERT_UEQ(sl_crc32(sl_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

TEST(hex_roundtrip)
{
	uint8_t b[4], big[2];
	char s[9];
	size_t n;

	sl_hex_encode((const uint8_t[]){ 0x00, 0xab, 0x10, 0xff }, 4, s);
	ASSERT_STREQ(s, "00ab10ff");
	ASSERT_OK(sl_hex_decode("00AB10ff", b, sizeof(b), &n));
	ASSERT_EQ(n, 4);
	ASSERT_MEMEQ(b, ((const uint8_t[]){ 0x00, 0xab, 0x10, 0xff }), 4);
	ASSERT_ERR(sl_hex_decode("abc", b, sizeof(b), &n), -EBADMSG);
	ASSERT_ERR(sl_hex_decode("zz", b, sizeof(b), &n), -EBADMSG);
	ASSERT_ERR(sl_hex_decode("001122", big, sizeof(big), &n), -E2BIG);
	ASSERT_OK(sl_hex_decode("", b, sizeof(b), &n));
	ASSERT_EQ(n, 0);
}

TEST(uuid_text_and_guid_order)
{
	SlUuid u, back;
	uint8_t guid[16];
	char s[SL_UUID_STRING_MAX];
	/* SPEC.md §4.1: type 5dfbf5f4-2848-4bac-aa5e-0d9a20b745a6 is stored
	 * as f4f5fb5d 4828 ac4b aa5e0d9a20b745a6. */
	static const uint8_t expect[16] = { 0xf4, 0xf5, 0xfb, 0x5d, 0x48, 0x28, 0xac, 0x4b,
					    0xaa, 0x5e, 0x0d, 0x9a, 0x20, 0xb7, 0x45, 0xa6 };

	ASSERT_OK(sl_uuid_parse("5DFBF5F4-2848-4bac-aa5e-0d9a20b745a6", &u));
	ASSERT_STREQ(sl_uuid_format(&u, s), "5dfbf5f4-2848-4bac-aa5e-0d9a20b745a6");
	sl_uuid_to_guid(&u, guid);
	ASSERT_MEMEQ(guid, expect, 16);
	sl_uuid_from_guid(guid, &back);
	ASSERT_TRUE(sl_uuid_equal(&u, &back));
	ASSERT_ERR(sl_uuid_parse("5dfbf5f4-2848-4bac-aa5e-0d9a20b745a", &u), -EBADMSG);
	ASSERT_ERR(sl_uuid_parse("5dfbf5f4x2848-4bac-aa5e-0d9a20b745a6", &u), -EBADMSG);
	ASSERT_ERR(sl_uuid_parse("5dfbf5f4-2848-4bac-aa5e-0d9a20b745ag", &u), -EBADMSG);
	ASSERT_OK(sl_uuid_random(&u));
	ASSERT_EQ(u.b[6] >> 4, 4);
	ASSERT_EQ(u.b[8] >> 6, 2);
}

TEST(reader_bounds)
{
	static const uint8_t buf[6] = { 1, 2, 3, 4, 5, 6 };
	SlReader r = sl_reader(buf, sizeof(buf));

	ASSERT_UEQ(sl_reader_le16(&r), 0x0201);
	ASSERT_UEQ(sl_reader_be32(&r), 0x03040506);
	ASSERT_TRUE(sl_reader_ok(&r));
	ASSERT_UEQ(sl_reader_u8(&r), 0);
	ASSERT_FALSE(sl_reader_ok(&r));
	/* A failed reader stays failed. */
	ASSERT_FALSE(sl_reader_seek(&r, 0) && sl_reader_ok(&r));
	ASSERT_TRUE(sl_range_ok(0, 6, 6));
	ASSERT_FALSE(sl_range_ok(1, 6, 6));
	ASSERT_FALSE(sl_range_ok(UINT64_MAX, 2, 6));
	ASSERT_FALSE(sl_range_ok(2, UINT64_MAX, 6));
}

TEST(parse_numbers_and_sizes)
{
	uint64_t v;

	ASSERT_OK(sl_parse_u64("4096", UINT64_MAX, &v));
	ASSERT_UEQ(v, 4096);
	ASSERT_OK(sl_parse_u64("0x1F", UINT64_MAX, &v));
	ASSERT_UEQ(v, 31);
	ASSERT_ERR(sl_parse_u64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	ASSERT_ERR(sl_parse_u64("10", 9, &v), -ERANGE);
	ASSERT_ERR(sl_parse_u64("-1", UINT64_MAX, &v), -EBADMSG);
	ASSERT_ERR(sl_parse_u64("", UINT64_MAX, &v), -EBADMSG);
	ASSERT_ERR(sl_parse_u64("12 ", UINT64_MAX, &v), -EBADMSG);
	ASSERT_OK(sl_parse_size("64M", &v));
	ASSERT_UEQ(v, 64ull << 20);
	ASSERT_OK(sl_parse_size("1GiB", &v));
	ASSERT_UEQ(v, 1ull << 30);
	ASSERT_OK(sl_parse_size("512", &v));
	ASSERT_UEQ(v, 512);
	ASSERT_ERR(sl_parse_size("1X", &v), -EBADMSG);
	ASSERT_ERR(sl_parse_size("M", &v), -EBADMSG);
	ASSERT_ERR(sl_parse_size("17179869184T", &v), -ERANGE);
}

TEST(error_detail)
{
	sl_error_clear();
	ASSERT_STREQ(sl_error_message(-ENOENT), strerror(ENOENT));
	ASSERT_ERR(sl_errorf(-EBADMSG, "field %d", 3), -EBADMSG);
	ASSERT_STREQ(sl_error_message(-EBADMSG), "field 3");
	ASSERT_ERR(sl_error_prefix(-EBADMSG, "entry %d: ", 7), -EBADMSG);
	ASSERT_STREQ(sl_error_message(-EBADMSG), "entry 7: field 3");
	/* A detail recorded for another code is not shown. */
	ASSERT_STREQ(sl_error_message(-EIO), strerror(EIO));
}

TEST(json_writer)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	SlJson j;

	ASSERT_TRUE(f != NULL);
	sl_json_init(&j, f, false);
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "name", "a\"b\\c\n\x01");
	sl_json_kv_uint(&j, "n", 42);
	sl_json_key(&j, "list");
	sl_json_begin_array(&j);
	sl_json_bool(&j, true);
	sl_json_null(&j);
	sl_json_hex(&j, "\x01\xff", 2);
	sl_json_end_array(&j);
	sl_json_key(&j, "empty");
	sl_json_begin_object(&j);
	sl_json_end_object(&j);
	sl_json_end_object(&j);
	fclose(f);
	ASSERT_STREQ(buf,
		     "{\"name\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":42,\"list\":[true,null,\"01ff\"],"
		     "\"empty\":{}}");
	free(buf);
}

TEST(file_roundtrip)
{
	char path[512];
	_cleanup_free_ uint8_t *data = NULL;
	size_t len;
	struct stat st;

	snprintf(path, sizeof(path), "%s/f", sl_test_tmpdir());
	ASSERT_OK(sl_write_file_atomic(path, "hello", 5, 0600));
	ASSERT_OK(sl_read_file(path, 100, &data, &len));
	ASSERT_EQ(len, 5);
	ASSERT_MEMEQ(data, "hello", 5);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	free(TAKE_PTR(data));
	ASSERT_ERR(sl_read_file(path, 4, &data, &len), -E2BIG);
	ASSERT_ERR(sl_read_file("/nonexistent/x", 4, &data, &len), -ENOENT);
}
