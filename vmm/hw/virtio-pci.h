/* virtio-pci: the modern (virtio 1.x) PCI transport every virtio device of ours shares, as
 * kvmtool's devices hand a const ops table to one transport. One BAR holds the common, notify, ISR
 * and device configuration and the MSI-X table; queue notifications are ioeventfds (no exit to
 * userspace), each device's queues are served on an I/O thread of its own, interrupts are MSI-X
 * messages (KVM_SIGNAL_MSI) or, without MSI-X, INTx. */
#ifndef NESTVISOR_VMM_HW_VIRTIO_PCI_H
#define NESTVISOR_VMM_HW_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "vmm/hw/pci.h"
#include "vmm/park.h"
#include "vmm/virtq.h"

#define VIRTIO_MAX_QUEUES 4
#define STATUS_DRIVER_OK    4		/* the device status bits (virtio 1.2, 2.1) */
#define STATUS_FEATURES_OK  8
#define STATUS_NEEDS_RESET  0x40
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG 4

struct virtio_dev;
struct vmm_dev_stat;

struct virtio_ops {
	const char *name;
	uint16_t device_id;		/* the virtio device ID; the PCI device ID is 0x1040 + it */
	uint32_t class_code;		/* PCI class, subclass, interface */
	int nqueues;
	uint16_t queue_size;		/* the largest each queue may be */
	uint64_t features;		/* device-specific feature bits offered */
	uint32_t config_len;		/* device configuration bytes (config_read serves them) */
	void (*config_read)(struct virtio_dev *v, uint32_t off, uint8_t *data, int size);
	void (*queue_notify)(struct virtio_dev *v, int q);	/* on the device's I/O thread */
	void (*reset)(struct virtio_dev *v); /* the driver reset the device (under v->lock) */
	void (*driver_ok)(struct virtio_dev *v); /* the driver is ready (under v->lock) */
	int sandbox_kind; /* its I/O thread's seccomp list (enum vmm_thread_kind): 0, device I/O */
	/* The device's own part of teardown, once its I/O thread has stopped: stop what else
	 * touches the queues (backend threads, vhost), free priv. Optional. */
	void (*destroy)(struct virtio_dev *v);
	/* Its own part of a pause, after the I/O thread is parked at a request boundary: threads
	 * of its backend stop writing guest memory, vhost hands its rings back. Optional. */
	int (*pause)(struct virtio_dev *v);
	void (*resume)(struct virtio_dev *v);
	/* Statistics beyond the transport's counts (a better name, another byte count). */
	void (*stat)(struct virtio_dev *v, struct vmm_dev_stat *s);
};

/* What the guest has set and can read back of the transport: its common configuration registers,
 * each queue's place, the MSI-X table and what waits to be sent. Plain data (no pointer, fd or
 * thread), apart from the plumbing below, as the UART's struct uart_state: what a snapshot saves
 * and a restore writes back, and what a pause must keep still. PCI config space is the bus's
 * (struct vmm_pci_dev). */
struct virtio_state {
	uint32_t dev_feat_sel, drv_feat_sel;
	uint64_t driver_features;
	uint8_t status, config_gen, isr;
	uint16_t queue_sel, msix_config, q_vector[VIRTIO_MAX_QUEUES];
	struct virtq q[VIRTIO_MAX_QUEUES];
	struct { uint32_t addr_lo, addr_hi, data, ctrl; } msix[VIRTIO_MAX_QUEUES + 1];
	uint64_t msix_pending;		/* vectors masked when they fired: sent when unmasked */
	unsigned held;			/* queues with an interrupt held back (virtio_push_later) */
};

/* The transport's plumbing around that state: what it is, where it is mapped, its I/O thread and
 * the fds KVM and vhost signal it by. All of it is made again from the configuration. */
struct virtio_dev {
	const struct virtio_ops *ops;
	struct vmm *vm;
	struct vmm_pci_dev pci;
	void *priv;
	pthread_mutex_t lock;
	struct virtio_state s;		/* under lock */
	uint64_t bar;			/* BAR0 as decoded now from config space (0: not) */
	uint64_t offered;		/* features: the ops' and the transport's */
	bool has_msix;
	int msix_cap;			/* its capability's offset in config space */
	int cfg_cap;			/* VIRTIO_PCI_CAP_PCI_CFG's */
	int irq;			/* INTx: the IOAPIC pin */
	int kick[VIRTIO_MAX_QUEUES];	/* ioeventfds, also written by the MMIO path */
	/* a queue served elsewhere (vhost): its interrupt requests; else -1 */
	int call[VIRTIO_MAX_QUEUES];
	/* and the MSI route KVM sends them by (irqfd), or -1: our I/O thread does */
	int gsi[VIRTIO_MAX_QUEUES];
	int wake;			/* the I/O thread re-reads the fds above, or stops */
	bool stopping;
	struct vmm_park park;		/* the I/O thread, between requests, for a pause */
	pthread_t thread;
	bool started, warned;
	uint64_t notifies, interrupts, bytes;	/* for the VM's statistics */
};

#define VIRTIO_F_INDIRECT_DESC_BIT \
	(1ull << 28) /* feature masks: <linux/virtio_config.h> has the bit numbers */
#define VIRTIO_F_EVENT_IDX_BIT     (1ull << 29)
#define VIRTIO_F_VERSION_1_BIT     (1ull << 32)

/* A device on the PCI bus with its I/O thread, registered with the VM (vmm/device.h), which tears
 * it down: from this call on, priv is the device's to free (ops->destroy), whether it succeeds or
 * not. *out (optional) is the device. */
int virtio_pci_create(struct vmm *vm, const struct virtio_ops *ops, void *priv,
		      struct virtio_dev **out, char *err, size_t errlen);
/* virtio-dev.c, for virtio-pci.c: an interrupt for queue q (-1: configuration changed), under
 * v->lock; v registered with the VM (on failure torn down: -ENOSPC); its I/O thread
 * started (0 or -errno). */
void virtio_interrupt(struct virtio_dev *v, int q);
/* Under v->lock: MSI-X messages held while masked sent; the irqfd routes of queues vhost serves
 * made to follow their vectors. */
void virtio_deliver_pending(struct virtio_dev *v);
void virtio_irqfd_update(struct virtio_dev *v);
int virtio_dev_register(struct virtio_dev *v);
int virtio_dev_start(struct virtio_dev *v);
/* The nth virtio device of a kind (VIRTIO_ID_*), or NULL. */
struct virtio_dev *virtio_pci_find(struct vmm *vm, uint16_t device_id, int nth);
/* The I/O thread's queue access: the next chain (1), none (0), or a broken queue (-EINVAL: the
 * device is then marked NEEDS_RESET, the driver told, the reason logged once). */
int virtio_pop(struct virtio_dev *v, int q, struct virtq_chain *c);
/* Gives a chain back and interrupts the driver if it wants to know. */
void virtio_push(struct virtio_dev *v, int q, uint16_t head, uint32_t written);
/* The same, the interrupt held until virtio_flush: one for a burst of chains (the driver reads them
 * all). */
void virtio_push_later(struct virtio_dev *v, int q, uint16_t head, uint32_t written);
void virtio_flush(struct virtio_dev *v, int q);

/* Queue q is served by someone else from now on (call: the eventfd it signals for an interrupt), or
 * by the device's queue_notify again (call -1). Under v->lock (driver_ok and reset hold it). */
void virtio_set_call(struct virtio_dev *v, int q, int call);
/* Guest-physical to host for [gpa, gpa+len) of guest RAM (vhost wants host addresses), or NULL. */
void *virtio_host_ptr(struct virtio_dev *v, uint64_t gpa, uint64_t len);

#endif
