/* SPDX-License-Identifier: MIT */
/*
 * slate-init: the initramfs program that turns usrhash= into a dm-verity /usr,
 * assembles the root file system and starts systemd (README "slate-init").
 *
 * Everything it does to the system goes through InitOps, so the whole boot,
 * including every way it can fail, runs in unit tests against a fake system
 * (tests/unit/test-init.c). ops-linux.c holds the real ones; main.c is PID 1.
 *
 * Errors inside are negative errno values as everywhere in Slate; a boot that
 * cannot go on ends in one InitError, which emergency.c turns into the one
 * console line and the action slate.emergency= asks for.
 */
#pragma once

#include <sys/types.h>

#include "slate/dm.h"
#include "slate/gpt.h"
#include "slate/tpm.h"
#include "slate/uuid.h"
#include "slate/verity.h"

/* Paths inside the initramfs (made by `slate initrd build`). */
#define INIT_SYSROOT	    "/sysroot"
#define INIT_MODULES_DIR    "/lib/modules"
#define INIT_ROOTHASH_SIG   "/slate/usr.roothash.p7s"
#define INIT_SYSTEMD	    "/usr/lib/systemd/systemd"
#define INIT_SYSTEMD_MAX    (64u << 20) /* it is about 100 KiB */
#define INIT_FACTORY_ETC    "/usr/share/factory/etc"
#define INIT_ETC_UPPER	    "/.slate/etc/upper" /* on ROOT */
#define INIT_ETC_WORK	    "/.slate/etc/work"
#define INIT_USR_DM_NAME    "usr"
#define INIT_SIG_MAX	    (64u << 10) /* a PKCS#7 signature is ~1-2 KiB */
#define INIT_VERITY_SIG_MAX (4u << 20)	/* systemd's cap on a verity-sig partition */

/* ---- Command line (cmdline.c) ---- */

typedef enum InitEmergencyPolicy {
	INIT_EMERGENCY_REBOOT, /* default: reboot after a delay, boot counting falls back */
	INIT_EMERGENCY_HALT,   /* power off */
} InitEmergencyPolicy;

typedef enum InitRootKind {
	INIT_ROOT_AUTO,	    /* the DPS root partition on the /usr disk */
	INIT_ROOT_PARTUUID, /* root=PARTUUID=... or /dev/disk/by-partuuid/... */
	INIT_ROOT_PARTLABEL,
	INIT_ROOT_DEVICE, /* root=/dev/NAME: a kernel block device name */
} InitRootKind;

#define INIT_DEFAULT_TIMEOUT_S	       30
#define INIT_DEFAULT_EMERGENCY_DELAY_S 30
#define INIT_MAX_SECONDS	       3600

typedef struct InitConfig {
	bool have_usrhash;
	uint8_t usrhash[SL_VERITY_DIGEST_MAX];
	size_t usrhash_size;
	InitRootKind root_kind;
	SlUuid root_partuuid;
	char root_name[SL_GPT_NAME_MAX]; /* PARTLABEL or device name */
	char rootfstype[32];
	char rootflags[256];
	InitEmergencyPolicy emergency;
	unsigned emergency_delay_s;
	unsigned timeout_s;
	SlVerityOnCorruption corruption;
	bool grow;
} InitConfig;

void init_config_defaults(InitConfig *cfg);

/*
 * Parse the kernel command line into cfg (defaults first). usrhash=, root=,
 * rootfstype=, rootflags= and every slate.* option; other words are the kernel's
 * or systemd's. On a malformed or unknown parameter: -EBADMSG, the detail message
 * names it, and cfg still holds every option that did parse (so the emergency
 * policy from slate.emergency= applies). A missing usrhash= is not an error here
 * (have_usrhash says).
 */
int init_cmdline_parse(const char *cmdline, InitConfig *cfg) _wur_;

/* One line describing cfg for the log: "usrhash=ab12…, root=auto, ...". */
void init_config_describe(const InitConfig *cfg, char *out, size_t len);

/* ---- Failures and the emergency path (emergency.c) ---- */

typedef enum InitFailure {
	INIT_FAIL_API_MOUNTS,
	INIT_FAIL_CMDLINE,
	INIT_FAIL_MODULE,
	INIT_FAIL_KERNEL_FEATURE,
	INIT_FAIL_USR_NOT_FOUND,
	INIT_FAIL_USR_VERITY_MISSING,
	INIT_FAIL_USR_DATA_MISSING,
	INIT_FAIL_PARTITION_AMBIGUOUS,
	INIT_FAIL_VERITY_SUPERBLOCK,
	INIT_FAIL_SIGNATURE_READ,
	INIT_FAIL_SIGNATURE_REJECTED,
	INIT_FAIL_SIGNATURE_UNTRUSTED,
	INIT_FAIL_SIGNATURE_REQUIRED,
	INIT_FAIL_VERITY_DEVICE,
	INIT_FAIL_USR_MOUNT,
	INIT_FAIL_USR_CORRUPT,
	INIT_FAIL_ROOT_NOT_FOUND,
	INIT_FAIL_ROOT_MOUNT,
	INIT_FAIL_ROOT_PREPARE,
	INIT_FAIL_ETC_OVERLAY,
	INIT_FAIL_SWITCH_ROOT,
	INIT_FAIL_CRASH,
	_INIT_FAIL_MAX,
} InitFailure;

typedef struct InitError {
	InitFailure failure;
	int err;	/* negative errno */
	char what[400]; /* what failed, with names and numbers */
} InitError;

/* Record a failure; returns err (negative) for `return init_fail(...)`. */
int init_fail(InitError *e, InitFailure failure, int err, const char *fmt, ...) _printf_(4, 5);

/* The fixed sentence that says what a failure means for the machine. */
const char *init_failure_meaning(InitFailure f);

typedef enum InitAction {
	INIT_ACTION_REBOOT,
	INIT_ACTION_POWEROFF,
} InitAction;

typedef struct InitEmergencyPlan {
	InitAction action;
	unsigned delay_s; /* before the action */
	char line[1024];  /* the one console line, with the "slate-init: " prefix */
} InitEmergencyPlan;

/* What to do after e, per cfg (NULL: the defaults, e.g. before the command line
 * could be read). */
void init_emergency_plan(const InitError *e, const InitConfig *cfg, InitEmergencyPlan *ret);

/* ---- The system, as slate-init uses it ---- */

typedef struct InitBlockDev {
	char name[32];	 /* kernel name: vda, vda2, nvme0n1p2 */
	char disk[32];	 /* for a partition, its whole disk; "" for a disk */
	unsigned partno; /* 0 for a whole disk */
	unsigned major, minor;
	uint64_t size; /* bytes */
} InitBlockDev;

typedef struct InitOps {
	void *userdata;
	/* A log line (no prefix, no newline) at a kmsg level (2 crit ... 6 info). */
	void (*log)(void *userdata, int level, const char *line);
	uint64_t (*now_ms)(void *userdata); /* since the kernel started */
	uint64_t (*now_us)(void *userdata); /* the same clock (CLOCK_BOOTTIME), in µs */
	void (*sleep_ms)(void *userdata, unsigned ms);
	int (*kernel_release)(void *userdata, char *out, size_t len);
	/* A whole small file; -ENOENT when missing. Caller owns *ret (NUL-terminated). */
	int (*read_file)(void *userdata, const char *path, size_t max, char **ret, size_t *ret_len);
	bool (*exists)(void *userdata, const char *path);
	/* lstat(): 0 when path exists, -ENOENT when it does not, another negative
	 * errno when that cannot be told (-EIO: a block of a verified /usr failed). */
	int (*probe)(void *userdata, const char *path);
	/* Create or replace a small file. */
	int (*write_file)(void *userdata, const char *path, const void *data, size_t len,
			  mode_t mode);
	int (*mkdir)(void *userdata, const char *path, mode_t mode); /* -EEXIST passes through */
	int (*symlink)(void *userdata, const char *target, const char *path);
	int (*mknod)(void *userdata, const char *path, mode_t mode, dev_t dev);
	int (*mount)(void *userdata, const char *source, const char *target, const char *fstype,
		     unsigned long flags, const char *data);
	/* finit_module() of the file at path; -EEXIST when already loaded. */
	int (*load_module)(void *userdata, const char *path, const char *params);
	/* Every block device the kernel has now. Caller owns *ret. */
	int (*list_block)(void *userdata, InitBlockDev **ret, size_t *ret_n);
	/* Byte I/O on /dev/NAME as SlGptOps (read, write, flush, size, sector size);
	 * close with block_close. */
	int (*block_open)(void *userdata, const char *name, bool writable, SlGptOps *ret);
	void (*block_close)(void *userdata, SlGptOps *ops);
	/* Tell the kernel partition partno of disk now spans [start, start+len) bytes. */
	int (*resize_partition)(void *userdata, const char *disk, unsigned partno, uint64_t start,
				uint64_t len);
	/* Grow the ext4 file system mounted at path to blocks (EXT4_IOC_RESIZE_FS). */
	int (*resize_ext4)(void *userdata, const char *path, uint64_t blocks);
	/* Open device-mapper control into *ret; -ENOENT when dm_mod is absent. */
	int (*dm_open)(void *userdata, SlDmOps *ret);
	/* add_key("user", desc, payload) into the thread keyring; unlink it again. */
	int (*add_key)(void *userdata, const char *desc, const void *payload, size_t len,
		       int32_t *ret_serial);
	int (*unlink_key)(void *userdata, int32_t serial);
	/* The TPM: open /dev/tpmrm0, else /dev/tpm0 (-ENOENT when neither is there);
	 * ret_name gets which. One at a time; tpm_close closes it (and is harmless
	 * when none is open). */
	int (*tpm_open)(void *userdata, char *ret_name, size_t len);
	/* Send one command and read its whole response (at most cap bytes). */
	int (*tpm_transmit)(void *userdata, const void *cmd, size_t len, void *rsp, size_t cap,
			    size_t *ret_len);
	void (*tpm_close)(void *userdata);
	/* systemd's userspace measurement log, as systemd-pcrextend writes it: open
	 * path for writing (creating it 0600, its directories 0755), take flock(),
	 * and mark it as being written (mode 01600); -ESTALE when the mark is
	 * already there (an earlier writer died: the log is known incomplete). One
	 * at a time. */
	int (*mlog_begin)(void *userdata, const char *path);
	/* Append record, clear the mark (0600), sync, close. With record NULL: close
	 * and leave the mark (the measurement failed). */
	int (*mlog_end)(void *userdata, const char *record, size_t len);
	/* Called once the command line is parsed (as far as it parses); may be NULL. */
	void (*configured)(void *userdata, const InitConfig *cfg);
	/* Move /dev /proc /sys /run under newroot, empty the initramfs, make newroot
	 * the root and execute init. Returns only on failure. */
	int (*switch_root)(void *userdata, const char *newroot, const char *init);
} InitOps;

void init_log(const InitOps *ops, int level, const char *fmt, ...) _printf_(3, 4);
#define init_info(ops, ...) init_log(ops, 6, __VA_ARGS__)
#define init_warn(ops, ...) init_log(ops, 4, __VA_ARGS__)

/* ---- Steps (each returns 0 or fills e and returns its negative errno) ---- */

/* Load every module in /lib/modules/<release>/modules.dep of the initramfs, in
 * dependency order, with parameters from the command line (modules.c). */
int init_load_modules(const InitOps *ops, const char *cmdline, InitError *e) _wur_;

/* Check the kernel can do what comes next: device-mapper with the verity target,
 * EROFS, overlayfs and the root file system type; names the missing module. */
int init_check_kernel(const InitOps *ops, const InitConfig *cfg, SlDmOps *ret_dm, InitError *e)
	_wur_;

/* A partition as found in a disk's GPT, with its block device. */
typedef struct InitPartition {
	char disk[32];
	char name[32]; /* the partition's block device name */
	unsigned partno;
	unsigned major, minor;
	SlUuid type;
	SlUuid uuid;
	char label[SL_GPT_NAME_MAX];
	uint64_t start, size; /* bytes */
} InitPartition;

typedef struct InitFound {
	const InitPartition *usr_data;
	const InitPartition *usr_verity;
	const InitPartition *root;
	const InitPartition *verity_sig[4]; /* usr-verity-sig partitions on the /usr disk */
	size_t n_verity_sig;
} InitFound;

/*
 * Find /usr (PARTUUIDs from usrhash: data = first 128 bits, verity = last 128
 * bits, SPEC.md §1.8) and ROOT among parts. Returns 0 when all are there, -EAGAIN
 * when something is still missing (e says what), or a final error (two
 * partitions claiming one identity).
 */
int init_find_partitions(const InitPartition *parts, size_t n, const InitConfig *cfg,
			 InitFound *ret, InitError *e) _wur_;

/* The partition table state of the disks seen so far (disks.c). */
typedef struct InitDisks {
	InitPartition *parts; /* owned */
	size_t n_parts;
	char scanned[32][32]; /* disks whose GPT was read (or that have none) */
	size_t n_scanned;
} InitDisks;

void init_disks_done(InitDisks *d);

/* Wait up to cfg->timeout_s for the /usr and ROOT partitions (no udev: polls
 * /sys/class/block through ops and reads each new disk's GPT). */
int init_wait_partitions(const InitOps *ops, const InitConfig *cfg, InitDisks *disks,
			 InitFound *ret, InitError *e) _wur_;

/* The DPS JSON of a usr-verity-sig partition (SPEC.md §1.8): rootHash must equal
 * want; the DER signature goes to *ret_sig (caller owns). -EBADMSG malformed,
 * -ESRCH for another root hash (verity_sig.c). */
int init_verity_sig_decode(const char *json, size_t len, const uint8_t *want, size_t want_size,
			   uint8_t **ret_sig, size_t *ret_sig_len) _wur_;

/* The dm-verity device for /usr, as made by init_setup_verity(). */
typedef struct InitVerity {
	SlVerityParams params;
	char data_dev[24], hash_dev[24]; /* MAJOR:MINOR */
	char data_name[32], hash_name[32];
	uint8_t *sig; /* owned: the root-hash signature (DER PKCS#7), or NULL */
	size_t sig_len;
	char sig_src[64];
	dev_t dev;
	SlVerityOnCorruption mode; /* what the live table does on corruption */
} InitVerity;

void init_verity_done(InitVerity *v);

/*
 * Read the verity superblock, take the root-hash signature, create
 * /dev/mapper/usr (usr.c). The table it loads has no corruption option, so a
 * block that does not match its hash fails the read with EIO: slate-init can
 * still say so and follow slate.emergency= while it reads /usr itself.
 */
int init_setup_verity(const InitOps *ops, const SlDmOps *dm, const InitConfig *cfg,
		      const InitFound *found, InitVerity *ret, InitError *e) _wur_;

/*
 * Once slate-init is done reading /usr: load the same table with the configured
 * corruption mode (slate.corruption=, restart_on_corruption by default) and swap
 * it in live. Nothing to do for slate.corruption=eio.
 */
int init_verity_arm(const InitOps *ops, const SlDmOps *dm, const InitConfig *cfg, InitVerity *v,
		    InitError *e) _wur_;

/*
 * The verdict on an I/O error while reading /usr: when dm-verity says the
 * device is corrupted ("C" in its status), a failure INIT_FAIL_USR_CORRUPT
 * ("/usr does not match its signed root hash: <what>"), else fallback with
 * what failed. Returns the error recorded in e.
 */
int init_usr_read_failed(const InitOps *ops, const SlDmOps *dm, int err, InitFailure fallback,
			 InitError *e, const char *fmt, ...) _printf_(6, 7);

/* The ext4 superblock's block count and block size (root.c); -EBADMSG when buf
 * (the 1024 bytes at offset 1024) is not ext2/3/4. */
int init_ext4_size(const uint8_t *buf, size_t len, uint64_t *ret_blocks, uint32_t *ret_block_size)
	_wur_;

/* Grow ROOT's partition to the end of its disk when the disk grew, mount ROOT at
 * /sysroot, grow its ext4, prepare it on first boot (root.c). */
int init_mount_root(const InitOps *ops, const InitConfig *cfg, const InitPartition *root,
		    InitError *e) _wur_;

/* Mount /usr from the verity device, link /bin & co. into it, /etc as overlay,
 * and read /usr/lib/systemd/systemd whole: every read error is judged by
 * init_usr_read_failed() (dm says whether /usr is corrupted). */
int init_mount_usr_and_etc(const InitOps *ops, const SlDmOps *dm, InitError *e) _wur_;

/* ---- PCR 11 boot phases (measure.c) ---- */

#define INIT_PHASE_ENTER	"enter-initrd"
#define INIT_PHASE_LEAVE	"leave-initrd"
#define INIT_PCR_KERNEL_BOOT	11 /* systemd's TPM2_PCR_KERNEL_BOOT */
#define INIT_EFIVARS		"/sys/firmware/efi/efivars"
#define INIT_STUB_PCR_VAR	"StubPcrKernelImage-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
#define INIT_MEASURE_LOG	"/run/log/systemd/tpm2-measure.log"
#define INIT_MEASURE_INCOMPLETE "/run/slate/pcr11-incomplete"
#define INIT_TPM_WAIT_MS	10000
#define INIT_TPM_TRIES		10 /* sends of one command the TPM answers "retry" to */

typedef enum InitMeasureState {
	INIT_MEASURE_UNKNOWN, /* not looked yet */
	INIT_MEASURE_OFF,     /* nothing to do: systemd-stub did not measure this boot */
	INIT_MEASURE_ON,      /* a TPM with banks to extend */
	INIT_MEASURE_BROKEN,  /* the stub measured, but the TPM cannot be used */
} InitMeasureState;

typedef struct InitMeasure {
	InitMeasureState state;
	char tpm[32];	  /* the device node */
	bool tpm_seen;	  /* a device node opened (once is enough) */
	uint16_t algs[4]; /* banks to extend, in TPM order */
	size_t n_algs;
	bool incomplete; /* a phase was not measured: said on the console */
	char why[512];	 /* what went wrong, for INIT_MEASURE_INCOMPLETE */
} InitMeasure;

/* The fixed digest of a phase word (enter-initrd, leave-initrd) in a bank, NULL
 * for any other word or bank. */
const uint8_t *init_phase_digest(const char *word, uint16_t alg);

/* A UINT32 string EFI variable as efivarfs shows it: 4 bytes of attributes, then
 * UTF-16LE decimal digits, optionally NUL-terminated. -EBADMSG otherwise. */
int init_efivar_uint(const void *buf, size_t len, unsigned *ret) _wur_;

/*
 * One record of systemd's userspace measurement log (systemd 257
 * tpm2_userspace_log(): RFC 7464 JSON text sequence, a subset of TCG CEL-JSON):
 * 0x1E, {"pcr":N,"digests":[{"hashAlg":..,"digest":..}],"content_type":"systemd",
 * "content":{"string":WORD,"bootId":ID,"timestamp":USEC,"eventType":"phase"}},
 * newline. boot_id is 32 lowercase hex digits. Caller owns *ret.
 */
int init_measure_record(unsigned pcr, const SlTpmDigest *digests, size_t n, const char *word,
			const char *boot_id, uint64_t usec, char **ret, size_t *ret_len) _wur_;

/*
 * Extend PCR 11 with a boot phase word, as systemd-pcrphase does, when
 * systemd-stub measured this boot (StubPcrKernelImage=11). The first call finds
 * the TPM (waiting up to INIT_TPM_WAIT_MS for its device) and its banks. Never
 * fails the boot: a TPM that cannot be used leaves a critical console line, the
 * reason in INIT_MEASURE_INCOMPLETE, and PCR 11 short of the phase.
 */
void init_measure_phase(const InitOps *ops, InitMeasure *m, const char *word);

/* Close the TPM (before systemd takes over). */
void init_measure_done(const InitOps *ops, InitMeasure *m);

/* The whole boot, from the command line to systemd (boot.c). Returns only on
 * failure, with e filled and *ret_cfg the configuration that applies (defaults
 * when the command line could not be read). */
int init_boot(const InitOps *ops, InitConfig *ret_cfg, InitError *e) _wur_;
