/* layout: the guest-physical memory map, in one place (Firecracker's arch/x86_64/layout.rs is the
 * model). Below 1 MiB: boot structures (zero page, info area, page tables, command line, BIOS area
 * with the ACPI and MP tables, the boot GDT). Then RAM up to the MMIO hole; above it, the devices;
 * RAM that does not fit below the hole continues at 4 GiB. */
#ifndef NESTVISOR_VMM_LAYOUT_H
#define NESTVISOR_VMM_LAYOUT_H

/* Fixed guest-physical layout below 1 MiB (all inside the first 640 KiB of RAM, except the BIOS
 * area). */
#define BOOT_ZERO_PAGE    0x07000ull
#define BOOT_INFO 0x09000ull /* multiboot info / PVH start_info, unless the image is there */
#define BOOT_INFO_END     0x0f000ull
#define BOOT_INFO_SIZE    (BOOT_INFO_END - BOOT_INFO)
#define BOOT_PML4         0x10000ull
#define BOOT_CMDLINE      0x20000ull
#define BOOT_CMDLINE_MAX  0x10000ull
#define BOOT_LOW_RAM_END  0x9fc00ull
#define BOOT_BIOS_START   0xe0000ull	/* ACPI RSDP and MP table live here */
#define BOOT_GDT          0xf1000ull	/* reserved in the e820 map: no image loads over it */
#define BOOT_HIMEM        0x100000ull

#define VMM_MMIO_HOLE_START 0xC0000000ull	/* RAM above this moves to 4 GiB, as on a PC */
#define VMM_PCI_ECAM        0xC0000000ull	/* PCI Express config space of bus 0 (MCFG), */
#define VMM_PCI_ECAM_SIZE   0x00100000ull	/* reserved in the e820 map as Linux requires */
#define VMM_PCI_WINDOW      0xE0000000ull	/* PCI memory BARs, placed from here up */
#define VMM_PCI_WINDOW_END  0xFEC00000ull
#define VMM_PCI_IO_WINDOW   0xC000u	/* PCI I/O BARs: ports from here to the top, as SeaBIOS */
#define VMM_PCI_IO_END      0x10000u
#define VMM_IOAPIC          0xFEC00000ull	/* KVM's in-kernel IOAPIC and LAPIC */
#define VMM_LAPIC           0xFEE00000ull
#define VMM_TESTDEV_MMIO    0xFF000000ull	/* pc-testdev's iomem (debug-exit.c) */
#define VMM_KVM_IDENTITY_MAP \
	0xFFFBC000ull /* pages KVM keeps for itself (KVM_SET_IDENTITY_MAP_ADDR, */
#define VMM_KVM_TSS          0xFFFBD000ul	/* KVM_SET_TSS_ADDR): in no RAM and no BAR */
#define VMM_4G              0x100000000ull
/* The 64-bit PCI window: from the first GiB boundary above RAM (vmm_pci64_window()), this long;
 * 64-bit BARs of VMM_PCI_HIGH_BAR or more go there, as do those the 32-bit window cannot hold. */
#define VMM_PCI64_SIZE      (32ull << 30)
#define VMM_PCI_HIGH_BAR    (64ull << 20)

#endif
