/* boot: recognises a kernel image by its content and hands it to the right loader. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "vmm/boot.h"

const char *vmm_boot_kind_name(enum vmm_boot_kind k)
{
	static const char *const names[] = { "none", "multiboot", "bzImage", "PVH ELF",
					     "flat binary" };
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

int vmm_boot_e820(const struct vmm_mem *m, struct vmm_e820 *e, int max)
{
	const struct vmm_e820 map[] = {
		{ 0, BOOT_LOW_RAM_END, E820_RAM },
		{ BOOT_LOW_RAM_END, 0xa0000 - BOOT_LOW_RAM_END, E820_RESERVED },
		{ BOOT_BIOS_START, BOOT_HIMEM - BOOT_BIOS_START, E820_RESERVED },
		{ BOOT_HIMEM, m->low - BOOT_HIMEM, E820_RAM },
		{ VMM_PCI_ECAM, VMM_PCI_ECAM_SIZE, E820_RESERVED },
		{ VMM_4G, m->high, E820_RAM },
	};
	int n = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]) && n < max; i++)
		if (map[i].size)
			e[n++] = map[i];
	return n;
}

uint64_t vmm_boot_info_area(uint64_t start, uint64_t end)
{
	if (end <= BOOT_INFO || start >= BOOT_INFO_END)
		return BOOT_INFO;
	return (end + 0xfff) & ~0xfffull;	/* as QEMU places it: after the image */
}

uint64_t vmm_boot_after(uint64_t end, uint64_t base)
{
	uint64_t after = end > base + BOOT_INFO_SIZE ? end : base + BOOT_INFO_SIZE;

	return (after + 0xfff) & ~0xfffull;
}

/* Multiboot v1 (multiboot.h): the header is 4-byte aligned in the first 8 KiB and sums to 0. */
long vmm_boot_find_multiboot(const uint8_t *data, size_t len)
{
	for (size_t off = 0; off + 12 <= len && off < 8192; off += 4) {
		uint32_t magic, flags, sum;
		memcpy(&magic, data + off, 4);
		if (magic != 0x1BADB002u)
			continue;
		memcpy(&flags, data + off + 4, 4);
		memcpy(&sum, data + off + 8, 4);
		if ((uint32_t)(magic + flags + sum) == 0)
			return (long)off;
	}
	return -1;
}

static bool is_bzimage(const uint8_t *d, size_t len)
{
	return len >= 0x250 && d[0x1fe] == 0x55 && d[0x1ff] == 0xaa &&
		!memcmp(d + 0x202, "HdrS", 4);
}

static int load_flat(struct vmm_mem *m, const struct vmm_boot_opts *o, struct vmm_boot *b,
		     char *err, size_t errlen)
{
	if (vmm_mem_write(m, o->load_addr, o->kernel.data, o->kernel.len) < 0) {
		snprintf(err, errlen,
			 "%s: %zu bytes at load address 0x%llx do not fit in guest memory (give "
			 "the guest more memory)",
			 o->kernel.path, o->kernel.len, (unsigned long long)o->load_addr);
		return -EFAULT;
	}
	b->kind = VMM_BOOT_FLAT;
	b->mode = VMM_MODE_PROT32;
	b->entry = o->entry ? o->entry : o->load_addr;
	b->image_end = o->load_addr + o->kernel.len;
	if (!vmm_mem_ptr(m, b->entry, 1)) {
		snprintf(err, errlen, "%s: entry point 0x%llx is outside guest memory",
			 o->kernel.path, (unsigned long long)b->entry);
		return -EFAULT;
	}
	return 0;
}

int vmm_boot_load(struct vmm_mem *m, const struct vmm_boot_opts *o, struct vmm_boot *b, char *err,
		  size_t errlen)
{
	const uint8_t *d = o->kernel.data;
	size_t len = o->kernel.len;
	uint32_t pvh;
	long mb;

	memset(b, 0, sizeof(*b));
	if (o->flat)
		return load_flat(m, o, b, err, errlen);
	if (len == 0) {
		snprintf(err, errlen, "%s: empty file", o->kernel.path);
		return -EINVAL;
	}
	if (is_bzimage(d, len))
		return vmm_boot_bzimage(m, o, b, err, errlen);
	if ((mb = vmm_boot_find_multiboot(d, len)) >=
	    0) /* as QEMU: a multiboot header wins over a PVH note */
		return vmm_boot_multiboot(m, o, (size_t)mb, b, err, errlen);
	if (len >= 4 && !memcmp(d, "\177ELF", 4)) {
		if (vmm_boot_elf_pvh_entry(&o->kernel, &pvh) == 0)
			return vmm_boot_pvh(m, o, pvh, b, err, errlen);
		snprintf(err, errlen,
			 "%s: an ELF file with neither a multiboot header nor a PVH entry note "
			 "(XEN_ELFNOTE_PHYS32_ENTRY); build the kernel with CONFIG_PVH, or give a "
			 "bzImage",
			 o->kernel.path);
		return -ENOEXEC;
	}
	snprintf(err, errlen,
		 "%s: not a kernel nestvisor can boot (no bzImage header, multiboot header or "
		 "ELF); a raw binary needs a load address and an entry point",
		 o->kernel.path);
	return -ENOEXEC;
}
