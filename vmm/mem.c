/* mem: guest RAM as one anonymous mapping, and the only way to touch it (every access
 * bounds-checked). */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vmm/mem.h"

int vmm_mem_init(struct vmm_mem *m, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	if (size < (1u << 20) || size > (1ull << 40) || (size & 0xfff))
		return -EINVAL;
	/* MAP_NORESERVE: untouched guest RAM costs nothing */
	m->host = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->host == MAP_FAILED) {
		m->host = NULL;
		return -errno;
	}
	madvise(m->host, size, MADV_MERGEABLE);
	m->size = size;
	m->low = size < VMM_MMIO_HOLE_START ? size : VMM_MMIO_HOLE_START;
	m->high = size - m->low;
	return 0;
}

int vmm_mem_map_file(struct vmm_mem *m, uint64_t size, int fd, uint64_t off)
{
	memset(m, 0, sizeof(*m));
	if (size < (1u << 20) || size > (1ull << 40) || (size & 0xfff) || (off & 0xfff))
		return -EINVAL;
	m->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd,
		       (off_t)off);
	if (m->host == MAP_FAILED) {
		m->host = NULL;
		return -errno;
	}
	m->size = size;
	m->low = size < VMM_MMIO_HOLE_START ? size : VMM_MMIO_HOLE_START;
	m->high = size - m->low;
	return 0;
}

void vmm_mem_free(struct vmm_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	m->host = NULL;
}

void *vmm_mem_ptr(const struct vmm_mem *m, uint64_t gpa, uint64_t len)
{
	if (!m->host || len > m->size)
		return NULL;
	if (gpa < m->low)
		return gpa + len <= m->low ? m->host + gpa : NULL;
	if (gpa >= VMM_4G && gpa - VMM_4G < m->high)
		return gpa - VMM_4G + len <= m->high ? m->host + m->low + (gpa - VMM_4G) : NULL;
	return NULL;
}

int vmm_mem_write(const struct vmm_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = vmm_mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t vmm_mem_resident(const struct vmm_mem *m)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = m->size / (size_t)page;
	unsigned char *vec = malloc(pages);
	uint64_t n = 0;

	if (!vec)
		return 0;
	if (mincore(m->host, m->size, vec) == 0)
		for (size_t i = 0; i < pages; i++)
			n += vec[i] & 1;
	free(vec);
	return n * (uint64_t)page;
}
