/* cpumodel: which CPU a guest is shown (its CPUID), chosen as a cloud provider chooses a CPU model.
 * On hardware KVM the guest sees what KVM supports ("host"). On a software KVM (kvm_pvm), which
 * emulates guest kernel code instruction by instruction, a guest shown the host's CPU uses
 * instructions the emulator lacks and dies (Debian's kernel: `lock cmpxchg16b` in its slab
 * allocator, xsave/xrstor for the FPU); "baseline" shows it the x86-64 CPU every 64-bit kernel
 * runs on, so it takes the paths the emulator knows. */
#ifndef NESTVISOR_VMM_CPUMODEL_H
#define NESTVISOR_VMM_CPUMODEL_H

#include <stdbool.h>

enum vmm_cpu_model { VMM_CPU_AUTO, VMM_CPU_HOST, VMM_CPU_BASELINE };

/* "auto", "host", "baseline"; -EINVAL otherwise */
int vmm_cpumodel_parse(const char *s, enum vmm_cpu_model *m);
const char *vmm_cpumodel_name(enum vmm_cpu_model m);
/* auto: baseline on a software KVM, host elsewhere */
enum vmm_cpu_model vmm_cpumodel_resolve(enum vmm_cpu_model m, bool software_kvm);

struct kvm_cpuid2;
/* Baseline: every feature bit outside the allow-list below cleared; the leaves that describe
 * only hidden features (7, 0xd, 0x12, 0x14, 0x19, 0x1d, 0x1e, 0x24) zeroed. Host: unchanged. */
void vmm_cpumodel_apply(enum vmm_cpu_model m, struct kvm_cpuid2 *cpuid);

#endif
