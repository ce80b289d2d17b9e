/* cmos: the MC146818 RTC and its NVRAM at ports 0x70/0x71. The clock follows the host's (UTC, BCD,
 * 24-hour); the alarm, registers A and B and the NVRAM keep what the guest writes; the memory-size
 * bytes are SeaBIOS's. The alarm is a wake event from S3 (acpi-pm.c asks). */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/errmsg.h"
#include "vmm/hw/io.h"
#include "vmm/vm.h"

#define RTC_REG_B_AIE 0x20
#define RTC_REG_C_IRQF_AF 0xa0

struct vmm_cmos {
	pthread_mutex_t lock;
	uint8_t index, cmos[128];
};

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t cmos_read(struct vmm_cmos *p, uint8_t idx)
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

/* The clock itself follows the host; the alarm (0x01, 0x03, 0x05), registers A and B, and the NVRAM
 * keep what the guest writes. */
static bool cmos_writable(uint8_t idx)
{
	return idx == 0x01 || idx == 0x03 || idx == 0x05 || idx == 0x0a || idx == 0x0b ||
		idx >= 0x0e;
}

static void cmos_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_cmos *p = dev;

	(void)vm;
	(void)size;
	pthread_mutex_lock(&p->lock);
	if (port == 0x70 && write)
		p->index = data[0] & 0x7f;	/* bit 7 is the NMI mask */
	else if (port == 0x71 && write && cmos_writable(p->index))
		p->cmos[p->index] = data[0];
	else if (port == 0x71 && !write)
		data[0] = cmos_read(p, p->index);
	else if (!write)
		data[0] = 0xff;
	pthread_mutex_unlock(&p->lock);
}

/* CMOS memory-size bytes, as SeaBIOS and QEMU set them. */
static void cmos_sizes(struct vmm *vm, struct vmm_cmos *p)
{
	uint64_t ext = vm->mem.low > (16u << 20) ? (vm->mem.low - (16u << 20)) >> 16 : 0;
	uint64_t kb = vm->mem.low > (1u << 20) ? (vm->mem.low - (1u << 20)) >> 10 : 0;
	uint64_t high = vm->mem.high >> 16;

	p->cmos[0x0a] = 0x26;
	p->cmos[0x0b] = 0x02;	/* 24-hour, BCD */
	p->cmos[0x0d] = 0x80;	/* RAM and time valid */
	p->cmos[0x15] = 0x80;
	p->cmos[0x16] = 0x02;	/* 640 KiB base memory */
	kb = kb > 0xffff ? 0xffff : kb;
	p->cmos[0x17] = p->cmos[0x30] = (uint8_t)kb;
	p->cmos[0x18] = p->cmos[0x31] = (uint8_t)(kb >> 8);
	ext = ext > 0xffff ? 0xffff : ext;
	p->cmos[0x34] = (uint8_t)ext;
	p->cmos[0x35] = (uint8_t)(ext >> 8);
	p->cmos[0x5b] = (uint8_t)high;
	p->cmos[0x5c] = (uint8_t)(high >> 8);
	p->cmos[0x5d] = (uint8_t)(high >> 16);
	p->cmos[0x5f] = (uint8_t)(vm->ncpus - 1);
}

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
	return (alarm & 0xc0) == 0xc0 || alarm == now;	/* 0xc0-0xff: "don't care" */
}

/* The alarm as an S3 wake event, when the guest enabled its interrupt (as QEMU's RTC wakes a
 * guest): its flag is then set in register C. */
static void cmos_destroy(struct vmm *vm, void *priv)
{
	(void)vm;
	free(priv);
}

/* A snapshot keeps the index and the 128 bytes (the clock's own follow the host's as they do) */
static int cmos_save(struct vmm *vm, void *priv, void **buf, size_t *len)
{
	struct vmm_cmos *p = priv;
	uint8_t b[1 + sizeof(p->cmos)];

	(void)vm;
	if (!(*buf = malloc(sizeof(b))))
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	b[0] = p->index;
	memcpy(b + 1, p->cmos, sizeof(p->cmos));
	pthread_mutex_unlock(&p->lock);
	memcpy(*buf, b, sizeof(b));
	*len = sizeof(b);
	return 0;
}

static int cmos_load(struct vmm *vm, void *priv, const void *buf, size_t len)
{
	struct vmm_cmos *p = priv;
	const uint8_t *b = buf;

	(void)vm;
	if (len != 1 + sizeof(p->cmos) || b[0] >= sizeof(p->cmos))
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	p->index = b[0];
	memcpy(p->cmos, b + 1, sizeof(p->cmos));
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static const struct vmm_device_ops cmos_device = { .kind = "cmos", .destroy = cmos_destroy,
						   .save = cmos_save, .load = cmos_load };

bool vmm_cmos_alarm_due(struct vmm *vm)
{
	struct vmm_cmos *p = vmm_device_get(vm, &cmos_device, 0);
	bool due;

	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	due = (p->cmos[0x0b] & RTC_REG_B_AIE) &&
		alarm_field_matches(p->cmos[0x01], cmos_read(p, 0x00)) &&
		alarm_field_matches(p->cmos[0x03], cmos_read(p, 0x02)) &&
		alarm_field_matches(p->cmos[0x05], cmos_read(p, 0x04));
	if (due)
		p->cmos[0x0c] |= RTC_REG_C_IRQF_AF;
	pthread_mutex_unlock(&p->lock);
	return due;
}

int vmm_cmos_init(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_cmos *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	if ((rc = vmm_device_add(vm, &cmos_device, p)) < 0) {
		free(p);
		return rc;
	}
	pthread_mutex_init(&p->lock, NULL);
	cmos_sizes(vm, p);
	if ((rc = vmm_pio_register(vm, "cmos", 0x70, 2, cmos_io, p)) < 0)
		return errmsg(err, errlen, rc, "device cmos at port 0x70: %s", strerror(-rc));
	if ((rc = vmm_pio_coalesce(vm, 0x70, 1)) < 0) /* the index port: a write needs no answer */
		return errmsg(err, errlen, rc,
			      "KVM_REGISTER_COALESCED_MMIO for the CMOS index port: %s",
			      strerror(-rc));
	return 0;
}
