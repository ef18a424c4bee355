/* SPDX-License-Identifier: MIT */
/*
 * The image definition format (README, "slate build"):
 *
 *   # comment (a '#' at the start of a line or after white space)
 *   [image]
 *   key = value
 *   [packages]
 *   one item per line
 *
 * A definition is untrusted input: it is decoded once, line by line, every value is
 * checked against a small grammar, and every problem is reported as FILE:LINE.
 */
#include <ctype.h>
#include <libgen.h>

#include "slate/build.h"
#include "slate/error.h"
#include "slate/fileio.h"
#include "slate/strutil.h"

#define DEFAULT_DISK_SIZE (3ull << 30)
/* ESP 256 MiB + two /usr slots of 1 GiB + 64 MiB + at least 256 MiB for ROOT,
 * plus GPT overhead (DESIGN.md, Disk layout). */
#define MIN_DISK_SIZE ((256ull << 20) + 2 * ((1ull << 30) + (64ull << 20)) + (256ull << 20))
#define MAX_DISK_SIZE (16ull << 40)

static const char *const list_names[_SL_BUILD_LIST_MAX] = {
	[SL_BUILD_LIST_PACKAGES] = "packages", [SL_BUILD_LIST_EXCLUDE] = "exclude",
	[SL_BUILD_LIST_REMOVE] = "remove",     [SL_BUILD_LIST_ENABLE] = "enable",
	[SL_BUILD_LIST_MASK] = "mask",	       [SL_BUILD_LIST_INITRD_MODULES] = "initrd-modules",
};

const char *sl_build_list_name(SlBuildListKind k)
{
	return k < _SL_BUILD_LIST_MAX ? list_names[k] : NULL;
}

static void list_free(SlBuildList *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	free(l->lines);
	*l = (SlBuildList){ 0 };
}

void sl_build_config_free(SlBuildConfig *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->id);
	free(c->name);
	free(c->suite);
	free(c->architecture);
	free(c->mirror);
	free(c->compression);
	free(c->cmdline);
	free(c->channel);
	free(c->files);
	for (size_t k = 0; k < _SL_BUILD_LIST_MAX; k++)
		list_free(&c->lists[k]);
	free(c);
}

/* ---- value grammars -------------------------------------------------------------- */

static bool all_chars(const char *s, const char *extra, bool alnum_upper)
{
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			continue;
		if (alnum_upper && ch >= 'A' && ch <= 'Z')
			continue;
		if (!strchr(extra, ch))
			return false;
	}
	return true;
}

/* Debian Policy §5.6.1: [a-z0-9][a-z0-9+.-]+ (at least two characters). */
static bool valid_package_name(const char *s, size_t len)
{
	if (len < 2 || len > 128)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
		      ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

/* Debian Policy §5.6.12: [epoch:]upstream[-revision], characters A-Za-z0-9.+~:- */
static bool valid_package_version(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= 128 && isdigit((unsigned char)s[0]) && all_chars(s, ".+~:-", true);
}

static int check_package(const char *item)
{
	const char *eq = strchr(item, '=');
	size_t n = eq ? (size_t)(eq - item) : strlen(item);

	if (!valid_package_name(item, n))
		return sl_errorf(-EBADMSG,
				 "'%.*s' is not a Debian package name (lowercase letters, digits, "
				 "'+', '.', '-'; at least two characters)",
				 (int)MIN(n, 200), item);
	if (eq && !valid_package_version(eq + 1))
		return sl_errorf(-EBADMSG, "'%s' is not a Debian version", eq + 1);
	return 0;
}

/* An absolute path or glob: printable ASCII without white space or backslashes,
 * no empty, "." or ".." components. */
static int check_path_glob(const char *s)
{
	const char *p = s;

	if (s[0] != '/')
		return sl_errorf(-EBADMSG, "'%s' is not an absolute path", s);
	if (strlen(s) > 1024)
		return sl_errorf(-E2BIG, "path is longer than 1024 characters");
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f || *q == '\\')
			return sl_errorf(-EBADMSG,
					 "'%s' contains white space, a backslash or a non-ASCII "
					 "character",
					 s);
	while (*p == '/') {
		size_t n;

		p++;
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return sl_errorf(-EBADMSG,
					 "'%s' has an empty, '.' or '..' component (or a trailing "
					 "'/')",
					 s);
		p += n;
	}
	return 0;
}

static int check_exclude(const char *item)
{
	return check_path_glob(item[0] == '!' ? item + 1 : item);
}

static int check_remove(const char *item)
{
	int r = check_path_glob(item);

	if (r < 0)
		return r;
	/* Whole top-level trees are not something to remove by accident. */
	if (!strchr(item + 1, '/'))
		return sl_errorf(-EBADMSG, "'%s' would remove a top-level directory", item);
	return 0;
}

static int check_unit(const char *item)
{
	static const char *const suffixes[] = { ".service", ".socket", ".timer",    ".target",
						".path",    ".mount",  ".automount" };
	size_t len = strlen(item);

	if (len > 255 || !all_chars(item, ":_.@-\\", true) || !isalnum((unsigned char)item[0]))
		return sl_errorf(-EBADMSG, "'%s' is not a systemd unit name", item);
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && streq(item + len - sl, suffixes[i]))
			return 0;
	}
	return sl_errorf(-EBADMSG, "'%s' has no unit type suffix (.service, .socket, .timer, ...)",
			 item);
}

static int check_module(const char *item)
{
	if (strlen(item) > 64 || !all_chars(item, "_-", false))
		return sl_errorf(-EBADMSG, "'%s' is not a kernel module name", item);
	return 0;
}

typedef int (*CheckFn)(const char *item);

static const CheckFn list_checks[_SL_BUILD_LIST_MAX] = {
	[SL_BUILD_LIST_PACKAGES] = check_package, [SL_BUILD_LIST_EXCLUDE] = check_exclude,
	[SL_BUILD_LIST_REMOVE] = check_remove,	  [SL_BUILD_LIST_ENABLE] = check_unit,
	[SL_BUILD_LIST_MASK] = check_unit,	  [SL_BUILD_LIST_INITRD_MODULES] = check_module,
};

/* ---- [image] keys ------------------------------------------------------------------ */

static int set_id(SlBuildConfig *c, const char *v)
{
	if (!*v || strlen(v) > 64 || !all_chars(v, "._-", false) || !isalnum((unsigned char)v[0]))
		return sl_errorf(-EBADMSG,
				 "id '%s' must be 1 to 64 lowercase letters, digits, '.', '_' "
				 "or '-'",
				 v);
	return (c->id = sl_strdup(v)) ? 0 : -ENOMEM;
}

static int set_name(SlBuildConfig *c, const char *v)
{
	if (!*v || strlen(v) > 128)
		return sl_errorf(-EBADMSG, "name must be 1 to 128 characters");
	/* It is written into os-release inside double quotes: keep quoting trivial. */
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f || strchr("\"\\`$", *p))
			return sl_errorf(-EBADMSG,
					 "name must not contain control characters, '\"', '\\', "
					 "'`' or '$'");
	return (c->name = sl_strdup(v)) ? 0 : -ENOMEM;
}

static int set_suite(SlBuildConfig *c, const char *v)
{
	if (!*v || strlen(v) > 32 || !all_chars(v, "-", false))
		return sl_errorf(-EBADMSG, "suite '%s' is not a Debian suite name", v);
	return (c->suite = sl_strdup(v)) ? 0 : -ENOMEM;
}

static int set_architecture(SlBuildConfig *c, const char *v)
{
	/* The boot chain (stub, kernel, DPS types) is x86-64 only for now. */
	if (!streq(v, "amd64"))
		return sl_errorf(-EOPNOTSUPP, "architecture '%s' is not supported (only amd64)", v);
	return (c->architecture = sl_strdup(v)) ? 0 : -ENOMEM;
}

static int set_mirror(SlBuildConfig *c, const char *v)
{
	if (!*v)
		return 0; /* empty: mmdebstrap's default */
	if (strlen(v) > 512)
		return sl_errorf(-E2BIG, "mirror URL is longer than 512 characters");
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0 &&
	    strncmp(v, "file:///", 8) != 0)
		return sl_errorf(-EBADMSG,
				 "mirror '%s' must be an http://, https:// or file:/// URL", v);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("\"'\\`$", *p))
			return sl_errorf(-EBADMSG, "mirror URL contains a character it must not");
	return (c->mirror = sl_strdup(v)) ? 0 : -ENOMEM;
}

static int set_compression(SlBuildConfig *c, const char *v)
{
	/* mkfs.erofs 1.8 algorithms the 6.12 kernel reads, with their level ranges. */
	static const struct {
		const char *name;
		unsigned max_level;
	} algs[] = {
		{ "lz4", 0 }, { "lz4hc", 12 }, { "lzma", 109 }, { "deflate", 9 }, { "zstd", 22 }
	};
	const char *comma = strchr(v, ',');
	size_t n = comma ? (size_t)(comma - v) : strlen(v);

	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		uint64_t level;

		if (strlen(algs[i].name) != n || strncmp(v, algs[i].name, n) != 0)
			continue;
		if (comma) {
			if (algs[i].max_level == 0)
				return sl_errorf(-EBADMSG, "compression %s takes no level",
						 algs[i].name);
			if (sl_parse_u64(comma + 1, algs[i].max_level, &level) < 0 ||
			    comma[1] == '0')
				return sl_errorf(-ERANGE,
						 "compression level '%s' must be a number from 1 "
						 "to %u",
						 comma + 1, algs[i].max_level);
		}
		return (c->compression = sl_strdup(v)) ? 0 : -ENOMEM;
	}
	return sl_errorf(-EBADMSG,
			 "compression '%s' is not one of lz4, lz4hc[,LEVEL], lzma[,LEVEL], "
			 "deflate[,LEVEL], zstd[,LEVEL]",
			 v);
}

static int set_cmdline(SlBuildConfig *c, const char *v)
{
	static const char *const reserved[] = { "usrhash=", "roothash=", "root=", "mount.usr" };

	if (strlen(v) > 2048)
		return sl_errorf(-E2BIG, "cmdline is longer than 2048 characters");
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
			return sl_errorf(-EBADMSG, "cmdline must be printable ASCII");
	/* The build owns these: the signed command line names /usr by its root hash. */
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++) {
		const char *hit = strstr(v, reserved[i]);

		if (hit && (hit == v || hit[-1] == ' '))
			return sl_errorf(-EBADMSG, "cmdline must not set %s (the build sets it)",
					 reserved[i]);
	}
	return (c->cmdline = sl_strdup(v)) ? 0 : -ENOMEM;
}

static int set_channel(SlBuildConfig *c, const char *v)
{
	if (!sl_build_channel_valid(v))
		return sl_errorf(-EBADMSG, "channel '%s' is not stable, beta or alpha", v);
	return (c->channel = sl_strdup(v)) ? 0 : -ENOMEM;
}

static int set_files(SlBuildConfig *c, const char *v)
{
	_cleanup_free_ char *copy = NULL;
	const char *dir;

	if (!*v || strlen(v) > 1024)
		return sl_errorf(-EBADMSG, "files must name a directory");
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return sl_errorf(-EBADMSG, "files must not contain control characters");
	if (v[0] == '/') {
		c->files = sl_strdup(v);
		return c->files ? 0 : -ENOMEM;
	}
	copy = sl_strdup(c->path);
	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	c->files = sl_asprintf("%s/%s", dir, v);
	return c->files ? 0 : -ENOMEM;
}

static int set_disk_size(SlBuildConfig *c, const char *v)
{
	uint64_t size;
	int r = sl_parse_size(v, &size);

	if (r < 0)
		return r;
	if (size < MIN_DISK_SIZE || size > MAX_DISK_SIZE || size % (1u << 20))
		return sl_errorf(-ERANGE,
				 "disk-size %s must be a whole number of MiB from %llu MiB to "
				 "16 TiB",
				 v, (unsigned long long)(MIN_DISK_SIZE >> 20));
	c->disk_size = size;
	return 0;
}

static int set_strip_setuid(SlBuildConfig *c, const char *v)
{
	if (streq(v, "yes") || streq(v, "true"))
		c->strip_setuid = true;
	else if (streq(v, "no") || streq(v, "false"))
		c->strip_setuid = false;
	else
		return sl_errorf(-EBADMSG, "strip-setuid must be yes or no");
	return 0;
}

static const struct {
	const char *key;
	int (*set)(SlBuildConfig *c, const char *v);
} image_keys[] = {
	{ "id", set_id },
	{ "name", set_name },
	{ "suite", set_suite },
	{ "architecture", set_architecture },
	{ "mirror", set_mirror },
	{ "compression", set_compression },
	{ "cmdline", set_cmdline },
	{ "channel", set_channel },
	{ "files", set_files },
	{ "disk-size", set_disk_size },
	{ "strip-setuid", set_strip_setuid },
};

/* ---- the line parser ---------------------------------------------------------------- */

typedef struct Parser {
	SlBuildConfig *c;
	const char *file;
	unsigned line;
	int section;				   /* -1 none, -2 [image], else SlBuildListKind */
	unsigned seen_key[ARRAY_SIZE(image_keys)]; /* line of first use, 0 = unseen */
	unsigned seen_section[_SL_BUILD_LIST_MAX + 1];
} Parser;

#define SECTION_NONE  (-1)
#define SECTION_IMAGE (-2)

static int fail(const Parser *p, int r)
{
	return sl_error_prefix(r, "%s:%u: ", p->file, p->line);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	return s;
}

/* Cut a comment: '#' at the start or after white space. */
static void strip_comment(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			return;
		}
}

static int parse_section(Parser *p, char *s)
{
	size_t len = strlen(s);
	int sec = SECTION_NONE;
	unsigned *seen;

	if (len < 3 || s[len - 1] != ']')
		return fail(p, sl_errorf(-EBADMSG, "a section header must look like [name]"));
	s[len - 1] = 0;
	s++;
	if (streq(s, "image"))
		sec = SECTION_IMAGE;
	for (int k = 0; k < _SL_BUILD_LIST_MAX; k++)
		if (streq(s, list_names[k]))
			sec = k;
	if (sec == SECTION_NONE)
		return fail(p, sl_errorf(-EBADMSG,
					 "unknown section [%.64s] (known: image, packages, "
					 "exclude, remove, enable, mask, initrd-modules)",
					 s));
	seen = &p->seen_section[sec == SECTION_IMAGE ? _SL_BUILD_LIST_MAX : sec];
	if (*seen)
		return fail(p, sl_errorf(-EBADMSG, "section [%s] appears twice (first at line %u)",
					 s, *seen));
	*seen = p->line;
	p->section = sec;
	return 0;
}

static int parse_key(Parser *p, char *s)
{
	char *eq = strchr(s, '='), *key, *value;
	int r;

	if (!eq)
		return fail(p, sl_errorf(-EBADMSG, "expected 'key = value' in [image]"));
	*eq = 0;
	key = trim(s);
	value = trim(eq + 1);
	for (size_t i = 0; i < ARRAY_SIZE(image_keys); i++) {
		if (!streq(key, image_keys[i].key))
			continue;
		if (p->seen_key[i])
			return fail(p, sl_errorf(-EBADMSG, "'%s' is set twice (first at line %u)",
						 key, p->seen_key[i]));
		p->seen_key[i] = p->line;
		sl_error_clear();
		r = image_keys[i].set(p->c, value);
		return r < 0 ? fail(p, r) : 0;
	}
	return fail(p, sl_errorf(-EBADMSG, "unknown key '%.64s' in [image]", key));
}

static int parse_item(Parser *p, char *s)
{
	SlBuildList *l = &p->c->lists[p->section];
	char **items;
	unsigned *lines;
	size_t name_len;
	int r;

	sl_error_clear();
	r = list_checks[p->section](s);
	if (r < 0)
		return fail(p, r);
	/* The same item twice is a mistake (for packages: the same name). */
	name_len = p->section == SL_BUILD_LIST_PACKAGES ? strcspn(s, "=") : strlen(s);
	for (size_t i = 0; i < l->n; i++) {
		size_t other = p->section == SL_BUILD_LIST_PACKAGES ? strcspn(l->items[i], "=")
								    : strlen(l->items[i]);

		if (other == name_len && strncmp(l->items[i], s, name_len) == 0)
			return fail(p,
				    sl_errorf(-EBADMSG, "'%s' is listed twice (first at line %u)",
					      l->items[i], l->lines[i]));
	}
	if (l->n >= SL_BUILD_LIST_MAX)
		return fail(p, sl_errorf(-E2BIG, "[%s] has more than %u entries",
					 list_names[p->section], SL_BUILD_LIST_MAX));
	items = sl_realloc_array(l->items, l->n + 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	l->items = items;
	lines = sl_realloc_array(l->lines, l->n + 1, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	l->lines = lines;
	l->items[l->n] = sl_strdup(s);
	if (!l->items[l->n])
		return -ENOMEM;
	l->lines[l->n++] = p->line;
	return 0;
}

static int parse_line(Parser *p, char *s)
{
	for (const char *q = s; *q; q++)
		if (((unsigned char)*q < ' ' && *q != '\t') || *q == 0x7f)
			return fail(p, sl_errorf(-EBADMSG, "control character 0x%02x",
						 (unsigned char)*q));
	strip_comment(s);
	s = trim(s);
	if (!*s)
		return 0;
	if (s[0] == '[')
		return parse_section(p, s);
	if (p->section == SECTION_NONE)
		return fail(p, sl_errorf(-EBADMSG, "text before the first [section]"));
	if (p->section == SECTION_IMAGE)
		return parse_key(p, s);
	return parse_item(p, s);
}

static int set_defaults(SlBuildConfig *c)
{
	static const struct {
		size_t off;
		const char *value;
	} defaults[] = {
		{ offsetof(SlBuildConfig, id), "slate" },
		{ offsetof(SlBuildConfig, name), "Slate Container Linux" },
		{ offsetof(SlBuildConfig, suite), "trixie" },
		{ offsetof(SlBuildConfig, architecture), "amd64" },
		{ offsetof(SlBuildConfig, compression), "lz4hc" },
		{ offsetof(SlBuildConfig, cmdline), "" },
		{ offsetof(SlBuildConfig, channel), "stable" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
		char **field = (char **)((char *)c + defaults[i].off);

		if (*field)
			continue;
		*field = sl_strdup(defaults[i].value);
		if (!*field)
			return -ENOMEM;
	}
	if (!c->disk_size)
		c->disk_size = DEFAULT_DISK_SIZE;
	return 0;
}

int sl_build_config_parse(const char *text, size_t len, const char *filename, SlBuildConfig **ret)
{
	_cleanup_(sl_build_config_freep) SlBuildConfig *c = NULL;
	_cleanup_free_ char *line = NULL;
	Parser p = { .file = filename, .section = SECTION_NONE };
	size_t pos = 0;
	int r;

	if (len > SL_BUILD_CONFIG_MAX_BYTES)
		return sl_errorf(-E2BIG, "%s: larger than %u bytes", filename,
				 SL_BUILD_CONFIG_MAX_BYTES);
	c = calloc(1, sizeof(*c));
	line = malloc(SL_BUILD_CONFIG_MAX_LINE + 1);
	if (!c || !line)
		return -ENOMEM;
	c->strip_setuid = true;
	c->path = sl_strdup(filename);
	if (!c->path)
		return -ENOMEM;
	p.c = c;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line++;
		if (n > SL_BUILD_CONFIG_MAX_LINE)
			return fail(&p, sl_errorf(-E2BIG, "line longer than %u characters",
						  SL_BUILD_CONFIG_MAX_LINE));
		if (memchr(text + pos, 0, n))
			return fail(&p, sl_errorf(-EBADMSG, "NUL byte"));
		memcpy(line, text + pos, n);
		line[n] = 0;
		if (n && line[n - 1] == '\r')
			line[n - 1] = 0;
		r = parse_line(&p, line);
		if (r < 0)
			return r;
		pos += n + (nl ? 1 : 0);
	}

	if (c->lists[SL_BUILD_LIST_PACKAGES].n == 0)
		return sl_errorf(-EBADMSG,
				 "%s: no [packages]: an image needs at least a kernel and "
				 "systemd",
				 filename);
	r = set_defaults(c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int sl_build_config_load(const char *path, SlBuildConfig **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	r = sl_read_file(path, SL_BUILD_CONFIG_MAX_BYTES, &buf, &len);
	if (r < 0)
		return sl_error_prefix(r, "%s: ", path);
	return sl_build_config_parse((const char *)buf, len, path, ret);
}
