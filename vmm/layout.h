/* layout: the guest-physical memory map, in one place (Firecracker's arch/x86_64/layout.rs is the model).
 * Below 1 MiB: boot structures (vmm/boot.h: zero page, info area, page tables, command line, BIOS area with
 * the ACPI and MP tables, the boot GDT). Then RAM up to the MMIO hole; above it, the devices; RAM that does not
 * fit below the hole continues at 4 GiB. */
#ifndef NESTVISOR_VMM_LAYOUT_H
#define NESTVISOR_VMM_LAYOUT_H

#define VMM_MMIO_HOLE_START 0xC0000000ull	/* RAM above this moves to 4 GiB, as on a PC */
#define VMM_PCI_WINDOW      0xE0000000ull	/* PCI memory BARs, placed from here up */
#define VMM_PCI_WINDOW_END  0xFEC00000ull
#define VMM_IOAPIC          0xFEC00000ull	/* KVM's in-kernel IOAPIC and LAPIC */
#define VMM_LAPIC           0xFEE00000ull
#define VMM_TESTDEV_MMIO    0xFF000000ull	/* pc-testdev's iomem (debug-exit.c) */
#define VMM_4G              0x100000000ull

#endif
