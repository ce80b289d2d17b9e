/* ctlproto: {"cmd": ...} lines, parsed with json-c, bounded in depth, size and content. */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "common/text.h"
#include "vmm/ctlproto.h"

#define CTL_DEPTH 4	/* a request is one flat object */
#define CTL_INPUT_MAX 4096

static const struct { const char *name; enum ctl_cmd cmd;
} cmds[] = {
	{ "status", CTL_STATUS }, { "stats", CTL_STATS }, { "pause", CTL_PAUSE },
	{ "resume", CTL_RESUME }, { "stop", CTL_STOP },   { "console", CTL_CONSOLE },
	{ "input", CTL_INPUT },     { "digest", CTL_DIGEST }, { "cpus", CTL_CPUS },
	{ "powerdown", CTL_POWERDOWN }, { "snapshot", CTL_SNAPSHOT },
};

void ctl_parse(const char *line, size_t len, struct ctl_request *r)
{
	struct json_tokener *tok = json_tokener_new_ex(CTL_DEPTH);
	json_object *req = NULL, *c, *f, *d;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->cmd = CTL_BAD;
	r->error = "expected one JSON object per line: {\"cmd\": "
		   "\"status|stats|pause|resume|stop|powerdown|console|input|digest|cpus|"
		   "snapshot\"}";
	if (memchr(line, '\0', len)) {
		r->error = "a NUL byte in the request";
		goto out;
	}
	if (!tok || len > 65536)
		goto out;
	req = json_tokener_parse_ex(tok, line, (int)len);
	if (!req || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "cmd", &c) || !json_object_is_type(c, json_type_string))
		goto out;
	r->error = "unknown command";
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(json_object_get_string(c), cmds[i].name))
			r->cmd = cmds[i].cmd;
	if (r->cmd == CTL_CONSOLE && json_object_object_get_ex(req, "from", &f) &&
	    json_object_get_int64(f) > 0)
		r->from = (uint64_t)json_object_get_int64(f);
	if (r->cmd == CTL_CPUS && json_object_object_get_ex(req, "at", &f)) {
		const char *a = json_object_get_string(f);
		char *end = NULL;

		errno = 0;
		r->at = a && json_object_is_type(f, json_type_string) ? strtoull(a, &end, 16) : 0;
		if (!end || end == a || *end || errno || strncmp(a, "0x", 2) || r->at & 7) {
			r->cmd = CTL_BAD;
			r->error = "cpus' \"at\" is a guest virtual address in hex, 8-byte aligned: "
				   "\"0xffffc90000003f58\"";
		} else
			r->has_at = true;
	}
	if (r->cmd == CTL_SNAPSHOT && json_object_object_get_ex(req, "stop", &f)) {
		if (!json_object_is_type(f, json_type_boolean)) {
			r->cmd = CTL_BAD;
			r->error = "snapshot's \"stop\" is true or false";
		} else
			r->stop = json_object_get_boolean(f);
	}
	if (r->cmd == CTL_INPUT) {
		if (!json_object_object_get_ex(req, "data", &d) ||
		    !json_object_is_type(d, json_type_string) ||
		    json_object_get_string_len(d) > CTL_INPUT_MAX) {
			r->cmd = CTL_BAD;
			r->error = "input needs \"data\": a string of at most 4096 bytes";
		} else {
			r->data_len = (size_t)json_object_get_string_len(d);
			if ((r->data = malloc(r->data_len + 1)))
				memcpy(r->data, json_object_get_string(d), r->data_len + 1);
			else {
				r->cmd = CTL_BAD;
				r->error = "out of memory";
			}
		}
	}
out:
	json_object_put(req);
	if (tok)
		json_tokener_free(tok);
}

void ctl_request_free(struct ctl_request *r)
{
	free(r->data);
	r->data = NULL;
}

void ctl_member_str(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *m;
	const char *v = json_object_object_get_ex(o, key, &m) ? json_object_get_string(m) : NULL;

	snprintf(buf, len, "%s", v ? v : "-");
	text_clean(buf);
}

long long ctl_member_int(json_object *o, const char *key)
{
	json_object *m;

	return json_object_object_get_ex(o, key, &m) ? json_object_get_int64(m) : 0;
}
