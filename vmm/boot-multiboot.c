/* boot-multiboot: Multiboot v1 (ELF or a.out kludge), its info block, memory map, command line and
 * modules. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "vmm/boot.h"

#define MB_INFO_MAGIC   0x2BADB002u
#define MB_FLAG_AOUT    (1u << 16)
#define MB_INFO_MEMORY  (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS    (1u << 3)
#define MB_INFO_MMAP    (1u << 6)

/* Layout inside the info area (vmm_boot_info_area): offsets from its start. */
#define MB_MODS    0x100
#define MB_MMAP    0x200
#define MB_STRINGS 0x400

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_module { uint32_t start, end, string, reserved; } __attribute__((packed));
struct mb_mmap { uint32_t size; uint64_t addr, len; uint32_t type; } __attribute__((packed));

/* a.out kludge: the header says where the file goes (multiboot spec 3.1.3). */
static int load_aout(struct vmm_mem *m, const struct vmm_boot_opts *o, size_t off, uint64_t *start,
		     uint64_t *end, uint32_t *entry, char *err, size_t errlen)
{
	/* magic flags checksum header_addr load_addr load_end_addr bss_end_addr entry_addr */
	uint32_t h[8];

	if (off + sizeof(h) > o->kernel.len) {
		snprintf(err, errlen, "%s: multiboot header truncated", o->kernel.path);
		return -ENOEXEC;
	}
	memcpy(h, o->kernel.data + off, sizeof(h));
	uint64_t file_off = (uint64_t)off - (h[3] - (uint64_t)h[4]); /* header_addr - load_addr */
	uint64_t load_end = h[5] ? h[5] : h[4] + (o->kernel.len - file_off);
	uint64_t size = load_end - h[4], bss_end = h[6] ? h[6] : load_end;
	if (h[3] < h[4] || load_end < h[4] || bss_end < load_end || file_off > o->kernel.len ||
	    size > o->kernel.len - file_off) {
		snprintf(err, errlen,
			 "%s: multiboot a.out header addresses are inconsistent with the file",
			 o->kernel.path);
		return -ENOEXEC;
	}
	uint8_t *dst = vmm_mem_ptr(m, h[4], bss_end - h[4]);
	if (!dst) {
		snprintf(err, errlen,
			 "%s: multiboot header asks for 0x%x-0x%llx, outside guest memory",
			 o->kernel.path, h[4], (unsigned long long)bss_end);
		return -EFAULT;
	}
	memcpy(dst, o->kernel.data + file_off, size);
	memset(dst + size, 0, bss_end - load_end);
	*start = h[4];
	*end = bss_end;
	*entry = h[7];
	return 0;
}

static uint32_t entry_of_elf(const struct vmm_boot_image *img)
{
	uint32_t e;

	memcpy(&e, img->data + 24, 4);	/* e_entry of an ELF32 header */
	return e;
}

/* Places a NUL-terminated string in the info area (which ends at limit); returns its address or 0.
 */
static uint32_t put_string(struct vmm_mem *m, uint64_t *at, uint64_t limit, const char *s)
{
	size_t n = strlen(s) + 1;
	uint64_t a = *at;

	if (a + n > limit || vmm_mem_write(m, a, s, n) < 0)
		return 0;
	*at += (n + 3) & ~3ull;
	return (uint32_t)a;
}

static int place_module(struct vmm_mem *m, const struct vmm_boot_opts *o, uint64_t after,
			uint64_t info, struct mb_module *mod, uint64_t *strings, char *err,
			size_t errlen)
{
	uint64_t start = (after + 0xfff) & ~0xfffull;

	if (vmm_mem_write(m, start, o->initrd.data, o->initrd.len) < 0 ||
	    start + o->initrd.len > UINT32_MAX) {
		snprintf(err, errlen,
			 "%s: %zu bytes do not fit in guest memory after the kernel (give the "
			 "guest more memory)",
			 o->initrd_path, o->initrd.len);
		return -EFAULT;
	}
	mod->start = (uint32_t)start;
	mod->end = (uint32_t)(start + o->initrd.len);
	mod->string = put_string(m, strings, info + BOOT_INFO_SIZE, o->initrd_path);
	return 0;
}

int vmm_boot_multiboot(struct vmm_mem *m, const struct vmm_boot_opts *o, size_t off,
		       struct vmm_boot *b, char *err, size_t errlen)
{
	struct mb_info info = { 0 };
	struct mb_module mod = { 0 };
	struct vmm_e820 e820[8];
	struct mb_mmap mmap[8];
	uint64_t start = 0, end = 0;
	uint32_t flags, entry;
	char cmdline[4096];
	int rc, n;

	memcpy(&flags, o->kernel.data + off + 4, 4);
	if (flags & MB_FLAG_AOUT) {
		rc = load_aout(m, o, off, &start, &end, &entry, err, errlen);
	} else if (o->kernel.len >= 52 && o->kernel.data[4] == 1 /* ELFCLASS32 */) {
		entry = entry_of_elf(&o->kernel);
		rc = vmm_boot_elf_load(m, &o->kernel, &start, &end, err, errlen);
	} else {
		snprintf(err, errlen,
			 "%s: multiboot image is neither a 32-bit ELF nor an a.out kludge image "
			 "(x86-64 ELF must be converted: objcopy -O elf32-i386)",
			 o->kernel.path);
		return -ENOEXEC;
	}
	if (rc < 0)
		return rc;
	if (!vmm_mem_ptr(m, entry, 1)) {
		snprintf(err, errlen, "%s: entry point 0x%x is outside guest memory",
			 o->kernel.path, entry);
		return -EFAULT;
	}
	uint64_t base = vmm_boot_info_area(start, end), strings = base + MB_STRINGS;
	if (!vmm_mem_ptr(m, base, BOOT_INFO_SIZE) || base + BOOT_INFO_SIZE > UINT32_MAX) {
		snprintf(err, errlen,
			 "%s: no room after the image (ends at 0x%llx) for the multiboot "
			 "information (give the guest more memory)",
			 o->kernel.path, (unsigned long long)end);
		return -EFAULT;
	}
	n = vmm_boot_e820(m, e820, 8);
	for (int i = 0; i < n; i++)
		mmap[i] = (struct mb_mmap){ 20, e820[i].addr, e820[i].size, e820[i].type };
	vmm_mem_write(m, base + MB_MMAP, mmap, (uint64_t)n * sizeof(mmap[0]));
	/* QEMU's convention, which kvm-unit-tests relies on: argv[0] is the kernel's path */
	snprintf(cmdline, sizeof(cmdline), "%s%s%s", o->kernel.path, o->cmdline ? " " : "", o->cmdline ? o->cmdline : "");
	info.flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MMAP | MB_INFO_MODS;
	info.mem_lower = (uint32_t)(BOOT_LOW_RAM_END / 1024);
	info.mem_upper = (uint32_t)((m->low - BOOT_HIMEM) / 1024);
	info.cmdline = put_string(m, &strings, base + BOOT_INFO_SIZE, cmdline);
	info.mmap_addr = (uint32_t)(base + MB_MMAP);
	info.mmap_length = (uint32_t)(n * sizeof(mmap[0]));
	info.mods_addr = (uint32_t)(base + MB_MODS);
	if (o->initrd.len) {
		if ((rc = place_module(m, o, vmm_boot_after(end, base), base, &mod, &strings, err,
				       errlen)) < 0)
			return rc;
		info.mods_count = 1;
		vmm_mem_write(m, base + MB_MODS, &mod, sizeof(mod));
		end = mod.end;
	}
	vmm_mem_write(m, base, &info, sizeof(info));
	b->kind = VMM_BOOT_MULTIBOOT;
	b->mode = VMM_MODE_PROT32;
	b->entry = entry;
	b->rax = MB_INFO_MAGIC;
	b->rbx = base;
	b->image_end = vmm_boot_after(end, base);
	return 0;
}
