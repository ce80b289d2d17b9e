/* fuzz_blk: libFuzzer harness for virtio-blk's request path against a real image file: the input is
 * a guest's memory (descriptor table, rings, headers, buffers) and the disk's settings (read-only,
 * cache=none, io_uring); every request the queue holds is served as the device's I/O thread would
 * serve it (virtio-blk.c itself, included here, with the transport's queue calls on the fuzzed
 * memory). Nothing may read or write outside guest memory or the image, and no request may make the
 * device allocate by its size. The transport's calls are tests/virtio-stubs.h's. */
#include "config.h"
#include <stdio.h>
#include "vmm/hw/virtio-blk.c"
#include "fuzz/fuzz_queue.h"
#include "tests/virtio-stubs.h"

#define FUZZ_MEM (1ull << 20)
#define IMAGE_SECTORS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One disk per setting (read-only or not, cache=none or not, io_uring or not), made once. */
static struct blk *disk(unsigned how)
{
	static struct blk *d[8];
	char path[64];

	how &= 7;
	if (d[how])
		return d[how];
	struct blk *b = calloc(1, sizeof(*b));
	snprintf(path, sizeof(path), "/tmp/fuzz_blk.%d.%u.img", (int)getpid(), how);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!b || fd < 0 || ftruncate(fd, IMAGE_SECTORS * SECTOR) < 0)
		abort();
	unlink(path);
	b->ro = how & 1;
	b->direct = how & 2;	/* the bounce path: buffers are rarely aligned here */
	b->fd = fd;
	b->sectors = IMAGE_SECTORS;
	snprintf(b->path, sizeof(b->path), "fuzz");
	if (posix_memalign((void **)&b->bounce, 4096, BOUNCE))
		abort();
	if ((how & 4) && (b->slots = calloc(BATCH, sizeof(*b->slots))) && ring_init(b) == 0) {
		b->ring_up = true;
		b->uring = true;
	}
	return d[how] = b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_dev v;

	if (!m.host && vmm_mem_init(&m, FUZZ_MEM) < 0)
		abort();
	if (fuzz_queue(&m, &q, data, size, 8, FUZZ_MEM) < 0)
		return 0;
	struct blk *b = disk(data[14]);
	v.priv = b;
	v.s.driver_features = data[15] & 1 ? BLK_F_FLUSH : 0;
	blk_notify(&v, 0);
	return 0;
}
