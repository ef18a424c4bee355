/* SPDX-License-Identifier: MIT */
/* The subcommands of `slate`, one per file in cmd/slate/. Keep in name order:
 * each module adds one extern and one entry. */
#pragma once

#include "slate/cli.h"

#define SLATE_COMMANDS
