/* virtq: split virtqueues, device side, bounds-checked and loop-proof. */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "vmm/virtq.h"

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

static int broken(struct virtq *q, const char *fmt, ...)
{
	va_list ap;

	if (!q->broken) {
		va_start(ap, fmt);
		vsnprintf(q->why, sizeof(q->why), fmt, ap);
		va_end(ap);
	}
	q->broken = true;
	return -EINVAL;
}

int virtq_start(const struct vmm_mem *m, struct virtq *q)
{
	uint64_t n = q->size;

	q->broken = false;
	q->why[0] = '\0';
	q->last_avail = q->used_idx = 0;
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return broken(q, "queue size %u is not a power of two up to %u", q->size,
			      VIRTQ_MAX_SIZE);
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return broken(q, "a ring is misaligned (desc 0x%llx, avail 0x%llx, used 0x%llx)",
			      (unsigned long long)q->desc, (unsigned long long)q->avail,
			      (unsigned long long)q->used);
	if (!vmm_mem_ptr(m, q->desc, 16 * n) || !vmm_mem_ptr(m, q->avail, 6 + 2 * n) ||
	    !vmm_mem_ptr(m, q->used, 6 + 8 * n))
		return broken(q,
			      "a ring lies outside guest RAM (desc 0x%llx, avail 0x%llx, used "
			      "0x%llx)",
			      (unsigned long long)q->desc, (unsigned long long)q->avail,
			      (unsigned long long)q->used);
	q->ready = true;
	return 0;
}

static uint16_t load16(const void *p)
{
	uint16_t v;

	__atomic_load((const uint16_t *)p, &v, __ATOMIC_ACQUIRE);
	return v;
}

static void store16(void *p, uint16_t v)
{
	__atomic_store((uint16_t *)p, &v, __ATOMIC_RELEASE);
}

static void read_desc(const uint8_t *table, uint16_t i, struct desc *d)
{
	memcpy(d, table + 16 * (size_t)i, sizeof(*d));
}

/* One descriptor's buffer into the chain: readable ones must all come before writable ones
 * (2.7.4.2). */
static int add_buf(const struct vmm_mem *m, struct virtq *q, struct virtq_chain *c,
		   const struct desc *d)
{
	bool w = d->flags & VIRTQ_DESC_F_WRITE;
	uint8_t *host = d->len ? vmm_mem_ptr(m, d->addr, d->len) : NULL;

	if (d->len && !host)
		return broken(q, "a buffer at 0x%llx of %u bytes lies outside guest RAM",
			      (unsigned long long)d->addr, d->len);
	if (!w && c->nin)
		return broken(q, "a device-readable buffer after a device-writable one");
	if (c->nout + c->nin >= VIRTQ_MAX_SEGS)
		return broken(q, "a chain of more than %d buffers", VIRTQ_MAX_SEGS);
	if (w) {
		c->in[c->nin++] = (struct virtq_buf){ host, d->len };
		c->in_len += d->len;
	} else {
		c->out[c->nout++] = (struct virtq_buf){ host, d->len };
		c->out_len += d->len;
	}
	return 0;
}

/* An indirect table (2.7.5.3): in RAM, whole descriptors, no indirect inside it, its chain within
 * it. */
static int walk_indirect(const struct vmm_mem *m, struct virtq *q, struct virtq_chain *c,
			 const struct desc *d)
{
	uint32_t n = d->len / 16;
	const uint8_t *table = vmm_mem_ptr(m, d->addr, d->len);
	struct desc e;
	int rc;

	if (!q->indirect)
		return broken(q,
			      "an indirect descriptor, but VIRTIO_F_INDIRECT_DESC was not "
			      "negotiated");
	if (!d->len || d->len % 16 || n > VIRTQ_MAX_SEGS || !table)
		return broken(q,
			      "an indirect table of %u bytes at 0x%llx is not whole descriptors in "
			      "guest RAM",
			      d->len, (unsigned long long)d->addr);
	uint32_t i = 0;
	for (uint32_t steps = 0;; steps++) {
		if (steps >= n)
			return broken(q, "an indirect chain longer than its table (a loop)");
		read_desc(table, (uint16_t)i, &e);
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return broken(q, "an indirect table inside an indirect table");
		if ((rc = add_buf(m, q, c, &e)) < 0)
			return rc;
		if (!(e.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (e.next >= n)
			return broken(q,
				      "an indirect descriptor's next (%u) is past its table (%u)",
				      e.next, n);
		i = e.next;
	}
}

int virtq_pop(const struct vmm_mem *m, struct virtq *q, struct virtq_chain *c)
{
	if (q->broken || !q->ready)
		return q->broken ? -EINVAL : 0;
	const uint8_t *avail = vmm_mem_ptr(m, q->avail, 6 + 2 * (uint64_t)q->size);
	const uint8_t *table = vmm_mem_ptr(m, q->desc, 16 * (uint64_t)q->size);
	uint16_t idx = load16(avail + 2), pending = (uint16_t)(idx - q->last_avail);
	struct desc d;
	int rc;

	if (pending == 0)
		return 0;
	if (pending > q->size)
		return broken(q,
			      "the available index moved %u entries ahead, more than the queue's "
			      "%u",
			      pending, q->size);
	uint16_t head = load16(avail + 4 + 2 * (q->last_avail % q->size));
	if (head >= q->size)
		return broken(q, "an available head (%u) past the queue (%u)", head, q->size);
	memset(c, 0, offsetof(struct virtq_chain, out));
	c->head = head;
	uint16_t i = head;
	for (unsigned steps = 0;; steps++) {
		if (steps >= q->size)
			return broken(q, "a chain longer than the queue (a loop)");
		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return broken(q, "an indirect descriptor with NEXT set");
			if (c->nout + c->nin)
				return broken(q, "an indirect descriptor inside a chain");
			if ((rc = walk_indirect(m, q, c, &d)) < 0)
				return rc;
			break;
		}
		if ((rc = add_buf(m, q, c, &d)) < 0)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= q->size)
			return broken(q, "a descriptor's next (%u) past the queue (%u)", d.next,
				      q->size);
		i = d.next;
	}
	q->last_avail++;
	/* avail_event: notify us for the entry after the one we will look at next */
	if (q->event_idx)
		store16(vmm_mem_ptr(m, q->used, 6 + 8 * (uint64_t)q->size) + 4 +
				8 * (size_t)q->size,
			q->last_avail);
	return 1;
}

int virtq_avail_idx(const struct vmm_mem *m, const struct virtq *q)
{
	const uint8_t *avail = q->ready ? vmm_mem_ptr(m, q->avail, 6 + 2 * (uint64_t)q->size) : NULL;

	return avail ? load16(avail + 2) : -1;
}

bool virtq_push(const struct vmm_mem *m, struct virtq *q, uint16_t head, uint32_t written)
{
	uint8_t *used = vmm_mem_ptr(m, q->used, 6 + 8 * (uint64_t)q->size);
	const uint8_t *avail = vmm_mem_ptr(m, q->avail, 6 + 2 * (uint64_t)q->size);
	uint32_t elem[2] = { head, written };
	uint16_t old = q->used_idx;

	if (q->broken || !used || !avail)
		return false;
	memcpy(used + 4 + 8 * (size_t)(q->used_idx % q->size), elem, sizeof(elem));
	store16(used + 2, ++q->used_idx); /* release: the element is visible before the index */
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* then read what the driver wants (2.7.10) */
	if (q->event_idx) {
		uint16_t event = load16(avail + 4 + 2 * (size_t)q->size);
		return (uint16_t)(q->used_idx - event - 1) < (uint16_t)(q->used_idx - old);
	}
	return !(load16(avail) & 1);	/* VIRTQ_AVAIL_F_NO_INTERRUPT */
}

static size_t copy(const struct virtq_buf *b, int n, size_t off, uint8_t *p, size_t len,
		   bool to_guest)
{
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		if (off >= b[i].len) {
			off -= b[i].len;
			continue;
		}
		size_t k = b[i].len - off < len - done ? b[i].len - off : len - done;
		if (to_guest)
			memcpy(b[i].host + off, p + done, k);
		else
			memcpy(p + done, b[i].host + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t virtq_gather(const struct virtq_chain *c, size_t off, void *dst, size_t len)
{
	return copy(c->out, c->nout, off, dst, len, false);
}

size_t virtq_scatter(const struct virtq_chain *c, size_t off, const void *src, size_t len)
{
	return copy(c->in, c->nin, off, (uint8_t *)src, len, true);
}
