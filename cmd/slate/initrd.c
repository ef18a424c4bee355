/* SPDX-License-Identifier: MIT */
/* slate initrd build: the initramfs with slate-init and the kernel modules /usr needs. */
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "slate/cli.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/initrd.h"
#include "slate/strutil.h"
#include "commands.h"

static const char build_usage[] =
	"--modules-dir DIR --module NAME... [--compress zstd|none] [--init FILE]\n"
	"                          [--kernel-version V] [--roothash-sig FILE] -o FILE\n"
	"\n"
	"Options:\n"
	"  --modules-dir DIR      the kernel's modules, e.g. "
	"/lib/modules/6.12.57+deb13-cloud-amd64\n"
	"  --module NAME          a module to include with its dependencies (repeat, or\n"
	"                         NAME,NAME); built-in ones are noted and skipped\n"
	"  --compress zstd|none   compress the archive (default zstd)\n"
	"  --init FILE            the slate-init binary (default: the one built or\n"
	"                         installed with this slate); it must be static\n"
	"  --kernel-version V     default: the last component of --modules-dir\n"
	"  --roothash-sig FILE    the /usr root-hash signature (DER PKCS#7), stored as\n"
	"                         /" SL_INITRD_SIG_PATH "\n"
	"  -o, --output FILE      where to write the initramfs\n"
	"\n"
	"Writes a newc cpio: slate-init as /init, the modules and a modules.dep of just\n"
	"them, /dev/console and the mount points slate-init uses. The output depends only\n"
	"on the inputs: entries sorted, owned by root, every timestamp SOURCE_DATE_EPOCH\n"
	"(0 when unset). Slate's /usr needs: virtio_blk (virtio disks), dm-verity, erofs,\n"
	"overlay.";

/* The slate-init next to this slate: the build tree's, else the installed one. */
char *sl_cli_default_init(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *p;

	if (n > 0) {
		exe[n] = 0;
		p = sl_asprintf("%s/../../init/slate-init", dirname(exe));
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return strdup(SLATE_INIT_INSTALLED);
}

static int add_modules(char ***v, size_t *n, const char *arg)
{
	_cleanup_free_ char *copy = strdup(arg);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char **nv = sl_realloc_array(*v, *n + 1, sizeof(char *));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		nv[*n] = strdup(t);
		if (!nv[(*n)++])
			return -ENOMEM;
	}
	return 0;
}

static int build_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "modules-dir", required_argument, NULL, 'm' },
		{ "module", required_argument, NULL, 'M' },
		{ "compress", required_argument, NULL, 'c' },
		{ "init", required_argument, NULL, 'i' },
		{ "kernel-version", required_argument, NULL, 'k' },
		{ "roothash-sig", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	SlInitrdOptions o = { .compress = SL_INITRD_COMPRESS_ZSTD };
	_cleanup_free_ char *init = NULL;
	char **modules = NULL;
	size_t n_modules = 0;
	const char *out = NULL, *epoch = getenv("SOURCE_DATE_EPOCH");
	SlInitrdResult res;
	uint64_t v;
	int c, r, ret;
	char size[32], csize[32];

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			o.modules_dir = optarg;
			break;
		case 'M':
			if (add_modules(&modules, &n_modules, optarg) < 0)
				return sl_cli_failf("out of memory");
			break;
		case 'c':
			if (streq(optarg, "zstd"))
				o.compress = SL_INITRD_COMPRESS_ZSTD;
			else if (streq(optarg, "none"))
				o.compress = SL_INITRD_COMPRESS_NONE;
			else
				return sl_cli_usage_error("--compress: use zstd or none");
			break;
		case 'i':
			o.init = optarg;
			break;
		case 'k':
			o.kernel_version = optarg;
			break;
		case 's':
			o.roothash_sig = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (optind != argc)
		return sl_cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o.modules_dir || !out)
		return sl_cli_usage_error("--modules-dir and -o are required");
	if (epoch && *epoch) {
		if (sl_parse_u64(epoch, UINT32_MAX, &v) < 0)
			return sl_cli_usage_error("SOURCE_DATE_EPOCH: '%s' is not seconds since "
						  "1970 (up to 2106)",
						  epoch);
		o.mtime = (uint32_t)v;
	}
	if (!o.init) {
		init = sl_cli_default_init();
		if (!init)
			return sl_cli_failf("out of memory");
		o.init = init;
	}
	o.modules = (const char *const *)modules;
	o.n_modules = n_modules;

	sl_error_clear();
	r = sl_initrd_build(&o, &res);
	for (size_t i = 0; i < n_modules; i++)
		free(modules[i]);
	free(modules);
	if (r < 0)
		return sl_cli_fail(NULL, r);
	r = sl_write_file_atomic(out, res.data, res.size, 0644);
	if (r < 0) {
		sl_initrd_result_done(&res);
		return sl_cli_fail(out, r);
	}
	printf("%s: %s", out, sl_format_size(res.size, size, sizeof(size)));
	if (o.compress == SL_INITRD_COMPRESS_ZSTD)
		printf(" (zstd; %s uncompressed)",
		       sl_format_size(res.cpio_size, csize, sizeof(csize)));
	printf("\nmodules:");
	for (size_t i = 0; i < res.n_modules; i++)
		printf(" %s", res.modules[i]);
	if (res.n_builtin) {
		printf("\nbuilt into the kernel:");
		for (size_t i = 0; i < res.n_builtin; i++)
			printf(" %s", res.builtin[i]);
	}
	printf("\n");
	ret = SL_EXIT_OK;
	sl_initrd_result_done(&res);
	return ret;
}

static const SlCommand cmd_build = {
	.name = "build",
	.summary = "Build the initramfs: slate-init and the kernel modules /usr needs.",
	.usage = build_usage,
	.run = build_run,
};

static const SlCommand *const initrd_children[] = { &cmd_build, NULL };

const SlCommand sl_cmd_initrd = {
	.name = "initrd",
	.summary = "Slate's initramfs (slate-init).",
	.children = initrd_children,
};
