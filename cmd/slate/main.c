/* SPDX-License-Identifier: MIT */
/*
 * slate: the host tool. Each subcommand lives in its own file in this directory
 * and is listed once below.
 */
#include "slate/cli.h"
#include "commands.h"

static const SlCommand *const top_children[] = {
	SLATE_COMMANDS NULL,
};

static const SlCommand top = {
	.name = "slate",
	.summary = "Build, sign, boot, verify and update Slate container OS images.",
	.children = top_children,
};

int main(int argc, char **argv)
{
	if (argc >= 2 && streq(argv[1], "--version")) {
		printf("slate %s\n", SLATE_VERSION);
		return SL_EXIT_OK;
	}
	return sl_cli_dispatch(&top, NULL, argc, argv);
}
