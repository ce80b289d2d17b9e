/* recfile: parsers for the small text files of a recording and of sysfs (all input is untrusted).
 */
#include "config.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/recfile.h"

#define REC_MAX_RECORDS 4096	/* a recording holds a few dozen; more is hostile */

static const struct { int err; const char *text; } rec_errnos[] = {
	{ ENOENT, "No such file or directory" }, { EACCES, "Permission denied" },
	{ EPERM, "Operation not permitted" }, { EIO, "Input/output error" },
	{ ENODEV, "No such device" }, { ENXIO, "No such device or address" },
	{ EINVAL, "Invalid argument" }, { ENOTSUP, "Operation not supported" },
};

int recfile_errno_from_text(const char *s)
{
	for (size_t i = 0; i < sizeof(rec_errnos) / sizeof(rec_errnos[0]); i++)
		if (!strcmp(s, rec_errnos[i].text))
			return -rec_errnos[i].err;
	return -EIO;
}

char *recfile_trim(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int recfile_parse_u64(const char *s, uint64_t *out)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	while (*end && isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int recfile_parse_bool(const char *s, int *out)
{
	char c = s[0];

	if ((c == 'Y' || c == 'y' || c == '1') && (!s[1] || isspace((unsigned char)s[1])))
		*out = 1;
	else if ((c == 'N' || c == 'n' || c == '0') && (!s[1] || isspace((unsigned char)s[1])))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

int recfile_add(struct rec_kv **list, uint32_t key, int err, const uint32_t *w, int nw)
{
	struct rec_kv *kv = calloc(1, sizeof(*kv));

	if (!kv)
		return -ENOMEM;
	kv->key = key;
	kv->err = err;
	kv->nw = nw > 4 ? 4 : nw;
	for (int i = 0; i < kv->nw; i++)
		kv->w[i] = w[i];
	kv->next = *list;
	*list = kv;
	return 0;
}

/* One "KEY=VALUE" line; 0, or -EINVAL when malformed. */
static int parse_line(const char *line, struct rec_kv **out)
{
	const char *eq = strchr(line, '=');
	char key[32], *end;
	uint32_t w[4];
	int nw = 0;

	if (!eq || eq == line || (size_t)(eq - line) >= sizeof(key))
		return -EINVAL;
	memcpy(key, line, (size_t)(eq - line));
	key[eq - line] = '\0';
	errno = 0;
	unsigned long long k = strtoull(key, &end, 0);
	if (errno || *end || k > UINT32_MAX || !isdigit((unsigned char)key[0]))
		return -EINVAL;
	if (!strncmp(eq + 1, "error:", 6))
		return recfile_add(out, (uint32_t)k, recfile_errno_from_text(eq + 7), NULL, 0);
	const char *p = eq + 1;
	while (*p && nw < 4) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (!isxdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 16);
		if (errno || (nw > 0 && v > UINT32_MAX) || end == p)
			return -EINVAL;
		if (nw == 0 && v > UINT32_MAX) { /* a 64-bit MSR value: nothing may follow it */
			const char *rest = end;
			while (*rest == ' ')
				rest++;
			if (*rest)
				return -EINVAL;
			w[nw++] = (uint32_t)v;
			w[nw++] = (uint32_t)(v >> 32);
		} else {
			w[nw++] = (uint32_t)v;
		}
		p = end;
	}
	if (*p || nw == 0)
		return -EINVAL;
	return recfile_add(out, (uint32_t)k, 0, w, nw);
}

int recfile_parse_kv(const char *text, size_t len, struct rec_kv **out)
{
	char line[256];
	size_t i = 0;
	int records = 0, rc = 0;

	*out = NULL;
	while (i < len) {
		size_t n = 0;
		while (i < len && text[i] != '\n') {
			if (n + 1 >= sizeof(line) || text[i] == '\0') {
				rc = -EINVAL;
				goto fail;
			}
			line[n++] = text[i++];
		}
		i++;
		line[n] = '\0';
		recfile_trim(line);
		if (!line[0] || line[0] == '#' || !strncmp(line, "version=", 8))
			continue;
		if (++records > REC_MAX_RECORDS || (rc = parse_line(line, out)) < 0) {
			rc = rc < 0 ? rc : -E2BIG;
			goto fail;
		}
	}
	return 0;
fail:
	recfile_free_kv(*out);
	*out = NULL;
	return rc;
}

void recfile_free_kv(struct rec_kv *kv)
{
	while (kv) {
		struct rec_kv *next = kv->next;
		free(kv);
		kv = next;
	}
}

const struct rec_kv *recfile_find(const struct rec_kv *kv, uint32_t key)
{
	for (; kv; kv = kv->next)
		if (kv->key == key)
			return kv;
	return NULL;
}

int recfile_write_kv(const struct rec_kv *kv, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	return recfile_print_kv(kv, f);
}

int recfile_print_kv(const struct rec_kv *kv, FILE *f)
{
	for (; kv; kv = kv->next) {
		fprintf(f, "0x%08x=", kv->key);
		if (kv->err)
			fprintf(f, "error:%s\n", strerror(-kv->err));
		else if (kv->nw == 2)	/* MSR: one 64-bit value */
			fprintf(f, "%08x%08x\n", kv->w[1], kv->w[0]);
		else
			for (int i = 0; i < kv->nw; i++)
				fprintf(f, "%08x%c", kv->w[i], i + 1 < kv->nw ? ' ' : '\n');
	}
	return fclose(f) ? -errno : 0;
}
