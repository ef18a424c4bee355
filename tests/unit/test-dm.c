/* SPDX-License-Identifier: MIT */
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "slate/dm.h"
#include "test.h"

/* SPEC.md §1.5/§1.6: the 130-block example table, 217 characters of params. */
static const char example_params[] =
	"1 /dev/loop0 /dev/loop1 4096 4096 130 1 sha256 "
	"ad83ec81416b7305bd6248962b2023ea0a876bfd1e501d584d9aa5b1303ead9c "
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
	"2 panic_on_corruption ignore_zero_blocks";

TEST(dm_table_load_buffer_layout)
{
	SlDmTarget t = {
		.start = 0, .length = 1040, .type = "verity", .params = (char *)example_params
	};
	_cleanup_free_ uint8_t *buf = NULL;
	struct dm_ioctl io;
	struct dm_target_spec spec;
	size_t size;

	ASSERT_EQ(strlen(example_params), 217);
	ASSERT_OK(sl_dm_request_build("usr", "CRYPT-VERITY-x-usr", SL_DM_READONLY, 0, &t, 1, 0,
				      &buf, &size));
	/* next = 40 + 218 + 6 = 264, data_size = 312 + 264 = 576 (SPEC.md §1.6). */
	ASSERT_EQ(size, 576);
	memcpy(&io, buf, sizeof(io));
	ASSERT_EQ(io.version[0], 4);
	ASSERT_EQ(io.version[1], 0);
	ASSERT_EQ(io.data_size, 576);
	ASSERT_EQ(io.data_start, 312);
	ASSERT_EQ(io.target_count, 1);
	ASSERT_EQ(io.flags, DM_READONLY_FLAG);
	ASSERT_STREQ(io.name, "usr");
	ASSERT_STREQ(io.uuid, "CRYPT-VERITY-x-usr");
	memcpy(&spec, buf + 312, sizeof(spec));
	ASSERT_EQ(spec.sector_start, 0);
	ASSERT_EQ(spec.length, 1040);
	ASSERT_EQ(spec.next, 264);
	ASSERT_STREQ(spec.target_type, "verity");
	ASSERT_STREQ((const char *)buf + 352, example_params);
	for (size_t i = 352 + 217; i < 576; i++)
		ASSERT_EQ(buf[i], 0);
}

TEST(dm_request_every_spec_8_aligned)
{
	SlDmTarget t[3] = {
		{ 0, 8, "linear", (char *)"8:1 0" },
		{ 8, 8, "zero", (char *)"" },
		{ 16, 8, "linear", (char *)"8:2 1234567" },
	};
	_cleanup_free_ uint8_t *buf = NULL;
	size_t size, off = 312;

	ASSERT_OK(sl_dm_request_build("x", NULL, 0, 0, t, 3, 100, &buf, &size));
	ASSERT_EQ(size, 312 + 48 + 48 + 56 + 100);
	for (int i = 0; i < 3; i++) {
		struct dm_target_spec spec;

		ASSERT_EQ(off % 8, 0);
		memcpy(&spec, buf + off, sizeof(spec));
		ASSERT_STREQ(spec.target_type, t[i].type);
		ASSERT_STREQ((const char *)buf + off + 40, t[i].params);
		off += spec.next;
	}
	ASSERT_EQ(off, 312 + 48 + 48 + 56);
}

TEST(dm_request_refuses_bad_names)
{
	_cleanup_free_ uint8_t *buf = NULL;
	char longname[200];
	SlDmTarget t = { 0, 8, "", (char *)"" };
	size_t size;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	ASSERT_ERR(sl_dm_request_build("", NULL, 0, 0, NULL, 0, 0, &buf, &size), -EINVAL);
	ASSERT_ERR(sl_dm_request_build("a/b", NULL, 0, 0, NULL, 0, 0, &buf, &size), -EINVAL);
	ASSERT_ERR(sl_dm_request_build(longname, NULL, 0, 0, NULL, 0, 0, &buf, &size), -EINVAL);
	ASSERT_ERR(sl_dm_request_build("x", longname, 0, 0, NULL, 0, 0, &buf, &size), -EINVAL);
	ASSERT_ERR(sl_dm_request_build("x", NULL, 0, 0, &t, 1, 0, &buf, &size), -EINVAL);
	ASSERT_TRUE(buf == NULL);
}

/* A reply as dm-ioctl.c retrieve_status() lays it out: next counts from the data area. */
static size_t make_status_reply(uint8_t *buf, size_t cap, const char *const *lines, size_t n)
{
	struct dm_ioctl io = { .version = { 4, 48, 0 },
			       .data_start = 312,
			       .target_count = (uint32_t)n };
	size_t off = 0;

	memset(buf, 0, cap);
	for (size_t i = 0; i < n; i++) {
		struct dm_target_spec spec = { .sector_start = i * 100, .length = 100 };
		size_t at = off, l = strlen(lines[i]) + 1;

		strcpy(spec.target_type, "verity");
		memcpy(buf + 312 + at + 40, lines[i], l);
		off = (at + 40 + l + 7) & ~(size_t)7;
		spec.next = (uint32_t)off;
		memcpy(buf + 312 + at, &spec, sizeof(spec));
	}
	io.data_size = (uint32_t)(312 + off);
	io.dev = makedev(254, 0);
	strcpy(io.name, "usr");
	memcpy(buf, &io, sizeof(io));
	return cap;
}

TEST(dm_reply_decode_status)
{
	uint8_t buf[4096];
	SlDmReply r;
	size_t len = make_status_reply(buf, sizeof(buf), (const char *const[]){ "V -", "C 3" }, 2);

	ASSERT_OK(sl_dm_reply_decode(buf, len, true, &r));
	ASSERT_EQ(r.n_targets, 2);
	ASSERT_STREQ(r.name, "usr");
	ASSERT_STREQ(r.targets[0].type, "verity");
	ASSERT_STREQ(r.targets[0].params, "V -");
	ASSERT_EQ(r.targets[1].start, 100);
	ASSERT_STREQ(r.targets[1].params, "C 3");
	ASSERT_EQ(major(r.dev), 254);
	sl_dm_reply_done(&r);
}

TEST(dm_reply_decode_refuses_malformed)
{
	uint8_t buf[4096];
	struct dm_ioctl io;
	SlDmReply r;
	size_t len = make_status_reply(buf, sizeof(buf), (const char *const[]){ "V -", "V -" }, 2);

	ASSERT_ERR(sl_dm_reply_decode(buf, 100, true, &r), -EBADMSG);
	memcpy(&io, buf, sizeof(io));
	/* Without payload the kernel leaves data_size at offsetof(data) = 305: fine for
	 * a header, not for targets that should be there. */
	io.data_size = 305;
	memcpy(buf, &io, sizeof(io));
	ASSERT_OK(sl_dm_reply_decode(buf, len, false, &r));
	ASSERT_ERR(sl_dm_reply_decode(buf, len, true, &r), -EBADMSG);
	io.data_size = 304;
	memcpy(buf, &io, sizeof(io));
	ASSERT_ERR(sl_dm_reply_decode(buf, len, false, &r), -EBADMSG);
	io.data_size = 5000; /* past the buffer */
	memcpy(buf, &io, sizeof(io));
	ASSERT_ERR(sl_dm_reply_decode(buf, len, true, &r), -EBADMSG);
	io.data_size = 312 + 48;
	io.target_count = 2; /* the second spec lies past data_size */
	memcpy(buf, &io, sizeof(io));
	ASSERT_ERR(sl_dm_reply_decode(buf, len, true, &r), -EBADMSG);
	io.data_size = 312 + 96;
	io.target_count = 100000;
	memcpy(buf, &io, sizeof(io));
	ASSERT_ERR(sl_dm_reply_decode(buf, len, true, &r), -E2BIG);
	io.target_count = 2;
	io.version[0] = 5;
	memcpy(buf, &io, sizeof(io));
	ASSERT_ERR(sl_dm_reply_decode(buf, len, true, &r), -EOPNOTSUPP);
	io.version[0] = 4;
	memset(io.name, 'x', sizeof(io.name)); /* no NUL */
	memcpy(buf, &io, sizeof(io));
	ASSERT_ERR(sl_dm_reply_decode(buf, len, true, &r), -EBADMSG);
}

/* A fake device-mapper: records each call, fails the one numbered fail_at. */
typedef struct FakeDm {
	unsigned long cmds[16];
	uint32_t flags[16], event_nr[16];
	char params[16][512];
	int n, fail_at, fail_err;
	int status_full_times;
} FakeDm;

static int fake_ioctl(void *userdata, unsigned long request, void *buf)
{
	FakeDm *f = userdata;
	struct dm_ioctl io;

	memcpy(&io, buf, sizeof(io));
	ASSERT_TRUE(f->n < 16);
	f->cmds[f->n] = request;
	f->flags[f->n] = io.flags;
	f->event_nr[f->n] = io.event_nr;
	if (io.target_count)
		snprintf(f->params[f->n], sizeof(f->params[0]), "%s",
			 (const char *)buf + io.data_start + 40);
	if (f->n++ == f->fail_at)
		return f->fail_err;
	/* dm-ioctl.c ctl_ioctl(): data_size = offsetof(struct dm_ioctl, data) before
	 * each command; commands with a payload set it again. */
	io.data_size = offsetof(struct dm_ioctl, data);
	memcpy(buf, &io, sizeof(io));
	if (request == DM_DEV_CREATE) {
		io.dev = makedev(254, 3);
		memcpy(buf, &io, sizeof(io));
	} else if (request == DM_TABLE_STATUS) {
		if (f->status_full_times > 0) {
			f->status_full_times--;
			io.flags |= DM_BUFFER_FULL_FLAG;
			memcpy(buf, &io, sizeof(io));
			return 0;
		}
		make_status_reply(buf, SL_DM_REPLY_INITIAL, (const char *const[]){ "V -" }, 1);
	}
	return 0;
}

TEST(dm_create_sequence)
{
	FakeDm f = { .fail_at = -1 };
	SlDmOps ops = { fake_ioctl, &f };
	SlDmTarget t = { 0, 1040, "verity", (char *)example_params };
	dev_t dev;

	ASSERT_OK(sl_dm_create(&ops, "usr", "CRYPT-VERITY-x-usr", SL_DM_READONLY, &t, 1, &dev));
	ASSERT_EQ(f.n, 3);
	ASSERT_UEQ(f.cmds[0], DM_DEV_CREATE);
	ASSERT_UEQ(f.cmds[1], DM_TABLE_LOAD);
	ASSERT_EQ(f.flags[1], DM_READONLY_FLAG);
	ASSERT_STREQ(f.params[1], example_params);
	ASSERT_UEQ(f.cmds[2], DM_DEV_SUSPEND);
	ASSERT_EQ(f.flags[2] & DM_SUSPEND_FLAG, 0); /* resume */
	ASSERT_UEQ(f.event_nr[2], SL_DM_COOKIE_PRIMARY_SOURCE);
	ASSERT_EQ(major(dev), 254);
	ASSERT_EQ(minor(dev), 3);
}

TEST(dm_create_removes_on_failure)
{
	SlDmTarget t = { 0, 1040, "verity", (char *)example_params };
	dev_t dev = 0;

	/* The kernel refusing the table (a bad signature: -EKEYREJECTED) or the resume. */
	for (int at = 1; at <= 2; at++) {
		FakeDm f = { .fail_at = at, .fail_err = at == 1 ? -EKEYREJECTED : -EIO };
		SlDmOps ops = { fake_ioctl, &f };

		ASSERT_ERR(sl_dm_create(&ops, "usr", NULL, SL_DM_READONLY, &t, 1, &dev),
			   f.fail_err);
		ASSERT_EQ(f.n, at + 2);
		ASSERT_UEQ(f.cmds[at + 1], DM_DEV_REMOVE);
		ASSERT_EQ(dev, 0);
	}
	/* The create itself failing: nothing to remove. */
	FakeDm f = { .fail_at = 0, .fail_err = -EBUSY };
	SlDmOps ops = { fake_ioctl, &f };

	ASSERT_ERR(sl_dm_create(&ops, "usr", NULL, SL_DM_READONLY, &t, 1, &dev), -EBUSY);
	ASSERT_EQ(f.n, 1);
}

TEST(dm_reload_sequence)
{
	FakeDm f = { .fail_at = -1 };
	SlDmOps ops = { fake_ioctl, &f };
	SlDmTarget t = { 0, 1040, "verity", (char *)example_params };

	ASSERT_OK(sl_dm_reload(&ops, "usr", SL_DM_READONLY, &t, 1));
	ASSERT_EQ(f.n, 2);
	ASSERT_UEQ(f.cmds[0], DM_TABLE_LOAD);
	ASSERT_EQ(f.flags[0], DM_READONLY_FLAG);
	ASSERT_STREQ(f.params[0], example_params);
	ASSERT_UEQ(f.cmds[1], DM_DEV_SUSPEND);
	ASSERT_EQ(f.flags[1] & DM_SUSPEND_FLAG, 0); /* resume: swaps the tables */
	ASSERT_UEQ(f.event_nr[1], SL_DM_COOKIE_PRIMARY_SOURCE);
}

TEST(dm_reload_keeps_the_old_table_on_failure)
{
	SlDmTarget t = { 0, 1040, "verity", (char *)example_params };
	FakeDm f = { .fail_at = 0, .fail_err = -EKEYREJECTED };
	SlDmOps ops = { fake_ioctl, &f };

	/* The kernel refuses the new table: nothing else happens (no remove!). */
	ASSERT_ERR(sl_dm_reload(&ops, "usr", SL_DM_READONLY, &t, 1), -EKEYREJECTED);
	ASSERT_EQ(f.n, 1);

	/* The resume fails: the loaded table is cleared, the device is not removed. */
	f = (FakeDm){ .fail_at = 1, .fail_err = -EINVAL };
	ASSERT_ERR(sl_dm_reload(&ops, "usr", SL_DM_READONLY, &t, 1), -EINVAL);
	ASSERT_EQ(f.n, 3);
	ASSERT_UEQ(f.cmds[2], DM_TABLE_CLEAR);
}

TEST(dm_status_grows_buffer)
{
	FakeDm f = { .fail_at = -1, .status_full_times = 2 };
	SlDmOps ops = { fake_ioctl, &f };
	SlDmReply r;

	ASSERT_OK(sl_dm_status(&ops, "usr", false, &r));
	ASSERT_EQ(f.n, 3);
	ASSERT_EQ(r.n_targets, 1);
	ASSERT_STREQ(r.targets[0].params, "V -");
	sl_dm_reply_done(&r);
}
