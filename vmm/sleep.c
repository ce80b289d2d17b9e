/* sleep: ACPI S3 (suspend to RAM). The guest's SLP_EN with the _S3 type parks every vCPU; an RTC
 * alarm or a key on the console wakes the VM, and the boot vCPU starts over in real mode at the
 * FACS waking vector, as firmware does on a PC (the other vCPUs wait for the guest's SIPI). Guest
 * RAM is untouched throughout. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include "vmm/vm.h"

/* Called by the VM's main thread while suspended. The RTC's alarm interrupt comes with the RTC's
 * once-a-second update, so a wake is never earlier than the next second. */
void vmm_wake_poll(struct vmm *vm)
{
	if (!atomic_load(&vm->suspended) || vm->devices_paused)	/* paused by its user: no wake */
		return;
	if (!atomic_load(&vm->wake_request) &&
	    (time(NULL) == vm->suspended_at || !vmm_platform_wake_due(vm)))
		return;
	for (int i = 0; i < vm->ncpus; i++)
		atomic_store(&vm->cpu[i].resume, true);
	vmm_platform_woken(vm);
	atomic_store(&vm->suspended, false);
	vmm_vcpus_resume(vm);
}

static void real_mode_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){ .base = (uint64_t)sel << 4,
				   .limit = 0xffff,
				   .selector = sel,
				   .type = type,
				   .present = 1,
				   .s = 1 };
}

/* On the vCPU's own thread, before its next KVM_RUN. */
int vmm_vcpu_resume(struct vmm_vcpu *c)
{
	struct kvm_mp_state wait_sipi = { .mp_state = KVM_MP_STATE_INIT_RECEIVED };
	uint32_t vector = vmm_acpi_waking_vector(c->vm);
	struct kvm_regs r = { .rip = vector & 0xf, .rflags = 2 };
	struct kvm_sregs sr;

	atomic_store(&c->resume, false);
	if (c->id != 0)
		return ioctl(c->fd, KVM_SET_MP_STATE, &wait_sipi) < 0 ? -errno : 0;
	if (ioctl(c->fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	real_mode_seg(&sr.cs, (uint16_t)(vector >> 4), 0xb);
	real_mode_seg(&sr.ds, 0, 0x3);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.tr = (struct kvm_segment){ .limit = 0xffff,
				      .type = 0x3,
				      .present = 1 }; /* 16-bit busy TSS */
	sr.ldt = (struct kvm_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	sr.gdt = (struct kvm_dtable){ .base = 0, .limit = 0xffff };
	sr.idt = (struct kvm_dtable){ .base = 0, .limit = 0xffff };
	sr.cr0 = 0x10;	/* ET: real mode, no paging */
	sr.cr2 = sr.cr3 = sr.cr4 = 0;
	sr.efer = 0;
	memset(sr.interrupt_bitmap, 0, sizeof(sr.interrupt_bitmap));
	if (ioctl(c->fd, KVM_SET_SREGS, &sr) < 0 || ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}
