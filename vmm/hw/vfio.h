/* vfio: a host PCI device passed through to the guest with VFIO (driver-api/vfio.rst): its IOMMU
 * group in a type1v2 container, guest RAM DMA-mapped, its BARs mmapped as memory slots (the MSI-X
 * table and PBA trapped), I/O BARs and the expansion ROM through region reads and writes, its
 * config space virtualised over the real one, INTx through an irqfd with a resample eventfd,
 * MSI and MSI-X through KVM routes and irqfds. vfio.c opens, maps and tears down;
 * vfio-cfg.c is the config space and the interrupts. */
#ifndef NESTVISOR_VMM_HW_VFIO_H
#define NESTVISOR_VMM_HW_VFIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "vmm/hw/pci.h"

struct vmm;

struct vfio_bar {
	struct vmm_vfio *owner;
	int index;
	uint64_t size, offset;		/* in the device fd */
	uint32_t flags;			/* VFIO_REGION_INFO_FLAG_* */
	void *map;			/* mmapped (NULL: every access trapped) */
	uint64_t gpa;			/* where the guest has it now (0: not decoded) */
	int slots[3];			/* memory slots of its mapped pieces (-1: none) */
	uint64_t hole[2][2];		/* trapped page ranges in it (MSI-X table, PBA): start, end */
	int nholes;
	bool trapped;			/* its MMIO handler is registered */
};

struct vfio_vector {
	uint32_t addr_lo, addr_hi, data, ctrl;	/* the guest's MSI-X table entry */
	int efd, gsi;				/* the device signals efd; KVM routes gsi */
	bool live;				/* efd is an irqfd now */
};

struct vmm_vfio {
	struct vmm *vm;
	char bdf[16];
	int group, fd, group_id;		/* group: shared with its peers (vfio-group.c) */
	uint64_t cfg_offset, cfg_size;		/* the config region in fd */
	bool can_reset;
	struct vmm_pci_dev pci;
	uint8_t emulated[PCI_CFG_SIZE];		/* 1: the byte is ours (pci.cfg), not the device's */
	struct vfio_bar bar[PCI_BARS + 1];	/* and the expansion ROM, at PCI_ROM */
	pthread_mutex_t lock;			/* the interrupt state below */
	int msix_cap, msix_bar, msix_n;
	uint32_t msix_table, msix_pba;		/* offsets in msix_bar */
	struct vfio_vector *vec;
	bool msix_on;
	/* MSI (one vector: the guest is offered no more), its capability emulated whole */
	int msi_cap;				/* 0: none given */
	bool msi_64, msi_maskable, msi_on;
	struct vfio_vector msi;
	int intx_gsi, intx_efd, intx_resample;	/* gsi < 0: no INTx */
	bool intx_on;
	bool driven;				/* the guest turned bus mastering on: a driver */
	bool warned;				/* a failure the guest can repeat was said */
	void *sink;				/* where its outcome is told (vmm_config) */
	uint64_t interrupts_set;		/* VFIO_DEVICE_SET_IRQS calls, for stats */
	/* VFIO's request to give the device back (unbound, unplugged) and its error report (AER),
	 * watched by a thread of their own; stop ends it */
	int req_efd, err_efd, stop_efd;
	pthread_t watcher;
	bool watching;
};

/* vfio-group.c: v's IOMMU group, opened once for all its devices in the VM, in the VM's one
 * container (made and its IOMMU set by the first); v->group set. 0 or -errno with err. */
int vfio_group_get(struct vmm_vfio *v, char *err, size_t errlen);
/* v's share of its group given back: the group leaves the container with its last device. */
void vfio_group_put(struct vmm_vfio *v);
/* Guest RAM mapped for the devices' DMA, once, after every device is quiet; 0 or -errno. */
int vfio_group_map_ram(struct vmm *vm, char *err, size_t errlen);

/* vfio-cfg.c: the virtual config space built from the real one (BARs, capabilities, MSI-X) and
 * the interrupts wired; 0 or -errno with err. */
int vfio_cfg_setup(struct vmm_vfio *v, char *err, size_t errlen);
/* After the bus gave it a slot: INTx wired as the DSDT routes that slot's pin; 0 or -errno. */
int vfio_intx_setup(struct vmm_vfio *v);
void vfio_irqs_teardown(struct vmm_vfio *v);
/* An access to an I/O BAR, handed to the device's region (the bus's io_access). */
void vfio_io_access(struct vmm *vm, struct vmm_pci_dev *d, int bar, uint16_t off, bool write,
		    uint8_t *data, int size);
/* An access to the MSI-X table or PBA of the BAR msix_bar, at off in it. */
void vfio_msix_access(struct vmm_vfio *v, uint64_t off, bool write, uint8_t *data, int size);

int vmm_vfio_init(struct vmm *vm, char *err, size_t errlen);

#endif
