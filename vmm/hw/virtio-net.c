/* virtio-net with user-mode networking (virtio 1.2, 5.1; libslirp): `--net user[,hostfwd=tcp:HPORT-:GPORT]...`
 * gives the guest DHCP (10.0.2.15), DNS (10.0.2.3) and outbound TCP/UDP through the host's sockets, with no
 * root setup; the host is 10.0.2.2. libslirp (and the GLib it needs) is loaded with dlopen when a VM asks for
 * a network, as libpq is, so no other nestvisor process pays for it. Frames travel without offloads: each
 * buffer is a 12-byte virtio_net_hdr_v1 and an Ethernet frame. */
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
#include "vmm/hw/virtio-pci.h"
#include "vmm/vm.h"

#define NET_F_MAC (1ull << 5)
#define NET_HDR 12
#define FRAME_MAX 65550
#define RXQ 0
#define TXQ 1
#define MAX_FDS 256
#define MAX_FWD 8

/* The libslirp calls we make, typed by its own header. */
#define SLIRP_FUNCTIONS(X) X(slirp_new) X(slirp_cleanup) X(slirp_input) X(slirp_pollfds_fill) X(slirp_pollfds_poll) \
	X(slirp_add_hostfwd)
static struct {
#define SLIRP_MEMBER(f) __typeof__(f) *f;
	SLIRP_FUNCTIONS(SLIRP_MEMBER)
#undef SLIRP_MEMBER
} sl;

struct net {
	struct virtio_dev *v;
	Slirp *slirp;
	pthread_mutex_t lock;		/* libslirp is not thread-safe: every call under this */
	pthread_t thread;
	int wake;
	bool started, stop;
	uint8_t mac[6];
	struct pollfd fds[MAX_FDS];
	int nfds;
	struct { int udp, host_port, guest_port; } fwd[MAX_FWD];
	int nfwd;
	uint64_t rx_dropped;
	uint8_t frame[FRAME_MAX];
};

static int load_slirp(char *err, size_t errlen)
{
	static void *h;
	const char *lib = getenv("NESTVISOR_LIBSLIRP") ? getenv("NESTVISOR_LIBSLIRP") : "libslirp.so.0";

	if (h)
		return 0;
	if (!(h = dlopen(lib, RTLD_NOW | RTLD_LOCAL))) {
		snprintf(err, errlen, "--net user needs libslirp (%s): apt-get install libslirp0", dlerror());
		return -ENOSYS;
	}
#define SLIRP_LOAD(f) if (!(sl.f = (__typeof__(f) *)dlsym(h, #f))) { \
		snprintf(err, errlen, "%s has no %s: apt-get install libslirp0", lib, #f); dlclose(h); h = NULL; return -ENOSYS; }
	SLIRP_FUNCTIONS(SLIRP_LOAD)
#undef SLIRP_LOAD
	return 0;
}

/* A frame from libslirp for the guest: into the next receive buffer the driver gave, or dropped (TCP resends). */
static ssize_t to_guest(const void *buf, size_t len, void *opaque)
{
	static __thread struct virtq_chain c;
	struct net *n = opaque;
	uint8_t hdr[NET_HDR] = { [10] = 1 };	/* num_buffers: 1 */

	if (virtio_pop(n->v, RXQ, &c) != 1 || c.in_len < NET_HDR + len) {
		n->rx_dropped++;
		return (ssize_t)len;
	}
	virtq_scatter(&c, 0, hdr, NET_HDR);
	virtq_scatter(&c, NET_HDR, buf, len);
	__atomic_add_fetch(&n->v->bytes, len, __ATOMIC_RELAXED);
	virtio_push(n->v, RXQ, c.head, (uint32_t)(NET_HDR + len));
	return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
	struct net *n = opaque;
	vmm_warn(n->v->vm, "virtio-net: %s", msg);
}

static int64_t clock_ns(void *opaque)
{
	struct timespec t;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* libslirp's timers serve IPv6 router advertisements, which we do not enable: none is ever armed. */
static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque) { (void)cb, (void)cb_opaque, (void)opaque; return NULL; }
static void timer_free(void *t, void *opaque) { (void)t, (void)opaque; }
static void timer_mod(void *t, int64_t when, void *opaque) { (void)t, (void)when, (void)opaque; }
static void poll_fd(int fd, void *opaque) { (void)fd, (void)opaque; }

static void notify(void *opaque)
{
	struct net *n = opaque;
	uint64_t one = 1;

	if (write(n->wake, &one, 8) < 0)
		return;	/* the loop is being woken anyway */
}

static int add_poll(int fd, int events, void *opaque)
{
	struct net *n = opaque;

	if (n->nfds >= MAX_FDS)
		return -1;
	n->fds[n->nfds] = (struct pollfd){ fd, (short)((events & SLIRP_POLL_IN ? POLLIN : 0) |
						      (events & SLIRP_POLL_OUT ? POLLOUT : 0) | (events & SLIRP_POLL_PRI ? POLLPRI : 0)), 0 };
	return n->nfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct net *n = opaque;
	short r = idx >= 0 && idx < n->nfds ? n->fds[idx].revents : 0;

	return (r & POLLIN ? SLIRP_POLL_IN : 0) | (r & POLLOUT ? SLIRP_POLL_OUT : 0) | (r & POLLPRI ? SLIRP_POLL_PRI : 0) |
	       (r & POLLERR ? SLIRP_POLL_ERR : 0) | (r & POLLHUP ? SLIRP_POLL_HUP : 0);
}

/* The network's own loop: the host sockets libslirp holds, and a wake-up. */
static void *slirp_thread(void *arg)
{
	struct net *n = arg;

	while (!__atomic_load_n(&n->stop, __ATOMIC_ACQUIRE)) {
		uint32_t timeout = 1000;
		pthread_mutex_lock(&n->lock);
		n->nfds = 0;
		add_poll(n->wake, SLIRP_POLL_IN, n);
		sl.slirp_pollfds_fill(n->slirp, &timeout, add_poll, n);
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
		memcpy(n->fds, fds, sizeof(fds[0]) * (size_t)nfds);
		sl.slirp_pollfds_poll(n->slirp, rc < 0, get_revents, n);
		pthread_mutex_unlock(&n->lock);
	}
	return NULL;
}

/* Frames from the guest: each chain a header and one frame, handed to libslirp. */
static void net_notify(struct virtio_dev *v, int q)
{
	static __thread struct virtq_chain c;
	struct net *n = v->priv;

	if (q != TXQ) {
		notify(n);	/* new receive buffers */
		return;
	}
	while (virtio_pop(v, q, &c) == 1) {
		size_t len = c.out_len > NET_HDR ? (size_t)(c.out_len - NET_HDR) : 0;
		if (len && len <= FRAME_MAX) {
			pthread_mutex_lock(&n->lock);
			virtq_gather(&c, NET_HDR, n->frame, len);
			sl.slirp_input(n->slirp, n->frame, (int)len);
			pthread_mutex_unlock(&n->lock);
			__atomic_add_fetch(&v->bytes, len, __ATOMIC_RELAXED);
		}
		virtio_push(v, q, c.head, 0);
	}
}

static void net_config(struct virtio_dev *v, uint32_t off, uint8_t *data, int size)
{
	struct net *n = v->priv;
	uint8_t c[8] = { 0 };

	memcpy(c, n->mac, 6);
	memcpy(data, c + off, (size_t)size);
}

static const struct virtio_ops net_ops = {
	.name = "virtio-net", .device_id = VIRTIO_ID_NET, .class_code = 0x020000, .nqueues = 2, .queue_size = 256,
	.features = NET_F_MAC, .config_len = 6, .config_read = net_config, .queue_notify = net_notify,
};

/* "user" or "user,hostfwd=tcp:2222-:22,hostfwd=udp:5353-:53". */
static int parse_net(const char *spec, struct net *n, char *err, size_t errlen)
{
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	char *tok = strtok_r(buf, ",", &save);
	if (!tok || strcmp(tok, "user"))
		return snprintf(err, errlen, "--net %s: only user networking is here: --net user[,hostfwd=tcp:HOSTPORT-:GUESTPORT]",
				spec), -EINVAL;
	while ((tok = strtok_r(NULL, ",", &save))) {
		char proto[4];
		int hp, gp, used = 0;
		if (n->nfwd >= MAX_FWD || sscanf(tok, "hostfwd=%3[a-z]:%d-:%d%n", proto, &hp, &gp, &used) != 3 ||
		    tok[used] || (strcmp(proto, "tcp") && strcmp(proto, "udp")) || hp < 1 || hp > 65535 || gp < 1 || gp > 65535)
			return snprintf(err, errlen, "--net %s: '%s' is not hostfwd=tcp:HOSTPORT-:GUESTPORT (at most %d)", spec, tok,
					MAX_FWD), -EINVAL;
		n->fwd[n->nfwd].udp = !strcmp(proto, "udp");
		n->fwd[n->nfwd].host_port = hp, n->fwd[n->nfwd++].guest_port = gp;
	}
	return 0;
}

int vmm_virtio_net_init(struct vmm *vm, char *err, size_t errlen)
{
	static const SlirpCb cb = { .send_packet = to_guest, .guest_error = guest_error, .clock_get_ns = clock_ns,
				    .timer_new = timer_new, .timer_free = timer_free, .timer_mod = timer_mod,
				    .register_poll_fd = poll_fd, .unregister_poll_fd = poll_fd, .notify = notify };
	struct net *n;
	int rc;

	if (!vm->cfg.net)
		return 0;
	if (!(n = calloc(1, sizeof(*n))))
		return -ENOMEM;
	vm->net = n;
	n->wake = -1;
	pthread_mutex_init(&n->lock, NULL);
	if ((rc = parse_net(vm->cfg.net, n, err, errlen)) < 0 || (rc = load_slirp(err, errlen)) < 0)
		return rc;
	if ((n->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return snprintf(err, errlen, "virtio-net: eventfd: %s", strerror(errno)), -errno;
	uint32_t id = (uint32_t)getpid() ^ (uint32_t)vm->start_ns;	/* a MAC of its own per VM, locally administered */
	memcpy(n->mac, (uint8_t[]){ 0x52, 0x54, 0x00, (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id }, 6);
	SlirpConfig c = { .version = 1, .in_enabled = true, .vhostname = "nestvisor" };
	inet_pton(AF_INET, "10.0.2.0", &c.vnetwork), inet_pton(AF_INET, "255.255.255.0", &c.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &c.vhost), inet_pton(AF_INET, "10.0.2.15", &c.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &c.vnameserver);
	if ((rc = virtio_pci_create(vm, &net_ops, n, &n->v, err, errlen)) < 0)
		return rc;
	if (!(n->slirp = sl.slirp_new(&c, &cb, n)))
		return snprintf(err, errlen, "virtio-net: libslirp could not start"), -EIO;
	struct in_addr any = { .s_addr = htonl(INADDR_LOOPBACK) }, guest = c.vdhcp_start;
	for (int i = 0; i < n->nfwd; i++)
		if (sl.slirp_add_hostfwd(n->slirp, n->fwd[i].udp, any, n->fwd[i].host_port, guest, n->fwd[i].guest_port) < 0)
			return snprintf(err, errlen, "--net hostfwd: 127.0.0.1:%d is taken on this host", n->fwd[i].host_port),
			       -EADDRINUSE;
	if ((rc = pthread_create(&n->thread, NULL, slirp_thread, n)) != 0)
		return snprintf(err, errlen, "virtio-net: its thread: %s", strerror(rc)), -rc;
	n->started = true;
	return 0;
}

void vmm_virtio_net_free(struct vmm *vm)
{
	struct net *n = vm->net;

	if (!n)
		return;
	if (n->started) {
		__atomic_store_n(&n->stop, true, __ATOMIC_RELEASE);
		notify(n);
		pthread_join(n->thread, NULL);
	}
	virtio_pci_destroy(n->v);	/* no more frames from the guest after this */
	if (n->slirp)
		sl.slirp_cleanup(n->slirp);
	if (n->wake >= 0)
		close(n->wake);
	free(n);
	vm->net = NULL;
}

struct virtio_dev *vmm_virtio_net_dev(struct vmm *vm)
{
	return vm->net ? vm->net->v : NULL;
}
