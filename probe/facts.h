/* facts: everything the probe read, gathered before any check judges it (internal to probe/). */
#ifndef NESTVISOR_PROBE_FACTS_H
#define NESTVISOR_PROBE_FACTS_H

#include <stdbool.h>
#include <stdint.h>
#include "probe/probe.h"
#include "probe/vmxcaps.h"

enum probe_vendor { CPU_VENDOR_UNKNOWN, CPU_VENDOR_INTEL, CPU_VENDOR_AMD, CPU_VENDOR_OTHER };

/* A fact that may be missing: err is 0 when val holds, -errno otherwise. */
struct fact_u64 { int err; uint64_t val; };

struct probe_cpu {
	int cpuid_err;			/* -errno: CPUID unavailable */
	enum probe_vendor vendor;
	char vendor_str[16];
	char brand[64];
	int family, model, stepping;
	bool vmx, svm, hypervisor_bit;
	/* a VMX or SVM bit set by a vendor that does not define it there (a junk leaf): ignored, and
	 * said: "CPUID.80000001h:ECX[2]" or "CPUID.1:ECX[5]", "" when none */
	char ignored_bit[24];
	uint32_t svm_edx, svm_nasid;	/* CPUID 0x8000000A */
	int cpuinfo_err;
	bool cpuinfo_vmx, cpuinfo_svm;	/* Linux hides these when firmware disables them */
	bool cpuinfo_has_vmx_flags;	/* a "vmx flags" line exists (Linux >= 5.6) */
	uint64_t cpuinfo_features;	/* VF_* bits from cpuinfo flags / vmx flags */
	struct fact_u64 feature_control;	/* MSR 0x3A */
	struct fact_u64 vm_cr;			/* MSR 0xC0010114 */
	struct fact_u64 vmx_msr[VMX_MSR_COUNT];	/* 0x480.. from /dev/cpu/0/msr */
	int kmsg_err;
	char kmsg_bios[160];		/* a kernel line saying firmware disabled VT-x/SVM */
	/* Decoded second-level features and the source that answered. */
	uint64_t features;
	const char *features_source;
};

#define PROBE_HV_MAX 8
struct probe_hv {
	int nsig;
	struct {
		uint32_t leaf;
		char sig[13];
		const char *name;
		const char *kind;
	} sig[PROBE_HV_MAX];
	char dmi_vendor[64], dmi_product[64], dmi_bios[64];
	char acpi_oem[7], acpi_oem_table[7];
	const char *acpi_platform;	/* name derived from the ACPI OEM ID */
	const char *acpi_kind;
	char display[96];		/* "Firecracker (KVM)"; "" on bare metal */
	const char *kind;		/* type 1, type 2, emulator */
};

#define PROBE_KVM_MAX_CAPS 24
#define PROBE_KVM_MAX_PARAMS 64
struct probe_kvm_param { char name[48]; char value[48]; };

struct probe_kvm {
	/* from sysfs */
	char module[24];		/* kvm_intel, kvm_amd, kvm_pvm, "" */
	int nparams;
	struct probe_kvm_param params[PROBE_KVM_MAX_PARAMS];
	bool kvm_builtin_or_loaded;	/* /sys/module/kvm exists */
	/* from /dev/kvm (live, or kvm.json in a recording) */
	int recorded;			/* 0: facts present; -ENOENT: not in recording */
	int open_err;			/* -errno opening /dev/kvm */
	/* when that was EACCES/EPERM: who may open it (mode 0: not known) */
	unsigned dev_mode, dev_gid;
	char dev_group[32];		/* the group's name, "" when it has none */
	bool user_in_group;		/* this user is in it (the login that added it not yet redone) */
	int api_version;
	int ncaps;
	struct { char name[40]; int num; int val; } caps[PROBE_KVM_MAX_CAPS];
	int cpuid_err;			/* KVM_GET_SUPPORTED_CPUID */
	bool cpuid_vmx, cpuid_svm;
	uint32_t cpuid_svm_edx;
	int nfeature_msrs;
	struct fact_u64 feat_msr[VMX_MSR_COUNT];	/* KVM feature MSRs 0x480.. */
	/* functional check */
	int run_err;			/* 0: guest ran to its end */
	char run_detail[200];
	unsigned run_exits;
	double run_total_us;		/* create VM to guest end */
	double exit_rtt_us;		/* one exit to userspace and back */
	/* the guest's kernel-mode speed: the time between the two exits around PROBE_KVM_LOOP
	 * iterations of dec/jnz in the guest's ring 0, and the same loop on this CPU natively (0:
	 * not measured) */
	double ring0_loop_us, native_loop_us;
};

struct probe_iommu {
	bool dmar, ivrs;		/* ACPI tables present */
	int dmar_flags, ivrs_info;
	bool acpi_err;
	char acpi_corrupt[64];		/* "DMAR" / "IVRS" when present but unparseable */
	int units;			/* /sys/class/iommu entries */
	char unit_names[128];
	int groups_err;
	int groups;
	char group_types[96];		/* distinct default domain types */
	bool identity_groups;
	char cmdline[1024];
	int cmdline_err;
	int intremap;			/* 1 on, 0 off, -1 unknown */
	char intremap_evidence[160];
};

struct probe_pci {
	int err;
	char errmsg[128];
	int ndevs;
	struct probe_pci_dev *devs;
};

/* Beside KVM (hostenv.c): what virt-host-validate checks too. */
struct probe_env {
	bool dev_known; /* /dev was read (a recording before these checks has none) */
	bool vhost_net, tun;
	int cgroup_version, cgroup_err;	/* 1 (v1 or hybrid, /proc/cgroups), 2 (unified) */
	char cgroups[256];		/* the enabled controllers, space between */
	bool cpu_sev, cpu_sev_es, cpu_sev_snp;
	int kvm_sev, kvm_sev_es, kvm_sev_snp, kvm_tdx; /* the module parameters: 1, 0, -1 unknown */
};

struct probe_facts {
	char source[16];
	char input[4096];		/* the recording directory, or "" for the live host */
	/* --cpuid-dump: CPUID from it (its form); the CPU is judged from the dump alone */
	char cpu_dump[4096], cpu_dump_form[32];
	char problems[512];		/* inputs that could not be used */
	char kernel[128];
	struct probe_cpu cpu;
	struct probe_hv hv;
	struct probe_kvm kvm;
	struct probe_iommu iommu;
	struct probe_pci pci;
	struct probe_env env;
};

/* Collectors (one per module): read through the backend, never judge. */
void probe_cpu_collect(struct probe_backend *be, struct probe_cpu *cpu);
void probe_hv_collect(struct probe_backend *be, const struct probe_cpu *cpu, struct probe_hv *hv);
/* KVM in two parts: sysfs (through the backend), then the /dev/kvm query (ops->kvm_query), which a
 * live run overlaps with the other collectors, and probe_kvm_save to record the query's answer. */
void probe_kvm_collect_sysfs(struct probe_backend *be, struct probe_kvm *kvm);
void probe_kvm_save(struct probe_backend *be, const struct probe_kvm *kvm);
void probe_iommu_collect(struct probe_backend *be, struct probe_iommu *io);
struct pci_access;
struct pci_access *probe_pci_names_load(void);
void probe_pci_names_free(struct pci_access *names);
/* The scan (sysfs and config space: slow where config reads trap to a hypervisor), then names and
 * verdicts; names: a loaded pci.ids (probe_pci_names_load), or NULL to load it there. */
void probe_pci_collect(struct probe_backend *be, struct probe_pci *pci);
void probe_pci_finish(struct probe_pci *pci, const struct probe_iommu *io, struct pci_access *names,
		      bool named);
void probe_pci_free(struct probe_pci *pci);
/* Decides the second-level features once KVM's feature MSRs are known (the last source). */
void probe_cpu_decide_features(struct probe_cpu *cpu, const struct probe_kvm *kvm);

/* Check functions: judge facts only. */
typedef void (*probe_check_fn)(const struct probe_facts *f, struct probe_check *c);
void probe_check_set(struct probe_check *c, enum probe_status s, const char *fix, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));

void probe_cpu_check_model(const struct probe_facts *f, struct probe_check *c);
void probe_cpu_check_hwvirt(const struct probe_facts *f, struct probe_check *c);
void probe_cpu_check_firmware(const struct probe_facts *f, struct probe_check *c);
/* cpu.slat, cpu.vpid, cpu.ug, cpu.apicv, cpu.shadow: one table-driven judgement keyed by c->id. */
void probe_cpu_check_feature(const struct probe_facts *f, struct probe_check *c);
void probe_hv_check(const struct probe_facts *f, struct probe_check *c);
void probe_kvm_check_module(const struct probe_facts *f, struct probe_check *c);
void probe_kvm_check_dev(const struct probe_facts *f, struct probe_check *c);
void probe_kvm_check_caps(const struct probe_facts *f, struct probe_check *c);
void probe_kvm_check_run(const struct probe_facts *f, struct probe_check *c);
void probe_nested_check(const struct probe_facts *f, struct probe_check *c);
void probe_nested_check_state(const struct probe_facts *f, struct probe_check *c);
void probe_iommu_check_acpi(const struct probe_facts *f, struct probe_check *c);
void probe_iommu_check_active(const struct probe_facts *f, struct probe_check *c);
void probe_iommu_check_cmdline(const struct probe_facts *f, struct probe_check *c);
void probe_iommu_check_intremap(const struct probe_facts *f, struct probe_check *c);
void probe_pci_check(const struct probe_facts *f, struct probe_check *c);
void probe_env_collect(struct probe_backend *be, const struct probe_kvm *kvm, struct probe_env *e);
void probe_env_check_vhost(const struct probe_facts *f, struct probe_check *c);
void probe_env_check_tun(const struct probe_facts *f, struct probe_check *c);
void probe_env_check_cgroups(const struct probe_facts *f, struct probe_check *c);
void probe_env_check_secure(const struct probe_facts *f, struct probe_check *c);
void probe_input_check(const struct probe_facts *f, struct probe_check *c);

/* Shared judgements used by several checks and the summary. */
bool probe_kvm_works(const struct probe_kvm *kvm);
bool probe_cpu_firmware_disabled(const struct probe_cpu *cpu);
bool probe_kvm_is_software(const struct probe_facts *f);
const char *probe_kvm_param(const struct probe_kvm *kvm, const char *name);
/* A boolean module parameter: 1 on, 0 off, -1 absent or not a boolean. */
int probe_kvm_param_bool(const struct probe_kvm *kvm, const char *name);
bool probe_nested_possible(const struct probe_facts *f, char *why, size_t len);
bool probe_iommu_active(const struct probe_iommu *io);
const char *probe_hv_name(const struct probe_hv *hv);

#endif
