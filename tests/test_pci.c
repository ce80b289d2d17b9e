/* test_pci: the PCI bus model as a guest's firmware and drivers drive it through 0xcf8/0xcfc: BARs
 * placed, sized (all ones written, the size read back) and moved, 64-bit BARs with their upper
 * register, a device's own config reads (the hook a passed-through device answers through), and the
 * registry that tears the bus down. pci.c itself is compiled here. */
#include "config.h"
#include "tests/testutil.h"
#include "vmm/hw/pci.c"

static uint64_t moved_to[PCI_BARS];

static void on_moved(struct vmm *vm, struct vmm_pci_dev *d, int bar, uint64_t addr)
{
	(void)vm, (void)d;
	moved_to[bar] = addr;
}

static uint32_t cfg(struct vmm *vm, struct vmm_pci *p, int slot, unsigned reg, bool write,
		    uint32_t val)
{
	uint32_t a = 0x80000000u | ((uint32_t)slot << 11) | (reg & 0xfc);

	pci_io(vm, p, 0xcf8, true, (uint8_t *)&a, 4);
	pci_io(vm, p, 0xcfc, write, (uint8_t *)&val, 4);
	return val;
}

static void answer_itself(struct vmm *vm, struct vmm_pci_dev *d, unsigned reg, uint8_t *data,
			  int size)
{
	(void)vm, (void)d;
	if (reg == 0x40 && size == 4)
		memcpy(data, &(uint32_t){ 0x5a5aa5a5 }, 4);
}

static void test_bars(void **state)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	struct vmm_pci *p = calloc(1, sizeof(*p));
	static struct vmm_pci_dev d;
	char err[160];

	(void)state;
	assert_non_null(vm);
	assert_non_null(p);
	pthread_mutex_init(&p->lock, NULL);
	host_bridge(&p->host);
	p->dev[0] = &p->host;
	p->next_bar = VMM_PCI_WINDOW;
	assert_int_equal(vmm_device_add(vm, &pci_device, p), 0);
	d.name = "t";
	d.bar_size[0] = 1u << 20;	/* 64-bit, prefetchable: BAR0 and BAR1 */
	d.bar_flags[0] = PCI_BAR_MEM64 | PCI_BAR_PREFETCH;
	d.bar_size[2] = 4096;		/* 32-bit */
	d.bar_moved = on_moved;
	assert_int_equal(vmm_pci_add(vm, &d, err, sizeof(err)), 0);
	int s = d.slot;
	assert_int_equal(cfg(vm, p, s, 0x10, false, 0), VMM_PCI_WINDOW | 0xc);
	assert_int_equal(cfg(vm, p, s, 0x14, false, 0), 0);
	assert_int_equal(cfg(vm, p, s, 0x18, false, 0), VMM_PCI_WINDOW + (1u << 20));
	/* sizing: all ones in, the size (and the type bits) back */
	cfg(vm, p, s, 0x10, true, 0xffffffff);
	cfg(vm, p, s, 0x14, true, 0xffffffff);
	cfg(vm, p, s, 0x18, true, 0xffffffff);
	assert_int_equal(cfg(vm, p, s, 0x10, false, 0), 0xfff0000c);
	assert_int_equal(cfg(vm, p, s, 0x14, false, 0), 0xffffffff);
	assert_int_equal(cfg(vm, p, s, 0x18, false, 0), 0xfffff000);
	/* the guest places it above 4 GiB and turns memory decoding on: it has moved there */
	cfg(vm, p, s, 0x10, true, 0x00100000);
	cfg(vm, p, s, 0x14, true, 0x2);
	cfg(vm, p, s, 0x04, true, 0x2);
	assert_true(vmm_pci_bar(&d, 0) == 0x200100000ull);
	assert_true(moved_to[0] == 0x200100000ull);	/* the device is told where each BAR is */
	assert_true(moved_to[1] == 0);			/* an upper half is no BAR */
	assert_true(moved_to[2] == 0xfffff000ull);	/* as sizing left it */
	/* a device answers a read itself where it wants to; other registers come from cfg */
	d.config_read = answer_itself;
	assert_int_equal(cfg(vm, p, s, 0x40, false, 0), 0x5a5aa5a5);
	assert_int_equal(cfg(vm, p, s, 0x44, false, 0), 0);
	/* no device at a slot: all ones */
	assert_int_equal(cfg(vm, p, s + 1, 0x00, false, 0), 0xffffffff);
	/* a 64-bit BAR in the last register has no upper half: refused */
	static struct vmm_pci_dev bad = { .name = "bad" };
	bad.bar_size[5] = 4096;
	bad.bar_flags[5] = PCI_BAR_MEM64;
	assert_int_equal(vmm_pci_add(vm, &bad, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "BAR5"));
	vmm_devices_destroy(vm);	/* frees the bus */
	assert_int_equal(vm->ndevices, 0);
	free(vm);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_bars),
};
TEST_MAIN(tests)
