/* cpu probe: vendor and model, VT-x/AMD-V, firmware enablement, and second-level virtualization
 * features. */
#include "config.h"
#include <errno.h>
#include <libcpuid/libcpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/backend.h"
#include "probe/facts.h"

#define CPUINFO_MAX (256 * 1024)

/* Lines Linux prints when firmware keeps VT-x/SVM off (arch/x86/kernel/cpu/feat_ctl.c, kvm). */
static const char *const bios_markers[] = {
	"disabled by bios",
	"disabled by BIOS",
	"VMX not enabled (by BIOS)",
	"SVM disabled (by BIOS)",
	"support for 'kvm_intel' disabled by bios",
	"virtualization disabled by BIOS",
};

/* libcpuid decodes the brand and family/model/stepping from leaves 1 and 0x80000002-4 alone: only
 * the leaves used are read, each CPUID being an exit (9 us here) when this host is a guest, and
 * the rest of the raw block stays zero. */
static void identify(struct probe_backend *be, struct probe_cpu *cpu, struct cpu_raw_data_t *raw,
		     uint32_t max_ext)
{
	struct cpu_id_t id;

	for (uint32_t i = 2; i <= 4 && 0x80000000u + i <= max_ext; i++)
		probe_cpuid(be, 0x80000000u + i, 0, raw->ext_cpuid[i]);
	if (cpu_identify(raw, &id) != 0)
		return;	/* vendor string from leaf 0 still stands */
	snprintf(cpu->brand, sizeof(cpu->brand), "%s", id.brand_str);
	cpu->family = id.ext_family;
	cpu->model = id.ext_model;
	cpu->stepping = id.stepping;
}

static void collect_cpuid(struct probe_backend *be, struct probe_cpu *cpu)
{
	struct cpu_raw_data_t raw;
	uint32_t *leaf0 = raw.basic_cpuid[0], *leaf1 = raw.basic_cpuid[1];
	uint32_t *ext0 = raw.ext_cpuid[0], *ext1 = raw.ext_cpuid[1], *svm = raw.ext_cpuid[0xA];
	uint32_t max_ext = 0;

	memset(&raw, 0, sizeof(raw));
	if ((cpu->cpuid_err = probe_cpuid(be, 0, 0, leaf0)) < 0)
		return;
	memcpy(cpu->vendor_str, &leaf0[1], 4);
	memcpy(cpu->vendor_str + 4, &leaf0[3], 4);
	memcpy(cpu->vendor_str + 8, &leaf0[2], 4);
	cpu->vendor_str[12] = '\0';
	cpu->vendor = CPU_VENDOR_OTHER;
	if (!strcmp(cpu->vendor_str, "GenuineIntel"))
		cpu->vendor = CPU_VENDOR_INTEL;
	else if (!strcmp(cpu->vendor_str, "AuthenticAMD") ||
		 !strcmp(cpu->vendor_str, "HygonGenuine"))
		cpu->vendor = CPU_VENDOR_AMD;
	/* VMX is Intel's bit, which VIA/Centaur and Zhaoxin implement too; SVM is AMD's, and Hygon's.
	 * Another vendor's bit there means nothing (a 1999 VIA CPU's extended leaf is junk). */
	bool vmx_vendor = cpu->vendor == CPU_VENDOR_INTEL ||
			  !strcmp(cpu->vendor_str, "CentaurHauls") ||
			  !strcmp(cpu->vendor_str, "  Shanghai  ");
	if (leaf0[0] >= 1 && probe_cpuid(be, 1, 0, leaf1) == 0) {
		cpu->vmx = vmx_vendor && (leaf1[2] & (1u << 5));
		cpu->hypervisor_bit = leaf1[2] & (1u << 31);
		if (!vmx_vendor && (leaf1[2] & (1u << 5)))
			snprintf(cpu->ignored_bit, sizeof(cpu->ignored_bit), "CPUID.1:ECX[5]");
	}
	if (probe_cpuid(be, 0x80000000u, 0, ext0) == 0)
		max_ext = ext0[0];
	if (max_ext >= 0x80000001u && max_ext < 0x80010000u &&
	    probe_cpuid(be, 0x80000001u, 0, ext1) == 0) {
		cpu->svm = cpu->vendor == CPU_VENDOR_AMD && (ext1[2] & (1u << 2));
		if (cpu->vendor != CPU_VENDOR_AMD && (ext1[2] & (1u << 2)) && !cpu->vmx)
			snprintf(cpu->ignored_bit, sizeof(cpu->ignored_bit),
				 "CPUID.80000001h:ECX[2]");
	}
	if (cpu->svm && max_ext >= 0x8000000Au && probe_cpuid(be, 0x8000000Au, 0, svm) == 0) {
		cpu->svm_nasid = svm[1];
		cpu->svm_edx = svm[3];
	}
	identify(be, cpu, &raw, max_ext);
}

static void collect_cpuinfo(struct probe_backend *be, struct probe_cpu *cpu)
{
	char *buf = malloc(CPUINFO_MAX);
	struct cpuinfo_flags fl;
	long n;

	if (!buf || probe_cpu_foreign(be)) {	/* a dump's CPU: this host's cpuinfo is not its */
		cpu->cpuinfo_err = buf ? -ENODATA : -ENOMEM;
		free(buf);
		return;
	}
	n = probe_read(be, "/proc/cpuinfo", buf, CPUINFO_MAX);
	if (n < 0)
		cpu->cpuinfo_err = (int)n;
	else if ((cpu->cpuinfo_err = vmxcaps_parse_cpuinfo(buf, (size_t)n, &fl)) == 0) {
		cpu->cpuinfo_vmx = fl.vmx;
		cpu->cpuinfo_svm = fl.svm;
		cpu->cpuinfo_has_vmx_flags = fl.vmx_flags_line;
		cpu->cpuinfo_features = fl.features;
	} else {
		/* every x86 kernel writes a flags line: without one the file is not /proc/cpuinfo
		 */
		probe_problem(be, "/proc/cpuinfo: no \"flags\" line (corrupt?), ignored");
	}
	free(buf);
}

static void read_msr(struct probe_backend *be, uint32_t msr, struct fact_u64 *f)
{
	f->err = probe_rdmsr(be, msr, &f->val);
}

static void collect_msrs(struct probe_backend *be, struct probe_cpu *cpu)
{
	cpu->feature_control.err = cpu->vm_cr.err = -ENOENT;
	for (int i = 0; i < VMX_MSR_COUNT; i++)
		cpu->vmx_msr[i].err = -ENOENT;
	if (cpu->vmx) {
		read_msr(be, MSR_IA32_FEATURE_CONTROL, &cpu->feature_control);
		for (int i = 0; i < VMX_MSR_COUNT; i++)
			read_msr(be, VMX_MSR_BASE + i, &cpu->vmx_msr[i]);
	} else if (cpu->svm) {
		read_msr(be, MSR_VM_CR, &cpu->vm_cr);
	}
}

static void collect_kmsg(struct probe_backend *be, struct probe_cpu *cpu)
{
	if (probe_cpu_foreign(be)) {	/* this kernel's log speaks of this CPU, not the dump's */
		cpu->kmsg_err = -ENODATA;
		return;
	}
	/* the log is asked only where the firmware's MSR cannot answer: reading and filtering
	 * ~1,000 records costs a millisecond */
	if (!(cpu->vmx && cpu->feature_control.err) && !(cpu->svm && cpu->vm_cr.err)) {
		cpu->kmsg_err = -ENODATA;
		return;
	}
	const char *log = probe_kmsg(be, &cpu->kmsg_err);

	for (const char *line = log; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		for (size_t i = 0; i < sizeof(bios_markers) / sizeof(bios_markers[0]); i++) {
			size_t ml = strlen(bios_markers[i]);
			for (size_t k = 0; k + ml <= n; k++)
				if (!memcmp(line + k, bios_markers[i], ml) && !cpu->kmsg_bios[0])
					snprintf(cpu->kmsg_bios, sizeof(cpu->kmsg_bios), "%.*s",
						 (int)(n < 150 ? n : 150), line);
		}
		line += n + (nl ? 1 : 0);
	}
}

static const struct fact_u64 *vmx_msr(const struct fact_u64 *msrs, uint32_t msr)
{
	return &msrs[msr - VMX_MSR_BASE];
}

static bool decode_vmx_msrs(const struct fact_u64 *m, uint64_t *features)
{
	const struct fact_u64 *pin = vmx_msr(m, MSR_IA32_VMX_PINBASED_CTLS);
	const struct fact_u64 *proc = vmx_msr(m, MSR_IA32_VMX_PROCBASED_CTLS);
	const struct fact_u64 *sec = vmx_msr(m, MSR_IA32_VMX_PROCBASED_CTLS2);
	const struct fact_u64 *ept = vmx_msr(m, MSR_IA32_VMX_EPT_VPID_CAP);

	if (pin->err || proc->err || sec->err)
		return false;
	*features = vmxcaps_decode_msrs(pin->val, proc->val, sec->val, ept->err ? 0 : ept->val);
	return true;
}

/* The first source that answers wins; the order is the issue's: MSRs, cpuinfo, CPUID, KVM. */
/* What to do about MSRs that could not be read: on the machine itself, read them; a CPUID dump has
 * none to read. */
static const char *msr_fix(const struct probe_facts *f, const char *usual)
{
	return f->cpu_dump[0] ? "probe that machine itself: a CPUID dump holds no MSRs" : usual;
}

void probe_cpu_decide_features(struct probe_cpu *cpu, const struct probe_kvm *kvm)
{
	cpu->features = 0;
	cpu->features_source = NULL;
	if (cpu->vmx && decode_vmx_msrs(cpu->vmx_msr, &cpu->features))
		cpu->features_source = "VMX capability MSRs 0x481/0x482/0x48B/0x48C "
				       "(/dev/cpu/0/msr)";
	else if (cpu->vmx && cpu->cpuinfo_has_vmx_flags) {
		cpu->features = cpu->cpuinfo_features;
		cpu->features_source = "the \"vmx flags\" line of /proc/cpuinfo";
	} else if (cpu->svm) {
		cpu->features = vmxcaps_decode_svm(cpu->svm_edx);
		cpu->features_source = "CPUID 0x8000000A EDX";
	} else if (cpu->vmx && kvm && decode_vmx_msrs(kvm->feat_msr, &cpu->features))
		cpu->features_source = "KVM feature MSRs (KVM_GET_MSR_FEATURE_INDEX_LIST)";
	else if (cpu->vmx && cpu->cpuinfo_err == 0 && cpu->cpuinfo_features) {
		cpu->features = cpu->cpuinfo_features;
		cpu->features_source = "the flags line of /proc/cpuinfo (kernel older than 5.6)";
	}
}

void probe_cpu_collect(struct probe_backend *be, struct probe_cpu *cpu)
{
	collect_cpuid(be, cpu);
	collect_cpuinfo(be, cpu);
	collect_msrs(be, cpu);
	collect_kmsg(be, cpu);
}

/* ---- checks ---- */

void probe_cpu_check_model(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_cpu *cpu = &f->cpu;

	if (cpu->cpuid_err)
		probe_check_set(c, PROBE_UNKNOWN,
				"give a CPUID dump: `nestvisor probe --cpuid-dump FILE`",
				"CPUID not available: %s",
				cpu->cpuid_err == -ENODATA ? "the CPUID dump did not load (see "
							     "probe.input)" :
							     "not in the recording");
	else
		/* libcpuid's codename table lags new models (0.6.2 calls Emerald Rapids
		 * "Broadwell-E"): not shown */
		probe_check_set(c, PROBE_PASS, "", "%s, %s (family 0x%x, model 0x%x, stepping %d)",
				cpu->vendor_str, cpu->brand[0] ? cpu->brand : "unknown model",
				cpu->family, cpu->model, cpu->stepping);
}

/* Without VT-x/AMD-V that is a FAIL only when KVM is known not to run guests either. */
static bool kvm_may_work(const struct probe_facts *f)
{
	return probe_kvm_works(&f->kvm) || (f->kvm.recorded && f->kvm.module[0]) ||
	       (!f->kvm.recorded && !f->kvm.open_err && f->kvm.run_err == -ECANCELED);
}

void probe_cpu_check_hwvirt(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_cpu *cpu = &f->cpu;
	const char *hv = probe_hv_name(&f->hv);

	if (cpu->cpuid_err)
		probe_check_set(c, PROBE_UNKNOWN, "", "CPUID not available: %s",
				strerror(-cpu->cpuid_err));
	else if (cpu->vmx)
		probe_check_set(c, PROBE_PASS, "", "Intel VT-x (CPUID.1:ECX[5] = 1)");
	else if (cpu->svm)
		probe_check_set(c, PROBE_PASS, "", "AMD-V (CPUID.80000001h:ECX[2] = 1)");
	else if (cpu->hypervisor_bit)
		probe_check_set(c, kvm_may_work(f) ? PROBE_WARN : PROBE_FAIL,
				"enable nested virtualization on the outer hypervisor, or choose "
				"an instance type that exposes VT-x/AMD-V",
				"no VT-x or AMD-V in CPUID (CPUID.1:ECX[5] = 0, "
				"CPUID.80000001h:ECX[2] = 0): this host is a guest of %s, which "
				"does not pass them through%s",
				hv ? hv : "an unidentified hypervisor",
				probe_kvm_works(&f->kvm) ? "; KVM still runs guests here (see "
							   "kvm.run)" :
							   "");
	else if (cpu->ignored_bit[0])
		probe_check_set(c, kvm_may_work(f) ? PROBE_WARN : PROBE_FAIL,
				"run on a CPU with Intel VT-x or AMD-V",
				"no VT-x or AMD-V: %s is set, but %s CPUs do not define VT-x or "
				"AMD-V there (a reserved bit, or a leaf this CPU fills with junk)",
				cpu->ignored_bit, cpu->vendor_str);
	else
		probe_check_set(c, kvm_may_work(f) ? PROBE_WARN : PROBE_FAIL,
				"run on a CPU with Intel VT-x or AMD-V",
				"no VT-x or AMD-V in CPUID (CPUID.1:ECX[5] = 0, "
				"CPUID.80000001h:ECX[2] = 0)");
}

static void firmware_intel(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_cpu *cpu = &f->cpu;
	static const char fix[] = "enable \"Intel Virtualization Technology\" (VT-x) in the "
				  "firmware setup, then power-cycle";

	if (cpu->feature_control.err == 0) {
		if (vmxcaps_feature_control_disabled(cpu->feature_control.val))
			probe_check_set(c, PROBE_FAIL, fix,
					"IA32_FEATURE_CONTROL (0x3A) = 0x%llx: locked with VMX "
					"outside SMX off",
					(unsigned long long)cpu->feature_control.val);
		else
			probe_check_set(c, PROBE_PASS, "",
					"IA32_FEATURE_CONTROL (0x3A) = 0x%llx: VMX allowed%s",
					(unsigned long long)cpu->feature_control.val,
					cpu->feature_control.val & 1 ? "" :
					" (unlocked: the kernel enables it)");
	} else if (cpu->kmsg_bios[0])
		probe_check_set(c, PROBE_FAIL, fix, "kernel log: \"%s\"", cpu->kmsg_bios);
	else if (cpu->cpuinfo_err == 0 && !cpu->cpuinfo_vmx)
		probe_check_set(c, PROBE_FAIL, fix,
				"CPUID has VT-x but /proc/cpuinfo hides the vmx flag, which Linux "
				"does when firmware locks VT-x off (IA32_FEATURE_CONTROL "
				"unreadable: %s)",
				strerror(-cpu->feature_control.err));
	else if (cpu->cpuinfo_err == 0)
		probe_check_set(c, PROBE_PASS, "",
				"/proc/cpuinfo shows vmx, which Linux hides when firmware locks "
				"VT-x off (IA32_FEATURE_CONTROL unreadable: %s)",
				strerror(-cpu->feature_control.err));
	else
		probe_check_set(c, PROBE_UNKNOWN, msr_fix(f, "run as root after `modprobe msr`"),
				"IA32_FEATURE_CONTROL unreadable (%s) and no /proc/cpuinfo",
				strerror(-cpu->feature_control.err));
}

static void firmware_amd(const struct probe_facts *f, struct probe_check *c)
{
	static const char fix[] = "enable \"SVM Mode\" in the firmware setup, then power-cycle";
	const struct probe_cpu *cpu = &f->cpu;

	if (cpu->vm_cr.err == 0) {
		if (vmxcaps_vm_cr_disabled(cpu->vm_cr.val))
			probe_check_set(c, PROBE_FAIL, fix,
					"VM_CR (0xC0010114) = 0x%llx: SVMDIS set%s",
					(unsigned long long)cpu->vm_cr.val,
					cpu->vm_cr.val & 8 ? " and locked" : "");
		else
			probe_check_set(c, PROBE_PASS, "",
					"VM_CR (0xC0010114) = 0x%llx: SVM allowed",
					(unsigned long long)cpu->vm_cr.val);
	} else if (cpu->kmsg_bios[0])
		probe_check_set(c, PROBE_FAIL, fix, "kernel log: \"%s\"", cpu->kmsg_bios);
	else if (!strcmp(f->kvm.module, "kvm_amd") && probe_kvm_works(&f->kvm))
		probe_check_set(c, PROBE_PASS, "",
				"kvm_amd runs guests, which it cannot with SVM disabled (VM_CR "
				"unreadable: %s)",
				strerror(-cpu->vm_cr.err));
	else
		probe_check_set(c, PROBE_UNKNOWN, msr_fix(f, "run as root after `modprobe msr`"),
				"VM_CR unreadable (%s) and the kernel log says nothing about SVM "
				"being disabled",
				strerror(-cpu->vm_cr.err));
}

bool probe_cpu_firmware_disabled(const struct probe_cpu *cpu)
{
	if (cpu->vmx && cpu->feature_control.err == 0)
		return vmxcaps_feature_control_disabled(cpu->feature_control.val);
	if (cpu->svm && cpu->vm_cr.err == 0)
		return vmxcaps_vm_cr_disabled(cpu->vm_cr.val);
	return (cpu->vmx || cpu->svm) &&
		(cpu->kmsg_bios[0] || (cpu->vmx && cpu->cpuinfo_err == 0 && !cpu->cpuinfo_vmx));
}

void probe_cpu_check_firmware(const struct probe_facts *f, struct probe_check *c)
{
	if (f->cpu.vmx)
		firmware_intel(f, c);
	else if (f->cpu.svm)
		firmware_amd(f, c);
	else
		probe_check_set(c, PROBE_NOTE, "",
				"not applicable: the CPU shows no VT-x/AMD-V (see cpu.hwvirt)");
}

/* One row per feature check: what it needs on each vendor, and what its absence costs. */
struct feature_rule {
	const char *id;
	uint64_t intel, amd;		/* VF_* bits that must all be present */
	const char *intel_name, *amd_name;
	const char *intel_param, *amd_param;	/* kvm module parameter that can turn it off */
	enum probe_status missing;
	const char *cost;
};

static const struct feature_rule feature_rules[] = {
	{ "cpu.slat", VF(VF_EPT), VF(VF_NPT), "EPT", "NPT", "ept", "npt", PROBE_WARN,
	  "KVM falls back to shadow paging: every guest page-table write exits" },
	{ "cpu.vpid", VF(VF_VPID), 0, "VPID", "ASIDs tag the TLB, built into AMD-V", "vpid", NULL,
	  PROBE_WARN, "the TLB is flushed on every VM entry and exit" },
	{ "cpu.ug", VF(VF_UG), 0, "unrestricted guest",
	  "AMD-V runs real-mode guests natively (paged real mode)", "unrestricted_guest", NULL,
	  PROBE_NOTE, "guest real-mode code is emulated" },
	{ "cpu.apicv", VF_APICV_ALL, VF(VF_AVIC),
	  "APICv (APIC-register virtualization, virtual-interrupt delivery, posted interrupts)",
	  "AVIC", "enable_apicv", "avic", PROBE_NOTE,
	  "every guest APIC access and interrupt exits" },
	{ "cpu.shadow", VF(VF_SHADOW_VMCS), VF(VF_VMSAVE_VIRT) | VF(VF_VGIF), "VMCS shadowing",
	  "virtual VMSAVE/VMLOAD and VGIF", "enable_shadow_vmcs", "vgif", PROBE_NOTE,
	  "nested guests' VMREAD/VMWRITE (or VMSAVE/VMLOAD/STGI) exit to the outer hypervisor" },
};

void probe_cpu_check_feature(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_cpu *cpu = &f->cpu;
	const struct feature_rule *r = NULL;
	char have[192];

	for (size_t i = 0; i < sizeof(feature_rules) / sizeof(feature_rules[0]); i++)
		if (!strcmp(feature_rules[i].id, c->id))
			r = &feature_rules[i];
	if (!r || (!cpu->vmx && !cpu->svm)) {
		probe_check_set(c, PROBE_NOTE, "",
				"not applicable: the CPU shows no VT-x/AMD-V (see cpu.hwvirt)");
		return;
	}
	uint64_t need = cpu->vmx ? r->intel : r->amd;
	const char *name = cpu->vmx ? r->intel_name : r->amd_name;
	const char *param = cpu->vmx ? r->intel_param : r->amd_param;
	const char *pval = param ? probe_kvm_param(&f->kvm, param) : NULL;
	if (need == 0) {	/* built into SVM itself */
		probe_check_set(c, PROBE_PASS, "", "%s (CPUID 0x8000000A: SVM revision, %u ASIDs)",
				name, cpu->svm_nasid);
		return;
	}
	if (!cpu->features_source) {
		probe_check_set(
			c, PROBE_UNKNOWN,
			msr_fix(f, "run as root after `modprobe msr`, or on Linux 5.6 or newer"),
			"%s: no source answered (VMX MSRs unreadable, no \"vmx flags\" in "
			"/proc/cpuinfo, no KVM feature MSRs)",
			name);
		return;
	}
	vmxcaps_names(cpu->features & need, have, sizeof(have));
	if ((cpu->features & need) != need)
		probe_check_set(c, r->missing, "none: the processor lacks it; a newer CPU has it",
				"%s not available (%s has: %s): %s", name, cpu->features_source,
				have, r->cost);
	else if (param && probe_kvm_param_bool(&f->kvm, param) == 0)
		probe_check_set(c, PROBE_WARN,
				"remove the module option that turns it off (see /etc/modprobe.d) "
				"and reload the KVM module",
				"%s present (%s) but %s %s=%s turns it off: %s", name,
				cpu->features_source, f->kvm.module, param, pval, r->cost);
	else
		probe_check_set(c, PROBE_PASS, "", "%s (%s: %s)", name, cpu->features_source, have);
}

