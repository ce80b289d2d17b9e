/* net-tap: virtio-net on a Linux tap device: `--net tap=NAME[,vhost=auto|on|off]`. The tap is
 * opened (made, if there is none of that name: it then lasts as long as the VM) with a
 * virtio_net_hdr of 12 bytes in front of every frame, so buffers pass between the guest and the tap
 * as they are, offloads included (checksums, TSO). With /dev/vhost-net the kernel moves the frames
 * itself: the guest's notifications go from KVM's ioeventfd to vhost and no thread of ours wakes
 * for a frame; without it our I/O threads do (tx on the device's, rx on this backend's). The queues
 * change hands only at DRIVER_OK and reset, under the device's lock. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "vmm/hw/net.h"
#include "vmm/hw/tap.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

static int iov_of(const struct virtq_buf *b, int n, struct iovec *iov)
{
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ b[i].host, b[i].len };
	return n;
}

/* A frame from the guest, its header and all, into the tap; one it cannot take now is dropped (as a
 * full transmit queue drops), TCP sends it again. */
static void tap_tx(struct net *net, struct virtq_chain *c)
{
	struct tap *t = net->be_state;
	struct iovec iov[VIRTQ_MAX_SEGS];

	if (writev(t->fd, iov, iov_of(c->out, c->nout, iov)) < 0) {
		if (errno != EAGAIN)
			tap_warn(t, "writing a frame", errno);
		return;
	}
	__atomic_add_fetch(&net->v->bytes, c->out_len - NET_HDR, __ATOMIC_RELAXED);
}

/* With VIRTIO_NET_F_MRG_RXBUF (offered for vhost-net, which may refuse the queues later) a frame
 * spans as many of the guest's buffers as it needs: read whole, then spread, the first buffer's
 * header saying how many. */
static void tap_receive_merged(struct tap *t, size_t n)
{
	struct virtio_dev *v = t->net->v;
	struct { uint16_t head; uint32_t len; } used[64];
	size_t off = 0;
	uint16_t k = 0;

	for (struct virtq_chain *c = &t->c; off < n; c = &t->c2) {
		if (k > 0 && (k == 64 || virtio_pop(v, NET_RXQ, c) != 1))
			/* out of buffers: what was taken goes back empty; the frame is lost */
			break;
		size_t len = c->in_len < n - off ? (size_t)c->in_len : n - off;
		virtq_scatter(c, 0, t->bounce + off, len);
		used[k].head = c->head;
		used[k++].len = (uint32_t)len;
		off += len;
	}
	uint16_t nbuf = off == n ? k : 0;
	virtq_scatter(&t->c, 10, &nbuf, 2);
	for (uint16_t i = 0; i < k; i++)
		virtio_push(v, NET_RXQ, used[i].head, off == n ? used[i].len : 0);
	if (off == n)
		__atomic_add_fetch(&v->bytes, (uint64_t)n - NET_HDR, __ATOMIC_RELAXED);
}

/* Frames from the tap into the guest's receive buffers, read straight into them, until the tap has
 * none or the guest gives no more buffers (then the tap waits for the guest's next notification).
 */
static void tap_receive(struct tap *t)
{
	struct virtio_dev *v = t->net->v;
	bool merged = v->s.driver_features & NET_F_MRG_RXBUF;
	uint16_t one = 1;

	for (;;) {
		if (!t->have) {
			if (virtio_pop(v, NET_RXQ, &t->c) != 1) {
				t->starved = true;
				return;
			}
			t->have = true;
		}
		if (t->c.in_len <=
		    NET_HDR) { /* no room for a frame (a hostile driver's): given back unused */
			virtio_push(v, NET_RXQ, t->c.head, 0);
			t->have = false;
			continue;
		}
		ssize_t n = merged ? read(t->fd, t->bounce, sizeof(t->bounce)) :
				     readv(t->fd, t->iov, iov_of(t->c.in, t->c.nin, t->iov));
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				tap_warn(t, "reading a frame", errno);
			return;
		}
		if (n <= NET_HDR)
			continue;	/* nothing of a frame: the buffers are used again */
		t->have = false;
		if (merged) {
			tap_receive_merged(t, (size_t)n);
			continue;
		}
		virtq_scatter(&t->c, 10, &one, 2); /* num_buffers, which the tap leaves alone */
		__atomic_add_fetch(&v->bytes, (uint64_t)n - NET_HDR, __ATOMIC_RELAXED);
		virtio_push(v, NET_RXQ, t->c.head, (uint32_t)n);
	}
}

static void *tap_thread(void *arg)
{
	struct tap *t = arg;

	vmm_sandbox_enter(t->net->v->vm, VMM_THREAD_IO);
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		vmm_park_point(&t->park);	/* frames reach the guest only below */
		bool ours = !__atomic_load_n(&t->vhost_running, __ATOMIC_ACQUIRE) && !t->starved;
		struct pollfd p[2] = { { t->wake, POLLIN, 0 }, { t->fd, POLLIN, 0 } };
		if (poll(p, ours ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			uint64_t x;
			if (read(t->wake, &x, 8) < 0)
				x = 0;
			t->starved = false;	/* new buffers, or vhost stopped: try again */
		}
		if (ours && (p[1].revents & POLLIN))
			tap_receive(t);
	}
	return NULL;
}

static void tap_rx_ready(struct net *net)
{
	tap_wake(net->be_state);
}

static void tap_wake_arg(void *arg)
{
	tap_wake(arg);
}

/* Our receive thread parked, and vhost-net (net-vhost.c) detached where it serves the queues. */
static int tap_pause(struct net *net)
{
	struct tap *t = net->be_state;
	int rc;

	if (t->started && (rc = vmm_park_request(&t->park, tap_wake_arg, t)) < 0)
		return rc;
	if ((rc = vhost_pause(t)) < 0 && t->started)
		vmm_park_release(&t->park);
	return rc;
}

static void tap_resume(struct net *net)
{
	struct tap *t = net->be_state;

	vhost_resume(t);
	if (t->started)
		vmm_park_release(&t->park);
}

/* The offloads the guest said it takes are what the tap may give it (TUNSETOFFLOAD's flags). */
static void tap_offloads(struct tap *t, uint64_t f)
{
	unsigned flags = (f & NET_F_GUEST_CSUM ? TUN_F_CSUM : 0) |
			 (f & NET_F_GUEST_CSUM && f & NET_F_GUEST_TSO4 ? TUN_F_TSO4 : 0) |
			 (f & NET_F_GUEST_CSUM && f & NET_F_GUEST_TSO6 ? TUN_F_TSO6 : 0) |
			 (f & NET_F_GUEST_CSUM && f & NET_F_GUEST_ECN ? TUN_F_TSO_ECN : 0);

	if (ioctl(t->fd, TUNSETOFFLOAD, flags) < 0)
		tap_warn(t, "TUNSETOFFLOAD", errno);
}

static void tap_driver_ok(struct net *net)
{
	struct tap *t = net->be_state;
	int rc;

	tap_offloads(t, net->v->s.driver_features);
	tap_wake(t);	/* buffers the driver gave before it was ready are ours to fill now */
	if (t->vhost < 0)
		return;
	if ((rc = vhost_start(t)) < 0) {
		vhost_stop(t);
		vmm_warn(net->v->vm,
			 "virtio-net: vhost-net refused the queues (%s); this VM's frames go "
			 "through nestvisor",
			 strerror(-rc));
		close(t->vhost);
		t->vhost = -1;
		snprintf(t->why_not, sizeof(t->why_not), "it refused the queues: %s",
			 strerror(-rc));
	}
}

static void tap_reset(struct net *net)
{
	struct tap *t = net->be_state;

	if (!t)
		return;
	vhost_stop(t);
	t->have = false;	/* a chain of the old queue */
}

/* NAME: what Linux takes for an interface name, without anything a shell or a path would read
 * differently. */
static int tap_name_check(const char *name, size_t len, char *err, size_t errlen)
{
	bool ok = len >= 1 && len < IFNAMSIZ && strncmp(name, ".", len) && strncmp(name, "..", len);

	for (size_t i = 0; ok && i < len; i++)
		ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
			(name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_' ||
			name[i] == '.';
	if (!ok)
		return errmsg(err, errlen, -EINVAL,
			      "tap %.*s: a tap's name is 1 to %d letters, digits, '-', '_' or '.'",
			      (int)(len > 64 ? 64 : len), name, IFNAMSIZ - 1);
	return 0;
}

/* "=NAME[,vhost=auto|on|off]" */
static int parse_tap(const char *opts, struct tap *t, char *err, size_t errlen)
{
	const char *name = opts + 1, *end;
	int rc;

	if (opts[0] != '=')
		return errmsg(err, errlen, -EINVAL, "a tap network needs the tap's name: %s",
			      net_tap_backend.usage);
	end = strchr(name, ',');
	end = end ? end : name + strlen(name);
	if ((rc = tap_name_check(name, (size_t)(end - name), err, errlen)) < 0)
		return rc;
	memcpy(t->ifname, name, (size_t)(end - name));
	for (const char *o = end; *o; o = end) {
		o++;
		end = strchr(o, ',');
		end = end ? end : o + strlen(o);
		size_t k = (size_t)(end - o);
		if (k == 10 && !strncmp(o, "vhost=auto", k))
			t->vhost_mode = VHOST_AUTO;
		else if (k == 8 && !strncmp(o, "vhost=on", k))
			t->vhost_mode = VHOST_ON;
		else if (k == 9 && !strncmp(o, "vhost=off", k))
			t->vhost_mode = VHOST_OFF;
		else if (k == 9 && !strncmp(o, "owner=any", k))
			t->any_owner = true;
		else
			return errmsg(err, errlen, -EINVAL,
				      "tap %s: '%.*s' is not vhost=auto|on|off or owner=any",
				      t->ifname, (int)(k > 64 ? 64 : k), o);
	}
	return 0;
}

/* An existing tap made for another user (ip tuntap add ... user U) is that user's: as root we
 * could attach it anyway, and its owner would then see and send our guest's frames. Refused unless
 * owner=any says it is meant. A tap of nobody's (-1) or ours is fine. */
static int tap_owner_check(struct tap *t, char *err, size_t errlen)
{
	char path[96], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/owner", t->ifname);
	if (!(f = fopen(path, "re")))
		return 0;	/* no such interface (made below), or not a tap */
	bool read = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	long uid = read ? strtol(buf, NULL, 10) : -1;
	if (uid < 0 || (uid_t)uid == geteuid() || t->any_owner)
		return 0;
	return errmsg(err, errlen, -EPERM,
		      "tap %s belongs to uid %ld, not to you: its owner would see and send this "
		      "VM's frames; give ,owner=any if that is meant, or use a tap of your own",
		      t->ifname, uid);
}

static int tap_attach(struct tap *t, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = NET_HDR;

	if ((t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK)) < 0)
		return errmsg(err, errlen, -errno, "tap %s: /dev/net/tun: %s (modprobe tun)",
			      t->ifname, strerror(errno));
	memcpy(ifr.ifr_name, t->ifname, sizeof(t->ifname));
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		if (e == EPERM)
			snprintf(err, errlen,
				 "tap %s: not allowed: run as root, or have root make the tap "
				 "yours first: ip tuntap add mode tap user $USER name %s",
				 t->ifname, t->ifname);
		else if (e == EBUSY)
			snprintf(err, errlen,
				 "tap %s: another process has it open (a tap serves one VM at a "
				 "time)",
				 t->ifname);
		else if (e == EINVAL)
			snprintf(err, errlen,
				 "tap %s: a network interface of that name exists and is not a "
				 "tap, or was made without vnet_hdr (ip tuntap add mode tap "
				 "vnet_hdr name %s)",
				 t->ifname, t->ifname);
		else
			snprintf(err, errlen, "tap %s: TUNSETIFF: %s", t->ifname, strerror(e));
		return -e;
	}
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return errmsg(err, errlen, -errno, "tap %s: TUNSETVNETHDRSZ: %s", t->ifname,
			      strerror(errno));
	/* The tap carries the offloads if it takes all of them; then none until the guest says
	 * which it wants. */
	bool offloads = ioctl(t->fd, TUNSETOFFLOAD,
			      TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) == 0;
	ioctl(t->fd, TUNSETOFFLOAD, 0);
	t->net->features = NET_F_MAC | (offloads ? TAP_OFFLOADS : 0);
	return 0;
}

/* /dev/vhost-net, if there is one and it takes what our transport gives the guest; else why not. */
static int tap_open(struct net *net, const char *opts, char *err, size_t errlen)
{
	struct tap *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	net->be_state = t;
	t->net = net;
	t->fd = t->vhost = t->wake = t->vcall[0] = t->vcall[1] = -1;
	vmm_park_init(&t->park);
	if ((rc = parse_tap(opts, t, err, errlen)) < 0 ||
	    (rc = tap_owner_check(t, err, errlen)) < 0 || (rc = tap_attach(t, err, errlen)) < 0 ||
	    (rc = vhost_open(t, err, errlen)) < 0)
		return rc;
	if (t->vhost >= 0)
		net->features |= NET_F_MRG_RXBUF &
			t->vhost_features; /* offloads and the MAC are the tap's and ours */
	if ((t->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return errmsg(err, errlen, -errno, "virtio-net: eventfd: %s", strerror(errno));
	return 0;
}

static int tap_start(struct net *net, char *err, size_t errlen)
{
	struct tap *t = net->be_state;
	struct vmm *vm = net->v->vm;
	int rc;

	if (t->vhost >= 0) {	/* guest RAM as vhost sees it: the two ranges of our one mapping */
		struct {
			struct vhost_memory m;
			struct vhost_memory_region r[2];
		} mt = { .m.nregions = 1 };
		mt.r[0] =
			(struct vhost_memory_region){ 0, vm->mem.low, (uintptr_t)vm->mem.host, 0 };
		if (vm->mem.high)
			mt.r[mt.m.nregions++] = (struct vhost_memory_region){
				VMM_4G, vm->mem.high, (uintptr_t)vm->mem.host + vm->mem.low, 0
			};
		for (int q = 0; q < 2; q++)
			if ((t->vcall[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
				return errmsg(err, errlen, -errno, "virtio-net: eventfd: %s",
					      strerror(errno));
		if (ioctl(t->vhost, VHOST_SET_MEM_TABLE, &mt) < 0)
			return errmsg(err, errlen, -errno,
				      "tap %s: vhost-net: VHOST_SET_MEM_TABLE: %s", t->ifname,
				      strerror(errno));
	}
	if ((rc = pthread_create(&t->thread, NULL, tap_thread, t)) != 0)
		return errmsg(err, errlen, -rc, "virtio-net: its thread: %s", strerror(rc));
	t->started = true;
	return 0;
}

static void tap_close(struct net *net)
{
	struct tap *t = net->be_state;

	if (!t)
		return;
	if (net->v) {
		pthread_mutex_lock(&net->v->lock);
		vhost_stop(t);
		pthread_mutex_unlock(&net->v->lock);
	}
	if (t->started) {
		__atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
		vmm_park_stop(&t->park);
		tap_wake(t);
		pthread_join(t->thread, NULL);
	}
	int *fds[] = { &t->vhost, &t->fd, &t->wake, &t->vcall[0], &t->vcall[1] };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free(t);
	net->be_state = NULL;
}

static const char *tap_describe(struct net *net)
{
	struct tap *t = net->be_state;

	if (t->vhost >= 0)
		snprintf(t->desc, sizeof(t->desc), "tap %s, vhost-net", t->ifname);
	else
		snprintf(t->desc, sizeof(t->desc), "tap %s, no vhost-net (%s)", t->ifname,
			 t->why_not);
	return t->desc;
}

/* Under vhost-net the frames pass no thread of ours: the tap's own counters, both ways, which count
 * every frame whoever moved it (getifaddrs asks the kernel by netlink, in our network namespace, so
 * a tap in a namespace of its own is found too). */
static bool tap_bytes(struct net *net, uint64_t *bytes)
{
	struct tap *t = net->be_state;
	struct ifaddrs *ifa, *i;

	if (!t || t->vhost < 0 || getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_PACKET && i->ifa_data &&
		    !strcmp(i->ifa_name, t->ifname)) {
			const struct rtnl_link_stats *st = i->ifa_data;
			*bytes = (uint64_t)st->rx_bytes + st->tx_bytes;
			break;
		}
	freeifaddrs(ifa);
	return i != NULL;
}

const struct net_backend net_tap_backend = {
	.name = "tap",
	.usage = "tap=NAME[,vhost=auto|on|off][,owner=any]",
	.open = tap_open,
	.start = tap_start,
	.tx = tap_tx,
	.rx_ready = tap_rx_ready,
	.driver_ok = tap_driver_ok,
	.reset = tap_reset,
	.close = tap_close,
	.describe = tap_describe,
	.pause = tap_pause,
	.resume = tap_resume,
	.bytes = tap_bytes,
};
