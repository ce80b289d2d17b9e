/* fuzz_queue: a virtqueue laid over the fuzzed guest memory from an input's first 14 bytes (size,
 * features, the three parts' addresses, mostly in RAM and some past it), for the harnesses that walk
 * queues. 0 when the queue starts, else the input is not a queue. */
#ifndef NESTVISOR_FUZZ_QUEUE_H
#define NESTVISOR_FUZZ_QUEUE_H

#include <stdint.h>
#include <string.h>
#include "vmm/virtq.h"

static inline int fuzz_queue(struct vmm_mem *m, struct virtq *q, const uint8_t *data, size_t size,
			     unsigned max_log2, uint64_t memsize)
{
	if (size < 16)
		return -1;
	memset(m->host, 0, 0x10000);
	memcpy(m->host, data + 16, size - 16 < 0x10000 ? size - 16 : 0x10000);
	*q = (struct virtq){ .size = (uint16_t)(1u << (data[0] % (max_log2 + 1))),
			     .indirect = data[1] & 1,
			     .event_idx = data[1] & 2 };
	memcpy(&q->desc, data + 2, 4);
	memcpy(&q->avail, data + 6, 4);
	memcpy(&q->used, data + 10, 4);
	q->desc %= memsize;
	q->avail %= memsize;
	q->used %= memsize;
	return virtq_start(m, q);
}

#endif
