/* vm: the VM's internal state, shared by the core files and the devices (private to vmm/). */
#ifndef NESTVISOR_VMM_VM_H
#define NESTVISOR_VMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "vmm/boot.h"
#include "vmm/device.h"
#include "vmm/mem.h"
#include "probe/probe.h"
#include "vmm/vmm.h"

#define VMM_MAX_PIO_DEVS 32
#define VMM_MAX_MMIO_DEVS 32
#define VMM_MAX_SLOTS 512		/* KVM memory slots we allocate from (KVM's own limit first) */
#define VMM_EXIT_REASONS 64
#define VMM_LAST_EXITS 16

struct vmm;
typedef void (*vmm_pio_fn)(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data,
			   int size);
typedef void (*vmm_mmio_fn)(struct vmm *vm, void *dev, uint64_t addr, bool write, uint8_t *data,
			    int size);

struct vmm_pio_dev { const char *name; uint16_t base, len; vmm_pio_fn fn; void *dev; };
struct vmm_mmio_dev { const char *name; uint64_t base, len; vmm_mmio_fn fn; void *dev; };

struct vmm_last_exit { uint32_t reason; uint64_t addr; uint32_t data; bool write; };

struct vmm_vcpu {
	struct vmm *vm;
	int id, fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	atomic_bool exited;		/* the thread has left its KVM_RUN loop */
	/* accounting: written by this vCPU only, read racily (aligned 64-bit) by stats readers; time
	 * in ticks of the VM's exit clock (vmm_ticks, vmm_ticks_ns) */
	uint64_t reason_count[VMM_EXIT_REASONS], reason_ticks[VMM_EXIT_REASONS];
	uint64_t *port_count, *port_ticks;		/* 65536 each */
	uint64_t mmio_count[VMM_MAX_MMIO_DEVS + 1], mmio_ticks[VMM_MAX_MMIO_DEVS + 1];
	struct vmm_last_exit last[VMM_LAST_EXITS];
	unsigned nlast;
	atomic_bool resume;		/* woken from S3: start again as after a reset */
};

#define VMM_MSI_ROUTES 256		/* a passed-through device's MSI-X vectors too */
#define VMM_MSI_GSI_BASE 24	/* after the IOAPIC's pins */

struct vmm {
	struct vmm_config cfg;
	int sysfd, fd;
	/* /proc/self/pagemap, opened before the sandbox: which pages of guest RAM were ever touched,
	 * for a snapshot (snapshot.c); -1 without */
	int pagemap_fd;
	struct vmm_mem mem;
	struct vmm_boot boot;
	int ncpus;
	struct vmm_vcpu cpu[VMM_MAX_CPUS];
	struct kvm_cpuid2 *cpuid;
	bool tsc_deadline;			/* KVM_CAP_TSC_DEADLINE_TIMER */
	/* the exit clock: the TSC at this rate, where KVM knows it (and whether the CPU declares it
	 * invariant); else 0 and CLOCK_MONOTONIC in ns */
	uint32_t tsc_khz;
	bool tsc_invariant;
	/* nested (nested/): the probe's answer for this host, this VM's decision, KVM's state size
	 */
	struct probe_nested nested_host;
	bool nested;
	int nested_state_size;
	size_t run_size;
	struct vmm_pio_dev pio[VMM_MAX_PIO_DEVS];
	int npio;
	uint8_t port_owner[65536];		/* index + 1 into pio[], 0: unclaimed */
	uint8_t port_warned[65536 / 8];
	struct vmm_mmio_dev mmio[VMM_MAX_MMIO_DEVS];	/* len 0: removed */
	int nmmio;
	pthread_mutex_t mmio_lock;		/* registering and removing (vCPUs read without) */
	/* KVM memory slots in use (slots.c) */
	pthread_mutex_t slot_lock;
	uint8_t slot_used[VMM_MAX_SLOTS / 8];
	int nr_slots;
	/* port writes KVM queues without exiting (coalesced.c) */
	struct kvm_coalesced_mmio_ring *coalesced_ring;
	uint32_t coalesced_max;
	pthread_mutex_t coalesced_lock;
	uint64_t coalesced;			/* writes replayed from the ring */
	/* lifecycle */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_int end;				/* enum vmm_end; RUNNING until set once */
	int exit_code;
	atomic_bool paused;
	int parked;				/* vCPU threads waiting while paused (under lock) */
	atomic_bool suspended;			/* ACPI S3: vCPUs parked until a wake event */
	atomic_bool wake_request;		/* a key on the console while suspended */
	time_t suspended_at;
	int running_vcpus;
	uint64_t start_ns;
	char report[4096];
	/* interrupt routes KVM delivers by itself (irqfd): GSIs from VMM_MSI_GSI_BASE, MSI messages
	 */
	pthread_mutex_t route_lock;
	struct { bool used; uint32_t addr_lo, addr_hi, data; } msi_route[VMM_MSI_ROUTES];
	/* the device instances (device.h), in the order they were set up */
	struct vmm_device devices[VMM_MAX_DEVICES];
	int ndevices;
	pthread_mutex_t pause_lock;		/* vmm_pause and vmm_resume, one at a time */
	bool devices_paused;			/* by vmm_pause (under pause_lock) */
	struct vmm_control *control;
	bool sandbox_warned;		/* a thread that could not confine itself was named once */
	bool landlock_warned;		/* the kernel has no Landlock: said once */
	bool software_kvm;		/* kvm_pvm: known at set-up, for the crash report */
	int cpu_model;			/* enum vmm_cpu_model, resolved: host or baseline */
};

/* An MSI message KVM sends when an eventfd is signalled (KVM_IRQFD), for devices served in the
 * kernel (vhost): a GSI for it (>= 0; *gsi < 0 takes a free one, else that one is changed), or
 * -errno. */
int vmm_msi_route_set(struct vmm *vm, int gsi, uint32_t addr_lo, uint32_t addr_hi, uint32_t data);
void vmm_msi_route_free(struct vmm *vm, int gsi);

uint64_t vmm_now_ns(void);
/* The exit clock (vcpu.c): two reads an exit, however slow the host's clocksource (HPET: 1.5 us a
 * clock_gettime); its ticks as ns. */
uint64_t vmm_ticks(const struct vmm *vm);
uint64_t vmm_ticks_ns(const struct vmm *vm, uint64_t ticks);
/* irq.c: KVM's whole GSI routing table set again (under route_lock, or before any vCPU runs). */
int vmm_irq_routing_set(struct vmm *vm);
/* pause.c: every started vCPU out of KVM_RUN, parked or gone (5 s at most): 0 or -EBUSY. */
int vmm_wait_parked(struct vmm *vm);
/* The vCPUs alone, from any thread (a vCPU's own: S3): each parks at its next exit. */
void vmm_vcpus_pause(struct vmm *vm);
void vmm_vcpus_resume(struct vmm *vm);
/* Ends the VM once (the first reason wins) and kicks every vCPU out of KVM_RUN. */
void vmm_end(struct vmm *vm, enum vmm_end why, int code);
int vmm_pio_register(struct vmm *vm, const char *name, uint16_t base, uint16_t len, vmm_pio_fn fn,
		     void *dev);
int vmm_mmio_register(struct vmm *vm, const char *name, uint64_t base, uint64_t len, vmm_mmio_fn fn,
		      void *dev);
/* Every region of dev's gone (a device removed, a BAR now a memory slot). */
void vmm_mmio_unregister(struct vmm *vm, void *dev);
/* slots.c: guest memory at gpa backed by host (KVM_SET_USER_MEMORY_REGION in a free slot): the
 * slot, or -errno (-ENOSPC: none free); and that slot removed. */
int vmm_slot_map(struct vmm *vm, uint64_t gpa, uint64_t size, void *host, uint32_t flags);
int vmm_slot_unmap(struct vmm *vm, int slot);
void vmm_irq_line(struct vmm *vm, int irq, int level);
/* One port access by the guest, to the port's device (or all-ones and a warning once, when
 * unclaimed). */
void vmm_pio_dispatch(struct vmm *vm, uint16_t port, bool write, uint8_t *data, int size);
/* Writes to [base, base + len) queue in KVM's ring instead of exiting; they reach the device before
 * the next exit. */
int vmm_pio_coalesce(struct vmm *vm, uint16_t base, uint16_t len);
void vmm_coalesced_map(struct vmm *vm, struct kvm_run *run);
void vmm_coalesced_drain(struct vmm *vm);
void vmm_exit_dispatch(struct vmm_vcpu *c);
void vmm_warn(struct vmm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* digest.c: a paused VM's guest RAM hashed and its devices' queue positions (-EBUSY unless
 * paused), and as JSON (malloc'd) for the control socket's "digest". */
#define VMM_DIGEST_QUEUES 32
struct vmm_digest {
	uint64_t memory, mem_bytes;
	int nqueues;
	struct vmm_queue_pos q[VMM_DIGEST_QUEUES];
};
int vmm_digest(struct vmm *vm, struct vmm_digest *d);
/* cpustate.c: a VM's vCPUs (JSON, docs/control-socket.md "cpus"), each with the words at guest
 * virtual address *at when at is not NULL; or NULL with *rc -EBUSY when they did not stop. */
char *vmm_cpus_json(struct vmm *vm, const uint64_t *at, int *rc);
/* "io", "mmio", "hlt"...: a KVM exit reason's name. */
const char *vmm_exit_name(uint32_t reason);
char *vmm_digest_json(const struct vmm_digest *d);

/* The kernel and initrd (load.c): read first, loaded once guest memory exists. */
struct vmm_inputs {
	uint8_t *kernel, *initrd;
	size_t klen, ilen;
};
int vmm_inputs_read(struct vmm *vm, struct vmm_inputs *in, char *err, size_t errlen);
int vmm_inputs_load(struct vmm *vm, const struct vmm_inputs *in, char *err, size_t errlen);
void vmm_inputs_free(struct vmm_inputs *in);

/* vCPU setup and threads (vcpu.c). */
int vmm_vcpu_create(struct vmm *vm, int id, char *err, size_t errlen);
int vmm_vcpu_start(struct vmm_vcpu *c);
void vmm_vcpu_report(struct vmm_vcpu *c, const char *why);

/* Platform devices (hw/): each sets itself up and registers what it made (device.h). */
int vmm_serial_init(struct vmm *vm, char *err, size_t errlen);
/* The console's output from byte `from` on (the last 64 KiB are kept): up to len bytes into buf,
 * their count returned; *next is where the following read starts, *lost what was dropped before
 * `from` could be served. */
size_t vmm_serial_history(struct vmm *vm, uint64_t from, char *buf, size_t len, uint64_t *next,
			  uint64_t *lost);
/* Bytes for the guest, as if typed on its console. */
void vmm_serial_input(struct vmm *vm, const uint8_t *buf, size_t n);
int vmm_i8042_init(struct vmm *vm, char *err, size_t errlen);
int vmm_pci_init(struct vmm *vm, char *err, size_t errlen);
int vmm_virtio_blk_init(struct vmm *vm, char *err, size_t errlen);
int vmm_virtio_net_init(struct vmm *vm, char *err, size_t errlen);
const char *vmm_virtio_net_describe(struct vmm *vm);	/* "tap nv0, vhost-net", or NULL */
int vmm_virtio_rng_init(struct vmm *vm, char *err, size_t errlen);
int vmm_vfio_init(struct vmm *vm, char *err, size_t errlen);
/* Moves the MMIO region whose device is dev (a BAR the guest placed elsewhere). */
void vmm_mmio_move(struct vmm *vm, void *dev, uint64_t base);
int vmm_platform_init(struct vmm *vm, char *err, size_t errlen);
int vmm_testdev_init(struct vmm *vm, char *err, size_t errlen);	/* debug-exit.c */
int vmm_cmos_init(struct vmm *vm, char *err, size_t errlen);
bool vmm_cmos_alarm_due(struct vmm *vm);
int vmm_fwcfg_init(struct vmm *vm, char *err, size_t errlen);	/* fw-cfg.c */
int vmm_pm_init(struct vmm *vm, char *err, size_t errlen);	/* acpi-pm.c */
/* The ACPI power button pressed: 0, or -EAGAIN when the guest has not enabled its event (no OS
 * listening for it), -ENODEV without the PM block. */
int vmm_power_button(struct vmm *vm);
int vmm_acpi_build(struct vmm *vm);
uint32_t vmm_acpi_waking_vector(struct vmm *vm);
/* ACPI S3 (sleep.c): park the vCPUs; the VM's main thread wakes them on an RTC alarm or console
 * input. */
void vmm_suspend(struct vmm *vm);
void vmm_wake_poll(struct vmm *vm);
int vmm_vcpu_resume(struct vmm_vcpu *c);
bool vmm_platform_wake_due(struct vmm *vm);
void vmm_platform_woken(struct vmm *vm);
int vmm_mptable_build(struct vmm *vm);

#endif
