/* vmm: public API of nestvisor's KVM virtual machine monitor (used by the command line and the
 * TUI). */
#ifndef NESTVISOR_VMM_H
#define NESTVISOR_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VMM_MAX_CPUS 64
#define VMM_MAX_DISKS 8
#define VMM_MAX_PASSTHROUGH 4
#define VMM_STAT_DEVS 16		/* devices in a VM's statistics, at most */
#define VMM_MEM_MAX (1ull << 40)		/* 1 TiB of guest RAM */
#define VMM_TIMEOUT_MAX 31536000	/* a year, in seconds: time_t arithmetic stays exact */

enum vmm_console { VMM_CONSOLE_STDIO, VMM_CONSOLE_PTY, VMM_CONSOLE_NONE };

/* One --disk, parsed once (the command line and the TUI both) into what the VMM uses: 0, or
 * -EINVAL with err naming the option. vmm_disk_spec writes it back as an option. */
struct vmm_disk {
	char path[4096], serial[21];
	bool ro, direct, raw;	/* raw: format=raw, its bytes taken whatever they look like */
	int aio;
}; /* aio: 0 default, 1 io_uring, 2 sync */
int vmm_disk_parse(const char *spec, struct vmm_disk *d, char *err, size_t errlen);
void vmm_disk_spec(const struct vmm_disk *d, char *buf, size_t len);
/* The image opened as a VM would open it (the path trusted, its format, size and lock) and closed
 * again: for a front end to refuse it before anything else; 0, or -errno with err. */
int vmm_disk_check(const struct vmm_disk *d, char *err, size_t errlen);
/* The same checks, the image opened read-only (and read-locked) for looking into: its fd in *fd. */
int vmm_disk_open_read(const struct vmm_disk *d, int *fd, char *err, size_t errlen);

/* A host PCI address as lspci prints it (01:00.0, 0000:01:00.0) into its sysfs name
 * (0000:01:00.0): 0, or -EINVAL with err naming it. */
int vmm_pci_addr_parse(const char *s, char out[16], char *err, size_t errlen);

struct vmm_config {
	const char *kernel, *initrd, *cmdline, *name;
	/* the kernel's and initrd's bytes when they are not files (an OS image's own, read by
	 * imgboot/): kernel and initrd then only name them */
	const uint8_t *kernel_data, *initrd_data;
	size_t kernel_len, initrd_len;
	uint64_t mem;			/* bytes */
	int cpus;
	enum vmm_console console;
	const char *serial_log;		/* also copy the serial console here */
	double timeout;			/* seconds; 0: none */
	bool flat;			/* raw binary at load_addr */
	uint64_t load_addr, entry;
	bool quiet;			/* no warnings about unclaimed ports on stderr */
	bool no_unpack;			/* let a bzImage decompress itself; no kernel cache */
	bool rng;			/* a virtio-rng device */
	/* each thread confines itself once set up (vmm/sandbox.h): the command line and the TUI set
	 * it unless --sandbox off; library callers (tests) leave it off */
	bool sandbox;
	const char *net;		/* --net user[,hostfwd=...] (virtio-net), or NULL */
	struct vmm_disk disks[VMM_MAX_DISKS];	/* --disk (virtio-blk), in order, parsed */
	int ndisks;
	/* --device: host PCI devices given to the guest (VFIO), as vmm_pci_addr_parse wrote them */
	char passthrough[VMM_MAX_PASSTHROUGH][16];
	int npassthrough;
	/* What became of each passed-through device, told as the VM ends (before the device is
	 * reset): its address, vendor:device ("8086:10d3"), "worked" (the guest's driver drove it
	 * and the VM ended cleanly), "failed" or "unused", and how the VM ended. The sink is opened
	 * by the VM's process while it sets up (before it confines itself), told, then closed.
	 * NULL: not told. compat-db's compatdb_passthrough_open, _tell and _close keep them. */
	void *(*passthrough_open)(void);
	void (*passthrough_tell)(void *sink, const char *address, const char *vendor_device,
				 const char *outcome, const char *how);
	void (*passthrough_close)(void *sink);
	int nested;			/* enum nested_mode (nested/nested.h): auto (0), on, off */
	int cpu_model; /* enum vmm_cpu_model (vmm/cpumodel.h): auto (0), host, baseline */
	const char
		*probe_replay; /* judge nesting from this probe recording, not the host (tests) */
	/* Where the VMM's warnings go (unclaimed ports, a broken queue, a boot note), each a whole
	 * line without its newline: the caller's to show. NULL: nowhere. */
	void (*log)(void *ctx, const char *vm_name, const char *line);
	void *log_ctx;
	/* --restore: the VM is made from this snapshot (vmm_snapshot_open), not booted */
	struct vmm_snapshot *restore;
};
/* A log for vmm_config: the lines on stderr as "nestvisor: NAME: LINE" (the command line's, a VM
 * process's). */
void vmm_log_stderr(void *ctx, const char *vm_name, const char *line);

/* How a VM ended, and the exit status `nestvisor run` gives for it. */
enum vmm_end {
	VMM_END_RUNNING, VMM_END_DEBUG_EXIT, VMM_END_RESET, VMM_END_STOPPED, VMM_END_TIMEOUT,
	VMM_END_TRIPLE_FAULT, VMM_END_INTERNAL_ERROR, VMM_END_UNEXPECTED, VMM_END_DEVICE_LOST,
	VMM_END_POWEROFF,	/* ACPI S5: the guest powered itself off */
};
#define VMM_STATUS_RESET 0
#define VMM_STATUS_SETUP_ERROR 2
#define VMM_STATUS_UNEXPECTED 100
#define VMM_STATUS_TIMEOUT 124
#define VMM_STATUS_DEVICE_LOST 125	/* a passed-through device was taken back or failed */
#define VMM_STATUS_INTERNAL_ERROR 126
#define VMM_STATUS_TRIPLE_FAULT 128
#define VMM_STATUS_STOPPED 130

struct vmm;


/* --restore FILE: a snapshot (`nestvisor snapshot`) opened and checked (its container, its
 * configuration, a state for each vCPU), and cfg's memory, vCPUs, CPU model and nested mode set
 * from it (kernel and cmdline then name what it booted): 0, or -errno with err naming the file and
 * what is wrong with it. It stays open in cfg->restore until vmm_snapshot_close; a failed
 * vmm_create leaves it open too. */
int vmm_snapshot_open(const char *path, struct vmm_config *cfg, char *err, size_t errlen);
void vmm_snapshot_close(struct vmm_config *cfg);
/* The opened snapshot's file moved to descriptor fd, or (fd >= 100) to the lowest free one from
 * fd: a process that closes the others keeps it. 0 or -errno. */
int vmm_snapshot_move_fd(struct vmm_config *cfg, int fd);
/* Every section of the opened snapshot read against its checksum, guest memory included: 0, or
 * -errno with err. */
int vmm_snapshot_verify(const struct vmm_config *cfg, char *err, size_t errlen);
/* Client: asks the running VM NAME to save itself into fd (a new empty file, handed over the
 * control socket), then to go on or end (stop). 0 with *reply (its JSON, malloc'd), -ENOENT (no
 * such VM), -EAGAIN with the VM's reason in err, or -EIO. */
int vmm_control_snapshot(const char *name, int fd, bool stop, char **reply, char *err,
			 size_t errlen);

/* A --mem size: 0, or -EINVAL. */
int vmm_size_parse(const char *s, uint64_t *out);

int vmm_create(const struct vmm_config *cfg, struct vmm **out, char *err, size_t errlen);

/* spawn.c. A created VM run to its end: its control socket (claimed: already started), SIGINT,
 * SIGTERM and SIGHUP stopping it (block them first, before vmm_create, with vmm_signals_block), how
 * it ended and (stats) its statistics to log; ready_fd >= 0 is told "OK PTY" once it runs, then
 * closed. Its exit status. */
struct vmm_serve_opts {
	const struct vmm_config *cfg;
	bool stats, claimed;
	int ready_fd;
	FILE *log;
};
int vmm_serve(struct vmm *vm, const struct vmm_serve_opts *opt);
void vmm_signals_block(void);
/* The VM in a process of its own, in the background (its own session, console on a pty, its log
 * NAME.log beside its control socket); returns once it runs: its pid and pty. -errno, err saying
 * why, otherwise. */
struct vmm_spawned {
	int pid;
	char pty[64];
};
int vmm_spawn(const struct vmm_config *cfg, bool stats, struct vmm_spawned *out, char *err,
	      size_t errlen);
/* Runs the vCPUs until the VM ends; returns the exit status above (or (v << 1) | 1 for debug-exit
 * v). */
int vmm_run(struct vmm *vm);
void vmm_destroy(struct vmm *vm);

void vmm_stop(struct vmm *vm);
int vmm_pause(struct vmm *vm);
int vmm_resume(struct vmm *vm);
enum vmm_end vmm_end_reason(const struct vmm *vm);
const char *vmm_end_name(enum vmm_end e);
/* The one-screen report written when a VM ends badly (registers, code at RIP, last exits), or "".
 */
/* Whether the guest's console output so far ends a line (nothing printed: true). */
bool vmm_serial_line_ended(struct vmm *vm);
const char *vmm_report(const struct vmm *vm);
const char *vmm_pty_path(const struct vmm *vm);
const char *vmm_boot_kind(const struct vmm *vm);
/* Whether this VM's guests may run a hypervisor of their own; *state_size: the bytes KVM's nested
 * state of a vCPU takes (KVM_CAP_NESTED_STATE; 0 when it has none). */
bool vmm_nested(const struct vmm *vm, int *state_size);
/* A paused VM's vCPU nested state (KVM_GET/SET_NESTED_STATE), for snapshots; -EBUSY unless paused.
 */
int vmm_nested_state_save(struct vmm *vm, int cpu, void **buf, size_t *len);
int vmm_nested_state_restore(struct vmm *vm, int cpu, const void *buf, size_t len);

/* Exit accounting. */
struct vmm_stat_row { char what[40]; uint64_t count; uint64_t ns; };
struct vmm_stats {
	uint64_t exits, ns_in_vmm, uptime_ns;
	uint64_t coalesced;		/* port writes KVM queued without an exit */
	int nreasons, nports, nmmio;
	struct vmm_stat_row reasons[32], ports[16], mmio[16];	/* busiest first */
	int cpus;
	uint64_t mem, mem_touched; /* guest RAM, and how much of it the host has backed so far */
	uint64_t vmm_rss_max;		/* peak RSS of this process, bytes */
	bool paused;
	bool nested;			/* the guest may run its own hypervisor */
	int nested_state_bytes;		/* KVM_CAP_NESTED_STATE: bytes per vCPU, 0 none */
	char cpu_model[16];		/* the CPU the guest is shown: host or baseline */
	/* what timed the exits: "tsc N kHz" (", variant": the CPU does not declare it invariant) or
	 * "clock_gettime" */
	char exit_clock[40];
	int ndevs; /* the devices that count what they did (virtio: notifications cost no exit) */
	struct vmm_dev_stat {
		char what[32];
		uint64_t notifies, interrupts, bytes;
	} devs[VMM_STAT_DEVS];
};
void vmm_stats_get(struct vmm *vm, struct vmm_stats *s);
void vmm_stats_print(const struct vmm_stats *s, FILE *out);
/* JSON object text (malloc'd), and back (a control-socket client's side): 0 or -EBADMSG. */
char *vmm_stats_json(const struct vmm_stats *s);
int vmm_stats_from_json(const char *text, struct vmm_stats *s);

#endif
