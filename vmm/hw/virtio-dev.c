/* virtio-dev: a virtio device's life beside its PCI transport's registers (virtio-pci.c): its
 * interrupts (MSI-X messages, INTx, or KVM's irqfd for a queue vhost serves), its queues as the
 * device's code walks them, its I/O thread, and its place among the VM's devices (vmm/device.h):
 * teardown, pause between requests, statistics and queue positions. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmm/hw/virtio-pci.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

static bool msix_enabled(const struct virtio_dev *v, bool *masked)
{
	uint16_t ctrl = 0;

	if (v->has_msix)
		memcpy(&ctrl, v->pci.cfg + v->msix_cap + 2, 2);

	*masked = ctrl & 0x4000;
	return ctrl & 0x8000;
}

/* Under v->lock. q < 0: a configuration change. */
void virtio_interrupt(struct virtio_dev *v, int q)
{
	bool masked;

	v->interrupts++;
	if (msix_enabled(v, &masked)) {
		uint16_t vec = q < 0 ? v->s.msix_config : v->s.q_vector[q];
		if (vec >= v->ops->nqueues + 1)
			return;	/* NO_VECTOR: the driver wants none */
		if (masked || (v->s.msix[vec].ctrl & 1)) {
			v->s.msix_pending |= 1ull << vec;	/* sent when unmasked */
			return;
		}
		struct kvm_msi m = { .address_lo = v->s.msix[vec].addr_lo,
				     .address_hi = v->s.msix[vec].addr_hi,
				     .data = v->s.msix[vec].data };
		ioctl(v->vm->fd, KVM_SIGNAL_MSI, &m);
		return;
	}
	v->s.isr |= q < 0 ? 2 : 1;
	if (!(v->pci.cfg[0x05] & 0x04)) /* INTx not disabled in the command register */
		vmm_irq_line(v->vm, v->irq, 1);
}

void virtio_deliver_pending(struct virtio_dev *v)
{
	bool masked;

	if (!msix_enabled(v, &masked) || masked)
		return;
	for (int i = 0; i <= v->ops->nqueues; i++)
		if ((v->s.msix_pending & (1ull << i)) && !(v->s.msix[i].ctrl & 1)) {
			v->s.msix_pending &= ~(1ull << i);
			struct kvm_msi m = { .address_lo = v->s.msix[i].addr_lo,
					     .address_hi = v->s.msix[i].addr_hi,
					     .data = v->s.msix[i].data };
			ioctl(v->vm->fd, KVM_SIGNAL_MSI, &m);
		}
}

/* Under v->lock. A queue served elsewhere has its interrupts sent by KVM itself (irqfd on an MSI
 * route) while its MSI-X vector can take them; masked, or without MSI-X, the I/O thread takes them
 * (and keeps them pending). */
void virtio_irqfd_update(struct virtio_dev *v)
{
	bool masked, on = msix_enabled(v, &masked) && !masked, any = false;
	uint64_t one = 1;

	for (int q = 0; q < v->ops->nqueues; q++)
		any |= v->call[q] >= 0 || v->gsi[q] >= 0;
	if (!any)
		return;	/* every queue ours: nothing to route */
	for (int q = 0; q < v->ops->nqueues; q++) {
		uint16_t vec = v->s.q_vector[q];
		bool want = on && v->call[q] >= 0 && vec < v->ops->nqueues + 1 &&
			!(v->s.msix[vec].ctrl & 1);
		struct kvm_irqfd f = { .fd = (uint32_t)v->call[q], .gsi = (uint32_t)v->gsi[q] };
		if (want) {
			int gsi = vmm_msi_route_set(v->vm, v->gsi[q], v->s.msix[vec].addr_lo,
						    v->s.msix[vec].addr_hi, v->s.msix[vec].data);
			if (gsi >= 0 && v->gsi[q] < 0) {
				f.gsi = (uint32_t)gsi;
				if (ioctl(v->vm->fd, KVM_IRQFD, &f) < 0) {
					vmm_msi_route_free(v->vm, gsi);
					gsi = -1;
				}
			}
			__atomic_store_n(&v->gsi[q], gsi, __ATOMIC_RELEASE);
		} else if (v->gsi[q] >= 0) {
			f.flags = KVM_IRQFD_FLAG_DEASSIGN;
			ioctl(v->vm->fd, KVM_IRQFD, &f);
			vmm_msi_route_free(v->vm, v->gsi[q]);
			__atomic_store_n(&v->gsi[q], -1, __ATOMIC_RELEASE);
		}
	}
	if (write(v->wake, &one, 8) != 8)
		return;	/* the I/O thread is being woken anyway */
}

void virtio_set_call(struct virtio_dev *v, int q, int call)
{
	if (call < 0 && v->call[q] >= 0) {	/* its irqfd goes first, with the fd it was given */
		int was = v->call[q];
		__atomic_store_n(&v->call[q], -1, __ATOMIC_RELEASE);
		if (v->gsi[q] >= 0) {
			struct kvm_irqfd f = { .fd = (uint32_t)was,
					       .gsi = (uint32_t)v->gsi[q],
					       .flags = KVM_IRQFD_FLAG_DEASSIGN };
			ioctl(v->vm->fd, KVM_IRQFD, &f);
			vmm_msi_route_free(v->vm, v->gsi[q]);
			__atomic_store_n(&v->gsi[q], -1, __ATOMIC_RELEASE);
		}
	}
	__atomic_store_n(&v->call[q], call, __ATOMIC_RELEASE);
	virtio_irqfd_update(v);	/* and wakes the I/O thread, which polls what is left for it */
}

void *virtio_host_ptr(struct virtio_dev *v, uint64_t gpa, uint64_t len)
{
	return vmm_mem_ptr(&v->vm->mem, gpa, len);
}

int virtio_pop(struct virtio_dev *v, int q, struct virtq_chain *c)
{
	pthread_mutex_lock(&v->lock);
	int rc = (v->s.status & STATUS_DRIVER_OK) && !(v->s.status & STATUS_NEEDS_RESET) &&
			v->call[q] < 0 ?
		virtq_pop(&v->vm->mem, &v->s.q[q], c) :
		0; /* a queue vhost serves is not ours to walk */
	if (rc < 0) {
		if (!v->warned)	/* once: a hostile driver must not flood the log */
			vmm_warn(v->vm, "%s: queue %d: %s; the device needs a reset", v->ops->name,
				 q, v->s.q[q].why);
		v->warned = true;
		v->s.status |= STATUS_NEEDS_RESET;
		v->s.config_gen++;
		virtio_interrupt(v, -1);
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

void virtio_push(struct virtio_dev *v, int q, uint16_t head, uint32_t written)
{
	pthread_mutex_lock(&v->lock);
	if (v->s.q[q].ready && v->call[q] < 0 && virtq_push(&v->vm->mem, &v->s.q[q], head, written))
		virtio_interrupt(v, q);
	pthread_mutex_unlock(&v->lock);
}

void virtio_push_later(struct virtio_dev *v, int q, uint16_t head, uint32_t written)
{
	pthread_mutex_lock(&v->lock);
	if (v->s.q[q].ready && v->call[q] < 0 && virtq_push(&v->vm->mem, &v->s.q[q], head, written))
		v->s.held |= 1u << q;
	pthread_mutex_unlock(&v->lock);
}

void virtio_flush(struct virtio_dev *v, int q)
{
	pthread_mutex_lock(&v->lock);
	if (v->s.held & (1u << q)) {
		v->s.held &= ~(1u << q);
		virtio_interrupt(v, q);
	}
	pthread_mutex_unlock(&v->lock);
}

static void *io_thread(void *arg)
{
	struct virtio_dev *v = arg;
	struct pollfd p[VIRTIO_MAX_QUEUES + 1];
	bool served[VIRTIO_MAX_QUEUES];
	int n = v->ops->nqueues;

	vmm_sandbox_enter(v->vm, (enum vmm_thread_kind)v->ops->sandbox_kind);

	for (;;) {
		for (int i = 0; i < n; i++) {
			int call = __atomic_load_n(&v->call[i], __ATOMIC_ACQUIRE);
			served[i] = call < 0;
			if (!served[i] && __atomic_load_n(&v->gsi[i], __ATOMIC_ACQUIRE) >= 0)
				call = -1; /* KVM sends its interrupts (irqfd): nothing for us */
			p[i] = (struct pollfd){ served[i] ? v->kick[i] : call, POLLIN, 0 };
		}
		p[n] = (struct pollfd){ v->wake, POLLIN, 0 };
		if (poll(p, (nfds_t)n + 1, -1) < 0 && errno != EINTR)
			break;
		if (p[n].revents) {
			uint64_t cnt;
			if (__atomic_load_n(&v->stopping, __ATOMIC_ACQUIRE))
				break;
			if (read(v->wake, &cnt, 8) < 0)
				cnt = 0;	/* a queue changed hands: poll anew */
			/* a pause: here, between requests (each queue_notify completes what it
			 * took, io_uring's too); kicks meanwhile stay counted in their eventfds */
			vmm_park_point(&v->park);
			continue;
		}
		for (int i = 0; i < n; i++) {
			uint64_t cnt;
			if (!(p[i].revents & POLLIN))
				continue;
			if (!served[i]) {	/* vhost asks for an interrupt */
				if (read(p[i].fd, &cnt, 8) == 8) {
					pthread_mutex_lock(&v->lock);
					virtio_interrupt(v, i);
					pthread_mutex_unlock(&v->lock);
				}
				continue;
			}
			/* A kick is vhost's once the queue is handed over: never take one after
			 * that */
			if (__atomic_load_n(&v->call[i], __ATOMIC_ACQUIRE) >= 0 ||
			    read(v->kick[i], &cnt, 8) != 8)
				continue;
			__atomic_add_fetch(&v->notifies, 1, __ATOMIC_RELAXED);
			v->ops->queue_notify(v, i);
		}
	}
	return NULL;
}

static void transport_destroy(struct vmm *vm, void *priv)
{
	struct virtio_dev *v = priv;
	uint64_t one = 1;

	(void)vm;
	__atomic_store_n(&v->stopping, true, __ATOMIC_RELEASE);
	vmm_park_stop(&v->park);	/* a parked thread ends too */
	if (v->started && write(v->wake, &one, 8) == 8)
		pthread_join(v->thread, NULL);	/* no request of ours is in flight after this */
	if (v->ops->destroy)
		v->ops->destroy(v);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (v->kick[i] >= 0)
			close(v->kick[i]);
	if (v->wake >= 0)
		close(v->wake);
	free(v);
}

static void wake_io_thread(void *arg)
{
	struct virtio_dev *v = arg;
	uint64_t one = 1;

	if (write(v->wake, &one, 8) < 0)
		return;	/* awake already */
}

/* The I/O thread parked first, then the device's own part. */
static int transport_pause(struct vmm *vm, void *priv)
{
	struct virtio_dev *v = priv;
	int rc;

	(void)vm;
	if (v->started && (rc = vmm_park_request(&v->park, wake_io_thread, v)) < 0)
		return rc;
	if (v->ops->pause && (rc = v->ops->pause(v)) < 0) {
		vmm_park_release(&v->park);
		return rc;
	}
	return 0;
}

static void transport_resume(struct vmm *vm, void *priv)
{
	struct virtio_dev *v = priv;

	(void)vm;
	if (v->ops->resume)
		v->ops->resume(v);
	vmm_park_release(&v->park);
}

static bool transport_stat(struct vmm *vm, void *priv, struct vmm_dev_stat *s)
{
	struct virtio_dev *v = priv;

	(void)vm;
	snprintf(s->what, sizeof(s->what), "%s", v->ops->name);
	s->notifies = __atomic_load_n(&v->notifies, __ATOMIC_RELAXED);
	s->interrupts = __atomic_load_n(&v->interrupts, __ATOMIC_RELAXED);
	s->bytes = __atomic_load_n(&v->bytes, __ATOMIC_RELAXED);
	if (v->ops->stat)
		v->ops->stat(v, s);
	return true;
}

static int transport_queues(struct vmm *vm, void *priv, struct vmm_queue_pos *out, int max)
{
	struct virtio_dev *v = priv;
	struct vmm_dev_stat s = { 0 };
	int n = 0;

	transport_stat(vm, v, &s);
	pthread_mutex_lock(&v->lock);
	for (int q = 0; q < v->ops->nqueues && n < max; q++, n++) {
		snprintf(out[n].device, sizeof(out[n].device), "%s", s.what);
		out[n].queue = q;
		out[n].last_avail = v->s.q[q].last_avail;
		out[n].used = v->s.q[q].used_idx;
		out[n].avail = virtq_avail_idx(&v->vm->mem, &v->s.q[q]);
	}
	pthread_mutex_unlock(&v->lock);
	return n;
}

static const char *transport_name(void *priv)
{
	const struct virtio_dev *v = priv;

	return v->ops->name;
}

static const struct vmm_device_ops transport_device = {
	.kind = "virtio",
	.name = transport_name,
	.destroy = transport_destroy,
	.pause = transport_pause,
	.resume = transport_resume,
	.stat = transport_stat,
	.queues = transport_queues,
};

struct virtio_dev *virtio_pci_find(struct vmm *vm, uint16_t device_id, int nth)
{
	struct virtio_dev *v;

	for (int i = 0; (v = vmm_device_get(vm, &transport_device, i)); i++)
		if (v->ops->device_id == device_id && nth-- == 0)
			return v;
	return NULL;
}


int virtio_dev_register(struct virtio_dev *v)
{
	int rc = vmm_device_add(v->vm, &transport_device, v);

	if (rc < 0)	/* torn down here, as the registry would have */
		transport_destroy(v->vm, v);
	return rc;
}

int virtio_dev_start(struct virtio_dev *v)
{
	int rc = pthread_create(&v->thread, NULL, io_thread, v);

	v->started = rc == 0;
	return -rc;
}
