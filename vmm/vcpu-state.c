/* vcpu-state: a vCPU's whole state as KVM holds it, in one section of a snapshot, and back
 * (docs/snapshot.md): registers, system registers, XSAVE area and XCRs, every MSR KVM saves, the
 * local APIC, pending events, MP state, debug registers, its CPUID and (nested on) KVM's nested
 * state. Read while the vCPU is parked; written before it first runs. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "common/errmsg.h"
#include "nested/nested.h"
#include "vmm/vm.h"
#include "vmm/vcpu-state.h"

#define MSRS_MAX 512
#define CPUID_MAX 256
#define BLOB_MAX (1u << 20)	/* an XSAVE area or a nested state: 4-16 KiB in practice */
#define MSR_IA32_TSC_DEADLINE 0x6e0

/* The section's fixed part; the variable ones follow in this order: nmsrs MSRs, ncpuid CPUID
 * entries, the XSAVE area, the nested state. The kernel's structures are its stable ABI. */
struct vcpu_hdr {
	uint32_t id, nmsrs, ncpuid, xsave_len, nested_len, has_xcrs;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_debugregs dregs;
};

/* The MSRs KVM saves and restores (KVM_GET_MSR_INDEX_LIST), those this vCPU can read. */
static int msr_list(struct vmm *vm, int fd, struct kvm_msr_entry **out, uint32_t *n)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	struct kvm_msr_entry *e;

	*out = NULL;
	*n = 0;
	if (ioctl(vm->sysfd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	if (probe.nmsrs > MSRS_MAX)
		return -E2BIG;
	if (!(l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t))) ||
	    !(e = calloc(probe.nmsrs + 1, sizeof(*e)))) {
		free(l);
		return -ENOMEM;
	}
	l->nmsrs = probe.nmsrs;
	if (ioctl(vm->sysfd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		int rc = -errno;
		free(l);
		free(e);
		return rc;
	}
	for (uint32_t i = 0; i < l->nmsrs; i++) {	/* one by one: KVM_GET_MSRS stops at a failure */
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e;
		} one = { .h.nmsrs = 1, .e.index = l->indices[i] };
		if (ioctl(fd, KVM_GET_MSRS, &one) == 1)
			e[(*n)++] = one.e;
	}
	free(l);
	*out = e;
	return 0;
}

static int xsave_size(struct vmm *vm)
{
	int n = ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) ? n : (int)sizeof(struct kvm_xsave);
}

int vmm_vcpu_state_save(struct vmm *vm, struct vmm_vcpu *c, void **buf, size_t *len)
{
	struct vcpu_hdr h = { .id = (uint32_t)c->id };
	struct kvm_msr_entry *msrs = NULL;
	struct kvm_cpuid2 *cpuid = NULL;
	void *nested = NULL, *xsave = NULL;
	size_t nested_len = 0;
	uint8_t *out = NULL;
	int rc;

	*buf = NULL;
	*len = 0;
	h.xsave_len = (uint32_t)xsave_size(vm);
	if (!(xsave = calloc(1, h.xsave_len)) ||
	    !(cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX * sizeof(cpuid->entries[0])))) {
		rc = -ENOMEM;
		goto out;
	}
	cpuid->nent = CPUID_MAX;
	h.has_xcrs = ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	if (ioctl(c->fd, KVM_GET_REGS, &h.regs) < 0 || ioctl(c->fd, KVM_GET_SREGS, &h.sregs) < 0 ||
	    (h.has_xcrs && ioctl(c->fd, KVM_GET_XCRS, &h.xcrs) < 0) ||
	    ioctl(c->fd, h.xsave_len > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
		  xsave) < 0 ||
	    ioctl(c->fd, KVM_GET_LAPIC, &h.lapic) < 0 ||
	    ioctl(c->fd, KVM_GET_VCPU_EVENTS, &h.events) < 0 ||
	    ioctl(c->fd, KVM_GET_MP_STATE, &h.mp) < 0 ||
	    ioctl(c->fd, KVM_GET_DEBUGREGS, &h.dregs) < 0 ||
	    ioctl(c->fd, KVM_GET_CPUID2, cpuid) < 0) {
		rc = -errno;
		goto out;
	}
	h.ncpuid = cpuid->nent;
	if ((rc = msr_list(vm, c->fd, &msrs, &h.nmsrs)) < 0)
		goto out;
	if (vm->nested && (rc = nested_state_save(c->fd, vm->sysfd, &nested, &nested_len)) < 0)
		goto out;
	h.nested_len = (uint32_t)nested_len;
	size_t total = sizeof(h) + h.nmsrs * sizeof(*msrs) + h.ncpuid * sizeof(cpuid->entries[0]) +
		       h.xsave_len + h.nested_len;
	if (!(out = malloc(total))) {
		rc = -ENOMEM;
		goto out;
	}
	uint8_t *p = out;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, msrs, h.nmsrs * sizeof(*msrs));
	p += h.nmsrs * sizeof(*msrs);
	memcpy(p, cpuid->entries, h.ncpuid * sizeof(cpuid->entries[0]));
	p += h.ncpuid * sizeof(cpuid->entries[0]);
	memcpy(p, xsave, h.xsave_len);
	p += h.xsave_len;
	if (nested_len)
		memcpy(p, nested, nested_len);
	*buf = out;
	*len = total;
	rc = 0;
out:
	free(msrs);
	free(cpuid);
	free(xsave);
	free(nested);
	return rc;
}

/* A feature the snapshot's guest was shown that this host's CPUID for it lacks: where, or 0. */
static const struct { uint32_t leaf, index; int reg; const char *name; } feature_regs[] = {
	{ 1, 0, 2, "CPUID.1:ECX" },	     { 1, 0, 3, "CPUID.1:EDX" },
	{ 7, 0, 1, "CPUID.7.0:EBX" },	     { 7, 0, 2, "CPUID.7.0:ECX" },
	{ 7, 0, 3, "CPUID.7.0:EDX" },	     { 0xd, 1, 0, "CPUID.0xD.1:EAX" },
	{ 0x80000001, 0, 2, "CPUID.80000001h:ECX" }, { 0x80000001, 0, 3, "CPUID.80000001h:EDX" },
};

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, int reg)
{
	return reg == 0 ? e->eax : reg == 1 ? e->ebx : reg == 2 ? e->ecx : e->edx;
}

static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid_entry2 *e, uint32_t n,
						uint32_t leaf, uint32_t index)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function == leaf && e[i].index == index)
			return &e[i];
	return NULL;
}

static int cpuid_check(struct vmm_vcpu *c, const struct kvm_cpuid_entry2 *saved, uint32_t n,
		       char *err, size_t errlen)
{
	struct kvm_cpuid2 *now = calloc(1, sizeof(*now) + CPUID_MAX * sizeof(now->entries[0]));
	int rc = 0;

	if (!now)
		return -ENOMEM;
	now->nent = CPUID_MAX;
	if (ioctl(c->fd, KVM_GET_CPUID2, now) < 0) {
		rc = -errno;
		snprintf(err, errlen, "KVM_GET_CPUID2: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof(feature_regs) / sizeof(feature_regs[0]) && !rc; i++) {
		const struct kvm_cpuid_entry2 *a = find_leaf(saved, n, feature_regs[i].leaf,
							      feature_regs[i].index);
		const struct kvm_cpuid_entry2 *b = find_leaf(now->entries, now->nent,
							      feature_regs[i].leaf,
							      feature_regs[i].index);
		uint32_t lost = (a ? reg_of(a, feature_regs[i].reg) : 0) &
				~(b ? reg_of(b, feature_regs[i].reg) : 0);
		if (lost) {
			snprintf(err, errlen,
				 "its guest was shown CPU features this host cannot give it (%s bits "
				 "0x%08x): restore it on a host with the same CPU, or snapshot a VM "
				 "started with --cpu baseline", feature_regs[i].name, lost);
			rc = -ENOTSUP;
		}
	}
out:
	free(now);
	return rc;
}

static int step(struct vmm_vcpu *c, unsigned long req, void *arg, const char *what, char *err,
		size_t errlen)
{
	if (ioctl(c->fd, req, arg) < 0)
		return errmsg(err, errlen, -EINVAL, "vCPU %d: KVM refused its %s (%s)", c->id, what,
			      strerror(errno));
	return 0;
}

/* Sets the MSRs in one call; KVM stops at the first it refuses: named. */
static int set_msrs(struct vmm_vcpu *c, const struct kvm_msr_entry *e, uint32_t n, char *err,
		    size_t errlen)
{
	struct kvm_msrs *m;
	int got;

	if (!n)
		return 0;
	if (!(m = calloc(1, sizeof(*m) + n * sizeof(*e))))
		return -ENOMEM;
	m->nmsrs = n;
	memcpy(m->entries, e, n * sizeof(*e));
	got = ioctl(c->fd, KVM_SET_MSRS, m);
	free(m);
	if (got == (int)n)
		return 0;
	snprintf(err, errlen, "vCPU %d: KVM refused MSR 0x%x (%s)", c->id,
		 got >= 0 ? e[got].index : 0, got >= 0 ? "its value" : strerror(errno));
	return -EINVAL;
}

int vmm_vcpu_state_load(struct vmm *vm, struct vmm_vcpu *c, const void *buf, size_t len,
			char *err, size_t errlen)
{
	struct vcpu_hdr h;
	const uint8_t *p = buf;
	int rc;

	if (len < sizeof(h)) {
		snprintf(err, errlen, "vCPU %d: its section is too short", c->id);
		return -EINVAL;
	}
	memcpy(&h, p, sizeof(h));
	uint64_t need = sizeof(h) + (uint64_t)h.nmsrs * sizeof(struct kvm_msr_entry) +
			(uint64_t)h.ncpuid * sizeof(struct kvm_cpuid_entry2) + h.xsave_len +
			h.nested_len;
	if (h.id != (uint32_t)c->id || h.nmsrs > MSRS_MAX || h.ncpuid > CPUID_MAX ||
	    h.xsave_len > BLOB_MAX || h.nested_len > BLOB_MAX || need != len) {
		snprintf(err, errlen, "vCPU %d: its section does not add up (damaged or foreign)",
			 c->id);
		return -EINVAL;
	}
	if (h.xsave_len != (uint32_t)xsave_size(vm)) {
		snprintf(err, errlen,
			 "vCPU %d: its XSAVE area has %u bytes, this host's KVM %d: restore it on "
			 "a host with the same CPU", c->id, h.xsave_len, xsave_size(vm));
		return -ENOTSUP;
	}
	if (h.nested_len && !vm->nested) {
		snprintf(err, errlen, "vCPU %d: it ran nested guests, and this host cannot (%s)",
			 c->id, vm->nested_host.why[0] ? vm->nested_host.why : "no nested state");
		return -ENOTSUP;
	}
	const struct kvm_msr_entry *msrs = (const void *)(p + sizeof(h));
	const struct kvm_cpuid_entry2 *ent = (const void *)(msrs + h.nmsrs);
	const uint8_t *xsave = (const uint8_t *)(ent + h.ncpuid), *nested = xsave + h.xsave_len;
	if ((rc = cpuid_check(c, ent, h.ncpuid, err, errlen)) < 0)
		return rc;
	struct kvm_cpuid2 *cp = calloc(1, sizeof(*cp) + h.ncpuid * sizeof(*ent));
	void *xs = malloc(h.xsave_len), *ns = h.nested_len ? malloc(h.nested_len) : NULL;
	struct kvm_msr_entry *first = calloc(h.nmsrs + 1, sizeof(*first)), deadline = { 0 };
	uint32_t nfirst = 0;
	bool has_deadline = false;
	rc = -ENOMEM;
	if (!cp || !xs || (h.nested_len && !ns) || !first)
		goto out;
	cp->nent = h.ncpuid;
	memcpy(cp->entries, ent, h.ncpuid * sizeof(*ent));
	memcpy(xs, xsave, h.xsave_len);
	if (ns)
		memcpy(ns, nested, h.nested_len);
	for (uint32_t i = 0; i < h.nmsrs; i++) {	/* the deadline after the LAPIC's mode */
		if (msrs[i].index == MSR_IA32_TSC_DEADLINE) {
			deadline = msrs[i];
			has_deadline = true;
		} else
			first[nfirst++] = msrs[i];
	}
	/* QEMU's order: CPUID, system registers (EFER.SVME before a nested state), the nested
	 * state, registers, XSAVE, XCRs, MSRs, LAPIC, MP state, the deadline, events, debug */
	if ((rc = step(c, KVM_SET_CPUID2, cp, "CPUID", err, errlen)) < 0 ||
	    (rc = step(c, KVM_SET_SREGS, &h.sregs, "system registers", err, errlen)) < 0)
		goto out;
	if (ns && (rc = nested_state_restore(c->fd, ns, h.nested_len)) < 0) {
		rc = errmsg(err, errlen, rc, "vCPU %d: KVM refused its nested state (%s)", c->id,
			    strerror(-rc));
		goto out;
	}
	if ((rc = step(c, KVM_SET_REGS, &h.regs, "registers", err, errlen)) < 0 ||
	    (rc = step(c, KVM_SET_XSAVE, xs, "XSAVE area", err, errlen)) < 0 ||
	    (h.has_xcrs && (rc = step(c, KVM_SET_XCRS, &h.xcrs, "XCRs", err, errlen)) < 0) ||
	    (rc = set_msrs(c, first, nfirst, err, errlen)) < 0 ||
	    (rc = step(c, KVM_SET_LAPIC, &h.lapic, "local APIC", err, errlen)) < 0 ||
	    (rc = step(c, KVM_SET_MP_STATE, &h.mp, "MP state", err, errlen)) < 0 ||
	    (has_deadline && (rc = set_msrs(c, &deadline, 1, err, errlen)) < 0) ||
	    (rc = step(c, KVM_SET_VCPU_EVENTS, &h.events, "pending events", err, errlen)) < 0 ||
	    (rc = step(c, KVM_SET_DEBUGREGS, &h.dregs, "debug registers", err, errlen)) < 0)
		goto out;
	rc = 0;
out:
	free(cp);
	free(xs);
	free(ns);
	free(first);
	return rc;
}
