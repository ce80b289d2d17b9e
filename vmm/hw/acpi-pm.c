/* acpi-pm: the ACPI PM1 block at 0x600 our FADT describes (tables.c): event status and enable
 * (0x600), control (0x604: SLP_EN with the DSDT's _S5 type powers off, _S3's suspends), and the PM
 * timer (0x608, 24 bits at 3.579545 MHz from the VM's start). Waking from S3 sets WAK_STS, and
 * RTC_STS when the RTC alarm woke it. The fixed power button (ACPI 4.8.2.2.1): a press sets
 * PWRBTN_STS, and while its enable bit is set too the SCI (IRQ 9, level) is raised until the guest
 * clears the status: `nestvisor stop` asks a guest to power off this way. */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/errmsg.h"
#include "vmm/hw/io.h"
#include "vmm/vm.h"

#define PM_BASE 0x600
#define PM_TMR_HZ 3579545ull
#define SLP_EN (1u << 13)
#define SLP_TYP(cnt) (((cnt) >> 10) & 7)
#define SLP_TYP_S3 1		/* the values of the DSDT's _S3 and _S5 packages (tables.c) */
#define SLP_TYP_S5 5
#define PM1_WAK_STS (1u << 15)
#define PM1_RTC_STS (1u << 10)
#define PM1_PWRBTN (1u << 8)	/* PWRBTN_STS and PWRBTN_EN: the same bit in status and enable */
#define SCI_IRQ 9		/* the FADT's SCI_INT */

struct pm_regs {
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	bool sci;		/* the level the SCI line was last set to */
};

struct vmm_pm {
	pthread_mutex_t lock;
	struct pm_regs r;	/* what the guest sees: a snapshot saves it */
};

/* The SCI follows an enabled event's status (under lock). */
static void sci_update(struct vmm *vm, struct vmm_pm *p)
{
	bool level = p->r.pm1_sts & p->r.pm1_en & PM1_PWRBTN;

	if (level != p->r.sci) {
		p->r.sci = level;
		vmm_irq_line(vm, SCI_IRQ, level);
	}
}

/* ACPI PM: PM1a event (0x600), control (0x604; SLP_EN powers off), timer (0x608, 24 bits
 * at 3.579545 MHz). */
static void pm_io(struct vmm *vm, void *dev, uint16_t port, bool write, uint8_t *data, int size)
{
	struct vmm_pm *p = dev;
	unsigned off = port - PM_BASE;

	if (off >= 8 && !write) {
		uint64_t ticks = (vmm_now_ns() - vm->start_ns) * PM_TMR_HZ / 1000000000ull;
		io_put(data, size, (ticks & 0xffffff) >> (8 * (off - 8)));
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (off == 4 && write) {
		p->r.pm1_cnt = (uint16_t)io_get(data, size);
		if (p->r.pm1_cnt & SLP_EN) {
			unsigned typ = SLP_TYP(p->r.pm1_cnt);
			p->r.pm1_cnt &= (uint16_t)~SLP_EN;	/* self-clearing */
			pthread_mutex_unlock(&p->lock);
			if (typ == SLP_TYP_S5)
				vmm_end(vm, VMM_END_POWEROFF, 0);	/* a clean end */
			else if (typ == SLP_TYP_S3)
				vmm_suspend(vm);
			return;
		}
	} else if (off == 0 && write) {
		p->r.pm1_sts &= (uint16_t)~io_get(data, size);	/* write 1 to clear */
		sci_update(vm, p);
	} else if (off == 4 || off == 5) {
		io_put(data, size,
		       (p->r.pm1_cnt | 1) >>
			       (8 * (off - 4))); /* SCI_EN: ACPI mode, no SMI handshake */
	} else if (off == 2 && write) {
		p->r.pm1_en = (uint16_t)io_get(data, size);
		sci_update(vm, p);
	} else if (!write) {
		io_put(data, size, off == 2 ? p->r.pm1_en : off == 0 ? p->r.pm1_sts : 0);
	}
	pthread_mutex_unlock(&p->lock);
}

static void pm_destroy(struct vmm *vm, void *priv)
{
	(void)vm;
	free(priv);
}

static int pm_save(struct vmm *vm, void *priv, void **buf, size_t *len)
{
	struct vmm_pm *p = priv;

	(void)vm;
	return vmm_state_save(&p->lock, &p->r, sizeof(p->r), buf, len);
}

static bool regs_valid(const void *copy)
{
	return vmm_state_bool_ok(&((const struct pm_regs *)copy)->sci);
}

static int pm_load(struct vmm *vm, void *priv, const void *buf, size_t len)
{
	struct vmm_pm *p = priv;

	(void)vm;
	return vmm_state_load(&p->lock, &p->r, sizeof(p->r), buf, len, regs_valid);
}

static const struct vmm_device_ops pm_device = { .kind = "acpi-pm", .destroy = pm_destroy,
						 .save = pm_save, .load = pm_load };

/* S3 wake events: the RTC alarm (cmos.c) */
bool vmm_platform_wake_due(struct vmm *vm)
{
	struct vmm_pm *p = vmm_device_get(vm, &pm_device, 0);

	if (!p || !vmm_cmos_alarm_due(vm))
		return false;
	pthread_mutex_lock(&p->lock);
	p->r.pm1_sts |= PM1_RTC_STS;
	pthread_mutex_unlock(&p->lock);
	return true;
}

void vmm_platform_woken(struct vmm *vm)
{
	struct vmm_pm *p = vmm_device_get(vm, &pm_device, 0);

	pthread_mutex_lock(&p->lock);
	p->r.pm1_sts |= PM1_WAK_STS;
	pthread_mutex_unlock(&p->lock);
}

int vmm_power_button(struct vmm *vm)
{
	struct vmm_pm *p = vmm_device_get(vm, &pm_device, 0);
	int rc = 0;

	if (!p)
		return -ENODEV;
	pthread_mutex_lock(&p->lock);
	if (!(p->r.pm1_en & PM1_PWRBTN))
		rc = -EAGAIN;	/* no OS has asked for the button's events: no one would see it */
	else {
		p->r.pm1_sts |= PM1_PWRBTN;
		sci_update(vm, p);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int vmm_pm_init(struct vmm *vm, char *err, size_t errlen)
{
	struct vmm_pm *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	if ((rc = vmm_device_add(vm, &pm_device, p)) < 0) {
		free(p);
		return rc;
	}
	pthread_mutex_init(&p->lock, NULL);
	if ((rc = vmm_pio_register(vm, "acpi-pm", PM_BASE, 12, pm_io, p)) < 0)
		return errmsg(err, errlen, rc, "device acpi-pm at port 0x%x: %s", PM_BASE,
			      strerror(-rc));
	return 0;
}
