/* SPDX-License-Identifier: MIT */
/* slate keys: Secure Boot and release signing keys. */
#include "slate/error.h"
#include "slate/sign.h"
#include "slate/strutil.h"
#include "commands.h"

static int run_create(int argc, char **argv)
{
	static const struct option options[] = {
		{ "subject", required_argument, NULL, 's' },
		{ "days", required_argument, NULL, 'd' },
		{},
	};
	SlKeysOptions opts = { .subject = "Slate", .days = 3650 };
	uint64_t days;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			opts.subject = optarg;
			break;
		case 'd':
			if (sl_parse_u64(optarg, 36500, &days) < 0 || days == 0)
				return sl_cli_usage_error("--days takes 1 to 36500, not '%s'",
							  optarg);
			opts.days = (unsigned)days;
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (optind + 1 != argc)
		return sl_cli_usage_error("expected one directory");
	r = sl_sign_keys_create(argv[optind], &opts);
	if (r < 0)
		return sl_cli_fail(NULL, r);
	for (size_t i = 0; sl_sign_key_files[i]; i++)
		printf("%s/%s\n", argv[optind], sl_sign_key_files[i]);
	return SL_EXIT_OK;
}

static const SlCommand cmd_create = {
	.name = "create",
	.summary = "Create a Secure Boot key set (PK, KEK, db) and a release signing key",
	.usage =
		"[--subject NAME] [--days N] DIR\n"
		"\n"
		"Creates DIR (mode 0700) if needed and writes, PEM-encoded:\n"
		"  PK.key PK.crt KEK.key KEK.crt db.key db.crt  Secure Boot keys: RSA 2048,\n"
		"      self-signed X.509 v3 certificates with SHA-256 (what OVMF and real\n"
		"      firmware enrol). db signs UKIs, systemd-boot and the dm-verity root hash.\n"
		"  release.key release.pub                      Ed25519: signs release manifests.\n"
		"Private keys are mode 0600. Existing keys are never overwritten: if any of these\n"
		"files exists, nothing is written.\n"
		"\n"
		"Options:\n"
		"  --subject NAME  certificate names are 'NAME PK', 'NAME KEK', 'NAME db'\n"
		"                  (default 'Slate')\n"
		"  --days N        certificate validity in days (default 3650; firmware does not\n"
		"                  check it)\n"
		"  -h, --help      this help",
	.run = run_create,
};

static const SlCommand *const keys_children[] = { &cmd_create, NULL };

const SlCommand sl_cmd_keys = {
	.name = "keys",
	.summary = "Create Secure Boot and release signing keys",
	.children = keys_children,
};
