/* vmxcaps: decoders for VT-x capability MSRs, SVM CPUID leaf 0x8000000A and /proc/cpuinfo flags. */
#ifndef NESTVISOR_PROBE_VMXCAPS_H
#define NESTVISOR_PROBE_VMXCAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMX_MSR_BASE 0x480u
#define VMX_MSR_COUNT 0x13	/* 0x480 (IA32_VMX_BASIC) .. 0x492 (IA32_VMX_PROCBASED_CTLS3) */
#define MSR_IA32_VMX_PINBASED_CTLS   0x481u
#define MSR_IA32_VMX_PROCBASED_CTLS  0x482u
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48Bu
#define MSR_IA32_VMX_EPT_VPID_CAP    0x48Cu
#define MSR_IA32_FEATURE_CONTROL     0x3Au
#define MSR_VM_CR                    0xC0010114u

/* Second-level translation and virtualization features, one bit each. */
enum vmx_feature {
	VF_EPT, VF_VPID, VF_UG, VF_APIC_REG, VF_VID, VF_POSTED_INTR, VF_SHADOW_VMCS, VF_EPT_AD,
	VF_NPT, VF_AVIC, VF_X2AVIC, VF_NRIPS, VF_VGIF, VF_VNMI, VF_VMSAVE_VIRT, VF_DECODE_ASSISTS,
	VF_COUNT
};
#define VF(x) (1ull << (x))
#define VF_APICV_ALL (VF(VF_APIC_REG) | VF(VF_VID) | VF(VF_POSTED_INTR))

const char *vmxcaps_name(enum vmx_feature f);
/* Appends the names of the bits in features to buf ("ept vpid ..."); "none" when empty. */
void vmxcaps_names(uint64_t features, char *buf, size_t len);

/* VMX capability MSRs: the allowed-1 halves (bits 63:32) of the control MSRs. */
uint64_t vmxcaps_decode_msrs(uint64_t pinbased, uint64_t procbased, uint64_t procbased2,
			     uint64_t ept_vpid);
/* CPUID 0x8000000A EDX (AMD APM vol. 3, "SVM Revision and Feature Identification"). */
uint64_t vmxcaps_decode_svm(uint32_t edx);

struct cpuinfo_flags {
	bool vmx, svm, hypervisor;
	bool vmx_flags_line;		/* Linux >= 5.6 prints "vmx flags" */
	uint64_t features;		/* VF_* named in "flags" or "vmx flags" */
	int processors;
};
/* Parses /proc/cpuinfo text (first processor's flags). -EINVAL when no flags line was found. */
int vmxcaps_parse_cpuinfo(const char *text, size_t len, struct cpuinfo_flags *out);

/* IA32_FEATURE_CONTROL: 1 locked with VMX off outside SMX (firmware disabled), 0 usable, */
int vmxcaps_feature_control_disabled(uint64_t v);
/* VM_CR: 1 when SVMDIS is set (and locked), 0 otherwise. */
int vmxcaps_vm_cr_disabled(uint64_t v);

#endif
