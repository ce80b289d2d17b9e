/* cpumodel: the CPU a guest is shown (cpumodel.h says why a software KVM needs another one). */
#include "config.h"
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include "vmm/cpumodel.h"

#define BIT(n) (1u << (n))

/* CPUID.1:EDX, the x86-64 baseline: FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV
 * PAT PSE36 CLFSH MMX FXSR SSE SSE2 HTT. Left out: PSN, DS, ACPI, SS, TM, PBE (nothing a guest
 * kernel needs). */
#define LEAF1_EDX                                                                          \
	(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) |  \
	 BIT(9) | BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(16) | BIT(17) |    \
	 BIT(19) | BIT(23) | BIT(24) | BIT(25) | BIT(26) | BIT(28))
/* CPUID.1:ECX: SSE3 and what describes the platform rather than instructions: VMX (nested/ decides
 * it), x2APIC and the TSC-deadline timer (KVM's in-kernel LAPIC), the hypervisor bit. Gone with
 * the rest: CX16 (cmpxchg16b), XSAVE/OSXSAVE and with them AVX, FMA and F16C, PCID, MOVBE,
 * POPCNT, SSSE3/SSE4, AES, PCLMULQDQ, RDRAND, MONITOR. */
#define LEAF1_ECX (BIT(0) | BIT(5) | BIT(21) | BIT(24) | BIT(31))
/* CPUID.80000001h:EDX: SYSCALL, NX, LM, and AMD's copies of the leaf-1 bits above; :ECX LAHF_LM
 * and SVM (nested/ decides it). Gone: RDTSCP, 1 GiB pages, ABM, SSE4A, 3DNow!, XOP, FMA4. */
#define EXT1_EDX ((LEAF1_EDX & 0x0183f3ffu) | BIT(11) | BIT(20) | BIT(29))
#define EXT1_ECX (BIT(0) | BIT(2))

static const struct { const char *name; enum vmm_cpu_model m; } models[] = {
	{ "auto", VMM_CPU_AUTO },
	{ "host", VMM_CPU_HOST },
	{ "baseline", VMM_CPU_BASELINE },
};

int vmm_cpumodel_parse(const char *s, enum vmm_cpu_model *m)
{
	for (size_t i = 0; s && i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(s, models[i].name)) {
			*m = models[i].m;
			return 0;
		}
	return -EINVAL;
}

const char *vmm_cpumodel_name(enum vmm_cpu_model m)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (models[i].m == m)
			return models[i].name;
	return "?";
}

enum vmm_cpu_model vmm_cpumodel_resolve(enum vmm_cpu_model m, bool software_kvm)
{
	if (m != VMM_CPU_AUTO)
		return m;
	return software_kvm ? VMM_CPU_BASELINE : VMM_CPU_HOST;
}

/* Leaves that only describe features baseline hides: structured extended features (7: FSGSBASE,
 * SMEP/SMAP, AVX2, ERMS, INVPCID, RDSEED, ...), the XSAVE areas, SGX, PT, Key Locker, AMX, AVX10 */
static bool hidden_leaf(uint32_t fn)
{
	static const uint32_t leaves[] = { 0x7, 0xd, 0x12, 0x14, 0x19, 0x1d, 0x1e, 0x24 };

	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (fn == leaves[i])
			return true;
	return false;
}

void vmm_cpumodel_apply(enum vmm_cpu_model m, struct kvm_cpuid2 *cpuid)
{
	if (m != VMM_CPU_BASELINE)
		return;
	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (hidden_leaf(e->function)) {
			e->eax = e->ebx = e->ecx = e->edx = 0;
		} else if (e->function == 1) {
			e->ecx &= LEAF1_ECX;
			e->edx &= LEAF1_EDX;
		} else if (e->function == 0x80000001) {
			e->ecx &= EXT1_ECX;
			e->edx &= EXT1_EDX;
		} else if (e->function == 0x80000008) {
			e->ebx = 0; /* CLZERO, WBNOINVD, speculation controls: the kernel's to skip
				     */
		} else if (e->function == 0x8000001f || e->function == 0x80000021) {
			e->eax = e->ebx = e->ecx = e->edx = 0; /* SEV; AMD's extended features 2 */
		}
	}
}
