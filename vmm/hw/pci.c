/* pci: configuration mechanism 1 and ECAM, the host bridge, BAR sizing and placement in the 32-bit
 * and 64-bit windows, capability lists. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vmm/hw/pci.h"
#include "vmm/vm.h"

#define PCI_SLOTS 32
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34
#define PCI_ROM_REG 0x30

struct vmm_pci {
	pthread_mutex_t lock;
	uint32_t addr;			/* 0xcf8 */
	struct vmm_pci_dev host, *dev[PCI_SLOTS];
	uint64_t next_bar, next_bar64, end64;	/* the next free address of each window */
	uint32_t next_io;
};

static uint32_t rd(const uint8_t *p, int size)
{
	uint32_t v = 0;

	memcpy(&v, p, (size_t)size);
	return v;
}

uint64_t vmm_pci_bar(const struct vmm_pci_dev *d, int bar)
{
	uint32_t cmd = rd(d->cfg + PCI_COMMAND, 2);
	uint64_t a;

	if (bar == PCI_ROM)	/* decoded when memory decoding and its own enable bit are on */
		return d->rom_size && (cmd & PCI_COMMAND_MEMORY) && (d->cfg[PCI_ROM_REG] & 1) ?
			       rd(d->cfg + PCI_ROM_REG, 4) & ~0x7ffu :
			       0;
	if (bar < 0 || bar >= PCI_BARS || !d->bar_size[bar])
		return 0;
	if (d->bar_flags[bar] & PCI_BAR_IO)
		return cmd & PCI_COMMAND_IO ? rd(d->cfg + PCI_BAR0 + 4 * bar, 4) & 0xfffcu : 0;
	if (!(cmd & PCI_COMMAND_MEMORY))
		return 0;
	a = rd(d->cfg + PCI_BAR0 + 4 * bar, 4) & ~0xfu;
	if ((d->bar_flags[bar] & PCI_BAR_MEM64) && bar + 1 < PCI_BARS)
		a |= (uint64_t)rd(d->cfg + PCI_BAR0 + 4 * (bar + 1), 4) << 32;
	return a;
}

/* A BAR's registers as sizing leaves them: the address bits below its size read as 0, the type
 * bits as the BAR is (ACPI/PCI firmware sizes a BAR by writing all ones and reading back). An I/O
 * BAR decodes 16 bits, as x86's ports; the ROM keeps its enable bit. */
static void bar_settle(struct vmm_pci_dev *d, int b)
{
	if (b == PCI_ROM) {
		uint32_t r = rd(d->cfg + PCI_ROM_REG, 4) & (((uint32_t)~(d->rom_size - 1) & ~0x7ffu) | 1);
		memcpy(d->cfg + PCI_ROM_REG, &r, 4);
		return;
	}
	uint64_t mask = ~(d->bar_size[b] - 1);
	uint32_t bits = d->bar_flags[b] & PCI_BAR_IO ? 0xfffcu : ~0xfu;
	uint32_t lo = (rd(d->cfg + PCI_BAR0 + 4 * b, 4) & (uint32_t)mask & bits) | d->bar_flags[b];

	memcpy(d->cfg + PCI_BAR0 + 4 * b, &lo, 4);
	if ((d->bar_flags[b] & PCI_BAR_MEM64) && b + 1 < PCI_BARS) {
		uint32_t hi = rd(d->cfg + PCI_BAR0 + 4 * (b + 1), 4) & (uint32_t)(mask >> 32);
		memcpy(d->cfg + PCI_BAR0 + 4 * (b + 1), &hi, 4);
	}
}

int vmm_pci_add_cap(struct vmm_pci_dev *d, const uint8_t *cap, int len)
{
	int at = ((d->cap_end ? d->cap_end : 0x40) + 3) & ~3;

	if (len < 2 || at + len > 256)
		return -ENOSPC;
	memcpy(d->cfg + at, cap, (size_t)len);
	d->cfg[at + 1] = 0;		/* the end of the list, until another follows */
	if (d->cap_last)
		d->cfg[d->cap_last + 1] = (uint8_t)at;
	else
		d->cfg[PCI_CAP_PTR] = (uint8_t)at;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->cap_last = (uint8_t)at;
	d->cap_end = at + len;
	return at;
}

static void host_bridge(struct vmm_pci_dev *h)
{
	static const uint8_t id[] = { 0x86, 0x80, 0x37, 0x12 };	/* Intel 440FX, as QEMU's pc */

	memset(h, 0, sizeof(*h));
	h->name = "host-bridge";
	memcpy(h->cfg, id, 4);
	h->cfg[0x08] = 0x02;			/* revision */
	h->cfg[0x0b] = 0x06;			/* class: bridge, host */
}

static bool has_bar(const struct vmm_pci_dev *d, int b)
{
	return b == PCI_ROM ? d->rom_size != 0 : d->bar_size[b] != 0;
}

/* The device told of each memory BAR (and the ROM) that moved; I/O BARs are found per access. */
static void moved(struct vmm *vm, struct vmm_pci_dev *d, const uint64_t before[PCI_BARS + 1])
{
	for (int b = 0; b <= PCI_ROM; b++)
		if (has_bar(d, b) && (b == PCI_ROM || !(d->bar_flags[b] & PCI_BAR_IO)) &&
		    vmm_pci_bar(d, b) != before[b] && d->bar_moved)
			d->bar_moved(vm, d, b, vmm_pci_bar(d, b));
}

static void config_write(struct vmm *vm, struct vmm_pci_dev *d, unsigned reg, const uint8_t *data,
			 int size)
{
	uint64_t before[PCI_BARS + 1];

	for (int b = 0; b <= PCI_ROM; b++)
		before[b] = vmm_pci_bar(d, b);
	for (int i = 0; i < size && reg + (unsigned)i < PCI_CFG_SIZE; i++) {
		unsigned r = reg + (unsigned)i;
		d->cfg[r] = (uint8_t)((d->cfg[r] & ~d->wmask[r]) | (data[i] & d->wmask[r]));
	}
	for (int b = 0; b <= PCI_ROM; b++)	/* a BAR keeps its size's alignment */
		if (has_bar(d, b))
			bar_settle(d, b);
	moved(vm, d, before);
	if (d->config_written)
		d->config_written(vm, d, reg, data, size);
}

/* One config access, from either mechanism: reg is within the function's 4 KiB, size 1, 2 or 4. */
static void cfg_access(struct vmm *vm, struct vmm_pci *p, unsigned slot, unsigned fn, unsigned reg,
		       bool write, uint8_t *data, int size, unsigned limit)
{
	struct vmm_pci_dev *d = !fn && slot < PCI_SLOTS ? p->dev[slot] : NULL;

	if (!write)
		memset(data, 0xff, (size_t)size);	/* no device: all ones */
	if (!d || reg + (unsigned)size > limit)
		return;
	if (d->window && reg >= (unsigned)d->window && reg + (unsigned)size <= (unsigned)d->window + 4)
		d->window_access(vm, d, reg, write, data, size);
	else if (!write) {
		memcpy(data, d->cfg + reg, (size_t)size);
		if (d->config_read)
			d->config_read(vm, d, reg, data, size);
	} else {
		config_write(vm, d, reg, data, size);
	}
}

static void pci_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_pci *p = dev;

	pthread_mutex_lock(&p->lock);
	if (port == 0xcf8 && size == 4) {
		if (write)
			memcpy(&p->addr, data, 4);
		else
			memcpy(data, &p->addr, 4);
	} else if (port >= 0xcfc && (p->addr & 0x80000000u) && !((p->addr >> 16) & 0xff)) {
		cfg_access(vm, p, (p->addr >> 11) & 0x1f, (p->addr >> 8) & 7,
			   (p->addr & 0xfc) + (port - 0xcfc), write, data, size, PCI_CFG_LEGACY);
	} else if (!write) {
		memset(data, 0xff, (size_t)size);
	}
	pthread_mutex_unlock(&p->lock);
}

/* A port of the I/O window: the device whose I/O BAR decodes it answers; nobody's reads as ones. */
static void pci_bar_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data,
		       int size)
{
	struct vmm_pci *p = dev;

	pthread_mutex_lock(&p->lock);
	for (int s = 1; s < PCI_SLOTS; s++) {
		struct vmm_pci_dev *d = p->dev[s];
		for (int b = 0; d && b < PCI_BARS; b++) {
			uint64_t at = d->bar_flags[b] & PCI_BAR_IO ? vmm_pci_bar(d, b) : 0;
			if (!at || port < at || (uint64_t)port + (unsigned)size > at + d->bar_size[b])
				continue;
			if (!write)
				memset(data, 0xff, (size_t)size);
			if (d->io_access)
				d->io_access(vm, d, b, (uint16_t)(port - at), write, data, size);
			pthread_mutex_unlock(&p->lock);
			return;
		}
	}
	pthread_mutex_unlock(&p->lock);
	if (!write)
		memset(data, 0xff, (size_t)size);
}

/* ECAM (PCI Express's enhanced configuration access, the MCFG table's window): bus 0's functions,
 * 4 KiB each, as memory. Linux reaches registers past 256 only this way. */
static void pci_ecam(struct vmm *vm, void *dev, uint64_t addr, bool write, uint8_t *data, int size)
{
	struct vmm_pci *p = dev;
	uint64_t off = addr - VMM_PCI_ECAM;
	unsigned reg = (unsigned)(off & 0xfff);

	if ((size != 1 && size != 2 && size != 4) || (reg & (unsigned)(size - 1))) {
		if (!write)	/* what no bus decodes: a split or unaligned access */
			memset(data, 0xff, (size_t)size);
		return;
	}
	pthread_mutex_lock(&p->lock);
	cfg_access(vm, p, (unsigned)(off >> 15) & 0x1f, (unsigned)(off >> 12) & 7, reg, write, data,
		   size, PCI_CFG_SIZE);
	pthread_mutex_unlock(&p->lock);
}

static void pci_destroy(struct vmm *vm, void *priv)
{
	(void)vm;
	free(priv);
}

/* The bus: its address register and the host bridge's config space. A device on it saves its own
 * config space with its state; none can yet (virtio, VFIO), and their VMs are refused first. */
static int pci_save(struct vmm *vm, void *priv, void **buf, size_t *len)
{
	struct vmm_pci *p = priv;
	uint8_t *b = malloc(4 + PCI_CFG_SIZE);

	(void)vm;
	if (!b)
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	for (int i = 1; i < PCI_SLOTS; i++)	/* 0: the host bridge */
		if (p->dev[i]) {
			pthread_mutex_unlock(&p->lock);
			free(b);
			return -ENOTSUP;
		}
	memcpy(b, &p->addr, 4);
	memcpy(b + 4, p->host.cfg, PCI_CFG_SIZE);
	pthread_mutex_unlock(&p->lock);
	*buf = b;
	*len = 4 + PCI_CFG_SIZE;
	return 0;
}

static int pci_load(struct vmm *vm, void *priv, const void *buf, size_t len)
{
	struct vmm_pci *p = priv;
	uint8_t cfg[PCI_CFG_SIZE];

	(void)vm;
	if (len != 4 + PCI_CFG_SIZE)
		return -EINVAL;
	memcpy(cfg, (const uint8_t *)buf + 4, PCI_CFG_SIZE);
	pthread_mutex_lock(&p->lock);
	/* only what the guest may write changes: the rest is the bridge's identity */
	for (int i = 0; i < PCI_CFG_SIZE; i++)
		p->host.cfg[i] = (uint8_t)((p->host.cfg[i] & ~p->host.wmask[i]) |
					   (cfg[i] & p->host.wmask[i]));
	memcpy(&p->addr, buf, 4);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static const struct vmm_device_ops pci_device = { .kind = "pci", .destroy = pci_destroy,
						  .save = pci_save, .load = pci_load };

/* An I/O BAR in the I/O window: 4 to 256 ports, aligned to its size; I/O decoding writable. */
static int place_io(struct vmm_pci *p, struct vmm_pci_dev *d, int b, char *err, size_t errlen)
{
	uint64_t sz = d->bar_size[b];
	uint32_t at = (uint32_t)((p->next_io + sz - 1) & ~(sz - 1));

	if ((sz & (sz - 1)) || sz < 4 || sz > 256 || !d->io_access || at + sz > VMM_PCI_IO_END) {
		snprintf(err, errlen, "%s: I/O BAR%d of %llu ports does not fit the I/O window",
			 d->name, b, (unsigned long long)sz);
		return -ENOSPC;
	}
	memcpy(d->cfg + PCI_BAR0 + 4 * b, &at, 4);
	memset(d->wmask + PCI_BAR0 + 4 * b, 0xff, 4);
	bar_settle(d, b);
	p->next_io = at + (uint32_t)sz;
	d->wmask[PCI_COMMAND] |= PCI_COMMAND_IO;
	return 0;
}

/* The expansion ROM in the 32-bit window, its enable bit off (the guest's to set). */
static int place_rom(struct vmm_pci *p, struct vmm_pci_dev *d, char *err, size_t errlen)
{
	uint64_t sz = d->rom_size, at = (p->next_bar + sz - 1) & ~(sz - 1);

	if ((sz & (sz - 1)) || sz < 2048 || at + sz > VMM_PCI_WINDOW_END) {
		snprintf(err, errlen, "%s: an expansion ROM of %llu bytes does not fit the PCI window",
			 d->name, (unsigned long long)sz);
		return -ENOSPC;
	}
	uint32_t reg = (uint32_t)at;
	memcpy(d->cfg + PCI_ROM_REG, &reg, 4);
	memset(d->wmask + PCI_ROM_REG, 0xff, 4);
	bar_settle(d, PCI_ROM);
	p->next_bar = at + sz;
	return 0;
}

int vmm_pci_add(struct vmm *vm, struct vmm_pci_dev *d, char *err, size_t errlen)
{
	struct vmm_pci *p = vmm_device_get(vm, &pci_device, 0);
	int slot = 1, rc;

	while (slot < PCI_SLOTS && p->dev[slot])
		slot++;
	if (slot == PCI_SLOTS) {
		snprintf(err, errlen, "%s: the PCI bus is full (%d slots)", d->name, PCI_SLOTS - 1);
		return -ENOSPC;
	}
	for (int b = 0; b < PCI_BARS; b++) {
		uint64_t sz = d->bar_size[b];
		bool wide = d->bar_flags[b] & PCI_BAR_MEM64;
		if (!sz)
			continue;
		if (d->bar_flags[b] & PCI_BAR_IO) {
			if ((rc = place_io(p, d, b, err, errlen)) < 0)
				return rc;
			continue;
		}
		uint64_t at = (p->next_bar + sz - 1) & ~(sz - 1);
		uint64_t *next = &p->next_bar;
		/* a 64-bit BAR goes above 4 GiB when it is big or the 32-bit window is full (as
		 * SeaBIOS places them); small ones stay below, where any guest reaches them */
		if (wide && (sz >= VMM_PCI_HIGH_BAR || at + sz > VMM_PCI_WINDOW_END)) {
			next = &p->next_bar64;
			at = (p->next_bar64 + sz - 1) & ~(sz - 1);
		}
		if ((sz & (sz - 1)) || sz < 16 || at + sz > (wide ? p->end64 : VMM_PCI_WINDOW_END) ||
		    at + sz < at || (wide && (b + 1 >= PCI_BARS || d->bar_size[b + 1]))) {
			snprintf(err, errlen, "%s: BAR%d of %llu bytes does not fit the PCI window%s",
				 d->name, b, (unsigned long long)sz, wide ? "s" : "");
			return -ENOSPC;
		}
		uint64_t v = at;
		memcpy(d->cfg + PCI_BAR0 + 4 * b, &v, wide ? 8 : 4);
		memset(d->wmask + PCI_BAR0 + 4 * b, 0xff, wide ? 8 : 4);
		bar_settle(d, b);
		*next = at + sz;
		b += wide;	/* its upper half is no BAR of its own */
	}
	if (d->rom_size && (rc = place_rom(p, d, err, errlen)) < 0)
		return rc;
	d->wmask[PCI_COMMAND] |= 0x06;	/* memory space, bus master */
	d->wmask[PCI_COMMAND + 1] |= 0x04;	/* INTx disable */
	d->wmask[0x3c] = 0xff;		/* interrupt line: the guest's to note */
	d->slot = slot;
	pthread_mutex_lock(&p->lock);
	p->dev[slot] = d;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

uint64_t vmm_pci64_window(const struct vmm_mem *m)
{
	return (VMM_4G + m->high + (1ull << 30) - 1) & ~((1ull << 30) - 1);
}

static void pci_setup(struct vmm *vm, struct vmm_pci *p)
{
	pthread_mutex_init(&p->lock, NULL);
	host_bridge(&p->host);
	p->dev[0] = &p->host;
	p->next_bar = VMM_PCI_WINDOW;
	p->next_io = VMM_PCI_IO_WINDOW;
	p->next_bar64 = vmm_pci64_window(&vm->mem);
	p->end64 = p->next_bar64 + VMM_PCI64_SIZE;
}

int vmm_pci_init(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_pci *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	if ((rc = vmm_device_add(vm, &pci_device, p)) < 0) {
		free(p);
		return rc;
	}
	pci_setup(vm, p);
	if ((rc = vmm_pio_register(vm, "pci-config", 0xcf8, 8, pci_io, p)) < 0 ||
	    (rc = vmm_pio_coalesce(vm, 0xcf8, 4)) < 0) {
		snprintf(err, errlen, "PCI configuration ports 0xcf8-0xcff: %s", strerror(-rc));
		return rc;
	}
	if ((rc = vmm_pio_register(vm, "pci-io", VMM_PCI_IO_WINDOW,
				   VMM_PCI_IO_END - VMM_PCI_IO_WINDOW, pci_bar_io, p)) < 0) {
		snprintf(err, errlen, "PCI I/O window 0x%x-0xffff: %s", VMM_PCI_IO_WINDOW,
			 strerror(-rc));
		return rc;
	}
	if ((rc = vmm_mmio_register(vm, "pci-ecam", VMM_PCI_ECAM, VMM_PCI_ECAM_SIZE, pci_ecam,
				    p)) < 0) {
		snprintf(err, errlen, "PCI ECAM window at 0x%llx: %s",
			 (unsigned long long)VMM_PCI_ECAM, strerror(-rc));
		return rc;
	}
	return 0;
}
