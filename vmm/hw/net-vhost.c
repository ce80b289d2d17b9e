/* net-vhost: the kernel's vhost-net serving a tap's queues (net-tap.c): opened and checked, given
 * the queues at DRIVER_OK and taken back at reset, stopped for a pause and started again. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "vmm/hw/net.h"
#include "vmm/hw/tap.h"
#include "vmm/vm.h"

int vhost_open(struct tap *t, char *err, size_t errlen)
{
	if (t->vhost_mode == VHOST_OFF)
		return errmsg(t->why_not, sizeof(t->why_not), 0, "vhost=off");
	if ((t->vhost = open("/dev/vhost-net", O_RDWR | O_CLOEXEC)) < 0)
		snprintf(t->why_not, sizeof(t->why_not), "/dev/vhost-net: %s", strerror(errno));
	else if (ioctl(t->vhost, VHOST_SET_OWNER) < 0 ||
		 ioctl(t->vhost, VHOST_GET_FEATURES, &t->vhost_features) < 0)
		snprintf(t->why_not, sizeof(t->why_not), "vhost-net: %s", strerror(errno));
	else if ((t->vhost_features & VHOST_NEEDS) != VHOST_NEEDS)
		snprintf(t->why_not, sizeof(t->why_not),
			 "this kernel's vhost-net lacks virtio 1.0");
	else
		return 0;
	if (t->vhost >= 0) {
		close(t->vhost);
		t->vhost = -1;
	}
	if (t->vhost_mode == VHOST_ON)
		return errmsg(err, errlen, -ENODEV,
			      "tap %s, vhost=on: %s (modprobe vhost_net, or vhost=auto)", t->ifname,
			      t->why_not);
	return 0;
}

/* Under the device's lock: vhost stops; the queues are ours again. */
void vhost_stop(struct tap *t)
{
	if (!t->vhost_running)
		return;
	for (unsigned q = 0; q < 2; q++) {
		struct vhost_vring_file b = { .index = q, .fd = -1 };
		struct vhost_vring_state s = { .index = q };
		ioctl(t->vhost, VHOST_NET_SET_BACKEND, &b);
		ioctl(t->vhost, VHOST_GET_VRING_BASE, &s);
		virtio_set_call(t->net->v, (int)q, -1);
	}
	__atomic_store_n(&t->vhost_running, false, __ATOMIC_RELEASE);
	tap_wake(t);
}

/* Under the device's lock, at DRIVER_OK: both queues to vhost, or (if it refuses) kept by our
 * threads. */
int vhost_start(struct tap *t)
{
	struct virtio_dev *v = t->net->v;
	uint64_t f = v->s.driver_features & t->vhost_features;

	if (ioctl(t->vhost, VHOST_SET_FEATURES, &f) < 0)
		return -errno;
	for (unsigned q = 0; q < 2; q++) {
		struct virtq *vq = &v->s.q[q];
		void *desc = virtio_host_ptr(v, vq->desc, 16ull * vq->size);
		void *avail = virtio_host_ptr(v, vq->avail, 6 + 2ull * vq->size);
		void *used = virtio_host_ptr(v, vq->used, 6 + 8ull * vq->size);
		if (!vq->ready || !desc || !avail || !used)
			/* a queue the driver did not enable: vhost-net serves both or none */
			return -EINVAL;
		struct vhost_vring_state num = { q, vq->size }, base = { q, vq->last_avail };
		struct vhost_vring_addr a = { .index = q,
					      .desc_user_addr = (uintptr_t)desc,
					      .avail_user_addr = (uintptr_t)avail,
					      .used_user_addr = (uintptr_t)used };
		struct vhost_vring_file kick = { q, v->kick[q] }, call = { q, t->vcall[q] },
					be = { q, t->fd };
		if (ioctl(t->vhost, VHOST_SET_VRING_NUM, &num) < 0 ||
		    ioctl(t->vhost, VHOST_SET_VRING_BASE, &base) < 0 ||
		    ioctl(t->vhost, VHOST_SET_VRING_ADDR, &a) < 0 ||
		    ioctl(t->vhost, VHOST_SET_VRING_KICK, &kick) < 0 ||
		    ioctl(t->vhost, VHOST_SET_VRING_CALL, &call) < 0)
			return -errno;
		virtio_set_call(v, (int)q,
				t->vcall[q]); /* from here no pop of ours on this queue */
		__atomic_store_n(&t->vhost_running, true, __ATOMIC_RELEASE);
		if (ioctl(t->vhost, VHOST_NET_SET_BACKEND, &be) < 0)
			return -errno;
	}
	for (int q = 0; q < 2; q++) {	/* whatever the driver queued before now */
		uint64_t one = 1;
		if (write(v->kick[q], &one, 8) < 0)
			return -errno;
	}
	return 0;
}

/* A pause: vhost detached from the tap (it moves no frame and writes no ring) and where it stood in
 * each ring read back (VHOST_GET_VRING_BASE), so our view of the queues is the guest's. The kernel
 * flushes its work before SET_BACKEND returns, so nothing it started is still in flight. */
int vhost_pause(struct tap *t)
{
	struct virtio_dev *v = t->net->v;
	int rc = 0;

	pthread_mutex_lock(&v->lock);
	for (unsigned q = 0; t->vhost_running && q < 2 && rc == 0; q++) {
		struct vhost_vring_file b = { .index = q, .fd = -1 };
		struct vhost_vring_state s = { .index = q };
		if (ioctl(t->vhost, VHOST_NET_SET_BACKEND, &b) < 0)
			rc = -errno;
		else if ((t->vhost_paused |= 1u << q), ioctl(t->vhost, VHOST_GET_VRING_BASE, &s) < 0)
			rc = -errno;
		else
			v->s.q[q].last_avail = (uint16_t)s.num;
	}
	pthread_mutex_unlock(&v->lock);
	if (rc < 0)
		vhost_resume(t);	/* a queue detached before the failure is given back */
	return rc;
}

/* Each ring's position given back (SET_VRING_BASE is refused while a backend is attached, so it
 * goes first), the tap attached again, and a kick: the guest may have queued frames just before
 * the pause that vhost never looked at. */
void vhost_resume(struct tap *t)
{
	struct virtio_dev *v = t->net->v;

	pthread_mutex_lock(&v->lock);
	for (unsigned q = 0; q < 2; q++) {
		if (!(t->vhost_paused & 1u << q))
			continue;
		struct vhost_vring_state base = { q, v->s.q[q].last_avail };
		struct vhost_vring_file be = { q, t->fd };
		uint64_t one = 1;
		if (ioctl(t->vhost, VHOST_SET_VRING_BASE, &base) < 0 ||
		    ioctl(t->vhost, VHOST_NET_SET_BACKEND, &be) < 0)
			tap_warn(t, "resuming vhost-net", errno);
		else if (write(v->kick[q], &one, 8) < 0) { /* a kick already pending will do */ }
	}
	t->vhost_paused = 0;
	pthread_mutex_unlock(&v->lock);
}
