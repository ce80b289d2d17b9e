/* platform: the small PC devices test kernels and Linux expect, QEMU-compatible where QEMU has a convention:
 * debug-exit (0xf4), pc-testdev (0xe0-0xe7, 0x2000+n, MMIO 0xff000000), POST port 0x80, CMOS/RTC, fw_cfg
 * (0x510), the ACPI PM block (0x600) and its sleep states. The PCI bus is pci.c. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "vmm/vm.h"

#define TESTDEV_MMIO VMM_TESTDEV_MMIO
#define TESTDEV_MMIO_LEN 0x10000
#define TESTDEV_IRQS 24
#define PM_BASE 0x600
#define PM_TMR_HZ 3579545ull
#define SLP_EN (1u << 13)
#define SLP_TYP(cnt) (((cnt) >> 10) & 7)
#define SLP_TYP_S3 1		/* the values of the DSDT's _S3 and _S5 packages (tables.c) */
#define SLP_TYP_S5 5
#define PM1_WAK_STS (1u << 15)
#define PM1_RTC_STS (1u << 10)
#define RTC_REG_B_AIE 0x20
#define RTC_REG_C_IRQF_AF 0xa0

struct vmm_platform {
	pthread_mutex_t lock;
	uint8_t scratch[4];
	uint8_t iomem[TESTDEV_MMIO_LEN];
	uint8_t cmos_index, cmos[128];
	uint16_t fwcfg_key;
	uint32_t fwcfg_off;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
};

static void le(uint8_t *data, int size, uint64_t v)
{
	for (int i = 0; i < size; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t val(const uint8_t *data, int size)
{
	uint64_t v = 0;

	for (int i = 0; i < size && i < 8; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

/* isa-debug-exit: the guest's value v ends the VM with status (v << 1) | 1. */
static void debug_exit_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	(void)dev, (void)port;
	if (write)
		vmm_end(vm, VMM_END_DEBUG_EXIT, (int)val(data, size));
	else
		memset(data, 0xff, (size_t)size);
}

static void sink_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	(void)vm, (void)dev, (void)port;
	if (!write)
		memset(data, 0xff, (size_t)size);
}

static void testdev_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_platform *p = dev;

	if (port >= 0x2000) {	/* raise (1) or lower (0) ISA IRQ line n */
		if (write && port - 0x2000 < TESTDEV_IRQS)
			vmm_irq_line(vm, port - 0x2000, (int)(val(data, size) & 1));
		else if (!write)
			memset(data, 0, (size_t)size);
		return;
	}
	if (port >= 0xe4) {	/* flush: nothing is cached here */
		if (!write)
			memset(data, 0, (size_t)size);
		return;
	}
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < size; i++) {
		int k = (port - 0xe0 + i) & 3;
		if (write)
			p->scratch[k] = data[i];
		else
			data[i] = p->scratch[k];
	}
	pthread_mutex_unlock(&p->lock);
}

static void testdev_mmio(struct vmm *vm, void *dev, uint64_t addr, bool write, uint8_t *data, int size)
{
	struct vmm_platform *p = dev;
	uint64_t off = addr - TESTDEV_MMIO;

	(void)vm;
	if (off + (uint64_t)size > TESTDEV_MMIO_LEN) {	/* straddles the end: all-ones, nothing written */
		if (!write)
			memset(data, 0xff, (size_t)size);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (write)
		memcpy(p->iomem + off, data, (size_t)size);
	else
		memcpy(data, p->iomem + off, (size_t)size);
	pthread_mutex_unlock(&p->lock);
}

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t cmos_read(struct vmm_platform *p, uint8_t idx)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (idx) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd(19 + tm.tm_year / 100);
	case 0x0c: {	/* interrupt flags: reading clears them */
		uint8_t c = p->cmos[0x0c];
		p->cmos[0x0c] = 0;
		return c;
	}
	default: return idx < sizeof(p->cmos) ? p->cmos[idx] : 0xff;
	}
}

/* The clock itself follows the host; the alarm (0x01, 0x03, 0x05), registers A and B, and the NVRAM keep what
 * the guest writes. */
static bool cmos_writable(uint8_t idx)
{
	return idx == 0x01 || idx == 0x03 || idx == 0x05 || idx == 0x0a || idx == 0x0b || idx >= 0x0e;
}

static void cmos_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_platform *p = dev;

	(void)vm, (void)size;
	pthread_mutex_lock(&p->lock);
	if (port == 0x70 && write)
		p->cmos_index = data[0] & 0x7f;	/* bit 7 is the NMI mask */
	else if (port == 0x71 && write && cmos_writable(p->cmos_index))
		p->cmos[p->cmos_index] = data[0];
	else if (port == 0x71 && !write)
		data[0] = cmos_read(p, p->cmos_index);
	else if (!write)
		data[0] = 0xff;
	pthread_mutex_unlock(&p->lock);
}

/* CMOS memory-size bytes, as SeaBIOS and QEMU set them. */
static void cmos_init(struct vmm *vm, struct vmm_platform *p)
{
	uint64_t ext = vm->mem.low > (16u << 20) ? (vm->mem.low - (16u << 20)) >> 16 : 0;
	uint64_t kb = vm->mem.low > (1u << 20) ? (vm->mem.low - (1u << 20)) >> 10 : 0;
	uint64_t high = vm->mem.high >> 16;

	p->cmos[0x0a] = 0x26;
	p->cmos[0x0b] = 0x02;	/* 24-hour, BCD */
	p->cmos[0x0d] = 0x80;	/* RAM and time valid */
	p->cmos[0x15] = 0x80, p->cmos[0x16] = 0x02;	/* 640 KiB base memory */
	kb = kb > 0xffff ? 0xffff : kb;
	p->cmos[0x17] = p->cmos[0x30] = (uint8_t)kb, p->cmos[0x18] = p->cmos[0x31] = (uint8_t)(kb >> 8);
	ext = ext > 0xffff ? 0xffff : ext;
	p->cmos[0x34] = (uint8_t)ext, p->cmos[0x35] = (uint8_t)(ext >> 8);
	p->cmos[0x5b] = (uint8_t)high, p->cmos[0x5c] = (uint8_t)(high >> 8), p->cmos[0x5d] = (uint8_t)(high >> 16);
	p->cmos[0x5f] = (uint8_t)(vm->ncpus - 1);
}

/* fw_cfg items: QEMU's keys (docs/specs/fw_cfg.txt). */
static int fwcfg_item(struct vmm *vm, uint16_t key, uint8_t *buf)
{
	uint64_t v;

	switch (key) {
	case 0x00: memcpy(buf, "QEMU", 4); return 4;		/* signature */
	case 0x01: le(buf, 4, 1); return 4;			/* ID: traditional interface */
	case 0x03: le(buf, 8, vm->mem.size); return 8;		/* RAM size */
	case 0x05: le(buf, 2, (uint64_t)vm->ncpus); return 2;	/* CPU count */
	case 0x0f: le(buf, 2, (uint64_t)vm->ncpus); return 2;	/* max CPUs */
	case 0x0e: v = 0; le(buf, 8, v); return 8;		/* NUMA: none */
	default: return 0;
	}
}

static void fwcfg_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_platform *p = dev;
	uint8_t item[16];

	pthread_mutex_lock(&p->lock);
	if (port == 0x510 && write) {
		p->fwcfg_key = (uint16_t)val(data, size);
		p->fwcfg_off = 0;
	} else if (port == 0x511 && !write) {
		int n = fwcfg_item(vm, p->fwcfg_key, item);
		for (int i = 0; i < size; i++, p->fwcfg_off++)
			data[i] = p->fwcfg_off < (uint32_t)n ? item[p->fwcfg_off] : 0;
	} else if (!write) {
		memset(data, 0, (size_t)size);
	}
	pthread_mutex_unlock(&p->lock);
}

/* ACPI PM: PM1a event (0x600), control (0x604; SLP_EN powers off), timer (0x608, 24 bits at 3.579545 MHz). */
static void pm_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_platform *p = dev;
	unsigned off = port - PM_BASE;

	if (off >= 8 && !write) {
		uint64_t ticks = (vmm_now_ns() - vm->start_ns) * PM_TMR_HZ / 1000000000ull;
		le(data, size, (ticks & 0xffffff) >> (8 * (off - 8)));
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (off == 4 && write) {
		p->pm1_cnt = (uint16_t)val(data, size);
		if (p->pm1_cnt & SLP_EN) {
			unsigned typ = SLP_TYP(p->pm1_cnt);
			p->pm1_cnt &= (uint16_t)~SLP_EN;	/* self-clearing */
			pthread_mutex_unlock(&p->lock);
			if (typ == SLP_TYP_S5)
				vmm_end(vm, VMM_END_RESET, 0);	/* power-off: a clean end, like a reset */
			else if (typ == SLP_TYP_S3)
				vmm_suspend(vm);
			return;
		}
	} else if (off == 0 && write) {
		p->pm1_sts &= (uint16_t)~val(data, size);	/* write 1 to clear */
	} else if (off == 4 || off == 5) {
		le(data, size, (p->pm1_cnt | 1) >> (8 * (off - 4)));	/* SCI_EN: ACPI mode, no SMI handshake */
	} else if (off == 2 && write) {
		p->pm1_en = (uint16_t)val(data, size);
	} else if (!write) {
		le(data, size, off == 2 ? p->pm1_en : off == 0 ? p->pm1_sts : 0);
	}
	pthread_mutex_unlock(&p->lock);
}

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
	return (alarm & 0xc0) == 0xc0 || alarm == now;	/* 0xc0-0xff: "don't care" */
}

/* S3 wake events: the RTC alarm, when the guest enabled its interrupt (as QEMU's RTC wakes a guest). */
bool vmm_platform_wake_due(struct vmm *vm)
{
	struct vmm_platform *p = vm->platform;
	bool due;

	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	due = (p->cmos[0x0b] & RTC_REG_B_AIE) && alarm_field_matches(p->cmos[0x01], cmos_read(p, 0x00)) &&
	      alarm_field_matches(p->cmos[0x03], cmos_read(p, 0x02)) &&
	      alarm_field_matches(p->cmos[0x05], cmos_read(p, 0x04));
	if (due) {
		p->cmos[0x0c] |= RTC_REG_C_IRQF_AF;
		p->pm1_sts |= PM1_RTC_STS;
	}
	pthread_mutex_unlock(&p->lock);
	return due;
}

void vmm_platform_woken(struct vmm *vm)
{
	struct vmm_platform *p = vm->platform;

	pthread_mutex_lock(&p->lock);
	p->pm1_sts |= PM1_WAK_STS;
	pthread_mutex_unlock(&p->lock);
}

static const struct {
	const char *name; uint16_t base, len; vmm_pio_fn fn; bool needs_state;
} pio_devices[] = {
	{ "debug-exit", 0xf4, 4, debug_exit_io, false },
	{ "post", 0x80, 1, sink_io, false },
	{ "testdev", 0xe0, 8, testdev_io, true },
	{ "testdev-irq", 0x2000, TESTDEV_IRQS, testdev_io, true },
	{ "dma-page", 0x81, 15, sink_io, false },	/* Linux reads 0x87; no ISA DMA here */
	{ "superio", 0x2e, 2, sink_io, false },		/* probed by Linux's watchdog and serial drivers: none */
	{ "superio", 0x4e, 2, sink_io, false },
	{ "cmos", 0x70, 2, cmos_io, true },
	{ "fw_cfg", 0x510, 2, fwcfg_io, true },
	{ "acpi-pm", PM_BASE, 12, pm_io, true },
};

int vmm_platform_init(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_platform *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	vm->platform = p;
	pthread_mutex_init(&p->lock, NULL);
	cmos_init(vm, p);
	for (size_t i = 0; i < sizeof(pio_devices) / sizeof(pio_devices[0]); i++) {
		if ((rc = vmm_pio_register(vm, pio_devices[i].name, pio_devices[i].base, pio_devices[i].len,
					   pio_devices[i].fn, pio_devices[i].needs_state ? p : NULL)) < 0) {
			snprintf(err, errlen, "device %s at port 0x%x: %s", pio_devices[i].name, pio_devices[i].base,
				 strerror(-rc));
			return rc;
		}
	}
	if ((rc = vmm_pio_coalesce(vm, 0x70, 1)) < 0) {
		snprintf(err, errlen, "KVM_REGISTER_COALESCED_MMIO for the CMOS index port: %s", strerror(-rc));
		return rc;
	}
	if ((rc = vmm_mmio_register(vm, "testdev-iomem", TESTDEV_MMIO, TESTDEV_MMIO_LEN, testdev_mmio, p)) < 0 ||
	    (rc = vmm_acpi_build(vm)) < 0 || (rc = vmm_mptable_build(vm)) < 0) {
		snprintf(err, errlen, "platform tables: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

void vmm_platform_free(struct vmm *vm)
{
	free(vm->platform);
	vm->platform = NULL;
}
