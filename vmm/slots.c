/* slots: KVM's memory slots, allocated rather than numbered by hand: guest RAM takes one or two
 * (below the MMIO hole, and above 4 GiB), and a passed-through device's BARs will take more, made
 * and removed while the VM lives. */
#include "config.h"
#include <errno.h>
#include <sys/ioctl.h>
#include "vmm/vm.h"

int vmm_slot_map(struct vmm *vm, uint64_t gpa, uint64_t size, void *host, uint32_t flags)
{
	int max, slot, rc = 0;

	pthread_mutex_lock(&vm->slot_lock);
	if (!vm->nr_slots) {
		int n = ioctl(vm->sysfd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
		vm->nr_slots = n > 0 && n < VMM_MAX_SLOTS ? n : n > 0 ? VMM_MAX_SLOTS : 32;
	}
	max = vm->nr_slots;
	for (slot = 0; slot < max && (vm->slot_used[slot / 8] & (1u << (slot % 8))); slot++)
		;
	if (slot == max) {
		rc = -ENOSPC;
	} else {
		struct kvm_userspace_memory_region r = { .slot = (uint32_t)slot,
							 .flags = flags,
							 .guest_phys_addr = gpa,
							 .memory_size = size,
							 .userspace_addr = (uintptr_t)host };
		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			rc = -errno;
		else
			vm->slot_used[slot / 8] |= (uint8_t)(1u << (slot % 8));
	}
	pthread_mutex_unlock(&vm->slot_lock);
	return rc < 0 ? rc : slot;
}

int vmm_slot_unmap(struct vmm *vm, int slot)
{
	struct kvm_userspace_memory_region r = { .slot = (uint32_t)slot };	/* size 0: deleted */
	int rc = 0;

	if (slot < 0 || slot >= VMM_MAX_SLOTS)
		return -EINVAL;
	pthread_mutex_lock(&vm->slot_lock);
	if (!(vm->slot_used[slot / 8] & (1u << (slot % 8))))
		rc = -ENOENT;
	else if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		rc = -errno;
	else
		vm->slot_used[slot / 8] &= (uint8_t)~(1u << (slot % 8));
	pthread_mutex_unlock(&vm->slot_lock);
	return rc;
}
