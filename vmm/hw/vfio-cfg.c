/* vfio-cfg: a passed-through device's config space as the guest sees it, and its interrupts. The
 * guest reads the device's own registers except where we must stand between: the BARs and the ROM
 * (placed by our bus), the command register (ours first, then handed on), the capability links,
 * the interrupt line, and the MSI and MSI-X capabilities, whose messages we keep and turn into KVM
 * routes and irqfds. */
#include "config.h"
#include <errno.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "vmm/hw/vfio.h"
#include "vmm/vm.h"

#define PAGE 4096u
#define CAP_ID_MSI 0x05
#define MSIX_ENABLE 0x8000
#define MSIX_MASKALL 0x4000

static uint32_t rd(const uint8_t *p, int size)
{
	uint32_t v = 0;

	memcpy(&v, p, (size_t)size);
	return v;
}

/* What the guest's driver does to its interrupts and config space can fail the same way each time
 * it retries: said once per device, so that a guest cannot flood the log */
#define irq_warn(v, fmt, ...)                                                                  \
	do {                                                                                   \
		if (!(v)->warned)                                                              \
			vmm_warn((v)->vm, "device %s: " fmt " (said once)", (v)->bdf,          \
				 __VA_ARGS__);                                                 \
		(v)->warned = true;                                                            \
	} while (0)

static void emulate(struct vmm_vfio *v, unsigned from, unsigned len)
{
	memset(v->emulated + from, 1, len);
}

/* One VFIO_DEVICE_SET_IRQS: the eventfds fds[0..count) for index's vectors from 0 (count 0, no fds:
 * that interrupt type off), or action UNMASK's one eventfd. */
static int set_irqs(struct vmm_vfio *v, unsigned index, unsigned action, const int *fds,
		    unsigned count)
{
	size_t sz = sizeof(struct vfio_irq_set) + sizeof(int) * count;
	struct vfio_irq_set *s = calloc(1, sz);
	int rc = 0;

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->flags = action | (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	s->index = index;
	s->count = count;
	if (count)
		memcpy(s->data, fds, sizeof(int) * count);
	if (ioctl(v->fd, VFIO_DEVICE_SET_IRQS, s) < 0)
		rc = -errno;
	free(s);
	__atomic_add_fetch(&v->interrupts_set, 1, __ATOMIC_RELAXED);
	return rc;
}

static int irqfd(struct vmm_vfio *v, int fd, int gsi, int resample, bool on)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = (uint32_t)gsi };

	if (!on)
		f.flags = KVM_IRQFD_FLAG_DEASSIGN;
	else if (resample >= 0) {
		f.flags = KVM_IRQFD_FLAG_RESAMPLE;
		f.resamplefd = (uint32_t)resample;
	}
	return ioctl(v->vm->fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

/* INTx: the device's line raises the GSI its slot's pin is routed to (the DSDT's _PRT); the guest's
 * EOI lowers it and lets VFIO unmask the line (the resample eventfd). */
static void intx_set(struct vmm_vfio *v, bool on)
{
	int rc = 0;

	if (v->intx_gsi < 0 || on == v->intx_on)
		return;
	if (on) {
		if ((rc = set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER,
				   &v->intx_efd, 1)) == 0 &&
		    (rc = set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK,
				   &v->intx_resample, 1)) == 0)
			rc = irqfd(v, v->intx_efd, v->intx_gsi, v->intx_resample, true);
	} else {
		irqfd(v, v->intx_efd, v->intx_gsi, -1, false);
		rc = set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	}
	if (rc < 0)
		irq_warn(v, "INTx %s: %s", on ? "on" : "off", strerror(-rc));
	v->intx_on = on && rc == 0;
}

/* INTx serves while neither MSI nor MSI-X is on. */
static void intx_unless_msi(struct vmm_vfio *v)
{
	intx_set(v, !v->msi_on && !v->msix_on);
}

/* One message's irqfd: assigned on its KVM route while wanted, the route following the message. */
static void vector_wire(struct vmm_vfio *v, struct vfio_vector *e, bool want, const char *what)
{
	if (want) {
		int gsi = vmm_msi_route_set(v->vm, e->gsi, e->addr_lo, e->addr_hi, e->data);
		if (gsi < 0) {
			irq_warn(v, "%s: no route (%s)", what, strerror(-gsi));
			return;
		}
		e->gsi = gsi;
		if (!e->live && irqfd(v, e->efd, gsi, -1, true) == 0)
			e->live = true;
	} else if (e->live) {
		irqfd(v, e->efd, e->gsi, -1, false);
		e->live = false;
	}
}

/* Under v->lock, after the guest wrote the MSI capability: VFIO's one MSI vector on or off with
 * the enable bit, its irqfd live while the message is set and not masked. */
static void msi_update(struct vmm_vfio *v)
{
	const uint8_t *c = v->pci.cfg + v->msi_cap;
	unsigned data = v->msi_64 ? 12 : 8;
	bool en = rd(c + 2, 2) & 1;
	struct vfio_vector *e = &v->msi;

	e->addr_lo = rd(c + 4, 4);
	e->addr_hi = v->msi_64 ? rd(c + 8, 4) : 0;
	e->data = rd(c + data, 2);
	e->ctrl = v->msi_maskable ? rd(c + data + 4, 4) & 1 : 0;
	if (en && !v->msi_on) {
		intx_set(v, false);	/* VFIO takes one interrupt type at a time */
		int rc = set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, &e->efd, 1);
		if (rc < 0)
			irq_warn(v, "MSI on: %s", strerror(-rc));
		v->msi_on = rc == 0;
		intx_unless_msi(v);
	}
	vector_wire(v, e, en && v->msi_on && !e->ctrl && e->addr_lo, "MSI");
	if (!en && v->msi_on) {
		set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
		v->msi_on = false;
		intx_unless_msi(v);
	}
}

/* Under v->lock, after the guest changed the MSI-X capability or table: VFIO's vectors on or off
 * with the enable bit, each vector's irqfd assigned while it is unmasked and has a message, its
 * KVM route following the message. A vector's interrupt while masked waits in its eventfd and is
 * delivered when the irqfd comes back (KVM looks at a new irqfd's eventfd at once). */
static void msix_update(struct vmm_vfio *v)
{
	uint16_t ctrl = (uint16_t)rd(v->pci.cfg + v->msix_cap + 2, 2);
	bool en = ctrl & MSIX_ENABLE, all_masked = ctrl & MSIX_MASKALL;

	if (en && !v->msix_on) {
		intx_set(v, false);	/* VFIO takes one interrupt type at a time */
		int *fds = calloc((size_t)v->msix_n, sizeof(int)), rc = -ENOMEM;
		if (fds) {
			for (int i = 0; i < v->msix_n; i++)
				fds[i] = v->vec[i].efd;
			rc = set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, fds,
				      (unsigned)v->msix_n);
			free(fds);
		}
		if (rc < 0)
			irq_warn(v, "MSI-X on: %s", strerror(-rc));
		v->msix_on = rc == 0;
		intx_unless_msi(v);
	}
	for (int i = 0; i < v->msix_n; i++) {
		struct vfio_vector *e = &v->vec[i];
		vector_wire(v, e, en && v->msix_on && !all_masked && !(e->ctrl & 1) && e->addr_lo,
			    "MSI-X vector");
	}
	if (!en && v->msix_on) {
		set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
		v->msix_on = false;
		intx_unless_msi(v);
	}
}

void vfio_msix_access(struct vmm_vfio *v, uint64_t off, bool write, uint8_t *data, int size)
{
	uint64_t tab = v->msix_table, tab_end = tab + 16ull * (unsigned)v->msix_n;

	pthread_mutex_lock(&v->lock);
	if (off >= tab && off < tab_end && (size == 4 || size == 8) && !(off & 3) &&
	    off + (unsigned)size <= tab_end) {
		struct vfio_vector *e = &v->vec[(off - tab) / 16];
		unsigned field = (unsigned)((off - tab) % 16);
		uint32_t words[4] = { e->addr_lo, e->addr_hi, e->data, e->ctrl };
		if (field + (unsigned)size <= 16) {
			if (write) {
				memcpy((uint8_t *)words + field, data, (size_t)size);
				e->addr_lo = words[0];
				e->addr_hi = words[1];
				e->data = words[2];
				e->ctrl = words[3] & 1;
				msix_update(v);
			} else {
				memcpy(data, (uint8_t *)words + field, (size_t)size);
			}
		}
	} else if (off >= tab && off < tab_end) {
		if (!write)
			memset(data, 0xff, (size_t)size);	/* what the spec leaves undefined */
	} else {	/* the PBA, or the rest of a trapped page: the device's */
		const struct vfio_bar *b = &v->bar[v->msix_bar];
		ssize_t n = write ? pwrite(v->fd, data, (size_t)size, (off_t)(b->offset + off)) :
				    pread(v->fd, data, (size_t)size, (off_t)(b->offset + off));
		if (n != size && !write)
			memset(data, 0xff, (size_t)size);
	}
	pthread_mutex_unlock(&v->lock);
}

/* Bytes the device answers are read from it now (its status, its capabilities' registers). */
static void config_read(struct vmm *vm, struct vmm_pci_dev *d, unsigned reg, uint8_t *data,
			int size)
{
	struct vmm_vfio *v = d->priv;
	uint8_t live[4];

	(void)vm;
	if (reg + (unsigned)size > v->cfg_size)
		return;
	for (int i = 0; i < size; i++)
		if (!v->emulated[reg + (unsigned)i]) {
			if (pread(v->fd, live, (size_t)size, (off_t)(v->cfg_offset + reg)) != size)
				memset(live, 0xff, sizeof(live));
			for (int j = 0; j < size; j++)
				if (!v->emulated[reg + (unsigned)j])
					data[j] = live[j];
			return;
		}
}

/* The MSI capability's bytes: 10 to 24 by its 64-bit and per-vector-mask bits. */
static unsigned msi_len(const struct vmm_vfio *v)
{
	return (v->msi_64 ? 14u : 10u) + (v->msi_maskable ? 10u : 0u);
}

static void config_written(struct vmm *vm, struct vmm_pci_dev *d, unsigned reg,
			   const uint8_t *data, int size)
{
	struct vmm_vfio *v = d->priv;
	unsigned msix_ctrl = (unsigned)v->msix_cap + 2;

	(void)vm;
	for (int i = 0; i < size && reg + (unsigned)i < v->cfg_size; i++) {
		unsigned r = reg + (unsigned)i;
		/* the command register is ours (decoding moves BARs) and the device's (bus
		 * mastering, its own decoding) */
		if ((!v->emulated[r] || r == 0x04 || r == 0x05) &&
		    pwrite(v->fd, data + i, 1, (off_t)(v->cfg_offset + r)) != 1)
			irq_warn(v, "config write at 0x%x: %s", r, strerror(errno));
	}
	if (v->pci.cfg[0x04] & 0x04)
		v->driven = true;
	if (v->msix_cap && reg < msix_ctrl + 2 && reg + (unsigned)size > msix_ctrl) {
		pthread_mutex_lock(&v->lock);
		msix_update(v);
		pthread_mutex_unlock(&v->lock);
	}
	if (v->msi_cap && reg < (unsigned)v->msi_cap + msi_len(v) &&
	    reg + (unsigned)size > (unsigned)v->msi_cap + 2) {
		pthread_mutex_lock(&v->lock);
		msi_update(v);
		pthread_mutex_unlock(&v->lock);
	}
}

/* The page-aligned range [from, from + len) a trapped hole of the MSI-X BAR. */
static void add_hole(struct vfio_bar *b, uint64_t from, uint64_t len)
{
	uint64_t s = from & ~(uint64_t)(PAGE - 1), e = (from + len + PAGE - 1) & ~(uint64_t)(PAGE - 1);

	if (b->nholes && s <= b->hole[b->nholes - 1][1] && e >= b->hole[b->nholes - 1][0]) {
		uint64_t *h = b->hole[b->nholes - 1];
		h[0] = s < h[0] ? s : h[0];
		h[1] = e > h[1] ? e : h[1];
		return;
	}
	if (b->nholes && s < b->hole[0][0]) {	/* kept in order */
		memcpy(b->hole[1], b->hole[0], sizeof(b->hole[0]));
		b->hole[0][0] = s, b->hole[0][1] = e;
	} else {
		b->hole[b->nholes][0] = s, b->hole[b->nholes][1] = e;
	}
	b->nholes++;
}

/* Whether the MSI-X capability at c is one we serve: its table and PBA in one memory BAR we give,
 * inside it. Another layout is unlinked like MSI, and INTx serves. */
static bool msix_usable(const struct vmm_vfio *v, int c)
{
	uint16_t ctrl = (uint16_t)rd(v->pci.cfg + c + 2, 2);
	uint32_t table = rd(v->pci.cfg + c + 4, 4), pba = rd(v->pci.cfg + c + 8, 4);
	int bir = (int)(table & 7), n = (ctrl & 0x7ff) + 1;

	return bir < PCI_BARS && (int)(pba & 7) == bir && v->pci.bar_size[bir] &&
	       (table & ~7u) + 16ull * (unsigned)n <= v->bar[bir].size &&
	       (pba & ~7u) + 8ull * (unsigned)((n + 63) / 64) <= v->bar[bir].size;
}

static int msix_setup(struct vmm_vfio *v, int c, char *err, size_t errlen)
{
	uint16_t ctrl = (uint16_t)rd(v->pci.cfg + c + 2, 2);
	uint32_t table = rd(v->pci.cfg + c + 4, 4), pba = rd(v->pci.cfg + c + 8, 4);
	int bir = (int)(table & 7), n = (ctrl & 0x7ff) + 1;
	struct vfio_bar *b = &v->bar[bir];

	if (!(v->vec = calloc((size_t)n, sizeof(*v->vec)))) {
		snprintf(err, errlen, "--device %s: out of memory", v->bdf);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		v->vec[i].ctrl = 1;	/* masked, as after reset */
		v->vec[i].gsi = -1;
		if ((v->vec[i].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
			int rc = -errno;
			snprintf(err, errlen, "--device %s: eventfd: %s", v->bdf, strerror(errno));
			v->msix_n = i;
			return rc;
		}
	}
	v->msix_cap = c;
	v->msix_bar = bir;
	v->msix_n = n;
	v->msix_table = table & ~7u;
	v->msix_pba = pba & ~7u;
	add_hole(b, v->msix_table, 16ull * (unsigned)n);
	add_hole(b, v->msix_pba, 8ull * (unsigned)((n + 63) / 64));
	emulate(v, (unsigned)c, 12);
	v->pci.cfg[c + 3] &= (uint8_t)~((MSIX_ENABLE | MSIX_MASKALL) >> 8);
	v->pci.wmask[c + 3] = (MSIX_ENABLE | MSIX_MASKALL) >> 8;
	return 0;
}

/* MSI at c, emulated whole and offered with one vector (Multiple Message Capable 0): its enable
 * bit, address, data and (where the device has them) mask bit are the guest's to write. */
static int msi_setup(struct vmm_vfio *v, int c, char *err, size_t errlen)
{
	uint8_t *cfg = v->pci.cfg;
	uint16_t ctrl = (uint16_t)rd(cfg + c + 2, 2);
	unsigned data;

	v->msi_64 = ctrl & 0x80;
	v->msi_maskable = ctrl & 0x100;
	v->msi.gsi = -1;
	if ((v->msi.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		int rc = -errno;
		snprintf(err, errlen, "--device %s: eventfd: %s", v->bdf, strerror(errno));
		return rc;
	}
	v->msi_cap = c;
	data = v->msi_64 ? 12 : 8;
	emulate(v, (unsigned)c + 2, msi_len(v) - 2);
	memset(cfg + c + 4, 0, msi_len(v) - 4);	/* as after reset */
	ctrl &= (uint16_t)~0x7f;		/* off; one vector capable, one enabled */
	memcpy(cfg + c + 2, &ctrl, 2);
	v->pci.wmask[c + 2] = 0x01;
	memset(v->pci.wmask + c + 4, 0xff, 4);
	v->pci.wmask[c + 4] = 0xfc;		/* dword-aligned */
	if (v->msi_64)
		memset(v->pci.wmask + c + 8, 0xff, 4);
	memset(v->pci.wmask + c + data, 0xff, 2);
	if (v->msi_maskable)
		v->pci.wmask[c + data + 4] = 0x01;
	return 0;
}

/* The capability list again, through our bytes (an MSI-X we cannot serve left out), every one as
 * the device has it; MSI and MSI-X ours to answer. */
static int caps_setup(struct vmm_vfio *v, char *err, size_t errlen)
{
	uint8_t *cfg = v->pci.cfg, *link = cfg + 0x34;
	int at = cfg[0x34] & 0xfc, msix = 0, msi = 0, rc;

	emulate(v, 0x34, 1);
	*link = 0;
	for (int n = 0; at >= 0x40 && at < 0x100 && n < 48; n++) {
		int next = cfg[at + 1] & 0xfc;
		bool msix_here = cfg[at] == PCI_CAP_ID_MSIX && msix_usable(v, at);
		if (msix_here)
			msix = at;
		/* an MSI capability running past the legacy space is none we know */
		bool msi_here = cfg[at] == CAP_ID_MSI && !msi &&
				at + (cfg[at + 3] & 1 ? 10 : 0) + (cfg[at + 2] & 0x80 ? 14 : 10) <=
					PCI_CFG_LEGACY;
		if (msi_here)
			msi = at;
		if ((cfg[at] != PCI_CAP_ID_MSIX || msix_here) && (cfg[at] != CAP_ID_MSI || msi_here)) {
			*link = (uint8_t)at;
			link = cfg + at + 1;
			emulate(v, (unsigned)at + 1, 1);
		}
		at = next;
	}
	*link = 0;
	if (!cfg[0x34])
		cfg[0x06] &= (uint8_t)~PCI_STATUS_CAP_LIST;
	if (msi && (rc = msi_setup(v, msi, err, errlen)) < 0)
		return rc;
	return msix ? msix_setup(v, msix, err, errlen) : 0;
}

int vfio_cfg_setup(struct vmm_vfio *v, char *err, size_t errlen)
{
	uint8_t *cfg = v->pci.cfg;

	if (pread(v->fd, cfg, v->cfg_size, (off_t)v->cfg_offset) != (ssize_t)v->cfg_size) {
		snprintf(err, errlen, "--device %s: reading its config space: %s", v->bdf,
			 strerror(errno));
		return -EIO;
	}
	if ((cfg[0x0e] & 0x7f) != 0) {
		snprintf(err, errlen, "--device %s: it is a PCI bridge: pass the devices behind it "
			 "instead", v->bdf);
		return -EINVAL;
	}
	for (int i = 0; i < PCI_BARS; i++) {
		uint32_t reg = rd(cfg + 0x10 + 4 * i, 4);
		uint64_t sz = v->bar[i].size;
		if (!sz)
			continue;
		if ((reg & 1) && (sz < 4 || sz > 256 || (sz & (sz - 1)))) {
			vmm_warn(v->vm, "device %s: I/O BAR%d of %llu ports is not given to the guest "
				 "(4 to 256, a power of two)", v->bdf, i, (unsigned long long)sz);
			continue;
		}
		v->pci.bar_size[i] = sz;
		v->pci.bar_flags[i] = (uint8_t)(reg & 1 ? PCI_BAR_IO :
						  reg & (PCI_BAR_MEM64 | PCI_BAR_PREFETCH));
		if (!(reg & 1) && (reg & PCI_BAR_MEM64))
			i++;
	}
	/* the ROM as VFIO reads it (a shadow copy where the device has none of its own) */
	uint64_t rom = v->bar[PCI_ROM].size;
	if (rom >= 2048 && !(rom & (rom - 1)))
		v->pci.rom_size = rom;
	memset(cfg + 0x10, 0, 0x28 - 0x10);	/* placed by our bus */
	memset(cfg + 0x30, 0, 4);
	cfg[0x3c] = 0;
	emulate(v, 0x04, 2);
	emulate(v, 0x10, 0x28 - 0x10);
	emulate(v, 0x30, 4);
	emulate(v, 0x3c, 2);
	cfg[0x04] = cfg[0x05] = 0;		/* decoding and bus mastering off until the guest */
	v->pci.config_read = config_read;
	v->pci.config_written = config_written;
	v->pci.io_access = vfio_io_access;
	return caps_setup(v, err, errlen);
}

/* After the bus gave it a slot: INTx as the DSDT's _PRT routes that slot's pin (tables.c). */
int vfio_intx_setup(struct vmm_vfio *v)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_INTX_IRQ_INDEX };
	int pin = v->pci.cfg[0x3d];

	if (pin < 1 || pin > 4 || ioctl(v->fd, VFIO_DEVICE_GET_IRQ_INFO, &info) < 0 ||
	    info.count < 1) {
		v->pci.cfg[0x3d] = 0;	/* no INTx: MSI-X only */
		return 0;
	}
	v->intx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->intx_resample = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->intx_efd < 0 || v->intx_resample < 0)
		return -errno;
	v->intx_gsi = 10 + (v->pci.slot + pin - 1) % 2;
	pthread_mutex_lock(&v->lock);
	intx_set(v, true);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

void vfio_irqs_teardown(struct vmm_vfio *v)
{
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < v->msix_n; i++) {
		struct vfio_vector *e = &v->vec[i];
		if (e->live)
			irqfd(v, e->efd, e->gsi, -1, false);
		if (e->gsi >= 0)
			vmm_msi_route_free(v->vm, e->gsi);
		if (e->efd >= 0)
			close(e->efd);
	}
	if (v->msix_on)
		set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	if (v->msi.live)
		irqfd(v, v->msi.efd, v->msi.gsi, -1, false);
	if (v->msi_on)
		set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	if (v->msi_cap && v->msi.gsi >= 0)
		vmm_msi_route_free(v->vm, v->msi.gsi);
	if (v->msi_cap && v->msi.efd >= 0)
		close(v->msi.efd);
	v->msi_cap = 0;
	v->msi_on = v->msix_on = false;
	intx_set(v, false);
	if (v->intx_efd >= 0)
		close(v->intx_efd);
	if (v->intx_resample >= 0)
		close(v->intx_resample);
	v->msix_n = 0;
	pthread_mutex_unlock(&v->lock);
}
