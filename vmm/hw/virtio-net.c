/* virtio-net (virtio 1.2, 5.1): the device, and the --net backend behind it (net.h): `user`
 * (libslirp) or `tap=NAME` (vhost-net or our own I/O thread). Every buffer is a 12-byte
 * virtio_net_hdr_v1 and a frame; the offloads a backend can carry (a tap's checksum and
 * segmentation) are offered, others not. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "vmm/hw/net.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

static const struct net_backend *const backends[] = { &net_user_backend, &net_tap_backend };

/* Frames from the guest, each chain a header and one frame; receive buffers given to the backend.
 */
static void net_notify(struct virtio_dev *v, int q)
{
	static __thread struct virtq_chain c;
	struct net *n = v->priv;

	if (q != NET_TXQ) {
		if (n->be->rx_ready)
			n->be->rx_ready(n);
		return;
	}
	while (virtio_pop(v, q, &c) == 1) {
		if (c.out_len > NET_HDR)
			n->be->tx(n, &c);
		virtio_push(v, q, c.head, 0);
	}
	if (n->be->tx_done)
		n->be->tx_done(n);
}

static void net_config(struct virtio_dev *v, uint32_t off, uint8_t *data, int size)
{
	struct net *n = v->priv;
	uint8_t c[8] = { 0 };

	memcpy(c, n->mac, 6);
	memcpy(data, c + off, (size_t)size);
}

static void net_driver_ok(struct virtio_dev *v)
{
	struct net *n = v->priv;

	if (n->be->driver_ok)
		n->be->driver_ok(n);
}

static void net_reset(struct virtio_dev *v)
{
	struct net *n = v->priv;

	if (n && n->be && n->be->reset)
		n->be->reset(n);
}

/* Teardown, the I/O thread stopped: the backend's threads and vhost stop touching the queues. */
static void net_destroy(struct virtio_dev *v)
{
	struct net *n = v->priv;

	if (n->be)
		n->be->close(n);
	free(n);
}

static int net_pause(struct virtio_dev *v)
{
	struct net *n = v->priv;

	return n->be->pause ? n->be->pause(n) : 0;
}

static void net_resume(struct virtio_dev *v)
{
	struct net *n = v->priv;

	if (n->be->resume)
		n->be->resume(n);
}

/* "virtio-net" and our count of its bytes, or "virtio-net vhost" and the tap's (no notification
 * reaches us). */
static void net_stat(struct virtio_dev *v, struct vmm_dev_stat *s)
{
	struct net *n = v->priv;

	if (n->be->bytes && n->be->bytes(n, &s->bytes))
		snprintf(s->what, sizeof(s->what), "virtio-net vhost");
}

static const struct virtio_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.class_code = 0x020000,
	.nqueues = 2,
	.queue_size = 256,
	.config_len = 6,
	.config_read = net_config,
	.queue_notify = net_notify,
	.reset = net_reset,
	.driver_ok = net_driver_ok,
	.destroy = net_destroy,
	.pause = net_pause,
	.resume = net_resume,
	.stat = net_stat,
};

/* A MAC that is the VM's own and stays its own across restarts (a DHCP server then gives it the
 * same address): 52:54:00 (QEMU's prefix, which guests' tools know as a VM's) and its name's
 * FNV-1a; an unnamed VM's from its process ID, so that two on one bridge differ. */
static void net_mac(const char *name, uint8_t mac[6])
{
	uint32_t h = 2166136261u;
	char pid[24];

	if (!name) {
		snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
		name = pid;
	}
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	memcpy(mac,
	       (uint8_t[]){ 0x52, 0x54, 0x00, (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h },
	       6);
}

static const struct net_backend *net_backend_find(const char *spec, const char **opts)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		size_t k = strlen(backends[i]->name);
		if (!strncmp(spec, backends[i]->name, k) &&
		    (spec[k] == 0 || spec[k] == ',' || spec[k] == '=')) {
			*opts = spec + k + (spec[k] == ',');
			return backends[i];
		}
	}
	return NULL;
}

int vmm_virtio_net_init(struct vmm *vm, char *err, size_t errlen)
{
	const struct net_backend *be;
	const char *opts;
	struct net *n;
	int rc;

	if (!vm->cfg.net)
		return 0;
	if (!(be = net_backend_find(vm->cfg.net, &opts)))
		return errmsg(err, errlen, -EINVAL,
			      "network %s: not a kind of network there is; give %s, or %s",
			      vm->cfg.net, net_user_backend.usage, net_tap_backend.usage);
	if (!(n = calloc(1, sizeof(*n))))
		return -ENOMEM;
	n->ops = net_ops;
	/* libslirp runs on the device's thread too (slirp_input): that thread makes sockets */
	n->ops.sandbox_kind = be == &net_user_backend ? VMM_THREAD_SLIRP : VMM_THREAD_IO;
	net_mac(vm->cfg.name, n->mac);
	if ((rc = be->open(n, opts, err, errlen)) < 0) {
		be->close(n);
		free(n);
		return rc;
	}
	n->be = be;
	n->ops.features = n->features;
	if ((rc = virtio_pci_create(vm, &n->ops, n, &n->v, err, errlen)) < 0 ||
	    (rc = be->start(n, err, errlen)) < 0)
		return rc;
	return 0;
}

const char *vmm_virtio_net_describe(struct vmm *vm)
{
	struct virtio_dev *v = virtio_pci_find(vm, VIRTIO_ID_NET, 0);
	struct net *n = v ? v->priv : NULL;

	return n && n->be->describe ? n->be->describe(n) : NULL;
}
