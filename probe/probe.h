/* probe: public API of nestvisor's host virtualization probe (facts, checks, output). */
#ifndef NESTVISOR_PROBE_H
#define NESTVISOR_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROBE_JSON_SCHEMA "nestvisor-probe"
#define PROBE_JSON_SCHEMA_VERSION 1

enum probe_status { PROBE_PASS, PROBE_NOTE, PROBE_WARN, PROBE_FAIL, PROBE_UNKNOWN };

struct probe_check {
	const char *id;		/* stable, e.g. "cpu.hwvirt" */
	const char *title;
	enum probe_status status;
	char evidence[512];	/* what was read, and from where */
	char fix[384];		/* one sentence; empty on PASS */
};

struct probe_backend;
struct probe_facts;

struct probe_options {
	const char *replay_dir;	/* NULL: live host */
	const char *save_dir;	/* NULL: do not record */
	const char *cpuid_dump;	/* libcpuid raw dump replacing CPUID */
	bool skip_functional;	/* do not run the tiny KVM guest */
};

struct probe_summary {
	/* hardware-accelerated VMs: 1 yes, 0 no, -1 not known (not recorded, --no-run) */
	int hw_vms;
	/* VMs at all: 1 when KVM ran the tiny guest, hardware-accelerated or not (a software KVM:
	 * hw_vms 0, vms 1), 0 when it did not, -1 not known */
	int vms;
	char hw_vms_how[384];
	bool nested;
	char nested_why[256];
	int pt_ready;		/* devices ready for passthrough */
	int pt_candidates;	/* devices that could be passed through */
	int pt_devices, pt_paravirtual, pt_host;	/* all PCI devices; virtio ones; bridges */
	char passthrough[192];	/* the summary's line: "2 of 4 devices ready (...)" */
};

struct probe_report {
	struct probe_facts *facts;
	struct probe_check *checks;
	size_t nchecks;
	struct probe_summary summary;
	char source[32];	/* "live" or "replay" */
	char save_error[256];	/* --save: the files that could not be written, or "" */
};

/* A PCI device as the probe found and judged it (its public face, as pciutils' struct pci_dev is
 * lspci's). */
struct probe_pci_dev {
	char addr[16];			/* 0000:00:1f.0 */
	char slot[16];			/* 00:1f.0, as lspci prints */
	uint16_t vendor, device, sub_vendor, sub_device, cls;
	uint8_t rev;
	char vendor_name[96], device_name[160], class_name[64];
	char driver[48];
	int group;			/* -1: none */
	char group_peers[160];		/* other members of the group */
	char reset[64];			/* reset_method, or "flr" from config space, or "" */
	int sriov_vfs;			/* total VFs, -1 unknown */
	int acs; /* 1 has ACS capability, 0 not, -1 unreadable, -2 none: conventional PCI */
	bool paravirtual;		/* already a virtio device */
	const char *verdict;		/* ready, not-ready, paravirtual, host-infrastructure */
	/* what VFIO_GROUP_GET_STATUS will say of the group once this device is bound to vfio-pci:
	 * "viable", "not-viable" (a peer's host driver claims its DMA), "no-group" (no IOMMU
	 * group, or no active IOMMU); NULL for bridges and the IOMMU itself */
	const char *vfio;
	char reason[400];
	const char *alternative;
};

/* The report's PCI devices: their count (0 with *devs NULL when the scan failed; why, if why is not
 * NULL). */
int probe_report_devices(const struct probe_report *rep, const struct probe_pci_dev **devs,
			 const char **why);

/* The report's device at addr (0000:01:00.0), or NULL: the verdict a passthrough is gated on. */
const struct probe_pci_dev *probe_report_device(const struct probe_report *rep, const char *addr);

/* A device's ACS, as words: "yes", "no" or "unreadable". */
const char *probe_pci_acs_name(const struct probe_pci_dev *d);

/* Runs the whole probe; 0 or -errno (the probe itself could not run). Fills err on failure. */
int probe_run(const struct probe_options *opt, struct probe_report *rep, char *err, size_t errlen);
void probe_report_free(struct probe_report *rep);

/* Worst status among the checks; FAIL decides the exit code. */
enum probe_status probe_report_worst(const struct probe_report *rep);
const struct probe_check *probe_report_find(const struct probe_report *rep, const char *id);
const char *probe_status_name(enum probe_status s);

/* Whether guests here may run their own hypervisor: the nested.support check's own judgement, from
 * the CPU, hypervisor and KVM facts alone (no PCI scan, no functional run), for a VMM deciding
 * --nested. Intel: KVM's VMX capability MSRs (IA32_VMX_BASIC 0x480 onwards, as /dev/kvm reports
 * them) come with it. */
#define PROBE_VMX_MSRS 0x13
struct probe_nested {
	bool possible;
	bool vmx, svm;			/* which one KVM offers guests */
	char why[256], fix[384];
	/* KVM_CAP_NESTED_STATE: bytes a vCPU's nested state takes; 0 none, -1 unknown */
	int state_size;
	bool vmx_msr_ok[PROBE_VMX_MSRS];
	uint64_t vmx_msr[PROBE_VMX_MSRS];
};
/* replay_dir: a recording (tests), or NULL for this host. 0, or -errno with err set. */
int probe_nested_query(const char *replay_dir, struct probe_nested *n, char *err, size_t errlen);

/* Output. */
void probe_output_text(const struct probe_report *rep, FILE *out, bool color, int verbose);
/* Returns a malloc'd JSON document (the versioned schema in docs/probe-json.md). */
char *probe_output_json(const struct probe_report *rep);

#endif
