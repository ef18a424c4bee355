/* SPDX-License-Identifier: MIT */
/*
 * Building and verifying dm-verity hash trees (SPEC.md §1.3) on all cores.
 *
 * The tree is held in memory while it is built or checked (about 1/128 of the
 * data for 4 KiB blocks and sha256) and written with a few large writes. Each
 * level is one "pass": its input blocks (the data, or the level below) are
 * handed out in chunks to worker threads through an atomic counter, so a thread
 * slowed by a busy core simply takes fewer chunks. Data is read through a
 * read-only shared mapping where the kernel allows one (regular files, block
 * devices), else with large preads into per-thread buffers; never a read per
 * block. SLATE_VERITY_NO_MMAP=1 in the environment forces the preads.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "digest.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/verity.h"

#define CHUNK_BYTES (1u << 20) /* work item: about 1 MiB of input */
#define MAX_THREADS 256u
#define NOT_A_READ  UINT64_MAX /* Pass.error_offset of a failure that was not a read */

typedef enum PassMode {
	PASS_WRITE, /* store each digest in its entry */
	PASS_CHECK, /* compare each digest with its entry */
} PassMode;

typedef struct Pass {
	/* Input blocks: from memory when mem is set, else read from fd at offset. */
	const uint8_t *mem; /* borrowed */
	int fd;
	uint64_t offset;
	uint64_t n; /* input blocks */
	size_t bs;  /* input block size */
	/* Entries of the level above: entry i at (i >> bits) * hbs + (i & mask) * stride. */
	uint8_t *entries; /* borrowed */
	unsigned bits;
	size_t hbs, stride;
	PassMode mode;
	const SlVerityParams *params; /* borrowed */

	uint64_t chunk; /* blocks per work item */
	_Atomic uint64_t next_chunk;
	_Atomic uint64_t first_bad; /* PASS_CHECK: lowest mismatching block, or UINT64_MAX */
	pthread_mutex_t lock;	    /* guards error and error_offset */
	int error;		    /* first failure, negative errno */
	uint64_t error_offset;	    /* where a read failed */
} Pass;

unsigned sl_verity_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (unsigned)MIN(n, (long)MAX_THREADS);
}

static void pass_fail(Pass *ps, int r, uint64_t offset)
{
	pthread_mutex_lock(&ps->lock);
	if (!ps->error) {
		ps->error = r;
		ps->error_offset = offset;
	}
	pthread_mutex_unlock(&ps->lock);
}

static bool pass_failed(Pass *ps)
{
	int r;

	pthread_mutex_lock(&ps->lock);
	r = ps->error;
	pthread_mutex_unlock(&ps->lock);
	return r != 0;
}

static void note_bad(Pass *ps, uint64_t block)
{
	uint64_t cur = atomic_load(&ps->first_bad);

	while (block < cur && !atomic_compare_exchange_weak(&ps->first_bad, &cur, block))
		;
}

static uint8_t *entry(const Pass *ps, uint64_t i)
{
	return ps->entries + (i >> ps->bits) * ps->hbs +
	       (i & ((UINT64_C(1) << ps->bits) - 1)) * ps->stride;
}

/* Hashes count blocks at in (blocks first.. of the pass) into or against their
 * entries. A few blocks per call: the SHA-NI path hashes them interleaved. */
static int hash_chunk(Pass *ps, VerityHasher *h, const uint8_t *in, uint64_t first, uint64_t count)
{
	uint8_t digests[VERITY_HASHER_BATCH * SL_VERITY_DIGEST_MAX];
	int r;

	for (uint64_t i = 0; i < count; i += VERITY_HASHER_BATCH) {
		size_t k = (size_t)MIN(VERITY_HASHER_BATCH, count - i);

		r = verity_hasher_digest_blocks(h, in + i * ps->bs, ps->bs, k, digests);
		if (r < 0)
			return r;
		for (size_t j = 0; j < k; j++) {
			const uint8_t *d = digests + j * h->digest_size;

			if (ps->mode == PASS_WRITE) {
				memcpy(entry(ps, first + i + j), d, h->digest_size);
			} else if (sl_memcmp_ct(entry(ps, first + i + j), d, h->digest_size)) {
				/* Blocks after a mismatch do not matter. */
				note_bad(ps, first + i + j);
				return 0;
			}
		}
	}
	return 0;
}

static void *pass_worker(void *arg)
{
	Pass *ps = arg;
	VerityHasher h;
	_cleanup_free_ uint8_t *buf = NULL;
	int r;

	r = verity_hasher_init(&h, ps->params);
	if (r < 0) {
		pass_fail(ps, r, NOT_A_READ);
		return NULL;
	}
	if (!ps->mem) {
		buf = malloc(ps->chunk * ps->bs);
		if (!buf) {
			pass_fail(ps, -ENOMEM, NOT_A_READ);
			goto out;
		}
	}
	for (;;) {
		uint64_t c = atomic_fetch_add(&ps->next_chunk, 1), first, count;
		const uint8_t *in;

		if (c >= (ps->n + ps->chunk - 1) / ps->chunk || pass_failed(ps))
			break;
		first = c * ps->chunk;
		count = MIN(ps->chunk, ps->n - first);
		/* Checking: blocks after a known mismatch do not matter. */
		if (ps->mode == PASS_CHECK && first > atomic_load(&ps->first_bad))
			break;
		if (ps->mem) {
			in = ps->mem + first * ps->bs;
		} else {
			r = sl_pread_all(ps->fd, buf, count * ps->bs, ps->offset + first * ps->bs);
			if (r < 0) {
				pass_fail(ps, r, ps->offset + first * ps->bs);
				break;
			}
			in = buf;
		}
		r = hash_chunk(ps, &h, in, first, count);
		if (r < 0) {
			pass_fail(ps, r, NOT_A_READ);
			break;
		}
	}
out:
	verity_hasher_done(&h);
	return NULL;
}

/* Runs one pass on up to `threads` threads (the caller's among them). */
static int pass_run(Pass *ps, unsigned threads)
{
	uint64_t chunks;
	pthread_t tid[MAX_THREADS];
	unsigned started = 0;

	ps->chunk = MAX(1u, CHUNK_BYTES / ps->bs);
	chunks = (ps->n + ps->chunk - 1) / ps->chunk;
	threads = (unsigned)MIN((uint64_t)MIN(threads, MAX_THREADS), chunks);
	atomic_init(&ps->next_chunk, 0);
	atomic_init(&ps->first_bad, UINT64_MAX);
	pthread_mutex_init(&ps->lock, NULL);
	ps->error = 0;

	for (unsigned i = 1; i < threads; i++) {
		if (pthread_create(&tid[started], NULL, pass_worker, ps) != 0)
			break; /* fewer threads is still correct */
		started++;
	}
	pass_worker(ps);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&ps->lock);
	if (ps->error == -ENODATA)
		return sl_errorf(-EBADMSG,
				 "unexpected end of file at offset %" PRIu64 " (truncated?)",
				 ps->error_offset);
	if (ps->error == -ENOMEM || ps->error == -EOPNOTSUPP)
		return ps->error;
	if (ps->error && ps->error_offset == NOT_A_READ)
		return sl_errorf(ps->error, "hashing failed (OpenSSL): %s", strerror(-ps->error));
	if (ps->error)
		return sl_errorf(ps->error, "read failed at offset %" PRIu64 ": %s",
				 ps->error_offset, strerror(-ps->error));
	return 0;
}

/* Whether two fds are the same regular file or the same block device. */
static int same_device(int a, int b, bool *ret)
{
	struct stat sa, sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return -errno;
	if (S_ISREG(sa.st_mode) && S_ISREG(sb.st_mode))
		*ret = sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	else if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
		*ret = sa.st_rdev == sb.st_rdev;
	else
		*ret = false;
	return 0;
}

static bool is_block_device(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISBLK(st.st_mode);
}

/* The data area, mapped when the kernel allows it. */
typedef struct DataMap {
	void *mem;
	size_t len;
} DataMap;

static void data_map(DataMap *m, int fd, uint64_t len)
{
	m->mem = NULL;
	m->len = 0;
	/* SLATE_VERITY_NO_MMAP=1 forces the read path (tests, diagnosis). */
	if (len > SIZE_MAX || getenv("SLATE_VERITY_NO_MMAP"))
		return;
	m->mem = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0);
	if (m->mem == MAP_FAILED) {
		m->mem = NULL;
		return;
	}
	m->len = (size_t)len;
	(void)madvise(m->mem, m->len, MADV_SEQUENTIAL);
}

static void data_unmap(DataMap *m)
{
	if (m->mem)
		munmap(m->mem, m->len);
	m->mem = NULL;
}

/* What format and verify share: the layout, the tree in memory, the data map. */
typedef struct Job {
	const SlVerityParams *p; /* borrowed */
	SlVerityLayout l;
	uint8_t *tree; /* owned: the hash blocks, from hash_start_block on */
	size_t tree_size;
	uint8_t *top; /* owned: one block whose entry 0 is the root hash */
	DataMap map;
	int data_fd, hash_fd;
	unsigned threads;
} Job;

static void job_done(Job *j)
{
	free(j->tree);
	free(j->top);
	data_unmap(&j->map);
}

static int job_init(Job *j, int data_fd, int hash_fd, const SlVerityParams *p, unsigned threads)
{
	uint64_t data_size;
	bool same;
	int r;

	*j = (Job){ .p = p, .data_fd = data_fd, .hash_fd = hash_fd };
	j->threads = threads ? threads : sl_verity_default_threads();
	r = sl_verity_layout(p, &j->l);
	if (r < 0)
		return r;
	r = sl_fd_size(data_fd, &data_size);
	if (r < 0)
		return r;
	r = same_device(data_fd, hash_fd, &same);
	if (r < 0)
		return r;
	/* The hash side is checked by the caller: format may grow a file. */
	r = sl_verity_check_sizes(p, data_size, UINT64_MAX, same);
	if (r < 0)
		return r;
	if (j->l.hash_blocks * p->hash_block_size > SIZE_MAX)
		return sl_errorf(-E2BIG, "hash tree of %" PRIu64 " blocks does not fit in memory",
				 j->l.hash_blocks);
	j->tree_size = (size_t)(j->l.hash_blocks * p->hash_block_size);
	j->tree = calloc(j->tree_size ? j->tree_size : 1, 1);
	j->top = calloc(p->hash_block_size, 1);
	if (!j->tree || !j->top)
		return -ENOMEM;
	data_map(&j->map, data_fd, j->l.data_area_size);
	return 0;
}

static uint8_t *level_base(const Job *j, unsigned level)
{
	return j->tree + (j->l.level_block[level] - j->l.hash_start_block) * j->p->hash_block_size;
}

/* The pass that hashes level `level` (-1: the data) into the level above it. */
static Pass job_pass(const Job *j, int level, PassMode mode)
{
	Pass ps = {
		.fd = j->data_fd,
		.bits = j->l.per_block_bits,
		.hbs = j->p->hash_block_size,
		.stride = j->l.digest_stride,
		.mode = mode,
		.params = j->p,
	};

	if (level < 0) {
		ps.mem = j->map.mem;
		ps.n = j->p->data_blocks;
		ps.bs = j->p->data_block_size;
	} else {
		ps.mem = level_base(j, (unsigned)level);
		ps.n = j->l.level_blocks[level];
		ps.bs = j->p->hash_block_size;
	}
	ps.entries =
		(unsigned)(level + 1) < j->l.levels ? level_base(j, (unsigned)(level + 1)) : j->top;
	return ps;
}

static int write_hash_area(const Job *j)
{
	const SlVerityParams *p = j->p;
	uint64_t tree_off = j->l.hash_start_block * p->hash_block_size;
	int r;

	if (p->superblock) {
		/* The superblock, then zeros up to the first hash block (veritysetup
		 * leaves whatever was there; zeros make the area well defined). */
		size_t len = (size_t)(tree_off - p->hash_offset);
		_cleanup_free_ uint8_t *head = calloc(len, 1);

		if (!head)
			return -ENOMEM;
		r = sl_verity_superblock_encode(p, head);
		if (r < 0)
			return r;
		r = sl_pwrite_all(j->hash_fd, head, len, p->hash_offset);
		if (r < 0)
			return sl_errorf(r, "cannot write the superblock: %s", strerror(-r));
	}
	r = sl_pwrite_all(j->hash_fd, j->tree, j->tree_size, tree_off);
	if (r < 0)
		return sl_errorf(r, "cannot write the hash tree: %s", strerror(-r));
	if (fsync(j->hash_fd) < 0 && errno != EINVAL)
		return sl_errorf(-errno, "cannot flush the hash device: %m");
	return 0;
}

int sl_verity_format(int data_fd, int hash_fd, const SlVerityParams *p, unsigned threads,
		     uint8_t ret_root[static SL_VERITY_DIGEST_MAX])
{
	_cleanup_(job_done) Job j;
	uint64_t hash_size;
	int r;

	r = job_init(&j, data_fd, hash_fd, p, threads);
	if (r < 0)
		return r;
	if (is_block_device(hash_fd)) {
		r = sl_fd_size(hash_fd, &hash_size);
		if (r < 0)
			return r;
		if (hash_size < j.l.hash_area_end)
			return sl_errorf(-ENOSPC,
					 "the hash area needs %" PRIu64
					 " bytes, the hash device has %" PRIu64,
					 j.l.hash_area_end, hash_size);
	}

	/* Bottom up: the data into level 0, each level into the next, the top
	 * block into the root. */
	for (int level = -1; level < (int)j.l.levels; level++) {
		Pass ps = job_pass(&j, level, PASS_WRITE);

		r = pass_run(&ps, j.threads);
		if (r < 0)
			return r;
	}
	r = write_hash_area(&j);
	if (r < 0)
		return r;
	memcpy(ret_root, j.top, j.l.digest_size);
	return 0;
}

static int corrupt(SlVerityCorruption *ret_bad, SlVerityArea area, uint64_t block, unsigned level,
		   uint64_t offset)
{
	if (ret_bad)
		*ret_bad = (SlVerityCorruption){
			.area = area, .block = block, .level = level, .offset = offset
		};
	return -EUCLEAN;
}

/* Read the stored tree and check the bytes between superblock and tree are zero
 * (those present: see sl_verity_verify() for a single data block). */
static int read_hash_area(const Job *j, uint64_t hash_size, SlVerityCorruption *ret_bad)
{
	const SlVerityParams *p = j->p;
	uint64_t tree_off = j->l.hash_start_block * p->hash_block_size;
	int r;

	if (p->superblock) {
		uint64_t from = p->hash_offset + SL_VERITY_SUPERBLOCK_SIZE;
		size_t len = (size_t)(MIN(tree_off, MAX(hash_size, from)) - from);
		_cleanup_free_ uint8_t *gap = malloc(len ? len : 1);

		if (!gap)
			return -ENOMEM;
		r = sl_pread_all(j->hash_fd, gap, len, from);
		if (r < 0)
			return sl_errorf(r == -ENODATA ? -EBADMSG : r,
					 "cannot read the hash device at offset %" PRIu64 "%s",
					 from, r == -ENODATA ? " (truncated?)" : "");
		for (size_t i = 0; i < len; i++)
			if (gap[i]) {
				uint64_t off = from + i;

				corrupt(ret_bad, SL_VERITY_AREA_HASH, off / p->hash_block_size,
					j->l.levels, off);
				return sl_errorf(-EUCLEAN,
						 "hash area: byte %" PRIu64
						 " between the superblock and the first hash block "
						 "(in hash block %" PRIu64 ") is not zero",
						 off, off / p->hash_block_size);
			}
	}
	r = sl_pread_all(j->hash_fd, j->tree, j->tree_size, tree_off);
	if (r < 0)
		return sl_errorf(r == -ENODATA ? -EBADMSG : r,
				 "cannot read the hash tree at offset %" PRIu64 "%s", tree_off,
				 r == -ENODATA ? " (truncated?)" : "");
	return 0;
}

int sl_verity_verify(int data_fd, int hash_fd, const SlVerityParams *p, const uint8_t *root_hash,
		     size_t root_hash_size, unsigned threads, SlVerityCorruption *ret_bad)
{
	_cleanup_(job_done) Job j;
	uint64_t hash_size;
	int r;

	r = job_init(&j, data_fd, hash_fd, p, threads);
	if (r < 0)
		return r;
	if (root_hash_size != j.l.digest_size)
		return sl_errorf(-EINVAL, "root hash of %zu bytes, %s needs %zu", root_hash_size,
				 p->algorithm, j.l.digest_size);
	r = sl_fd_size(hash_fd, &hash_size);
	if (r < 0)
		return r;
	/* With a single data block there is no tree, and veritysetup writes the
	 * superblock padded only to the file system block, not to the first hash
	 * block (and without a superblock, nothing): accept that, the missing bytes
	 * would be zeros that nothing reads. */
	if (j.l.levels > 0) {
		r = sl_verity_check_sizes(p, UINT64_MAX, hash_size, false);
		if (r < 0)
			return r;
	} else if (p->superblock && hash_size < p->hash_offset + SL_VERITY_SUPERBLOCK_SIZE)
		return sl_errorf(-EBADMSG,
				 "the superblock ends at %" PRIu64 ", the hash device has %" PRIu64
				 " bytes (truncated?)",
				 p->hash_offset + SL_VERITY_SUPERBLOCK_SIZE, hash_size);
	r = read_hash_area(&j, hash_size, ret_bad);
	if (r < 0)
		return r;
	memcpy(j.top, root_hash, root_hash_size);

	/* Top down: each level's blocks against the entries of the level above
	 * (already verified), so the first mismatch names the damaged block. */
	for (int level = (int)j.l.levels - 1; level >= -1; level--) {
		Pass ps = job_pass(&j, level, PASS_CHECK);
		uint64_t bad;

		r = pass_run(&ps, j.threads);
		if (r < 0)
			return r;
		bad = atomic_load(&ps.first_bad);
		if (bad == UINT64_MAX)
			continue;
		if (level < 0) {
			corrupt(ret_bad, SL_VERITY_AREA_DATA, bad, 0, bad * p->data_block_size);
			return sl_errorf(-EUCLEAN,
					 "data block %" PRIu64 " (offset %" PRIu64
					 ") does not match %s",
					 bad, bad * p->data_block_size,
					 j.l.levels ? "its hash" : "the root hash");
		}
		bad += j.l.level_block[level];
		corrupt(ret_bad, SL_VERITY_AREA_HASH, bad, (unsigned)level,
			bad * p->hash_block_size);
		return sl_errorf(-EUCLEAN,
				 "hash block %" PRIu64 " (level %d%s, offset %" PRIu64
				 ") does not match %s",
				 bad, level, (unsigned)level + 1 == j.l.levels ? ", the top" : "",
				 bad * p->hash_block_size,
				 (unsigned)level + 1 == j.l.levels ? "the root hash" : "its hash");
	}
	if (ret_bad)
		*ret_bad = (SlVerityCorruption){ .area = SL_VERITY_AREA_NONE };
	return 0;
}
