/* net-user: user-mode networking for virtio-net through libslirp: `--net
 * user[,hostfwd=tcp:HPORT-:GPORT]...` gives the guest DHCP (10.0.2.15), DNS (10.0.2.3) and outbound
 * TCP/UDP through the host's sockets, with no root setup; the host is 10.0.2.2. libslirp (and the
 * GLib it needs) is loaded with dlopen when a VM asks for it, as libpq is, so no other nestvisor
 * process pays for it. No offloads: libslirp wants whole frames. */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "vmm/hw/net.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

#define FRAME_MAX 65550
#define MAX_FDS 256
#define MAX_FWD 8

/* The libslirp calls we make, typed by its own header. */
#define SLIRP_FUNCTIONS(X)                                                          \
	X(slirp_new)                                                                \
	X(slirp_cleanup) X(slirp_input) X(slirp_pollfds_fill) X(slirp_pollfds_poll) \
		X(slirp_add_hostfwd)
static struct {
#define SLIRP_MEMBER(f) __typeof__(f) *f;
	SLIRP_FUNCTIONS(SLIRP_MEMBER)
#undef SLIRP_MEMBER
} sl;

struct user {
	struct net *net;
	Slirp *slirp;
	pthread_mutex_t lock;		/* libslirp is not thread-safe: every call under this */
	pthread_t thread;
	int wake;
	bool started, stop;
	struct vmm_park park;		/* the network thread, for a pause */
	unsigned gen; /* poll rounds done: one on the I/O thread makes the network thread's stale */
	struct pollfd fds[MAX_FDS];
	int nfds;
	struct { int udp, host_port, guest_port; struct in_addr bind; } fwd[MAX_FWD];
	int nfwd;
	bool host_loopback;	/* the guest may reach this host's 127.0.0.1 as 10.0.2.2 */
	bool restrict_out;	/* the guest reaches nothing outside but its forwarded ports */
	uint8_t frame[FRAME_MAX];
};

static int load_slirp(char *err, size_t errlen)
{
	static void *h;
	const char *lib =
		getenv("NESTVISOR_LIBSLIRP") ? getenv("NESTVISOR_LIBSLIRP") : "libslirp.so.0";

	if (h)
		return 0;
	if (!(h = dlopen(lib, RTLD_NOW | RTLD_LOCAL))) {
		snprintf(err, errlen,
			 "user networking needs libslirp (%s): apt-get install libslirp0",
			 dlerror());
		return -ENOSYS;
	}
#define SLIRP_LOAD(f)                                                                      \
	if (!(sl.f = (__typeof__(f) *)dlsym(h, #f))) {                                     \
		snprintf(err, errlen, "%s has no %s: apt-get install libslirp0", lib, #f); \
		dlclose(h);                                                                \
		h = NULL;                                                                  \
		return -ENOSYS;                                                            \
	}
	SLIRP_FUNCTIONS(SLIRP_LOAD)
#undef SLIRP_LOAD
	return 0;
}

/* A frame from libslirp for the guest: into the next receive buffer the driver gave, or dropped
 * (TCP resends). */
static ssize_t to_guest(const void *buf, size_t len, void *opaque)
{
	static __thread struct virtq_chain c;
	struct user *n = opaque;
	uint8_t hdr[NET_HDR] = { [10] = 1 };	/* num_buffers: 1 */

	struct virtio_dev *v = n->net->v;

	if (virtio_pop(v, NET_RXQ, &c) != 1 || c.in_len < NET_HDR + len) {
		n->net->rx_dropped++;
		return (ssize_t)len;
	}
	virtq_scatter(&c, 0, hdr, NET_HDR);
	virtq_scatter(&c, NET_HDR, buf, len);
	__atomic_add_fetch(&v->bytes, len, __ATOMIC_RELAXED);
	virtio_push_later(v, NET_RXQ, c.head,
			  (uint32_t)(NET_HDR + len)); /* one interrupt a round */
	return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
	struct user *n = opaque;
	vmm_warn(n->net->v->vm, "virtio-net: %s", msg);
}

static int64_t clock_ns(void *opaque)
{
	struct timespec t;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* libslirp's timers serve IPv6 router advertisements, which we do not enable: none is ever armed.
 */
static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	(void)cb, (void)cb_opaque, (void)opaque;
	return NULL;
}
static void timer_free(void *t, void *opaque) { (void)t, (void)opaque; }
static void timer_mod(void *t, int64_t when, void *opaque) { (void)t, (void)when, (void)opaque; }
static void poll_fd(int fd, void *opaque) { (void)fd, (void)opaque; }

static void notify(void *opaque)
{
	struct user *n = opaque;
	uint64_t one = 1;

	if (write(n->wake, &one, 8) < 0)
		return;	/* the loop is being woken anyway */
}

static int add_poll(int fd, int events, void *opaque)
{
	struct user *n = opaque;

	if (n->nfds >= MAX_FDS)
		return -1;
	n->fds[n->nfds] = (struct pollfd){ fd, (short)((events & SLIRP_POLL_IN ? POLLIN : 0) |
						      (events & SLIRP_POLL_OUT ? POLLOUT : 0) | (events & SLIRP_POLL_PRI ? POLLPRI : 0)), 0 };
	return n->nfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct user *n = opaque;
	short r = idx >= 0 && idx < n->nfds ? n->fds[idx].revents : 0;

	return (r & POLLIN ? SLIRP_POLL_IN : 0) | (r & POLLOUT ? SLIRP_POLL_OUT : 0) |
	       (r & POLLPRI ? SLIRP_POLL_PRI : 0) | (r & POLLERR ? SLIRP_POLL_ERR : 0) |
	       (r & POLLHUP ? SLIRP_POLL_HUP : 0);
}

/* The network's own loop: the host sockets libslirp holds, and a wake-up. */
static void *slirp_thread(void *arg)
{
	struct user *n = arg;

	vmm_sandbox_enter(n->net->v->vm, VMM_THREAD_SLIRP);
	while (!__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE)) {
		uint32_t timeout = 1000;
		vmm_park_point(&n->park);	/* libslirp hands the guest frames only below */
		pthread_mutex_lock(&n->lock);
		n->nfds = 0;
		add_poll(n->wake, SLIRP_POLL_IN, n);
		sl.slirp_pollfds_fill(n->slirp, &timeout, add_poll, n);
		unsigned gen = n->gen;
		struct pollfd fds[MAX_FDS];
		int nfds = n->nfds;
		memcpy(fds, n->fds, sizeof(fds[0]) * (size_t)nfds);
		pthread_mutex_unlock(&n->lock);
		int rc = poll(fds, (nfds_t)nfds, timeout > 1000 ? 1000 : (int)timeout);
		if (fds[0].revents) {
			uint64_t x;
			if (read(n->wake, &x, 8) < 0)
				x = 0;
		}
		pthread_mutex_lock(&n->lock);
		if (gen ==
		    n->gen) { /* else another round filled libslirp's indices since: poll again */
			memcpy(n->fds, fds, sizeof(fds[0]) * (size_t)nfds);
			sl.slirp_pollfds_poll(n->slirp, rc < 0, get_revents, n);
		}
		pthread_mutex_unlock(&n->lock);
		virtio_flush(n->net->v, NET_RXQ);
	}
	return NULL;
}

/* A frame from the guest: its header dropped (no offloads were offered), the frame to libslirp. */
static void user_tx(struct net *net, struct virtq_chain *c)
{
	struct user *n = net->be_state;
	size_t len = c->out_len > NET_HDR ? (size_t)(c->out_len - NET_HDR) : 0;

	if (!len || len > FRAME_MAX)
		return;
	pthread_mutex_lock(&n->lock);
	virtq_gather(c, NET_HDR, n->frame, len);
	sl.slirp_input(n->slirp, n->frame, (int)len);
	pthread_mutex_unlock(&n->lock);
	__atomic_add_fetch(&net->v->bytes, len, __ATOMIC_RELAXED);
}

/* libslirp writes what the guest sent to the host's sockets only from its poll loop: one round of
 * it here, right after the guest's batch, on this thread (as QEMU's main loop does it after
 * slirp_input), instead of a wake-up of the network thread per batch, whose round trip is what a
 * guest's TCP waits for (measured: 4.5 MB/s from the guest with the wake-up). A poll of no time:
 * sockets not ready wait for that thread. */
static void user_tx_done(struct net *net)
{
	struct user *n = net->be_state;
	struct pollfd fds[MAX_FDS];
	uint32_t timeout = 0;

	pthread_mutex_lock(&n->lock);
	n->nfds = 0;
	sl.slirp_pollfds_fill(n->slirp, &timeout, add_poll, n);
	int nfds = n->nfds;
	memcpy(fds, n->fds, sizeof(fds[0]) * (size_t)nfds);
	int rc = poll(fds, (nfds_t)nfds, 0);
	memcpy(n->fds, fds, sizeof(fds[0]) * (size_t)nfds);
	sl.slirp_pollfds_poll(n->slirp, rc < 0, get_revents, n);
	/* libslirp's sockets now hold this round's indices: the network thread's are stale */
	n->gen++;
	pthread_mutex_unlock(&n->lock);
	virtio_flush(net->v, NET_RXQ);
	notify(n); /* it fills its own again (what could not be written waits for its POLLOUT) */
}

static void user_rx_ready(struct net *net)
{
	notify(net->be_state);
}

/* The network thread parked (the device's I/O thread, which also runs libslirp, is already):
 * libslirp then gives the guest nothing; the host's sockets keep what comes meanwhile. */
static int user_pause(struct net *net)
{
	struct user *n = net->be_state;

	return n->started ? vmm_park_request(&n->park, notify, n) : 0;
}

static void user_resume(struct net *net)
{
	vmm_park_release(&((struct user *)net->be_state)->park);
}

/* "hostfwd=tcp:[ADDR]:HOSTPORT-:GUESTPORT" (QEMU's form; ADDR 127.0.0.1 when left out): 0 or
 * -EINVAL. */
static int parse_fwd(const char *tok, struct user *n)
{
	char proto[4], addr[64] = "127.0.0.1";
	int hp, gp, used = 0;

	/* QEMU's form leaves the address empty ("tcp::2222-:22"); ours may drop its colon too */
	bool bare = sscanf(tok, "hostfwd=%3[a-z]::%d-:%d%n", proto, &hp, &gp, &used) == 3 &&
		    !tok[used];
	used = 0;
	bare = bare ||
	       (sscanf(tok, "hostfwd=%3[a-z]:%d-:%d%n", proto, &hp, &gp, &used) == 3 && !tok[used]);
	used = 0;
	if (!bare && (sscanf(tok, "hostfwd=%3[a-z]:%63[0-9.]:%d-:%d%n", proto, addr, &hp, &gp,
			     &used) != 4 ||
		      tok[used]))
		return -EINVAL;
	if ((strcmp(proto, "tcp") && strcmp(proto, "udp")) || hp < 1 || hp > 65535 || gp < 1 ||
	    gp > 65535 || inet_pton(AF_INET, addr, &n->fwd[n->nfwd].bind) != 1)
		return -EINVAL;
	n->fwd[n->nfwd].udp = !strcmp(proto, "udp");
	n->fwd[n->nfwd].host_port = hp;
	n->fwd[n->nfwd++].guest_port = gp;
	return 0;
}

/* An on|off option: 1, 0, or -1 when tok is not that option. */
static int on_off(const char *tok, const char *name, bool *out)
{
	size_t k = strlen(name);

	if (strncmp(tok, name, k) || tok[k] != '=')
		return -1;
	if (strcmp(tok + k + 1, "on") && strcmp(tok + k + 1, "off"))
		return -1;
	*out = !strcmp(tok + k + 1, "on");
	return 0;
}

/* "hostfwd=tcp:2222-:22,hostfwd=udp:127.0.0.1:5353-:53,hostloopback=on,restrict=on" (or nothing).
 */
static int parse_user(const char *opts, struct user *n, char *err, size_t errlen)
{
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", opts);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (on_off(tok, "hostloopback", &n->host_loopback) == 0 ||
		    on_off(tok, "restrict", &n->restrict_out) == 0)
			continue;
		if (n->nfwd >= MAX_FWD || parse_fwd(tok, n) < 0)
			return errmsg(err, errlen, -EINVAL,
				      "user networking: '%s' is not "
				      "hostfwd=tcp|udp:[ADDR]:HOSTPORT-:GUESTPORT (at most %d), "
				      "hostloopback=on|off or restrict=on|off",
				      tok, MAX_FWD);
	}
	return 0;
}

static int user_open(struct net *net, const char *opts, char *err, size_t errlen)
{
	struct user *n = calloc(1, sizeof(*n));
	int rc;

	if (!n)
		return -ENOMEM;
	net->be_state = n;
	n->net = net;
	n->wake = -1;
	pthread_mutex_init(&n->lock, NULL);
	vmm_park_init(&n->park);
	net->features = NET_F_MAC;
	if ((rc = parse_user(opts, n, err, errlen)) < 0 || (rc = load_slirp(err, errlen)) < 0)
		return rc;
	if ((n->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return errmsg(err, errlen, -errno, "virtio-net: eventfd: %s", strerror(errno));
	return 0;
}

static int user_start(struct net *net, char *err, size_t errlen)
{
	static const SlirpCb cb = { .send_packet = to_guest,
				    .guest_error = guest_error,
				    .clock_get_ns = clock_ns,
				    .timer_new = timer_new,
				    .timer_free = timer_free,
				    .timer_mod = timer_mod,
				    .register_poll_fd = poll_fd,
				    .unregister_poll_fd = poll_fd,
				    .notify = notify };
	struct user *n = net->be_state;
	int rc;

	/* By default the guest does not reach this host's own 127.0.0.1 through 10.0.2.2: services
	 * bound there (a local database, an admin API) trust whoever connects from this host, and
	 * the VMM often runs as root. hostloopback=on allows it (QEMU's default); restrict=on keeps
	 * the guest from everything outside but its forwarded ports. */
	SlirpConfig c = { .version = 1,
			  .in_enabled = true,
			  .vhostname = "nestvisor",
			  .restricted = n->restrict_out,
			  .disable_host_loopback = !n->host_loopback };
	inet_pton(AF_INET, "10.0.2.0", &c.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &c.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &c.vhost);
	inet_pton(AF_INET, "10.0.2.15", &c.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &c.vnameserver);
	if (!(n->slirp = sl.slirp_new(&c, &cb, n)))
		return errmsg(err, errlen, -EIO, "virtio-net: libslirp could not start");
	struct in_addr guest = c.vdhcp_start;
	for (int i = 0; i < n->nfwd; i++)
		if (sl.slirp_add_hostfwd(n->slirp, n->fwd[i].udp, n->fwd[i].bind,
					 n->fwd[i].host_port, guest, n->fwd[i].guest_port) < 0) {
			char a[INET_ADDRSTRLEN] = "?";
			inet_ntop(AF_INET, &n->fwd[i].bind, a, sizeof(a));
			return errmsg(err, errlen, -EADDRINUSE,
				      "user networking: forwarding %s:%d: the port is taken on "
				      "this host, or the address is not one of its own",
				      a, n->fwd[i].host_port);
		}
	if ((rc = pthread_create(&n->thread, NULL, slirp_thread, n)) != 0)
		return errmsg(err, errlen, -rc, "virtio-net: its thread: %s", strerror(rc));
	n->started = true;
	return 0;
}

/* The thread first (no more frames for the guest), then libslirp; the device is still there. */
static void user_close(struct net *net)
{
	struct user *n = net->be_state;

	if (!n)
		return;
	if (n->started) {
		__atomic_store_n(&n->stop, true, __ATOMIC_RELEASE);
		vmm_park_stop(&n->park);
		notify(n);
		pthread_join(n->thread, NULL);
	}
	if (n->slirp)
		sl.slirp_cleanup(n->slirp);
	if (n->wake >= 0)
		close(n->wake);
	free(n);
	net->be_state = NULL;
}

static const char *user_describe(struct net *net)
{
	struct user *n = net->be_state;

	if (n && n->restrict_out)
		return "user (10.0.2.15, restricted: forwarded ports only)";
	if (n && n->host_loopback)
		return "user (10.0.2.15, this host's 127.0.0.1 reachable as 10.0.2.2)";
	return "user (10.0.2.15)";
}

const struct net_backend net_user_backend = {
	.name = "user",
	.usage = "user[,hostfwd=tcp|udp:[ADDR]:HOSTPORT-:GUESTPORT]...[,hostloopback=on|off]"
		 "[,restrict=on|off]",
	.open = user_open,
	.start = user_start,
	.tx = user_tx,
	.tx_done = user_tx_done,
	.rx_ready = user_rx_ready,
	.close = user_close,
	.describe = user_describe,
	.pause = user_pause,
	.resume = user_resume,
};
