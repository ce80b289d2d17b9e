/* test_vmm_virtq: the virtqueue walker against crafted rings: well-formed chains (direct and
 * indirect, gather and scatter, interrupt suppression), and every hostile shape a driver could
 * write, each one breaking the queue with its reason instead of crashing or looping. */
#include "config.h"
#include <errno.h>
#include "tests/testutil.h"
#include "vmm/virtq.h"

#define MEM (4ull << 20)
#define QSZ 8
#define DESC 0x10000ull
#define AVAIL 0x11000ull
#define USED 0x12000ull
#define BUFS 0x20000ull

struct fx { struct vmm_mem m; struct virtq q; struct virtq_chain c; };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(vmm_mem_init(&f->m, MEM), 0);
	f->q = (struct virtq){ .size = QSZ, .desc = DESC, .avail = AVAIL, .used = USED };
	assert_int_equal(virtq_start(&f->m, &f->q), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vmm_mem_free(&f->m);
	free(f);
	return 0;
}

static void desc(struct fx *f, uint64_t table, int i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *d = vmm_mem_ptr(&f->m, table + 16 * (uint64_t)i, 16);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* The driver makes head available at the next slot. */
static void offer(struct fx *f, uint16_t head)
{
	uint16_t *a = vmm_mem_ptr(&f->m, AVAIL, 6 + 2 * QSZ);

	a[2 + a[1] % QSZ] = head;
	a[1]++;
}

static void expect_broken(struct fx *f, const char *why)
{
	assert_int_equal(virtq_pop(&f->m, &f->q, &f->c), -EINVAL);
	if (!f->q.broken || !strstr(f->q.why, why))
		fail_msg("broken %d \"%s\", expected \"%s\"", f->q.broken, f->q.why, why);
	assert_int_equal(virtq_pop(&f->m, &f->q, &f->c), -EINVAL);	/* and stays so */
}

static void test_chain_roundtrip(void **state)
{
	struct fx *f = *state;
	char out[32], in[64] = { 0 };

	memcpy(vmm_mem_ptr(&f->m, BUFS, 8), "request!", 8);
	memcpy(vmm_mem_ptr(&f->m, BUFS + 0x100, 8), "-second-", 8);
	desc(f, DESC, 0, BUFS, 8, VIRTQ_DESC_F_NEXT, 3);
	desc(f, DESC, 3, BUFS + 0x100, 8, VIRTQ_DESC_F_NEXT, 5);
	desc(f, DESC, 5, BUFS + 0x200, 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 6);
	desc(f, DESC, 6, BUFS + 0x300, 10, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&f->m, &f->q, &f->c), 0);	/* nothing offered yet */
	offer(f, 0);
	assert_int_equal(virtq_pop(&f->m, &f->q, &f->c), 1);
	assert_int_equal(f->c.head, 0);
	assert_int_equal(f->c.nout, 2);
	assert_int_equal(f->c.nin, 2);
	assert_int_equal(f->c.out_len, 16);
	assert_int_equal(f->c.in_len, 20);
	assert_int_equal(virtq_gather(&f->c, 4, out, sizeof(out)),
			 12); /* across both readable buffers */
	assert_memory_equal(out, "est!-second-", 12);
	assert_int_equal(virtq_scatter(&f->c, 0, "0123456789abcdefghijKL", 22),
			 20); /* no more than fits */
	memcpy(in, vmm_mem_ptr(&f->m, BUFS + 0x300, 10), 10);
	assert_memory_equal(in, "abcdefghij", 10);
	assert_true(
		virtq_push(&f->m, &f->q, f->c.head, 20)); /* the driver did not ask for silence */
	uint32_t *u = vmm_mem_ptr(&f->m, USED, 6 + 8 * QSZ);
	assert_int_equal(((uint16_t *)u)[1], 1);		/* used idx */
	assert_int_equal(u[1], 0);
	assert_int_equal(u[2], 20);	/* id, len */
	assert_int_equal(virtq_pop(&f->m, &f->q, &f->c), 0);
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	const uint64_t table = 0x30000;

	desc(f, table, 0, BUFS, 4, VIRTQ_DESC_F_NEXT, 2);
	desc(f, table, 2, BUFS + 0x10, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(f, table, 1, BUFS + 0x20, 100, VIRTQ_DESC_F_WRITE, 0);
	desc(f, DESC, 4, table, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	f->q.indirect = true;
	offer(f, 4);
	assert_int_equal(virtq_pop(&f->m, &f->q, &f->c), 1);
	assert_true(f->c.head == 4 && f->c.nout == 2 && f->c.nin == 1 && f->c.in_len == 100);
}

/* Interrupt suppression: NO_INTERRUPT, and EVENT_IDX's used_event. */
static void test_notify_suppression(void **state)
{
	struct fx *f = *state;
	uint16_t *a = vmm_mem_ptr(&f->m, AVAIL, 6 + 2 * QSZ);

	desc(f, DESC, 0, BUFS, 4, 0, 0);
	offer(f, 0);
	offer(f, 0);
	offer(f, 0);
	a[0] = 1;	/* VIRTQ_AVAIL_F_NO_INTERRUPT */
	assert_int_equal(virtq_pop(&f->m, &f->q, &f->c), 1);
	assert_false(virtq_push(&f->m, &f->q, 0, 0));
	f->q.event_idx = true;
	a[2 + QSZ] = 2;	/* used_event: interrupt once the used index passes 2 */
	assert_int_equal(virtq_pop(&f->m, &f->q, &f->c), 1);
	assert_false(virtq_push(&f->m, &f->q, 0, 0));	/* used idx 2: not past it */
	assert_int_equal(virtq_pop(&f->m, &f->q, &f->c), 1);
	assert_true(virtq_push(&f->m, &f->q, 0, 0));	/* 3 */
	uint16_t *u = vmm_mem_ptr(&f->m, USED, 6 + 8 * QSZ);
	assert_int_equal(u[2 + 4 * QSZ], 3);	/* avail_event: we asked to be told of entry 3 */
}

/* Every hostile shape: a reason, no crash, no endless walk. */
static void test_hostile_rings(void **state)
{
	static const struct { const char *name, *why; } cases[] = {
		{ "loop", "a loop" },
		{ "next-past", "next (9) past the queue" },
		{ "outside", "outside guest RAM" },
		{ "overflow", "outside guest RAM" },
		{ "read-after-write", "device-readable buffer after a device-writable one" },
		{ "index-jump", "moved 9 entries ahead" },
		{ "head-past", "head (12) past the queue" },
		{ "indirect-unnegotiated", "VIRTIO_F_INDIRECT_DESC was not negotiated" },
		{ "indirect-nested", "indirect table inside an indirect table" },
		{ "indirect-odd", "not whole descriptors" },
		{ "indirect-loop", "longer than its table" },
		{ "indirect-next", "indirect descriptor with NEXT set" },
		{ "indirect-huge", "not whole descriptors" },
	};
	struct fx *f = *state;
	const uint64_t table = 0x30000;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *n = cases[i].name;
		memset(vmm_mem_ptr(&f->m, 0, MEM), 0, MEM);
		f->q = (struct virtq){
			.size = QSZ, .desc = DESC, .avail = AVAIL, .used = USED, .indirect = true
		};
		assert_int_equal(virtq_start(&f->m, &f->q), 0);
		if (!strcmp(n, "loop")) {
			desc(f, DESC, 0, BUFS, 4, VIRTQ_DESC_F_NEXT, 1);
			desc(f, DESC, 1, BUFS, 4, VIRTQ_DESC_F_NEXT, 0);
		} else if (!strcmp(n, "next-past")) {
			desc(f, DESC, 0, BUFS, 4, VIRTQ_DESC_F_NEXT, 9);
		} else if (!strcmp(n, "outside")) {
			desc(f, DESC, 0, MEM - 2, 4, 0, 0);
		} else if (!strcmp(n, "overflow")) {
			desc(f, DESC, 0, UINT64_MAX - 1, 0x10, 0, 0);
		} else if (!strcmp(n, "read-after-write")) {
			desc(f, DESC, 0, BUFS, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
			desc(f, DESC, 1, BUFS, 4, 0, 0);
		} else if (!strcmp(n, "index-jump")) {
			((uint16_t *)vmm_mem_ptr(&f->m, AVAIL, 4))[1] = QSZ + 1;
			expect_broken(f, cases[i].why);
			continue;
		} else if (!strcmp(n, "head-past")) {
			offer(f, 12);
			expect_broken(f, cases[i].why);
			continue;
		} else if (!strcmp(n, "indirect-unnegotiated")) {
			f->q.indirect = false;
			desc(f, DESC, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
		} else if (!strcmp(n, "indirect-nested")) {
			desc(f, table, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
			desc(f, DESC, 0, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
		} else if (!strcmp(n, "indirect-odd")) {
			desc(f, DESC, 0, table, 17, VIRTQ_DESC_F_INDIRECT, 0);
		} else if (!strcmp(n, "indirect-loop")) {
			desc(f, table, 0, BUFS, 4, VIRTQ_DESC_F_NEXT, 1);
			desc(f, table, 1, BUFS, 4, VIRTQ_DESC_F_NEXT, 0);
			desc(f, DESC, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
		} else if (!strcmp(n, "indirect-next")) {
			desc(f, DESC, 0, table, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
		} else if (!strcmp(n, "indirect-huge")) {
			desc(f, DESC, 0, table, 16 * (VIRTQ_MAX_SEGS + 1), VIRTQ_DESC_F_INDIRECT,
			     0);
		}
		offer(f, 0);
		expect_broken(f, cases[i].why);
	}
}

static void test_rings_checked_at_start(void **state)
{
	struct fx *f = *state;
	struct virtq q = { .size = QSZ, .desc = MEM - 16, .avail = AVAIL, .used = USED };

	assert_int_equal(virtq_start(&f->m, &q), -EINVAL);
	assert_non_null(strstr(q.why, "outside guest RAM"));
	q = (struct virtq){ .size = 6, .desc = DESC, .avail = AVAIL, .used = USED };
	assert_int_equal(virtq_start(&f->m, &q), -EINVAL);
	assert_non_null(strstr(q.why, "power of two"));
	q = (struct virtq){ .size = QSZ, .desc = DESC + 8, .avail = AVAIL, .used = USED };
	assert_int_equal(virtq_start(&f->m, &q), -EINVAL);
	assert_non_null(strstr(q.why, "misaligned"));
	assert_int_equal(virtq_pop(&f->m, &q, &f->c), -EINVAL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_chain_roundtrip, setup, teardown),
	cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
	cmocka_unit_test_setup_teardown(test_notify_suppression, setup, teardown),
	cmocka_unit_test_setup_teardown(test_hostile_rings, setup, teardown),
	cmocka_unit_test_setup_teardown(test_rings_checked_at_start, setup, teardown),
};

TEST_MAIN(tests)
