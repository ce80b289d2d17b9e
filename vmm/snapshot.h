/* snapshot: a VM saved to a snapshot file and made again from one (snapshot.c, restore.c;
 * docs/snapshot.md). Private to vmm/: the command line reaches it through vmm.h and the control
 * socket. */
#ifndef NESTVISOR_VMM_SNAPSHOT_H
#define NESTVISOR_VMM_SNAPSHOT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

struct vmm;

#define VMM_SNAP_CONFIG_VERSION 1
#define VMM_SNAP_CHIPS_VERSION 1

/* The "vm" section: KVM's own devices and clock */
struct vmm_snap_chips {
	struct kvm_irqchip pic[2], ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* Saves a running (or paused) VM into fd, a new empty regular file: paused while it writes, then
 * resumed, or ended when stop. 0, or -errno with err saying why (-ENOTSUP: a device that cannot be
 * saved yet, named). */
int vmm_snapshot_write(struct vmm *vm, int fd, bool stop, char *err, size_t errlen);
/* Its parts that restore.c shares */
void vmm_snapshot_dev_name(const struct vmm *vm, int i, char *buf, size_t len);
void vmm_snapshot_host_cpu(const struct vmm *vm, char *buf, size_t len);

/* restore.c, from vmm_create: guest memory mapped from the file (private copy-on-write: pages
 * load on first touch), and once the devices and vCPUs exist, their state written back. */
int vmm_restore_memory(struct vmm *vm, char *err, size_t errlen);
int vmm_restore_apply(struct vmm *vm, char *err, size_t errlen);

#endif
