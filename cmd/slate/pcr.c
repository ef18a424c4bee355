/* SPDX-License-Identifier: MIT */
/* slate pcr predict: PCR 11 of a UKI as systemd-stub and systemd-pcrphase extend it. */
#include "slate/cli.h"
#include "slate/error.h"
#include "slate/hex.h"
#include "slate/json.h"
#include "slate/pcr.h"
#include "slate/strutil.h"
#include "commands.h"

static const char predict_usage[] =
	"UKI [--stub-version N] [-o json|table]\n"
	"\n"
	"Options:\n"
	"  --stub-version N   measure as systemd-stub N does (default: the stub in the UKI)\n"
	"  -o, --output FMT   json or table (default)\n"
	"\n"
	"Prints PCR 11 in the sha1, sha256, sha384 and sha512 banks after systemd-stub\n"
	"has measured the UKI's sections (the order and the list of sections depend on\n"
	"the stub's version, read from its .sdmagic section: 252 to 257 are known), and\n"
	"after each boot phase systemd-pcrphase extends: enter-initrd, leave-initrd,\n"
	"sysinit, ready. A boot without systemd-pcrphase (e.g. an initramfs that is not\n"
	"systemd) stays at the value after the stub. Sections whose measurement depends\n"
	"on the machine (.profile, .dtbauto, .hwids) are refused.";

static void print_table(const char *path, const SlPcr11Prediction *p)
{
	char hex[2 * SL_PCR_DIGEST_MAX + 1];

	if (p->stub_version[0])
		printf("%s: systemd-stub %s\n", path, p->stub_version);
	else
		printf("%s: measured as systemd-stub %u\n", path, p->stub_major);
	printf("measured sections:");
	for (size_t i = 0; i < p->n_sections; i++)
		printf(" %s", p->sections[i].name);
	printf("\n\n%-41s %-7s %s\n", "PHASE", "BANK", "PCR 11");
	for (size_t ph = 0; ph < SL_PCR11_N_PHASES; ph++)
		for (SlPcrBank b = 0; b < _SL_PCR_BANK_MAX; b++) {
			sl_hex_encode(p->phases[ph].bank[b], sl_pcr_bank_size(b), hex);
			printf("%-41s %-7s %s\n",
			       b == 0 ? (ph == 0 ? "(after the stub)" : sl_pcr11_phases[ph]) : "",
			       sl_pcr_bank_name(b), hex);
		}
}

static void print_json(const SlPcr11Prediction *p)
{
	SlJson j;

	sl_json_init(&j, stdout, true);
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "stub", p->stub_version);
	sl_json_kv_uint(&j, "stub_major", p->stub_major);
	sl_json_key(&j, "sections");
	sl_json_begin_array(&j);
	for (size_t i = 0; i < p->n_sections; i++) {
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "name", p->sections[i].name);
		sl_json_kv_uint(&j, "size", p->sections[i].size);
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);
	sl_json_key(&j, "phases");
	sl_json_begin_array(&j);
	for (size_t ph = 0; ph < SL_PCR11_N_PHASES; ph++) {
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "phase", sl_pcr11_phases[ph]);
		for (SlPcrBank b = 0; b < _SL_PCR_BANK_MAX; b++)
			sl_json_kv_hex(&j, sl_pcr_bank_name(b), p->phases[ph].bank[b],
				       sl_pcr_bank_size(b));
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);
	sl_json_end_object(&j);
	sl_json_finish(&j);
}

static int predict_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stub-version", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	_cleanup_free_ uint8_t *buf = NULL;
	SlOutput fmt = SL_OUTPUT_TABLE;
	SlPcr11Prediction p;
	unsigned stub = 0;
	uint64_t v;
	size_t len;
	SlPe pe;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			if (sl_parse_u64(optarg, 100000, &v) < 0 || v == 0)
				return sl_cli_usage_error("--stub-version: '%s' is not a version",
							  optarg);
			stub = (unsigned)v;
			break;
		case 'o':
			if (sl_cli_parse_output(optarg, &fmt) < 0)
				return sl_cli_usage_error("-o: use json or table");
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (argc - optind != 1)
		return sl_cli_usage_error("expected one UKI");
	r = sl_pe_read_file(argv[optind], &buf, &len, &pe);
	if (r >= 0)
		r = sl_pcr11_predict(&pe, stub, &p);
	if (r < 0)
		return sl_cli_fail(argv[optind], r);
	if (fmt == SL_OUTPUT_JSON)
		print_json(&p);
	else
		print_table(argv[optind], &p);
	return SL_EXIT_OK;
}

static const SlCommand cmd_predict = {
	.name = "predict",
	.summary = "Predict PCR 11 of a UKI after the stub and after each boot phase.",
	.usage = predict_usage,
	.run = predict_run,
};

static const SlCommand *const pcr_children[] = { &cmd_predict, NULL };

const SlCommand sl_cmd_pcr = {
	.name = "pcr",
	.summary = "TPM PCR predictions (measured boot).",
	.children = pcr_children,
};
