/* vm: creates a KVM virtual machine (memory, irqchip, timers, devices, vCPUs) and runs it to its
 * end. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "nested/nested.h"
#include "vmm/vm.h"
#include "vmm/sandbox.h"
#include "vmm/snapshot.h"
#include "vmm/unpack.h"


/* What the VMM needs from KVM, each with its name: the first one missing is reported by name. */
static const struct { const char *name; int cap;
} required_caps[] = {
	{ "KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY },
	{ "KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP },
	{ "KVM_CAP_PIT2", KVM_CAP_PIT2 },
	{ "KVM_CAP_SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR },
	{ "KVM_CAP_EXT_CPUID", KVM_CAP_EXT_CPUID },
	{ "KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT },
	{ "KVM_CAP_IRQ_ROUTING", KVM_CAP_IRQ_ROUTING },
};

/* The devices, set up in this order; each registers the instances it makes (device.h), which are
 * torn down in reverse, whatever part of their set-up was done. */
static const struct {
	const char *name;
	int (*init)(struct vmm *vm, char *err, size_t errlen);
} devices[] = {
	{ "serial", vmm_serial_init },
	{ "i8042", vmm_i8042_init },
	{ "debug-exit", vmm_testdev_init },
	{ "cmos", vmm_cmos_init },
	{ "fw_cfg", vmm_fwcfg_init },
	{ "acpi-pm", vmm_pm_init },
	{ "platform", vmm_platform_init },
	{ "pci", vmm_pci_init },
	{ "virtio-blk", vmm_virtio_blk_init },
	{ "virtio-net", vmm_virtio_net_init },
	{ "virtio-rng", vmm_virtio_rng_init },
	{ "vfio", vmm_vfio_init },
};

static void kick(int sig)
{
	(void)sig;	/* only interrupts KVM_RUN */
}

static int check_kvm(struct vmm *vm, char *err, size_t errlen)
{
	vm->sysfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->sysfd < 0) {
		snprintf(err, errlen, "/dev/kvm: %s (%s)", strerror(errno),
			 errno == EACCES ? "add yourself to the kvm group" :
					   "load kvm_intel or kvm_amd; `nestvisor probe` explains");
		return -errno;
	}
	/* a vCPU's crash report says so; it may look at no file by then (the sandbox) */
	vm->software_kvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	if (ioctl(vm->sysfd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm speaks an API version other than %d",
			 KVM_API_VERSION);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++)
		if (ioctl(vm->sysfd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			snprintf(err, errlen,
				 "KVM lacks %s, which nestvisor needs (a newer kernel has it)",
				 required_caps[i].name);
			return -ENOTSUP;
		}
	return 0;
}

static int set_memory(struct vmm *vm, char *err, size_t errlen)
{
	int rc = vmm_slot_map(vm, 0, vm->mem.low, vm->mem.host, 0);

	if (rc >= 0 && vm->mem.high)
		rc = vmm_slot_map(vm, VMM_4G, vm->mem.high, vm->mem.host + vm->mem.low, 0);
	if (rc < 0) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static int create_machine(struct vmm *vm, char *err, size_t errlen)
{
	/* the PIT's port 0x61 (channel 2 gate and output) in the kernel: Linux calibrates its TSC
	 * on it */
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = VMM_KVM_IDENTITY_MAP;
	int rc;

	if ((vm->fd = ioctl(vm->sysfd, KVM_CREATE_VM, 0)) < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (vm->cfg.restore && (rc = vmm_restore_memory(vm, err, errlen)) < 0)
		return rc;
	if (!vm->cfg.restore && (rc = vmm_mem_init(&vm->mem, vm->cfg.mem)) < 0) {
		snprintf(err, errlen, "guest memory of %llu MiB: %s",
			 (unsigned long long)(vm->cfg.mem >> 20), strerror(-rc));
		return rc;
	}
	/* memory first: once the irqchip and PIT exist, each memslot change waits for an SRCU grace
	 * period (measured: 6.4 ms instead of 0.1 ms for 128 MiB) */
	if ((rc = set_memory(vm, err, errlen)) < 0)
		return rc;
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, VMM_KVM_TSS) < 0 ||
	    ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0 ||
	    ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0) {
		snprintf(err, errlen, "setting up the in-kernel irqchip and PIT: %s",
			 strerror(errno));
		return -errno;
	}
	if ((rc = vmm_irq_routing_set(vm)) < 0) {
		snprintf(err, errlen, "KVM_SET_GSI_ROUTING: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* --nested: the probe judges the host (never skipped: auto needs its answer too); nested/ applies
 * it. */
static int decide_nested(struct vmm *vm, char *err, size_t errlen)
{
	char why[256] = "";
	int rc;

	vm->nested_state_size = nested_state_size(vm->sysfd);
	if (vm->cfg.nested == NESTED_OFF)
		return 0;
	if ((rc = probe_nested_query(vm->cfg.probe_replay, &vm->nested_host, why, sizeof(why))) <
	    0) {
		snprintf(vm->nested_host.why, sizeof(vm->nested_host.why),
			 "the probe could not run: %s", why);
		vm->nested_host.possible = false;
	}
	if ((rc = nested_decide(vm->cfg.nested, &vm->nested_host, err, errlen)) < 0)
		return rc;
	vm->nested = rc == 1;
	return 0;
}

int vmm_create(const struct vmm_config *cfg, struct vmm **out, char *err, size_t errlen)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	struct sigaction sa = { .sa_handler = kick };
	int rc;

	if (!vm)
		return -ENOMEM;
	vm->cfg = *cfg;
	vm->sysfd = vm->fd = vm->pagemap_fd = -1;
	vm->ncpus = 0;	/* set once checked: teardown walks vm->cpu[0..ncpus) */
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_mutex_init(&vm->slot_lock, NULL);
	pthread_mutex_init(&vm->mmio_lock, NULL);
	pthread_mutex_init(&vm->route_lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	atomic_init(&vm->end, VMM_END_RUNNING);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: kicks a vCPU out of KVM_RUN */
	if (cfg->cpus < 1 || cfg->cpus > VMM_MAX_CPUS) {
		snprintf(err, errlen, "%d vCPUs: a VM has 1 to %d", cfg->cpus, VMM_MAX_CPUS);
		rc = -EINVAL;
		goto fail;
	}
	if (cfg->mem < (1ull << 20) || cfg->mem > VMM_MEM_MAX ||
	    !(cfg->timeout >= 0 && cfg->timeout <= VMM_TIMEOUT_MAX)) {
		snprintf(err, errlen,
			 "memory of %llu bytes or a time limit of %g s: out of range (1 MiB to 1 "
			 "TiB; 0 to %d s)",
			 (unsigned long long)cfg->mem, cfg->timeout, VMM_TIMEOUT_MAX);
		rc = -EINVAL;
		goto fail;
	}
	vm->ncpus = cfg->cpus;
	if (cfg->sandbox)	/* before any thread: the handler that names a refused call */
		vmm_sandbox_prepare(cfg->name);
	/* the files first: a path refused or a FIFO given is said before KVM is touched */
	struct vmm_inputs in = { 0 };
	if ((cfg->restore || (rc = vmm_inputs_read(vm, &in, err, errlen)) == 0) &&
	    (rc = check_kvm(vm, err, errlen)) == 0 && (rc = decide_nested(vm, err, errlen)) == 0 &&
	    (rc = create_machine(vm, err, errlen)) == 0 && !cfg->restore)
		rc = vmm_inputs_load(vm, &in, err, errlen);
	vmm_inputs_free(&in);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		err[0] = '\0';
		if ((rc = devices[i].init(vm, err, errlen)) < 0) {
			if (!err[0])	/* the device said nothing itself: name it */
				snprintf(err, errlen, "device %s: %s", devices[i].name,
					 strerror(-rc));
			goto fail;
		}
	}
	for (int i = 0; i < vm->ncpus; i++)
		if ((rc = vmm_vcpu_create(vm, i, err, errlen)) < 0)
			goto fail;
	if (cfg->restore && (rc = vmm_restore_apply(vm, err, errlen)) < 0)
		goto fail;
	vm->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	*out = vm;
	return 0;
fail:
	vmm_destroy(vm);
	return rc;
}

static int status_of(const struct vmm *vm)
{
	switch ((enum vmm_end)atomic_load(&vm->end)) {
	case VMM_END_DEBUG_EXIT: return (vm->exit_code << 1) | 1;
	case VMM_END_RESET: case VMM_END_POWEROFF: return VMM_STATUS_RESET;
	case VMM_END_TIMEOUT: return VMM_STATUS_TIMEOUT;
	case VMM_END_TRIPLE_FAULT: return VMM_STATUS_TRIPLE_FAULT;
	case VMM_END_INTERNAL_ERROR: return VMM_STATUS_INTERNAL_ERROR;
	case VMM_END_DEVICE_LOST: return VMM_STATUS_DEVICE_LOST;
	case VMM_END_STOPPED: return VMM_STATUS_STOPPED;
	default: return VMM_STATUS_UNEXPECTED;
	}
}

static bool past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* With vm->lock held, while the guest is in S3: 50 ms of waiting, then a look for a wake event. */
static int wait_suspended(struct vmm *vm, const struct timespec *deadline)
{
	struct timespec soon;

	clock_gettime(CLOCK_REALTIME, &soon);
	soon.tv_nsec += 50000000L;
	if (soon.tv_nsec >= 1000000000L) {
		soon.tv_sec++;
		soon.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&vm->cond, &vm->lock, &soon);
	pthread_mutex_unlock(&vm->lock);
	vmm_wake_poll(vm);
	pthread_mutex_lock(&vm->lock);
	return vm->cfg.timeout > 0 && past(deadline) ? ETIMEDOUT : 0;
}

int vmm_run(struct vmm *vm)
{
	struct timespec deadline;

	vm->start_ns = vmm_now_ns();
	for (int i = 0; i < vm->ncpus; i++)
		if (vmm_vcpu_start(&vm->cpu[i]) < 0) {
			vmm_end(vm, VMM_END_UNEXPECTED, 0);
			snprintf(vm->report, sizeof(vm->report), "could not start vCPU %d: %s\n", i,
				 strerror(errno));
		}
	vmm_sandbox_enter(vm, VMM_THREAD_MAIN);	/* every thread of ours exists now */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)vm->cfg.timeout;
	deadline.tv_nsec += (long)((vm->cfg.timeout - (double)(time_t)vm->cfg.timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&vm->lock);
	while (atomic_load(&vm->end) == VMM_END_RUNNING) {
		int rc;
		if (atomic_load(&vm->suspended))
			rc = wait_suspended(vm, &deadline);
		else
			rc = vm->cfg.timeout > 0 ?
				pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline) :
				pthread_cond_wait(&vm->cond, &vm->lock);
		if (rc == ETIMEDOUT) {
			pthread_mutex_unlock(&vm->lock);
			vmm_end(vm, VMM_END_TIMEOUT, 0);
			pthread_mutex_lock(&vm->lock);
		}
	}
	pthread_mutex_unlock(&vm->lock);
	for (int i = 0; i < vm->ncpus; i++) {	/* no vCPU thread outlives the VM */
		struct vmm_vcpu *c = &vm->cpu[i];
		if (!c->started)
			continue;
		/* a vCPU that entered KVM_RUN after the first kick (an AP waiting for SIPI, say)
		 * needs another */
		while (!atomic_load(&c->exited)) {
			c->run->immediate_exit = 1;
			pthread_kill(c->thread, SIGUSR1);
			usleep(1000);
		}
		pthread_join(c->thread, NULL);
		c->started = false;
	}
	if (atomic_load(&vm->end) ==
	    VMM_END_TIMEOUT) { /* the vCPUs are stopped: their registers are stable */
		snprintf(vm->report, sizeof(vm->report),
			 "the guest was still running at its time limit, %.1f s\n",
			 vm->cfg.timeout);
		vmm_vcpu_report(&vm->cpu[0], NULL);
	}
	return status_of(vm);
}

enum vmm_end vmm_end_reason(const struct vmm *vm)
{
	return (enum vmm_end)atomic_load(&vm->end);
}

const char *vmm_end_name(enum vmm_end e)
{
	static const char *const names[] = { "running",        "debug-exit",     "reset",
					     "stopped",        "timeout",        "triple-fault",
					     "internal-error", "unexpected-exit", "device-lost",
					     "powered-off" };
	return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}

const char *vmm_report(const struct vmm *vm)
{
	return vm->report;
}

bool vmm_nested(const struct vmm *vm, int *state_size)
{
	if (state_size)
		*state_size = vm->nested_state_size;
	return vm->nested;
}

const char *vmm_boot_kind(const struct vmm *vm)
{
	if (vm->cfg.restore)
		return "restored from a snapshot";
	if (vm->boot.unpacked == VMM_UNPACK_CACHED)
		return "bzImage, unpacked from cache";
	if (vm->boot.unpacked == VMM_UNPACK_DECOMPRESSED)
		return "bzImage, unpacked";
	return vmm_boot_kind_name(vm->boot.kind);
}

void vmm_destroy(struct vmm *vm)
{
	if (!vm)
		return;
	if (atomic_load(&vm->end) == VMM_END_RUNNING)
		vmm_end(vm, VMM_END_STOPPED, 0);
	for (int i = 0; i < vm->ncpus; i++) {
		struct vmm_vcpu *c = &vm->cpu[i];
		if (c->started)
			pthread_join(c->thread, NULL);
		if (c->run)
			munmap(c->run, vm->run_size);
		if (c->fd > 0)
			close(c->fd);
		free(c->port_count);
		free(c->port_ticks);
	}
	vmm_devices_destroy(vm);	/* the control socket first: registered last */
	free(vm->cpuid);
	vmm_mem_free(&vm->mem);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->sysfd >= 0)
		close(vm->sysfd);
	if (vm->pagemap_fd >= 0)
		close(vm->pagemap_fd);
	free(vm);
}

/* "128M", "2G", "512MiB", bytes; a bare small number is MiB, as QEMU's -m takes it. */
int vmm_size_parse(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);

	if (errno || end == s || v > (UINT64_MAX >> 30))
		return -EINVAL;	/* and no shift below can wrap */
	switch (*end) {
	case 'G': case 'g': v <<= 30; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'K': case 'k': v <<= 10; end++; break;
	case '\0':
		if (v < (1ull << 20))
			v <<= 20;
		break; /* a bare small number means MiB, as QEMU's -m */
	default: return -EINVAL;
	}
	if (*end && strcmp(end, "iB") && strcmp(end, "B"))
		return -EINVAL;
	*out = v;
	return 0;
}
