/* SPDX-License-Identifier: MIT */
/*
 * The kernel command line as slate-init reads it. The words it owns are usrhash=,
 * root=, rootfstype=, rootflags= and slate.*; everything else belongs to the kernel
 * or to systemd and is left alone. A word of ours that does not parse is an error
 * naming it: a typo in a boot option must not silently boot something else.
 */
#include <strings.h>

#include "init.h"
#include "slate/error.h"
#include "slate/hex.h"
#include "slate/kcmdline.h"
#include "slate/strutil.h"

void init_config_defaults(InitConfig *cfg)
{
	*cfg = (InitConfig){
		.root_kind = INIT_ROOT_AUTO,
		.rootfstype = "ext4",
		.emergency = INIT_EMERGENCY_REBOOT,
		.emergency_delay_s = INIT_DEFAULT_EMERGENCY_DELAY_S,
		.timeout_s = INIT_DEFAULT_TIMEOUT_S,
		.corruption = SL_VERITY_CORRUPTION_RESTART,
		.grow = true,
	};
}

static int parse_usrhash(const char *v, InitConfig *cfg)
{
	size_t n, len = strlen(v);

	/* sha256 or sha512 root hash: the PARTUUIDs take 16 bytes from each end. */
	if (len != 64 && len != 128)
		return sl_errorf(-EBADMSG,
				 "usrhash=: '%.140s' has %zu hex digits, not 64 (sha256) or 128 "
				 "(sha512)",
				 v, len);
	if (sl_hex_decode(v, cfg->usrhash, sizeof(cfg->usrhash), &n) < 0)
		return sl_errorf(-EBADMSG, "usrhash=: '%.140s' is not hexadecimal", v);
	cfg->usrhash_size = n;
	cfg->have_usrhash = true;
	return 0;
}

static int parse_root(const char *v, InitConfig *cfg)
{
	const char *s;

	if ((s = startswith(v, "PARTUUID=")) || (s = startswith(v, "/dev/disk/by-partuuid/"))) {
		if (sl_uuid_parse(s, &cfg->root_partuuid) < 0)
			return sl_errorf(-EBADMSG, "root=: '%s' is not a UUID", s);
		cfg->root_kind = INIT_ROOT_PARTUUID;
		return 0;
	}
	if ((s = startswith(v, "PARTLABEL=")) || (s = startswith(v, "/dev/disk/by-partlabel/"))) {
		if (!*s || strlen(s) >= sizeof(cfg->root_name))
			return sl_errorf(-EBADMSG,
					 "root=: partition label '%s' is empty or too long", s);
		strcpy(cfg->root_name, s);
		cfg->root_kind = INIT_ROOT_PARTLABEL;
		return 0;
	}
	if ((s = startswith(v, "/dev/"))) {
		if (!*s || strchr(s, '/') || strlen(s) >= 32)
			return sl_errorf(-EBADMSG,
					 "root=: '%s' is not a kernel device name like /dev/vda6",
					 v);
		strcpy(cfg->root_name, s);
		cfg->root_kind = INIT_ROOT_DEVICE;
		return 0;
	}
	return sl_errorf(
		-EBADMSG,
		"root=: '%.100s' is not understood (use PARTUUID=, PARTLABEL= or /dev/NAME; "
		"UUID= and LABEL= need a file-system scan slate-init does not do)",
		v);
}

static int parse_seconds(const char *key, const char *v, unsigned min, unsigned *ret)
{
	uint64_t n;

	if (sl_parse_u64(v, INIT_MAX_SECONDS, &n) < 0 || n < min)
		return sl_errorf(-EBADMSG, "%s=: '%s' is not a number of seconds (%u to %u)", key,
				 v, min, INIT_MAX_SECONDS);
	*ret = (unsigned)n;
	return 0;
}

static int parse_bool(const char *key, const char *v, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	/* A bare word ("slate.grow") means yes, as for the kernel's boolean options. */
	if (!v) {
		*ret = true;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return sl_errorf(-EBADMSG, "%s=: '%s' is not yes or no", key, v);
}

static int parse_string(const char *key, const char *v, char *out, size_t cap)
{
	if (!v || !*v || strlen(v) >= cap)
		return sl_errorf(-EBADMSG, "%s=: the value is missing or longer than %zu bytes",
				 key, cap - 1);
	strcpy(out, v);
	return 0;
}

/* One slate.* option. */
static int parse_slate(const char *key, const char *v, InitConfig *cfg)
{
	const char *opt = key + strlen("slate.");

	if (streq(opt, "grow"))
		return parse_bool(key, v, &cfg->grow);
	if (!v)
		return sl_errorf(-EBADMSG, "%s: needs a value (%s=...)", key, key);
	if (streq(opt, "emergency")) {
		if (streq(v, "reboot"))
			cfg->emergency = INIT_EMERGENCY_REBOOT;
		else if (streq(v, "halt") || streq(v, "poweroff"))
			cfg->emergency = INIT_EMERGENCY_HALT;
		else
			return sl_errorf(-EBADMSG, "%s=: '%s' is not reboot or halt", key, v);
		return 0;
	}
	if (streq(opt, "emergency_delay"))
		return parse_seconds(key, v, 0, &cfg->emergency_delay_s);
	if (streq(opt, "timeout"))
		return parse_seconds(key, v, 1, &cfg->timeout_s);
	if (streq(opt, "corruption")) {
		if (streq(v, "restart"))
			cfg->corruption = SL_VERITY_CORRUPTION_RESTART;
		else if (streq(v, "panic"))
			cfg->corruption = SL_VERITY_CORRUPTION_PANIC;
		else if (streq(v, "eio"))
			cfg->corruption = SL_VERITY_CORRUPTION_EIO;
		else
			return sl_errorf(-EBADMSG, "%s=: '%s' is not restart, panic or eio", key,
					 v);
		return 0;
	}
	return sl_errorf(-EBADMSG,
			 "%s: unknown option (slate-init knows slate.emergency, "
			 "slate.emergency_delay, slate.timeout, slate.corruption, slate.grow)",
			 key);
}

static int parse_one(const char *key, const char *v, InitConfig *cfg)
{
	if (startswith(key, "slate."))
		return parse_slate(key, v, cfg);
	if (streq(key, "usrhash")) {
		if (!v)
			return sl_errorf(-EBADMSG, "usrhash: needs a value (usrhash=<root hash>)");
		return parse_usrhash(v, cfg);
	}
	if (streq(key, "root")) {
		if (!v || !*v)
			return sl_errorf(-EBADMSG, "root=: needs a value");
		return parse_root(v, cfg);
	}
	if (streq(key, "rootfstype"))
		return parse_string(key, v, cfg->rootfstype, sizeof(cfg->rootfstype));
	if (streq(key, "rootflags"))
		return parse_string(key, v, cfg->rootflags, sizeof(cfg->rootflags));
	return 0;
}

int init_cmdline_parse(const char *cmdline, InitConfig *cfg)
{
	char first_msg[512] = "";
	const char *p = cmdline;
	int first = 0, r;

	init_config_defaults(cfg);
	/* Go on after an error so that every option that parses (above all
	 * slate.emergency=) still applies; report the first error. */
	for (;;) {
		SlKcmdlineParam prm = { 0 };
		InitConfig next = *cfg;

		r = sl_kcmdline_next(&p, &prm);
		if (r <= 0)
			break;
		r = parse_one(prm.key, prm.value, &next);
		if (r == 0) {
			*cfg = next;
		} else if (first == 0) {
			first = r;
			snprintf(first_msg, sizeof(first_msg), "%s", sl_error_message(r));
		}
		sl_kcmdline_param_done(&prm);
	}
	if (r < 0)
		return r;
	if (first < 0)
		return sl_errorf(first, "%s", first_msg);
	return 0;
}

void init_config_describe(const InitConfig *cfg, char *out, size_t len)
{
	char hash[2 * SL_VERITY_DIGEST_MAX + 1] = "(none)", root[160];

	if (cfg->have_usrhash)
		sl_hex_encode(cfg->usrhash, cfg->usrhash_size, hash);
	switch (cfg->root_kind) {
	case INIT_ROOT_PARTUUID: {
		char u[SL_UUID_STRING_MAX];

		snprintf(root, sizeof(root), "PARTUUID=%s", sl_uuid_format(&cfg->root_partuuid, u));
		break;
	}
	case INIT_ROOT_PARTLABEL:
		snprintf(root, sizeof(root), "PARTLABEL=%s", cfg->root_name);
		break;
	case INIT_ROOT_DEVICE:
		snprintf(root, sizeof(root), "/dev/%s", cfg->root_name);
		break;
	case INIT_ROOT_AUTO:
	default:
		snprintf(root, sizeof(root), "the DPS root partition");
		break;
	}
	snprintf(out, len,
		 "usrhash=%s root=%s rootfstype=%s emergency=%s (delay %us) timeout=%us "
		 "corruption=%s grow=%s",
		 hash, root, cfg->rootfstype,
		 cfg->emergency == INIT_EMERGENCY_HALT ? "halt" : "reboot", cfg->emergency_delay_s,
		 cfg->timeout_s,
		 cfg->corruption == SL_VERITY_CORRUPTION_PANIC ? "panic"
		 : cfg->corruption == SL_VERITY_CORRUPTION_EIO ? "eio"
							       : "restart",
		 cfg->grow ? "yes" : "no");
}
