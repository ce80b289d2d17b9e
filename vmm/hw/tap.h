/* tap: a tap backend's state, shared by net-tap.c (the tap, our receive thread) and net-vhost.c
 * (the kernel's vhost-net). Private to vmm/hw. */
#ifndef NESTVISOR_VMM_HW_TAP_H
#define NESTVISOR_VMM_HW_TAP_H

#include <net/if.h>
#include <sys/uio.h>
#include "vmm/hw/net.h"
#include "vmm/park.h"
#include "vmm/vm.h"
#include <string.h>
#include <unistd.h>

#define TAP_OFFLOADS                                                                             \
	(NET_F_CSUM | NET_F_GUEST_CSUM | NET_F_GUEST_TSO4 | NET_F_GUEST_TSO6 | NET_F_GUEST_ECN | \
	 NET_F_HOST_TSO4 | NET_F_HOST_TSO6 | NET_F_HOST_ECN)
#define VHOST_NEEDS (VIRTIO_F_VERSION_1_BIT | VIRTIO_F_INDIRECT_DESC_BIT | VIRTIO_F_EVENT_IDX_BIT)

enum { VHOST_AUTO, VHOST_ON, VHOST_OFF };

struct tap {
	struct net *net;
	int fd;				/* the tap */
	char ifname[IFNAMSIZ];
	int vhost_mode, vhost;		/* /dev/vhost-net, or -1: our own threads */
	uint64_t vhost_features;
	int vcall[2];			/* what vhost signals when the guest wants an interrupt */
	bool vhost_running, warned;
	unsigned vhost_paused;		/* the queues a pause detached, a bit each */
	bool any_owner;			/* owner=any: another user's tap may be attached */
	char why_not[96];		/* why there is no vhost-net */
	char desc[160];
	pthread_t thread;
	bool started, stop, starved, have;
	struct vmm_park park;		/* the receive thread, for a pause */
	int wake;
	struct virtq_chain c,
		c2; /* the receive chain being filled; the next ones of a merged frame */
	struct iovec iov[VIRTQ_MAX_SEGS];
	uint8_t bounce[NET_HDR + 65550];	/* a merged frame, whole */
};

/* Said once: a tap gone down must not flood the log. */
static inline void tap_warn(struct tap *t, const char *what, int e)
{
	if (!t->warned)
		vmm_warn(t->net->v->vm, "virtio-net: tap %s: %s: %s", t->ifname, what, strerror(e));
	t->warned = true;
}

/* Our receive thread looks again (new buffers, vhost stopped, a pause asked for). */
static inline void tap_wake(struct tap *t)
{
	uint64_t one = 1;

	if (t->wake >= 0 && write(t->wake, &one, 8) < 0)
		return;	/* already awake */
}

/* net-vhost.c. Opened where it may be (vhost=auto or on; on fails without it): 0 or -errno. */
int vhost_open(struct tap *t, char *err, size_t errlen);
/* Under the device's lock: the queues to vhost at DRIVER_OK (0 or -errno), back from it. */
int vhost_start(struct tap *t);
void vhost_stop(struct tap *t);
/* Under no lock: vhost-net stopped for a pause (0 or -errno, nothing left stopped), and started
 * again. */
int vhost_pause(struct tap *t);
void vhost_resume(struct tap *t);

#endif
