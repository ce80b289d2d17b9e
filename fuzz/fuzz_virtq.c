/* fuzz_virtq: libFuzzer harness for the virtqueue walker: the input is a guest's memory (its first
 * 64 KiB: descriptor table, rings, indirect tables, buffers) and queue settings; every chain is
 * popped, gathered, scattered into and pushed back until the queue is empty or broken. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz/fuzz_queue.h"
#include "vmm/virtq.h"

#define FUZZ_MEM (1ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmm_mem m;
	static struct virtq_chain c;
	static uint8_t scratch[4096];

	if (!m.host && vmm_mem_init(&m, FUZZ_MEM) < 0)
		abort();
	struct virtq q;
	if (fuzz_queue(&m, &q, data, size, 10, FUZZ_MEM) < 0)
		return 0;
	for (int n = 0; n < 4 * VIRTQ_MAX_SIZE;
	     n++) { /* bounded: a queue gives at most size chains per index lap */
		int rc = virtq_pop(&m, &q, &c);
		if (rc <= 0)
			break;
		size_t got = virtq_gather(&c, data[14], scratch, sizeof(scratch));
		if (got > c.out_len)
			__builtin_trap();
		virtq_scatter(&c, data[15], scratch, got);
		virtq_push(&m, &q, c.head, (uint32_t)(c.in_len < got ? c.in_len : got));
	}
	return 0;
}
