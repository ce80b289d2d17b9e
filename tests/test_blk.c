/* test_blk: virtio-blk's request path against a real image with cache=none (O_DIRECT), driven as a
 * hostile driver would drive it: a request over the limits the device offers (seg_max, size_max:
 * 32 buffers of 64 MiB at a misaligned address made the VMM touch 2 GiB before) gets an I/O error
 * and costs no memory by its size; a misaligned request within them goes through the fixed bounce
 * buffer, in chunks, and what was written reads back. virtio-blk.c itself is compiled here, with the
 * transport's queue calls on a test queue (as fuzz/fuzz_blk.c does). */
#include "config.h"
#include "tests/testutil.h"
#include <sys/resource.h>
#include "vmm/hw/virtio-blk.c"
#include "tests/virtio-stubs.h"

#define MEM (256ull << 20)
#define DESC 0x1000u
#define AVAIL 0x3000u
#define USED 0x4000u
#define QSIZE 64


static void desc(int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = vmm_mem_ptr(&m, DESC + 16u * (unsigned)i, 16);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* One request: header at 0x10000, the data buffers given, the status at 0x20000; served; its
 * status. */
static uint8_t submit(struct blk *b, uint32_t type, const uint64_t *addr, const uint32_t *len,
		       int n)
{
	static struct virtio_dev v;
	uint8_t hdr[16] = { 0 }, *st = vmm_mem_ptr(&m, 0x20000, 1);
	uint16_t idx, flags = 0;

	memcpy(hdr, &type, 4);
	memcpy(vmm_mem_ptr(&m, 0x10000, 16), hdr, 16);
	desc(0, 0x10000, 16, VIRTQ_DESC_F_NEXT, 1);
	for (int i = 0; i < n; i++)
		desc(1 + i, addr[i], len[i],
		     VIRTQ_DESC_F_NEXT | (type == T_IN ? VIRTQ_DESC_F_WRITE : 0), (uint16_t)(2 + i));
	desc(1 + n, 0x20000, 1, VIRTQ_DESC_F_WRITE, 0);
	*st = 0xee;
	memcpy(&idx, vmm_mem_ptr(&m, AVAIL + 2, 2), 2);
	memcpy(vmm_mem_ptr(&m, AVAIL + 4 + 2u * (idx % q.size), 2), &(uint16_t){ 0 }, 2);
	idx++;
	memcpy(vmm_mem_ptr(&m, AVAIL, 2), &flags, 2);
	memcpy(vmm_mem_ptr(&m, AVAIL + 2, 2), &idx, 2);
	v.priv = b;
	v.s.driver_features = BLK_F_FLUSH;
	blk_notify(&v, 0);
	return *st;
}

/* Guest memory, the queue, and a sparse image of `bytes` opened with O_DIRECT in a directory of
 * the test's own; skipped where the file system takes no O_DIRECT. */
struct fixture { char dir[256]; struct blk *b; };

static int disk_setup(void **state, uint64_t bytes)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[600];

	test_mkdtemp(f->dir, sizeof(f->dir));
	assert_int_equal(vmm_mem_init(&m, MEM), 0);
	q = (struct virtq){ .size = QSIZE, .desc = DESC, .avail = AVAIL, .used = USED };
	assert_int_equal(virtq_start(&m, &q), 0);
	snprintf(path, sizeof(path), "%s/disk.img", f->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0);
	close(fd);
	*state = f;
	if ((fd = open(path, O_RDWR | O_DIRECT)) < 0) {
		print_message("# no O_DIRECT here (%s): cache=none cannot be tried\n", strerror(errno));
		return 0;
	}
	struct blk *b = f->b = calloc(1, sizeof(*b));
	b->fd = fd;
	b->sectors = bytes / SECTOR;
	b->direct = true;
	snprintf(b->path, sizeof(b->path), "%s", path);
	assert_int_equal(posix_memalign((void **)&b->bounce, 4096, BOUNCE), 0);
	return 0;
}

/* sparse: large enough for a 2 GiB request at sector 0 */
static int setup_big(void **state) { return disk_setup(state, 4ull << 30); }
static int setup_small(void **state) { return disk_setup(state, 8u << 20); }

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->b) {
		close(f->b->fd);
		free(f->b->bounce);
		free(f->b);
	}
	vmm_mem_free(&m);
	test_sh("rm -rf '%s'", f->dir);
	free(f);
	return 0;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void test_blk_over_limits_refused(void **state)
{
	struct blk *b = ((struct fixture *)*state)->b;
	uint64_t addr[32];
	uint32_t len[32];

	if (!b)
		skip();
	for (int i = 0; i < 32; i++) {
		addr[i] = 0x100001;	/* misaligned: the bounce buffer's way, before */
		len[i] = 64u << 20;
	}
	long before = peak_rss_kib();
	assert_int_equal(submit(b, T_IN, addr, len, 32), S_IOERR);
	assert_int_equal(submit(b, T_OUT, addr, len, 32), S_IOERR);
	long grew = peak_rss_kib() - before;
	print_message("# peak RSS grew by %ld KiB for two 2 GiB requests\n", grew);
	assert_true(grew < 64 * 1024);
	assert_int_equal(b->refused, 2);
	/* 255 buffers (seg_max is 254) of 512 bytes: refused too */
	uint64_t a2[255];
	uint32_t l2[255];
	for (int i = 0; i < 255; i++) {
		a2[i] = 0x200000 + 512ull * (unsigned)i;
		l2[i] = 512;
	}
	memset(vmm_mem_ptr(&m, AVAIL, 0x3000), 0, 0x3000);	/* a queue of 512, anew */
	q = (struct virtq){ .size = 512, .desc = DESC, .avail = AVAIL, .used = USED };
	assert_int_equal(virtq_start(&m, &q), 0);
	assert_int_equal(submit(b, T_IN, a2, l2, 255), S_IOERR);
}

/* Misaligned buffers within the limits: through the fixed bounce buffer (6 chunks of 256 KiB across
 * two buffers), and what was written is what is read. */
static void test_blk_misaligned_bounced(void **state)
{
	struct blk *b = ((struct fixture *)*state)->b;
	const uint64_t w[2] = { 0x200003, 0x400007 }, r[2] = { 0x600005, 0x800009 };
	const uint32_t len[2] = { 1u << 20, 512u << 10 };

	if (!b)
		skip();
	for (int i = 0; i < 2; i++) {
		uint8_t *p = vmm_mem_ptr(&m, w[i], len[i]);
		for (uint32_t k = 0; k < len[i]; k++)
			p[k] = (uint8_t)(k * 7 + (uint32_t)i * 13 + k / 4099);
	}
	assert_int_equal(submit(b, T_OUT, w, len, 2), S_OK);
	assert_int_equal(submit(b, T_IN, r, len, 2), S_OK);
	for (int i = 0; i < 2; i++)
		assert_memory_equal(vmm_mem_ptr(&m, w[i], len[i]), vmm_mem_ptr(&m, r[i], len[i]),
				    len[i]);
	assert_int_equal(b->refused, 0);
}

/* The ring cache=none's requests go through can only read and write vectors: its work runs in the
 * kernel's workers, which the seccomp filter never sees, so an open asked of it is refused there. */
static void test_blk_ring_restricted(void **state)
{
	struct blk b = { 0 };
	struct io_uring_cqe *cqe;

	(void)state;
	if (ring_init(&b) < 0) {
		print_message("# no io_uring with restrictions here: cache=none goes one request at a "
			      "time\n");
		skip();
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b.ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	assert_int_equal(io_uring_submit_and_wait(&b.ring, 1), 1);
	assert_int_equal(io_uring_wait_cqe(&b.ring, &cqe), 0);
	int res = cqe->res;
	io_uring_cqe_seen(&b.ring, cqe);
	if (res >= 0)
		close(res);
	assert_int_equal(res, -EACCES);
	io_uring_queue_exit(&b.ring);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_blk_over_limits_refused, setup_big, teardown),
	cmocka_unit_test_setup_teardown(test_blk_misaligned_bounced, setup_small, teardown),
	cmocka_unit_test(test_blk_ring_restricted),
};

TEST_MAIN(tests)
