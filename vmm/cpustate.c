/* cpustate: where a VM's vCPUs are, for someone finding out why a guest stopped making
 * progress: each vCPU's instruction pointer and flags, whether it halted, what interrupt is being
 * delivered, and its local APIC: the timer (armed how, and whether its TSC deadline has passed) and
 * the vectors in service or waiting. Read with KVM's own ioctls while the vCPUs are parked. */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "vmm/vm.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define APIC_TPR 0x80
#define APIC_ISR 0x100
#define APIC_IRR 0x200
#define APIC_LVTT 0x320
#define APIC_TMICT 0x380
#define STACK_WORDS 256

static uint32_t apic_reg(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, 4);
	return v;
}

/* The vectors set in a 256-bit APIC register (ISR, IRR: eight 32-bit words 16 bytes apart). */
static json_object *vectors(const struct kvm_lapic_state *l, unsigned base)
{
	json_object *a = json_object_new_array();

	for (unsigned w = 0; w < 8; w++) {
		uint32_t bits = apic_reg(l, base + 16 * w);
		for (unsigned b = 0; b < 32; b++)
			if (bits & (1u << b))
				json_object_array_add(a, json_object_new_int((int)(32 * w + b)));
	}
	return a;
}

static json_object *hex(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
	return json_object_new_string(s);
}

static void add_hex(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, hex(v));
}

static json_object *lapic_json(int fd)
{
	struct kvm_lapic_state l;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[2];
	} m = { .h.nmsrs = 2, .e = { { .index = MSR_IA32_TSC }, { .index = MSR_IA32_TSC_DEADLINE } } };
	json_object *o = json_object_new_object();
	static const char *const modes[] = { "one-shot", "periodic", "tsc-deadline", "reserved" };

	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return o;
	uint32_t lvtt = apic_reg(&l, APIC_LVTT);
	json_object_object_add(o, "tpr", json_object_new_int((int)apic_reg(&l, APIC_TPR)));
	json_object_object_add(o, "timer_mode", json_object_new_string(modes[(lvtt >> 17) & 3]));
	json_object_object_add(o, "timer_masked", json_object_new_boolean(lvtt & (1u << 16)));
	json_object_object_add(o, "timer_vector", json_object_new_int((int)(lvtt & 0xff)));
	json_object_object_add(o, "timer_initial_count",
			       json_object_new_int64(apic_reg(&l, APIC_TMICT)));
	json_object_object_add(o, "in_service", vectors(&l, APIC_ISR));
	json_object_object_add(o, "requested", vectors(&l, APIC_IRR));
	if (ioctl(fd, KVM_GET_MSRS, &m) == 2) {
		add_hex(o, "tsc", m.e[0].data);
		add_hex(o, "tsc_deadline", m.e[1].data);
		/* an armed deadline already behind the clock is a timer interrupt owed */
		json_object_object_add(o, "deadline_passed",
				       json_object_new_boolean(m.e[1].data &&
							       m.e[1].data <= m.e[0].data));
	}
	return o;
}

/* Words at a guest virtual address, read through the vCPU's own page tables (KVM_TRANSLATE) and our
 * bounds check: from RSP, a stalled kernel's return addresses, to be found in its symbols; from
 * an address asked for, e.g. the stack an interrupt handler switched from. Ends at an unmapped
 * page. */
static json_object *words_json(const struct vmm *vm, int fd, uint64_t va)
{
	json_object *a = json_object_new_array();

	for (unsigned i = 0; i < STACK_WORDS; i++) {
		struct kvm_translation t = { .linear_address = va + 8ull * i };
		const void *p;
		uint64_t w;

		if ((va & 7) || va + 8ull * i < va || ioctl(fd, KVM_TRANSLATE, &t) < 0 || !t.valid ||
		    !(p = vmm_mem_ptr(&vm->mem, t.physical_address, 8)))
			break;
		memcpy(&w, p, 8);
		json_object_array_add(a, hex(w));
	}
	return a;
}

static json_object *cpu_json(const struct vmm *vm, struct vmm_vcpu *c, const uint64_t *at)
{
	json_object *o = json_object_new_object();
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;

	json_object_object_add(o, "cpu", json_object_new_int(c->id));
	if (ioctl(c->fd, KVM_GET_REGS, &r) == 0 && ioctl(c->fd, KVM_GET_SREGS, &s) == 0) {
		add_hex(o, "rip", r.rip);
		add_hex(o, "rsp", r.rsp);
		add_hex(o, "rflags", r.rflags);
		json_object_object_add(o, "interrupts_on", json_object_new_boolean(r.rflags & 0x200));
		json_object_object_add(o, "cpl", json_object_new_int(s.cs.selector & 3));
		add_hex(o, "cr3", s.cr3);
		json_object_object_add(o, "stack", words_json(vm, c->fd, r.rsp));
		if (at)
			json_object_object_add(o, "at", words_json(vm, c->fd, *at));
	}
	if (ioctl(c->fd, KVM_GET_MP_STATE, &mp) == 0)
		json_object_object_add(o, "halted",
				       json_object_new_boolean(mp.mp_state == KVM_MP_STATE_HALTED));
	if (ioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
		json_object_object_add(o, "interrupt_injected",
				       ev.interrupt.injected ? json_object_new_int(ev.interrupt.nr) :
							       NULL);
		json_object_object_add(o, "interrupt_shadow",
				       json_object_new_boolean(ev.interrupt.shadow != 0));
		json_object_object_add(o, "nmi_pending", json_object_new_boolean(ev.nmi.pending));
		json_object_object_add(o, "exception_pending",
				       ev.exception.injected || ev.exception.pending ?
					       json_object_new_int(ev.exception.nr) :
					       NULL);
	}
	json_object_object_add(o, "lapic", lapic_json(c->fd));
	/* its last exits, oldest first: what it did just before it stopped */
	json_object *last = json_object_new_array();
	unsigned n = c->nlast < VMM_LAST_EXITS ? c->nlast : VMM_LAST_EXITS;
	for (unsigned i = 0; i < n; i++) {
		const struct vmm_last_exit *e = &c->last[(c->nlast - n + i) % VMM_LAST_EXITS];
		char what[48];
		snprintf(what, sizeof(what), "%s%s 0x%llx", vmm_exit_name(e->reason),
			 e->reason == KVM_EXIT_IO || e->reason == KVM_EXIT_MMIO ?
				 (e->write ? "-w" : "-r") : "",
			 (unsigned long long)e->addr);
		json_object_array_add(last, json_object_new_string(what));
	}
	json_object_object_add(o, "last_exits", last);
	return o;
}

char *vmm_cpus_json(struct vmm *vm, const uint64_t *at, int *rc)
{
	json_object *o, *a;
	char *out;

	/* Parked while we look: a running VM's vCPUs are stopped for the read and go on after it, as
	 * QEMU's "info registers" does; its devices run on (a VM with a passed-through device cannot be
	 * paused, and its guest may be the one that stalled). */
	pthread_mutex_lock(&vm->pause_lock);
	bool stop = !vm->devices_paused && !atomic_load(&vm->paused);
	if (stop)
		vmm_vcpus_pause(vm);
	if (vmm_wait_parked(vm) < 0) {
		if (stop && !atomic_load(&vm->suspended))
			vmm_vcpus_resume(vm);
		pthread_mutex_unlock(&vm->pause_lock);
		*rc = -EBUSY;
		return NULL;
	}
	o = json_object_new_object();
	a = json_object_new_array();
	for (int i = 0; i < vm->ncpus; i++)
		if (vm->cpu[i].started)
			json_object_array_add(a, cpu_json(vm, &vm->cpu[i], at));
	if (stop && !atomic_load(&vm->suspended))
		vmm_vcpus_resume(vm);
	pthread_mutex_unlock(&vm->pause_lock);
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "cpus", a);
	json_object_object_add(o, "paused", json_object_new_boolean(!stop));	/* or stopped for this */
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	*rc = out ? 0 : -ENOMEM;
	return out;
}
