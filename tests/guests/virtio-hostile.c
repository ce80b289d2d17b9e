/* virtio-hostile: a hostile virtio driver (run with --rng). It finds the virtio-rng PCI device, sets it up as
 * the spec says, then hands it broken queues: a descriptor loop, a ring outside guest RAM, a buffer outside
 * guest RAM. Each time the device must say DEVICE_NEEDS_RESET, and after a reset it must still serve a proper
 * request. Exit 0: all as expected; 2 no device; 3 a hostile queue was not refused; 4 no recovery. */
#include "guest.h"

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 0x40

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
static struct desc table[8] __attribute__((aligned(16)));
static struct { uint16_t flags, idx, ring[8], used_event; } avail __attribute__((aligned(4)));
static struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[8]; uint16_t avail_event; } used
	__attribute__((aligned(4)));
static uint8_t buf[64];
static uint32_t common, notify, notify_mult;
static int dev_slot, pcicfg;	/* VIRTIO_PCI_CAP_PCI_CFG's offset in config space */

static uint32_t cfg_read(int slot, int reg)
{
	outl(0xcf8, 0x80000000u | ((uint32_t)slot << 11) | (uint32_t)reg);
	return inl(0xcfc);
}

static void cfg_write(int slot, int reg, uint32_t v)
{
	outl(0xcf8, 0x80000000u | ((uint32_t)slot << 11) | (uint32_t)reg);
	outl(0xcfc, v);
}

static void w8(uint32_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static void w16(uint32_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static uint8_t r8(uint32_t a) { return *(volatile uint8_t *)a; }
static uint16_t r16(uint32_t a) { return *(volatile uint16_t *)a; }

/* The virtio capabilities (4.1.4): where the common configuration and the notifications are in BAR0. */
static int find(void)
{
	for (int slot = 0; slot < 32; slot++) {
		if (cfg_read(slot, 0) != 0x10441af4u)
			continue;
		uint32_t bar = cfg_read(slot, 0x10) & ~0xfu;
		cfg_write(slot, 0x04, cfg_read(slot, 0x04) | 0x6);	/* memory space, bus master */
		for (uint32_t p = cfg_read(slot, 0x34) & 0xff; p; p = (cfg_read(slot, (int)p) >> 8) & 0xff) {
			uint32_t head = cfg_read(slot, (int)p), off = cfg_read(slot, (int)p + 8);
			if ((head & 0xff) != 0x09)
				continue;
			if (((head >> 24) & 0xff) == 1) {
				common = bar + off;
			} else if (((head >> 24) & 0xff) == 2) {
				notify = bar + off;
				notify_mult = cfg_read(slot, (int)p + 16);
			} else if (((head >> 24) & 0xff) == 5) {
				pcicfg = (int)p;
				dev_slot = slot;
			}
		}
		return common && notify ? 0 : -1;
	}
	return -1;
}

static int start(void)
{
	w8(common + 0x14, 0);				/* reset */
	while (r8(common + 0x14))
		;
	w8(common + 0x14, ST_ACK | ST_DRIVER);
	*(volatile uint32_t *)(common + 0x08) = 1;	/* driver_feature_select: bits 32-63 */
	*(volatile uint32_t *)(common + 0x0c) = 1;	/* VIRTIO_F_VERSION_1 */
	w8(common + 0x14, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	return r8(common + 0x14) & ST_FEATURES_OK ? 0 : -1;
}

/* BAR0 read through the PCI_CFG capability's window (bar, offset, length, then pci_cfg_data). */
static uint32_t window(uint32_t bar, uint32_t off, uint32_t len)
{
	cfg_write(dev_slot, pcicfg + 4, bar);
	cfg_write(dev_slot, pcicfg + 8, off);
	cfg_write(dev_slot, pcicfg + 12, len);
	return cfg_read(dev_slot, pcicfg + 16);
}

/* The driver that cannot map BAR0 (4.1.4.9): the same common configuration through config space, a write that
 * takes effect, and accesses outside BAR0 or of odd lengths that read as nothing. */
static int pci_cfg_window(void)
{
	if (!pcicfg) {
		puts_serial("virtio-hostile: FAIL: no VIRTIO_PCI_CAP_PCI_CFG capability\n");
		return 6;
	}
	uint32_t nq = window(0, 0x12, 2) & 0xffff;	/* num_queues */
	if (nq != r16(common + 0x12) || nq == 0) {
		puts_serial("virtio-hostile: FAIL: num_queues through the PCI_CFG window differs from BAR0's\n");
		return 6;
	}
	w8(common + 0x14, ST_ACK);
	window(0, 0x14, 1);
	cfg_write(dev_slot, pcicfg + 16, 0);	/* device_status 0: a reset, through config space */
	if (r8(common + 0x14) != 0 || window(3, 0x12, 2) != 0 || window(0, 0x8000, 4) != 0 || window(0, 0x13, 2) != 0 ||
	    window(0, 0x12, 3) != 0) {
		puts_serial("virtio-hostile: FAIL: the PCI_CFG window wrote nothing, or served a bad access\n");
		return 6;
	}
	puts_serial("virtio-hostile: the PCI_CFG window reads and writes BAR0; bad accesses read as nothing\n");
	return 0;
}

/* Queue 0 at the given rings, enabled, the driver ready, one chain offered and notified. */
static void offer(uint32_t desc_at, uint32_t avail_at, uint32_t used_at)
{
	w16(common + 0x16, 0);				/* queue_select */
	w16(common + 0x18, 8);				/* queue_size */
	*(volatile uint32_t *)(common + 0x20) = desc_at, *(volatile uint32_t *)(common + 0x24) = 0;
	*(volatile uint32_t *)(common + 0x28) = avail_at, *(volatile uint32_t *)(common + 0x2c) = 0;
	*(volatile uint32_t *)(common + 0x30) = used_at, *(volatile uint32_t *)(common + 0x34) = 0;
	w16(common + 0x1c, 1);				/* queue_enable */
	w8(common + 0x14, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	avail.ring[avail.idx % 8] = 0;
	avail.idx++;
	w16(notify + r16(common + 0x1e) * notify_mult, 0);
}

/* Waits up to 5 s of the ACPI PM timer (3.579545 MHz, 24 bits) for cond: a loop count would be 20 ms where
 * guest kernel code runs natively and minutes where it is emulated. */
static int wait_for(int (*cond)(void))
{
	uint16_t port = acpi_pm_timer_port();
	uint32_t last = port ? inl(port) & 0xffffff : 0, elapsed = 0;

	for (uint32_t spins = 0; elapsed < 5u * 3579545u; spins++) {
		if (cond())
			return 0;
		if (!port) {	/* no timer: a generous count instead */
			if (spins > 200000000u)
				break;
			continue;
		}
		uint32_t now = inl(port) & 0xffffff;
		elapsed += (now - last) & 0xffffff;
		last = now;
	}
	return -1;
}

static int needs_reset(void) { return r8(common + 0x14) & ST_NEEDS_RESET; }
static int answered(void) { return *(volatile uint16_t *)&used.idx != 0; }

static int wait_needs_reset(void)
{
	return wait_for(needs_reset);
}

static void clear(void)
{
	for (unsigned i = 0; i < sizeof(table); i++)
		((uint8_t *)table)[i] = 0;
	avail.idx = 0;
	used.idx = 0;
}

int guest_main(uint32_t magic, struct mb_info *mb)
{
	static const char *const names[] = { "a descriptor loop", "a ring outside guest RAM", "a buffer outside guest RAM" };

	(void)magic, (void)mb;
	if (find() < 0) {
		puts_serial("virtio-hostile: no virtio-rng device (run with --rng)\n");
		return 2;
	}
	for (int c = 0; c < 3; c++) {
		clear();
		if (start() < 0)
			return 3;
		if (c == 0) {	/* 0 -> 1 -> 0 ... */
			table[0] = (struct desc){ (uint32_t)buf, 16, 1 | 2, 1 };
			table[1] = (struct desc){ (uint32_t)buf, 16, 1 | 2, 0 };
			offer((uint32_t)table, (uint32_t)&avail, (uint32_t)&used);
		} else if (c == 1) {
			offer(0xfff00000u, (uint32_t)&avail, (uint32_t)&used);	/* the descriptor table in MMIO space */
		} else {
			table[0] = (struct desc){ 0x7ffffff0ull, 64, 2, 0 };	/* past the end of 128 MiB */
			offer((uint32_t)table, (uint32_t)&avail, (uint32_t)&used);
		}
		if (wait_needs_reset() < 0) {
			puts_serial("virtio-hostile: FAIL: the device took "), puts_serial(names[c]), puts_serial("\n");
			return 3;
		}
		puts_serial("virtio-hostile: refused "), puts_serial(names[c]), puts_serial("\n");
		/* a proper request after a reset: the device must serve it */
		clear();
		if (start() < 0)
			return 4;
		for (unsigned i = 0; i < sizeof(buf); i++)
			buf[i] = 0;
		table[0] = (struct desc){ (uint32_t)buf, sizeof(buf), 2, 0 };
		offer((uint32_t)table, (uint32_t)&avail, (uint32_t)&used);
		wait_for(answered);
		if (used.idx != 1 || used.ring[0].len == 0 || (r8(common + 0x14) & ST_NEEDS_RESET)) {
			puts_serial("virtio-hostile: FAIL: no answer after the reset\n");
			return 4;
		}
	}
	puts_serial("virtio-hostile: 3 hostile queues refused; the device served a proper request after each reset\n");
	return pci_cfg_window();
}
