/* SPDX-License-Identifier: MIT */
/*
 * The EFI system partition, made as a file with mkfs.vfat and filled with mtools (no
 * mounts):
 *
 *   /EFI/BOOT/BOOTX64.EFI              signed systemd-boot (the removable-media path:
 *   /EFI/systemd/systemd-bootx64.efi   no NVRAM boot entry needed), and its own path
 *   /loader/loader.conf                newest Slate UKI by default, no editor
 *   /EFI/Linux/<id>_<version>+3.efi    the signed UKI with a boot counter: three
 *                                      tries before systemd-boot falls back (SPEC §5.3)
 *
 * Timestamps come from SOURCE_DATE_EPOCH (mtools honours it) and the volume ID is
 * derived, so the same build gives the same partition.
 */
#include "build-internal.h"
#include "slate/error.h"
#include "slate/strutil.h"

#define ESP_SIZE_KIB (256u * 1024u) /* DESIGN.md, Disk layout */
#define BOOT_TRIES   3

static int mtools(SlBuild *b, const char *tool, const char *esp, const char *const *args)
{
	SlArgv a = { 0 };
	int r;

	sl_argv_push(&a, tool);
	sl_argv_push(&a, "-i");
	sl_argv_push(&a, esp);
	for (; *args; args++)
		sl_argv_push(&a, *args);
	r = sl_argv_done(&a);
	if (r >= 0)
		r = sl_build_spawn(b, (const char *const *)a.v, -1);
	sl_argv_free(&a);
	return r;
}

int sl_build_esp(SlBuild *b, const char *uki, const char *esp)
{
	_cleanup_free_ char *loader_conf = sl_build_work_path(b, "loader.conf");
	_cleanup_free_ char *conf = NULL, *entry = NULL;
	uint8_t d[32];
	char volid[9], size[16];
	int r;

	if (!loader_conf)
		return -ENOMEM;
	/* The newest version of this image boots by default (systemd-boot sorts by
	 * IMAGE_VERSION, newest first; the glob tolerates the boot counter). */
	conf = sl_asprintf("# Slate: the newest %s UKI in /EFI/Linux boots; entries with no "
			   "tries left\n# are skipped (boot assessment). No editor: the "
			   "signed command line is final.\n"
			   "default %s_*\n"
			   "timeout 0\n"
			   "editor no\n"
			   "console-mode keep\n",
			   b->c->id, b->c->id);
	entry = sl_asprintf("::/EFI/Linux/%s_%s+%u.efi", b->c->id, b->version, BOOT_TRIES);
	if (!conf || !entry)
		return -ENOMEM;
	r = sl_write_file(loader_conf, conf, strlen(conf), 0644);
	if (r < 0)
		return r;

	sl_build_derive(b, "esp-volume-id", d);
	snprintf(volid, sizeof(volid), "%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
	snprintf(size, sizeof(size), "%u", ESP_SIZE_KIB);
	(void)unlink(esp);
	{
		/* --invariant fixes what mkfs.vfat would take from the clock (the volume
		 * label's timestamp); -i after it sets our derived volume ID. */
		const char *argv[] = { "mkfs.vfat",  "-C",	    "-F", "32",	 "-n",
				       "EFI-SYSTEM", "--invariant", "-i", volid, "-S",
				       "512",	     esp,	    size, NULL };

		r = sl_build_spawn(b, argv, -1);
		if (r < 0)
			return r;
	}
	{
		const char *dirs[] = { "::/EFI",       "::/EFI/BOOT", "::/EFI/systemd",
				       "::/EFI/Linux", "::/loader",   NULL };

		r = mtools(b, "mmd", esp, dirs);
		if (r < 0)
			return r;
	}
	{
		const char *copies[][2] = {
			{ b->systemd_boot, "::/EFI/BOOT/BOOTX64.EFI" },
			{ b->systemd_boot, "::/EFI/systemd/systemd-bootx64.efi" },
			{ loader_conf, "::/loader/loader.conf" },
			{ uki, entry },
		};

		for (size_t i = 0; i < ARRAY_SIZE(copies); i++) {
			const char *args[] = { copies[i][0], copies[i][1], NULL };

			r = mtools(b, "mcopy", esp, args);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
