/* SPDX-License-Identifier: MIT */
#include <stdarg.h>

#include "slate/cli.h"
#include "slate/error.h"

const char *sl_cli_program = "slate";
const SlCommand *sl_cli_current;

int sl_cli_fail(const char *file, int r)
{
	if (file)
		fprintf(stderr, "%s: %s: %s\n", sl_cli_program, file, sl_error_message(r));
	else
		fprintf(stderr, "%s: %s\n", sl_cli_program, sl_error_message(r));
	return SL_EXIT_FAIL;
}

int sl_cli_failf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", sl_cli_program);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return SL_EXIT_FAIL;
}

int sl_cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", sl_cli_program);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", sl_cli_program);
	return SL_EXIT_USAGE;
}

int sl_cli_option_error(char *const *argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;

	if (optopt && (!arg || !startswith(arg, "--")))
		return sl_cli_usage_error("unknown option '-%c' or missing argument", optopt);
	return sl_cli_usage_error("unknown option or missing argument: '%s'", arg ? arg : "?");
}

static void print_group_help(const SlCommand *cmd)
{
	size_t w = 0;

	printf("Usage: %s COMMAND [OPTIONS...]\n\n%s\n\nCommands:\n", sl_cli_program, cmd->summary);
	for (const SlCommand *const *c = cmd->children; *c; c++)
		w = MAX(w, strlen((*c)->name));
	for (const SlCommand *const *c = cmd->children; *c; c++)
		printf("  %-*s  %s\n", (int)w, (*c)->name, (*c)->summary);
	printf("\nRun '%s COMMAND --help' for a command's options.\n", sl_cli_program);
}

void sl_cli_print_help(const SlCommand *cmd)
{
	if (cmd->children) {
		print_group_help(cmd);
		return;
	}
	printf("Usage: %s %s\n\n%s\n", sl_cli_program, cmd->usage ? cmd->usage : "", cmd->summary);
}

int sl_cli_dispatch(const SlCommand *cmd, const char *prefix, int argc, char **argv)
{
	static char program[256];
	const char *name;

	snprintf(program, sizeof(program), "%s%s%s", prefix ? prefix : "", prefix ? " " : "",
		 cmd->name);
	sl_cli_program = program;
	sl_cli_current = cmd;

	if (!cmd->children) {
		/* Leaves see "-h"/"--help" themselves too; handle the common case here. */
		for (int i = 1; i < argc; i++) {
			if (streq(argv[i], "--"))
				break;
			if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
				sl_cli_print_help(cmd);
				return SL_EXIT_OK;
			}
		}
		optind = 0; /* full getopt reinitialisation for the leaf */
		opterr = 0; /* the leaf reports through sl_cli_option_error() */
		return cmd->run(argc, argv);
	}

	if (argc < 2)
		return sl_cli_usage_error("missing command");
	name = argv[1];
	if (streq(name, "--help") || streq(name, "-h") || streq(name, "help")) {
		print_group_help(cmd);
		return SL_EXIT_OK;
	}
	for (const SlCommand *const *c = cmd->children; *c; c++) {
		if (streq((*c)->name, name)) {
			char parent[256];

			snprintf(parent, sizeof(parent), "%s", program);
			return sl_cli_dispatch(*c, parent, argc - 1, argv + 1);
		}
	}
	if (name[0] == '-')
		return sl_cli_usage_error("unknown option '%s'", name);
	return sl_cli_usage_error("unknown command '%s'", name);
}

int sl_cli_parse_output(const char *s, SlOutput *ret)
{
	if (streq(s, "json")) {
		*ret = SL_OUTPUT_JSON;
		return 0;
	}
	if (streq(s, "table") || streq(s, "text")) {
		*ret = SL_OUTPUT_TABLE;
		return 0;
	}
	return sl_errorf(-EINVAL, "unknown output format '%s' (use json or table)", s);
}
