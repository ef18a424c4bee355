/* SPDX-License-Identifier: MIT */
/*
 * The command-line framework of the `slate` tool: nested subcommands, --help at
 * every level, and one exit-code convention:
 *
 *   0  success
 *   1  failure: one line on stderr naming the file and the problem
 *   2  bad usage: the problem and a pointer to --help
 *
 * A command is either a group (children) or a leaf (run). Leaves parse their own
 * options with getopt_long; sl_cli_leaf_help() handles -h/--help uniformly.
 */
#pragma once

#include <getopt.h>

#include "slate/macros.h"

#define SL_EXIT_OK    0
#define SL_EXIT_FAIL  1
#define SL_EXIT_USAGE 2

typedef struct SlCommand SlCommand;

struct SlCommand {
	const char *name;
	const char *summary; /* one line, shown in the parent's list */
	const char *usage;   /* full help for leaves: synopsis and options */
	/* Leaf: argv[0] is the command's full name ("slate verity format"). */
	int (*run)(int argc, char **argv);
	const SlCommand *const *children; /* NULL-terminated, for groups */
};

/*
 * Run cmd with argv (argv[0] = the command's own name). Groups dispatch to a
 * child; leaves call run(). Returns the exit code.
 */
int sl_cli_dispatch(const SlCommand *cmd, const char *prefix, int argc, char **argv);

/* Program-wide: the name errors are prefixed with ("slate verity format"). */
extern const char *sl_cli_program;

/* Print "<program>: <file>: <message of r>" and return SL_EXIT_FAIL. file may be NULL. */
int sl_cli_fail(const char *file, int r);

/* Print "<program>: <formatted message>" and return SL_EXIT_FAIL. */
int sl_cli_failf(const char *fmt, ...) _printf_(1, 2);

/* Print "<program>: <message>\nTry '<program> --help'." and return SL_EXIT_USAGE. */
int sl_cli_usage_error(const char *fmt, ...) _printf_(1, 2);

/*
 * For a leaf's getopt_long() loop, on '?' (unknown option or missing argument):
 * names the offending argument, points to --help, returns SL_EXIT_USAGE. The
 * framework runs leaves with opterr = 0, so getopt itself prints nothing.
 */
int sl_cli_option_error(char *const *argv);

/* Print a leaf's help text to stdout. */
void sl_cli_print_help(const SlCommand *cmd);

/* Output formats shared by listing commands (`-o json|table`). */
typedef enum SlOutput {
	SL_OUTPUT_TABLE,
	SL_OUTPUT_JSON,
} SlOutput;

/* Parse "json" / "table" (also "text"); -EINVAL otherwise. */
int sl_cli_parse_output(const char *s, SlOutput *ret) _wur_;

/* The command currently running (for sl_cli_print_help from option parsing). */
extern const SlCommand *sl_cli_current;
