/* irq: the VM's interrupt wiring: the lines of the in-kernel PIC and IOAPIC, KVM's GSI routing
 * table (a PC's, as QEMU sets it), and the MSI routes devices served in the kernel use (irqfd). */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include "vmm/vm.h"

void vmm_irq_line(struct vmm *vm, int irq, int level)
{
	struct kvm_irq_level l = { .irq = (uint32_t)irq, .level = (uint32_t)level };

	ioctl(vm->fd, KVM_IRQ_LINE, &l);
}

static struct kvm_irq_routing_entry irqchip_route(uint32_t gsi, uint32_t chip, uint32_t pin)
{
	return (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
					       .u.irqchip = { .irqchip = chip, .pin = pin } };
}

/* A PC's wiring, as QEMU sets it: ISA IRQs to the 8259s and every GSI to the IOAPIC, the PIT (GSI
 * 0) on IOAPIC pin 2 as our MADT override and MP table say. KVM's default puts GSI 0 on pin 0,
 * where Linux finds no timer ("..MP-BIOS bug: 8254 timer not connected to IO-APIC"). Then the MSI
 * routes in use. KVM takes only whole tables: every change sets all of it (under route_lock). */
int vmm_irq_routing_set(struct vmm *vm)
{
	enum { ISA_IRQS = 16, IOAPIC_PINS = 24, CASCADE = 2 };
	struct kvm_irq_routing *t = calloc(
		1, sizeof(*t) + (ISA_IRQS + IOAPIC_PINS + VMM_MSI_ROUTES) * sizeof(t->entries[0]));
	int rc = 0;

	if (!t)
		return -ENOMEM;
	for (uint32_t irq = 0; irq < ISA_IRQS; irq++)
		if (irq != CASCADE)
			t->entries[t->nr++] = irqchip_route(
				irq, irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				irq % 8);
	for (uint32_t gsi = 0; gsi < IOAPIC_PINS; gsi++)
		if (gsi != CASCADE)
			t->entries[t->nr++] =
				irqchip_route(gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? CASCADE : gsi);
	for (uint32_t i = 0; i < VMM_MSI_ROUTES; i++)
		if (vm->msi_route[i].used)
			t->entries[t->nr++] = (struct kvm_irq_routing_entry){
				.gsi = VMM_MSI_GSI_BASE + i,
				.type = KVM_IRQ_ROUTING_MSI,
				.u.msi = { .address_lo = vm->msi_route[i].addr_lo,
					   .address_hi = vm->msi_route[i].addr_hi,
					   .data = vm->msi_route[i].data }
			};
	if (ioctl(vm->fd, KVM_SET_GSI_ROUTING, t) < 0)
		rc = -errno;
	free(t);
	return rc;
}

int vmm_msi_route_set(struct vmm *vm, int gsi, uint32_t addr_lo, uint32_t addr_hi, uint32_t data)
{
	int i = gsi - VMM_MSI_GSI_BASE, rc;

	pthread_mutex_lock(&vm->route_lock);
	if (gsi < 0)
		for (i = 0; i < VMM_MSI_ROUTES && vm->msi_route[i].used; i++)
			;
	if (i < 0 || i >= VMM_MSI_ROUTES) {
		pthread_mutex_unlock(&vm->route_lock);
		return -ENOSPC;
	}
	vm->msi_route[i].used = true;
	vm->msi_route[i].addr_lo = addr_lo;
	vm->msi_route[i].addr_hi = addr_hi;
	vm->msi_route[i].data = data;
	if ((rc = vmm_irq_routing_set(vm)) < 0)
		vm->msi_route[i].used = false;
	pthread_mutex_unlock(&vm->route_lock);
	return rc < 0 ? rc : VMM_MSI_GSI_BASE + i;
}

void vmm_msi_route_free(struct vmm *vm, int gsi)
{
	int i = gsi - VMM_MSI_GSI_BASE;

	if (i < 0 || i >= VMM_MSI_ROUTES)
		return;
	pthread_mutex_lock(&vm->route_lock);
	vm->msi_route[i].used = false;
	vmm_irq_routing_set(vm);
	pthread_mutex_unlock(&vm->route_lock);
}

