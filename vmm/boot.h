/* boot: kernel image loaders (recognised by content) and the CPU state each boot protocol starts
 * in. */
#ifndef NESTVISOR_VMM_BOOT_H
#define NESTVISOR_VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include "vmm/mem.h"

enum vmm_boot_kind {
	VMM_BOOT_NONE,
	VMM_BOOT_MULTIBOOT,
	VMM_BOOT_BZIMAGE,
	VMM_BOOT_PVH,
	VMM_BOOT_FLAT
};
enum vmm_cpu_mode { VMM_MODE_PROT32, VMM_MODE_LONG64 };

struct vmm_boot_image {
	const char *path;		/* for messages and the multiboot command line */
	const uint8_t *data;
	size_t len;
};

struct vmm_boot_opts {
	struct vmm_boot_image kernel;
	struct vmm_boot_image initrd;	/* len 0: none */
	const char *initrd_path;
	const char *cmdline;		/* may be NULL */
	uint64_t load_addr, entry;	/* flat binaries only */
	int flat;			/* --load-addr given */
	/* bzImage: unpack its kernel with this cache directory (NULL: never) */
	const char *unpack_cache;
	/* KASLR: the seed its two random choices come from (0: a fresh one from getrandom) */
	uint64_t kaslr_seed;
};

struct vmm_boot {
	enum vmm_boot_kind kind;
	enum vmm_cpu_mode mode;
	uint64_t entry;
	uint64_t rax, rbx, rsi;
	uint64_t cr3;			/* long mode only */
	uint64_t image_end;		/* highest guest byte the kernel occupies */
	int unpacked; /* enum vmm_unpack_from: a bzImage's kernel entered directly */
	uint64_t kaslr_seed; /* the placement's seed; 0: the kernel was not moved by us */
	char note[320];			/* a warning for the user, or "" */
};

const char *vmm_boot_kind_name(enum vmm_boot_kind k);
/* Recognises the image and loads it; on failure err names the file and the problem. */
int vmm_boot_load(struct vmm_mem *m, const struct vmm_boot_opts *o, struct vmm_boot *b, char *err,
		  size_t errlen);

/* One e820 map for every boot protocol: fills up to max entries, returns the count. */
struct vmm_e820 { uint64_t addr, size; uint32_t type; };
#define E820_RAM 1
#define E820_RESERVED 2
int vmm_boot_e820(const struct vmm_mem *m, struct vmm_e820 *e, int max);

/* Per-protocol loaders (boot-*.c). */
int vmm_boot_multiboot(struct vmm_mem *m, const struct vmm_boot_opts *o, size_t hdr_off,
		       struct vmm_boot *b, char *err, size_t errlen);
int vmm_boot_bzimage(struct vmm_mem *m, const struct vmm_boot_opts *o, struct vmm_boot *b,
		     char *err, size_t errlen);
int vmm_boot_pvh(struct vmm_mem *m, const struct vmm_boot_opts *o, uint32_t entry,
		 struct vmm_boot *b, char *err, size_t errlen);
/* ELF helpers shared by multiboot and PVH. */
int vmm_boot_elf_load(struct vmm_mem *m, const struct vmm_boot_image *img, uint64_t *start,
		      uint64_t *end, char *err, size_t errlen);
/* Where the boot information of an image loaded at [start, end) goes: BOOT_INFO, or the page after
 * the image when the image covers that area (a kernel linked below 1 MiB). */
uint64_t vmm_boot_info_area(uint64_t start, uint64_t end);
/* The first page-aligned address past both the image and its info area at base: where modules may
 * go. */
uint64_t vmm_boot_after(uint64_t end, uint64_t base);
int vmm_boot_elf_pvh_entry(const struct vmm_boot_image *img, uint32_t *entry);
/* Multiboot header offset in the first 8 KiB, or -1. */
long vmm_boot_find_multiboot(const uint8_t *data, size_t len);

#endif
