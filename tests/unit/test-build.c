/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include "../../lib/build/build-internal.h"
#include "slate/build.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/strutil.h"
#include "test.h"

static const SlBuildEmbeddedFile *embedded(const char *path)
{
	for (size_t i = 0; i < sl_build_default_n_files; i++)
		if (streq(sl_build_default_files[i].path, path))
			return &sl_build_default_files[i];
	return NULL;
}

static bool list_has(const SlBuildList *l, const char *item)
{
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->items[i], item))
			return true;
	return false;
}

TEST(default_definition_parses)
{
	const SlBuildEmbeddedFile *f = embedded("slate.conf");
	_cleanup_(sl_build_config_freep) SlBuildConfig *c = NULL;

	ASSERT_TRUE(f);
	ASSERT_OK(sl_build_config_parse((const char *)f->data, f->size, "/img/slate.conf", &c));
	ASSERT_STREQ(c->id, "slate");
	ASSERT_STREQ(c->suite, "trixie");
	ASSERT_STREQ(c->architecture, "amd64");
	ASSERT_STREQ(c->channel, "stable");
	ASSERT_STREQ(c->files, "/img/files");
	ASSERT_TRUE(c->mirror == NULL); /* Debian's default mirror */
	ASSERT_TRUE(c->strip_setuid);
	ASSERT_UEQ(c->disk_size, 3ull << 30);
	ASSERT_TRUE(list_has(&c->lists[SL_BUILD_LIST_PACKAGES], "linux-image-cloud-amd64"));
	ASSERT_TRUE(list_has(&c->lists[SL_BUILD_LIST_PACKAGES], "containerd"));
	ASSERT_TRUE(list_has(&c->lists[SL_BUILD_LIST_PACKAGES], "openssh-server"));
	ASSERT_TRUE(list_has(&c->lists[SL_BUILD_LIST_EXCLUDE], "!/usr/share/doc/*/copyright"));
	ASSERT_TRUE(list_has(&c->lists[SL_BUILD_LIST_MASK], "systemd-firstboot.service"));
	ASSERT_TRUE(list_has(&c->lists[SL_BUILD_LIST_INITRD_MODULES], "dm-verity"));
	/* Every file the definition's files= directory holds is embedded too. */
	ASSERT_TRUE(embedded("files/usr/lib/systemd/network/80-slate-ethernet.network"));
	/* No package manager on the node. */
	ASSERT_FALSE(list_has(&c->lists[SL_BUILD_LIST_PACKAGES], "apt"));
	ASSERT_TRUE(list_has(&c->lists[SL_BUILD_LIST_REMOVE], "/usr/bin/dpkg*"));
}

TEST(minimal_definition_and_defaults)
{
	static const char text[] = "[packages]\nlinux-image-cloud-amd64\nsystemd=257.9-1~deb13u1\n"
				   "[image]\nmirror = http://example.invalid/debian # comment\n"
				   "compression = lzma,109\ncmdline = quiet#not-a-comment\n"
				   "files = /abs/dir\r\n";
	_cleanup_(sl_build_config_freep) SlBuildConfig *c = NULL;

	ASSERT_OK(sl_build_config_parse(text, strlen(text), "x.conf", &c));
	ASSERT_STREQ(c->id, "slate");
	ASSERT_STREQ(c->mirror, "http://example.invalid/debian");
	ASSERT_STREQ(c->compression, "lzma,109");
	ASSERT_STREQ(c->cmdline, "quiet#not-a-comment");
	ASSERT_STREQ(c->files, "/abs/dir");
	ASSERT_EQ(c->lists[SL_BUILD_LIST_PACKAGES].n, 2);
	ASSERT_EQ(c->lists[SL_BUILD_LIST_PACKAGES].lines[1], 3);
	ASSERT_STREQ(c->compression, "lzma,109");
}

/* Each bad definition must fail with the given code and a message naming the line. */
static void expect_bad(const char *text, int code, const char *where, const char *what)
{
	_cleanup_(sl_build_config_freep) SlBuildConfig *c = NULL;
	int r;

	sl_error_clear();
	r = sl_build_config_parse(text, strlen(text), "bad.conf", &c);
	if (r != code)
		sl_test_fail(__FILE__, __LINE__, "'%s': expected %d, got %d (%s)", text, code, r,
			     sl_error_message(r));
	if (!strstr(sl_error_message(r), where) || !strstr(sl_error_message(r), what))
		sl_test_fail(__FILE__, __LINE__, "'%s': message '%s' lacks '%s' or '%s'", text,
			     sl_error_message(r), where, what);
	ASSERT_TRUE(c == NULL);
}

TEST(bad_definitions_are_refused_with_file_and_line)
{
	expect_bad("[packages]\nsystemd\n[bogus]\n", -EBADMSG, "bad.conf:3:", "unknown section");
	expect_bad("[packages]\nsystemd\n[image]\ncolour = red\n", -EBADMSG,
		   "bad.conf:4:", "unknown key 'colour'");
	expect_bad("[image]\nid = a\nid = b\n[packages]\nsystemd\n", -EBADMSG,
		   "bad.conf:3:", "first at line 2");
	expect_bad("[packages]\nsystemd\nkmod\nsystemd=1.0\n", -EBADMSG,
		   "bad.conf:4:", "listed twice");
	expect_bad("[packages]\nSystemd\n", -EBADMSG, "bad.conf:2:", "not a Debian package name");
	expect_bad("[packages]\nx\n", -EBADMSG, "bad.conf:2:", "package name");
	expect_bad("[packages]\nsystemd=latest\n", -EBADMSG, "bad.conf:2:", "not a Debian version");
	expect_bad("[packages]\nsystemd;rm\n", -EBADMSG, "bad.conf:2:", "package name");
	expect_bad("systemd\n", -EBADMSG, "bad.conf:1:", "before the first [section]");
	expect_bad("[packages]\nsystemd\n[packages]\nkmod\n", -EBADMSG,
		   "bad.conf:3:", "appears twice");
	expect_bad("[packages]\nsystemd\n[enable]\nfoo\n", -EBADMSG,
		   "bad.conf:4:", "unit type suffix");
	expect_bad("[packages]\nsystemd\n[mask]\nfoo bar.service\n", -EBADMSG,
		   "bad.conf:4:", "not a systemd unit name");
	expect_bad("[packages]\nsystemd\n[remove]\nusr/bin\n", -EBADMSG,
		   "bad.conf:4:", "not an absolute path");
	expect_bad("[packages]\nsystemd\n[remove]\n/usr/../etc/x\n", -EBADMSG,
		   "bad.conf:4:", "'..'");
	expect_bad("[packages]\nsystemd\n[remove]\n/usr\n", -EBADMSG, "bad.conf:4:", "top-level");
	expect_bad("[packages]\nsystemd\n[remove]\n/usr/\n", -EBADMSG, "bad.conf:4:", "trailing");
	expect_bad("[packages]\nsystemd\n[exclude]\n!usr/share\n", -EBADMSG,
		   "bad.conf:4:", "absolute");
	expect_bad("[packages]\nsystemd\n[initrd-modules]\nvirtio/blk\n", -EBADMSG,
		   "bad.conf:4:", "kernel module name");
	expect_bad("[packages]\nsystemd\n[image]\ncompression = gzip\n", -EBADMSG,
		   "bad.conf:4:", "compression 'gzip'");
	expect_bad("[packages]\nsystemd\n[image]\ncompression = lz4hc,13\n", -ERANGE,
		   "bad.conf:4:", "level");
	expect_bad("[packages]\nsystemd\n[image]\ncompression = lz4,1\n", -EBADMSG,
		   "bad.conf:4:", "takes no level");
	expect_bad("[packages]\nsystemd\n[image]\ndisk-size = 1G\n", -ERANGE,
		   "bad.conf:4:", "disk-size");
	expect_bad("[packages]\nsystemd\n[image]\ndisk-size = lots\n", -EBADMSG,
		   "bad.conf:4:", "not a size");
	expect_bad("[packages]\nsystemd\n[image]\ncmdline = quiet usrhash=00\n", -EBADMSG,
		   "bad.conf:4:", "must not set usrhash=");
	expect_bad("[packages]\nsystemd\n[image]\nname = My \"OS\"\n", -EBADMSG,
		   "bad.conf:4:", "name must not contain");
	expect_bad("[packages]\nsystemd\n[image]\nid = Slate\n", -EBADMSG, "bad.conf:4:", "id");
	expect_bad("[packages]\nsystemd\n[image]\nmirror = ftp://x/\n", -EBADMSG,
		   "bad.conf:4:", "mirror");
	expect_bad("[packages]\nsystemd\n[image]\narchitecture = arm64\n", -EOPNOTSUPP,
		   "bad.conf:4:", "not supported");
	expect_bad("[packages]\nsystemd\n[image]\nchannel = nightly\n", -EBADMSG,
		   "bad.conf:4:", "channel");
	expect_bad("[packages]\nsystemd\n[image]\nstrip-setuid = maybe\n", -EBADMSG,
		   "bad.conf:4:", "yes or no");
	expect_bad("[packages]\nsystemd\n[image]\nid\n", -EBADMSG, "bad.conf:4:", "key = value");
	expect_bad("[packages]\nsys\x01temd\n", -EBADMSG, "bad.conf:2:", "control character");
	expect_bad("[image]\nid = slate\n", -EBADMSG, "bad.conf", "no [packages]");
	expect_bad("[packages\n", -EBADMSG, "bad.conf:1:", "section header");
}

TEST(definition_caps)
{
	_cleanup_free_ char *long_line = malloc(SL_BUILD_CONFIG_MAX_LINE + 64);
	_cleanup_free_ char *many = NULL;
	_cleanup_(sl_build_config_freep) SlBuildConfig *c = NULL;
	static const char with_nul[] = "[packages]\nsystemd\0\n";
	size_t n = 0, cap = 16 * (SL_BUILD_LIST_MAX + 2);

	ASSERT_TRUE(long_line);
	strcpy(long_line, "[packages]\n");
	memset(long_line + 11, 'a', SL_BUILD_CONFIG_MAX_LINE + 1);
	long_line[11 + SL_BUILD_CONFIG_MAX_LINE + 1] = 0;
	expect_bad(long_line, -E2BIG, "bad.conf:2:", "longer than");

	ASSERT_ERR(sl_build_config_parse(with_nul, sizeof(with_nul) - 1, "nul.conf", &c), -EBADMSG);
	ASSERT_TRUE(strstr(sl_error_message(-EBADMSG), "nul.conf:2: NUL byte"));

	many = malloc(cap);
	ASSERT_TRUE(many);
	n += (size_t)snprintf(many + n, cap - n, "[packages]\n");
	for (unsigned i = 0; i <= SL_BUILD_LIST_MAX; i++)
		n += (size_t)snprintf(many + n, cap - n, "p%u\n", i);
	expect_bad(many, -E2BIG, "bad.conf:4098:", "more than 4096");

	ASSERT_ERR(sl_build_config_parse("", SL_BUILD_CONFIG_MAX_BYTES + 1, "big.conf", &c),
		   -E2BIG);
}

TEST(config_load_reports_missing_file)
{
	SlBuildConfig *c = NULL;
	int r = sl_build_config_load("/nonexistent/slate.conf", &c);

	ASSERT_ERR(r, -ENOENT);
	ASSERT_TRUE(strstr(sl_error_message(r), "/nonexistent/slate.conf"));
	ASSERT_TRUE(c == NULL);
}

TEST(default_export_roundtrip)
{
	_cleanup_free_ char *dir = sl_asprintf("%s/def", sl_test_tmpdir());
	_cleanup_free_ char *conf = sl_asprintf("%s/slate.conf", dir);
	_cleanup_free_ char *net = NULL;
	_cleanup_(sl_build_config_freep) SlBuildConfig *c = NULL;
	struct stat st;

	ASSERT_OK(sl_build_default_export(dir));
	ASSERT_OK(sl_build_config_load(conf, &c));
	net = sl_asprintf("%s/usr/lib/systemd/network/80-slate-ethernet.network", c->files);
	ASSERT_EQ(stat(net, &st), 0);
	ASSERT_UEQ(st.st_mode & 07777, 0644);
}

TEST(versions)
{
	char v[SL_BUILD_VERSION_MAX];
	time_t t;

	ASSERT_OK(sl_build_version_parse("202611.29.0", &t));
	ASSERT_EQ(t, 1795910400);				 /* 2026-11-29T00:00:00Z */
	ASSERT_OK(sl_build_version_parse("202402.29.17", NULL)); /* leap day */
	ASSERT_OK(sl_build_version_parse("200001.01.4294967295", NULL));
	ASSERT_ERR(sl_build_version_parse("202302.29.0", NULL), -EBADMSG);
	ASSERT_ERR(sl_build_version_parse("202613.01.0", NULL), -EBADMSG);
	ASSERT_ERR(sl_build_version_parse("202611.00.0", NULL), -EBADMSG);
	ASSERT_ERR(sl_build_version_parse("199912.31.0", NULL), -EBADMSG);
	ASSERT_ERR(sl_build_version_parse("202611.29.01", NULL), -EBADMSG);
	ASSERT_ERR(sl_build_version_parse("202611.29.", NULL), -EBADMSG);
	ASSERT_ERR(sl_build_version_parse("202611.29.x", NULL), -EBADMSG);
	ASSERT_ERR(sl_build_version_parse("2026-11-29", NULL), -EBADMSG);
	ASSERT_ERR(sl_build_version_parse("202611.29.4294967296", NULL), -ERANGE);
	ASSERT_ERR(sl_build_version_parse("", NULL), -EBADMSG);
	ASSERT_OK(sl_build_version_from_time(1795910400 + 86399, 0, v));
	ASSERT_STREQ(v, "202611.29.0");
	ASSERT_OK(sl_build_version_from_time(1795910400, 7, v));
	ASSERT_STREQ(v, "202611.29.7");
	ASSERT_TRUE(sl_build_channel_valid("beta"));
	ASSERT_FALSE(sl_build_channel_valid("Beta"));
	ASSERT_FALSE(sl_build_channel_valid(NULL));
}

TEST(package_list_parse)
{
	static const char text[] =
		"systemd\t257.9-1\tamd64\tsystemd\t257.9-1\tDebian systemd <x@y>\tii \n"
		"libc6\t2.41-12\tamd64\tglibc\t2.41-12\tGNU Libc <a@b>\tii \n"
		"gone\t1.0\tamd64\tgone\t1.0\tX\trc \n"
		"\n"
		"bsdutils\t1:2.41-5\tamd64\tutil-linux\t2.41-5\tLaMont <c@d>\tii \n";
	SlPackageList l = { 0 };

	ASSERT_OK(sl_packages_parse(text, strlen(text), &l));
	ASSERT_EQ(l.n, 3);
	ASSERT_STREQ(l.items[0].name, "bsdutils");
	ASSERT_STREQ(l.items[0].version, "1:2.41-5");
	ASSERT_STREQ(l.items[0].source, "util-linux");
	ASSERT_STREQ(l.items[1].name, "libc6");
	ASSERT_STREQ(l.items[1].source, "glibc");
	ASSERT_STREQ(l.items[2].name, "systemd");
	sl_package_list_free(&l);

	ASSERT_ERR(sl_packages_parse("a\tb\n", 4, &l), -EBADMSG);
	ASSERT_ERR(sl_packages_parse("a\t1\tall\ta\t1\tm\tii\textra\n", 22, &l), -EBADMSG);
	ASSERT_ERR(sl_packages_parse("a\t1\tall\ta\t1\tm\tii\na\t1\tall\ta\t1\tm\tii\n", 34, &l),
		   -EBADMSG);
	ASSERT_ERR(sl_packages_parse("a\t1\t\ta\t1\tm\tii\n", 14, &l), -EBADMSG);
}

TEST(shell_quote)
{
	_cleanup_free_ char *a = sl_shell_quote("plain");
	_cleanup_free_ char *b = sl_shell_quote("it's $x");

	ASSERT_STREQ(a, "'plain'");
	ASSERT_STREQ(b, "'it'\\''s $x'");
}

/* The data regions of a sparse file, up to size, land at offset + their offset. */
TEST(copy_data_at_offset)
{
	_cleanup_free_ char *src = sl_asprintf("%s/sparse", sl_test_tmpdir());
	_cleanup_free_ char *dst = sl_asprintf("%s/disk", sl_test_tmpdir());
	_cleanup_close_ int in = -1, out = -1;
	uint8_t got[16384] = { 0 }, want[16384] = { 0 };

	in = open(src, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	out = open(dst, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(in >= 0 && out >= 0);
	ASSERT_OK(sl_pwrite_all(in, "ab", 2, 0));
	ASSERT_OK(sl_pwrite_all(in, "xy", 2, 8192));
	ASSERT_EQ(ftruncate(in, 12288), 0);
	ASSERT_EQ(ftruncate(out, sizeof(got)), 0);
	/* Only the first 8193 bytes: "ab", the hole, "x". */
	ASSERT_OK(sl_copy_data(in, src, 8193, out, 512, dst));
	ASSERT_OK(sl_pread_all(out, got, sizeof(got), 0));
	memcpy(want + 512, "ab", 2);
	want[512 + 8192] = 'x';
	ASSERT_MEMEQ(got, want, sizeof(got));
}

TEST(files_helpers)
{
	_cleanup_free_ char *d = sl_asprintf("%s/a/b/c", sl_test_tmpdir());
	_cleanup_free_ char *f = sl_asprintf("%s/file", d);
	_cleanup_free_ char *g = sl_asprintf("%s/copy", d);
	_cleanup_free_ char *top = sl_asprintf("%s/a", sl_test_tmpdir());
	uint8_t digest[32];
	uint64_t size;
	struct stat st;
	/* SHA-256("abc") */
	static const uint8_t abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
					 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
					 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
					 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };

	ASSERT_OK(sl_mkdir_p(d, 0755));
	ASSERT_OK(sl_mkdir_p(d, 0755));
	ASSERT_OK(sl_write_file(f, "abc", 3, 0600));
	ASSERT_OK(sl_copy_file(f, g, 0644));
	ASSERT_OK(sl_sha256_file(g, digest, &size));
	ASSERT_EQ(size, 3);
	ASSERT_MEMEQ(digest, abc, 32);
	ASSERT_EQ(stat(g, &st), 0);
	ASSERT_UEQ(st.st_mode & 07777, 0644);
	{
		_cleanup_free_ char *link = sl_asprintf("%s/escape", d);

		/* rm -rf must remove the link, not what it points to. */
		ASSERT_EQ(symlink(sl_test_tmpdir(), link), 0);
	}
	ASSERT_OK(sl_rm_rf(top));
	ASSERT_TRUE(stat(top, &st) < 0 && errno == ENOENT);
	ASSERT_EQ(stat(sl_test_tmpdir(), &st), 0);
	ASSERT_OK(sl_rm_rf(top)); /* already gone: fine */
}

TEST(sbom_spdx)
{
	static const char text[] =
		"libstdc++6\t14.2.0-19\tamd64\tgcc-14\t14.2.0-19\tDebian GCC <gcc@x.org>\tii \n"
		"bsdutils\t1:2.41-5\tamd64\tutil-linux\t2.41-5\tLaMont Jones\tii \n";
	SlPackageList l = { 0 };
	SlBuildSbomFile files[] = { { .name = "usr.erofs", .sha256 = { 0x01, 0x02 } } };
	SlBuildSbom s = {
		.id = "slate",
		.name = "Slate Container Linux",
		.version = "202611.29.0",
		.distro = "debian-trixie",
		.namespace_uuid = "12345678-9abc-4ef0-9234-56789abcdef0",
		.created = 1795910400,
		.packages = &l,
		.files = files,
		.n_files = 1,
	};
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	ASSERT_OK(sl_packages_parse(text, strlen(text), &l));
	l.items[1].deb_sha256 = sl_strdup("00ff");
	f = open_memstream(&out, &len);
	ASSERT_OK(sl_build_sbom_write(f, &s));
	fclose(f);
	ASSERT_TRUE(strstr(out, "\"spdxVersion\": \"SPDX-2.3\""));
	ASSERT_TRUE(strstr(out, "\"documentNamespace\": \"urn:uuid:12345678-9abc-4ef0-9234-"));
	ASSERT_TRUE(strstr(out, "\"created\": \"2026-11-29T00:00:00Z\""));
	/* SPDX identifiers allow only letters, digits, '.' and '-'. */
	ASSERT_TRUE(strstr(out, "\"SPDXID\": \"SPDXRef-Package-1-libstdc--6\""));
	ASSERT_TRUE(strstr(out, "\"versionInfo\": \"1:2.41-5\""));
	ASSERT_TRUE(strstr(out, "\"sourceInfo\": \"built package from: util-linux 2.41-5\""));
	ASSERT_TRUE(strstr(out, "\"supplier\": \"Organization: Debian GCC (gcc@x.org)\""));
	ASSERT_TRUE(strstr(out, "\"supplier\": \"Organization: LaMont Jones\""));
	ASSERT_TRUE(strstr(out, "pkg:deb/debian/bsdutils@1%3A2.41-5?arch=amd64&distro=debian-trixie"
				"&upstream=util-linux%402.41-5"));
	ASSERT_TRUE(strstr(out, "pkg:deb/debian/libstdc%2B%2B6@14.2.0-19?arch=amd64"));
	ASSERT_TRUE(strstr(out, "\"checksumValue\": \"00ff\""));
	ASSERT_TRUE(strstr(out, "\"fileName\": \"./usr.erofs\""));
	ASSERT_TRUE(strstr(out, "\"checksumValue\": \"0102000000"));
	ASSERT_TRUE(strstr(out, "\"relationshipType\": \"CONTAINS\""));
	free(out);
	sl_package_list_free(&l);
}

TEST(sha256_of_sparse_files)
{
	_cleanup_free_ char *path = sl_asprintf("%s/sparse", sl_test_tmpdir());
	_cleanup_free_ uint8_t *whole = calloc(1, 5u << 20);
	uint8_t got[32], want[32];
	unsigned len = 32;
	uint64_t size;
	int fd;

	ASSERT_TRUE(whole);
	/* hole, data across a 1 MiB boundary, hole, data at the very end */
	memset(whole + 1048570, 0xab, 20);
	memcpy(whole + (5u << 20) - 3, "end", 3);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(ftruncate(fd, 5u << 20), 0);
	ASSERT_OK(sl_pwrite_all(fd, whole + 1048570, 20, 1048570));
	ASSERT_OK(sl_pwrite_all(fd, "end", 3, (5u << 20) - 3));
	close(fd);
	ASSERT_OK(sl_sha256_file(path, got, &size));
	ASSERT_UEQ(size, 5u << 20);
	ASSERT_EQ(EVP_Digest(whole, 5u << 20, want, &len, EVP_sha256(), NULL), 1);
	ASSERT_MEMEQ(got, want, 32);
	/* all hole */
	fd = open(path, O_RDWR | O_TRUNC | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(ftruncate(fd, 3u << 20), 0);
	close(fd);
	ASSERT_OK(sl_sha256_file(path, got, NULL));
	memset(whole, 0, 3u << 20);
	ASSERT_EQ(EVP_Digest(whole, 3u << 20, want, &len, EVP_sha256(), NULL), 1);
	ASSERT_MEMEQ(got, want, 32);
}

/* Every file under image/ must be compiled in (lib/build/meson.build lists them). */
static size_t count_tree(const char *dir, const char *rel)
{
	_cleanup_free_ char *path = sl_asprintf("%s/%s", dir, rel);
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	ASSERT_TRUE(d);
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		sub = sl_asprintf("%s%s%s", rel, *rel ? "/" : "", de->d_name);
		{
			_cleanup_free_ char *full = sl_asprintf("%s/%s", dir, sub);

			ASSERT_EQ(lstat(full, &st), 0);
		}
		if (S_ISDIR(st.st_mode)) {
			n += count_tree(dir, sub);
		} else {
			if (!embedded(sub))
				sl_test_fail(__FILE__, __LINE__,
					     "image/%s is not embedded: list it in "
					     "lib/build/meson.build",
					     sub);
			n++;
		}
	}
	closedir(d);
	return n;
}

TEST(every_image_file_is_embedded)
{
	_cleanup_free_ char *dir = sl_asprintf("%s/image", sl_test_srcdir());

	ASSERT_EQ(count_tree(dir, ""), sl_build_default_n_files);
}
