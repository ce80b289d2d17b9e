/* svm: a guest that is itself a minimal AMD-V hypervisor (APM vol. 2, ch. 15). It checks CPUID for SVM and
 * ASIDs, sets EFER.SVME and VM_HSAVE_PA, and from 64-bit ring 0 VMRUNs a tiny L3 (svm64.S) with its own
 * state: L3 makes `loops` VMMCALLs, each intercepted and stepped over here, writes a marker and HLTs, the
 * intercept that ends it. Exit codes: 0 all as expected, 2 no SVM in CPUID (nested off), 3 SVM disabled or
 * no ASID for a guest, 4 L3's exits were not what the VMCB should say. Command line: loops=N (default 1000),
 * key (L3 first waits for a key on COM1: a test can pause the VM while it is surely in guest mode). */
#include "guest.h"

struct svm_params { uint64_t vmcb_pa, hsave_pa; uint32_t count, pad; uint64_t exitcode; };

extern char long_gdt[], long_gdt_end[], long_pml4[], l3_entry[];
void enter_long0(void (*fn)(void *), void *arg) __attribute__((noreturn));
void svm_run64(void *params);
void svm_report(void) __attribute__((noreturn));

static uint8_t vmcb[4096] __attribute__((aligned(4096)));
static uint8_t hsave[4096] __attribute__((aligned(4096)));
static uint8_t l3_stack[4096] __attribute__((aligned(16)));
static struct svm_params params;
uint32_t l3_loops = 1000, l3_wait_key, l3_marker;

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void w16(unsigned off, uint16_t v) { *(uint16_t *)(vmcb + off) = v; }
static void w32(unsigned off, uint32_t v) { *(uint32_t *)(vmcb + off) = v; }
static void w64(unsigned off, uint64_t v) { *(uint64_t *)(vmcb + off) = v; }

/* A segment in the save area (APM vol. 2 B.2): selector, attributes (packed type/S/DPL/P/AVL/L/DB/G), limit, base. */
static void seg(unsigned off, uint16_t sel, uint16_t attrib, uint32_t limit, uint64_t base)
{
	w16(off, sel), w16(off + 2, attrib), w32(off + 4, limit), w64(off + 8, base);
}

/* L3 runs in the same long mode as we will: our page tables, a flat 64-bit code segment, its own stack. */
static void build_vmcb(void)
{
	w32(0x00c, 1u << 24);			/* intercept HLT */
	w32(0x010, (1u << 0) | (1u << 1));	/* intercept VMRUN (required) and VMMCALL */
	w32(0x058, 1);				/* guest ASID (0 is the host's) */
	seg(0x400, 0x10, 0x0c93, 0xffffffff, 0);	/* ES */
	seg(0x410, 0x18, 0x029b, 0xffffffff, 0);	/* CS: 64-bit code */
	seg(0x420, 0x10, 0x0c93, 0xffffffff, 0);	/* SS */
	seg(0x430, 0x10, 0x0c93, 0xffffffff, 0);	/* DS */
	seg(0x440, 0x10, 0x0c93, 0xffffffff, 0);	/* FS */
	seg(0x450, 0x10, 0x0c93, 0xffffffff, 0);	/* GS */
	seg(0x460, 0, 0, (uint32_t)(long_gdt_end - long_gdt - 1), (uint32_t)long_gdt);	/* GDTR */
	seg(0x490, 0, 0x008b, 0x67, 0);			/* TR: a busy 64-bit TSS */
	vmcb[0x4cb] = 0;				/* CPL */
	w64(0x4d0, 0x1500);				/* EFER: SVME | LMA | LME */
	w64(0x548, 0x20);				/* CR4: PAE */
	w64(0x550, (uint32_t)long_pml4);		/* CR3 */
	w64(0x558, 0x80000011);				/* CR0: PG | ET | PE */
	w64(0x560, 0x400);				/* DR7 */
	w64(0x568, 0xffff0ff0);				/* DR6 */
	w64(0x570, 0x2);				/* RFLAGS */
	w64(0x578, (uint32_t)l3_entry);			/* RIP */
	w64(0x5d8, (uint32_t)(l3_stack + sizeof(l3_stack)));	/* RSP */
	w64(0x668, 0x0007040600070406ull);		/* G_PAT: the reset value */
}

int guest_main(uint32_t magic, struct mb_info *mb)
{
	uint32_t a, b, c, d;
	const char *cmd = magic == MB_MAGIC && (mb->flags & 4) ? (const char *)mb->cmdline : "";
	const char *p;

	if ((p = str_find(cmd, "loops=")) && parse_dec(p + 6) > 0)
		l3_loops = parse_dec(p + 6);
	l3_wait_key = str_find(cmd, "key") != 0;
	cpuid(0x80000000, &a, &b, &c, &d);
	uint32_t max_ext = a;
	cpuid(0x80000001, &a, &b, &c, &d);
	if (max_ext < 0x8000000a || !(c & (1u << 2))) {
		puts_serial("svm: no SVM in CPUID (this VM has nested virtualization off)\n");
		return 2;
	}
	cpuid(0x8000000a, &a, &b, &c, &d);
	puts_serial("svm: SVM revision "), put_dec(a & 0xff), puts_serial(", "), put_dec(b);
	puts_serial(" ASIDs, features "), put_hex(d), puts_serial("\n");
	if (rdmsr(0xc0010114) & (1u << 4)) {
		puts_serial("svm: VM_CR.SVMDIS is set: SVM is disabled\n");
		return 3;
	}
	if (b < 2) {
		puts_serial("svm: no ASID left for a guest\n");
		return 3;
	}
	build_vmcb();
	params.vmcb_pa = (uint32_t)vmcb;
	params.hsave_pa = (uint32_t)hsave;
	puts_serial(l3_wait_key ? "svm: running L3; it waits for a key\n" : "svm: running L3\n");
	enter_long0((void (*)(void *))svm_run64, &params);
}

void svm_report(void)
{
	uint32_t lo = (uint32_t)params.exitcode, hi = (uint32_t)(params.exitcode >> 32);

	puts_serial("svm: L3 made "), put_dec(params.count), puts_serial(" VMMCALL exits, then exit code ");
	if (hi)
		put_hex(hi), puts_serial(":");	/* VMEXIT_INVALID is -1: the VMCB was refused */
	put_hex(lo), puts_serial(params.exitcode == 0x78 ? " (HLT)" : ""), puts_serial("\n");
	if (params.exitcode != 0x78 || params.count != l3_loops || l3_marker != 0x5a5a5a5a) {
		puts_serial("svm: FAIL: expected "), put_dec(l3_loops), puts_serial(" VMMCALLs, HLT (0x78) and L3's marker\n");
		guest_exit(4);
	}
	puts_serial("svm: L3 ran to its HLT under this guest's own hypervisor\n");
	guest_exit(0);
}
