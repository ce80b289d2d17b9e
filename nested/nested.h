/* nested: whether one VM's guests may run their own hypervisor, and what that takes of its vCPUs
 * (CPUID, the VMX capability MSRs, IA32_FEATURE_CONTROL), plus the nested state a snapshot must
 * carry. The judgement of whether the host allows it is the probe's (probe_nested_query); nested/
 * only applies it. */
#ifndef NESTVISOR_NESTED_H
#define NESTVISOR_NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "probe/probe.h"

enum nested_mode { NESTED_AUTO, NESTED_ON, NESTED_OFF };

/* "auto", "on", "off" (also "yes"/"no", "1"/"0"); -EINVAL otherwise. */
int nested_mode_parse(const char *s, enum nested_mode *m);
const char *nested_mode_name(enum nested_mode m);

/* One VM's decision: 1 nested on, 0 off; -EOPNOTSUPP when `on` was asked of a host that cannot,
 * with err holding the probe's reason and fix. */
int nested_decide(enum nested_mode want, const struct probe_nested *host, char *err, size_t errlen);

struct kvm_cpuid2;
/* Nested off: the guest sees neither VMX (CPUID.1:ECX[5]) nor SVM (CPUID.80000001h:ECX[2], leaf
 * 8000000Ah), so its KVM refuses to load. Nested on: KVM's supported set, which carries them, is
 * left as it is. */
void nested_cpuid_apply(bool on, struct kvm_cpuid2 *cpuid);

struct nested_msr { uint32_t index; uint64_t value; };
/* Intel: the MSRs a vCPU with nested on gets, as firmware and QEMU leave them: IA32_FEATURE_CONTROL
 * locked with VMXON allowed outside SMX, and KVM's VMX capability MSRs that userspace may restore
 * (not CR0/CR4_FIXED1, which KVM derives from the guest's CPUID), each only where the controls that
 * enable it are allowed. Returns the count written to out (at most max), 0 on AMD or with nested
 * off. */
int nested_vmx_msrs(bool on, const struct probe_nested *host, struct nested_msr *out, int max);
/* KVM_SET_MSRS of nested_vmx_msrs() on one vCPU; err names the MSR KVM refused. */
int nested_vcpu_setup(bool on, const struct probe_nested *host, int vcpu_fd, char *err,
		      size_t errlen);

/* Nested state (KVM_GET/SET_NESTED_STATE), for snapshots: the buffer size KVM needs (0: not
 * supported), and a vCPU's state saved into a malloc'd buffer (*len its size) or restored from one.
 * The vCPU must not be running. */
int nested_state_size(int kvm_fd);
int nested_state_save(int vcpu_fd, int kvm_fd, void **buf, size_t *len);
int nested_state_restore(int vcpu_fd, const void *buf, size_t len);

#endif
