/* io: the little-endian bytes of a port or MMIO access, as every device reads and writes them. */
#ifndef NESTVISOR_VMM_HW_IO_H
#define NESTVISOR_VMM_HW_IO_H

#include <stdint.h>

static inline uint64_t io_get(const uint8_t *data, int size)
{
	uint64_t v = 0;

	for (int i = 0; i < size && i < 8; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

static inline void io_put(uint8_t *data, int size, uint64_t v)
{
	for (int i = 0; i < size && i < 8; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

#endif
