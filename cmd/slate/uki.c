/* SPDX-License-Identifier: MIT */
/* slate uki: build and inspect Unified Kernel Images. */
#include <ctype.h>
#include <openssl/evp.h>

#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/json.h"
#include "slate/sign.h"
#include "slate/uki.h"
#include "commands.h"

#define DEFAULT_STUB "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
#define MAX_TEXT     (1u << 20) /* command line, os-release, SBAT */

typedef struct Loaded {
	uint8_t *data;
	size_t len;
} Loaded;

/* Read a file; on failure report it (once) and return -1. */
static int load(const char *path, size_t max, Loaded *ret)
{
	int r = sl_read_file(path, max, &ret->data, &ret->len);

	if (r < 0) {
		sl_cli_fail(path, r);
		return -1;
	}
	return 0;
}

/* "@FILE" or "FILE" for options that ukify spells TEXT|@FILE but take a file here. */
static const char *file_arg(const char *s)
{
	return s[0] == '@' ? s + 1 : s;
}

/* ukify: a command line given as text has its whitespace collapsed; @FILE is verbatim. */
static int cmdline_arg(const char *arg, Loaded *ret)
{
	size_t n = 0;
	char *out;

	if (arg[0] == '@')
		return load(arg + 1, MAX_TEXT, ret);
	out = malloc(strlen(arg) + 1);
	if (!out) {
		sl_cli_fail(NULL, -ENOMEM);
		return -1;
	}
	for (const char *p = arg; *p;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (n)
			out[n++] = ' ';
		while (*p && !isspace((unsigned char)*p))
			out[n++] = *p++;
	}
	out[n] = 0;
	ret->data = (uint8_t *)out;
	ret->len = n;
	return 0;
}

static int run_build(int argc, char **argv)
{
	static const struct option options[] = {
		{ "stub", required_argument, NULL, 's' },
		{ "linux", required_argument, NULL, 'l' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "os-release", required_argument, NULL, 'r' },
		{ "uname", required_argument, NULL, 'u' },
		{ "sbat", required_argument, NULL, 'b' },
		{ "splash", required_argument, NULL, 'p' },
		{ "dtb", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	const char *arg_stub = DEFAULT_STUB, *arg_linux = NULL, *arg_cmdline = NULL,
		   *arg_osrel = NULL, *arg_uname = NULL, *arg_sbat = NULL, *arg_splash = NULL,
		   *arg_dtb = NULL, *arg_output = NULL, *arg_initrds[SL_UKI_MAX_INITRDS];
	Loaded stub = {}, kernel = {}, cmdline = {}, osrel = {}, sbat = {}, splash = {}, dtb = {},
	       initrds[SL_UKI_MAX_INITRDS] = {};
	SlUkiBlob initrd_blobs[SL_UKI_MAX_INITRDS];
	size_t n_initrds = 0, out_len = 0;
	uint8_t *out = NULL;
	int c, r = 0, ret = SL_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "o:", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			arg_stub = optarg;
			break;
		case 'l':
			arg_linux = optarg;
			break;
		case 'i':
			if (n_initrds == SL_UKI_MAX_INITRDS)
				return sl_cli_usage_error("at most %d --initrd",
							  SL_UKI_MAX_INITRDS);
			arg_initrds[n_initrds++] = optarg;
			break;
		case 'c':
			arg_cmdline = optarg;
			break;
		case 'r':
			arg_osrel = optarg;
			break;
		case 'u':
			arg_uname = optarg;
			break;
		case 'b':
			arg_sbat = optarg;
			break;
		case 'p':
			arg_splash = optarg;
			break;
		case 'd':
			arg_dtb = optarg;
			break;
		case 'o':
			arg_output = optarg;
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (!arg_linux || !arg_output)
		return sl_cli_usage_error("--linux and -o are required");
	if (optind != argc)
		return sl_cli_usage_error("unexpected argument '%s'", argv[optind]);

	if (load(arg_stub, SL_PE_MAX_SIZE, &stub) < 0 ||
	    load(arg_linux, SL_PE_MAX_SIZE, &kernel) < 0 ||
	    (arg_cmdline && cmdline_arg(arg_cmdline, &cmdline) < 0) ||
	    (arg_osrel && load(file_arg(arg_osrel), MAX_TEXT, &osrel) < 0) ||
	    (arg_sbat && load(file_arg(arg_sbat), MAX_TEXT, &sbat) < 0) ||
	    (arg_splash && load(arg_splash, SL_PE_MAX_SIZE, &splash) < 0) ||
	    (arg_dtb && load(arg_dtb, SL_PE_MAX_SIZE, &dtb) < 0))
		goto out;
	for (size_t i = 0; i < n_initrds; i++) {
		if (load(arg_initrds[i], SL_PE_MAX_SIZE, &initrds[i]) < 0)
			goto out;
		initrd_blobs[i] = (SlUkiBlob){ initrds[i].data, initrds[i].len };
	}

	{
		SlUkiInput in = {
			.stub = { stub.data, stub.len },
			.kernel = { kernel.data, kernel.len },
			.initrds = initrd_blobs,
			.n_initrds = n_initrds,
			.cmdline = { cmdline.data, cmdline.len },
			.osrel = { osrel.data, osrel.len },
			.uname = arg_uname,
			.sbat = { sbat.data, sbat.len },
			.splash = { splash.data, splash.len },
			.dtb = { dtb.data, dtb.len },
		};

		r = sl_uki_build(&in, &out, &out_len);
	}
	if (r < 0) {
		/* The message names the input at fault ("stub: ...", "the kernel ..."). */
		sl_cli_fail(NULL, r);
		goto out;
	}
	r = sl_write_file_atomic(arg_output, out, out_len, 0644);
	if (r < 0) {
		sl_cli_fail(arg_output, r);
		goto out;
	}
	ret = SL_EXIT_OK;
out:
	free(out);
	free(stub.data);
	free(kernel.data);
	free(cmdline.data);
	free(osrel.data);
	free(sbat.data);
	free(splash.data);
	free(dtb.data);
	for (size_t i = 0; i < n_initrds; i++)
		free(initrds[i].data);
	return ret;
}

static const SlCommand cmd_build = {
	.name = "build",
	.summary = "Build a Unified Kernel Image from systemd-stub, a kernel and an initrd",
	.usage =
		"--linux KERNEL [--stub STUB] [--initrd FILE]... [--cmdline TEXT|@FILE]\n"
		"       [--os-release FILE] [--uname STR] [--sbat FILE] [--splash FILE] [--dtb "
		"FILE]\n"
		"       -o UKI\n"
		"\n"
		"Adds the kernel, initrds, command line and os-release to systemd-stub as PE\n"
		"sections, laid out exactly as systemd's ukify (257) lays them out: the same "
		"inputs\n"
		"give the same file as `ukify build`, byte for byte, and always the same output.\n"
		"The stub's .sbat is replaced in place by the merged SBAT (stub, kernel, --sbat).\n"
		"Works with systemd 252 to 257 stubs. Sign the result with `slate sign`.\n"
		"\n"
		"Options:\n"
		"  --linux FILE       the kernel (.linux)\n"
		"  --stub FILE        systemd-stub (default " DEFAULT_STUB ")\n"
		"  --initrd FILE      an initrd (.initrd); several are concatenated, each padded\n"
		"                     to 4 bytes\n"
		"  --cmdline TEXT     the kernel command line (.cmdline), whitespace collapsed;\n"
		"  --cmdline @FILE    or FILE's bytes exactly\n"
		"  --os-release FILE  os-release (.osrel)\n"
		"  --uname STR        the kernel release (.uname; default: read from the kernel)\n"
		"  --sbat FILE        SBAT entries to add (default: the UKI spec's 'uki' entry)\n"
		"  --splash FILE      a boot splash BMP (.splash)\n"
		"  --dtb FILE         a devicetree (.dtb)\n"
		"  -o, --output FILE  the UKI to write\n"
		"  -h, --help         this help",
	.run = run_build,
};

/* Everything `slate uki inspect` shows. */
typedef struct Inspect {
	const char *file;
	const SlPe *pe;
	char stub[128];
	uint8_t authenticode[64];
	size_t authenticode_len;
	SlPeSignature sigs[SL_PE_MAX_CERTS];
	size_t n_sigs;
	const char *sig_error; /* signatures present but not decodable */
} Inspect;

static const uint8_t *section_text(const SlPe *pe, const char *name, size_t *len)
{
	const SlPeSection *s = sl_pe_section_find(pe, name);
	const uint8_t *d;

	if (!s)
		return NULL;
	d = sl_pe_section_data(pe, s, len);
	while (*len > 0 && d[*len - 1] == 0) /* .sbat and .pcrsig end in NUL */
		(*len)--;
	return d;
}

/* PRETTY_NAME from os-release text (unquoted), or NULL. */
static char *pretty_name(const uint8_t *text, size_t len)
{
	const char *s = (const char *)text, *end = s + len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;

		if ((size_t)(e - s) > 12 && memcmp(s, "PRETTY_NAME=", 12) == 0) {
			const char *v = s + 12;

			if (e - v >= 2 && (*v == '"' || *v == '\'') && e[-1] == *v)
				return strndup(v + 1, (size_t)(e - v - 2));
			return strndup(v, (size_t)(e - v));
		}
		s = e + 1;
	}
	return NULL;
}

static void section_sha256(const SlPe *pe, const SlPeSection *s, char out[65])
{
	uint8_t md[32];
	size_t len;
	const uint8_t *d = sl_pe_section_data(pe, s, &len);

	EVP_Digest(d, len, md, NULL, EVP_sha256(), NULL);
	sl_hex_encode(md, sizeof(md), out);
}

static void print_json(const Inspect *x)
{
	static const char *const texts[][2] = {
		{ ".osrel", "osRelease" }, { ".cmdline", "cmdline" }, { ".uname", "uname" },
		{ ".sbat", "sbat" },	   { ".pcrsig", "pcrsig" },
	};
	const SlPe *pe = x->pe;
	SlJson j;

	sl_json_init(&j, stdout, true);
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "file", x->file);
	sl_json_kv_uint(&j, "size", pe->size);
	sl_json_kv_bool(&j, "uki", sl_pe_section_find(pe, ".linux") != NULL);
	sl_json_kv_uint(&j, "machine", pe->machine);
	if (x->stub[0])
		sl_json_kv_string(&j, "stub", x->stub);
	sl_json_kv_hex(&j, "authenticodeSha256", x->authenticode, x->authenticode_len);
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		size_t len;
		const uint8_t *t = section_text(pe, texts[i][0], &len);

		if (t) {
			sl_json_key(&j, texts[i][1]);
			sl_json_string_len(&j, (const char *)t, len);
		}
	}
	sl_json_key(&j, "sections");
	sl_json_begin_array(&j);
	for (size_t i = 0; i < pe->n_sections; i++) {
		const SlPeSection *s = &pe->sections[i];
		char sha[65];

		section_sha256(pe, s, sha);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "name", s->name);
		sl_json_kv_uint(&j, "virtualAddress", s->virtual_address);
		sl_json_kv_uint(&j, "virtualSize", s->virtual_size);
		sl_json_kv_uint(&j, "rawOffset", s->raw_offset);
		sl_json_kv_uint(&j, "rawSize", s->raw_size);
		sl_json_kv_uint(&j, "characteristics", s->characteristics);
		sl_json_kv_string(&j, "sha256", sha);
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);
	sl_json_kv_bool(&j, "signed", pe->n_certs > 0);
	if (x->sig_error)
		sl_json_kv_string(&j, "signatureError", x->sig_error);
	sl_json_key(&j, "signatures");
	sl_json_begin_array(&j);
	for (size_t i = 0; i < x->n_sigs; i++) {
		const SlPeSignature *s = &x->sigs[i];

		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "signer", s->subject);
		sl_json_kv_string(&j, "issuer", s->issuer);
		sl_json_kv_string(&j, "serial", s->serial);
		sl_json_kv_string(&j, "digestAlgorithm", s->digest_alg);
		sl_json_kv_hex(&j, "digest", s->digest, s->digest_len);
		sl_json_kv_bool(&j, "digestMatches", s->digest_matches);
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);
	sl_json_end_object(&j);
	sl_json_finish(&j);
}

/* One line of text for the table view: control characters shown as spaces. */
static void print_text_line(const char *label, const uint8_t *t, size_t len)
{
	printf("%-14s", label);
	for (size_t i = 0; i < len; i++)
		putchar(t[i] < 0x20 || t[i] == 0x7f ? ' ' : t[i]);
	putchar('\n');
}

static void print_table(const Inspect *x)
{
	const SlPe *pe = x->pe;
	_cleanup_free_ char *pretty = NULL;
	const uint8_t *t;
	char hex[129];
	size_t len;

	printf("%-14s%s (%zu bytes)\n", "File:", x->file, pe->size);
	printf("%-14s%s\n",
	       "Kind:", sl_pe_section_find(pe, ".linux") ? "UKI" : "PE image (no .linux)");
	if (x->stub[0])
		printf("%-14s%s\n", "Stub:", x->stub);
	if ((t = section_text(pe, ".osrel", &len))) {
		pretty = pretty_name(t, len);
		printf("%-14s%s\n", "OS release:", pretty ? pretty : "(no PRETTY_NAME)");
	}
	if ((t = section_text(pe, ".uname", &len)))
		print_text_line("Uname:", t, len);
	if ((t = section_text(pe, ".cmdline", &len)))
		print_text_line("Command line:", t, len);
	sl_hex_encode(x->authenticode, x->authenticode_len, hex);
	printf("%-14ssha256 %s\n", "Authenticode:", hex);
	if (pe->n_certs == 0)
		printf("%-14snot signed\n", "Signatures:");
	else if (x->sig_error)
		printf("%-14s%s\n", "Signatures:", x->sig_error);
	for (size_t i = 0; i < x->n_sigs; i++)
		printf("%-14s%zu: %s (%s, %s)\n", i == 0 ? "Signatures:" : "", i + 1,
		       x->sigs[i].subject[0] ? x->sigs[i].subject : x->sigs[i].issuer,
		       x->sigs[i].digest_alg,
		       x->sigs[i].digest_matches ? "digest matches the image"
						 : "DIGEST DOES NOT MATCH THE IMAGE");
	printf("\n%-9s %10s %10s %10s %10s  %s\n", "SECTION", "VA", "VSIZE", "OFFSET", "RAWSIZE",
	       "SHA256");
	for (size_t i = 0; i < pe->n_sections; i++) {
		const SlPeSection *s = &pe->sections[i];
		char sha[65];

		section_sha256(pe, s, sha);
		printf("%-9s %#10x %#10x %#10x %#10x  %s\n", s->name, s->virtual_address,
		       s->virtual_size, s->raw_offset, s->raw_size, sha);
	}
}

static int run_inspect(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	SlOutput arg_output = SL_OUTPUT_TABLE;
	_cleanup_free_ uint8_t *data = NULL;
	Inspect x = {};
	size_t len;
	SlPe pe;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:", options, NULL)) >= 0) {
		switch (c) {
		case 'o':
			if (sl_cli_parse_output(optarg, &arg_output) < 0)
				return sl_cli_usage_error("unknown output format '%s'", optarg);
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (optind + 1 != argc)
		return sl_cli_usage_error("expected one file");
	x.file = argv[optind];
	r = sl_pe_read_file(x.file, &data, &len, &pe);
	if (r < 0)
		return sl_cli_fail(x.file, r);
	x.pe = &pe;
	if (sl_uki_stub_version(&pe, x.stub, sizeof(x.stub)) < 0)
		x.stub[0] = 0;
	r = sl_pe_authenticode_digest(&pe, "sha256", x.authenticode, &x.authenticode_len);
	if (r < 0)
		return sl_cli_fail(x.file, r);
	sl_error_clear();
	r = sl_sign_pe_signatures(&pe, x.sigs, ARRAY_SIZE(x.sigs), &x.n_sigs);
	if (r < 0) {
		x.sig_error = sl_error_message(r);
		x.n_sigs = 0;
	}
	if (arg_output == SL_OUTPUT_JSON)
		print_json(&x);
	else
		print_table(&x);
	return SL_EXIT_OK;
}

static const SlCommand cmd_inspect = {
	.name = "inspect",
	.summary = "Show a UKI's sections, command line, os-release and signatures",
	.usage =
		"[-o json|table] UKI\n"
		"\n"
		"Shows the sections of UKI (or any PE image) with their addresses, sizes and the\n"
		"SHA-256 of their contents, the embedded os-release, kernel release and command\n"
		"line, the stub's version, the Authenticode SHA-256 digest (as `pesign -h` prints\n"
		"it), and who signed it. It checks no trust: `slate verify` does.\n"
		"\n"
		"Options:\n"
		"  -o, --output FMT table (default) or json\n"
		"  -h, --help       this help",
	.run = run_inspect,
};

static const SlCommand *const uki_children[] = { &cmd_build, &cmd_inspect, NULL };

const SlCommand sl_cmd_uki = {
	.name = "uki",
	.summary = "Build and inspect Unified Kernel Images",
	.children = uki_children,
};
