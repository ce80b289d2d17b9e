/* control: the VM's control socket ($XDG_RUNTIME_DIR/nestvisor/NAME.sock), one JSON object per
 * line: status, stats, pause, resume, stop, and the serial console (console, input). */
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
#include "vmm/sandbox.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

#define CTL_MAX_CLIENTS 32
#define CTL_LINE_MAX 4096

struct vmm_control {
	int listen_fd, wake[2];
	char path[108];
	pthread_t thread;
	char name[64];
};
static char *status_json(struct vmm *vm, const char *name)
{
	json_object *o = json_object_new_object();
	char *out;

	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	const char *state = "running";
	if (atomic_load(&vm->end) != VMM_END_RUNNING)
		state = "ended";
	else if (atomic_load(&vm->suspended))
		state = "suspended";
	else if (atomic_load(&vm->paused))
		state = "paused";
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "cpus", json_object_new_int(vm->ncpus));
	json_object_object_add(o, "mem", json_object_new_int64((int64_t)vm->mem.size));
	json_object_object_add(o, "uptime_ns",
			       json_object_new_int64((int64_t)(vmm_now_ns() - vm->start_ns)));
	json_object_object_add(o, "kernel", json_object_new_string(vm->cfg.kernel));
	json_object_object_add(o, "boot", json_object_new_string(vmm_boot_kind(vm)));
	json_object_object_add(o, "console",
			       vmm_pty_path(vm) ? json_object_new_string(vmm_pty_path(vm)) : NULL);
	int state_size;
	json_object_object_add(o, "nested", json_object_new_boolean(vmm_nested(vm, &state_size)));
	json_object_object_add(o, "nested_state_bytes", json_object_new_int(state_size));
	json_object *disks = json_object_new_array();
	for (int i = 0; i < vm->cfg.ndisks; i++) {
		char spec[4200];
		vmm_disk_spec(&vm->cfg.disks[i], spec, sizeof(spec));
		json_object_array_add(disks, json_object_new_string(spec));
	}
	json_object_object_add(o, "disks", disks);
	json_object *pass = json_object_new_array();
	for (int i = 0; i < vm->cfg.npassthrough; i++)
		json_object_array_add(pass, json_object_new_string(vm->cfg.passthrough[i]));
	json_object_object_add(o, "devices", pass);
	json_object_object_add(o, "rng", json_object_new_boolean(vm->cfg.rng));
	json_object_object_add(o, "sandbox", json_object_new_boolean(vm->cfg.sandbox));
	json_object_object_add(o, "net", vm->cfg.net ? json_object_new_string(vm->cfg.net) : NULL);
	const char *net = vmm_virtio_net_describe(vm);
	json_object_object_add(o, "net_backend", net ? json_object_new_string(net) : NULL);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

#define CONSOLE_CHUNK 4096

/* {"cmd":"console","from":N}: the console's output from byte N (bytes as the guest sent them). */
static char *console_json(struct vmm *vm, uint64_t from)
{
	json_object *o = json_object_new_object();
	uint64_t next, lost;
	char buf[CONSOLE_CHUNK], *out;

	size_t n = vmm_serial_history(vm, from, buf, sizeof(buf), &next, &lost);
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "data", json_object_new_string_len(buf, (int)n));
	json_object_object_add(o, "next", json_object_new_int64((int64_t)next));
	json_object_object_add(o, "lost", json_object_new_int64((int64_t)lost));
	out = strdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static char *error_json(const char *why)
{
	json_object *o = json_object_new_object();
	char *out;

	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "error", json_object_new_string(why));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* The commands, one handler each (kvmtool's kvm-ipc handlers are the model); each returns its
 * reply, malloc'd. */
typedef char *ctl_handler(struct vmm *vm, const char *name, const struct ctl_request *r);

static char *ok_json(void)
{
	return strdup("{\"ok\":true}");
}

static char *on_bad(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	(void)vm;
	(void)name;
	return error_json(r->error);
}

static char *on_status(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	(void)r;
	return status_json(vm, name);
}

static char *on_console(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	(void)name;
	return console_json(vm, r->from);
}

static char *on_input(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	(void)name;
	vmm_serial_input(vm, (const uint8_t *)r->data,
			 r->data_len); /* typed on the guest's console */
	return ok_json();
}

static char *on_stats(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	struct vmm_stats s;
	char *out = NULL;

	(void)name;
	(void)r;
	vmm_stats_get(vm, &s);
	char *j = vmm_stats_json(&s);
	if (j && (out = malloc(strlen(j) + 16)))
		sprintf(out, "{\"ok\":true,%s", j + 1);
	free(j);
	return out;
}

static char *on_pause(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	int rc;

	(void)name;
	(void)r;
	if ((rc = vmm_pause(vm)) < 0)
		return error_json(rc == -EBUSY ? "a vCPU or device did not stop within 5 s; the VM "
						 "runs on (its log says which)" :
						 "a device could not pause; the VM runs on (its log says "
						 "which)");
	return ok_json();
}

static char *on_resume(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	(void)name;
	(void)r;
	vmm_resume(vm);
	return ok_json();
}

static char *on_digest(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	struct vmm_digest d;
	char *j, *out = NULL;

	(void)name;
	(void)r;
	if (vmm_digest(vm, &d) < 0)
		return error_json("not paused: a digest is of a paused VM (pause it first)");
	j = vmm_digest_json(&d);
	if (j && (out = malloc(strlen(j) + 16)))
		sprintf(out, "{\"ok\":true,%s", j + 1);
	free(j);
	return out;
}

static char *on_cpus(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	int rc;
	char *out;

	(void)name;
	if (!(out = vmm_cpus_json(vm, r->has_at ? &r->at : NULL, &rc)) && rc == -EBUSY)
		return error_json("its vCPUs did not stop within 5 s to be read");
	return out;
}

static char *on_stop(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	(void)name;
	(void)r;
	vmm_stop(vm);
	return ok_json();
}

/* QEMU's system_powerdown: the guest asked to power itself off, through ACPI's power button */
static char *on_powerdown(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	(void)name;
	(void)r;
	if (atomic_load(&vm->paused))
		return error_json("paused: a paused guest cannot see the power button (resume it, "
				  "or stop it)");
	if (atomic_load(&vm->suspended))
		return error_json("suspended to RAM by its guest: `nestvisor resume` wakes it to hear "
				  "the button");
	if (vmm_power_button(vm) < 0)
		return error_json("its guest does not listen for the ACPI power button (no OS has "
				  "enabled its event)");
	return ok_json();
}

/* The client opened the file (where, as whom, never over another): the VM only writes into it. */
static char *on_snapshot(struct vmm *vm, const char *name, const struct ctl_request *r)
{
	char err[512];
	struct stat st;
	uint64_t t0 = vmm_now_ns();
	int fl = r->fd >= 0 ? fcntl(r->fd, F_GETFL) : -1;

	(void)name;
	if (r->fd < 0)
		return error_json("snapshot needs its file passed with the request (SCM_RIGHTS), as "
				  "`nestvisor snapshot NAME FILE` does");
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
		return error_json("the snapshot file passed was not opened for writing");
	if (vmm_snapshot_write(vm, r->fd, r->stop, err, sizeof(err)) < 0 || fstat(r->fd, &st) < 0)
		return error_json(err[0] ? err : strerror(errno));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)st.st_size));
	json_object_object_add(o, "disk_bytes", json_object_new_int64((int64_t)st.st_blocks * 512));
	json_object_object_add(o, "mem", json_object_new_int64((int64_t)vm->mem.size));
	json_object_object_add(o, "ms", json_object_new_double((double)(vmm_now_ns() - t0) / 1e6));
	json_object_object_add(o, "stopped", json_object_new_boolean(r->stop));
	char *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

static ctl_handler *const handlers[] = {
	[CTL_BAD] = on_bad,         [CTL_STATUS] = on_status, [CTL_STATS] = on_stats,
	[CTL_PAUSE] = on_pause,     [CTL_RESUME] = on_resume, [CTL_STOP] = on_stop,
	[CTL_CONSOLE] = on_console, [CTL_INPUT] = on_input,   [CTL_DIGEST] = on_digest,
	[CTL_CPUS] = on_cpus,       [CTL_POWERDOWN] = on_powerdown, [CTL_SNAPSHOT] = on_snapshot,
};

/* fd: a file the client passed with the line, or -1; closed here whatever the command */
static char *answer(struct vmm *vm, const char *name, const char *line, size_t len, int fd)
{
	struct ctl_request r;

	ctl_parse(line, len, &r);
	if (r.cmd == CTL_SNAPSHOT)
		r.fd = fd;
	char *out = handlers[r.cmd](vm, name, &r);
	ctl_request_free(&r);
	if (fd >= 0)
		close(fd);
	return out;
}

/* A client never blocks the VMM: its socket is non-blocking, its answers wait in a bounded buffer,
 * and one that reads too slowly, or sends nothing for CTL_IDLE_MS, is dropped. */
#define CTL_OUT_MAX (1u << 20)
#define CTL_IDLE_MS 30000
struct client {
	int fd;
	int passed;			/* a file sent with its next line (SCM_RIGHTS), or -1 */
	char buf[CTL_LINE_MAX];
	size_t len;
	char *out;
	size_t outlen, outcap;
	uint64_t last_ns;
};

static bool queue_reply(struct client *cl, const char *reply)
{
	size_t n = strlen(reply) + 1;

	if (cl->outlen + n > CTL_OUT_MAX)
		return false;	/* it does not read what it asked for */
	if (cl->outlen + n > cl->outcap) {
		size_t cap = cl->outcap ? cl->outcap : 4096;
		while (cap < cl->outlen + n)
			cap *= 2;
		char *o = realloc(cl->out, cap);
		if (!o)
			return false;
		cl->out = o;
		cl->outcap = cap;
	}
	memcpy(cl->out + cl->outlen, reply, n - 1);
	cl->out[cl->outlen + n - 1] = '\n';
	cl->outlen += n;
	return true;
}

/* Sends what the socket takes now. MSG_NOSIGNAL: a client gone before its answer must not kill the
 * VMM. */
static bool flush(struct client *cl)
{
	while (cl->outlen) {
		ssize_t n = send(cl->fd, cl->out, cl->outlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		cl->outlen -= (size_t)n;
		memmove(cl->out, cl->out + n, cl->outlen);
	}
	return true;
}

/* What arrived, and a file passed with it: kept for the line it came with (one at a time; any
 * more, or more than one fd at once, are closed). */
static ssize_t receive(struct client *cl)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(4 * sizeof(int))];
	} c;
	struct iovec io = { cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = c.b,
			    .msg_controllen = sizeof(c.b) };
	ssize_t n = recvmsg(cl->fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	for (struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		int fds[4], k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(h), (size_t)k * sizeof(int));
		for (int i = 0; i < k; i++) {
			if (i == 0 && k == 1 && cl->passed < 0)
				cl->passed = fds[i];
			else
				close(fds[i]);
		}
	}
	return n;
}

/* Reads what arrived; answers each complete line. Returns false when the client is gone or
 * misbehaves. */
static bool serve(struct vmm *vm, struct vmm_control *ctl, struct client *cl)
{
	ssize_t n = receive(cl);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	cl->len += (size_t)n;
	cl->buf[cl->len] = '\0';
	cl->last_ns = vmm_now_ns();
	while ((nl = memchr(cl->buf, '\n', cl->len))) {
		*nl = '\0';
		size_t line = (size_t)(nl - cl->buf);
		char *reply = answer(vm, ctl->name, cl->buf, line, cl->passed);
		cl->passed = -1;
		bool ok = reply && queue_reply(cl, reply);
		free(reply);
		cl->len -= line + 1;
		memmove(cl->buf, nl + 1, cl->len + 1);
		if (!ok)
			return false;
	}
	return cl->len < sizeof(cl->buf) - 1 &&
		flush(cl); /* a line longer than that is not a request */
}

static void drop(struct client *cl, int *n, int i)
{
	close(cl[i].fd);
	if (cl[i].passed >= 0)
		close(cl[i].passed);
	free(cl[i].out);
	cl[i] = cl[--*n];
}

static void *control_thread(void *arg)
{
	struct vmm *vm = arg;
	struct vmm_control *ctl = vm->control;
	struct client cl[CTL_MAX_CLIENTS];
	struct pollfd p[CTL_MAX_CLIENTS + 2];
	int n = 0;

	vmm_sandbox_enter(vm, VMM_THREAD_CONTROL);

	for (;;) {
		p[0] = (struct pollfd){ ctl->listen_fd, POLLIN, 0 };
		p[1] = (struct pollfd){ ctl->wake[0], POLLIN, 0 };
		for (int i = 0; i < n;
		     i++) /* answers first: no new request while one waits to be read */
			p[i + 2] = (struct pollfd){ cl[i].fd, cl[i].outlen ? POLLOUT : POLLIN, 0 };
		if (poll(p, (nfds_t)n + 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		uint64_t now = vmm_now_ns();
		for (int i = n - 1; i >= 0; i--) {
			short ev = p[i + 2].revents;
			bool ok = !(ev & (POLLERR | POLLNVAL)) &&
				now - cl[i].last_ns < (uint64_t)CTL_IDLE_MS * 1000000;
			if (ok && (ev & POLLOUT)) {
				ok = flush(&cl[i]);
				cl[i].last_ns = now;
			} else if (ok && (ev & (POLLIN | POLLHUP)))
				ok = serve(vm, ctl, &cl[i]);
			if (!ok)
				drop(cl, &n, i);
		}
		if (p[0].revents & POLLIN) {
			int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd >= 0 && n < CTL_MAX_CLIENTS)
				cl[n++] = (struct client){ .fd = fd, .passed = -1, .last_ns = now };
			else if (fd >= 0)
				close(fd);	/* too many clients at once */
		}
	}
	for (int i = 0; i < n; i++) {
		close(cl[i].fd);
		if (cl[i].passed >= 0)
			close(cl[i].passed);
		free(cl[i].out);
	}
	return NULL;
}

/* A socket nobody answers on is left by a killed VMM: remove it. One that answers is a live VM. */
static int claim_path(const char *path, const char *name, char *err, size_t errlen)
{
	int fd = vmm_control_connect(path);

	if (fd >= 0) {
		close(fd);
		snprintf(err, errlen, "a VM named %s is already running (%s); choose another name",
			 name, path);
		return -EADDRINUSE;
	}
	if (fd == -ECONNREFUSED)
		vmm_control_remove_stale(path);
	return 0;
}

/* The VM tears its socket down with its devices (device.h), before them: it is registered after
 * them, and its thread calls into them. */
static void control_destroy(struct vmm *vm, void *priv)
{
	(void)priv;	/* vm->control, or gone already (a start that failed stops it at once) */
	vmm_control_stop(vm);
}

static const struct vmm_device_ops control_device = { .kind = "control socket",
						      .destroy = control_destroy,
						      .stateless = true };

int vmm_control_start(struct vmm *vm, const char *name, char *err, size_t errlen)
{
	struct vmm_control *ctl = calloc(1, sizeof(*ctl));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int rc;

	if (!ctl || vmm_device_add(vm, &control_device, ctl) < 0) {
		free(ctl);
		return -ENOMEM;
	}
	vm->control = ctl;
	ctl->listen_fd = ctl->wake[0] = ctl->wake[1] = -1;
	snprintf(ctl->name, sizeof(ctl->name), "%s", name);
	char dir[96];
	if ((rc = vmm_control_name_check(name, err, errlen)) < 0 ||
	    (rc = vmm_control_dir(dir, sizeof(dir), err, errlen)) < 0)
		return rc;
	if ((rc = vmm_control_path(name, ctl->path, sizeof(ctl->path))) < 0) {
		snprintf(err, errlen, "VM %s: no control socket for it (%s)", name, strerror(-rc));
		return rc;
	}
	if ((rc = claim_path(ctl->path, name, err, errlen)) < 0)
		return rc;
	vmm_ended_dismiss(name);	/* a VM of this name ended before: this one is the VM now */
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", ctl->path);
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl->listen_fd < 0 || bind(ctl->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(ctl->listen_fd, 8) < 0 || pipe2(ctl->wake, O_CLOEXEC) < 0 ||
	    (rc = pthread_create(&ctl->thread, NULL, control_thread, vm)) != 0) {
		snprintf(err, errlen, "control socket %s: %s", ctl->path, strerror(errno));
		vmm_control_stop(vm);
		return -EIO;
	}
	return 0;
}

void vmm_control_stop(struct vmm *vm)
{
	struct vmm_control *ctl = vm->control;

	if (!ctl)
		return;
	if (ctl->wake[1] >= 0 && write(ctl->wake[1], "", 1) == 1)
		pthread_join(ctl->thread, NULL);
	if (ctl->listen_fd >= 0) {
		close(ctl->listen_fd);
		unlink(ctl->path);
	}
	for (int i = 0; i < 2; i++)
		if (ctl->wake[i] >= 0)
			close(ctl->wake[i]);
	free(ctl);
	vm->control = NULL;
}

