/* SPDX-License-Identifier: MIT */
#include "slate/error.h"
#include "slate/kcmdline.h"
#include "slate/kmod.h"
#include "test.h"

/* The dm-verity corner of Debian 13's 6.12 cloud kernel modules.dep (verbatim lines). */
static const char debian_dep[] =
	"kernel/fs/overlayfs/overlay.ko.xz:\n"
	"kernel/fs/erofs/erofs.ko.xz: kernel/lib/libcrc32c.ko.xz\n"
	"kernel/drivers/block/virtio_blk.ko.xz:\n"
	"kernel/drivers/md/dm-mod.ko.xz:\n"
	"kernel/drivers/md/dm-bufio.ko.xz: kernel/drivers/md/dm-mod.ko.xz\n"
	"kernel/drivers/md/dm-verity.ko.xz: kernel/drivers/md/dm-bufio.ko.xz "
	"kernel/drivers/md/dm-mod.ko.xz kernel/lib/reed_solomon/reed_solomon.ko.xz\n"
	"kernel/lib/reed_solomon/reed_solomon.ko.xz:\n"
	"kernel/lib/libcrc32c.ko.xz:\n";

static SlKmodDeps *parse(const char *text)
{
	SlKmodDeps *d = NULL;

	ASSERT_OK(sl_kmod_deps_parse(text, strlen(text), &d));
	return d;
}

static void order_names(const SlKmodDeps *d, const char *const *want, size_t n, char *out,
			size_t cap)
{
	_cleanup_free_ size_t *order = NULL;
	size_t idx[16], n_order;

	ASSERT_TRUE(n <= ARRAY_SIZE(idx));
	for (size_t i = 0; i < n; i++) {
		int r = sl_kmod_find(d, want[i]);

		ASSERT_OK(r);
		idx[i] = (size_t)r;
	}
	ASSERT_OK(sl_kmod_load_order(d, idx, n, &order, &n_order));
	out[0] = 0;
	for (size_t i = 0; i < n_order; i++) {
		if (i)
			strncat(out, " ", cap - strlen(out) - 1);
		strncat(out, d->modules[order[i]].name, cap - strlen(out) - 1);
	}
}

TEST(kmod_parse_debian)
{
	_cleanup_(sl_kmod_deps_freep) SlKmodDeps *d = parse(debian_dep);
	int v;

	ASSERT_EQ(d->n_modules, 8);
	v = sl_kmod_find(d, "dm-verity");
	ASSERT_OK(v);
	ASSERT_STREQ(d->modules[v].name, "dm_verity");
	ASSERT_STREQ(d->modules[v].path, "kernel/drivers/md/dm-verity.ko.xz");
	ASSERT_EQ(d->modules[v].n_deps, 3);
	ASSERT_STREQ(d->modules[d->modules[v].deps[2]].name, "reed_solomon");
	ASSERT_EQ(sl_kmod_find(d, "dm_verity"), v);
	ASSERT_ERR(sl_kmod_find(d, "nvme"), -ENOENT);
	ASSERT_ERR(sl_kmod_find(d, "dm"), -ENOENT);
}

TEST(kmod_load_order_deps_first)
{
	_cleanup_(sl_kmod_deps_freep) SlKmodDeps *d = parse(debian_dep);
	char s[256];

	/* What slate-init loads for Slate's /usr, in the order given to it. */
	order_names(d, (const char *const[]){ "virtio_blk", "dm-verity", "erofs", "overlay" }, 4, s,
		    sizeof(s));
	ASSERT_STREQ(s,
		     "virtio_blk reed_solomon dm_mod dm_bufio dm_verity libcrc32c erofs overlay");
	/* Each module once, even when named again or reached twice. */
	order_names(d, (const char *const[]){ "dm_mod", "dm-bufio", "dm-verity", "dm-mod" }, 4, s,
		    sizeof(s));
	ASSERT_STREQ(s, "dm_mod dm_bufio reed_solomon dm_verity");
}

TEST(kmod_cycle_refused)
{
	static const char text[] = "a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\nd.ko:\n";
	_cleanup_(sl_kmod_deps_freep) SlKmodDeps *d = parse(text);
	_cleanup_free_ size_t *order = NULL;
	size_t want = 0, n, want_d = 3;

	ASSERT_ERR(sl_kmod_load_order(d, &want, 1, &order, &n), -ELOOP);
	ASSERT_TRUE(strstr(sl_error_message(-ELOOP), "cycle"));
	ASSERT_OK(sl_kmod_load_order(d, &want_d, 1, &order, &n));
	ASSERT_EQ(n, 1);
}

TEST(kmod_malformed)
{
	static const char *const bad[] = {
		"kernel/a.ko kernel/b.ko\n",	  /* no colon */
		": kernel/b.ko\n",		  /* no path */
		"kernel/a.txt:\n",		  /* not a module */
		"kernel/a.ko: kernel/b.ko\n",	  /* dependency without a line */
		"kernel/a.ko:\nkernel/a.ko:\n",	  /* two lines */
		"kernel/a.ko: kernel/a.ko\n",	  /* depends on itself */
		"kernel/.ko:\n",		  /* empty name */
		"kernel/a.ko:\n\0kernel/b.ko:\n", /* NUL */
	};
	static const size_t lens[] = { 0, 0, 0, 0, 0, 0, 0, 26 };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		SlKmodDeps *d = NULL;
		size_t len = lens[i] ? lens[i] : strlen(bad[i]);

		ASSERT_ERR(sl_kmod_deps_parse(bad[i], len, &d), -EBADMSG);
		ASSERT_TRUE(d == NULL);
	}
}

TEST(kmod_empty_and_blank_lines)
{
	_cleanup_(sl_kmod_deps_freep) SlKmodDeps *d = parse("\n\nkernel/x.ko.zst:\n\n");

	ASSERT_EQ(d->n_modules, 1);
	ASSERT_STREQ(d->modules[0].name, "x");
}

TEST(kmod_builtin)
{
	static const char builtin[] = "kernel/drivers/nvme/host/nvme-core.ko\n"
				      "kernel/drivers/nvme/host/nvme.ko\n"
				      "kernel/fs/ext4/ext4.ko\n";

	ASSERT_TRUE(sl_kmod_builtin(builtin, strlen(builtin), "nvme"));
	ASSERT_TRUE(sl_kmod_builtin(builtin, strlen(builtin), "nvme_core"));
	ASSERT_TRUE(sl_kmod_builtin(builtin, strlen(builtin), "ext4"));
	ASSERT_FALSE(sl_kmod_builtin(builtin, strlen(builtin), "nvm"));
	ASSERT_FALSE(sl_kmod_builtin(builtin, strlen(builtin), "virtio_blk"));
}

TEST(kmod_name_from_path)
{
	char n[64];

	ASSERT_OK(sl_kmod_name_from_path("kernel/drivers/md/dm-verity.ko.xz", n, sizeof(n)));
	ASSERT_STREQ(n, "dm_verity");
	ASSERT_OK(sl_kmod_name_from_path("a-b.ko", n, sizeof(n)));
	ASSERT_STREQ(n, "a_b");
	ASSERT_ERR(sl_kmod_name_from_path("dm-verity.ko.bz2", n, sizeof(n)), -EBADMSG);
	ASSERT_ERR(sl_kmod_name_from_path("x/y/.ko", n, sizeof(n)), -EBADMSG);
	ASSERT_ERR(sl_kmod_name_from_path("abcdef.ko", n, 4), -E2BIG);
}

TEST(kmod_cmdline_params)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

	ASSERT_OK(sl_kmod_cmdline_params("console=ttyS0 dm_verity.require_signatures=1 "
					 "dm-mod.x dm-verity.y=\"a b\" dm_verityx.z=1 .q=1",
					 "dm-verity", &a));
	ASSERT_STREQ(a, "require_signatures=1 y=\"a b\"");
	ASSERT_OK(sl_kmod_cmdline_params("dm_verity.require_signatures=1", "erofs", &b));
	ASSERT_STREQ(b, "");
	/* Words after "--" belong to init, not to modules. */
	ASSERT_OK(sl_kmod_cmdline_params("dm_mod.a=1 -- dm_mod.b=2", "dm_mod", &c));
	ASSERT_STREQ(c, "a=1");
}

static void next_is(const char **p, const char *key, const char *value)
{
	SlKcmdlineParam prm = { 0 };

	ASSERT_EQ(sl_kcmdline_next(p, &prm), 1);
	ASSERT_STREQ(prm.key, key);
	if (value)
		ASSERT_STREQ(prm.value, value);
	else
		ASSERT_TRUE(prm.value == NULL);
	sl_kcmdline_param_done(&prm);
}

TEST(kcmdline_split_like_the_kernel)
{
	/* Cases from kernel/params.c next_arg(): quotes around the word or the value. */
	const char *p = "  BOOT_IMAGE=/vmlinuz usrhash=ab12 quiet \"a=b c\" d=\"e f\" "
			"g=\"h\" \"flag x\" k=v=w\tl= --  init args";
	SlKcmdlineParam prm = { 0 };

	next_is(&p, "BOOT_IMAGE", "/vmlinuz");
	next_is(&p, "usrhash", "ab12");
	next_is(&p, "quiet", NULL);
	next_is(&p, "a", "b c");
	next_is(&p, "d", "e f");
	next_is(&p, "g", "h");
	next_is(&p, "flag x", NULL);
	next_is(&p, "k", "v=w");
	next_is(&p, "l", "");
	ASSERT_EQ(sl_kcmdline_next(&p, &prm), 0);
	ASSERT_STREQ(p, "--  init args");
	p = "";
	ASSERT_EQ(sl_kcmdline_next(&p, &prm), 0);
	p = "\"unterminated x";
	next_is(&p, "unterminated x", NULL);
}
