/* validate: what compat-db accepts: one bounded JSON document (depth, size, no repeated keys), an
 * envelope of a known format, and every member the database stores typed and bounded, named when it
 * is not. */
#include "config.h"
#include <errno.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/errmsg.h"
#include "common/text.h"
#include "compat-db/envelope.h"

/* ---- validation: every member the database stores, typed and bounded ---- */

static json_object *member(json_object *o, const char *k, json_type t, bool nullable,
			   const char *where, char *err, size_t errlen)
{
	json_object *m = NULL;

	if (!json_object_object_get_ex(o, k, &m) && !nullable) {
		snprintf(err, errlen, "%s.%s is missing", where, k);
		return NULL;
	}
	if (!m && nullable)
		return NULL;
	if (!json_object_is_type(m, t) && !(nullable && json_object_is_type(m, json_type_null))) {
		snprintf(err, errlen, "%s.%s has the wrong type (%s)", where, k,
			 json_type_to_name(json_object_get_type(m)));
		return NULL;
	}
	return m;
}

#define NEED(o, k, t, where)                                     \
	do {                                                     \
		if (!member(o, k, t, false, where, err, errlen)) \
			return -EINVAL;                          \
	} while (0)
#define MAY(o, k, t, where)                                \
	do {                                               \
		member(o, k, t, true, where, err, errlen); \
		if (*err)                                  \
			return -EINVAL;                    \
	} while (0)

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* Whether entry i's string member k equals an earlier entry's (the tables key on it). Lists are
 * bounded. */
static bool repeated(json_object *arr, size_t i, const char *k)
{
	const char *v = json_object_get_string(
		json_object_object_get(json_object_array_get_idx(arr, i), k));

	for (size_t j = 0; j < i; j++)
		if (!strcmp(v,
			    json_object_get_string(
				    json_object_object_get(json_object_array_get_idx(arr, j), k))))
			return true;
	return false;
}

/* "2026-12-01T15:57:03.123Z" as now_iso() writes it (fraction optional), a real date and time in
 * UTC. */
static bool iso_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!end || strlen(s) < 20 || s[4] != '-' || s[10] != 'T')
		return false;
	if (*end == '.') {
		size_t digits = strspn(end + 1, "0123456789");
		if (digits < 1 || digits > 9)
			return false;
		end += 1 + digits;
	}
	struct tm back = tm;
	time_t t = timegm(&back);
	return !strcmp(end, "Z") && t != (time_t)-1 && back.tm_mday == tm.tm_mday &&
		back.tm_mon == tm.tm_mon;
}

static int check_checks(json_object *checks, char *err, size_t errlen)
{
	static const char *const statuses[] = { "PASS", "NOTE", "WARN", "FAIL", "UNKNOWN", NULL };
	size_t n = json_object_array_length(checks);

	if (n > MAX_CHECKS)
		return errmsg(err, errlen, -E2BIG, "probe.checks has %zu entries (at most %d)", n,
			      MAX_CHECKS);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(checks, i), *st;
		if (!json_object_is_type(c, json_type_object))
			return errmsg(err, errlen, -EINVAL, "probe.checks[%zu] is not an object",
				      i);
		NEED(c, "id", json_type_string, "probe.checks[]");
		NEED(c, "evidence", json_type_string, "probe.checks[]");
		MAY(c, "fix", json_type_string, "probe.checks[]");
		if (!(st = member(c, "status", json_type_string, false, "probe.checks[]", err,
				  errlen)))
			return -EINVAL;
		if (!one_of(json_object_get_string(st), statuses))
			return errmsg(err, errlen, -EINVAL,
				      "probe.checks[%zu].status \"%.20s\" is not a status", i,
				      json_object_get_string(st));
		if (repeated(checks, i, "id"))
			return errmsg(err, errlen, -EINVAL,
				      "probe.checks[%zu].id \"%.40s\" appears twice", i,
				      json_object_get_string(json_object_object_get(c, "id")));
	}
	return 0;
}

static int check_devices(json_object *devs, char *err, size_t errlen)
{
	static const char *const verdicts[] = { "ready", "not-ready", "paravirtual",
						"host-infrastructure", NULL };
	size_t n = json_object_array_length(devs);
	unsigned a, b;

	if (n > MAX_DEVICES)
		return errmsg(err, errlen, -E2BIG, "probe.devices has %zu entries (at most %d)", n,
			      MAX_DEVICES);
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(devs, i), *id, *v;
		if (!json_object_is_type(d, json_type_object))
			return errmsg(err, errlen, -EINVAL, "probe.devices[%zu] is not an object",
				      i);
		NEED(d, "address", json_type_string, "probe.devices[]");
		NEED(d, "class", json_type_string, "probe.devices[]");
		MAY(d, "driver", json_type_string, "probe.devices[]");
		MAY(d, "iommu_group", json_type_int, "probe.devices[]");
		MAY(d, "reason", json_type_string, "probe.devices[]");
		if (!(id = member(d, "id", json_type_string, false, "probe.devices[]", err,
				  errlen)) ||
		    !(v = member(d, "verdict", json_type_string, false, "probe.devices[]", err,
				 errlen)))
			return -EINVAL;
		if (strlen(json_object_get_string(id)) != 9 ||
		    sscanf(json_object_get_string(id), "%4x:%4x", &a, &b) != 2)
			return errmsg(err, errlen, -EINVAL,
				      "probe.devices[%zu].id is not vvvv:dddd", i);
		if (!one_of(json_object_get_string(v), verdicts))
			return errmsg(err, errlen, -EINVAL,
				      "probe.devices[%zu].verdict is not a verdict", i);
		if (repeated(devs, i, "address"))
			return errmsg(err, errlen, -EINVAL,
				      "probe.devices[%zu].address \"%.40s\" appears twice", i,
				      json_object_get_string(json_object_object_get(d, "address")));
	}
	return 0;
}

/* The probe document, as docs/probe-json.md describes version 1. */
static int check_probe(json_object *p, char *err, size_t errlen)
{
	json_object *m, *sum, *checks, *devs;

	if (!json_object_is_type(p, json_type_object))
		return errmsg(err, errlen, -EINVAL, "probe is not an object");
	if (!(m = member(p, "schema", json_type_string, false, "probe", err, errlen)))
		return -EINVAL;
	if (strcmp(json_object_get_string(m), "nestvisor-probe"))
		return errmsg(err, errlen, -EINVAL, "probe.schema is not \"nestvisor-probe\"");
	if (!(m = member(p, "schema_version", json_type_int, false, "probe", err, errlen)))
		return -EINVAL;
	if (json_object_get_int(m) != 1)
		return errmsg(err, errlen, -ENOTSUP,
			      "probe.schema_version %d: this nestvisor reads version 1 (upgrade "
			      "nestvisor)",
			      json_object_get_int(m));
	NEED(p, "nestvisor_version", json_type_string, "probe");
	if (!(sum = member(p, "summary", json_type_object, false, "probe", err, errlen)) ||
	    !(checks = member(p, "checks", json_type_array, false, "probe", err, errlen)) ||
	    !(devs = member(p, "devices", json_type_array, false, "probe", err, errlen)))
		return -EINVAL;
	MAY(sum, "hw_vms", json_type_boolean, "probe.summary");
	MAY(sum, "vms", json_type_boolean, "probe.summary");
	NEED(sum, "nested", json_type_boolean, "probe.summary");
	NEED(sum, "worst", json_type_string, "probe.summary");
	NEED(p, "kvm", json_type_object, "probe");
	NEED(p, "host", json_type_object, "probe");
	NEED(p, "iommu", json_type_object, "probe");
	int rc = check_checks(checks, err, errlen);
	return rc < 0 ? rc : check_devices(devs, err, errlen);
}

/* Every integer anywhere in the report within a 64-bit signed integer: json-c saturates one beyond
 * (1e23 written as digits became 2^64-1 in the stored report), so either limit itself is taken for
 * one that overflowed and refused. The depth is the parser's, already bounded. */
static int check_numbers(json_object *o, const char *key, char *err, size_t errlen)
{
	if (json_object_is_type(o, json_type_int)) {
		int64_t v = json_object_get_int64(o);
		if (v == INT64_MAX || v == INT64_MIN || json_object_get_uint64(o) > INT64_MAX)
			return errmsg(err, errlen, -ERANGE,
				      "the number in %s is out of range (beyond a 64-bit integer)",
				      key);
		return 0;
	}
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (check_numbers(json_object_array_get_idx(o, i), key, err, errlen) < 0)
				return -ERANGE;
		return 0;
	}
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
			if (check_numbers(v, k, err, errlen) < 0)
				return -ERANGE;
	}
	return 0;
}

int compatdb_envelope_check(json_object *env, char *err, size_t errlen)
{
	json_object *m;

	err[0] = '\0';
	if (!json_object_is_type(env, json_type_object))
		return errmsg(err, errlen, -EINVAL, "not a JSON object");
	if (!(m = member(env, "nestvisor_report", json_type_int, false, "report", err, errlen)))
		return -EINVAL;
	if (json_object_get_int(m) != COMPATDB_REPORT_FORMAT)
		return errmsg(err, errlen, -ENOTSUP,
			      "report format %d: this nestvisor reads format %d",
			      json_object_get_int(m), COMPATDB_REPORT_FORMAT);
	if (!(m = member(env, "uuid", json_type_string, false, "report", err, errlen)))
		return -EINVAL;
	const char *u = json_object_get_string(m);
	if (strlen(u) != 36 || strspn(u, "0123456789abcdef-") != 36)
		return errmsg(err, errlen, -EINVAL, "report.uuid is not a UUID");
	if (!(m = member(env, "created", json_type_string, false, "report", err, errlen)))
		return -EINVAL;
	if (strlen(json_object_get_string(m)) > 40 || !iso_time(json_object_get_string(m)))
		return errmsg(err, errlen, -EINVAL,
			      "report.created \"%.40s\" is not a time like "
			      "2026-12-01T15:57:03.123Z",
			      json_object_get_string(m));
	if (!(m = member(env, "host_id", json_type_string, false, "report", err, errlen)))
		return -EINVAL;
	if (!*json_object_get_string(m) || strlen(json_object_get_string(m)) > 128)
		return errmsg(err, errlen, -EINVAL, "report.host_id is empty or too long");
	if (!(m = member(env, "probe", json_type_object, false, "report", err, errlen)))
		return -EINVAL;
	if (check_numbers(env, "report", err, errlen) < 0)
		return -ERANGE;
	return check_probe(m, err, errlen);
}

/* The number of members of each object in text, in document order (json-c keeps the last of two
 * equal keys, so a count above the parsed object's is a repeated key). json-c has parsed text
 * already. */
static int key_counts(const char *text, size_t len, int *counts, int max)
{
	int stack[MAX_DEPTH + 2], depth = 0, n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '"') {
			for (i++; i < len && text[i] != '"'; i++)
				if (text[i] == '\\')
					i++;
		} else if (c == '{' || c == '[') {
			if (depth >= MAX_DEPTH + 2)
				return -1;
			stack[depth++] = c == '{' && n < max ? n : -1;
			if (c == '{' && n < max)
				counts[n] = 0;
			n += c == '{';
		} else if (c == '\'' || ((c == '}' || c == ']') && --depth < 0)) {
			/* json-c took what JSON is not (a 'quoted' key): refused, not misread */
			return -1;
		} else if (c == ':' && depth > 0 && stack[depth - 1] >= 0) {
			counts[stack[depth - 1]]++;
		}
	}
	return n;
}

/* Walks the tree in document order: every object's member count against the text's, every string
 * free of NUL (a "\u0000" that PostgreSQL's text type refuses and C strings cut). */
static bool tree_ok(json_object *o, const int *counts, int n, int *at, char *err, size_t errlen)
{
	switch (json_object_get_type(o)) {
	case json_type_object: {
		int mine = (*at)++;
		if (mine >= n || counts[mine] != json_object_object_length(o))
			return errmsg(err, errlen, false, "a key appears twice in one object");
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (!tree_ok(v, counts, n, at, err, errlen))
				return false;
		}
		return true;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!tree_ok(json_object_array_get_idx(o, i), counts, n, at, err, errlen))
				return false;
		return true;
	case json_type_string:
		if (strlen(json_object_get_string(o)) != (size_t)json_object_get_string_len(o))
			return errmsg(err, errlen, false,
				      "a string holds a NUL character (\\u0000)");
		if (!text_utf8_valid(json_object_get_string(o),
				     (size_t)json_object_get_string_len(o)))
			return errmsg(err, errlen, false, "a string is not valid UTF-8");
		return true;
	default:
		return true;
	}
}

json_object *compatdb_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
	json_object *o;

	if (!tok)
		return NULL;
	/* RFC 8259 (json-c would take 'single-quoted' strings; strict still takes such keys, which
	 * key_counts refuses), and valid UTF-8, the only text PostgreSQL takes */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "not one valid JSON document in UTF-8 (%s at byte %d)",
			 json_tokener_error_desc(json_tokener_get_error(tok)),
			 (int)json_tokener_get_parse_end(tok));
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (o) {
		int max = (int)(len / 2 + 1), *counts = malloc(sizeof(int) * (size_t)max), at = 0;
		int n = counts ? key_counts(text, len, counts, max) : -1;
		if (n < 0 || !tree_ok(o, counts, n, &at, err, errlen)) {
			if (n < 0)
				snprintf(err, errlen,
					 "not one valid JSON document (a 'quoted' name), or nested "
					 "too deeply");
			json_object_put(o);
			o = NULL;
		}
		free(counts);
	}
	return o;
}
