/* SPDX-License-Identifier: MIT */
/* slate build: Debian packages in, a signed, verity-protected, bootable image out. */
#include <time.h>

#include "slate/build.h"
#include "slate/cli.h"
#include "slate/error.h"
#include "slate/strutil.h"
#include "commands.h"

static const char usage[] =
	"[OPTIONS]\n"
	"\n"
	"Build a Slate image from Debian packages: the embedded default definition (a\n"
	"Debian 13 container host), or the one given with --config. Runs as root.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE      image definition (README, \"slate build\"); default: the\n"
	"                         embedded one (see --export-default)\n"
	"  -o, --output DIR       output directory (default: out)\n"
	"      --version V        release version YYYYMM.DD.N (default: the date of\n"
	"                         SOURCE_DATE_EPOCH, or today, with .0)\n"
	"      --channel C        stable, beta or alpha (default: the definition's)\n"
	"      --keys DIR         PK, KEK, db and release keys (`slate keys create`);\n"
	"                         default: development keys, made once in the cache\n"
	"      --cache DIR        package cache, tools root, development keys\n"
	"                         (default: $SLATE_CACHE or /var/cache/slate)\n"
	"      --keep-work        keep DIR/.work (the tree and intermediate files)\n"
	"      --export-default DIR\n"
	"                         write the embedded definition into DIR and exit\n"
	"  -h, --help             show this help\n"
	"\n"
	"Environment: SOURCE_DATE_EPOCH fixes every timestamp in the image (default: the\n"
	"version's date), so the same definition, packages and version give the same\n"
	"/usr image, root hash and UKI.\n"
	"\n"
	"Outputs in DIR: slate.img (the disk) and slate.vars.fd (firmware variables with\n"
	"the keys enrolled; `slate run DIR/slate.img` uses them), the release: usr.erofs,\n"
	"usr.verity, slate.efi (signed UKI), release.json and release.json.sig (Ed25519);\n"
	"usr.roothash, usr.roothash.p7s, pcr11.json (expected PCR 11), sbom.spdx.json\n"
	"(SPDX 2.3), packages.txt, build.log.";

typedef struct Progress {
	bool tty;
	const char *title;
	double last_draw;
} Progress;

static void progress(void *userdata, SlBuildEvent ev, unsigned step, unsigned n, const char *what,
		     double elapsed)
{
	Progress *p = userdata;

	switch (ev) {
	case SL_BUILD_STEP_BEGIN:
		p->title = what;
		p->last_draw = 0;
		if (p->tty)
			fprintf(stderr, "\r\033[K[%u/%u] %s ...", step, n, what);
		else
			fprintf(stderr, "slate build: [%u/%u] %s\n", step, n, what);
		break;
	case SL_BUILD_STEP_TICK:
		/* Redraw when the whole seconds shown change. */
		if (!p->tty || (long)elapsed == (long)p->last_draw)
			break;
		p->last_draw = elapsed;
		fprintf(stderr, "\r\033[K[%u/%u] %s ... %.0f s", step, n, p->title, elapsed);
		break;
	case SL_BUILD_STEP_END:
		if (p->tty)
			fprintf(stderr, "\r\033[K[%u/%u] %s  %.1f s\n", step, n, p->title, elapsed);
		else
			fprintf(stderr, "slate build: [%u/%u] done in %.1f s\n", step, n, elapsed);
		break;
	case SL_BUILD_WARNING:
		fprintf(stderr, "%sslate build: warning: %s\n", p->tty ? "\r\033[K" : "", what);
		break;
	}
	fflush(stderr);
}

static int parse_epoch(int64_t *ret)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	uint64_t v;

	*ret = -1;
	if (!s || !*s)
		return 0;
	/* reproducible-builds.org: a decimal number of seconds since the epoch. */
	if (strspn(s, "0123456789") != strlen(s) || sl_parse_u64(s, 253402300799u, &v) < 0)
		return sl_cli_usage_error("SOURCE_DATE_EPOCH='%s' is not a number of seconds "
					  "before the year 10000",
					  s);
	*ret = (int64_t)v;
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option options[] = { { "config", required_argument, NULL, 'c' },
						 { "output", required_argument, NULL, 'o' },
						 { "version", required_argument, NULL, 'V' },
						 { "channel", required_argument, NULL, 'C' },
						 { "keys", required_argument, NULL, 'k' },
						 { "cache", required_argument, NULL, 'K' },
						 { "keep-work", no_argument, NULL, 'w' },
						 { "export-default", required_argument, NULL, 'E' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	_cleanup_(sl_build_config_freep) SlBuildConfig *config = NULL;
	_cleanup_free_ char *init = NULL;
	const char *arg_config = NULL, *arg_output = "out", *arg_version = NULL;
	const char *arg_channel = NULL, *arg_keys = NULL, *arg_export = NULL;
	const char *arg_cache = getenv("SLATE_CACHE");
	bool arg_keep_work = false;
	Progress p = { .tty = isatty(STDERR_FILENO) };
	SlBuildResult res;
	int64_t epoch;
	int c, r;

	if (!arg_cache || !*arg_cache)
		arg_cache = "/var/cache/slate";
	while ((c = getopt_long(argc, argv, "c:o:h", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			arg_config = optarg;
			break;
		case 'o':
			arg_output = optarg;
			break;
		case 'V':
			arg_version = optarg;
			break;
		case 'C':
			arg_channel = optarg;
			break;
		case 'k':
			arg_keys = optarg;
			break;
		case 'K':
			arg_cache = optarg;
			break;
		case 'w':
			arg_keep_work = true;
			break;
		case 'E':
			arg_export = optarg;
			break;
		case 'h':
			sl_cli_print_help(sl_cli_current);
			return SL_EXIT_OK;
		default:
			return sl_cli_usage_error("unknown option");
		}
	}
	if (optind < argc)
		return sl_cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (arg_version && sl_build_version_parse(arg_version, NULL) < 0)
		return sl_cli_usage_error("%s", sl_error_message(-EBADMSG));
	if (arg_channel && !sl_build_channel_valid(arg_channel))
		return sl_cli_usage_error("--channel must be stable, beta or alpha");
	r = parse_epoch(&epoch);
	if (r != 0)
		return r;

	if (arg_export) {
		r = sl_build_default_export(arg_export);
		if (r < 0)
			return sl_cli_fail(arg_export, r);
		printf("%s/slate.conf\n", arg_export);
		return SL_EXIT_OK;
	}

	/* Without --config the library uses the embedded definition. */
	if (arg_config) {
		r = sl_build_config_load(arg_config, &config);
		if (r < 0)
			return sl_cli_fail(NULL, r);
	}

	init = sl_cli_default_init();
	if (!init)
		return sl_cli_fail(NULL, -ENOMEM);
	sl_error_clear();
	r = sl_build_run(
		&(SlBuildOptions){
			.config = config,
			.output_dir = arg_output,
			.version = arg_version,
			.channel = arg_channel,
			.keys_dir = arg_keys,
			.cache_dir = arg_cache,
			.init_path = init,
			.source_date_epoch = epoch,
			.keep_work = arg_keep_work,
			.progress = progress,
			.userdata = &p,
		},
		&res);
	if (r < 0 && p.tty)
		fputs("\n", stderr); /* end the step's line before the error */
	if (r < 0)
		return sl_cli_fail(NULL, r);

	printf("%s %s built in %.0f s: %s/\n", res.id, res.version, res.seconds, arg_output);
	printf("  /usr       %.1f MiB EROFS, %zu packages\n", (double)res.usr_size / 1048576.0,
	       res.n_packages);
	if (res.root_hash[0])
		printf("  root hash  %s\n", res.root_hash);
	if (res.development_keys)
		printf("  keys       DEVELOPMENT keys from %s/development-keys: for testing only\n",
		       arg_cache);
	printf("Boot it: slate run %s/slate.img\n", arg_output);
	return SL_EXIT_OK;
}

const SlCommand sl_cmd_build = {
	.name = "build",
	.summary = "Build a signed, verity-protected, bootable image from Debian packages",
	.usage = usage,
	.run = run,
};
