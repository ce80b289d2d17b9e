/* boot-bzimage: Linux bzImage through the 64-bit boot protocol (Documentation/x86/boot.rst), as Firecracker:
 * no BIOS, no real mode; a zero page, an e820 map, identity page tables, entry in long mode. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "vmm/boot.h"

/* Offsets in the setup header and the zero page (struct boot_params). */
#define BP_E820_ENTRIES   0x1e8
#define BP_SETUP_SECTS    0x1f1
#define BP_HDR            0x1f1
#define BP_VERSION        0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS      0x211
#define BP_RAMDISK_IMAGE  0x218
#define BP_RAMDISK_SIZE   0x21c
#define BP_HEAP_END_PTR   0x224
#define BP_CMD_LINE_PTR   0x228
#define BP_INITRD_MAX     0x22c
#define BP_RELOCATABLE    0x234
#define BP_XLOADFLAGS     0x236
#define BP_CMDLINE_SIZE   0x238
#define BP_PREF_ADDRESS   0x258
#define BP_INIT_SIZE      0x260
#define BP_E820_TABLE     0x2d0
#define BP_E820_MAX       128
#define XLF_KERNEL_64     0x1
#define LOADED_HIGH       0x1
#define CAN_USE_HEAP      0x80

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

/* Identity-maps the first 4 GiB with 2 MiB pages: PML4, one PDPT, four page directories. */
static void build_page_tables(struct vmm_mem *m)
{
	uint64_t *pml4 = vmm_mem_ptr(m, BOOT_PML4, 0x6000);

	memset(pml4, 0, 0x6000);
	pml4[0] = (BOOT_PML4 + 0x1000) | 3;
	for (int i = 0; i < 4; i++) {
		pml4[512 + i] = (BOOT_PML4 + 0x2000 + 0x1000 * (uint64_t)i) | 3;
		for (int j = 0; j < 512; j++)
			pml4[1024 + 512 * i + j] = (((uint64_t)i << 30) | ((uint64_t)j << 21)) | 0x83;
	}
}

static int check_header(const struct vmm_boot_opts *o, char *err, size_t errlen)
{
	const uint8_t *d = o->kernel.data;
	size_t setup = ((d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4) + 1) * 512ul;

	if (rd16(d + BP_VERSION) < 0x020c || !(rd16(d + BP_XLOADFLAGS) & XLF_KERNEL_64)) {
		snprintf(err, errlen, "%s: this bzImage (boot protocol %x.%02x) has no 64-bit entry point; "
			 "nestvisor needs boot protocol 2.12+ (Linux 3.8+) built for x86-64", o->kernel.path,
			 d[BP_VERSION + 1], d[BP_VERSION]);
		return -ENOEXEC;
	}
	if (setup >= o->kernel.len || 0x202 + (size_t)d[0x201] > 0x1000 || 0x202 + (size_t)d[0x201] > o->kernel.len) {
		snprintf(err, errlen, "%s: truncated bzImage (setup of %zu bytes, file of %zu)", o->kernel.path,
			 setup, o->kernel.len);
		return -ENOEXEC;
	}
	return 0;
}

static int place_initrd(struct vmm_mem *m, const struct vmm_boot_opts *o, uint8_t *zp, uint64_t kernel_end,
			char *err, size_t errlen)
{
	uint64_t max = rd32(zp + BP_INITRD_MAX), top = m->low < max + 1 ? m->low : max + 1;
	uint64_t addr = (top - o->initrd.len) & ~0xfffull;

	if (o->initrd.len >= top || addr < kernel_end || vmm_mem_write(m, addr, o->initrd.data, o->initrd.len) < 0) {
		snprintf(err, errlen, "%s: %zu bytes do not fit between the kernel and 0x%llx (raise --mem)",
			 o->initrd_path, o->initrd.len, (unsigned long long)top);
		return -EFAULT;
	}
	uint32_t a = (uint32_t)addr, s = (uint32_t)o->initrd.len;
	memcpy(zp + BP_RAMDISK_IMAGE, &a, 4);
	memcpy(zp + BP_RAMDISK_SIZE, &s, 4);
	return 0;
}

static void write_e820(const struct vmm_mem *m, uint8_t *zp)
{
	struct vmm_e820 e[8];
	int n = vmm_boot_e820(m, e, 8);

	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n && i < BP_E820_MAX; i++) {
		memcpy(zp + BP_E820_TABLE + 20 * i, &e[i].addr, 8);
		memcpy(zp + BP_E820_TABLE + 20 * i + 8, &e[i].size, 8);
		memcpy(zp + BP_E820_TABLE + 20 * i + 16, &e[i].type, 4);
	}
}

int vmm_boot_bzimage(struct vmm_mem *m, const struct vmm_boot_opts *o, struct vmm_boot *b, char *err, size_t errlen)
{
	const uint8_t *d = o->kernel.data;
	uint8_t *zp = vmm_mem_ptr(m, BOOT_ZERO_PAGE, 0x1000);
	int rc;

	if ((rc = check_header(o, err, errlen)) < 0)
		return rc;
	size_t setup = ((d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4) + 1) * 512ul, kernel = o->kernel.len - setup;
	uint64_t load = d[BP_RELOCATABLE] ? BOOT_HIMEM : rd32(d + BP_PREF_ADDRESS);
	uint64_t need = kernel > rd32(d + BP_INIT_SIZE) ? kernel : rd32(d + BP_INIT_SIZE);
	if (!vmm_mem_ptr(m, load, need)) {
		snprintf(err, errlen, "%s: the kernel needs 0x%llx-0x%llx, outside guest memory (raise --mem)",
			 o->kernel.path, (unsigned long long)load, (unsigned long long)(load + need));
		return -EFAULT;
	}
	vmm_mem_write(m, load, d + setup, kernel);
	memset(zp, 0, 0x1000);
	memcpy(zp + BP_HDR, d + BP_HDR, 0x202 + (size_t)d[0x201] - BP_HDR);
	zp[BP_TYPE_OF_LOADER] = 0xff;
	zp[BP_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	uint16_t heap = 0xfe00;
	memcpy(zp + BP_HEAP_END_PTR, &heap, 2);
	const char *cmd = o->cmdline ? o->cmdline : "";
	uint32_t cmax = rd32(zp + BP_CMDLINE_SIZE), cptr = (uint32_t)BOOT_CMDLINE;
	if (strlen(cmd) > cmax || strlen(cmd) >= BOOT_CMDLINE_MAX) {
		snprintf(err, errlen, "command line of %zu bytes is longer than this kernel accepts (%u)", strlen(cmd), cmax);
		return -E2BIG;
	}
	vmm_mem_write(m, BOOT_CMDLINE, cmd, strlen(cmd) + 1);
	memcpy(zp + BP_CMD_LINE_PTR, &cptr, 4);
	if (o->initrd.len && (rc = place_initrd(m, o, zp, load + need, err, errlen)) < 0)
		return rc;
	write_e820(m, zp);
	build_page_tables(m);
	b->kind = VMM_BOOT_BZIMAGE;
	b->mode = VMM_MODE_LONG64;
	b->entry = load + 0x200;	/* startup_64 */
	b->rsi = BOOT_ZERO_PAGE;
	b->cr3 = BOOT_PML4;
	b->image_end = load + need;
	return 0;
}
