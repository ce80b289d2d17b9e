/* vcpu: one thread per vCPU; the KVM_RUN loop, exit dispatch and accounting, and the crash report.
 */
#include "config.h"
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <x86intrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "nested/nested.h"
#include "vmm/cpumodel.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

/* GDT written at BOOT_GDT: 0x08 flat 32-bit code, 0x10 64-bit code (the boot protocol's __BOOT_CS),
 * 0x18 flat data (__BOOT_DS). */
static const uint64_t boot_gdt[] = { 0, 0x00cf9b000000ffffull, 0x00af9b000000ffffull,
				     0x00cf93000000ffffull };

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){ .base = 0,
				   .limit = 0xffffffff,
				   .selector = sel,
				   .type = type,
				   .present = 1,
				   .dpl = 0,
				   .db = !code64,
				   .s = 1,
				   .l = code64,
				   .g = 1 };
}

static int setup_bsp(struct vmm_vcpu *c)
{
	struct vmm *vm = c->vm;
	struct kvm_sregs sr;
	struct kvm_regs r = { .rip = vm->boot.entry,
			      .rflags = 2,
			      .rax = vm->boot.rax,
			      .rbx = vm->boot.rbx,
			      .rsi = vm->boot.rsi };
	bool lm = vm->boot.mode == VMM_MODE_LONG64;

	if (ioctl(c->fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	vmm_mem_write(&vm->mem, BOOT_GDT, boot_gdt, sizeof(boot_gdt));
	sr.gdt.base = BOOT_GDT;
	sr.gdt.limit = sizeof(boot_gdt) - 1;
	seg(&sr.cs, lm ? 0x10 : 0x08, 0xb, lm);
	seg(&sr.ds, 0x18, 0x3, false);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.cr0 = 0x11;	/* PE | ET */
	if (lm) {
		sr.cr3 = vm->boot.cr3;
		sr.cr4 = 0x20;	/* PAE */
		sr.cr0 |= 0x80000000u;	/* PG */
		sr.efer = 0x500;	/* LME | LMA */
	}
	if (ioctl(c->fd, KVM_SET_SREGS, &sr) < 0 || ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
	return 0;
}

/* Per-vCPU CPUID: KVM's supported set with this vCPU's APIC ID and the VM's CPU count. */
static int setup_cpuid(struct vmm_vcpu *c)
{
	struct vmm *vm = c->vm;
	struct kvm_cpuid2 *id = malloc(sizeof(*id) + vm->cpuid->nent * sizeof(id->entries[0]));

	if (!id)
		return -ENOMEM;
	memcpy(id, vm->cpuid, sizeof(*id) + vm->cpuid->nent * sizeof(id->entries[0]));
	for (unsigned i = 0; i < id->nent; i++) {
		struct kvm_cpuid_entry2 *e = &id->entries[i];
		if (e->function == 1) {
			e->ebx = (e->ebx & 0x0000ffff) | ((uint32_t)c->id << 24) |
				((uint32_t)vm->ncpus << 16);
			e->edx |= 1u << 28;	/* HTT: the logical count above is valid */
			/* KVM leaves these to userspace: without the hypervisor bit Linux never
			 * looks at leaf 0x40000000, so it gets no kvm-clock and calibrates its TSC
			 * against timers (and fails) */
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (vm->tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE; /* the in-kernel LAPIC has it */
		} else if (e->function == 0xb) {
			e->edx = (uint32_t)c->id;
			if (e->index == 0)
				e->ebx = 1;
			else if (e->index == 1)
				e->ebx = (uint32_t)vm->ncpus;
		}
	}
	int rc = ioctl(c->fd, KVM_SET_CPUID2, id) < 0 ? -errno : 0;
	free(id);
	return rc;
}

static int get_supported_cpuid(struct vmm *vm)
{
	int nent = 256;

	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + (size_t)nent * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid)
		return -ENOMEM;
	vm->cpuid->nent = (uint32_t)nent;
	vm->tsc_deadline = ioctl(vm->sysfd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	if (ioctl(vm->sysfd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0)
		return -errno;
	vm->cpu_model = vmm_cpumodel_resolve(vm->cfg.cpu_model, vm->software_kvm);
	vmm_cpumodel_apply(vm->cpu_model, vm->cpuid);
	nested_cpuid_apply(vm->nested, vm->cpuid);
	return 0;
}

/* The TSC at the rate KVM says it runs (the guest's TSC, the host's unless scaled; a guest of ours
 * runs unscaled). Where the CPU declares it invariant (CPUID 0x80000007 EDX[8]) its rate never
 * changes; where it does not (an emulator's CPU, which keeps its host's TSC but cannot declare it;
 * CPUs from before 2008) the times of exits are as good as its rate is steady, and --stats says
 * so. An exit lasts microseconds: no sleep state stops the TSC within one. */
static uint32_t exit_clock_khz(struct vmm_vcpu *c, bool *invariant)
{
	uint32_t a = 0, b, cc, d = 0;
	long khz = ioctl(c->fd, KVM_GET_TSC_KHZ, 0);

	if (__get_cpuid(0x80000000, &a, &b, &cc, &d) && a >= 0x80000007)
		__cpuid(0x80000007, a, b, cc, d);
	else
		d = 0;
	*invariant = d & (1u << 8);
	return khz > 0 && khz < UINT32_MAX ? (uint32_t)khz : 0;
}

uint64_t vmm_ticks(const struct vmm *vm)
{
	return vm->tsc_khz ? __rdtsc() : vmm_now_ns();
}

uint64_t vmm_ticks_ns(const struct vmm *vm, uint64_t ticks)
{
	return vm->tsc_khz ? (uint64_t)((unsigned __int128)ticks * 1000000u / vm->tsc_khz) : ticks;
}

int vmm_vcpu_create(struct vmm *vm, int id, char *err, size_t errlen)
{
	struct vmm_vcpu *c = &vm->cpu[id];
	int rc;

	c->vm = vm;
	c->id = id;
	if (!vm->cpuid && (rc = get_supported_cpuid(vm)) < 0) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-rc));
		return rc;
	}
	if ((c->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id)) < 0) {
		snprintf(err, errlen, "KVM_CREATE_VCPU %d: %s", id, strerror(errno));
		return -errno;
	}
	vm->run_size = (size_t)ioctl(vm->sysfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	c->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	c->port_count = calloc(65536, sizeof(uint64_t));
	c->port_ticks = calloc(65536, sizeof(uint64_t));
	if (c->run == MAP_FAILED || !c->port_count || !c->port_ticks) {
		c->run = c->run == MAP_FAILED ? NULL : c->run;
		snprintf(err, errlen, "vCPU %d: out of memory", id);
		return -ENOMEM;
	}
	vmm_coalesced_map(vm, c->run);
	if ((rc = setup_cpuid(c)) < 0 || (id == 0 && (rc = setup_bsp(c)) < 0)) {
		snprintf(err, errlen, "vCPU %d setup: %s", id, strerror(-rc));
		return rc;
	}
	if ((rc = nested_vcpu_setup(vm->nested, &vm->nested_host, c->fd, err, errlen)) < 0)
		return rc;
	if (id == 0)
		vm->tsc_khz = exit_clock_khz(c, &vm->tsc_invariant);
	return 0;	/* APs wait for INIT/SIPI from the BSP through the in-kernel LAPIC */
}

static void note_exit(struct vmm_vcpu *c, uint32_t reason, uint64_t addr, uint32_t data, bool write)
{
	c->last[c->nlast++ % VMM_LAST_EXITS] = (struct vmm_last_exit){ reason, addr, data, write };
}

/* Each exit's time goes to its port (or MMIO region) and to its reason: one read of the exit
 * clock after it, one before. */
static void pio_exit(struct vmm_vcpu *c)
{
	struct vmm *vm = c->vm;
	struct kvm_run *r = c->run;
	uint16_t port = r->io.port;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	bool write = r->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size)
		vmm_pio_dispatch(vm, port, write, data, r->io.size);
	note_exit(c, KVM_EXIT_IO, port, r->io.size == 1 ? *((uint8_t *)r + r->io.data_offset) : 0,
		  write);
	c->port_count[port]++;
}

static int mmio_exit(struct vmm_vcpu *c)
{
	struct vmm *vm = c->vm;
	struct kvm_run *r = c->run;
	uint64_t a = r->mmio.phys_addr;
	int i, n = __atomic_load_n(&vm->nmmio, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++) {	/* the length first: 0 while an entry changes */
		uint64_t len = __atomic_load_n(&vm->mmio[i].len, __ATOMIC_ACQUIRE);
		uint64_t base = __atomic_load_n(&vm->mmio[i].base, __ATOMIC_ACQUIRE);
		if (len && a >= base && a - base < len)
			break;
	}
	if (i < n) {
		vm->mmio[i].fn(vm, vm->mmio[i].dev, a, r->mmio.is_write, r->mmio.data,
			       (int)r->mmio.len);
	} else {
		i = VMM_MAX_MMIO_DEVS;	/* unclaimed: counted last */
		if (!r->mmio.is_write)
			memset(r->mmio.data, 0xff, sizeof(r->mmio.data));
	}
	note_exit(c, KVM_EXIT_MMIO, a, 0, r->mmio.is_write);
	c->mmio_count[i]++;
	return i;
}

/* One exit; returns false when the VM must end. */
static bool handle_exit(struct vmm_vcpu *c)
{
	struct vmm *vm = c->vm;
	uint32_t reason = c->run->exit_reason;
	uint64_t t0 = vmm_ticks(vm), dt;
	int region = -1;

	vmm_coalesced_drain(vm);	/* queued writes happened before this exit */
	switch (reason) {
	case KVM_EXIT_IO:
		pio_exit(c);
		break;
	case KVM_EXIT_MMIO:
		region = mmio_exit(c);
		break;
	case KVM_EXIT_HLT:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_SHUTDOWN:
		note_exit(c, reason, 0, 0, false);
		vmm_end(vm, VMM_END_TRIPLE_FAULT, 0);
		vmm_vcpu_report(c, "the guest triple-faulted (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (c->run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vmm_end(vm, VMM_END_RESET, 0);
		else
			vmm_end(vm, VMM_END_STOPPED, 0);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		note_exit(c, reason, c->run->internal.suberror, 0, false);
		vmm_end(vm, VMM_END_INTERNAL_ERROR, 0);
		vmm_vcpu_report(c,
				c->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
					"KVM could not emulate an instruction "
					"(KVM_INTERNAL_ERROR_EMULATION)" :
					"KVM internal error");
		return false;
	default:
		note_exit(c, reason, 0, 0, false);
		vmm_end(vm, VMM_END_UNEXPECTED, 0);
		vmm_vcpu_report(c, "unexpected exit reason");
		return false;
	}
	dt = vmm_ticks(vm);
	dt = dt > t0 ? dt - t0 : 0;	/* a thread moved to a CPU whose TSC is behind: nothing */
	if (reason == KVM_EXIT_IO)
		c->port_ticks[c->run->io.port] += dt;
	else if (region >= 0)
		c->mmio_ticks[region] += dt;
	if (reason < VMM_EXIT_REASONS) {
		c->reason_count[reason]++;
		c->reason_ticks[reason] += dt;
	}
	return true;
}

static void wait_while_paused(struct vmm_vcpu *c)
{
	struct vmm *vm = c->vm;

	/* An exit to us (a port read, an MMIO read) is finished by KVM on the next KVM_RUN: its
	 * value reaches the guest's register only then. One entry with immediate_exit set finishes
	 * it without running the guest, so that what a pause shows and a snapshot saves is whole
	 * (api.rst, "immediate_exit"). */
	c->run->immediate_exit = 1;
	for (int i = 0; i < 4096 && ioctl(c->fd, KVM_RUN, 0) == 0; i++)
		if (!handle_exit(c))	/* a string instruction's next piece; none: EINTR */
			break;
	c->run->immediate_exit = 0;
	pthread_mutex_lock(&vm->lock);
	vm->parked++;
	pthread_cond_broadcast(
		&vm->cond); /* for whoever waits for every vCPU to be out of KVM_RUN */
	while (atomic_load(&vm->paused) && atomic_load(&vm->end) == VMM_END_RUNNING)
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->lock);
}

static void *vcpu_thread(void *arg)
{
	struct vmm_vcpu *c = arg;
	struct vmm *vm = c->vm;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	vmm_sandbox_enter(vm, VMM_THREAD_VCPU);
	while (atomic_load(&vm->end) == VMM_END_RUNNING) {
		if (atomic_load(&vm->paused))
			wait_while_paused(c);
		int rc = atomic_load(&c->resume) ? vmm_vcpu_resume(c) : 0;
		if (rc < 0) {
			vmm_end(vm, VMM_END_UNEXPECTED, 0);
			snprintf(vm->report, sizeof(vm->report), "vCPU %d: resuming from S3: %s\n",
				 c->id, strerror(-rc));
			break;
		}
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				c->run->immediate_exit = 0;
				continue;
			}
			vmm_end(vm, VMM_END_UNEXPECTED, 0);
			snprintf(vm->report, sizeof(vm->report), "vCPU %d: KVM_RUN failed: %s\n",
				 c->id, strerror(errno));
			break;
		}
		if (!handle_exit(c))
			break;
	}
	atomic_store(&c->exited, true);
	return NULL;
}

int vmm_vcpu_start(struct vmm_vcpu *c)
{
	int rc = pthread_create(&c->thread, NULL, vcpu_thread, c);

	if (rc) {
		errno = rc;
		return -rc;
	}
	c->started = true;
	return 0;
}

const char *vmm_exit_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_IO: return "io";
	case KVM_EXIT_MMIO: return "mmio";
	case KVM_EXIT_HLT: return "hlt";
	case KVM_EXIT_SHUTDOWN: return "shutdown";
	case KVM_EXIT_INTERNAL_ERROR: return "internal-error";
	case KVM_EXIT_FAIL_ENTRY: return "fail-entry";
	case KVM_EXIT_SYSTEM_EVENT: return "system-event";
	case KVM_EXIT_IRQ_WINDOW_OPEN: return "irq-window";
	case KVM_EXIT_INTR: return "intr";
	default: return "other";
	}
}

static size_t report_code(struct vmm_vcpu *c, const struct kvm_regs *r, const struct kvm_sregs *s,
			  char *out, size_t len)
{
	struct kvm_translation t = { .linear_address = s->cs.base + r->rip };
	size_t used = (size_t)snprintf(out, len, "  code at RIP:");
	const uint8_t *code;

	if (ioctl(c->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		t.physical_address = (s->cr0 & 0x80000000u) ? UINT64_MAX : t.linear_address;
	code = vmm_mem_ptr(&c->vm->mem, t.physical_address, 16);
	for (int i = 0; i < 16 && code && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, " %02x", code[i]);
	if (!code && used < len)
		used += (size_t)snprintf(out + used, len - used, " (not in guest RAM)");
	return used + (size_t)snprintf(out + used, len - used, "\n");
}

/* The one-screen report: registers, code bytes at RIP, the last exits. Called by the failing vCPU
 * (or, after the vCPUs stopped, for a timeout). */
void vmm_vcpu_report(struct vmm_vcpu *c, const char *why)
{
	struct vmm *vm = c->vm;
	char *out = vm->report;
	size_t len = sizeof(vm->report), used = strlen(out);
	struct kvm_regs r;
	struct kvm_sregs s;

	if (why)
		used += (size_t)snprintf(out + used, len - used, "%s on vCPU %d\n", why, c->id);
	if (ioctl(c->fd, KVM_GET_REGS, &r) == 0 && ioctl(c->fd, KVM_GET_SREGS, &s) == 0 &&
	    used < len) {
		const char *mode = " (real mode)";
		if (s.cs.l)
			mode = " (64-bit)";
		else if (s.cr0 & 1)
			mode = " (32-bit)";
		used += (size_t)snprintf(out + used, len - used,
					 "  RIP %016llx RSP %016llx RFLAGS %08llx\n  RAX %016llx "
					 "RBX %016llx RCX %016llx RDX %016llx\n"
					 "  RSI %016llx RDI %016llx RBP %016llx\n  CR0 %08llx CR3 "
					 "%016llx CR4 %08llx EFER %llx CS %04x%s\n",
					 r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi,
					 r.rdi, r.rbp, s.cr0, s.cr3, s.cr4, s.efer, s.cs.selector,
					 mode);
		/* AMD-V's KVM INITs a vCPU that shut down (the VMCB is undefined after it): what
		 * is left are the reset values, which say nothing of where the guest was */
		if (c->run->exit_reason == KVM_EXIT_SHUTDOWN && r.rip == 0xfff0 &&
		    s.cs.selector == 0xf000 && used < len)
			used += (size_t)snprintf(out + used, len - used,
						 "  (these are the vCPU's reset values: this host's KVM "
						 "resets a vCPU that shut down; its last exits below "
						 "are what it did before)\n");
		else if (used < len)
			used += report_code(c, &r, &s, out + used, len - used);
	}
	if (vm->boot.kaslr_seed &&
	    used < len) /* the guest is gone: its placement is no secret now */
		used += (size_t)snprintf(out + used, len - used,
					 "  KASLR seed %llu (NESTVISOR_KASLR_SEED=%llu places the "
					 "kernel the same way)\n",
					 (unsigned long long)vm->boot.kaslr_seed,
					 (unsigned long long)vm->boot.kaslr_seed);
	if (used < len)
		used += (size_t)snprintf(out + used, len - used, "  last exits (oldest first):");
	unsigned n = c->nlast < VMM_LAST_EXITS ? c->nlast : VMM_LAST_EXITS;
	for (unsigned i = 0; i < n && used < len; i++) {
		const struct vmm_last_exit *e = &c->last[(c->nlast - n + i) % VMM_LAST_EXITS];
		used += (size_t)snprintf(out + used, len - used, " %s%s%s0x%llx",
					 vmm_exit_name(e->reason),
					 e->reason == KVM_EXIT_IO || e->reason == KVM_EXIT_MMIO ?
						 (e->write ? "-w" : "-r") :
						 "",
					 " ", (unsigned long long)e->addr);
	}
	if (used < len)
		used += (size_t)snprintf(out + used, len - used, "%s\n", n ? "" : " none");
	if (c->run->exit_reason == KVM_EXIT_INTERNAL_ERROR && vm->software_kvm && used < len)
		snprintf(out + used, len - used,
			 "  this host's KVM is a software KVM (kvm_pvm): it emulates guest kernel "
			 "code, and unmodified guest kernels can meet instructions it cannot "
			 "emulate%s\n",
			 vm->cpu_model == VMM_CPU_HOST ? "; the guest was shown the host's CPU "
							 "(--cpu host): --cpu baseline hides what "
							 "the emulator lacks (cmpxchg16b, XSAVE, "
							 "AVX...)" :
							 " even on the baseline CPU (--cpu "
							 "baseline)");
}
