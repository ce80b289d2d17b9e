/* pci: bus 0 behind configuration mechanism 1 (0xcf8/0xcfc) and ECAM (the MCFG table's window, for
 * the 4 KiB of a PCI Express function): an i440FX host bridge at 00.0 and the devices added to it,
 * each with its config space, writable-bit mask, BARs and expansion ROM, placed by us in the 32-bit
 * or the 64-bit PCI window or the I/O window (vmm/layout.h) as firmware would place them, so a guest
 * keeps them where they are. */
#ifndef NESTVISOR_VMM_HW_PCI_H
#define NESTVISOR_VMM_HW_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct vmm;

#define PCI_BARS 6
#define PCI_CFG_SIZE 4096		/* PCI Express: 256 bytes, then the extended capabilities */
#define PCI_CFG_LEGACY 256		/* what 0xcf8/0xcfc reaches */
#define PCI_BAR_IO 0x01		/* bar_flags: an I/O BAR (ports; 4 to 256 of them) */
#define PCI_BAR_MEM64 0x04		/* bar_flags: a 64-bit BAR (it takes the next register too) */
#define PCI_BAR_PREFETCH 0x08
#define PCI_ROM PCI_BARS		/* bar_moved's index for the expansion ROM (register 0x30) */
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

struct vmm_pci_dev {
	const char *name;
	uint8_t cfg[PCI_CFG_SIZE], wmask[PCI_CFG_SIZE];	/* config space; bits a guest may write */
	/* BARs, each a power of two (0: none), and how they decode (PCI_BAR_MEM64: the register
	 * after it is its upper half, and has no size of its own; PCI_BAR_IO: ports, reached through
	 * io_access); the expansion ROM's size (0: none), read-only memory the guest enables */
	uint64_t bar_size[PCI_BARS];
	uint8_t bar_flags[PCI_BARS];
	uint64_t rom_size;
	/* An access to I/O BAR bar at off in it, under the bus's lock. Needed with an I/O BAR. */
	void (*io_access)(struct vmm *vm, struct vmm_pci_dev *d, int bar, uint16_t off, bool write,
			  uint8_t *data, int size);
	/* A read the device answers itself (a passed-through device's live registers): called
	 * after data holds what cfg has, under the bus's lock. Optional. */
	void (*config_read)(struct vmm *vm, struct vmm_pci_dev *d, unsigned reg, uint8_t *data,
			    int size);
	/* A BAR's guest address changed (moved, or its decoding switched; 0: not decoded now);
	 * bar is PCI_ROM for the expansion ROM. Not called for I/O BARs (io_access is). */
	void (*bar_moved)(struct vmm *vm, struct vmm_pci_dev *d, int bar, uint64_t addr);
	/* After any write, as the guest made it (cfg's writable bits have taken it), under the
	 * bus's lock: a passed-through device hands on what it does not emulate. Optional. */
	void (*config_written)(struct vmm *vm, struct vmm_pci_dev *d, unsigned reg,
			       const uint8_t *data, int size);
	/* 4 bytes at config offset `window` (0: none) that are the device's to answer, not config
	 * memory */
	int window;
	void (*window_access)(struct vmm *vm, struct vmm_pci_dev *d, unsigned reg, bool write,
			      uint8_t *data, int size);
	void *priv;
	int slot;
	int cap_end;			/* capabilities: the next free offset, and the last one's */
	uint8_t cap_last;
};

/* Puts d on the bus at the next slot, its BARs at the next free addresses of the window; vendor,
 * device, class and capabilities are the caller's (cfg, wmask). */
int vmm_pci_add(struct vmm *vm, struct vmm_pci_dev *d, char *err, size_t errlen);
/* Where BAR bar (or PCI_ROM) is decoded now, or 0: a memory address, or an I/O BAR's port. */
uint64_t vmm_pci_bar(const struct vmm_pci_dev *d, int bar);
/* Appends a capability of len bytes (id and body; the next pointer is filled in); its config
 * offset. */
int vmm_pci_add_cap(struct vmm_pci_dev *d, const uint8_t *cap, int len);

/* Where the 64-bit PCI window starts: the first GiB boundary above RAM (VMM_PCI64_SIZE long). */
struct vmm_mem;
uint64_t vmm_pci64_window(const struct vmm_mem *m);

int vmm_pci_init(struct vmm *vm, char *err, size_t errlen);
void vmm_pci_free(struct vmm *vm);

#endif
