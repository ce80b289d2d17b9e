/* nested: applies one VM's nested decision to its vCPUs (CPUID, VMX MSRs) and wraps KVM's nested
 * state. */
#include "config.h"
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include "nested/nested.h"

#define CPUID_1_ECX_VMX        (1u << 5)
#define CPUID_80000001_ECX_SVM (1u << 2)
#define MSR_FEATURE_CONTROL    0x3au
#define FEATURE_CONTROL_LOCKED (1ull << 0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1ull << 2)
#define VMX_BASE 0x480u

/* Intel SDM vol. 3D appendix A: the capability MSRs, and what makes each one meaningful. */
enum {
	VMX_BASIC = 0x480,
	VMX_PROCBASED = 0x482,
	VMX_CR0_FIXED1 = 0x487,
	VMX_CR4_FIXED1 = 0x489,
	VMX_PROCBASED2 = 0x48b,
	VMX_EPT_VPID = 0x48c,
	VMX_TRUE_PINBASED = 0x48d,
	VMX_TRUE_ENTRY = 0x490,
	VMX_VMFUNC = 0x491,
	VMX_PROCBASED3 = 0x492,
};
#define BASIC_TRUE_CTLS       (1ull << 55)
#define PROC_SECONDARY (1ull << (32 + 31)) /* allowed-1: "activate secondary controls" */
#define PROC_TERTIARY         (1ull << (32 + 17))
#define PROC2_EPT             (1ull << (32 + 1))
#define PROC2_VPID            (1ull << (32 + 5))
#define PROC2_VMFUNC          (1ull << (32 + 13))

static const struct { const char *name; enum nested_mode mode; } modes[] = {
	{ "auto", NESTED_AUTO }, { "on", NESTED_ON }, { "off", NESTED_OFF },
	{ "yes", NESTED_ON }, { "no", NESTED_OFF }, { "1", NESTED_ON }, { "0", NESTED_OFF },
};

int nested_mode_parse(const char *s, enum nested_mode *m)
{
	for (size_t i = 0; s && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcasecmp(s, modes[i].name)) {
			*m = modes[i].mode;
			return 0;
		}
	return -EINVAL;
}

const char *nested_mode_name(enum nested_mode m)
{
	return m == NESTED_ON ? "on" : m == NESTED_OFF ? "off" : "auto";
}

int nested_decide(enum nested_mode want, const struct probe_nested *host, char *err, size_t errlen)
{
	if (want == NESTED_OFF)
		return 0;
	if (host->possible)
		return 1;
	if (want == NESTED_AUTO)
		return 0;
	snprintf(err, errlen,
		 "nested guests were asked for (on), but this host cannot give guests a hypervisor "
		 "of their own: %s%s%s",
		 host->why, host->fix[0] ? "; fix: " : "", host->fix);
	return -EOPNOTSUPP;
}

void nested_cpuid_apply(bool on, struct kvm_cpuid2 *cpuid)
{
	if (on)
		return;
	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		if (e->function == 1)
			e->ecx &= ~CPUID_1_ECX_VMX;
		else if (e->function == 0x80000001)
			e->ecx &= ~CPUID_80000001_ECX_SVM;
		else if (e->function == 0x8000000a)
			e->eax = e->ebx = e->ecx = e->edx =
				0; /* no SVM revision, ASIDs or features */
	}
}

static bool have(const struct probe_nested *h, uint32_t msr)
{
	return msr >= VMX_BASE && msr - VMX_BASE < PROBE_VMX_MSRS && h->vmx_msr_ok[msr - VMX_BASE];
}

static uint64_t val(const struct probe_nested *h, uint32_t msr)
{
	return have(h, msr) ? h->vmx_msr[msr - VMX_BASE] : 0;
}

/* Whether a capability MSR describes something this vCPU can use at all (SDM vol. 3D A.1-A.11). */
static bool meaningful(const struct probe_nested *h, uint32_t msr)
{
	uint64_t proc = val(h, VMX_PROCBASED), proc2 = val(h, VMX_PROCBASED2);

	switch (msr) {
	case VMX_CR0_FIXED1: case VMX_CR4_FIXED1:
		/* KVM computes these from the guest's CPUID and refuses them from userspace */
		return false;
	case VMX_PROCBASED2:
		return proc & PROC_SECONDARY;
	case VMX_EPT_VPID:
		return (proc & PROC_SECONDARY) && (proc2 & (PROC2_EPT | PROC2_VPID));
	case VMX_VMFUNC:
		return (proc & PROC_SECONDARY) && (proc2 & PROC2_VMFUNC);
	case VMX_PROCBASED3:
		return proc & PROC_TERTIARY;
	default:
		if (msr >= VMX_TRUE_PINBASED && msr <= VMX_TRUE_ENTRY)
			return val(h, VMX_BASIC) & BASIC_TRUE_CTLS;
		return true;
	}
}

int nested_vmx_msrs(bool on, const struct probe_nested *host, struct nested_msr *out, int max)
{
	int n = 0;

	if (!on || !host->vmx || !have(host, VMX_BASIC) || max < 1)
		return 0;
	out[n++] =
		(struct nested_msr){ MSR_FEATURE_CONTROL,
				     FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX };
	for (uint32_t msr = VMX_BASE; msr < VMX_BASE + PROBE_VMX_MSRS && n < max; msr++)
		if (have(host, msr) && meaningful(host, msr))
			out[n++] = (struct nested_msr){ msr, val(host, msr) };
	return n;
}

int nested_vcpu_setup(bool on, const struct probe_nested *host, int vcpu_fd, char *err,
		      size_t errlen)
{
	struct nested_msr list[PROBE_VMX_MSRS + 1];
	int n = nested_vmx_msrs(on, host, list, (int)(sizeof(list) / sizeof(list[0])));
	struct kvm_msrs *m;

	if (n == 0)
		return 0;
	if (!(m = calloc(1, sizeof(*m) + (size_t)n * sizeof(m->entries[0]))))
		return -ENOMEM;
	m->nmsrs = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		m->entries[i].index = list[i].index;
		m->entries[i].data = list[i].value;
	}
	int set = ioctl(vcpu_fd, KVM_SET_MSRS,
			m); /* the count it took: it stops at the first refusal */
	int rc = set == n ? 0 : set < 0 ? -errno : -EINVAL;
	if (rc)
		snprintf(err, errlen, "nested: KVM refused MSR 0x%x = 0x%016llx for the vCPU (%s)",
			 set >= 0 ? list[set].index : 0,
			 set >= 0 ? (unsigned long long)list[set].value : 0ull,
			 set < 0 ? strerror(errno) : "not a value it allows");
	free(m);
	return rc;
}

int nested_state_size(int kvm_fd)
{
	int n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);

	return n > 0 ? n : 0;
}

int nested_state_save(int vcpu_fd, int kvm_fd, void **buf, size_t *len)
{
	int size = nested_state_size(kvm_fd);
	struct kvm_nested_state *st;

	*buf = NULL;
	*len = 0;
	if (size < (int)sizeof(*st))
		return -EOPNOTSUPP;
	if (!(st = calloc(1, (size_t)size)))
		return -ENOMEM;
	st->size = (uint32_t)size;	/* in: the buffer; out: what the state takes */
	if (ioctl(vcpu_fd, KVM_GET_NESTED_STATE, st) < 0) {
		int rc = -errno;
		free(st);
		return rc;
	}
	if (st->size < sizeof(*st) || st->size > (uint32_t)size) {
		free(st);
		return -EIO;
	}
	*buf = st;
	*len = st->size;
	return 0;
}

int nested_state_restore(int vcpu_fd, const void *buf, size_t len)
{
	const struct kvm_nested_state *st = buf;

	if (len < sizeof(*st) || st->size != len)
		return -EINVAL;	/* a snapshot's length and its own header must agree */
	return ioctl(vcpu_fd, KVM_SET_NESTED_STATE, st) < 0 ? -errno : 0;
}
