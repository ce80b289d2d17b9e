/* ctlproto: one line of the control socket's protocol (docs/control-socket.md) parsed into a
 * request, apart from any VM, so that it can be fuzzed and tested alone. */
#ifndef NESTVISOR_VMM_CTLPROTO_H
#define NESTVISOR_VMM_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ctl_cmd {
	CTL_BAD,
	CTL_STATUS,
	CTL_STATS,
	CTL_PAUSE,
	CTL_RESUME,
	CTL_STOP,
	CTL_CONSOLE,
	CTL_INPUT,
	CTL_DIGEST,
	CTL_CPUS,
	CTL_POWERDOWN,
	CTL_SNAPSHOT
};

struct ctl_request {
	enum ctl_cmd cmd;
	uint64_t from;			/* console: the first byte wanted */
	bool has_at;			/* cpus: words wanted at guest virtual address at too */
	uint64_t at;
	char *data; /* input: the bytes to type (malloc'd, data_len of them, NUL-terminated) */
	size_t data_len;
	const char *error;		/* CTL_BAD: why, as the reply's "error" */
	bool stop;			/* snapshot: end the VM once saved */
	int fd;				/* snapshot: the file, passed with the line (SCM_RIGHTS); -1 */
};

/* len bytes of line (no newline); never fails to fill r: a bad line is CTL_BAD with an error. */
void ctl_parse(const char *line, size_t len, struct ctl_request *r);
void ctl_request_free(struct ctl_request *r);

/* The client's side: a reply's member as text (made printable: a socket's words may reach a
 * terminal;
 * "-" when missing) and as an integer (0 when missing). */
struct json_object;
void ctl_member_str(struct json_object *o, const char *key, char *buf, size_t len);
long long ctl_member_int(struct json_object *o, const char *key);

#endif
