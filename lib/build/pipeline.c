/* SPDX-License-Identifier: MIT */
/* The build pipeline: one function per step, run in order, each timed. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "build-internal.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/release.h"
#include "slate/sign.h"
#include "slate/strutil.h"

double sl_build_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sl_build_tick(void *userdata)
{
	SlBuild *b = userdata;

	if (b->o->progress)
		b->o->progress(b->o->userdata, SL_BUILD_STEP_TICK, b->step, b->n_steps, NULL,
			       sl_build_now() - b->step_started);
}

char *sl_build_work_path(const SlBuild *b, const char *name)
{
	return sl_asprintf("%s/%s", b->work, name);
}

char *sl_build_out_path(const SlBuild *b, const char *name)
{
	return sl_asprintf("%s/%s", b->out, name);
}

void sl_build_log(SlBuild *b, const char *fmt, ...)
{
	va_list ap;

	if (b->log_fd < 0)
		return;
	dprintf(b->log_fd, "slate build: ");
	va_start(ap, fmt);
	vdprintf(b->log_fd, fmt, ap);
	va_end(ap);
	dprintf(b->log_fd, "\n");
}

/*
 * What a failed program said, for the one-line error: the first line of its output
 * (from offset start of the log) that apt, dpkg or mmdebstrap marks as an error
 * ("E: ..."), else its last line. False when there is none.
 */
static bool first_error_line(const char *log, uint64_t start, char *out, size_t len)
{
	_cleanup_close_ int fd = open(log, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = malloc(64 * 1024 + 1);
	const char *last = NULL, *p;
	ssize_t n;

	if (fd < 0 || !buf)
		return false;
	n = pread(fd, buf, 64 * 1024, (off_t)start);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (p = buf; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		size_t l = strcspn(p, "\n");

		if (l == 0)
			continue;
		if (strncmp(p, "E: ", 3) == 0) {
			snprintf(out, len, "%.*s", (int)l, p);
			return true;
		}
		last = p;
	}
	if (!last)
		return false;
	snprintf(out, len, "%.*s", (int)strcspn(last, "\n"), last);
	return true;
}

int sl_build_spawn(SlBuild *b, const char *const *argv, int stdout_fd)
{
	/* mke2fs takes its clock from E2FSPROGS_FAKE_TIME (e2fsprogs 1.47.0 has no
	 * SOURCE_DATE_EPOCH); mtools honours SOURCE_DATE_EPOCH. */
	const char *env[] = { b->epoch_env, b->e2fs_time_env, "LC_ALL=C.UTF-8",
			      "MTOOLS_SKIP_CHECK=1", NULL };
	SlSpawn s = {
		.argv = argv,
		.env_add = env,
		.log_fd = b->log_fd,
		.stdout_fd = stdout_fd,
		.log_path = b->log_path,
		.tick = sl_build_tick,
		.userdata = b,
	};

	off_t start;
	int r;

	dprintf(b->log_fd, "+");
	for (const char *const *p = argv; *p; p++)
		dprintf(b->log_fd, " %s", *p);
	dprintf(b->log_fd, "\n");
	start = lseek(b->log_fd, 0, SEEK_END);
	r = sl_spawn(&s);
	if (r < 0 && start >= 0) {
		char why[200];

		if (first_error_line(b->log_path, (uint64_t)start, why, sizeof(why)))
			r = sl_error_prefix(r, "%s: ", why);
	}
	return r;
}

void sl_build_derive(const SlBuild *b, const char *what, uint8_t ret[static 32])
{
	static const char domain[] = "slate-build";
	unsigned len = 32;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	/* SHA-256(domain NUL id NUL version NUL what) */
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, domain, sizeof(domain)) != 1 ||
	    EVP_DigestUpdate(ctx, b->c->id, strlen(b->c->id) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, b->version, strlen(b->version) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, what, strlen(what)) != 1 ||
	    EVP_DigestFinal_ex(ctx, ret, &len) != 1)
		abort(); /* SHA-256 does not fail short of memory exhaustion */
	EVP_MD_CTX_free(ctx);
}

int sl_build_derive_uuid(const SlBuild *b, const char *what, SlUuid *ret)
{
	uint8_t d[32];

	sl_build_derive(b, what, d);
	memcpy(ret->b, d, 16);
	ret->b[6] = (uint8_t)((ret->b[6] & 0x0f) | 0x40); /* version 4 */
	ret->b[8] = (uint8_t)((ret->b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	return 0;
}

/* ---- steps ------------------------------------------------------------------------------ */

static void warn(SlBuild *b, const char *fmt, ...) _printf_(2, 3);
static void warn(SlBuild *b, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	sl_build_log(b, "warning: %s", msg);
	if (b->o->progress)
		b->o->progress(b->o->userdata, SL_BUILD_WARNING, b->step, b->n_steps, msg, 0);
}

static int step_keys(SlBuild *b)
{
	int r;

	/* Development keys: made once, in a directory whose name says what they are. */
	if (b->dev_keys && access(b->keys, F_OK) < 0) {
		r = sl_sign_keys_create(
			b->keys, &(SlKeysOptions){
					 .subject = "Slate DEVELOPMENT key (not for production)",
					 .days = 3650,
				 });
		if (r < 0)
			return sl_error_prefix(r, "making development keys in %s: ", b->keys);
		sl_build_log(b, "made development keys in %s", b->keys);
	}
	if (b->dev_keys)
		warn(b,
		     "signing with DEVELOPMENT keys from %s: anyone with this machine's cache "
		     "can sign for these images; use --keys for anything but testing",
		     b->keys);
	for (size_t i = 0; sl_sign_key_files[i]; i++) {
		_cleanup_free_ char *p = sl_asprintf("%s/%s", b->keys, sl_sign_key_files[i]);

		if (!p)
			return -ENOMEM;
		if (access(p, R_OK) < 0)
			return sl_errorf(-ENOENT,
					 "%s: missing (a keys directory holds PK, KEK, db and the "
					 "release key, as `slate keys create DIR` makes them)",
					 p);
	}
	return 0;
}

static int step_esp(SlBuild *b)
{
	_cleanup_free_ char *esp = sl_build_work_path(b, "esp.fat");
	_cleanup_free_ char *uki = sl_build_out_path(b, "slate.efi");

	if (!esp || !uki)
		return -ENOMEM;
	return sl_build_esp(b, uki, esp);
}

static int step_disk(SlBuild *b)
{
	_cleanup_free_ char *esp = sl_build_work_path(b, "esp.fat");
	int r;

	if (!esp)
		return -ENOMEM;
	r = sl_build_disk(b, esp);
	if (r < 0)
		return r;
	return sl_build_vars(b);
}

/* The release (DESIGN.md, Updates): what an update installs, described and signed. */
static const struct {
	const char *role;
	const char *file;
} release_artifacts[] = {
	{ "usr", "usr.erofs" },
	{ "usr-verity", "usr.verity" },
	{ "uki", "slate.efi" },
	{ "usr-roothash-signature", "usr.roothash.p7s" },
};

static int step_release(SlBuild *b)
{
	SlReleaseArtifact arts[ARRAY_SIZE(release_artifacts)];
	_cleanup_free_ char *json_path = sl_build_out_path(b, "release.json");
	_cleanup_free_ char *sig_path = sl_build_out_path(b, "release.json.sig");
	_cleanup_free_ char *key = sl_asprintf("%s/release.key", b->keys);
	_cleanup_free_ char *pub = sl_asprintf("%s/release.pub", b->keys);
	_cleanup_free_ char *salt = NULL, *text = NULL;
	char uuid[SL_UUID_STRING_MAX];
	uint8_t sig[SL_RELEASE_SIGNATURE_SIZE];
	size_t text_len = 0;
	FILE *f;
	int r;

	if (!json_path || !sig_path || !key || !pub)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(release_artifacts); i++) {
		_cleanup_free_ char *p = sl_build_out_path(b, release_artifacts[i].file);

		if (!p)
			return -ENOMEM;
		arts[i].role = release_artifacts[i].role;
		arts[i].file = release_artifacts[i].file;
		r = sl_sha256_file(p, arts[i].sha256, &arts[i].size);
		if (r < 0)
			return r;
	}
	salt = sl_hex_encode_alloc(b->verity.salt, b->verity.salt_size);
	if (!salt)
		return -ENOMEM;
	sl_uuid_format(&b->verity.uuid, uuid);
	f = open_memstream(&text, &text_len);
	if (!f)
		return -ENOMEM;
	r = sl_release_manifest_write(f, &(SlReleaseManifest){
						 .id = b->c->id,
						 .version = b->version,
						 .channel = b->channel,
						 .architecture = "x86-64",
						 .root_hash = b->root_hash_hex,
						 .created = b->epoch,
						 .verity = {
							 .algorithm = b->verity.algorithm,
							 .hash_type = b->verity.hash_type,
							 .data_block_size = b->verity.data_block_size,
							 .hash_block_size = b->verity.hash_block_size,
							 .data_blocks = b->verity.data_blocks,
							 .hash_offset = b->verity.hash_offset,
							 .salt_hex = salt,
							 .uuid = uuid,
						 },
						 .artifacts = arts,
						 .n_artifacts = ARRAY_SIZE(arts),
					 });
	if (fclose(f) != 0 && r >= 0)
		r = -EIO;
	if (r < 0)
		return r;
	r = sl_release_sign(key, text, text_len, sig);
	if (r < 0)
		return r;
	/* Check it with the public half that ships in /usr before anyone else does. */
	r = sl_release_verify(pub, text, text_len, sig);
	if (r < 0)
		return sl_error_prefix(r, "release.key and release.pub do not match: ");
	r = sl_write_file(json_path, text, text_len, 0644);
	if (r < 0)
		return r;
	return sl_write_file(sig_path, sig, sizeof(sig), 0644);
}

static int write_packages_txt(SlBuild *b)
{
	_cleanup_free_ char *path = sl_build_out_path(b, "packages.txt");
	_cleanup_fclose_ FILE *f = NULL;

	if (!path)
		return -ENOMEM;
	f = fopen(path, "we");
	if (!f)
		return sl_errorf(-errno, "%s: %s", path, strerror(errno));
	for (size_t i = 0; i < b->packages.n; i++) {
		const SlPackage *p = &b->packages.items[i];

		fprintf(f, "%s\t%s\t%s\t%s\t%s\n", p->name, p->version, p->architecture, p->source,
			p->source_version);
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

/* The artifacts the SBOM lists, in output order. */
static const char *const sbom_files[] = {
	"slate.img",	    "slate.vars.fd",	"usr.erofs",	"usr.verity",
	"usr.roothash",	    "usr.roothash.p7s", "slate.efi",	"release.json",
	"release.json.sig", "pcr11.json",	"packages.txt",
};

static int step_sbom(SlBuild *b)
{
	SlBuildSbomFile files[ARRAY_SIZE(sbom_files)];
	_cleanup_free_ char *path = sl_build_out_path(b, "sbom.spdx.json");
	_cleanup_free_ char *distro = sl_asprintf("debian-%s", b->c->suite);
	_cleanup_fclose_ FILE *f = NULL;
	char ns[SL_UUID_STRING_MAX];
	SlUuid u;
	int r;

	if (!path || !distro)
		return -ENOMEM;
	r = write_packages_txt(b);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(sbom_files); i++) {
		_cleanup_free_ char *p = sl_build_out_path(b, sbom_files[i]);

		if (!p)
			return -ENOMEM;
		files[i].name = sbom_files[i];
		r = sl_sha256_file(p, files[i].sha256, NULL);
		if (r < 0)
			return r;
	}
	r = sl_build_derive_uuid(b, "spdx-namespace", &u);
	if (r < 0)
		return r;
	sl_uuid_format(&u, ns);
	f = fopen(path, "we");
	if (!f)
		return sl_errorf(-errno, "%s: %s", path, strerror(errno));
	r = sl_build_sbom_write(f, &(SlBuildSbom){
					   .id = b->c->id,
					   .name = b->c->name,
					   .version = b->version,
					   .distro = distro,
					   .namespace_uuid = ns,
					   .created = b->epoch,
					   .packages = &b->packages,
					   .files = files,
					   .n_files = ARRAY_SIZE(files),
				   });
	if (r < 0)
		return r;
	return fflush(f) == 0 ? 0 : -EIO;
}

typedef struct Step {
	const char *title;
	int (*run)(SlBuild *b);
} Step;

static const Step steps[] = {
	{ "Checking the keys", step_keys },
	{ "Preparing the tools root", sl_build_tools_root },
	{ "Installing the packages (mmdebstrap)", sl_build_bootstrap },
	{ "Post-processing the tree", sl_build_postprocess },
	{ "Making the EROFS /usr", sl_build_erofs },
	{ "Hashing /usr (dm-verity)", sl_build_verity },
	{ "Signing the root hash", sl_build_sign_roothash },
	{ "Making the initramfs (slate-init)", sl_build_initrd },
	{ "Building and signing the UKI and systemd-boot", sl_build_uki },
	{ "Predicting PCR 11", sl_build_pcr },
	{ "Making the ESP", step_esp },
	{ "Writing the disk image and firmware variables", step_disk },
	{ "Signing the release manifest", step_release },
	{ "Writing the SBOM", step_sbom },
};

/* ---- set-up --------------------------------------------------------------------------- */

/* The embedded definition, written into the work directory so that its files=
 * directory exists like any other definition's. */
static int load_default(SlBuild *b, const char *work)
{
	_cleanup_free_ char *dir = sl_asprintf("%s/definition", work);
	_cleanup_free_ char *conf = sl_asprintf("%s/definition/slate.conf", work);
	int r;

	if (!dir || !conf)
		return -ENOMEM;
	r = sl_rm_rf(dir);
	if (r >= 0)
		r = sl_build_default_export(dir);
	if (r >= 0)
		r = sl_build_config_load(conf, &b->own_config);
	return r < 0 ? sl_error_prefix(r, "the embedded definition: ") : 0;
}

static int setup(SlBuild *b, const SlBuildOptions *o)
{
	const SlBuildConfig *c;
	time_t date;
	int r;

	b->o = o;
	b->log_fd = -1;
	b->out = sl_strdup(o->output_dir);
	b->work = sl_asprintf("%s/.work", o->output_dir);
	if (!b->out || !b->work)
		return -ENOMEM;
	r = sl_mkdir_p(b->work, 0755);
	if (r < 0)
		return r;
	if (!o->config) {
		r = load_default(b, b->work);
		if (r < 0)
			return r;
	}
	c = b->c = o->config ? o->config : b->own_config;
	b->channel = o->channel ? o->channel : c->channel;
	if (!sl_build_channel_valid(b->channel))
		return sl_errorf(-EINVAL, "channel '%s' is not stable, beta or alpha", b->channel);

	if (o->version) {
		r = sl_build_version_parse(o->version, &date);
		if (r < 0)
			return r;
		snprintf(b->version, sizeof(b->version), "%s", o->version);
	} else {
		time_t t = o->source_date_epoch >= 0 ? (time_t)o->source_date_epoch : time(NULL);

		r = sl_build_version_from_time(t, 0, b->version);
		if (r < 0)
			return r;
		r = sl_build_version_parse(b->version, &date);
		if (r < 0)
			return r;
	}
	/* Without SOURCE_DATE_EPOCH, the version's date: the same version then gives the
	 * same image. */
	b->epoch = o->source_date_epoch >= 0 ? o->source_date_epoch : (int64_t)date;
	snprintf(b->epoch_env, sizeof(b->epoch_env), "SOURCE_DATE_EPOCH=%lld", (long long)b->epoch);
	snprintf(b->e2fs_time_env, sizeof(b->e2fs_time_env), "E2FSPROGS_FAKE_TIME=%lld",
		 (long long)b->epoch);

	b->cache = sl_strdup(o->cache_dir);
	if (!b->cache)
		return -ENOMEM;
	r = sl_mkdir_p(b->cache, 0755);
	if (r < 0)
		return r;
	b->root = sl_asprintf("%s/.work/root", b->out);
	b->log_path = sl_asprintf("%s/build.log", b->out);
	b->debs = sl_asprintf("%s/debs/%s", b->cache, c->suite);
	b->lists = sl_asprintf("%s/lists/%s", b->cache, c->suite);
	b->tools = sl_asprintf("%s/tools/%s", b->cache, c->suite);
	b->kernel = sl_asprintf("%s/.work/vmlinuz", b->out);
	b->stub = sl_asprintf("%s/.work/linuxx64.efi.stub", b->out);
	b->systemd_boot = sl_asprintf("%s/.work/systemd-bootx64.efi", b->out);
	b->os_release = sl_asprintf("%s/.work/os-release", b->out);
	b->keys =
		o->keys_dir ? sl_strdup(o->keys_dir) : sl_asprintf("%s/development-keys", b->cache);
	if (!b->root || !b->log_path || !b->debs || !b->lists || !b->tools || !b->kernel ||
	    !b->stub || !b->systemd_boot || !b->os_release || !b->keys)
		return -ENOMEM;
	b->dev_keys = !o->keys_dir;
	for (const char *const *d = (const char *const[]){ b->debs, b->lists, NULL }; *d; d++) {
		r = sl_mkdir_p(*d, 0755);
		if (r < 0)
			return r;
	}
	{
		_cleanup_free_ char *tools_parent = sl_asprintf("%s/tools", b->cache);

		if (!tools_parent)
			return -ENOMEM;
		r = sl_mkdir_p(tools_parent, 0755);
		if (r < 0)
			return r;
	}
	b->log_fd = open(b->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
	if (b->log_fd < 0)
		return sl_errorf(-errno, "%s: %s", b->log_path, strerror(errno));
	sl_build_log(b, "%s %s (%s), SOURCE_DATE_EPOCH=%lld, cache %s, keys %s", c->id, b->version,
		     b->channel, (long long)b->epoch, b->cache, b->keys);
	return 0;
}

static void teardown(SlBuild *b)
{
	if (b->log_fd >= 0)
		close(b->log_fd);
	sl_package_list_free(&b->packages);
	free(b->out);
	free(b->work);
	free(b->root);
	free(b->log_path);
	free(b->cache);
	free(b->debs);
	free(b->lists);
	free(b->tools);
	free(b->keys);
	free(b->kernel_version);
	free(b->kernel);
	free(b->stub);
	free(b->systemd_boot);
	free(b->os_release);
	sl_build_config_free(b->own_config);
}

int sl_build_run(const SlBuildOptions *o, SlBuildResult *ret)
{
	SlBuild b = { 0 };
	int r;

	if (geteuid() != 0)
		return sl_errorf(-EPERM, "slate build must run as root (mmdebstrap --mode=root "
					 "installs the packages as root)");
	r = setup(&b, o);
	if (r < 0)
		goto out;
	b.build_started = sl_build_now();
	b.n_steps = ARRAY_SIZE(steps);
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		b.step = (unsigned)i + 1;
		b.step_started = sl_build_now();
		if (o->progress)
			o->progress(o->userdata, SL_BUILD_STEP_BEGIN, b.step, b.n_steps,
				    steps[i].title, 0);
		sl_build_log(&b, "[%u/%u] %s", b.step, b.n_steps, steps[i].title);
		sl_error_clear();
		r = steps[i].run(&b);
		if (r < 0) {
			sl_build_log(&b, "failed: %s", sl_error_message(r));
			r = sl_error_prefix(r, "%s: ", steps[i].title);
			goto out;
		}
		sl_build_log(&b, "[%u/%u] done in %.1f s", b.step, b.n_steps,
			     sl_build_now() - b.step_started);
		if (o->progress)
			o->progress(o->userdata, SL_BUILD_STEP_END, b.step, b.n_steps, NULL,
				    sl_build_now() - b.step_started);
	}
	if (!o->keep_work) {
		r = sl_rm_rf(b.work);
		if (r < 0)
			goto out;
	}
	*ret = (SlBuildResult){
		.usr_size = b.usr_size,
		.n_packages = b.packages.n,
		.development_keys = b.dev_keys,
		.seconds = sl_build_now() - b.build_started,
	};
	memcpy(ret->version, b.version, sizeof(ret->version));
	snprintf(ret->id, sizeof(ret->id), "%s", b.c->id);
	memcpy(ret->root_hash, b.root_hash_hex, sizeof(ret->root_hash));
	r = 0;
out:
	teardown(&b);
	return r;
}
