/* virtio-pci: common configuration, notifications through ioeventfds, MSI-X or INTx, one I/O thread
 * a device. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "vmm/hw/virtio-pci.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

/* BAR0's layout: each structure in a page of its own. */
#define BAR_SIZE      0x8000u
#define OFF_COMMON    0x0000u
#define OFF_ISR       0x1000u
#define OFF_DEVICE    0x2000u
#define OFF_NOTIFY    0x3000u
#define NOTIFY_MULT   4u
#define OFF_MSIX      0x4000u
#define OFF_PBA       0x6000u

#define NO_VECTOR 0xffff

static uint64_t get(const uint8_t *d, int size)
{
	uint64_t v = 0;

	memcpy(&v, d, (size_t)(size > 8 ? 8 : size));
	return v;
}

static void put(uint8_t *d, int size, uint64_t v)
{
	memcpy(d, &v, (size_t)(size > 8 ? 8 : size));
}

static void reset(struct virtio_dev *v)
{
	v->s.status = 0;
	v->s.driver_features = 0;
	v->s.isr = 0;
	v->s.queue_sel = 0;
	v->s.msix_config = NO_VECTOR;
	for (int i = 0; i < v->ops->nqueues; i++) {
		v->s.q[i] = (struct virtq){ .size = v->ops->queue_size };
		v->s.q_vector[i] = NO_VECTOR;
	}
	if (v->irq)	/* 0 until the device has a slot */
		vmm_irq_line(v->vm, v->irq, 0);
	if (v->ops->reset)
		v->ops->reset(v);
}

static void status_write(struct virtio_dev *v, uint8_t s)
{
	if (s == 0) {
		reset(v);
		return;
	}
	if ((s & STATUS_FEATURES_OK) && !(v->s.status & STATUS_FEATURES_OK) &&
	    ((v->s.driver_features & ~v->offered) || !(v->s.driver_features & VIRTIO_F_VERSION_1_BIT)))
		s &= (uint8_t)~STATUS_FEATURES_OK; /* features we did not offer: refused (3.1.1) */
	if (s & STATUS_FEATURES_OK)
		for (int i = 0; i < v->ops->nqueues; i++) {
			v->s.q[i].indirect = v->s.driver_features & VIRTIO_F_INDIRECT_DESC_BIT;
			v->s.q[i].event_idx = v->s.driver_features & VIRTIO_F_EVENT_IDX_BIT;
		}
	bool ready = (s & STATUS_DRIVER_OK) && (s & STATUS_FEATURES_OK) &&
		!(v->s.status & STATUS_DRIVER_OK);
	v->s.status = (uint8_t)(s | (v->s.status & STATUS_NEEDS_RESET));
	if (ready && v->ops->driver_ok)
		v->ops->driver_ok(v);
}

static void common_access(struct virtio_dev *v, uint32_t off, bool write, uint8_t *d, int size)
{
	struct virtq *q = v->s.queue_sel < v->ops->nqueues ? &v->s.q[v->s.queue_sel] : NULL;
	uint64_t x = write ? get(d, size) : 0, r = 0;

	switch (off) {
	case 0x00: if (write) v->s.dev_feat_sel = (uint32_t)x; else r = v->s.dev_feat_sel; break;
	case 0x04:
		r = v->s.dev_feat_sel < 2 ? (uint32_t)(v->offered >> (32 * v->s.dev_feat_sel)) : 0;
		break;
	case 0x08: if (write) v->s.drv_feat_sel = (uint32_t)x; else r = v->s.drv_feat_sel; break;
	case 0x0c:
		if (write && v->s.drv_feat_sel < 2 && !(v->s.status & STATUS_FEATURES_OK)) {
			uint64_t mask = 0xffffffffull << (32 * v->s.drv_feat_sel);
			v->s.driver_features = (v->s.driver_features & ~mask) |
				((x << (32 * v->s.drv_feat_sel)) & mask);
		} else if (!write && v->s.drv_feat_sel < 2) {
			r = (uint32_t)(v->s.driver_features >> (32 * v->s.drv_feat_sel));
		}
		break;
	case 0x10:
		if (write)
			v->s.msix_config = x <= (uint64_t)v->ops->nqueues ? (uint16_t)x : NO_VECTOR;
		else
			r = v->s.msix_config;
		break;
	case 0x12: r = (uint64_t)v->ops->nqueues; break;
	case 0x14: if (write) status_write(v, (uint8_t)x); else r = v->s.status; break;
	case 0x15: r = v->s.config_gen; break;
	case 0x16: if (write) v->s.queue_sel = (uint16_t)x; else r = v->s.queue_sel; break;
	case 0x18:
		if (q && write && !q->ready && x && x <= v->ops->queue_size && !(x & (x - 1)))
			q->size = (uint16_t)x;
		else if (q && !write)
			r = q->size;
		break;
	case 0x1a:
		if (q && write) {
			v->s.q_vector[v->s.queue_sel] =
				x <= (uint64_t)v->ops->nqueues ? (uint16_t)x : NO_VECTOR;
			virtio_irqfd_update(v);
		}
		else if (q)
			r = v->s.q_vector[v->s.queue_sel];
		else
			r = NO_VECTOR;
		break;
	case 0x1c:
		if (q && write && x == 1 && !q->ready && virtq_start(&v->vm->mem, q) < 0) {
			vmm_warn(v->vm, "%s: queue %u: %s; the device needs a reset", v->ops->name,
				 v->s.queue_sel, q->why);
			v->s.status |= STATUS_NEEDS_RESET;
			v->s.config_gen++;
			virtio_interrupt(v, -1);
		} else if (q && !write) {
			r = q->ready;
		}
		break;
	case 0x1e: r = v->s.queue_sel; break;
	case 0x20: case 0x24: case 0x28: case 0x2c: case 0x30: case 0x34: {
		uint64_t *a = !q ? NULL : off < 0x28 ? &q->desc : off < 0x30 ? &q->avail : &q->used;
		int shift = (off & 4) ? 32 : 0;
		if (a && write && !q->ready && size == 4)
			*a = (*a & ~(0xffffffffull << shift)) | (x << shift);
		else if (a && write && !q->ready && size == 8 && !(off & 4))
			*a = x;
		else if (a && !write)
			r = *a >> shift;
		break;
	}
	default: break;
	}
	if (!write)
		put(d, size, r);
}

static void msix_access(struct virtio_dev *v, uint32_t off, bool write, uint8_t *d, int size)
{
	uint32_t n = (uint32_t)v->ops->nqueues + 1;

	if (off >= OFF_PBA) {
		if (!write)
			put(d, size, off == OFF_PBA ? v->s.msix_pending : 0);
		return;
	}
	off -= OFF_MSIX;
	if (off / 16 >= n || size != 4 || (off & 3)) {
		if (!write)
			memset(d, 0, (size_t)size);
		return;
	}
	uint32_t *w = &v->s.msix[off / 16].addr_lo + (off % 16) / 4;
	if (write) {
		*w = (uint32_t)get(d, 4);
		virtio_deliver_pending(v);	/* an entry just unmasked */
		virtio_irqfd_update(v);	/* or masked, or its message changed */
	} else {
		put(d, 4, *w);
	}
}

static void kick(struct virtio_dev *v, uint32_t q)
{
	uint64_t one = 1;

	if (write(v->kick[q], &one, 8) < 0)
		vmm_warn(v->vm, "%s: queue %u notification lost", v->ops->name, q);
}

/* BAR0 at offset off, by MMIO or through the PCI_CFG window; under v->lock. */
static void bar0_access(struct virtio_dev *v, uint32_t off, bool write, uint8_t *d, int size)
{
	struct vmm *vm = v->vm;

	if (off < OFF_ISR && off < 0x40) {
		common_access(v, off, write, d, size);
	} else if (off >= OFF_ISR && off < OFF_DEVICE) {
		if (!write) {	/* reading ISR clears it and lowers INTx */
			put(d, size, off == OFF_ISR ? v->s.isr : 0);
			v->s.isr = 0;
			vmm_irq_line(vm, v->irq, 0);
		}
	} else if (off >= OFF_DEVICE && off < OFF_NOTIFY) {
		if (!write && v->ops->config_read &&
		    off - OFF_DEVICE + (uint32_t)size <= v->ops->config_len)
			v->ops->config_read(v, off - OFF_DEVICE, d, size);
		else if (!write)
			memset(d, 0, (size_t)size);
	} else if (off >= OFF_NOTIFY && off < OFF_MSIX) {
		uint32_t q = (off - OFF_NOTIFY) /
			NOTIFY_MULT; /* an access KVM's ioeventfd did not take */
		if (write && q < (uint32_t)v->ops->nqueues)
			kick(v, q);
		if (!write)
			memset(d, 0, (size_t)size);
	} else if (off >= OFF_MSIX && off < BAR_SIZE && v->has_msix) {
		msix_access(v, off, write, d, size);
	} else if (!write) {
		memset(d, 0, (size_t)size);
	}
}

static void bar_access(struct vmm *vm, void *dev, uint64_t addr, bool write, uint8_t *d, int size)
{
	struct virtio_dev *v = dev;

	(void)vm;
	pthread_mutex_lock(&v->lock);
	bar0_access(v, (uint32_t)(addr - v->bar), write, d, size);
	pthread_mutex_unlock(&v->lock);
}

/* VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): BAR0 reached through config space, for drivers that cannot map
 * it. The driver sets bar, offset and length in the capability, then reads or writes its
 * pci_cfg_data; only BAR0, lengths of 1, 2 or 4 and an aligned offset inside it are served,
 * anything else reads as zero. */
static void cfg_window(struct vmm *vm, struct vmm_pci_dev *pd, unsigned reg, bool write,
		       uint8_t *data, int size)
{
	struct virtio_dev *v = pd->priv;
	const uint8_t *cap = pd->cfg + v->cfg_cap;
	uint32_t off, len, at = reg - (unsigned)(v->cfg_cap + 16);
	uint8_t buf[4] = { 0 };

	(void)vm;
	memcpy(&off, cap + 8, 4);
	memcpy(&len, cap + 12, 4);
	bool ok = cap[4] == 0 && (len == 1 || len == 2 || len == 4) && off % len == 0 &&
		off < BAR_SIZE && BAR_SIZE - off >= len && at == 0 && (uint32_t)size >= len;
	pthread_mutex_lock(&v->lock);
	if (ok && write) {
		memcpy(buf, data, len);
		bar0_access(v, off, true, buf, (int)len);
	} else if (!write) {
		if (ok)
			bar0_access(v, off, false, buf, (int)len);
		memcpy(data, buf + (at < 4 ? at : 0), (size_t)size);
	}
	pthread_mutex_unlock(&v->lock);
}

static void ioeventfds(struct virtio_dev *v, uint64_t base, bool assign)
{
	for (int i = 0; base && i < v->ops->nqueues; i++) {
		struct kvm_ioeventfd e = { .addr = base + OFF_NOTIFY + NOTIFY_MULT * (unsigned)i,
					   .len = 2,
					   .fd = v->kick[i],
					   .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN };
		if (ioctl(v->vm->fd, KVM_IOEVENTFD, &e) < 0 && assign)
			vmm_warn(v->vm,
				 "%s: KVM_IOEVENTFD: %s (notifications exit to the VMM instead)",
				 v->ops->name, strerror(errno));
	}
}

/* The MSI-X enable and function-mask bits are in config space: what was held back goes, irqfds
 * follow. */
static void config_written(struct vmm *vm, struct vmm_pci_dev *d, unsigned reg,
			   const uint8_t *data, int size)
{
	struct virtio_dev *v = d->priv;

	(void)vm, (void)reg, (void)data, (void)size;
	pthread_mutex_lock(&v->lock);
	virtio_deliver_pending(v);
	virtio_irqfd_update(v);
	pthread_mutex_unlock(&v->lock);
}

/* The guest moved BAR0 or switched its decoding: the MMIO region and the ioeventfds follow it. */
static void bar_moved(struct vmm *vm, struct vmm_pci_dev *d, int bar, uint64_t addr)
{
	struct virtio_dev *v = d->priv;

	if (bar != 0)
		return;
	pthread_mutex_lock(&v->lock);
	ioeventfds(v, v->bar, false);
	v->bar = addr;
	vmm_mmio_move(vm, v,
		      addr ? addr : VMM_4G - BAR_SIZE); /* not decoded: parked where nothing is */
	ioeventfds(v, v->bar, true);
	pthread_mutex_unlock(&v->lock);
}

/* The capabilities (4.1.4) that point into BAR0, and MSI-X last. */
static void add_caps(struct virtio_dev *v)
{
	struct { uint8_t type; uint32_t off, len; } caps[] = {
		{ 1, OFF_COMMON, 0x40 }, { 3, OFF_ISR, 1 }, { 4, OFF_DEVICE, 0x1000 },
	};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (caps[i].type == 4 && !v->ops->config_len)
			continue;
		uint8_t c[16] = { PCI_CAP_ID_VNDR, 0, 16, caps[i].type, 0 };
		memcpy(c + 8, &caps[i].off, 4);
		memcpy(c + 12, &caps[i].len, 4);
		vmm_pci_add_cap(&v->pci, c, 16);
	}
	uint8_t nc[20] = { PCI_CAP_ID_VNDR, 0, 20, 2, 0 };
	uint32_t off = OFF_NOTIFY, len = NOTIFY_MULT * (uint32_t)v->ops->nqueues,
		 mult = NOTIFY_MULT;
	memcpy(nc + 8, &off, 4);
	memcpy(nc + 12, &len, 4);
	memcpy(nc + 16, &mult, 4);
	vmm_pci_add_cap(&v->pci, nc, 20);
	uint8_t pc[20] = { PCI_CAP_ID_VNDR, 0, 20, 5,
			   0 }; /* PCI_CFG: bar, offset, length the driver's */
	v->cfg_cap = vmm_pci_add_cap(&v->pci, pc, 20);
	v->pci.wmask[v->cfg_cap + 4] = 0xff;
	memset(v->pci.wmask + v->cfg_cap + 8, 0xff, 8);
	v->pci.window = v->cfg_cap + 16;
	v->pci.window_access = cfg_window;
	if (v->has_msix) {
		uint8_t mc[12] = { PCI_CAP_ID_MSIX, 0 };
		uint16_t ctrl = (uint16_t)v->ops->nqueues;	/* table size - 1 */
		uint32_t table = OFF_MSIX, pba = OFF_PBA;	/* both in BAR0 */
		memcpy(mc + 2, &ctrl, 2);
		memcpy(mc + 4, &table, 4);
		memcpy(mc + 8, &pba, 4);
		v->msix_cap = vmm_pci_add_cap(&v->pci, mc, 12);
		v->pci.wmask[v->msix_cap + 3] = 0xc0;	/* enable, function mask */
	}
}

int virtio_pci_create(struct vmm *vm, const struct virtio_ops *ops, void *priv,
		      struct virtio_dev **out, char *err, size_t errlen)
{
	struct virtio_dev *v = calloc(1, sizeof(*v));
	int rc;

	if (out)
		*out = v;
	if (!v) {
		struct virtio_dev gone = { .ops = ops, .vm = vm, .priv = priv };
		if (ops->destroy)	/* priv is ours to free, even now */
			ops->destroy(&gone);
		return -ENOMEM;
	}
	v->ops = ops;
	v->vm = vm;
	v->priv = priv;
	v->wake = -1;
	pthread_mutex_init(&v->lock, NULL);
	vmm_park_init(&v->park);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		v->kick[i] = v->call[i] = v->gsi[i] = -1;
	if ((rc = virtio_dev_register(v)) < 0)
		return errmsg(err, errlen, rc, "%s: too many devices (%d at most)", ops->name,
			      VMM_MAX_DEVICES);
	for (int i = 0; i < ops->nqueues; i++)
		if ((v->kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			return errmsg(err, errlen, -errno, "%s: eventfd: %s", ops->name,
				      strerror(errno));
	if ((v->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return errmsg(err, errlen, -errno, "%s: eventfd: %s", ops->name, strerror(errno));
	v->offered = ops->features | VIRTIO_F_VERSION_1_BIT | VIRTIO_F_INDIRECT_DESC_BIT |
		VIRTIO_F_EVENT_IDX_BIT;
	v->has_msix = ioctl(vm->sysfd, KVM_CHECK_EXTENSION, KVM_CAP_SIGNAL_MSI) > 0;
	reset(v);
	struct vmm_pci_dev *d = &v->pci;
	uint16_t vendor = 0x1af4, device = (uint16_t)(0x1040 + ops->device_id), sub = 0x40;
	memcpy(d->cfg, &vendor, 2);
	memcpy(d->cfg + 2, &device, 2);
	d->cfg[0x08] = 1;	/* revision 1: modern only */
	d->cfg[0x09] = (uint8_t)ops->class_code;
	d->cfg[0x0a] = (uint8_t)(ops->class_code >> 8);
	d->cfg[0x0b] = (uint8_t)(ops->class_code >> 16);
	memcpy(d->cfg + 0x2c, &vendor, 2);
	memcpy(d->cfg + 0x2e, &sub, 2);
	d->cfg[0x3d] = 1;	/* INTA */
	d->name = ops->name;
	d->bar_size[0] = BAR_SIZE;
	d->bar_moved = bar_moved;
	d->priv = v;
	d->config_written = config_written;
	add_caps(v);
	if ((rc = vmm_pci_add(vm, d, err, errlen)) < 0)
		return rc;
	v->irq = 10 + d->slot % 2; /* INTA of its slot, as the DSDT's _PRT routes it (tables.c) */
	d->cfg[0x3c] = (uint8_t)v->irq;
	if ((rc = vmm_mmio_register(vm, ops->name, VMM_4G - BAR_SIZE, BAR_SIZE, bar_access, v)) < 0)
		return errmsg(err, errlen, rc, "%s: too many MMIO regions", ops->name);
	if ((rc = virtio_dev_start(v)) < 0)
		return errmsg(err, errlen, rc, "%s: its I/O thread: %s", ops->name, strerror(-rc));
	return 0;
}
