/* boot-pvh: ELF kernels with a PVH entry note: 32-bit protected-mode entry, EBX = struct
 * hvm_start_info. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "vmm/boot.h"

#define HVM_START_MAGIC 0x336ec578u
/* Offsets in the info area (vmm_boot_info_area). */
#define PVH_MEMMAP  0x100
#define PVH_MODLIST 0x300

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
} __attribute__((packed));
struct hvm_memmap { uint64_t addr, size; uint32_t type, reserved; } __attribute__((packed));
struct hvm_module { uint64_t paddr, size, cmdline_paddr, reserved; } __attribute__((packed));

int vmm_boot_pvh(struct vmm_mem *m, const struct vmm_boot_opts *o, uint32_t entry,
		 struct vmm_boot *b, char *err, size_t errlen)
{
	struct hvm_start_info si = { .magic = HVM_START_MAGIC,
				     .version = 1,
				     .rsdp_paddr = BOOT_BIOS_START };
	struct hvm_memmap mm[8];
	struct vmm_e820 e[8];
	uint64_t start, end, base;
	int rc, n;

	if ((rc = vmm_boot_elf_load(m, &o->kernel, &start, &end, err, errlen)) < 0)
		return rc;
	if (!vmm_mem_ptr(m, entry, 1)) {
		snprintf(err, errlen, "%s: PVH entry 0x%x is outside guest memory", o->kernel.path,
			 entry);
		return -EFAULT;
	}
	base = vmm_boot_info_area(start, end);
	if (!vmm_mem_ptr(m, base, BOOT_INFO_SIZE) || base + BOOT_INFO_SIZE > UINT32_MAX) {
		snprintf(err, errlen,
			 "%s: no room after the image for the PVH start info (give the guest more "
			 "memory)",
			 o->kernel.path);
		return -EFAULT;
	}
	n = vmm_boot_e820(m, e, 8);
	for (int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap){ e[i].addr, e[i].size, e[i].type, 0 };
	vmm_mem_write(m, base + PVH_MEMMAP, mm, (uint64_t)n * sizeof(mm[0]));
	si.memmap_paddr = base + PVH_MEMMAP;
	si.memmap_entries = (uint32_t)n;
	/* the command line at its usual place, or past the image and info area when the image
	 * covers it */
	uint64_t after = vmm_boot_after(end, base), cmd_at = BOOT_CMDLINE;
	size_t cmd_len = o->cmdline ? strlen(o->cmdline) + 1 : 0;
	if (start < BOOT_CMDLINE + BOOT_CMDLINE_MAX && end > BOOT_CMDLINE) {
		cmd_at = after;
		after = (cmd_at + cmd_len + 0xfff) & ~0xfffull;
	}
	if (cmd_len && cmd_len <= BOOT_CMDLINE_MAX &&
	    vmm_mem_write(m, cmd_at, o->cmdline, cmd_len) == 0)
		si.cmdline_paddr = cmd_at;
	if (o->initrd.len) {
		uint64_t at = after;
		struct hvm_module mod = { at, o->initrd.len, 0, 0 };
		if (vmm_mem_write(m, at, o->initrd.data, o->initrd.len) < 0) {
			snprintf(err, errlen,
				 "%s: does not fit in guest memory after the kernel (give the "
				 "guest more memory)",
				 o->initrd_path);
			return -EFAULT;
		}
		vmm_mem_write(m, base + PVH_MODLIST, &mod, sizeof(mod));
		si.modlist_paddr = base + PVH_MODLIST;
		si.nr_modules = 1;
		after = at + o->initrd.len;
	}
	vmm_mem_write(m, base, &si, sizeof(si));
	b->kind = VMM_BOOT_PVH;
	b->mode = VMM_MODE_PROT32;
	b->entry = entry;
	b->rbx = base;
	b->image_end = after;
	return 0;
}
