/* SPDX-License-Identifier: MIT */
/* slate verify: check a UEFI image's Authenticode signature (or a detached PKCS#7). */
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/hex.h"
#include "slate/json.h"
#include "slate/sign.h"
#include "commands.h"

static void print_result(SlOutput output, const char *file, const SlPeSignature *sig)
{
	if (output == SL_OUTPUT_JSON) {
		SlJson j;

		sl_json_init(&j, stdout, true);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "file", file);
		sl_json_kv_bool(&j, "verified", true);
		if (sig) {
			sl_json_kv_uint(&j, "signature", sig->index + 1);
			sl_json_kv_string(&j, "signer", sig->subject);
			sl_json_kv_string(&j, "issuer", sig->issuer);
			sl_json_kv_string(&j, "serial", sig->serial);
			sl_json_kv_string(&j, "digestAlgorithm", sig->digest_alg);
			sl_json_kv_hex(&j, "digest", sig->digest, sig->digest_len);
		}
		sl_json_end_object(&j);
		sl_json_finish(&j);
		return;
	}
	if (sig) {
		char hex[129];

		sl_hex_encode(sig->digest, sig->digest_len, hex);
		printf("%s: signature %zu verified: signed by %s (%s %s)\n", file, sig->index + 1,
		       sig->subject[0] ? sig->subject : sig->issuer, sig->digest_alg, hex);
	} else {
		printf("%s: detached PKCS#7 signature verified\n", file);
	}
}

static int run(int argc, char **argv)
{
	static const struct option options[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "pkcs7", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{},
	};
	const char *arg_cert = NULL, *arg_pkcs7 = NULL, *file;
	SlOutput arg_output = SL_OUTPUT_TABLE;
	_cleanup_(sl_sign_trust_freep) SlSignTrust *trust = NULL;
	_cleanup_free_ uint8_t *data = NULL, *sig_der = NULL;
	size_t len, sig_len;
	SlPeSignature sig;
	SlPe pe;
	int c, r;

	while ((c = getopt_long(argc, argv, "o:", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			arg_cert = optarg;
			break;
		case 'p':
			arg_pkcs7 = optarg;
			break;
		case 'o':
			if (sl_cli_parse_output(optarg, &arg_output) < 0)
				return sl_cli_usage_error("unknown output format '%s'", optarg);
			break;
		default:
			return sl_cli_option_error(argv);
		}
	}
	if (!arg_cert)
		return sl_cli_usage_error("--cert is required");
	if (optind + 1 != argc)
		return sl_cli_usage_error("expected one file");
	file = argv[optind];

	r = sl_sign_trust_load(arg_cert, &trust);
	if (r < 0)
		return sl_cli_fail(NULL, r);
	r = sl_read_file(file, SL_PE_MAX_SIZE, &data, &len);
	if (r < 0)
		return sl_cli_fail(file, r);
	if (arg_pkcs7) {
		r = sl_read_file(arg_pkcs7, 1u << 20, &sig_der, &sig_len);
		if (r < 0)
			return sl_cli_fail(arg_pkcs7, r);
		r = sl_sign_detached_verify(trust, sig_der, sig_len, data, len);
		if (r < 0)
			return sl_cli_fail(file, r);
		print_result(arg_output, file, NULL);
		return SL_EXIT_OK;
	}
	r = sl_pe_decode(data, len, &pe);
	if (r < 0)
		return sl_cli_fail(file, r);
	r = sl_sign_pe_verify(trust, &pe, &sig);
	if (r < 0)
		return sl_cli_fail(file, r);
	print_result(arg_output, file, &sig);
	return SL_EXIT_OK;
}

const SlCommand sl_cmd_verify = {
	.name = "verify",
	.summary = "Check a UEFI image's Authenticode signature against a certificate",
	.usage =
		"--cert CERT [--pkcs7 SIG] [-o json|table] FILE\n"
		"\n"
		"Checks FILE's Authenticode signatures as UEFI Secure Boot does: FILE is accepted\n"
		"when one signature carries FILE's own digest, verifies, and was made by CERT or\n"
		"by a key that CERT certifies (validity dates are not checked, as firmware does\n"
		"not check them). Exits 1 naming the reason otherwise: not signed, changed after\n"
		"signing, signature invalid, signer not trusted, or a malformed file.\n"
		"\n"
		"Options:\n"
		"  --cert FILE      trusted certificate(s): PEM (all certificates in it) or DER\n"
		"  --pkcs7 SIG      FILE is any data and SIG its detached DER PKCS#7 signature\n"
		"                   (slate sign --pkcs7); the signer must be in --cert\n"
		"  -o, --output FMT table (default) or json\n"
		"  -h, --help       this help",
	.run = run,
};
