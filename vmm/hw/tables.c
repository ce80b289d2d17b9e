/* tables: ACPI (RSDP in the 0xE0000 area, RSDT/XSDT, FADT with the PM timer, MADT, MCFG, FACS, a
 * DSDT with _S5 and the PCI root's windows) and the MP table, which describe the CPUs and the
 * platform to the guest. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include "vmm/hw/pci.h"
#include "vmm/vm.h"

#define ACPI_RSDP  0xe0000ull
#define ACPI_XSDT  0xe0040ull
#define ACPI_RSDT  0xe0080ull
#define ACPI_MCFG  0xe00c0ull	/* 60 bytes, before the FADT */
#define ACPI_FADT  0xe0100ull
#define ACPI_FACS  0xe0200ull	/* 64-byte aligned */
#define ACPI_DSDT  0xe0240ull
#define ACPI_MADT  0xe1000ull	/* after the DSDT's room: its _PRT routes 31 slots */
#define ACPI_SIZE  0x2000ull	/* from the RSDP to the MADT's end */
#define PRT_SLOTS  31		/* slot 0 is the host bridge's */
/* _PRT's Package (NumElements) is one byte; each entry is 13 bytes (aml_pci0) */
_Static_assert(PRT_SLOTS * 4 < 256, "_PRT has more entries than a Package's count holds");
#define MP_FLOAT   0xf0000ull
#define MP_CONFIG  0xf0010ull
#define LAPIC_ADDR 0xfee00000u
#define IOAPIC_ADDR 0xfec00000u
#define PM_BASE 0x600

static void put(uint8_t *t, size_t off, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		t[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static uint8_t checksum(const uint8_t *t, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + t[i]);
	return (uint8_t)-s;
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put(t, 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, "NESTVM", 6);
	memcpy(t + 16, "NESTVISR", 8);
	put(t, 24, 1, 4);
	memcpy(t + 28, "NVMM", 4);
	put(t, 32, 1, 4);
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* Generic Address Structure, system I/O space. */
static void gas_io(uint8_t *t, size_t off, uint8_t bits, uint64_t port)
{
	t[off] = 1;
	t[off + 1] = bits;
	t[off + 3] = bits == 32 ? 3 : 2;	/* access size: dword or word */
	put(t, off + 4, port, 8);
}

static void build_fadt(uint8_t *t)
{
	header(t, "FACP", 244, 3);
	put(t, 36, ACPI_FACS, 4);
	put(t, 40, ACPI_DSDT, 4);
	put(t, 46, 9, 2);			/* SCI on IRQ 9 */
	put(t, 56, PM_BASE, 4);			/* PM1a event block */
	put(t, 64, PM_BASE + 4, 4);		/* PM1a control block */
	put(t, 76, PM_BASE + 8, 4);		/* PM timer block */
	t[88] = 4;
	t[89] = 2;
	t[91] = 4;	/* their lengths */
	put(t, 109, 0x2, 2);			/* IAPC_BOOT_ARCH: 8042 present */
	/* WBINVD; the power button a fixed feature (acpi-pm.c), no sleep button */
	put(t, 112, (1u << 0) | (1u << 5), 4);
	put(t, 132, ACPI_FACS, 8);		/* X_FIRMWARE_CTRL */
	put(t, 140, ACPI_DSDT, 8);		/* X_DSDT */
	gas_io(t, 148, 32, PM_BASE);
	gas_io(t, 172, 16, PM_BASE + 4);
	gas_io(t, 208, 32, PM_BASE + 8);
	finish(t, 244);
}

static uint32_t build_madt(uint8_t *t, int ncpus)
{
	uint32_t off = 44;

	put(t, 36, LAPIC_ADDR, 4);
	put(t, 40, 1, 4);	/* PCAT_COMPAT: there are 8259 PICs */
	for (int i = 0; i < ncpus; i++, off += 8) {
		t[off] = 0;
		t[off + 1] = 8;
		t[off + 2] = (uint8_t)i;
		t[off + 3] = (uint8_t)i;
		put(t, off + 4, 1, 4);	/* enabled */
	}
	t[off] = 1;
	t[off + 1] = 12;
	t[off + 2] = (uint8_t)ncpus;	/* I/O APIC after the CPUs' IDs */
	put(t, off + 4, IOAPIC_ADDR, 4);
	off += 12;
	t[off] = 2;
	t[off + 1] = 10;
	t[off + 3] = 0;	/* ISA IRQ 0 is GSI 2 */
	put(t, off + 4, 2, 4);
	off += 10;
	t[off] = 2;
	t[off + 1] = 10;
	t[off + 3] = 9;	/* SCI: level, active high */
	put(t, off + 4, 9, 4);
	put(t, off + 8, 0x000d, 2);
	off += 10;
	header(t, "APIC", off, 3);
	finish(t, off);
	return off;
}

/* AML's PkgLength (ACPI 6.5, 20.2.4): the length counts its own 1 or 2 bytes. */
static size_t aml_pkg(uint8_t *out, const uint8_t *body, size_t n)
{
	size_t total = n + (n + 1 < 64 ? 1 : 2);

	if (total < 64) {
		out[0] = (uint8_t)total;
	} else {
		out[0] = (uint8_t)(0x40 | (total & 0xf));
		out[1] = (uint8_t)(total >> 4);
	}
	memmove(out + (total - n), body, n);
	return total;
}

/* Scope (\_SB) { Device (PCI0) { _HID PNP0A03, _UID 0, _CRS (bus 0, ports 0xcf8-0xcff and the I/O
 * ranges around them, the 32-bit and the 64-bit memory windows), _PRT (every slot s from 1 to 31,
 * pin p: GSI 10 + (s + p) % 2, the pins virtio-pci.c and vfio-cfg.c assert) } }. With ACPI, Linux
 * finds PCI root buses and their INTx routing here; for a slot left out it guesses from the
 * config space's interrupt line, warning "can't derive routing" (t-virtio.sh); others may not. */
static size_t aml_pci0(uint8_t *out, uint64_t win64)
{
	static const uint8_t id[] = {
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03, /* EisaId ("PNP0A03") */
		0x08, '_', 'U', 'I', 'D', 0x00,
	};
	static const uint8_t res[] = {	/* bus 0; ports 0xcf8-0xcff, below and above them */
		0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08, 0x88, 0x0d, 0x00, 0x01,
		0x0c, 0x03, 0x00, 0x00, 0x00, 0x00, 0xf7, 0x0c, 0x00, 0x00, 0xf8, 0x0c, 0x88, 0x0d,
		0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff, 0x00, 0x00, 0x00, 0xf3,
	};
	uint8_t dev[2100], prt[1800], body[PRT_SLOTS * 4 * 13], crs[160];
	size_t d = 0, p = 0, b = 0, c = sizeof(res);

	memcpy(crs, res, sizeof(res));
	/* DWordMemory: the 32-bit window; QWordMemory: the 64-bit one (read-write, fixed) */
	memcpy(crs + c, (const uint8_t[]){ 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01 }, 6);
	put(crs, c + 6, 0, 4);
	put(crs, c + 10, VMM_PCI_WINDOW, 4);
	put(crs, c + 14, VMM_PCI_WINDOW_END - 1, 4);
	put(crs, c + 18, 0, 4);
	put(crs, c + 22, VMM_PCI_WINDOW_END - VMM_PCI_WINDOW, 4);
	c += 26;
	memcpy(crs + c, (const uint8_t[]){ 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01 }, 6);
	put(crs, c + 6, 0, 8);
	put(crs, c + 14, win64, 8);
	put(crs, c + 22, win64 + VMM_PCI64_SIZE - 1, 8);
	put(crs, c + 30, 0, 8);
	put(crs, c + 38, VMM_PCI64_SIZE, 8);
	c += 46;
	crs[c++] = 0x79;
	crs[c++] = 0x00;	/* end tag */
	memcpy(dev, id, sizeof(id));
	d = sizeof(id);
	memcpy(dev + d, (const uint8_t[]){ 0x08, '_', 'C', 'R', 'S', 0x11 }, 6);
	d += 6;
	uint8_t buf[170] = { 0x0a, (uint8_t)c };	/* Buffer (c) { ... } */
	memcpy(buf + 2, crs, c);
	d += aml_pkg(dev + d, buf, c + 2);
	for (unsigned slot = 1; slot <= PRT_SLOTS; slot++)
		for (unsigned pin = 0; pin < 4; pin++) {
			uint8_t e[16] = { 0x04, 0x0c }, pk[20];
			put(e, 2, (slot << 16) | 0xffff, 4);
			e[6] = 0x0a;
			e[7] = (uint8_t)pin;
			e[8] = 0x00;
			e[9] = 0x0a;
			e[10] = (uint8_t)(10 + (slot + pin) % 2);
			pk[0] = 0x12;
			size_t k = aml_pkg(pk + 1, e, 11);
			memcpy(body + b, pk, k + 1);
			b += k + 1;
		}
	prt[0] = 0x12;	/* Package (124) { ... } */
	uint8_t inner[sizeof(body) + 1];
	inner[0] = PRT_SLOTS * 4;
	memcpy(inner + 1, body, b);
	p = 1 + aml_pkg(prt + 1, inner, b + 1);
	uint8_t name[4 + 1 + sizeof(prt)] = { 0x08, '_', 'P', 'R', 'T' };
	memcpy(name + 5, prt, p);
	memcpy(dev + d, name, 5 + p);
	d += 5 + p;
	uint8_t devop[2200] = { 0x5b, 0x82 }, tmp[2200];
	memcpy(tmp, "PCI0", 4);
	memcpy(tmp + 4, dev, d);
	size_t dv = 2 + aml_pkg(devop + 2, tmp, d + 4);
	memcpy(tmp, "_SB_", 4);
	memcpy(tmp + 4, devop, dv);
	out[0] = 0x10;
	return 1 + aml_pkg(out + 1, tmp, dv + 4);
}

/* MCFG (PCI Firmware Specification 3.0, 4.1.2): one ECAM window, segment 0, bus 0. */
static void build_mcfg(uint8_t *t)
{
	put(t, 44, VMM_PCI_ECAM, 8);
	put(t, 52, 0, 2);
	t[54] = 0;
	t[55] = (uint8_t)(VMM_PCI_ECAM_SIZE / (1u << 20) - 1);	/* the last bus */
	header(t, "MCFG", 60, 1);
	finish(t, 60);
}

int vmm_acpi_build(struct vmm *vm)
{
	/* DSDT body: Name (_S3, Package () { 1, 1, 0, 0 }) and Name (_S5, Package () { 5, 5, 0, 0
	 * }): the SLP_TYP values for suspend to RAM and power-off (acpi-pm.c acts on them) */
	static const uint8_t s5[] = { 0x08, '_',  'S',  '3',  '_',  0x12, 0x08, 0x04, 0x0a, 0x01,
				      0x0a, 0x01, 0x00, 0x00, 0x08, '_',  'S',  '5',  '_',  0x12,
				      0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	uint8_t *base = vmm_mem_ptr(&vm->mem, ACPI_RSDP, ACPI_SIZE);
	uint8_t *rsdp = base, *xsdt = base + (ACPI_XSDT - ACPI_RSDP),
		*rsdt = base + (ACPI_RSDT - ACPI_RSDP);
	uint8_t *fadt = base + (ACPI_FADT - ACPI_RSDP), *facs = base + (ACPI_FACS - ACPI_RSDP);
	uint8_t *dsdt = base + (ACPI_DSDT - ACPI_RSDP), *madt = base + (ACPI_MADT - ACPI_RSDP);

	if (!base || 44 + 8 * vm->ncpus + 32 > (int)(ACPI_SIZE - (ACPI_MADT - ACPI_RSDP)))
		return -ENOSPC;
	memset(base, 0, ACPI_SIZE);
	build_fadt(fadt);
	memcpy(facs, "FACS", 4);
	put(facs, 4, 64, 4);
	uint8_t pci0[2300];
	size_t n = aml_pci0(pci0, vmm_pci64_window(&vm->mem));
	if (0x240 + 36 + sizeof(s5) + n > ACPI_MADT - ACPI_RSDP)
		return -ENOSPC;
	header(dsdt, "DSDT", 36 + sizeof(s5) + n, 2);
	memcpy(dsdt + 36, s5, sizeof(s5));
	memcpy(dsdt + 36 + sizeof(s5), pci0, n);
	finish(dsdt, 36 + sizeof(s5) + n);
	build_madt(madt, vm->ncpus);
	build_mcfg(base + (ACPI_MCFG - ACPI_RSDP));
	header(rsdt, "RSDT", 36 + 12, 1);
	put(rsdt, 36, ACPI_FADT, 4);
	put(rsdt, 40, ACPI_MADT, 4);
	put(rsdt, 44, ACPI_MCFG, 4);
	finish(rsdt, 48);
	header(xsdt, "XSDT", 36 + 24, 1);
	put(xsdt, 36, ACPI_FADT, 8);
	put(xsdt, 44, ACPI_MADT, 8);
	put(xsdt, 52, ACPI_MCFG, 8);
	finish(xsdt, 60);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "NESTVM", 6);
	rsdp[15] = 2;
	put(rsdp, 16, ACPI_RSDT, 4);
	put(rsdp, 20, 36, 4);
	put(rsdp, 24, ACPI_XSDT, 8);
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, 36);
	return 0;
}

/* Where the guest asked to resume after S3: the FACS firmware waking vector (a real-mode address).
 */
uint32_t vmm_acpi_waking_vector(struct vmm *vm)
{
	uint32_t v = 0;
	const uint8_t *facs = vmm_mem_ptr(&vm->mem, ACPI_FACS + 12, 4);

	if (facs)
		memcpy(&v, facs, 4);
	return v;
}

/* Intel MultiProcessor Specification 1.4: processors, the ISA bus, the I/O APIC and ISA interrupt
 * routing. */
int vmm_mptable_build(struct vmm *vm)
{
	uint8_t *fp = vmm_mem_ptr(&vm->mem, MP_FLOAT, 0x1000), *ct = fp + 16;
	uint32_t off = 44, entries = 0;

	if (!fp || 44 + 20 * vm->ncpus + 8 + 8 + 8 * 18 > 0x1000 - 16)
		return -ENOSPC;
	memset(fp, 0, 0x1000);
	for (int i = 0; i < vm->ncpus; i++, off += 20, entries++) {
		ct[off] = 0, ct[off + 1] = (uint8_t)i, ct[off + 2] = 0x14,
		ct[off + 3] = (uint8_t)(1 | (i == 0 ? 2 : 0));
		put(ct, off + 4, 0x600, 4);
		put(ct, off + 8, 0x201, 4);	/* FPU, APIC */
	}
	ct[off] = 1;
	ct[off + 1] = 0;
	memcpy(ct + off + 2, "ISA   ", 6);
	off += 8;
	entries++;
	ct[off] = 2;
	ct[off + 1] = (uint8_t)vm->ncpus;
	ct[off + 2] = 0x11;
	ct[off + 3] = 1;
	put(ct, off + 4, IOAPIC_ADDR, 4);
	off += 8;
	entries++;
	for (int irq = 0; irq < 16; irq++, off += 8, entries++) {
		ct[off] = 3;
		ct[off + 1] = 0;
		ct[off + 4] = 0;
		ct[off + 5] = (uint8_t)irq;
		ct[off + 6] = (uint8_t)vm->ncpus;
		ct[off + 7] = (uint8_t)(irq == 0 ? 2 : irq);
	}
	ct[off] = 4;
	ct[off + 1] = 3;
	ct[off + 6] = 0xff;
	ct[off + 7] = 0;	/* ExtINT to LINT0 */
	off += 8;
	entries++;
	ct[off] = 4;
	ct[off + 1] = 1;
	ct[off + 6] = 0xff;
	ct[off + 7] = 1;	/* NMI to LINT1 */
	off += 8;
	entries++;
	memcpy(ct, "PCMP", 4);
	put(ct, 4, off, 2);
	ct[6] = 4;
	memcpy(ct + 8, "NESTVISR", 8);
	memcpy(ct + 16, "NESTVISOR   ", 12);
	put(ct, 34, entries, 2);
	put(ct, 36, LAPIC_ADDR, 4);
	ct[7] = checksum(ct, off);
	memcpy(fp, "_MP_", 4);
	put(fp, 4, MP_CONFIG, 4);
	fp[8] = 1;
	fp[9] = 4;
	fp[10] = checksum(fp, 16);
	return 0;
}
