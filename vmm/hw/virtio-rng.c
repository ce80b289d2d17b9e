/* virtio-rng: entropy for the guest (virtio 1.2, 5.4): every writable buffer it offers is filled
 * from getrandom. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include "vmm/hw/virtio-pci.h"
#include "vmm/vm.h"

#define RNG_CHUNK 4096

static void rng_notify(struct virtio_dev *v, int q)
{
	static __thread struct virtq_chain c;
	uint8_t buf[RNG_CHUNK];

	while (virtio_pop(v, q, &c) == 1) {
		size_t want = c.in_len < sizeof(buf) ? (size_t)c.in_len :
						       sizeof(buf); /* a short fill is allowed */
		ssize_t got = want ? getrandom(buf, want, 0) : 0;
		size_t n = got > 0 ? virtq_scatter(&c, 0, buf, (size_t)got) : 0;
		__atomic_add_fetch(&v->bytes, n, __ATOMIC_RELAXED);
		virtio_push(v, q, c.head, (uint32_t)n);
	}
}

static const struct virtio_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.class_code = 0xff0000,
	.nqueues = 1,
	.queue_size = 256,
	.queue_notify = rng_notify,
};

int vmm_virtio_rng_init(struct vmm *vm, char *err, size_t errlen)
{
	return vm->cfg.rng ? virtio_pci_create(vm, &rng_ops, NULL, NULL, err, errlen) : 0;
}
