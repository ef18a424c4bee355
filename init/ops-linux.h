/* SPDX-License-Identifier: MIT */
/* InitOps on the running kernel (ops-linux.c), for main.c. */
#pragma once

#include "init.h"

typedef struct LinuxInit {
	int kmsg; /* /dev/kmsg, -1 until /dev is there */
	int dm;	  /* /dev/mapper/control, -1 until opened */
	int tpm;  /* /dev/tpmrm0 or /dev/tpm0, -1 when closed */
	int mlog; /* the measurement log being written, -1 otherwise */
	char devkmsg_saved[16];
	InitConfig cfg; /* as far as the command line parsed */
	bool have_cfg;
} LinuxInit;

void linux_init_ops(LinuxInit *l, InitOps *ops);

/* A log line to /dev/kmsg with the "slate-init: " prefix (stderr without /dev). */
void linux_init_write_line(LinuxInit *l, int level, const char *line);
