/* bus: the guest's port and MMIO address spaces: who answers where (registered by the devices,
 * MMIO regions moved or removed while the VM runs), and one port access handed to its owner. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "vmm/vm.h"

int vmm_pio_register(struct vmm *vm, const char *name, uint16_t base, uint16_t len, vmm_pio_fn fn,
		     void *dev)
{
	if (vm->npio >= VMM_MAX_PIO_DEVS || (uint32_t)base + len > 65536)
		return -ENOSPC;
	for (uint32_t p = base; p < (uint32_t)base + len; p++)
		if (vm->port_owner[p])
			return -EBUSY;
	vm->pio[vm->npio] = (struct vmm_pio_dev){ name, base, len, fn, dev };
	vm->npio++;
	memset(vm->port_owner + base, vm->npio, len);
	return 0;
}

/* A removed region's entry is used again; a vCPU looking meanwhile sees its length last (0 while
 * it changes), so never half an entry. */
int vmm_mmio_register(struct vmm *vm, const char *name, uint64_t base, uint64_t len, vmm_mmio_fn fn,
		      void *dev)
{
	int i;

	pthread_mutex_lock(&vm->mmio_lock);
	for (i = 0; i < vm->nmmio && __atomic_load_n(&vm->mmio[i].len, __ATOMIC_ACQUIRE); i++)
		;
	if (i == VMM_MAX_MMIO_DEVS) {
		pthread_mutex_unlock(&vm->mmio_lock);
		return -ENOSPC;
	}
	vm->mmio[i].name = name;
	vm->mmio[i].fn = fn;
	vm->mmio[i].dev = dev;
	__atomic_store_n(&vm->mmio[i].base, base, __ATOMIC_RELEASE);
	__atomic_store_n(&vm->mmio[i].len, len, __ATOMIC_RELEASE);
	if (i == vm->nmmio)
		__atomic_store_n(&vm->nmmio, i + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->mmio_lock);
	return 0;
}

void vmm_mmio_unregister(struct vmm *vm, void *dev)
{
	pthread_mutex_lock(&vm->mmio_lock);
	for (int i = 0; i < vm->nmmio; i++)
		if (vm->mmio[i].dev == dev)
			__atomic_store_n(&vm->mmio[i].len, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->mmio_lock);
}

void vmm_mmio_move(struct vmm *vm, void *dev, uint64_t base)
{
	for (int i = 0; i < vm->nmmio; i++)
		if (vm->mmio[i].dev == dev)
			__atomic_store_n(&vm->mmio[i].base, base, __ATOMIC_RELEASE);
}

void vmm_pio_dispatch(struct vmm *vm, uint16_t port, bool write, uint8_t *data, int size)
{
	int owner = vm->port_owner[port];

	if (owner) {
		struct vmm_pio_dev *d = &vm->pio[owner - 1];
		d->fn(vm, d->dev, port, write, data, size);
		return;
	}
	if (!write)
		memset(data, 0xff, (size_t)size);	/* an empty bus reads all-ones */
	if (!(vm->port_warned[port / 8] & (1u << (port % 8)))) {
		vm->port_warned[port / 8] |= (uint8_t)(1u << (port % 8));
		vmm_warn(vm, "guest %s unclaimed port 0x%x (counted; reported once)",
			 write ? "wrote" : "read", port);
	}
}

