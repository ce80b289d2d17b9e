/* virtq: the device side of a split virtqueue (virtio 1.2, 2.7). Everything the guest wrote (ring
 * indices, descriptors, indirect tables, addresses, lengths) is checked against guest RAM before it
 * is used; a queue that breaks a rule is marked broken with the reason and is never walked again,
 * so a hostile driver can neither crash nor hang the VMM. */
#ifndef NESTVISOR_VMM_VIRTQ_H
#define NESTVISOR_VMM_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vmm/mem.h"

#define VIRTQ_MAX_SIZE 1024		/* queue sizes we offer; a power of two */
#define VIRTQ_MAX_SEGS 1024		/* buffers in one chain, indirect tables included */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4

struct virtq {
	uint16_t size;			/* 0: not set up */
	uint64_t desc, avail, used;	/* guest-physical addresses of the three parts */
	bool ready, indirect,
		event_idx; /* enabled; VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX negotiated */
	uint16_t last_avail, used_idx;
	bool broken;
	char why[160];
};

struct virtq_buf { uint8_t *host; uint32_t len; };

struct virtq_chain {
	uint16_t head;
	int nout, nin; /* device-readable buffers first, then device-writable ones */
	uint64_t out_len, in_len;	/* their total bytes */
	struct virtq_buf out[VIRTQ_MAX_SEGS], in[VIRTQ_MAX_SEGS];
};

/* When the driver enables the queue: its size and the three parts must be in RAM and aligned. 0 or
 * -EINVAL. */
int virtq_start(const struct vmm_mem *m, struct virtq *q);
/* The next available chain: 1, 0 when there is none, -EINVAL when the queue is (now) broken. */
int virtq_pop(const struct vmm_mem *m, struct virtq *q, struct virtq_chain *c);
/* Returns chain head to the driver with `written` bytes in its writable buffers. Whether the driver
 * wants an interrupt for it (EVENT_IDX or the NO_INTERRUPT flag) is the return value. */
bool virtq_push(const struct vmm_mem *m, struct virtq *q, uint16_t head, uint32_t written);
/* The driver's available index as guest memory holds it now (what it has offered, kicked or not);
 * -1 when the queue is not running. */
int virtq_avail_idx(const struct vmm_mem *m, const struct virtq *q);
/* Copies up to len bytes gathered from (or scattered into) a chain's buffers, from offset off.
 * Returns bytes. */
size_t virtq_gather(const struct virtq_chain *c, size_t off, void *dst, size_t len);
size_t virtq_scatter(const struct virtq_chain *c, size_t off, const void *src, size_t len);

#endif
