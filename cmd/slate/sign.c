/* SPDX-License-Identifier: MIT */
/* slate sign: Authenticode-sign a UEFI PE image, or make a detached PKCS#7 signature. */
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/sign.h"
#include "slate/strutil.h"
#include "commands.h"

static int run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "replace", no_argument, NULL, 'r' },
		{ "pkcs7", no_argument, NULL, 'p' },
		{},
	};
	const char *arg_key = NULL, *arg_cert = NULL, *arg_output = NULL, *in;
	bool arg_replace = false, arg_pkcs7 = false;
	_cleanup_(sl_sign_key_freep) SlSignKey *key = NULL;
	_cleanup_free_ uint8_t *data = NULL, *out = NULL;
	_cleanup_free_ char *default_output = NULL;
	size_t len, out_len;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:", options, NULL)) >= 0) {
		switch (c) {
		case 'k':
			arg_key = optarg;
			break;
		case 'c':
			arg_cert = optarg;
			break;
		case 'o':
			arg_output = optarg;
			break;
		case 'r':
			arg_replace = true;
			break;
		case 'p':
			arg_pkcs7 = true;
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (!arg_key || !arg_cert)
		return sl_cli_usage_error("--key and --cert are required");
	if (optind + 1 != argc)
		return sl_cli_usage_error("expected one input file");
	if (arg_pkcs7 && arg_replace)
		return sl_cli_usage_error("--replace is for PE images, not --pkcs7");
	in = argv[optind];
	if (!arg_output) {
		/* sbsign's default: IN.signed; a detached signature goes beside its data. */
		default_output = sl_asprintf("%s.%s", in, arg_pkcs7 ? "p7s" : "signed");
		if (!default_output)
			return sl_cli_fail(NULL, -ENOMEM);
		arg_output = default_output;
	}

	r = sl_sign_key_load(arg_key, arg_cert, &key);
	if (r < 0)
		return sl_cli_fail(NULL, r);
	r = sl_read_file(in, SL_PE_MAX_SIZE, &data, &len);
	if (r < 0)
		return sl_cli_fail(in, r);
	if (arg_pkcs7)
		r = sl_sign_detached(key, data, len, &out, &out_len);
	else
		r = sl_sign_pe(key, data, len, arg_replace ? SL_SIGN_REPLACE : 0, &out, &out_len);
	if (r < 0)
		return sl_cli_fail(in, r);
	r = sl_write_file_atomic(arg_output, out, out_len, 0644);
	if (r < 0)
		return sl_cli_fail(arg_output, r);
	return SL_EXIT_OK;
}

const SlCommand sl_cmd_sign = {
	.name = "sign",
	.summary = "Sign a UEFI PE image (Authenticode, SHA-256) or any file (detached PKCS#7)",
	.usage =
		"--key KEY --cert CERT [--replace] [--pkcs7] [-o OUT] IN\n"
		"\n"
		"Signs IN, a UEFI PE image (a UKI, systemd-boot, a kernel), with an Authenticode\n"
		"signature (PKCS#7 SignedData over SpcIndirectDataContent, SHA-256) that UEFI\n"
		"Secure Boot checks against its db, and writes the signed image to OUT. An "
		"unsigned\n"
		"image is padded to 8 bytes first, as sbsign does. A signed image gets one more\n"
		"signature unless --replace. Signing is deterministic: the same image and key "
		"give\n"
		"the same bytes.\n"
		"\n"
		"Options:\n"
		"  --key FILE        private key, PEM or DER (RSA for Authenticode)\n"
		"  --cert FILE       its X.509 certificate, PEM or DER\n"
		"  -o, --output FILE where to write (default IN.signed, or IN.p7s with --pkcs7)\n"
		"  --replace         drop the image's existing signatures\n"
		"  --pkcs7           instead, write a detached DER PKCS#7 signature of IN's bytes\n"
		"                    (SHA-256, no certificates, no signed attributes: what the\n"
		"                    kernel takes for a dm-verity root hash, like `openssl smime\n"
		"                    -sign -binary -noattr -nocerts -outform der`)\n"
		"  -h, --help        this help",
	.run = run,
};
