/* boot-bzimage: Linux bzImage through the 64-bit boot protocol (Documentation/x86/boot.rst), as
 * Firecracker: no BIOS, no real mode; a zero page, an e820 map, identity page tables, entry in long
 * mode. With an unpack cache, the kernel inside is unpacked on the host and entered directly, after
 * what the bzImage's own decompressor would have done (arch/x86/boot/compressed/misc.c): its ELF
 * segments placed, a KASLR choice of physical and virtual address, its relocations applied. */
#include "config.h"
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "vmm/boot.h"
#include "vmm/unpack.h"

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
#define BP_KERNEL_ALIGN   0x230
#define BP_RELOCATABLE    0x234
#define BP_XLOADFLAGS     0x236
#define BP_CMDLINE_SIZE   0x238
#define BP_PAYLOAD_OFFSET 0x248
#define BP_PAYLOAD_LENGTH 0x24c
#define BP_PREF_ADDRESS   0x258
#define BP_INIT_SIZE      0x260
#define BP_E820_TABLE     0x2d0
#define BP_E820_MAX       128
#define XLF_KERNEL_64     0x1
#define LOADED_HIGH       0x1
#define KASLR_FLAG        0x2
#define CAN_USE_HEAP      0x80

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Identity-maps the first 4 GiB with 2 MiB pages: PML4, one PDPT, four page directories. */
static void build_page_tables(struct vmm_mem *m)
{
	uint64_t *pml4 = vmm_mem_ptr(m, BOOT_PML4, 0x6000);

	memset(pml4, 0, 0x6000);
	pml4[0] = (BOOT_PML4 + 0x1000) | 3;
	for (int i = 0; i < 4; i++) {
		pml4[512 + i] = (BOOT_PML4 + 0x2000 + 0x1000 * (uint64_t)i) | 3;
		for (int j = 0; j < 512; j++)
			pml4[1024 + 512 * i + j] =
				(((uint64_t)i << 30) | ((uint64_t)j << 21)) | 0x83;
	}
}

static int check_header(const struct vmm_boot_opts *o, char *err, size_t errlen)
{
	const uint8_t *d = o->kernel.data;
	size_t setup = ((d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4) + 1) * 512ul;

	if (rd16(d + BP_VERSION) < 0x020c || !(rd16(d + BP_XLOADFLAGS) & XLF_KERNEL_64)) {
		snprintf(err, errlen,
			 "%s: this bzImage (boot protocol %x.%02x) has no 64-bit entry point; "
			 "nestvisor needs boot protocol 2.12+ (Linux 3.8+) built for x86-64",
			 o->kernel.path, d[BP_VERSION + 1], d[BP_VERSION]);
		return -ENOEXEC;
	}
	if (setup >= o->kernel.len || 0x202 + (size_t)d[0x201] > 0x1000 ||
	    0x202 + (size_t)d[0x201] > o->kernel.len) {
		snprintf(err, errlen, "%s: truncated bzImage (setup of %zu bytes, file of %zu)",
			 o->kernel.path, setup, o->kernel.len);
		return -ENOEXEC;
	}
	return 0;
}

/* The initrd goes as high as the kernel allows (as QEMU puts it); 0 when it cannot fit at all. */
static uint64_t initrd_addr(const struct vmm_mem *m, const struct vmm_boot_opts *o,
			    const uint8_t *zp)
{
	uint64_t max = rd32(zp + BP_INITRD_MAX), top = m->low < max + 1 ? m->low : max + 1;

	return o->initrd.len < top ? (top - o->initrd.len) & ~0xfffull : 0;
}

static int place_initrd(struct vmm_mem *m, const struct vmm_boot_opts *o, uint8_t *zp,
			uint64_t kernel_end, char *err, size_t errlen)
{
	uint64_t max = rd32(zp + BP_INITRD_MAX), top = m->low < max + 1 ? m->low : max + 1;
	uint64_t addr = initrd_addr(m, o, zp);

	if (!addr || addr < kernel_end ||
	    vmm_mem_write(m, addr, o->initrd.data, o->initrd.len) < 0) {
		snprintf(err, errlen,
			 "%s: %zu bytes do not fit between the kernel and 0x%llx (give the guest "
			 "more memory)",
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

/* ---- the decompressor's work, done on the host (arch/x86/boot/compressed/{misc,kaslr}.c) ---- */
#define START_KERNEL_MAP  0xffffffff80000000ull	/* x86-64's __START_KERNEL_map */
#define KERNEL_IMAGE_SIZE (1ull << 30)		/* with CONFIG_RANDOMIZE_BASE */
#define VMLINUX_MAX_PHDRS 16
#define RELOCS_MAX        (64u << 20)

struct vmlinux {
	struct vmm_unpacked u;
	Elf64_Phdr ph[VMLINUX_MAX_PHDRS];
	int nph;
	uint64_t link;			/* LOAD_PHYSICAL_ADDR: where it is linked to run */
	uint64_t entry;			/* e_entry: startup_64, physical */
	uint64_t copied;		/* bytes past link that come from the file */
	uint32_t *relocs; /* the table the build appended (NULL: none, the kernel cannot move) */
	size_t nrelocs,
		sect[3]; /* sect: the index of each list's terminator (32-bit, inverse, 64-bit) */
};

/* Checks vmlinux.bin's ELF header and segments against the bzImage's own header: every segment
 * inside [link, link + init_size), every byte inside the unpacked data. */
static int vmlinux_parse(struct vmlinux *v, uint64_t link, uint64_t init_size, uint64_t *elf_end)
{
	Elf64_Ehdr eh;

	if (vmm_unpack_read(&v->u, &eh, sizeof(eh), 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > VMLINUX_MAX_PHDRS ||
	    vmm_unpack_read(&v->u, v->ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff) < 0)
		return -ENOEXEC;
	v->nph = eh.e_phnum;
	v->link = link;
	v->entry = eh.e_entry;
	*elf_end = eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize;
	if (eh.e_shoff > v->u.len || *elf_end > v->u.len)
		return -ENOEXEC;
	for (int i = 0; i < v->nph; i++) {
		const Elf64_Phdr *p = &v->ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		if (p->p_paddr < link || p->p_memsz > init_size ||
		    p->p_paddr - link > init_size - p->p_memsz || p->p_filesz > p->p_memsz ||
		    p->p_offset > v->u.len || p->p_filesz > v->u.len - p->p_offset)
			return -ENOEXEC;
		if (p->p_offset + p->p_filesz > *elf_end)
			*elf_end = p->p_offset + p->p_filesz;
		if (p->p_paddr - link + p->p_filesz > v->copied)
			v->copied = p->p_paddr - link + p->p_filesz;
	}
	return v->entry >= link && v->entry - link < v->copied ? 0 : -ENOEXEC;
}

/* Where relocation r points, as an offset from the image's start, or UINT64_MAX when outside what
 * the file filled (the decompressor calls that an error too). */
static uint64_t reloc_offset(const struct vmlinux *v, uint32_t r, unsigned size)
{
	uint64_t off = (uint64_t)(int64_t)(int32_t)r - START_KERNEL_MAP - v->link;

	return v->copied >= size && off <= v->copied - size ? off : UINT64_MAX;
}

static unsigned reloc_size(const struct vmlinux *v, size_t i)
{
	return i > v->sect[2] && i < v->sect[1] ? 8 : 4;
}

/* The table after vmlinux.bin (arch/x86/tools/relocs.c), read from its end: 32-bit relocations, 0,
 * inverse 32-bit ones, 0, 64-bit ones, 0. Every entry is checked before any is applied. */
static int vmlinux_relocs(struct vmlinux *v, uint64_t elf_end)
{
	uint64_t bytes = v->u.len - elf_end;

	if (bytes == 0)
		return 0;	/* built without CONFIG_RANDOMIZE_BASE: no table, no KASLR */
	if (bytes % 4 || bytes > RELOCS_MAX || !(v->relocs = malloc(bytes)) ||
	    vmm_unpack_read(&v->u, v->relocs, bytes, elf_end) < 0)
		return -ENOEXEC;
	v->nrelocs = bytes / 4;
	size_t i = v->nrelocs;
	for (int s = 0; s < 3; s++) {
		while (i > 0 && v->relocs[i - 1])
			i--;
		if (i == 0)
			return -ENOEXEC;
		v->sect[s] = --i;
	}
	for (size_t j = v->sect[2] + 1; j < v->nrelocs; j++)
		if (j != v->sect[1] && j != v->sect[0] &&
		    reloc_offset(v, v->relocs[j], reloc_size(v, j)) == UINT64_MAX)
			return -ENOEXEC;
	return 0;
}

static void vmlinux_relocate(const struct vmlinux *v, struct vmm_mem *m, uint64_t phys,
			     uint64_t delta)
{
	for (size_t j = v->sect[2] + 1; v->relocs && delta && j < v->nrelocs; j++) {
		if (j == v->sect[1] || j == v->sect[0])
			continue;
		unsigned size = reloc_size(v, j);
		uint8_t *p = vmm_mem_ptr(m, phys + reloc_offset(v, v->relocs[j], size), size);
		if (size == 8) {
			uint64_t x = rd64(p) + delta;
			memcpy(p, &x, 8);
		} else {
			uint32_t x = rd32(p);
			x = j > v->sect[1] && j < v->sect[0] ?
				x - (uint32_t)delta :
				x + (uint32_t)delta; /* inverse: minus */
			memcpy(p, &x, 4);
		}
	}
}

static bool has_word(const char *cmdline, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = cmdline; p && (p = strstr(p, word)); p += n)
		if ((p == cmdline || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

/* splitmix64: both choices from one 64-bit seed, so a placement is named by a number */
static uint64_t seed_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* KASLR as the decompressor chooses it: a virtual offset within KERNEL_IMAGE_SIZE and a physical
 * address in RAM below the initrd, both aligned to the kernel's alignment. Neither is printed while
 * the guest runs: they are its secret. Both come from *seed (o->kaslr_seed, or a fresh random one),
 * which a crash report gives so the same placement can be booted again. */
static int vmlinux_place(const struct vmlinux *v, const struct vmm_boot_opts *o, uint64_t top,
			 uint64_t align, uint64_t init_size, uint64_t *phys, uint64_t *delta,
			 uint64_t *seed)
{
	uint64_t s = o->kaslr_seed, r0, r1;

	*phys = v->link;
	*delta = 0;
	*seed = 0;
	if (!v->relocs || has_word(o->cmdline, "nokaslr"))
		return 0;
	while (s == 0)
		if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
			return -EAGAIN;
	*seed = s;
	r0 = seed_next(&s);
	r1 = seed_next(&s);
	if (KERNEL_IMAGE_SIZE > v->link + init_size)
		*delta = r0 % ((KERNEL_IMAGE_SIZE - v->link - init_size) / align + 1) * align;
	if (top > v->link + init_size)
		*phys = v->link + r1 % ((top - v->link - init_size) / align + 1) * align;
	return 1;
}

/* 0 with b's entry and image set, or -ENOTSUP: boot the bzImage as it is (b->note may say why). */
static int boot_unpacked(struct vmm_mem *m, const struct vmm_boot_opts *o, uint8_t *zp,
			 size_t setup, struct vmm_boot *b)
{
	const uint8_t *d = o->kernel.data;
	uint64_t off = setup + (uint64_t)rd32(d + BP_PAYLOAD_OFFSET),
		 plen = rd32(d + BP_PAYLOAD_LENGTH);
	uint64_t link = rd64(d + BP_PREF_ADDRESS), init_size = rd32(d + BP_INIT_SIZE),
		 align = rd32(d + BP_KERNEL_ALIGN);
	uint64_t top = o->initrd.len ? initrd_addr(m, o, zp) : m->low, elf_end = 0, phys, delta;
	struct vmlinux v = { 0 };
	int rc = -ENOTSUP, kaslr;

	if (!o->unpack_cache || off > o->kernel.len || plen > o->kernel.len - off ||
	    (link & 0xfffff) || !d[BP_RELOCATABLE] || align < (2u << 20) || (align & (align - 1)))
		return -ENOTSUP;
	if (vmm_unpack(o->unpack_cache, d + off, plen, m->low, &v.u, b->note, sizeof(b->note)) < 0)
		return -ENOTSUP;
	if (vmlinux_parse(&v, link, init_size, &elf_end) < 0 || vmlinux_relocs(&v, elf_end) < 0) {
		snprintf(b->note, sizeof(b->note),
			 "the kernel inside %s is not the vmlinux.bin a bzImage packs; its own "
			 "decompressor runs instead",
			 o->kernel.path);
		goto out;
	}
	if ((kaslr = vmlinux_place(&v, o, top, align, init_size, &phys, &delta,
				    &b->kaslr_seed)) < 0 ||
	    !vmm_mem_ptr(m, phys, init_size))
		goto out; /* no room above the link address: the decompressor knows other places */
	for (int i = 0; i < v.nph; i++) {
		const Elf64_Phdr *p = &v.ph[i];
		if (p->p_type == PT_LOAD && p->p_filesz &&
		    vmm_unpack_read(&v.u, vmm_mem_ptr(m, phys + p->p_paddr - link, p->p_filesz),
				    p->p_filesz, p->p_offset) < 0)
			goto out;
	}
	vmlinux_relocate(&v, m, phys, delta);
	if (kaslr)
		zp[BP_LOADFLAGS] |= KASLR_FLAG;
	b->entry = phys + v.entry - link;
	b->image_end = phys + init_size;
	b->unpacked = v.u.from;
	rc = 0;
out:
	if (rc)
		b->kaslr_seed = 0; /* the decompressor places it */
	free(v.relocs);
	vmm_unpack_release(&v.u);
	return rc;
}

int vmm_boot_bzimage(struct vmm_mem *m, const struct vmm_boot_opts *o, struct vmm_boot *b,
		     char *err, size_t errlen)
{
	const uint8_t *d = o->kernel.data;
	uint8_t *zp = vmm_mem_ptr(m, BOOT_ZERO_PAGE, 0x1000);
	int rc;

	if ((rc = check_header(o, err, errlen)) < 0)
		return rc;
	size_t setup = ((d[BP_SETUP_SECTS] ? d[BP_SETUP_SECTS] : 4) + 1) * 512ul,
	       kernel = o->kernel.len - setup;
	uint64_t load = d[BP_RELOCATABLE] ? BOOT_HIMEM : rd32(d + BP_PREF_ADDRESS);
	uint64_t need = kernel > rd32(d + BP_INIT_SIZE) ? kernel : rd32(d + BP_INIT_SIZE);
	memset(zp, 0, 0x1000);
	memcpy(zp + BP_HDR, d + BP_HDR, 0x202 + (size_t)d[0x201] - BP_HDR);
	zp[BP_TYPE_OF_LOADER] = 0xff;
	zp[BP_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	uint16_t heap = 0xfe00;
	memcpy(zp + BP_HEAP_END_PTR, &heap, 2);
	const char *cmd = o->cmdline ? o->cmdline : "";
	uint32_t cmax = rd32(zp + BP_CMDLINE_SIZE), cptr = (uint32_t)BOOT_CMDLINE;
	if (strlen(cmd) > cmax || strlen(cmd) >= BOOT_CMDLINE_MAX) {
		snprintf(err, errlen,
			 "command line of %zu bytes is longer than this kernel accepts (%u)",
			 strlen(cmd), cmax);
		return -E2BIG;
	}
	vmm_mem_write(m, BOOT_CMDLINE, cmd, strlen(cmd) + 1);
	memcpy(zp + BP_CMD_LINE_PTR, &cptr, 4);
	b->kind = VMM_BOOT_BZIMAGE;
	if (boot_unpacked(m, o, zp, setup, b) < 0) {
		if (!vmm_mem_ptr(m, load, need)) {
			snprintf(err, errlen,
				 "%s: the kernel needs 0x%llx-0x%llx, outside guest memory (give "
				 "the guest more memory)",
				 o->kernel.path, (unsigned long long)load,
				 (unsigned long long)(load + need));
			return -EFAULT;
		}
		vmm_mem_write(m, load, d + setup, kernel);
		b->entry = load + 0x200;	/* the bzImage's startup_64, which decompresses */
		b->image_end = load + need;
	}
	if (o->initrd.len && (rc = place_initrd(m, o, zp, b->image_end, err, errlen)) < 0)
		return rc;
	write_e820(m, zp);
	build_page_tables(m);
	b->mode = VMM_MODE_LONG64;
	b->rsi = BOOT_ZERO_PAGE;
	b->cr3 = BOOT_PML4;
	return 0;
}
