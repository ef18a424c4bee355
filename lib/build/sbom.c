/* SPDX-License-Identifier: MIT */
/*
 * The SBOM: an SPDX 2.3 document in JSON (spdx.github.io/spdx-spec/v2.3) naming every
 * Debian package in the image (name, version, source package and version, supplier,
 * the SHA-256 of the .deb it came from, a purl) and every artifact of the build with
 * its SHA-256. Deterministic: the creation time is SOURCE_DATE_EPOCH and the
 * namespace is derived from the root hash, so the same build gives the same bytes.
 */
#include <time.h>

#include "build-internal.h"
#include "slate/error.h"
#include "slate/json.h"
#include "slate/strutil.h"

/* SPDX identifiers: "SPDXRef-" [A-Za-z0-9.-]+ (SPDX 2.3 §3.2). */
static void spdx_id(char *out, size_t outlen, const char *prefix, size_t n, const char *name)
{
	size_t k = (size_t)snprintf(out, outlen, "SPDXRef-%s-%zu-", prefix, n);

	for (const char *p = name; *p && k + 1 < outlen; p++) {
		char ch = *p;

		out[k++] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-')
				   ? ch
				   : '-';
	}
	out[k] = 0;
}

/* "Name <mail>" -> "Organization: Name (mail)"; SPDX 2.3 §7.5. */
static char *supplier(const char *maintainer)
{
	const char *lt = strchr(maintainer, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	size_t name_len;

	if (!*maintainer)
		return sl_strdup("NOASSERTION");
	if (!lt || !gt)
		return sl_asprintf("Organization: %s", maintainer);
	name_len = (size_t)(lt - maintainer);
	while (name_len && maintainer[name_len - 1] == ' ')
		name_len--;
	return sl_asprintf("Organization: %.*s (%.*s)", (int)name_len, maintainer,
			   (int)(gt - lt - 1), lt + 1);
}

/* Percent-encode for a purl version (RFC 3986 unreserved characters stay). */
static void purl_escape(FILE *f, const char *s)
{
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch))
			fputc(ch, f);
		else
			fprintf(f, "%%%02X", ch);
	}
}

static char *purl(const SlPackage *p, const char *distro)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputs("pkg:deb/debian/", f);
	purl_escape(f, p->name);
	fputc('@', f);
	purl_escape(f, p->version);
	fprintf(f, "?arch=%s&distro=%s", p->architecture, distro);
	if (!streq(p->source, p->name) || !streq(p->source_version, p->version)) {
		fputs("&upstream=", f);
		purl_escape(f, p->source);
		fputc('%', f);
		fputs("40", f); /* '@' inside a qualifier value */
		purl_escape(f, p->source_version);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int sl_build_sbom_write(FILE *f, const SlBuildSbom *s)
{
	char created[32], id[300];
	time_t t = (time_t)s->created;
	struct tm tm;
	SlJson j;

	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);

	sl_json_init(&j, f, true);
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "spdxVersion", "SPDX-2.3");
	sl_json_kv_string(&j, "dataLicense", "CC0-1.0");
	sl_json_kv_string(&j, "SPDXID", "SPDXRef-DOCUMENT");
	{
		_cleanup_free_ char *name = sl_asprintf("%s-%s", s->id, s->version);
		_cleanup_free_ char *ns = sl_asprintf("urn:uuid:%s", s->namespace_uuid);

		if (!name || !ns)
			return -ENOMEM;
		sl_json_kv_string(&j, "name", name);
		sl_json_kv_string(&j, "documentNamespace", ns);
	}
	sl_json_key(&j, "creationInfo");
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "created", created);
	sl_json_key(&j, "creators");
	sl_json_begin_array(&j);
	sl_json_string(&j, "Tool: slate-" SLATE_VERSION);
	sl_json_end_array(&j);
	sl_json_end_object(&j);
	sl_json_key(&j, "documentDescribes");
	sl_json_begin_array(&j);
	sl_json_string(&j, "SPDXRef-Image");
	sl_json_end_array(&j);

	sl_json_key(&j, "packages");
	sl_json_begin_array(&j);
	/* The image itself: the operating system these packages make up. */
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "name", s->name);
	sl_json_kv_string(&j, "SPDXID", "SPDXRef-Image");
	sl_json_kv_string(&j, "versionInfo", s->version);
	sl_json_kv_string(&j, "primaryPackagePurpose", "OPERATING-SYSTEM");
	sl_json_kv_string(&j, "downloadLocation", "NOASSERTION");
	sl_json_kv_bool(&j, "filesAnalyzed", false);
	sl_json_kv_string(&j, "licenseConcluded", "NOASSERTION");
	sl_json_kv_string(&j, "licenseDeclared", "NOASSERTION");
	sl_json_kv_string(&j, "copyrightText", "NOASSERTION");
	sl_json_end_object(&j);
	for (size_t i = 0; i < s->packages->n; i++) {
		const SlPackage *p = &s->packages->items[i];
		_cleanup_free_ char *sup = supplier(p->maintainer);
		_cleanup_free_ char *src =
			sl_asprintf("built package from: %s %s", p->source, p->source_version);
		_cleanup_free_ char *pu = purl(p, s->distro);

		if (!sup || !src || !pu)
			return -ENOMEM;
		spdx_id(id, sizeof(id), "Package", i, p->name);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "name", p->name);
		sl_json_kv_string(&j, "SPDXID", id);
		sl_json_kv_string(&j, "versionInfo", p->version);
		sl_json_kv_string(&j, "supplier", sup);
		sl_json_kv_string(&j, "downloadLocation", "NOASSERTION");
		sl_json_kv_bool(&j, "filesAnalyzed", false);
		sl_json_kv_string(&j, "sourceInfo", src);
		if (p->deb_sha256) {
			sl_json_key(&j, "checksums");
			sl_json_begin_array(&j);
			sl_json_begin_object(&j);
			sl_json_kv_string(&j, "algorithm", "SHA256");
			sl_json_kv_string(&j, "checksumValue", p->deb_sha256);
			sl_json_end_object(&j);
			sl_json_end_array(&j);
		}
		sl_json_kv_string(&j, "licenseConcluded", "NOASSERTION");
		sl_json_kv_string(&j, "licenseDeclared", "NOASSERTION");
		sl_json_kv_string(&j, "copyrightText", "NOASSERTION");
		sl_json_key(&j, "externalRefs");
		sl_json_begin_array(&j);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "referenceCategory", "PACKAGE-MANAGER");
		sl_json_kv_string(&j, "referenceType", "purl");
		sl_json_kv_string(&j, "referenceLocator", pu);
		sl_json_end_object(&j);
		sl_json_end_array(&j);
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);

	sl_json_key(&j, "files");
	sl_json_begin_array(&j);
	for (size_t i = 0; i < s->n_files; i++) {
		_cleanup_free_ char *name = sl_asprintf("./%s", s->files[i].name);

		if (!name)
			return -ENOMEM;
		spdx_id(id, sizeof(id), "File", i, s->files[i].name);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "fileName", name);
		sl_json_kv_string(&j, "SPDXID", id);
		sl_json_key(&j, "checksums");
		sl_json_begin_array(&j);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "algorithm", "SHA256");
		sl_json_kv_hex(&j, "checksumValue", s->files[i].sha256, 32);
		sl_json_end_object(&j);
		sl_json_end_array(&j);
		sl_json_kv_string(&j, "licenseConcluded", "NOASSERTION");
		sl_json_kv_string(&j, "copyrightText", "NOASSERTION");
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);

	sl_json_key(&j, "relationships");
	sl_json_begin_array(&j);
	sl_json_begin_object(&j);
	sl_json_kv_string(&j, "spdxElementId", "SPDXRef-DOCUMENT");
	sl_json_kv_string(&j, "relationshipType", "DESCRIBES");
	sl_json_kv_string(&j, "relatedSpdxElement", "SPDXRef-Image");
	sl_json_end_object(&j);
	for (size_t i = 0; i < s->packages->n; i++) {
		spdx_id(id, sizeof(id), "Package", i, s->packages->items[i].name);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "spdxElementId", "SPDXRef-Image");
		sl_json_kv_string(&j, "relationshipType", "CONTAINS");
		sl_json_kv_string(&j, "relatedSpdxElement", id);
		sl_json_end_object(&j);
	}
	for (size_t i = 0; i < s->n_files; i++) {
		spdx_id(id, sizeof(id), "File", i, s->files[i].name);
		sl_json_begin_object(&j);
		sl_json_kv_string(&j, "spdxElementId", id);
		sl_json_kv_string(&j, "relationshipType", "GENERATED_FROM");
		sl_json_kv_string(&j, "relatedSpdxElement", "SPDXRef-Image");
		sl_json_end_object(&j);
	}
	sl_json_end_array(&j);
	sl_json_end_object(&j);
	sl_json_finish(&j);
	return ferror(f) ? -EIO : 0;
}
