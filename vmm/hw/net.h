/* net: the backends behind virtio-net (virtio-net.c), one const table each, as QEMU's netdevs are:
 * `user` (libslirp, net-user.c) and `tap` (a Linux tap device, its frames moved by vhost-net in the
 * kernel or by our own I/O thread; net-tap.c). The device hands a backend the guest's frames and
 * gives it the receive side. */
#ifndef NESTVISOR_VMM_HW_NET_H
#define NESTVISOR_VMM_HW_NET_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/hw/virtio-pci.h"

#define NET_HDR 12		/* struct virtio_net_hdr_v1: every buffer starts with one */
#define NET_RXQ 0
#define NET_TXQ 1

/* Feature bits (virtio 1.2, 5.1.3) */
#define NET_F_CSUM        (1ull << 0)
#define NET_F_GUEST_CSUM  (1ull << 1)
#define NET_F_MAC         (1ull << 5)
#define NET_F_GUEST_TSO4  (1ull << 7)
#define NET_F_GUEST_TSO6  (1ull << 8)
#define NET_F_GUEST_ECN   (1ull << 9)
#define NET_F_HOST_TSO4   (1ull << 11)
#define NET_F_HOST_TSO6   (1ull << 12)
#define NET_F_HOST_ECN    (1ull << 13)
#define NET_F_MRG_RXBUF   (1ull << 15)

struct net;

struct net_backend {
	const char *name;		/* what --net starts with */
	const char *usage;
	/* Parses the options after the name, opens what it needs, sets n->features; before the
	 * device exists */
	int (*open)(struct net *n, const char *opts, char *err, size_t errlen);
	int (*start)(struct net *n, char *err, size_t errlen);	/* the device exists: threads */
	void (*tx)(struct net *n, struct virtq_chain *c); /* a frame from the guest (I/O thread) */
	void (*tx_done)(struct net *n);				/* after a batch of them */
	void (*rx_ready)(struct net *n);			/* the guest gave receive buffers */
	void (*driver_ok)(struct net *n);			/* under the device's lock */
	void (*reset)(struct net *n);				/* under the device's lock */
	void (*close)(struct net *n);
	const char *(*describe)(struct net *n); /* for status: "tap nv0, vhost-net" */
	/* Bytes moved, where frames bypass our threads (vhost-net): false if ours are the count */
	bool (*bytes)(struct net *n, uint64_t *bytes);
	/* Its threads (and vhost) stop writing guest memory and moving the queues, until resume;
	 * the device's I/O thread is parked already. Optional. */
	int (*pause)(struct net *n);
	void (*resume)(struct net *n);
};

extern const struct net_backend net_user_backend, net_tap_backend;

struct net {
	struct virtio_dev *v;
	const struct net_backend *be;
	struct virtio_ops ops;		/* virtio-net's, with this backend's features */
	uint64_t features;
	uint8_t mac[6];
	uint64_t rx_dropped;
	void *be_state;
};

#endif
