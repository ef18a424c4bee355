/* SPDX-License-Identifier: MIT */
/*
 * Crash safety of the in-place GPT updates (sl_gpt_set_usr_partuuids, sl_gpt_grow).
 *
 * The operation runs once on a memory disk through a recording SlGptOps. Then every
 * state a crash can leave is rebuilt and read back with sl_gpt_read():
 *   - all writes of the epochs (between flushes) before the crash are durable;
 *   - of the epoch the crash hits, any subset of the changed sectors landed (a disk
 *     with a volatile cache reorders writes between flushes; this includes every
 *     prefix, i.e. an interruption after every single write);
 *   - plus one further sector torn: its first or last part new, the rest old.
 * Each state must read as a valid table equal to the one before or the one after.
 * The checker is itself tested: orders that are wrong (the epochs reversed for
 * grow, no flush between the copies) must produce bad states.
 */
#include <inttypes.h>

#include "slate/bytes.h"
#include "slate/error.h"
#include "slate/gpt.h"
#include "test.h"

#define MiB	       (UINT64_C(1) << 20)
#define MAX_EXHAUSTIVE 12 /* changed sectors in one epoch explored exhaustively */

typedef struct Write {
	uint64_t off;
	size_t len;
	uint8_t *data;
	unsigned epoch;
} Write;

typedef struct Recorder {
	SlGptMemory mem;
	Write w[64];
	size_t n;
	unsigned epoch;
} Recorder;

typedef struct Outcome {
	unsigned long states, old, new, bad;
} Outcome;

static int rec_read(void *userdata, void *buf, size_t len, uint64_t off)
{
	Recorder *r = userdata;

	if (!sl_range_ok(off, len, r->mem.len))
		return -EIO;
	memcpy(buf, r->mem.buf + off, len);
	return 0;
}

static int rec_write(void *userdata, const void *buf, size_t len, uint64_t off)
{
	Recorder *r = userdata;
	Write *w;

	if (!sl_range_ok(off, len, r->mem.len) || r->n == ARRAY_SIZE(r->w))
		return -EIO;
	w = &r->w[r->n++];
	*w = (Write){ .off = off, .len = len, .data = malloc(len), .epoch = r->epoch };
	if (!w->data)
		return -ENOMEM;
	memcpy(w->data, buf, len);
	memcpy(r->mem.buf + off, buf, len);
	return 0;
}

static int rec_flush(void *userdata)
{
	Recorder *r = userdata;

	r->epoch++;
	return 0;
}

static void rec_ops(Recorder *r, uint32_t ss, SlGptOps *ops)
{
	*ops = (SlGptOps){ .read = rec_read,
			   .write = rec_write,
			   .flush = rec_flush,
			   .userdata = r,
			   .size = r->mem.len,
			   .sector_size = ss };
}

static void rec_done(Recorder *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->w[i].data);
	free(r->mem.buf);
}

/* The same table: geometry, GUIDs, every entry. */
static bool same_table(const SlGpt *a, const SlGpt *b)
{
	return a->sector_size == b->sector_size && sl_uuid_equal(&a->disk_guid, &b->disk_guid) &&
	       a->first_usable_lba == b->first_usable_lba &&
	       a->last_usable_lba == b->last_usable_lba && a->backup_lba == b->backup_lba &&
	       a->primary_entries_lba == b->primary_entries_lba &&
	       a->backup_entries_lba == b->backup_entries_lba && a->entry_count == b->entry_count &&
	       a->entry_size == b->entry_size &&
	       memcmp(a->entries, b->entries, a->entry_count * sizeof(SlGptEntry)) == 0;
}

static void check_state(uint8_t *img, size_t len, uint32_t ss, const SlGpt *old, const SlGpt *new,
			Outcome *o, const char *what)
{
	SlGptMemory mem = { img, len };
	SlGptOps ops;
	SlGpt *g = NULL;
	int r;

	sl_gpt_ops_from_memory(&mem, ss, &ops);
	o->states++;
	sl_error_clear();
	r = sl_gpt_read(&ops, 0, &g);
	if (r >= 0 && same_table(g, old))
		o->old++;
	else if (r >= 0 && same_table(g, new))
		o->new ++;
	else if (o->bad++ == 0)
		printf("# first bad state (%s): %s\n", what,
		       r < 0 ? sl_error_message(r) : "a table that is neither old nor new");
	sl_gpt_free(g);
}

/* Sectors of img that the writes of one epoch change, in write order. */
static size_t changed_sectors(const Recorder *rec, unsigned epoch, const uint8_t *base,
			      uint8_t *target, size_t len, uint32_t ss, uint64_t *out, size_t max)
{
	size_t n = 0;

	memcpy(target, base, len);
	for (size_t i = 0; i < rec->n; i++)
		if (rec->w[i].epoch == epoch)
			memcpy(target + rec->w[i].off, rec->w[i].data, rec->w[i].len);
	for (size_t i = 0; i < rec->n; i++) {
		if (rec->w[i].epoch != epoch)
			continue;
		for (uint64_t s = rec->w[i].off / ss; s * ss < rec->w[i].off + rec->w[i].len; s++) {
			bool seen = false;

			for (size_t k = 0; k < n; k++)
				seen |= out[k] == s;
			if (!seen && n < max && memcmp(base + s * ss, target + s * ss, ss) != 0)
				out[n++] = s;
		}
	}
	return n;
}

/* A small deterministic generator for the sampled subsets of large epochs. */
static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void explore(const uint8_t *initial, size_t len, uint32_t ss, const Recorder *rec,
		    const SlGpt *old, const SlGpt *new, Outcome *o)
{
	uint8_t *base = malloc(len), *target = malloc(len), *img = malloc(len);
	uint64_t sec[256], seed = 0x9e3779b97f4a7c15u;
	const size_t tears[] = { ss / 2, 512 };

	ASSERT_TRUE(base && target && img);
	memcpy(base, initial, len);
	for (unsigned e = 0; e <= rec->epoch; e++) {
		size_t n = changed_sectors(rec, e, base, target, len, ss, sec, ARRAY_SIZE(sec));
		bool exhaustive = n <= MAX_EXHAUSTIVE;
		uint64_t n_masks = exhaustive ? UINT64_C(1) << n : 3 * n + 2 + 2000;

		memcpy(img, base, len);

		for (uint64_t m = 0; m < n_masks; m++) {
			uint64_t mask[4] = { 0 }; /* bit k: sector sec[k] landed */

			if (exhaustive)
				mask[0] = m;
			else if (m <= n) /* prefixes in write order */
				for (size_t k = 0; k < m; k++)
					mask[k / 64] |= UINT64_C(1) << (k % 64);
			else if (m <= 2 * n) /* all but one */
				for (size_t k = 0; k < n; k++)
					mask[k / 64] |= (uint64_t)(k != m - n - 1) << (k % 64);
			else if (m <= 3 * n + 1) /* exactly one */
				mask[(m - 2 * n - 1) / 64] |= UINT64_C(1) << ((m - 2 * n - 1) % 64);
			else /* sampled */
				for (size_t k = 0; k < 4; k++)
					mask[k] = next_rand(&seed);
			for (size_t k = 0; k < n; k++)
				memcpy(img + sec[k] * ss,
				       (mask[k / 64] >> (k % 64) & 1 ? target : base) + sec[k] * ss,
				       ss);
			check_state(img, len, ss, old, new, o, "sectors landed");
			/* One more sector torn, on the exhaustive and the prefix states. */
			if (!exhaustive && m > n)
				continue;
			for (size_t k = 0; k < n; k++) {
				uint8_t *s = img + sec[k] * ss, *t = target + sec[k] * ss;

				if (mask[k / 64] >> (k % 64) & 1)
					continue;
				for (size_t i = 0; i < ARRAY_SIZE(tears); i++) {
					uint8_t saved[4096];
					size_t cut = tears[i];

					memcpy(saved, s, ss);
					memcpy(s, t, cut); /* the start new, the end old */
					check_state(img, len, ss, old, new, o, "torn sector");
					memcpy(s, saved, ss);
					memcpy(s + cut, t + cut, ss - cut); /* the end new */
					check_state(img, len, ss, old, new, o, "torn sector");
					memcpy(s, saved, ss);
				}
			}
		}
		memcpy(base, target, len); /* the epoch's flush: all of it is durable */
	}
	free(base);
	free(target);
	free(img);
}

static const char layout[] = "align 64K\n"
			     "partition EFI-SYSTEM   256K esp\n"
			     "partition USR-A        512K usr\n"
			     "partition USR-A-VERITY 64K  usr-verity\n"
			     "partition USR-B        512K usr\n"
			     "partition USR-B-VERITY 64K  usr-verity\n"
			     "partition ROOT         rest root\n";

static const uint8_t hash[32] = { 0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,  6,  7,
				  8,	9,    10,   11,	  12, 13, 14, 15, 16, 17, 18,
				  19,	20,   21,   22,	  23, 24, 25, 26, 27, 28 };

/* A disk of `size` bytes with the layout made for `made` bytes, the rest filled. */
static uint8_t *make_disk(uint64_t made, uint64_t size, uint32_t ss, uint8_t fill)
{
	_cleanup_gpt_layout_ SlGptLayout *l = NULL;
	_cleanup_gpt_ SlGpt *gpt = NULL;
	SlGptMemory mem = { malloc(size), size };
	SlGptOps ops;

	ASSERT_TRUE(mem.buf);
	memset(mem.buf, fill, size);
	memset(mem.buf, 0, made);
	sl_gpt_ops_from_memory(&mem, ss, &ops);
	ASSERT_OK(sl_gpt_layout_parse(layout, &l));
	ASSERT_OK(sl_gpt_layout_build(l, made, ss, "crash", &gpt));
	ASSERT_OK(sl_gpt_write(&ops, gpt, NULL));
	return mem.buf;
}

typedef enum Op { OP_SET_A, OP_SET_B, OP_GROW } Op;
typedef enum Order { ORDER_AS_WRITTEN, ORDER_EPOCHS_REVERSED, ORDER_NO_FLUSHES } Order;

/*
 * Run op on a copy of initial, then explore the crash states of its writes, in the
 * order the library issued them or in a deliberately wrong order.
 */
static Outcome crash_test(const uint8_t *initial, size_t len, uint32_t ss, Op op, Order order)
{
	Recorder rec = { .mem = { malloc(len), len } };
	SlGptMemory mem = { rec.mem.buf, len };
	SlGptOps ops, plain;
	SlGpt *old = NULL, *new = NULL;
	Outcome o = { 0 };
	unsigned last;

	ASSERT_TRUE(rec.mem.buf);
	memcpy(rec.mem.buf, initial, len);
	rec_ops(&rec, ss, &ops);
	sl_gpt_ops_from_memory(&mem, ss, &plain);
	ASSERT_OK(sl_gpt_read(&plain, 0, &old));
	if (op == OP_GROW) {
		SlGptGrowResult res;

		ASSERT_OK(sl_gpt_grow(&ops, &res));
		ASSERT_TRUE(res.changed);
	} else {
		ASSERT_OK(sl_gpt_set_usr_partuuids(&ops, op == OP_SET_A ? 'A' : 'B', hash,
						   sizeof(hash)));
	}
	ASSERT_OK(sl_gpt_read(&plain, 0, &new));
	ASSERT_EQ(new->status, 0);
	ASSERT_FALSE(same_table(old, new));
	last = rec.epoch;
	ASSERT_TRUE(last >= 2);
	for (size_t i = 0; i < rec.n; i++) {
		if (order == ORDER_NO_FLUSHES)
			rec.w[i].epoch = 0;
		else if (order == ORDER_EPOCHS_REVERSED && rec.w[i].epoch < last - 1)
			rec.w[i].epoch = last - 2 - rec.w[i].epoch; /* the two copies swapped */
	}
	explore(initial, len, ss, &rec, old, new, &o);
	printf("# %s, %u-byte sectors, %s: %lu crash states: %lu old, %lu new, %lu bad\n",
	       op == OP_GROW ? "grow" : "PARTUUID update", ss,
	       order == ORDER_AS_WRITTEN   ? "library order"
	       : order == ORDER_NO_FLUSHES ? "no flushes (wrong)"
					   : "copies swapped",
	       o.states, o.old, o.new, o.bad);
	sl_gpt_free(old);
	sl_gpt_free(new);
	rec_done(&rec);
	return o;
}

static void expect_safe(Outcome o)
{
	ASSERT_EQ(o.bad, 0);
	ASSERT_TRUE(o.old > 0 && o.new > 0);
}

static void set_partuuids(uint32_t ss)
{
	uint8_t *disk = make_disk(4 * MiB, 4 * MiB, ss, 0);

	expect_safe(crash_test(disk, 4 * MiB, ss, OP_SET_A, ORDER_AS_WRITTEN));
	expect_safe(crash_test(disk, 4 * MiB, ss, OP_SET_B, ORDER_AS_WRITTEN));
	/* The checker can fail: without a flush between the copies, both can break. */
	ASSERT_TRUE(crash_test(disk, 4 * MiB, ss, OP_SET_A, ORDER_NO_FLUSHES).bad > 0);
	free(disk);
}

TEST(crash_set_partuuids_512)
{
	set_partuuids(512);
}

TEST(crash_set_partuuids_4096)
{
	set_partuuids(4096);
}

static void grow(uint32_t ss, uint8_t fill)
{
	/* Made for 4 MiB, the disk is now 6 MiB; the new space holds `fill`. */
	uint8_t *disk = make_disk(4 * MiB, 6 * MiB, ss, fill);

	expect_safe(crash_test(disk, 6 * MiB, ss, OP_GROW, ORDER_AS_WRITTEN));
	/* The primary first would leave no valid copy: the old backup is not where
	 * readers look for it once the primary is invalid. */
	ASSERT_TRUE(crash_test(disk, 6 * MiB, ss, OP_GROW, ORDER_EPOCHS_REVERSED).bad > 0);
	ASSERT_TRUE(crash_test(disk, 6 * MiB, ss, OP_GROW, ORDER_NO_FLUSHES).bad > 0);
	free(disk);
}

TEST(crash_grow_512)
{
	grow(512, 0);
}

TEST(crash_grow_4096)
{
	grow(4096, 0);
}

TEST(crash_grow_over_old_data)
{
	grow(512, 0xa5);
	grow(4096, 0x5a);
}

TEST(crash_update_with_damaged_primary)
{
	/* Readers live on the backup: the library rewrites the primary first. */
	uint8_t *disk = make_disk(4 * MiB, 4 * MiB, 512, 0);

	disk[512 + 60] ^= 1;
	expect_safe(crash_test(disk, 4 * MiB, 512, OP_SET_B, ORDER_AS_WRITTEN));
	ASSERT_TRUE(crash_test(disk, 4 * MiB, 512, OP_SET_B, ORDER_EPOCHS_REVERSED).bad > 0);
	free(disk);
}

TEST(crash_grow_with_damaged_backup)
{
	/* The backup at the old end is damaged; the new one is written first anyway. */
	uint8_t *disk = make_disk(4 * MiB, 6 * MiB, 4096, 0);

	disk[4 * MiB - 4096 + 60] ^= 1;
	expect_safe(crash_test(disk, 6 * MiB, 4096, OP_GROW, ORDER_AS_WRITTEN));
	free(disk);
}
