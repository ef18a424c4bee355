/* SPDX-License-Identifier: MIT */
/*
 * Device-mapper through raw ioctls on /dev/mapper/control (SPEC.md §1.6), no
 * libdevmapper: what slate-init needs to create the dm-verity device for /usr
 * and what `slate status` needs to ask the kernel whether it is still verified.
 *
 * Two layers:
 *  - buffers: sl_dm_request_build() lays out a request (struct dm_ioctl, 312
 *    bytes, then the target specs, 8-aligned) and sl_dm_reply_decode() reads a
 *    reply; both are pure, for unit tests and fuzzing;
 *  - operations: sl_dm_create() and friends run the ioctl sequence through
 *    SlDmOps, so tests drive them with a fake kernel.
 *
 * Errors: negative errno. What the kernel returns passes through unchanged (for
 * a table it refuses: -EINVAL, or -ENOKEY / -EKEYREJECTED for a root-hash
 * signature, with the reason in the kernel log). -EINVAL also for a bad name,
 * uuid or target from the caller; -EBADMSG for a malformed reply; -E2BIG over a
 * cap; -ENOMEM.
 */
#pragma once

#include <sys/types.h>

#include "slate/macros.h"

#define SL_DM_HEADER_SIZE   312 /* sizeof(struct dm_ioctl) */
#define SL_DM_SPEC_SIZE	    40	/* sizeof(struct dm_target_spec) */
#define SL_DM_NAME_MAX	    127 /* DM_NAME_LEN - 1 */
#define SL_DM_UUID_MAX	    128 /* DM_UUID_LEN - 1 */
#define SL_DM_TYPE_MAX	    15	/* DM_MAX_TYPE_NAME - 1 */
#define SL_DM_TARGETS_MAX   1024
#define SL_DM_PARAMS_MAX    (64u << 10)
#define SL_DM_REPLY_MAX	    (1u << 20)	/* status buffers grow up to this */
#define SL_DM_REPLY_INITIAL (16u << 10) /* libdevmapper's default */

/* udev cookie for the resume that makes a device visible (SPEC.md §1.6): the
 * "primary source" flag, no semaphore, so dm's udev rules (if any run) treat the
 * change event as ours and nobody waits for a semaphore. */
#define SL_DM_COOKIE_PRIMARY_SOURCE (0x0040u << 16)

/* Request flags (struct dm_ioctl.flags). */
#define SL_DM_READONLY	   (1u << 0)
#define SL_DM_SUSPEND	   (1u << 1)
#define SL_DM_STATUS_TABLE (1u << 4)
#define SL_DM_BUFFER_FULL  (1u << 8)

typedef struct SlDmTarget {
	uint64_t start;	 /* first sector */
	uint64_t length; /* sectors */
	char type[SL_DM_TYPE_MAX + 1];
	char *params; /* owned in replies; borrowed in requests */
} SlDmTarget;

/*
 * A request: header (version 4.0.0, data_start 312, name, uuid, flags,
 * event_nr), then one dm_target_spec per target with its params, each padded
 * to 8 bytes with `next` the distance to the next spec. reply_room bytes of
 * zeroes follow for the kernel's answer. uuid may be NULL. Caller owns *ret.
 */
int sl_dm_request_build(const char *name, const char *uuid, uint32_t flags, uint32_t event_nr,
			const SlDmTarget *targets, size_t n_targets, size_t reply_room,
			uint8_t **ret, size_t *ret_size) _wur_;

typedef struct SlDmReply {
	uint32_t version[3];
	uint32_t flags;
	int32_t open_count;
	uint32_t event_nr;
	uint64_t dev; /* new_encode_dev() form; major()/minor() decode it */
	char name[SL_DM_NAME_MAX + 1];
	char uuid[SL_DM_UUID_MAX + 1];
	SlDmTarget *targets; /* owned; params = status or table text */
	size_t n_targets;
} SlDmReply;

/*
 * Decode a reply of len bytes. With targets, reads the status/table specs that
 * DM_TABLE_STATUS returns: unlike in requests, their `next` counts from the
 * start of the data area, not from the spec (dm-ioctl.c retrieve_status()).
 * Every offset is checked against data_size and len.
 */
int sl_dm_reply_decode(const void *buf, size_t len, bool targets, SlDmReply *ret) _wur_;
void sl_dm_reply_done(SlDmReply *r);

typedef struct SlDmOps {
	/* ioctl(2) on the control device: 0 or a negative errno. buf holds the
	 * request and receives the reply; its size is in its data_size field. */
	int (*ioctl)(void *userdata, unsigned long request, void *buf);
	void *userdata;
} SlDmOps;

/* Ops on an open /dev/mapper/control: userdata points to the int fd. */
int sl_dm_fd_ioctl(void *userdata, unsigned long request, void *buf);

/* Open /dev/mapper/control (O_RDWR|O_CLOEXEC). */
int sl_dm_control_open(void) _wur_;

/*
 * Create device name with the given table and make it live: DM_DEV_CREATE,
 * DM_TABLE_LOAD (read-only when flags has SL_DM_READONLY; dm-verity requires
 * it), DM_DEV_SUSPEND without the suspend flag (= resume, with
 * SL_DM_COOKIE_PRIMARY_SOURCE). When a step after the create fails, the device
 * is removed again (DM_DEV_REMOVE) and the first error returned. *ret_dev gets
 * the new device number.
 */
int sl_dm_create(const SlDmOps *ops, const char *name, const char *uuid, uint32_t flags,
		 const SlDmTarget *targets, size_t n_targets, dev_t *ret_dev) _wur_;

/*
 * Replace the table of the live device name: DM_TABLE_LOAD into the inactive
 * slot (read-only when flags has SL_DM_READONLY), then DM_DEV_SUSPEND without
 * the suspend flag (= resume): the kernel suspends the device, swaps the tables
 * and resumes it in that one call (dm-ioctl.c do_resume()), so I/O in flight
 * waits instead of failing and the device is never left suspended by us. On
 * failure the device keeps its old table: a refused load changes nothing, and
 * after a failed resume the loaded table is dropped again (DM_TABLE_CLEAR).
 */
int sl_dm_reload(const SlDmOps *ops, const char *name, uint32_t flags, const SlDmTarget *targets,
		 size_t n_targets) _wur_;

/* DM_DEV_REMOVE by name. */
int sl_dm_remove(const SlDmOps *ops, const char *name) _wur_;

/*
 * DM_TABLE_STATUS of name: the targets' status lines, or with table the table
 * lines the kernel holds. The buffer grows while the kernel says it was full.
 * Caller owns *ret (sl_dm_reply_done()).
 */
int sl_dm_status(const SlDmOps *ops, const char *name, bool table, SlDmReply *ret) _wur_;

/*
 * Whether the kernel has target type (e.g. "verity"): DM_GET_TARGET_VERSION.
 * 0 with *ret_version filled, -ENOENT when the kernel does not know it.
 */
int sl_dm_target_version(const SlDmOps *ops, const char *type, uint32_t ret_version[3]) _wur_;
