/* test_pci: the PCI bus model as a guest's firmware and drivers drive it through 0xcf8/0xcfc: BARs
 * placed, sized (all ones written, the size read back) and moved, 64-bit BARs with their upper
 * register, a device's own config reads (the hook a passed-through device answers through), ECAM,
 * the 64-bit window, I/O BARs and the expansion ROM, and the registry that tears the bus down. pci.c itself is compiled here. */
#include "config.h"
#include "tests/testutil.h"
#include "vmm/hw/pci.c"

static uint64_t moved_to[PCI_BARS + 1];

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
	pci_setup(vm, p);
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

static uint32_t ecam(struct vmm *vm, struct vmm_pci *p, int slot, unsigned reg, bool write,
		     uint32_t val, int size)
{
	pci_ecam(vm, p, VMM_PCI_ECAM + ((uint64_t)slot << 15) + reg, write, (uint8_t *)&val, size);
	return val;
}

/* ECAM reaches all 4 KiB of a function (what 0xcf8/0xcfc cannot), with the same masks; a big
 * 64-bit BAR goes to the 64-bit window above RAM, a big 32-bit one is refused. */
static void test_ecam_and_windows(void **state)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	struct vmm_pci *p = calloc(1, sizeof(*p));
	static struct vmm_pci_dev d, big32;
	char err[160];

	(void)state;
	assert_non_null(vm);
	assert_non_null(p);
	vm->mem.high = 3ull << 29;	/* 1.5 GiB above 4 GiB: the window starts at 6 GiB */
	pci_setup(vm, p);
	assert_int_equal(vmm_device_add(vm, &pci_device, p), 0);
	d.name = "pcie";
	memcpy(d.cfg, (const uint8_t[]){ 0x86, 0x80, 0xd3, 0x10 }, 4);
	memcpy(d.cfg + 0x100, (const uint8_t[]){ 0x01, 0x00, 0x01, 0x14 }, 4); /* AER, next 0x140 */
	d.wmask[0x108] = 0xff;
	d.bar_size[0] = 1ull << 30;
	d.bar_flags[0] = PCI_BAR_MEM64 | PCI_BAR_PREFETCH;
	d.bar_size[2] = 1u << 17;
	assert_int_equal(vmm_pci_add(vm, &d, err, sizeof(err)), 0);
	int s = d.slot;
	assert_int_equal(ecam(vm, p, s, 0x00, false, 0, 4), 0x10d38086);
	assert_int_equal(ecam(vm, p, s, 0x02, false, 0, 2), 0x10d3);
	assert_int_equal(ecam(vm, p, s, 0x100, false, 0, 4), 0x14010001);
	ecam(vm, p, s, 0x108, true, 0xa5a5a5a5, 4);	/* only the writable byte changes */
	assert_int_equal(ecam(vm, p, s, 0x108, false, 0, 4), 0xa5);
	assert_int_equal(cfg(vm, p, s, 0x00, false, 0), 0x10d38086);	/* the same function */
	assert_int_equal(ecam(vm, p, s, 0x101, false, 0, 2), 0xffff);	/* unaligned: nothing */
	assert_int_equal(ecam(vm, p, s, 0x100, false, 0, 4) & 0xffff, 0x0001);
	assert_int_equal(ecam(vm, p, s + 1, 0x100, false, 0, 4), 0xffffffff);	/* no device */
	assert_int_equal(ecam(vm, p, s, 0x1000 | 0x00, false, 0, 4), 0xffffffff); /* function 1 */
	/* the 1 GiB BAR at the 64-bit window's start, the small one in the 32-bit window */
	assert_true(vmm_pci64_window(&vm->mem) == 6ull << 30);
	assert_int_equal(cfg(vm, p, s, 0x10, false, 0), 0x8000000c);	/* 6 GiB: 0x1_8000_0000 */
	assert_int_equal(cfg(vm, p, s, 0x14, false, 0), 1);
	assert_int_equal(cfg(vm, p, s, 0x18, false, 0), VMM_PCI_WINDOW);
	big32.name = "big32";
	big32.bar_size[0] = 1ull << 30;
	assert_int_equal(vmm_pci_add(vm, &big32, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "big32: BAR0 of 1073741824 bytes does not fit the PCI window"));
	vmm_devices_destroy(vm);
	free(vm);
}

static int io_bar = -1, io_off = -1;

static void on_io(struct vmm *vm, struct vmm_pci_dev *d, int bar, uint16_t off, bool write,
		  uint8_t *data, int size)
{
	(void)vm, (void)d, (void)write;
	io_bar = bar;
	io_off = off;
	memset(data, 0x42, (size_t)size);
}

/* An I/O BAR in the I/O window, decoded by the command register's I/O bit and reached through
 * the device's io_access; an expansion ROM sized, enabled and moved as Linux does it */
static void test_io_and_rom(void **state)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	struct vmm_pci *p = calloc(1, sizeof(*p));
	static struct vmm_pci_dev d, wide;
	char err[160];
	uint32_t v = 0;

	(void)state;
	assert_non_null(vm);
	assert_non_null(p);
	pci_setup(vm, p);
	assert_int_equal(vmm_device_add(vm, &pci_device, p), 0);
	d.name = "nic";
	d.bar_size[0] = 1u << 17;
	d.bar_size[2] = 32;
	d.bar_flags[2] = PCI_BAR_IO;
	d.rom_size = 1u << 18;
	d.io_access = on_io;
	d.bar_moved = on_moved;
	memset(moved_to, 0, sizeof(moved_to));
	assert_int_equal(vmm_pci_add(vm, &d, err, sizeof(err)), 0);
	int s = d.slot;
	assert_int_equal(cfg(vm, p, s, 0x18, false, 0), VMM_PCI_IO_WINDOW | 1);
	/* the ROM after the memory BAR, aligned to its size, not enabled */
	assert_int_equal(cfg(vm, p, s, 0x30, false, 0), VMM_PCI_WINDOW + (1u << 18));
	cfg(vm, p, s, 0x18, true, 0xffffffff);	/* sizing: 16 bits of ports, 32 of them */
	assert_int_equal(cfg(vm, p, s, 0x18, false, 0), 0xffe1);
	cfg(vm, p, s, 0x30, true, 0xfffffffe);	/* Linux sizes a ROM without its enable bit */
	assert_int_equal(cfg(vm, p, s, 0x30, false, 0), 0xfffc0000);
	cfg(vm, p, s, 0x18, true, 0xc100);
	pci_bar_io(vm, p, 0xc104, false, (uint8_t *)&v, 4);
	assert_int_equal(v, 0xffffffff);	/* I/O decoding off: nobody answers */
	assert_int_equal(io_bar, -1);
	cfg(vm, p, s, 0x04, true, 0x3);		/* I/O and memory decoding on */
	pci_bar_io(vm, p, 0xc104, false, (uint8_t *)&v, 4);
	assert_int_equal(v, 0x42424242);
	assert_int_equal(io_bar, 2);
	assert_int_equal(io_off, 4);
	pci_bar_io(vm, p, 0xc120, false, (uint8_t *)&v, 2);	/* past its 32 ports */
	assert_int_equal(v & 0xffff, 0xffff);
	assert_true(moved_to[2] == 0);		/* I/O BARs are found per access, never "moved" */
	assert_true(moved_to[PCI_ROM] == 0);	/* a ROM decodes only once enabled */
	cfg(vm, p, s, 0x30, true, 0xe0100001);
	assert_true(vmm_pci_bar(&d, PCI_ROM) == 0xe0100000ull);
	assert_true(moved_to[PCI_ROM] == 0xe0100000ull);
	cfg(vm, p, s, 0x04, true, 0x1);		/* memory decoding off: the ROM goes too */
	assert_true(moved_to[PCI_ROM] == 0);
	/* an I/O BAR bigger than 256 ports is refused, naming it */
	wide.name = "wide";
	wide.bar_size[0] = 512;
	wide.bar_flags[0] = PCI_BAR_IO;
	wide.io_access = on_io;
	assert_int_equal(vmm_pci_add(vm, &wide, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "wide: I/O BAR0 of 512 ports does not fit the I/O window"));
	vmm_devices_destroy(vm);
	free(vm);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_bars),
	cmocka_unit_test(test_ecam_and_windows),
	cmocka_unit_test(test_io_and_rom),
};
TEST_MAIN(tests)
