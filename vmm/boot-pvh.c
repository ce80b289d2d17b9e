/* boot-pvh: ELF kernels with a PVH entry note: 32-bit protected-mode entry, EBX = struct hvm_start_info. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "vmm/boot.h"

#define HVM_START_MAGIC 0x336ec578u
#define PVH_MEMMAP  (BOOT_INFO + 0x100)
#define PVH_MODLIST (BOOT_INFO + 0x300)

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
} __attribute__((packed));
struct hvm_memmap { uint64_t addr, size; uint32_t type, reserved; } __attribute__((packed));
struct hvm_module { uint64_t paddr, size, cmdline_paddr, reserved; } __attribute__((packed));

int vmm_boot_pvh(struct vmm_mem *m, const struct vmm_boot_opts *o, uint32_t entry, struct vmm_boot *b,
		 char *err, size_t errlen)
{
	struct hvm_start_info si = { .magic = HVM_START_MAGIC, .version = 1, .rsdp_paddr = BOOT_BIOS_START };
	struct hvm_memmap mm[8];
	struct vmm_e820 e[8];
	uint64_t end;
	int rc, n;

	if ((rc = vmm_boot_elf_load(m, &o->kernel, &end, err, errlen)) < 0)
		return rc;
	if (!vmm_mem_ptr(m, entry, 1)) {
		snprintf(err, errlen, "%s: PVH entry 0x%x is outside guest memory", o->kernel.path, entry);
		return -EFAULT;
	}
	n = vmm_boot_e820(m, e, 8);
	for (int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap){ e[i].addr, e[i].size, e[i].type, 0 };
	vmm_mem_write(m, PVH_MEMMAP, mm, (uint64_t)n * sizeof(mm[0]));
	si.memmap_paddr = PVH_MEMMAP;
	si.memmap_entries = (uint32_t)n;
	if (o->cmdline && strlen(o->cmdline) < BOOT_CMDLINE_MAX) {
		vmm_mem_write(m, BOOT_CMDLINE, o->cmdline, strlen(o->cmdline) + 1);
		si.cmdline_paddr = BOOT_CMDLINE;
	}
	if (o->initrd.len) {
		uint64_t at = (end + 0xfff) & ~0xfffull;
		struct hvm_module mod = { at, o->initrd.len, 0, 0 };
		if (vmm_mem_write(m, at, o->initrd.data, o->initrd.len) < 0) {
			snprintf(err, errlen, "%s: does not fit in guest memory after the kernel (raise --mem)", o->initrd_path);
			return -EFAULT;
		}
		vmm_mem_write(m, PVH_MODLIST, &mod, sizeof(mod));
		si.modlist_paddr = PVH_MODLIST;
		si.nr_modules = 1;
		end = at + o->initrd.len;
	}
	vmm_mem_write(m, BOOT_INFO, &si, sizeof(si));
	b->kind = VMM_BOOT_PVH;
	b->mode = VMM_MODE_PROT32;
	b->entry = entry;
	b->rbx = BOOT_INFO;
	b->image_end = end;
	return 0;
}
