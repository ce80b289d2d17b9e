/* virtio-stubs: the transport as a virtio device's I/O thread sees it (virtio_pop, push, flush),
 * over one queue on a test's own guest memory, and nothing else of a VM: for test_blk and
 * fuzz/fuzz_blk, which compile a device's .c file with it. Include it after that file. */
#ifndef NESTVISOR_TESTS_VIRTIO_STUBS_H
#define NESTVISOR_TESTS_VIRTIO_STUBS_H

static struct vmm_mem m;
static struct virtq q;

int virtio_pop(struct virtio_dev *v, int qi, struct virtq_chain *c)
{
	(void)v;
	(void)qi;
	return virtq_pop(&m, &q, c) == 1 ? 1 : 0;
}

void virtio_push_later(struct virtio_dev *v, int qi, uint16_t head, uint32_t written)
{
	(void)v;
	(void)qi;
	virtq_push(&m, &q, head, written);
}

void virtio_flush(struct virtio_dev *v, int qi)
{
	(void)v;
	(void)qi;
}

int virtio_pci_create(struct vmm *vm, const struct virtio_ops *ops, void *priv,
		      struct virtio_dev **out, char *err, size_t errlen)
{
	(void)vm, (void)ops, (void)priv, (void)out, (void)err, (void)errlen;
	return -ENOSYS;
}

struct virtio_dev *virtio_pci_find(struct vmm *vm, uint16_t device_id, int nth)
{
	(void)vm, (void)device_id, (void)nth;
	return NULL;
}

void vmm_warn(struct vmm *vm, const char *fmt, ...)
{
	(void)vm;
	(void)fmt;
}

#endif
