/* SPDX-License-Identifier: MIT */
/*
 * slate run: boot a disk image the way a Slate machine boots. QEMU q35 with
 * OVMF's Secure Boot firmware (SMM, our keys enrolled) and a software TPM 2.0
 * (swtpm) that starts and stops with it.
 *
 * Everything the run creates (the firmware's copy of the variable store, the
 * TPM state unless --tpm-state, the swtpm socket and log) lives in one private
 * directory that is removed on every way out: QEMU exiting, a failure while
 * starting, SIGINT/SIGTERM/SIGHUP. QEMU and swtpm get PR_SET_PDEATHSIG, so they
 * also end if slate itself is killed.
 */
#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/evp.h>

#include "slate/cli.h"
#include "slate/efivars.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/strutil.h"
#include "commands.h"
#include "ovmf.h"

#define QEMU_PROGRAM	  "qemu-system-x86_64"
#define QEMU_PACKAGE	  "qemu-system-x86"
#define SWTPM_PROGRAM	  "swtpm"
#define SWTPM_PACKAGE	  "swtpm"
#define VARS_MAX	  (64u << 20)
#define MAX_ARGS	  64
#define SWTPM_WAIT_MS	  10000
#define QEMU_STOP_WAIT_MS 10000

typedef enum Accel { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG } Accel;

typedef struct RunArgs {
	const char *image;
	const char *vars;
	const char *keys;
	const char *tpm_state;
	const char *console;
	const char *ssh_key;	/* --ssh-key FILE */
	const char *credential; /* its SMBIOS type 11 string (owned by run_run) */
	uint64_t memory;
	unsigned cpus;
	unsigned ssh_port;
	Accel accel;
	bool secure_boot, tpm, snapshot, network, reboot, dry_run;
} RunArgs;

typedef struct Argv {
	char *v[MAX_ARGS + 1];
	size_t n;
} Argv;

static int argv_add(Argv *a, const char *fmt, ...) _printf_(2, 3);

static int argv_add(Argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->n == MAX_ARGS)
		return -E2BIG;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return -ENOMEM;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
	return 0;
}

static void argv_done(Argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

/* QEMU option values separate fields with ','; a literal ',' is written ",,". */
static char *qemu_escape(const char *s)
{
	size_t n = 0;
	char *out, *p;

	for (const char *c = s; *c; c++)
		n += *c == ',' ? 2 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	p = out;
	for (const char *c = s; *c; c++) {
		*p++ = *c;
		if (*c == ',')
			*p++ = ',';
	}
	*p = 0;
	return out;
}

/* The program's path in $PATH, or NULL. SLATE_QEMU / SLATE_SWTPM override. */
static char *find_program(const char *name, const char *env)
{
	const char *path = getenv(env);
	_cleanup_free_ char *dirs = NULL;
	char *save = NULL;

	if (path && *path)
		return access(path, X_OK) == 0 ? sl_strdup(path) : NULL;
	dirs = sl_strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	if (!dirs)
		return NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = sl_asprintf("%s/%s", d, name);

		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* out/slate.img -> out/slate.vars.fd: where `slate build` leaves the image's store. */
static char *sibling_vars_path(const char *image)
{
	const char *slash = strrchr(image, '/');
	const char *dot = strrchr(slash ? slash + 1 : image, '.');
	size_t stem =
		dot && dot != (slash ? slash + 1 : image) ? (size_t)(dot - image) : strlen(image);

	return sl_asprintf("%.*s.vars.fd", (int)stem, image);
}

static int remove_tree(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			(void)remove_tree(dirfd(d), de->d_name);
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* Check the store strictly and say whether it enforces Secure Boot. */
static int check_vars(const char *path, bool *ret_enforcing)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	SlVarStore s;
	bool pk = false;
	int r;

	r = sl_read_file(path, VARS_MAX, &buf, &len);
	if (r >= 0)
		r = sl_varstore_decode(buf, len, &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s.n_vars; i++)
		if (sl_efi_variable_live(&s.vars[i]) &&
		    sl_efi_variable_is(&s.vars[i], "PK", &sl_efi_global_variable_guid) &&
		    s.vars[i].data_size > 0)
			pk = true;
	sl_varstore_done(&s);
	*ret_enforcing = pk;
	return 0;
}

/* --keys DIR: a store made on the fly from DIR/{PK,KEK,db}.crt. */
static int vars_from_keys(const char *dir, const char *tmpl, const char *out)
{
	static const char *const names[] = { "PK", "KEK", "db" };
	_cleanup_free_ uint8_t *tbuf = NULL, *store = NULL;
	uint8_t *der[3] = { 0 };
	size_t len[3], tlen, slen;
	time_t nb, newest = 0;
	SlSecureBootCert kek, db;
	SlSecureBootKeys keys;
	int r = 0;

	for (size_t i = 0; i < 3 && r >= 0; i++) {
		_cleanup_free_ char *p = sl_asprintf("%s/%s.crt", dir, names[i]);
		_cleanup_free_ uint8_t *buf = NULL;
		size_t blen;

		if (!p)
			r = -ENOMEM;
		if (r >= 0)
			r = sl_read_file(p, 1u << 20, &buf, &blen);
		if (r >= 0)
			r = sl_x509_load(buf, blen, &der[i], &len[i], &nb);
		if (r < 0)
			r = sl_error_prefix(r, "%s: ", p ? p : dir);
		else
			newest = MAX(newest, nb);
	}
	if (r >= 0)
		r = sl_read_file(tmpl, VARS_MAX, &tbuf, &tlen);
	if (r >= 0) {
		kek = (SlSecureBootCert){ der[1], len[1] };
		db = (SlSecureBootCert){ der[2], len[2] };
		keys = (SlSecureBootKeys){ .pk = { der[0], len[0] },
					   .kek = &kek,
					   .n_kek = 1,
					   .db = &db,
					   .n_db = 1,
					   .owner = sl_efi_slate_owner_guid,
					   .timestamp = newest };
		r = sl_varstore_enroll(tbuf, tlen, &keys, &store, &slen);
		if (r < 0)
			r = sl_error_prefix(r, "%s: ", tmpl);
	}
	if (r >= 0)
		r = sl_write_file_atomic(out, store, slen, 0600);
	for (size_t i = 0; i < 3; i++)
		free(der[i]);
	return r;
}

static int copy_file(const char *from, const char *to)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r = sl_read_file(from, VARS_MAX, &buf, &len);

	if (r < 0)
		return sl_error_prefix(r, "%s: ", from);
	r = sl_write_file_atomic(to, buf, len, 0600);
	return r < 0 ? sl_error_prefix(r, "%s: ", to) : 0;
}

/*
 * Every x86-64 CPU since 2005 has SSE3; a KVM that cannot offer it to guests is
 * a crippled nested set-up in which firmware fails ("KVM internal error").
 */
static bool kvm_has_sse3(int kvm)
{
	_cleanup_free_ struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + 256 * sizeof(struct kvm_cpuid_entry2));

	if (!c)
		return false;
	c->nent = 256;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0)
		return false;
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			return c->entries[i].ecx & 1;
	return false;
}

/*
 * Whether KVM really runs a guest: /dev/kvm can exist and create VMs while
 * running a vCPU fails (nested virtualisation without support). Run one HLT
 * instruction in real mode and expect KVM_EXIT_HLT.
 */
static bool kvm_works(void)
{
	_cleanup_close_ int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	_cleanup_close_ int vm = -1, cpu = -1;
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	struct kvm_run *run = MAP_FAILED;
	uint8_t *mem = MAP_FAILED;
	int run_size = -1;
	bool ok = false;

	if (kvm < 0 || ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION || !kvm_has_sse3(kvm))
		return false;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return false;
	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return false;
	mem[0] = 0xf4; /* hlt */
	region = (struct kvm_userspace_memory_region){ .guest_phys_addr = 0x1000,
						       .memory_size = 0x1000,
						       .userspace_addr = (uintptr_t)mem };
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		goto out;
	cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (cpu < 0 || run_size <= 0)
		goto out;
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED || ioctl(cpu, KVM_GET_SREGS, &sregs) < 0)
		goto out;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(cpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(cpu, KVM_SET_REGS, &regs) < 0)
		goto out;
	ok = ioctl(cpu, KVM_RUN, 0) == 0 && run->exit_reason == KVM_EXIT_HLT;
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	munmap(mem, 0x1000);
	return ok;
}

static bool is_qcow2(const char *path)
{
	uint8_t m[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool q = false;

	if (fd >= 0) {
		q = read(fd, m, 4) == 4 && memcmp(m, "QFI\xfb", 4) == 0;
		close(fd);
	}
	return q;
}

static int build_swtpm_argv(const char *swtpm, const char *run_dir, const char *state, Argv *a)
{
	int r = 0;

	r = r ?: argv_add(a, "%s", swtpm);
	r = r ?: argv_add(a, "socket");
	r = r ?: argv_add(a, "--tpm2");
	r = r ?: argv_add(a, "--tpmstate");
	r = r ?: argv_add(a, "dir=%s", state);
	r = r ?: argv_add(a, "--ctrl");
	r = r ?: argv_add(a, "type=unixio,path=%s/swtpm.sock", run_dir);
	r = r ?: argv_add(a, "--log");
	r = r ?: argv_add(a, "file=%s/swtpm.log,level=1", run_dir);
	/* Exit when QEMU closes the connection: no orphan even if slate is killed. */
	r = r ?: argv_add(a, "--terminate");
	return r;
}

static int build_qemu_argv(const RunArgs *o, const char *qemu, const char *code,
			   const char *run_dir, Argv *a)
{
	_cleanup_free_ char *img = qemu_escape(o->image);
	_cleanup_free_ char *con = o->console ? qemu_escape(o->console) : NULL;
	_cleanup_free_ char *dir = qemu_escape(run_dir), *cd = qemu_escape(code);
	bool kvm = o->accel == ACCEL_KVM || (o->accel == ACCEL_AUTO && kvm_works());
	int r = 0;

	if (!img || !dir || !cd || (o->console && !con))
		return -ENOMEM;
	r = r ?: argv_add(a, "%s", qemu);
	r = r ?: argv_add(a, "-name");
	r = r ?: argv_add(a, "slate");
	r = r ?: argv_add(a, "-machine");
	r = r ?: argv_add(a, "q35,smm=%s", o->secure_boot ? "on" : "off");
	r = r ?: argv_add(a, "-accel");
	/* No KVM (as on the test machines): one TCG thread, which DESIGN.md found stable. */
	r = r ?: argv_add(a, "%s", kvm ? "kvm" : "tcg,thread=single");
	if (kvm) {
		r = r ?: argv_add(a, "-cpu");
		r = r ?: argv_add(a, "host");
	}
	r = r ?: argv_add(a, "-smp");
	r = r ?: argv_add(a, "%u", o->cpus ? o->cpus : (kvm ? 2 : 1));
	r = r ?: argv_add(a, "-m");
	r = r ?: argv_add(a, "%lluM", (unsigned long long)(o->memory >> 20));
	r = r ?: argv_add(a, "-display");
	r = r ?: argv_add(a, "none");
	/* Only the devices listed here: QEMU's defaults add a VGA card, a parallel port
	 * and an empty CD-ROM drive, whose AHCI, SCSI and CD-ROM drivers the guest would
	 * load and probe on every boot. */
	r = r ?: argv_add(a, "-nodefaults");
	if (!o->reboot)
		r = r ?: argv_add(a, "-no-reboot");
	if (o->secure_boot) {
		/* SPEC.md §3.5: the varstore flash is writable only from SMM. */
		r = r ?: argv_add(a, "-global");
		r = r ?: argv_add(a, "driver=cfi.pflash01,property=secure,value=on");
	}
	r = r ?: argv_add(a, "-drive");
	r = r ?: argv_add(a, "if=pflash,format=raw,unit=0,readonly=on,file=%s", cd);
	r = r ?: argv_add(a, "-drive");
	r = r ?: argv_add(a, "if=pflash,format=raw,unit=1,file=%s/vars.fd", dir);
	r = r ?: argv_add(a, "-drive");
	r = r
		    ?: argv_add(a, "if=none,id=disk0,format=%s,file=%s%s",
				is_qcow2(o->image) ? "qcow2" : "raw", img,
				o->snapshot ? ",snapshot=on" : "");
	r = r ?: argv_add(a, "-device");
	r = r ?: argv_add(a, "virtio-blk-pci,drive=disk0,bootindex=0");
	if (o->tpm) {
		r = r ?: argv_add(a, "-chardev");
		r = r ?: argv_add(a, "socket,id=chrtpm,path=%s/swtpm.sock", dir);
		r = r ?: argv_add(a, "-tpmdev");
		r = r ?: argv_add(a, "emulator,id=tpm0,chardev=chrtpm");
		r = r ?: argv_add(a, "-device");
		r = r ?: argv_add(a, "tpm-tis,tpmdev=tpm0");
	}
	r = r ?: argv_add(a, "-nic");
	if (!o->network)
		r = r ?: argv_add(a, "none");
	else if (o->ssh_port)
		r = r
			    ?: argv_add(a, "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%u-:22",
					o->ssh_port);
	else
		r = r ?: argv_add(a, "user,model=virtio-net-pci");
	if (o->credential) {
		r = r ?: argv_add(a, "-smbios");
		r = r ?: argv_add(a, "type=11,value=%s", o->credential);
	}
	r = r ?: argv_add(a, "-serial");
	if (con)
		r = r ?: argv_add(a, "file:%s", con);
	else
		r = r ?: argv_add(a, "%s", isatty(STDIN_FILENO) ? "mon:stdio" : "stdio");
	return r;
}

static void print_argv(const Argv *a)
{
	for (size_t i = 0; i < a->n; i++) {
		const char *s = a->v[i];
		bool plain = *s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					     "0123456789-_=,.:/+@%") == strlen(s);

		if (i)
			putchar(' ');
		if (plain) {
			fputs(s, stdout);
			continue;
		}
		putchar('\'');
		for (; *s; s++)
			if (*s == '\'')
				fputs("'\\''", stdout);
			else
				putchar(*s);
		putchar('\'');
	}
	putchar('\n');
}

/* fork + exec with default signal handling and a parent-death signal. */
static pid_t spawn(const Argv *a, const sigset_t *orig_mask, bool own_group, int out_fd)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	if (own_group)
		(void)setpgid(0, 0);
	if (out_fd >= 0) {
		(void)dup2(out_fd, STDIN_FILENO);
		(void)dup2(out_fd, STDOUT_FILENO);
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, orig_mask, NULL);
	execv(a->v[0], a->v);
	fprintf(stderr, "slate run: cannot execute %s: %s\n", a->v[0], strerror(errno));
	_exit(127);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Wait up to ms for pid to exit; SIGKILL it after that. Returns its wait status. */
static int reap(pid_t pid, long ms)
{
	struct timespec t0;
	int status = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t p = waitpid(pid, &status, WNOHANG);

		if (p == pid || (p < 0 && errno != EINTR))
			return status;
		if (ms_since(&t0) >= ms) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			return status;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000 }, NULL);
	}
}

/* swtpm is ready when its control socket exists. */
static int wait_swtpm(pid_t pid, const char *sock)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (access(sock, F_OK) < 0) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return sl_errorf(-EIO, "swtpm exited while starting (status %d)", status);
		if (ms_since(&t0) >= SWTPM_WAIT_MS)
			return sl_errorf(-ETIMEDOUT, "swtpm did not create %s", sock);
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000 }, NULL);
	}
	return 0;
}

/*
 * Run QEMU (and swtpm) with SIGINT/SIGTERM/SIGHUP/SIGCHLD blocked and taken with
 * sigwaitinfo(), so every way out passes through the cleanup in run_run().
 * Returns the exit code.
 */
static int supervise(const Argv *qemu, const Argv *swtpm, const char *sock,
		     const sigset_t *orig_mask, pid_t *swtpm_pid)
{
	sigset_t wait_set;
	pid_t qpid;
	int r, status, got = 0;

	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGINT);
	sigaddset(&wait_set, SIGTERM);
	sigaddset(&wait_set, SIGHUP);
	sigaddset(&wait_set, SIGCHLD);
	if (swtpm->n) {
		*swtpm_pid = spawn(swtpm, orig_mask, true, -1);
		if (*swtpm_pid < 0)
			return sl_cli_failf("cannot start swtpm: %s", strerror(errno));
		r = wait_swtpm(*swtpm_pid, sock);
		if (r < 0)
			return sl_cli_fail(NULL, r);
	}
	qpid = spawn(qemu, orig_mask, false, -1);
	if (qpid < 0)
		return sl_cli_failf("cannot start QEMU: %s", strerror(errno));
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&wait_set, &si);

		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			if (waitpid(qpid, &status, WNOHANG) == qpid)
				break;
			continue;
		}
		/* A signal for us: stop QEMU first so the guest's disk is left consistent. */
		got = sig;
		kill(qpid, SIGTERM);
		status = reap(qpid, QEMU_STOP_WAIT_MS);
		break;
	}
	if (got)
		return 128 + got;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return SL_EXIT_OK;
	if (WIFEXITED(status))
		return sl_cli_failf("QEMU exited with status %d", WEXITSTATUS(status));
	return sl_cli_failf("QEMU was killed by signal %d", WTERMSIG(status));
}

static const char run_usage[] =
	"IMAGE [OPTIONS...]\n"
	"\n"
	"Options:\n"
	"  --vars FILE        OVMF variable store with the Secure Boot keys (slate firmware vars)\n"
	"  --keys DIR         make the store from DIR/PK.crt, KEK.crt, db.crt for this run\n"
	"  --no-secure-boot   boot OVMF without Secure Boot (no store needed)\n"
	"  --no-tpm           no TPM (swtpm is not started)\n"
	"  --tpm-state DIR    keep the TPM's state in DIR across runs (default: a fresh TPM)\n"
	"  --memory SIZE      guest memory (default 2G)\n"
	"  --cpus N           virtual CPUs (default 2 with KVM, 1 without)\n"
	"  --console FILE     write the serial console to FILE instead of the terminal\n"
	"  --snapshot         leave IMAGE unchanged (writes go to a temporary overlay)\n"
	"  --ssh-port N       forward 127.0.0.1:N to the guest's port 22\n"
	"  --ssh-key FILE     let this public key (authorized_keys lines) log in as root: it\n"
	"                     reaches the guest as the systemd credential\n"
	"                     ssh.authorized_keys.root (SMBIOS type 11), nothing is written\n"
	"                     to the image\n"
	"  --no-network       no network card\n"
	"  --no-reboot        exit when the guest reboots\n"
	"  --accel WHAT       auto (default: KVM when it runs a guest, else TCG), kvm, tcg\n"
	"  --dry-run          print the swtpm and QEMU command lines and exit\n"
	"\n"
	"Boots IMAGE (a raw or qcow2 disk) in QEMU q35 with OVMF's Secure Boot firmware\n"
	"(SMM) and a swtpm TPM 2.0, like a Slate machine. Without --vars or --keys the\n"
	"variable store next to the image is used (out/slate.img: out/slate.vars.fd, as\n"
	"slate build writes it). The firmware writes to a copy: the store file is never\n"
	"changed. On the terminal, Ctrl-A X quits. swtpm and the temporary files are\n"
	"removed on every exit, including SIGINT, SIGTERM and SIGHUP.\n"
	"Needs the Debian packages qemu-system-x86, ovmf and swtpm.";

#define SSH_KEY_MAX (16u << 10)

/*
 * The SMBIOS type 11 string that hands the guest's systemd the credential
 * ssh.authorized_keys.root (systemd's tmpfiles.d/provision.conf writes it to
 * /root/.ssh/authorized_keys): "io.systemd.credential.binary:NAME=BASE64".
 * Base64 has no commas, which QEMU's -smbios syntax would need doubled.
 */
static int ssh_key_credential(const char *path, char **ret)
{
	static const char prefix[] = "io.systemd.credential.binary:ssh.authorized_keys.root=";
	_cleanup_free_ uint8_t *key = NULL;
	char *out;
	size_t len;
	int r;

	r = sl_read_file(path, SSH_KEY_MAX, &key, &len);
	if (r < 0)
		return sl_cli_failf("--ssh-key %s: %s", path, sl_error_message(r));
	for (size_t i = 0; i < len; i++)
		if ((key[i] < ' ' && key[i] != '\n') || key[i] >= 0x7f)
			return sl_cli_failf("--ssh-key %s: not a public key (authorized_keys text)",
					    path);
	if (len == 0 || memmem(key, len, "PRIVATE KEY", 11))
		return sl_cli_failf("--ssh-key %s: give the public key (.pub), not the private one",
				    path);
	out = malloc(sizeof(prefix) + 4 * ((len + 2) / 3) + 1);
	if (!out)
		return sl_cli_fail(NULL, -ENOMEM);
	memcpy(out, prefix, sizeof(prefix) - 1);
	EVP_EncodeBlock((unsigned char *)out + sizeof(prefix) - 1, key, (int)len);
	*ret = out;
	return 0;
}

static int parse_args(int argc, char **argv, RunArgs *o)
{
	static const struct option opts[] = {
		{ "vars", required_argument, NULL, 'v' },
		{ "keys", required_argument, NULL, 'k' },
		{ "no-secure-boot", no_argument, NULL, 'S' },
		{ "no-tpm", no_argument, NULL, 'T' },
		{ "tpm-state", required_argument, NULL, 't' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "console", required_argument, NULL, 'C' },
		{ "snapshot", no_argument, NULL, 's' },
		{ "ssh-port", required_argument, NULL, 'p' },
		{ "ssh-key", required_argument, NULL, 'K' },
		{ "no-network", no_argument, NULL, 'N' },
		{ "no-reboot", no_argument, NULL, 'R' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "accel", required_argument, NULL, 'a' },
		{},
	};
	uint64_t v;
	int c;

	*o = (RunArgs){ .memory = 2ull << 30,
			.secure_boot = true,
			.tpm = true,
			.network = true,
			.reboot = true };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'v':
			o->vars = optarg;
			break;
		case 'k':
			o->keys = optarg;
			break;
		case 'S':
			o->secure_boot = false;
			break;
		case 'T':
			o->tpm = false;
			break;
		case 't':
			o->tpm_state = optarg;
			break;
		case 'm':
			if (sl_parse_size(optarg, &o->memory) < 0 || o->memory < (64u << 20) ||
			    o->memory > (1ull << 40))
				return sl_cli_usage_error("--memory: '%s' is not a size from 64M "
							  "to 1T",
							  optarg);
			break;
		case 'c':
			if (sl_parse_u64(optarg, 255, &v) < 0 || v == 0)
				return sl_cli_usage_error("--cpus: '%s' is not 1 to 255", optarg);
			o->cpus = (unsigned)v;
			break;
		case 'C':
			o->console = optarg;
			break;
		case 's':
			o->snapshot = true;
			break;
		case 'p':
			if (sl_parse_u64(optarg, 65535, &v) < 0 || v == 0)
				return sl_cli_usage_error("--ssh-port: '%s' is not a port", optarg);
			o->ssh_port = (unsigned)v;
			break;
		case 'K':
			o->ssh_key = optarg;
			break;
		case 'N':
			o->network = false;
			break;
		case 'R':
			o->reboot = false;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case 'a':
			if (streq(optarg, "auto"))
				o->accel = ACCEL_AUTO;
			else if (streq(optarg, "kvm"))
				o->accel = ACCEL_KVM;
			else if (streq(optarg, "tcg"))
				o->accel = ACCEL_TCG;
			else
				return sl_cli_usage_error("--accel: use auto, kvm or tcg");
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (argc - optind != 1)
		return sl_cli_usage_error("expected one IMAGE");
	o->image = argv[optind];
	if (o->vars && o->keys)
		return sl_cli_usage_error("--vars and --keys exclude each other");
	if (!o->secure_boot && (o->vars || o->keys))
		return sl_cli_usage_error("--no-secure-boot takes no --vars or --keys");
	if (!o->tpm && o->tpm_state)
		return sl_cli_usage_error("--no-tpm takes no --tpm-state");
	if (!o->network && o->ssh_port)
		return sl_cli_usage_error("--ssh-port needs the network");
	return -1;
}

/* Everything that must exist before anything starts; names the Debian package. */
static int find_tools(const RunArgs *o, char **qemu, char **swtpm, char **code, char **tmpl)
{
	*qemu = find_program(QEMU_PROGRAM, "SLATE_QEMU");
	if (!*qemu)
		return sl_cli_failf("%s not found: install the Debian package %s", QEMU_PROGRAM,
				    QEMU_PACKAGE);
	if (o->tpm) {
		*swtpm = find_program(SWTPM_PROGRAM, "SLATE_SWTPM");
		if (!*swtpm)
			return sl_cli_failf("%s not found: install the Debian package %s (or use "
					    "--no-tpm)",
					    SWTPM_PROGRAM, SWTPM_PACKAGE);
	}
	*code = sl_asprintf("%s/%s", ovmf_dir(), o->secure_boot ? OVMF_CODE_SECBOOT : OVMF_CODE);
	*tmpl = sl_asprintf("%s/%s", ovmf_dir(), OVMF_VARS);
	if (!*code || !*tmpl)
		return sl_cli_fail(NULL, -ENOMEM);
	if (access(*code, R_OK) < 0)
		return sl_cli_failf("%s not found: install the Debian package %s", *code,
				    OVMF_DEBIAN_PACKAGE);
	if ((!o->secure_boot || o->keys) && access(*tmpl, R_OK) < 0)
		return sl_cli_failf("%s not found: install the Debian package %s", *tmpl,
				    OVMF_DEBIAN_PACKAGE);
	return 0;
}

/* The store this run starts from: --vars, the image's sibling, or none. */
static int pick_vars(const RunArgs *o, char **ret)
{
	_cleanup_free_ char *sib = NULL;
	bool enforcing;
	int r;

	if (!o->secure_boot || o->keys) {
		*ret = NULL;
		return 0;
	}
	if (!o->vars) {
		sib = sibling_vars_path(o->image);
		if (!sib)
			return sl_cli_fail(NULL, -ENOMEM);
		if (access(sib, R_OK) < 0)
			return sl_cli_failf(
				"%s: no variable store for this image: give --vars FILE "
				"(slate firmware vars) or --keys DIR, or "
				"--no-secure-boot",
				sib);
	}
	r = check_vars(o->vars ? o->vars : sib, &enforcing);
	if (r < 0)
		return sl_cli_fail(o->vars ? o->vars : sib, r);
	if (!enforcing)
		fprintf(stderr,
			"%s: warning: %s has no PK: the firmware is in setup mode and "
			"does not enforce Secure Boot\n",
			sl_cli_program, o->vars ? o->vars : sib);
	*ret = o->vars ? sl_strdup(o->vars) : TAKE_PTR(sib);
	return *ret ? 0 : sl_cli_fail(NULL, -ENOMEM);
}

static int run_run(int argc, char **argv)
{
	_cleanup_free_ char *qemu = NULL, *swtpm = NULL, *code = NULL, *tmpl = NULL;
	_cleanup_free_ char *vars = NULL, *run_dir = NULL, *vars_copy = NULL, *state = NULL;
	_cleanup_free_ char *sock = NULL, *credential = NULL;
	Argv qargs = { 0 }, sargs = { 0 };
	sigset_t block, orig;
	pid_t swtpm_pid = -1;
	RunArgs o;
	int r, ret;

	ret = parse_args(argc, argv, &o);
	if (ret >= 0)
		return ret;
	if (access(o.image, R_OK | (o.snapshot ? 0 : W_OK)) < 0)
		return sl_cli_failf("%s: %s", o.image, strerror(errno));
	if (o.ssh_key) {
		ret = ssh_key_credential(o.ssh_key, &credential);
		if (ret != 0)
			return ret;
		o.credential = credential;
	}
	ret = find_tools(&o, &qemu, &swtpm, &code, &tmpl);
	if (ret == 0)
		ret = pick_vars(&o, &vars);
	if (ret != 0)
		return ret;

	run_dir = o.dry_run ? sl_strdup("RUNDIR")
			    : sl_asprintf("%s/slate-run.XXXXXX",
					  getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!run_dir)
		return sl_cli_fail(NULL, -ENOMEM);
	/* Block the signals before the directory exists: from here every exit cleans up. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig);
	if (!o.dry_run && !mkdtemp(run_dir)) {
		ret = sl_cli_failf("cannot create a directory in %s: %s",
				   getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(errno));
		goto out_mask;
	}
	vars_copy = sl_asprintf("%s/vars.fd", run_dir);
	sock = sl_asprintf("%s/swtpm.sock", run_dir);
	state = o.tpm_state ? sl_strdup(o.tpm_state) : sl_asprintf("%s/tpm", run_dir);
	if (!vars_copy || !sock || !state) {
		ret = sl_cli_fail(NULL, -ENOMEM);
		goto out;
	}
	r = 0;
	if (o.tpm)
		r = build_swtpm_argv(swtpm, run_dir, state, &sargs);
	if (r >= 0)
		r = build_qemu_argv(&o, qemu, code, run_dir, &qargs);
	if (r < 0) {
		ret = sl_cli_fail(NULL, r);
		goto out;
	}
	if (o.dry_run) {
		if (sargs.n)
			print_argv(&sargs);
		print_argv(&qargs);
		ret = SL_EXIT_OK;
		goto out;
	}
	if (o.keys)
		r = vars_from_keys(o.keys, tmpl, vars_copy);
	else
		r = copy_file(vars ? vars : tmpl, vars_copy);
	if (r >= 0 && o.tpm && mkdir(state, 0700) < 0 && errno != EEXIST)
		r = sl_errorf(-errno, "%s: %s", state, strerror(errno));
	if (r < 0) {
		ret = sl_cli_fail(NULL, r);
		goto out;
	}
	fprintf(stderr, "%s: booting %s: Secure Boot %s, %s, console %s%s\n", sl_cli_program,
		o.image,
		!o.secure_boot ? "off"
		: o.keys       ? "on (keys from --keys)"
			       : "on",
		o.tpm ? "TPM 2.0 (swtpm)" : "no TPM", o.console ? o.console : "on this terminal",
		!o.console && isatty(STDIN_FILENO) ? " (Ctrl-A X quits)" : "");
	ret = supervise(&qargs, &sargs, sock, &orig, &swtpm_pid);
out:
	if (swtpm_pid > 0) {
		kill(swtpm_pid, SIGTERM);
		(void)reap(swtpm_pid, QEMU_STOP_WAIT_MS);
	}
	if (!o.dry_run)
		(void)remove_tree(AT_FDCWD, run_dir);
out_mask:
	argv_done(&qargs);
	argv_done(&sargs);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return ret;
}

const SlCommand sl_cmd_run = {
	.name = "run",
	.summary = "Boot an image in QEMU with Secure Boot (OVMF) and a TPM (swtpm).",
	.usage = run_usage,
	.run = run_run,
};
