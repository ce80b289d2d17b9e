/* coalesced: port writes that KVM queues in a ring instead of exiting (KVM_CAP_COALESCED_PIO), for
 * registers whose value matters only at the next access that does exit: the PCI address port 0xcf8
 * (before its 0xcfc access) and the CMOS index 0x70 (before 0x71). Linux reads config space 8,192
 * times in one early scan on some AMD CPUs; each read is a 0xcf8 write and a 0xcfc read, and the
 * write no longer costs an exit. */
#include "config.h"
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "vmm/vm.h"

int vmm_pio_coalesce(struct vmm *vm, uint16_t base, uint16_t len)
{
	struct kvm_coalesced_mmio_zone z = { .addr = base, .size = len, .pio = 1 };

	if (ioctl(vm->sysfd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0)
		return 0;	/* an older KVM: those writes simply exit */
	return ioctl(vm->fd, KVM_REGISTER_COALESCED_MMIO, &z) < 0 ? -errno : 0;
}

/* The ring is one page of every vCPU's mapping, at the page offset KVM_CAP_COALESCED_MMIO answers.
 */
void vmm_coalesced_map(struct vmm *vm, struct kvm_run *run)
{
	int page = ioctl(vm->sysfd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	long size = sysconf(_SC_PAGESIZE);

	if (vm->coalesced_ring || page <= 0 || (size_t)(page + 1) * (size_t)size > vm->run_size)
		return;
	vm->coalesced_ring =
		(struct kvm_coalesced_mmio_ring *)((uint8_t *)run + (size_t)page * (size_t)size);
	vm->coalesced_max = ((uint32_t)size - sizeof(struct kvm_coalesced_mmio_ring)) /
			    sizeof(struct kvm_coalesced_mmio);
	pthread_mutex_init(&vm->coalesced_lock, NULL);
}

/* Replays the queued writes, oldest first, before any exit is handled; the kernel fills the ring,
 * we empty it. */
void vmm_coalesced_drain(struct vmm *vm)
{
	struct kvm_coalesced_mmio_ring *r = vm->coalesced_ring;

	if (!r ||
	    __atomic_load_n(&r->first, __ATOMIC_ACQUIRE) ==
		    __atomic_load_n(&r->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&vm->coalesced_lock);
	for (uint32_t first = r->first; first != __atomic_load_n(&r->last, __ATOMIC_ACQUIRE);) {
		if (first >= vm->coalesced_max)
			break;	/* not a ring KVM wrote: stop rather than read past it */
		struct kvm_coalesced_mmio *e = &r->coalesced_mmio[first];
		uint8_t data[8];
		if (e->pio && e->len && e->len <= sizeof(data) && e->phys_addr < 65536) {
			__builtin_memcpy(data, e->data, e->len);
			vmm_pio_dispatch(vm, (uint16_t)e->phys_addr, true, data, (int)e->len);
			vm->coalesced++;
		}
		first = (first + 1) % vm->coalesced_max;
		__atomic_store_n(&r->first, first, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vm->coalesced_lock);
}
