/* boot-elf: loads ELF32/ELF64 PT_LOAD segments into guest memory and finds the PVH entry note. */
#include "config.h"
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "vmm/boot.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define ELF_MAX_PHDRS 128

/* Both classes, flattened: the fields the loaders use. */
struct phdr { uint32_t type; uint64_t offset, paddr, filesz, memsz; };

static int elf_class(const struct vmm_boot_image *img)
{
	const uint8_t *d = img->data;

	if (img->len < EI_NIDENT || memcmp(d, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (d[EI_CLASS] == ELFCLASS32 && img->len >= sizeof(Elf32_Ehdr))
		return 32;
	if (d[EI_CLASS] == ELFCLASS64 && img->len >= sizeof(Elf64_Ehdr))
		return 64;
	return -ENOEXEC;
}

/* Reads program header i; -ENOEXEC when the table lies outside the file. */
static int get_phdr(const struct vmm_boot_image *img, int cls, unsigned i, struct phdr *p,
		    unsigned *count)
{
	uint64_t phoff, entsize, num;

	if (cls == 32) {
		Elf32_Ehdr eh;
		memcpy(&eh, img->data, sizeof(eh));
		phoff = eh.e_phoff;
		entsize = eh.e_phentsize;
		num = eh.e_phnum;
	} else {
		Elf64_Ehdr eh;
		memcpy(&eh, img->data, sizeof(eh));
		phoff = eh.e_phoff;
		entsize = eh.e_phentsize;
		num = eh.e_phnum;
	}
	*count = (unsigned)num;
	if (num > ELF_MAX_PHDRS ||
	    entsize != (cls == 32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr)) || phoff > img->len ||
	    num * entsize > img->len - phoff)
		return -ENOEXEC;
	if (i >= num)
		return 0;
	if (cls == 32) {
		Elf32_Phdr ph;
		memcpy(&ph, img->data + phoff + i * entsize, sizeof(ph));
		*p = (struct phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
	} else {
		Elf64_Phdr ph;
		memcpy(&ph, img->data + phoff + i * entsize, sizeof(ph));
		*p = (struct phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
	}
	return 0;
}

int vmm_boot_elf_load(struct vmm_mem *m, const struct vmm_boot_image *img, uint64_t *start,
		      uint64_t *end, char *err, size_t errlen)
{
	int cls = elf_class(img);
	unsigned count = 0, loaded = 0;
	struct phdr p;

	*start = UINT64_MAX;
	*end = 0;
	if (cls < 0 || get_phdr(img, cls, 0, &p, &count) < 0) {
		snprintf(err, errlen, "%s: truncated or corrupt ELF header or program headers",
			 img->path);
		return -ENOEXEC;
	}
	for (unsigned i = 0; i < count; i++) {
		get_phdr(img, cls, i, &p, &count);
		if (p.type != PT_LOAD)
			continue;
		if (p.filesz > p.memsz || p.offset > img->len || p.filesz > img->len - p.offset) {
			snprintf(err, errlen, "%s: segment %u lies outside the file (truncated?)",
				 img->path, i);
			return -ENOEXEC;
		}
		uint8_t *dst = vmm_mem_ptr(m, p.paddr, p.memsz);
		if (!dst) {
			snprintf(err, errlen,
				 "%s: segment %u (0x%llx-0x%llx) is outside guest memory (give the "
				 "guest more memory?)",
				 img->path, i, (unsigned long long)p.paddr,
				 (unsigned long long)(p.paddr + p.memsz));
			return -EFAULT;
		}
		memcpy(dst, img->data + p.offset, p.filesz);
		memset(dst + p.filesz, 0, p.memsz - p.filesz);
		if (p.paddr + p.memsz > *end)
			*end = p.paddr + p.memsz;
		if (p.paddr < *start)
			*start = p.paddr;
		loaded++;
	}
	if (!loaded) {
		snprintf(err, errlen, "%s: no loadable segment", img->path);
		return -ENOEXEC;
	}
	return 0;
}

/* Walks PT_NOTE segments for Xen's PHYS32_ENTRY note (the PVH boot ABI). */
int vmm_boot_elf_pvh_entry(const struct vmm_boot_image *img, uint32_t *entry)
{
	int cls = elf_class(img);
	unsigned count = 0;
	struct phdr p;

	if (cls < 0 || get_phdr(img, cls, 0, &p, &count) < 0)
		return -ENOEXEC;
	for (unsigned i = 0; i < count; i++) {
		get_phdr(img, cls, i, &p, &count);
		if (p.type != PT_NOTE || p.offset > img->len || p.filesz > img->len - p.offset)
			continue;
		for (uint64_t off = 0; off + 12 <= p.filesz;) {
			uint32_t nsz, dsz, type;
			const uint8_t *n = img->data + p.offset + off;
			memcpy(&nsz, n, 4);
			memcpy(&dsz, n + 4, 4);
			memcpy(&type, n + 8, 4);
			uint64_t name_end = 12 + (((uint64_t)nsz + 3) & ~3ull);
			uint64_t next = name_end + (((uint64_t)dsz + 3) & ~3ull);
			if (next > p.filesz - off)
				break;
			if (type == XEN_ELFNOTE_PHYS32_ENTRY && nsz == 4 &&
			    !memcmp(n + 12, "Xen", 4) && dsz >= 4) {
				memcpy(entry, n + name_end, 4);
				return 0;
			}
			off += next;
		}
	}
	return -ENOENT;
}
