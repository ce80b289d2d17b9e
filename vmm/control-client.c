/* control-client: the other side of the control socket: one request and its reply, typed
 * (status, stats, a command), the console's bytes, and every running VM of this user. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/safefile.h"
#include "common/text.h"
#include "vmm/control.h"
#include "vmm/ctlproto.h"
#include "vmm/vmm.h"

char *vmm_control_call(const char *path, const char *request, int timeout_ms)
{
	enum { REPLY_MAX = 1 << 20 };
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nl = NULL;
	int fd = buf ? vmm_control_connect(path) : -ENOMEM;

	if (fd < 0) {
		free(buf);
		errno = -fd;
		return NULL;
	}
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0)
		goto fail;
	while (!(nl = memchr(buf, '\n', len))) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (len + 1 >= cap) {
			char *more = cap < REPLY_MAX ? realloc(buf, cap * 2) : NULL;
			if (!more) {
				errno = EMSGSIZE;
				goto fail;
			}
			buf = more;
			cap *= 2;
		}
		if (poll(&p, 1, timeout_ms) <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0) {
			errno = ECONNRESET;
			goto fail;
		}
		len += (size_t)n;
	}
	close(fd);
	*nl = '\0';
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

char *vmm_control_request(const char *path, const char *cmd, int timeout_ms)
{
	char req[128];

	if (cmd[0] == '{')	/* a whole request, e.g. one with arguments */
		snprintf(req, sizeof(req), "%s", cmd);
	else
		snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}", cmd);
	return vmm_control_call(path, req, timeout_ms);
}

long vmm_control_console_read(const char *path, uint64_t *from, uint64_t *lost, char *buf,
			      size_t len)
{
	char req[96], *reply;
	json_object *o, *d;
	long n;

	snprintf(req, sizeof(req), "{\"cmd\":\"console\",\"from\":%llu}",
		 (unsigned long long)*from);
	if (!(reply = vmm_control_call(path, req, 2000)))
		return -errno;
	o = json_tokener_parse(reply);
	free(reply);
	if (!json_object_object_get_ex(o, "data",
				       &d)) { /* a nestvisor from before the console was served */
		json_object_put(o);
		return -ENOTSUP;
	}
	n = json_object_get_string_len(d) < (int)len ? json_object_get_string_len(d) : (long)len;
	memcpy(buf, json_object_get_string(d), (size_t)n);
	*from = (uint64_t)ctl_member_int(o, "next") - (uint64_t)(json_object_get_string_len(d) - n);
	if (lost)
		*lost += (uint64_t)ctl_member_int(o, "lost");
	json_object_put(o);
	return n;
}

int vmm_control_console_write(const char *path, const char *data, size_t n)
{
	json_object *d = json_object_new_string_len(data, (int)n);	/* json-c escapes it */
	const char *js = json_object_to_json_string(d);
	char *req = malloc(strlen(js) + 32), *reply = NULL;

	if (req) {
		sprintf(req, "{\"cmd\":\"input\",\"data\":%s}", js);
		reply = vmm_control_call(path, req, 2000);
	}
	int rc = reply ? 0 : req ? -errno : -ENOMEM;
	free(reply);
	free(req);
	json_object_put(d);
	return rc;
}

int vmm_status_from_json(const char *text, struct vmm_status *st)
{
	json_object *o = text ? json_tokener_parse(text) : NULL;

	memset(st, 0, sizeof(*st));
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	ctl_member_str(o, "name", st->name, sizeof(st->name));
	ctl_member_str(o, "state", st->state, sizeof(st->state));
	ctl_member_str(o, "console", st->console, sizeof(st->console));
	ctl_member_str(o, "kernel", st->kernel, sizeof(st->kernel));
	ctl_member_str(o, "boot", st->boot, sizeof(st->boot));
	ctl_member_str(o, "net", st->net, sizeof(st->net));
	ctl_member_str(o, "net_backend", st->net_backend, sizeof(st->net_backend));
	st->pid = (int)ctl_member_int(o, "pid");
	st->cpus = (int)ctl_member_int(o, "cpus");
	st->nested_state_bytes = (int)ctl_member_int(o, "nested_state_bytes");
	st->mem = (uint64_t)ctl_member_int(o, "mem");
	st->uptime_ns = (uint64_t)ctl_member_int(o, "uptime_ns");
	st->nested = ctl_member_int(o, "nested");
	st->rng = ctl_member_int(o, "rng");
	st->sandbox = ctl_member_int(o, "sandbox");
	json_object *disks;
	if (json_object_object_get_ex(o, "disks", &disks) &&
	    json_object_is_type(disks, json_type_array))
		st->ndisks = (int)json_object_array_length(disks);
	json_object *pass;
	snprintf(st->devices, sizeof(st->devices), "-");
	if (json_object_object_get_ex(o, "devices", &pass) &&
	    json_object_is_type(pass, json_type_array)) {
		size_t at = 0, n = json_object_array_length(pass);
		for (size_t i = 0; i < n && i < 4; i++) {
			char bdf[16], err[8];
			const char *s = json_object_get_string(json_object_array_get_idx(pass, i));
			if (vmm_pci_addr_parse(s, bdf, err, sizeof(err)) < 0)
				continue;	/* only what is an address is shown */
			at += (size_t)snprintf(st->devices + at, sizeof(st->devices) - at, "%s%s",
					       at ? "," : "", bdf + 5);
		}
	}
	json_object_put(o);
	return 0;
}

/* One request to the VM called name: its reply (malloc'd), or NULL with *rc set. */
static char *ask(const char *name, const char *cmd, int *rc)
{
	char path[128], *reply;

	if (vmm_control_path(name, path, sizeof(path)) < 0) {
		*rc = -EINVAL;
		return NULL;
	}
	if (!(reply = vmm_control_request(path, cmd, 2000)))
		*rc = errno == ENOENT || errno == ECONNREFUSED ? -errno : -EIO;
	return reply;
}

int vmm_control_status(const char *name, struct vmm_status *st)
{
	int rc = 0;
	char *r = ask(name, "status", &rc);

	if (r)
		rc = vmm_status_from_json(r, st);
	free(r);
	return rc;
}

int vmm_control_stats(const char *name, struct vmm_stats *s)
{
	int rc = 0;
	char *r = ask(name, "stats", &rc);

	if (r)
		rc = vmm_stats_from_json(r, s);
	free(r);
	return rc;
}

int vmm_control_command(const char *name, const char *cmd)
{
	int rc = 0;
	char *r = ask(name, cmd, &rc);

	free(r);
	return r ? 0 : rc;
}

int vmm_control_list(vmm_control_each_fn fn, void *ctx, int *stale)
{
	char dir[96], path[400], name[64], err[8];
	struct dirent *de;
	int live = 0;
	DIR *d;

	*stale = 0;
	if (vmm_control_dir(dir, sizeof(dir), err, 0) < 0 || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 6 || l - 5 >= sizeof(name) || strcmp(de->d_name + l - 5, ".sock"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(name, sizeof(name), "%.*s", (int)(l - 5), de->d_name);
		char *st = vmm_control_request(path, "status", 5000);
		if (!st) {
			if (errno == ECONNREFUSED && vmm_control_remove_stale(path)) /* its VMM was killed */
				(*stale)++;
			continue;
		}
		char *sx = vmm_control_request(path, "stats", 5000);
		struct vmm_status status;
		struct vmm_stats stats;
		if (vmm_status_from_json(st, &status) == 0) {
			vmm_stats_from_json(sx, &stats);	/* zeros when it gave none */
			fn(&status, &stats, ctx);
			live++;
		}
		free(st);
		free(sx);
	}
	closedir(d);
	return live;
}


/* A reply that is not {"ok":true,...}: -EAGAIN with its "error" in err; 0 otherwise */
static int refused(const char *reply, char *err, size_t errlen)
{
	json_object *o = json_tokener_parse(reply), *ok;
	int rc = 0;

	if (!o || !json_object_object_get_ex(o, "ok", &ok) || !json_object_get_boolean(ok)) {
		ctl_member_str(o, "error", err, errlen);
		rc = -EAGAIN;
	}
	json_object_put(o);
	return rc;
}

/* A command whose reply may be a refusal ({"ok":false,"error":...}): 0, -ENOENT (no such VM),
 * -EAGAIN with the VM's reason in err, or -EIO. A pause may take 10 s: every vCPU and device
 * gets 5. */
int vmm_control_ask(const char *name, const char *cmd, char **reply, char *err, size_t errlen)
{
	char path[128];

	*reply = NULL;
	if (errlen)
		err[0] = '\0';
	if (vmm_control_path(name, path, sizeof(path)) < 0)
		return -EINVAL;
	if (!(*reply = vmm_control_request(path, cmd, 15000)))
		return errno == ENOENT || errno == ECONNREFUSED ? -ENOENT : -EIO;
	return refused(*reply, err, errlen);
}

/* The request line with the file beside it (SCM_RIGHTS), then the reply as vmm_control_call reads
 * it. A snapshot takes as long as the guest's memory takes to write: 10 minutes at most. */
int vmm_control_snapshot(const char *name, int fd, bool stop, char **reply, char *err,
			 size_t errlen)
{
	char path[128], req[64], buf[1 << 16];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} c = { 0 };
	size_t len = 0;
	int s;

	*reply = NULL;
	if (errlen)
		err[0] = '\0';
	if (vmm_control_path(name, path, sizeof(path)) < 0)
		return -EINVAL;
	if ((s = vmm_control_connect(path)) < 0)
		return s == -ENOENT || s == -ECONNREFUSED ? -ENOENT : -EIO;
	snprintf(req, sizeof(req), "{\"cmd\":\"snapshot\",\"stop\":%s}\n", stop ? "true" : "false");
	struct iovec io = { req, strlen(req) };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = sizeof(c.b) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	if (sendmsg(s, &m, MSG_NOSIGNAL) != (ssize_t)io.iov_len) {
		close(s);
		return -EIO;
	}
	while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
		struct pollfd p = { s, POLLIN, 0 };
		ssize_t n;
		if (poll(&p, 1, 600000) <= 0 || (n = read(s, buf + len, sizeof(buf) - 1 - len)) <= 0) {
			close(s);
			return -EIO;
		}
		len += (size_t)n;
	}
	close(s);
	buf[len] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	if (!(*reply = strdup(buf)))
		return -ENOMEM;
	return refused(*reply, err, errlen);
}
