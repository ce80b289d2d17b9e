/* mem: guest RAM as one anonymous mapping, and the only way to touch it (every access
 * bounds-checked). */
#ifndef NESTVISOR_VMM_MEM_H
#define NESTVISOR_VMM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/layout.h"

struct vmm_mem {
	uint8_t *host;		/* one mapping: [0, low) then [4G, 4G + high) */
	uint64_t size;		/* total RAM */
	uint64_t low, high;
};

int vmm_mem_init(struct vmm_mem *m, uint64_t size);
/* Guest RAM as a private mapping of size bytes of file fd at off (a snapshot's memory): pages are
 * read when first touched, and what the guest writes stays in this process. 0 or -errno. */
int vmm_mem_map_file(struct vmm_mem *m, uint64_t size, int fd, uint64_t off);
void vmm_mem_free(struct vmm_mem *m);
/* Host pointer for [gpa, gpa+len) if all of it is RAM, else NULL. Guards against overflow. */
void *vmm_mem_ptr(const struct vmm_mem *m, uint64_t gpa, uint64_t len);
int vmm_mem_write(const struct vmm_mem *m, uint64_t gpa, const void *src, uint64_t len);
/* Bytes of guest RAM the host has actually touched (resident pages), for RSS accounting. */
uint64_t vmm_mem_resident(const struct vmm_mem *m);

#endif
