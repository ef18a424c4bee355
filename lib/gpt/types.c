/* SPDX-License-Identifier: MIT */
/*
 * The Discoverable Partitions type UUIDs Slate knows (uapi-group "Discoverable
 * Partitions Specification", SPEC.md §4.3), named as systemd-repart names them.
 */
#include "slate/error.h"
#include "slate/gpt.h"

/* A UUID in text order from its five text fields. */
#define U(a, b, c, d, e)                                                                       \
	{                                                                                      \
		{                                                                              \
			(a) >> 24 & 0xff, (a) >> 16 & 0xff, (a) >> 8 & 0xff, (a)&0xff,         \
				(b) >> 8 & 0xff, (b)&0xff, (c) >> 8 & 0xff, (c)&0xff,          \
				(d) >> 8 & 0xff, (d)&0xff, (e) >> 40 & 0xff, (e) >> 32 & 0xff, \
				(e) >> 24 & 0xff, (e) >> 16 & 0xff, (e) >> 8 & 0xff, (e)&0xff  \
		}                                                                              \
	}

#define X86 SL_GPT_ARCH_X86_64
#define ARM SL_GPT_ARCH_ARM64
#define ANY SL_GPT_ARCH_ANY

static const SlGptType types[] = {
	{ "esp", "EFI System", SL_GPT_ROLE_ESP, ANY,
	  U(0xc12a7328, 0xf81f, 0x11d2, 0xba4b, 0x00a0c93ec93bULL) },
	{ "xbootldr", "Extended Boot Loader", SL_GPT_ROLE_XBOOTLDR, ANY,
	  U(0xbc13c2ff, 0x59e6, 0x4262, 0xa352, 0xb275fd6f7172ULL) },
	{ "root-x86-64", "Linux root (x86-64)", SL_GPT_ROLE_ROOT, X86,
	  U(0x4f68bce3, 0xe8cd, 0x4db1, 0x96e7, 0xfbcaf984b709ULL) },
	{ "root-x86-64-verity", "Linux root verity (x86-64)", SL_GPT_ROLE_ROOT_VERITY, X86,
	  U(0x2c7357ed, 0xebd2, 0x46d9, 0xaec1, 0x23d437ec2bf5ULL) },
	{ "root-x86-64-verity-sig", "Linux root verity signature (x86-64)",
	  SL_GPT_ROLE_ROOT_VERITY_SIG, X86,
	  U(0x41092b05, 0x9fc8, 0x4523, 0x994f, 0x2def0408b176ULL) },
	{ "usr-x86-64", "Linux /usr (x86-64)", SL_GPT_ROLE_USR, X86,
	  U(0x8484680c, 0x9521, 0x48c6, 0x9c11, 0xb0720656f69eULL) },
	{ "usr-x86-64-verity", "Linux /usr verity (x86-64)", SL_GPT_ROLE_USR_VERITY, X86,
	  U(0x77ff5f63, 0xe7b6, 0x4633, 0xacf4, 0x1565b864c0e6ULL) },
	{ "usr-x86-64-verity-sig", "Linux /usr verity signature (x86-64)",
	  SL_GPT_ROLE_USR_VERITY_SIG, X86,
	  U(0xe7bb33fb, 0x06cf, 0x4e81, 0x8273, 0xe543b413e2e2ULL) },
	{ "root-arm64", "Linux root (arm64)", SL_GPT_ROLE_ROOT, ARM,
	  U(0xb921b045, 0x1df0, 0x41c3, 0xaf44, 0x4c6f280d3faeULL) },
	{ "root-arm64-verity", "Linux root verity (arm64)", SL_GPT_ROLE_ROOT_VERITY, ARM,
	  U(0xdf3300ce, 0xd69f, 0x4c92, 0x978c, 0x9bfb0f38d820ULL) },
	{ "root-arm64-verity-sig", "Linux root verity signature (arm64)",
	  SL_GPT_ROLE_ROOT_VERITY_SIG, ARM,
	  U(0x6db69de6, 0x29f4, 0x4758, 0xa7a5, 0x962190f00ce3ULL) },
	{ "usr-arm64", "Linux /usr (arm64)", SL_GPT_ROLE_USR, ARM,
	  U(0xb0e01050, 0xee5f, 0x4390, 0x949a, 0x9101b17104e9ULL) },
	{ "usr-arm64-verity", "Linux /usr verity (arm64)", SL_GPT_ROLE_USR_VERITY, ARM,
	  U(0x6e11a4e7, 0xfbca, 0x4ded, 0xb9e9, 0xe1a512bb664eULL) },
	{ "usr-arm64-verity-sig", "Linux /usr verity signature (arm64)", SL_GPT_ROLE_USR_VERITY_SIG,
	  ARM, U(0xc23ce4ff, 0x44bd, 0x4b00, 0xb2d4, 0xb41b3419e02aULL) },
	{ "swap", "Linux swap", SL_GPT_ROLE_SWAP, ANY,
	  U(0x0657fd6d, 0xa4ab, 0x43c4, 0x84e5, 0x0933c84b4f4fULL) },
	{ "home", "Linux /home", SL_GPT_ROLE_HOME, ANY,
	  U(0x933ac7e1, 0x2eb4, 0x4f13, 0xb844, 0x0e14e2aef915ULL) },
	{ "srv", "Linux /srv", SL_GPT_ROLE_SRV, ANY,
	  U(0x3b8f8425, 0x20e0, 0x4f3b, 0x907f, 0x1a25a76f98e8ULL) },
	{ "var", "Linux /var", SL_GPT_ROLE_VAR, ANY,
	  U(0x4d21b016, 0xb534, 0x45c2, 0xa9fb, 0x5c16e091fd2dULL) },
	{ "tmp", "Linux /var/tmp", SL_GPT_ROLE_TMP, ANY,
	  U(0x7ec6f557, 0x3bc5, 0x4aca, 0xb293, 0x16ef5df639d1ULL) },
	{ "user-home", "Linux per-user home", SL_GPT_ROLE_USER_HOME, ANY,
	  U(0x773f91ef, 0x66d4, 0x49b5, 0xbd83, 0xd683bf40ad16ULL) },
	{ "linux-generic", "Linux data", SL_GPT_ROLE_LINUX_GENERIC, ANY,
	  U(0x0fc63daf, 0x8483, 0x4772, 0x8e79, 0x3d69d8477de4ULL) },
	/* Not DPS, but common on disks slate inspects: named for readability only. */
	{ "bios-boot", "BIOS boot", SL_GPT_ROLE_OTHER, ANY,
	  U(0x21686148, 0x6449, 0x6e6f, 0x744e, 0x656564454649ULL) },
	{ "microsoft-basic-data", "Microsoft basic data", SL_GPT_ROLE_OTHER, ANY,
	  U(0xebd0a0a2, 0xb9e5, 0x4433, 0x87c0, 0x68b6b72699c7ULL) },
	{ "linux-lvm", "Linux LVM", SL_GPT_ROLE_OTHER, ANY,
	  U(0xe6d6d379, 0xf507, 0x44c2, 0xa23c, 0x238f2a3df928ULL) },
	{ "linux-raid", "Linux RAID", SL_GPT_ROLE_OTHER, ANY,
	  U(0xa19d880f, 0x05fc, 0x4d3b, 0xa006, 0x743f0f84911eULL) },
	{ "coreos-usr", "CoreOS /usr", SL_GPT_ROLE_OTHER, ANY,
	  U(0x5dfbf5f4, 0x2848, 0x4bac, 0xaa5e, 0x0d9a20b745a6ULL) },
};

/* Role names without architecture, for sl_gpt_type_from_name("usr", arch). */
static const struct {
	const char *name;
	SlGptRole role;
} role_names[] = {
	{ "root", SL_GPT_ROLE_ROOT },
	{ "root-verity", SL_GPT_ROLE_ROOT_VERITY },
	{ "root-verity-sig", SL_GPT_ROLE_ROOT_VERITY_SIG },
	{ "usr", SL_GPT_ROLE_USR },
	{ "usr-verity", SL_GPT_ROLE_USR_VERITY },
	{ "usr-verity-sig", SL_GPT_ROLE_USR_VERITY_SIG },
};

const SlGptType *sl_gpt_types(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(types);
	return types;
}

const SlGptType *sl_gpt_type_from_role(SlGptRole role, SlGptArch arch)
{
	if (role == SL_GPT_ROLE_OTHER)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (types[i].role == role &&
		    (types[i].arch == SL_GPT_ARCH_ANY || types[i].arch == arch))
			return &types[i];
	return NULL;
}

const SlGptType *sl_gpt_type_from_name(const char *name, SlGptArch arch)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (streq(types[i].name, name))
			return &types[i];
	for (size_t i = 0; i < ARRAY_SIZE(role_names); i++)
		if (streq(role_names[i].name, name))
			return sl_gpt_type_from_role(role_names[i].role, arch);
	return NULL;
}

const SlGptType *sl_gpt_type_from_uuid(const SlUuid *uuid)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (sl_uuid_equal(&types[i].uuid, uuid))
			return &types[i];
	return NULL;
}

const char *sl_gpt_arch_name(SlGptArch arch)
{
	switch (arch) {
	case SL_GPT_ARCH_X86_64:
		return "x86-64";
	case SL_GPT_ARCH_ARM64:
		return "arm64";
	case SL_GPT_ARCH_ANY:
		break;
	}
	return "any";
}

int sl_gpt_arch_from_name(const char *s, SlGptArch *ret)
{
	if (streq(s, "x86-64") || streq(s, "x86_64") || streq(s, "amd64")) {
		*ret = SL_GPT_ARCH_X86_64;
		return 0;
	}
	if (streq(s, "arm64") || streq(s, "aarch64")) {
		*ret = SL_GPT_ARCH_ARM64;
		return 0;
	}
	return sl_errorf(-EINVAL, "unknown architecture '%s' (use x86-64 or arm64)", s);
}
