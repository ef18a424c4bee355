/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "slate/bytes.h"
#include "slate/dm.h"
#include "slate/error.h"

/* The layout SPEC.md §1.6 gives, checked against the kernel's UAPI header. */
static_assert(sizeof(struct dm_ioctl) == SL_DM_HEADER_SIZE, "struct dm_ioctl");
static_assert(offsetof(struct dm_ioctl, data_size) == 12, "data_size");
static_assert(offsetof(struct dm_ioctl, data_start) == 16, "data_start");
static_assert(offsetof(struct dm_ioctl, target_count) == 20, "target_count");
static_assert(offsetof(struct dm_ioctl, flags) == 28, "flags");
static_assert(offsetof(struct dm_ioctl, event_nr) == 32, "event_nr");
static_assert(offsetof(struct dm_ioctl, dev) == 40, "dev");
static_assert(offsetof(struct dm_ioctl, name) == 48, "name");
static_assert(offsetof(struct dm_ioctl, uuid) == 176, "uuid");
static_assert(sizeof(struct dm_target_spec) == SL_DM_SPEC_SIZE, "struct dm_target_spec");
static_assert(offsetof(struct dm_target_spec, next) == 20, "next");
static_assert(offsetof(struct dm_target_spec, target_type) == 24, "target_type");
static_assert(DM_READONLY_FLAG == SL_DM_READONLY && DM_SUSPEND_FLAG == SL_DM_SUSPEND &&
		      DM_STATUS_TABLE_FLAG == SL_DM_STATUS_TABLE &&
		      DM_BUFFER_FULL_FLAG == SL_DM_BUFFER_FULL,
	      "flags");

/* Specs and the data area start 8-aligned; since Linux 6.5 the kernel refuses
 * anything else. */
#define SPEC_ALIGN 8

static int check_name(const char *name, const char *uuid)
{
	size_t n = strlen(name);

	if (n == 0 || n > SL_DM_NAME_MAX || strchr(name, '/') || streq(name, ".") ||
	    streq(name, ".."))
		return sl_errorf(-EINVAL, "device-mapper name '%.*s' is empty, too long or has '/'",
				 (int)MIN(n, 200), name);
	if (uuid && strlen(uuid) > SL_DM_UUID_MAX)
		return sl_errorf(-EINVAL, "device-mapper uuid is longer than %d bytes",
				 SL_DM_UUID_MAX);
	return 0;
}

static int spec_size(const SlDmTarget *t, size_t *ret)
{
	size_t plen = strlen(t->params), tlen = strlen(t->type);
	uint64_t size;

	if (tlen == 0 || tlen > SL_DM_TYPE_MAX)
		return sl_errorf(-EINVAL, "device-mapper target type '%s' is empty or too long",
				 t->type);
	if (plen > SL_DM_PARAMS_MAX)
		return sl_errorf(-E2BIG, "device-mapper %s table is longer than %u bytes", t->type,
				 SL_DM_PARAMS_MAX);
	if (!sl_align_up_u64(SL_DM_SPEC_SIZE + plen + 1, SPEC_ALIGN, &size))
		return -E2BIG;
	*ret = (size_t)size;
	return 0;
}

int sl_dm_request_build(const char *name, const char *uuid, uint32_t flags, uint32_t event_nr,
			const SlDmTarget *targets, size_t n_targets, size_t reply_room,
			uint8_t **ret, size_t *ret_size)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct dm_ioctl *io;
	size_t total = SL_DM_HEADER_SIZE, off;
	int r;

	r = check_name(name, uuid);
	if (r < 0)
		return r;
	if (n_targets > SL_DM_TARGETS_MAX)
		return sl_errorf(-E2BIG, "more than %u device-mapper targets", SL_DM_TARGETS_MAX);
	for (size_t i = 0; i < n_targets; i++) {
		size_t s;

		r = spec_size(&targets[i], &s);
		if (r < 0)
			return r;
		total += s;
	}
	if (reply_room > SL_DM_REPLY_MAX || sl_add_overflow(total, reply_room, &total) ||
	    total > UINT32_MAX)
		return -E2BIG;
	buf = calloc(1, total);
	if (!buf)
		return -ENOMEM;

	io = (struct dm_ioctl *)buf;
	/* {4, 0, 0}: the kernel accepts any minor up to its own (SPEC.md §1.6). */
	io->version[0] = DM_VERSION_MAJOR;
	io->data_size = (uint32_t)total;
	io->data_start = SL_DM_HEADER_SIZE;
	io->target_count = (uint32_t)n_targets;
	io->flags = flags;
	io->event_nr = event_nr;
	memcpy(io->name, name, strlen(name));
	if (uuid)
		memcpy(io->uuid, uuid, strlen(uuid));

	off = SL_DM_HEADER_SIZE;
	for (size_t i = 0; i < n_targets; i++) {
		struct dm_target_spec *spec = (struct dm_target_spec *)(buf + off);
		size_t s;

		r = spec_size(&targets[i], &s);
		if (r < 0)
			return r;
		spec->sector_start = targets[i].start;
		spec->length = targets[i].length;
		memcpy(spec->target_type, targets[i].type, strlen(targets[i].type));
		/* In requests, next counts from this spec (dm-ioctl.c next_target()). */
		spec->next = (uint32_t)s;
		memcpy(buf + off + SL_DM_SPEC_SIZE, targets[i].params, strlen(targets[i].params));
		off += s;
	}
	*ret = TAKE_PTR(buf);
	*ret_size = total;
	return 0;
}

void sl_dm_reply_done(SlDmReply *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_targets; i++)
		free(r->targets[i].params);
	free(r->targets);
	r->targets = NULL;
	r->n_targets = 0;
}

/* Copy a fixed-size char field that the kernel NUL-terminates; refuse one without NUL. */
static int copy_cstr(char *out, const uint8_t *field, size_t n)
{
	const uint8_t *nul = memchr(field, 0, n);

	if (!nul)
		return -EBADMSG;
	memcpy(out, field, (size_t)(nul - field) + 1);
	return 0;
}

static int decode_targets(const uint8_t *buf, uint32_t data_start, uint32_t data_end,
			  uint32_t count, SlDmReply *ret)
{
	size_t off = 0, area = data_end - data_start;
	const uint8_t *outbuf = buf + data_start;

	if (count > SL_DM_TARGETS_MAX)
		return sl_errorf(-E2BIG, "device-mapper reply: %u targets", count);
	ret->targets = sl_calloc_array(count, sizeof(SlDmTarget));
	if (!ret->targets)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		struct dm_target_spec spec;
		const uint8_t *params, *nul;
		SlDmTarget *t = &ret->targets[i];

		if (off % SPEC_ALIGN || !sl_range_ok(off, SL_DM_SPEC_SIZE, area))
			return sl_errorf(-EBADMSG,
					 "device-mapper reply: target %u at %zu is outside "
					 "the data area (%zu bytes)",
					 i, off, area);
		memcpy(&spec, outbuf + off, sizeof(spec));
		params = outbuf + off + SL_DM_SPEC_SIZE;
		nul = memchr(params, 0, area - off - SL_DM_SPEC_SIZE);
		if (!nul || copy_cstr(t->type, (const uint8_t *)spec.target_type,
				      sizeof(spec.target_type)) < 0)
			return sl_errorf(-EBADMSG,
					 "device-mapper reply: target %u is not terminated", i);
		t->start = spec.sector_start;
		t->length = spec.length;
		t->params = strndup((const char *)params, (size_t)(nul - params));
		if (!t->params)
			return -ENOMEM;
		ret->n_targets++;
		/* In replies, next counts from the start of the data area and must move on. */
		if (i + 1 < count && spec.next <= off)
			return sl_errorf(-EBADMSG, "device-mapper reply: target %u points back", i);
		off = spec.next;
	}
	return 0;
}

int sl_dm_reply_decode(const void *buf, size_t len, bool targets, SlDmReply *ret)
{
	struct dm_ioctl io;
	SlDmReply r = { 0 };
	int k;

	if (len < SL_DM_HEADER_SIZE)
		return sl_errorf(-EBADMSG,
				 "device-mapper reply: %zu bytes, shorter than its header", len);
	memcpy(&io, buf, sizeof(io));
	if (io.version[0] != DM_VERSION_MAJOR)
		return sl_errorf(-EOPNOTSUPP, "device-mapper reply: interface version %u",
				 io.version[0]);
	/* A reply without payload has data_size = offsetof(struct dm_ioctl, data), less
	 * than data_start (dm-ioctl.c ctl_ioctl() sets it before each command). */
	if (io.data_size > len || io.data_size < offsetof(struct dm_ioctl, data) ||
	    io.data_start < SL_DM_HEADER_SIZE)
		return sl_errorf(-EBADMSG, "device-mapper reply: data %u..%u outside %zu bytes",
				 io.data_start, io.data_size, len);
	if (targets && io.target_count > 0 && io.data_start > io.data_size)
		return sl_errorf(-EBADMSG, "device-mapper reply: %u targets but no data",
				 io.target_count);
	memcpy(r.version, io.version, sizeof(r.version));
	r.flags = io.flags;
	r.open_count = io.open_count;
	r.event_nr = io.event_nr;
	r.dev = io.dev;
	if (copy_cstr(r.name, (const uint8_t *)io.name, sizeof(io.name)) < 0 ||
	    copy_cstr(r.uuid, (const uint8_t *)io.uuid, sizeof(io.uuid)) < 0)
		return sl_errorf(-EBADMSG, "device-mapper reply: name or uuid not terminated");
	if (targets) {
		k = decode_targets(buf, io.data_start, io.data_size, io.target_count, &r);
		if (k < 0) {
			sl_dm_reply_done(&r);
			return k;
		}
	}
	*ret = r;
	return 0;
}

int sl_dm_fd_ioctl(void *userdata, unsigned long request, void *buf)
{
	int fd = *(int *)userdata;

	if (ioctl(fd, request, buf) < 0)
		return -errno;
	return 0;
}

int sl_dm_control_open(void)
{
	int fd = open("/dev/" DM_DIR "/" DM_CONTROL_NODE, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* One request without targets; the reply header lands in *ret_reply when given. */
static int simple(const SlDmOps *ops, unsigned long request, const char *name, uint32_t flags,
		  uint32_t event_nr, SlDmReply *ret_reply)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t size;
	int r;

	r = sl_dm_request_build(name, NULL, flags, event_nr, NULL, 0, 0, &buf, &size);
	if (r < 0)
		return r;
	r = ops->ioctl(ops->userdata, request, buf);
	if (r < 0)
		return r;
	return ret_reply ? sl_dm_reply_decode(buf, size, false, ret_reply) : 0;
}

int sl_dm_remove(const SlDmOps *ops, const char *name)
{
	return simple(ops, DM_DEV_REMOVE, name, 0, 0, NULL);
}

/* Undo a create; the caller reports the error that made it necessary. */
static void remove_quietly(const SlDmOps *ops, const char *name)
{
	if (simple(ops, DM_DEV_REMOVE, name, 0, 0, NULL) < 0)
		return;
}

/* DM_TABLE_LOAD: the targets into the device's inactive table slot. */
static int load_table(const SlDmOps *ops, const char *name, uint32_t flags,
		      const SlDmTarget *targets, size_t n_targets)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t size;
	int r;

	r = sl_dm_request_build(name, NULL, flags & SL_DM_READONLY, 0, targets, n_targets, 0, &buf,
				&size);
	if (r < 0)
		return r;
	return ops->ioctl(ops->userdata, DM_TABLE_LOAD, buf);
}

/* Resume: DM_DEV_SUSPEND without DM_SUSPEND_FLAG makes the loaded table live. */
static int resume(const SlDmOps *ops, const char *name)
{
	return simple(ops, DM_DEV_SUSPEND, name, 0, SL_DM_COOKIE_PRIMARY_SOURCE, NULL);
}

int sl_dm_create(const SlDmOps *ops, const char *name, const char *uuid, uint32_t flags,
		 const SlDmTarget *targets, size_t n_targets, dev_t *ret_dev)
{
	_cleanup_free_ uint8_t *buf = NULL;
	SlDmReply reply;
	size_t size;
	int r;

	r = sl_dm_request_build(name, uuid, 0, 0, NULL, 0, 0, &buf, &size);
	if (r < 0)
		return r;
	r = ops->ioctl(ops->userdata, DM_DEV_CREATE, buf);
	if (r < 0)
		return r;
	r = sl_dm_reply_decode(buf, size, false, &reply);
	if (r < 0)
		goto undo;

	r = load_table(ops, name, flags, targets, n_targets);
	if (r < 0)
		goto undo;
	r = resume(ops, name);
	if (r < 0)
		goto undo;
	*ret_dev = makedev(major(reply.dev), minor(reply.dev));
	return 0;

undo:
	remove_quietly(ops, name);
	return r;
}

int sl_dm_reload(const SlDmOps *ops, const char *name, uint32_t flags, const SlDmTarget *targets,
		 size_t n_targets)
{
	int r;

	r = load_table(ops, name, flags, targets, n_targets);
	if (r < 0)
		return r;
	r = resume(ops, name);
	if (r < 0) /* drop the loaded table; the caller reports the resume's error */
		(void)simple(ops, DM_TABLE_CLEAR, name, 0, 0, NULL);
	return r;
}

int sl_dm_status(const SlDmOps *ops, const char *name, bool table, SlDmReply *ret)
{
	for (size_t room = SL_DM_REPLY_INITIAL;; room *= 2) {
		_cleanup_free_ uint8_t *buf = NULL;
		SlDmReply reply;
		size_t size;
		int r;

		r = sl_dm_request_build(name, NULL, table ? SL_DM_STATUS_TABLE : 0, 0, NULL, 0,
					room, &buf, &size);
		if (r < 0)
			return r;
		r = ops->ioctl(ops->userdata, DM_TABLE_STATUS, buf);
		if (r < 0)
			return r;
		/* Check the flag before decoding: a full buffer holds a cut-off list. */
		if (((struct dm_ioctl *)buf)->flags & DM_BUFFER_FULL_FLAG) {
			if (room * 2 > SL_DM_REPLY_MAX)
				return sl_errorf(-E2BIG,
						 "device-mapper status of %s is larger than "
						 "%u bytes",
						 name, SL_DM_REPLY_MAX);
			continue;
		}
		r = sl_dm_reply_decode(buf, size, true, &reply);
		if (r < 0)
			return r;
		*ret = reply;
		return 0;
	}
}

int sl_dm_target_version(const SlDmOps *ops, const char *type, uint32_t ret_version[3])
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct dm_ioctl io;
	struct dm_target_versions tv;
	size_t size;
	int r;

	/* DM_GET_TARGET_VERSION takes the target's name in the name field and answers
	 * with one struct dm_target_versions in the data area. */
	r = sl_dm_request_build(type, NULL, 0, 0, NULL, 0, 256, &buf, &size);
	if (r < 0)
		return r;
	r = ops->ioctl(ops->userdata, DM_GET_TARGET_VERSION, buf);
	if (r == -EINVAL || r == -ENOENT)
		return -ENOENT;
	if (r < 0)
		return r;
	memcpy(&io, buf, sizeof(io));
	if (io.data_start < SL_DM_HEADER_SIZE || io.data_size > size ||
	    !sl_range_ok(io.data_start, sizeof(tv), io.data_size))
		return sl_errorf(-EBADMSG, "device-mapper target version reply is malformed");
	memcpy(&tv, buf + io.data_start, sizeof(tv));
	memcpy(ret_version, tv.version, sizeof(tv.version));
	return 0;
}
