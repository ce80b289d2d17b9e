/* probe: runs the collectors through one backend, then judges the facts with a const table of
 * checks. */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/backend.h"
#include "common/text.h"
#include "probe/facts.h"
#include "probe/kvm.h"
#include "probe/namecache.h"
#include "probe/recfile.h"

static const struct { const char *id; const char *title; probe_check_fn fn; } probe_checks[] = {
	{ "probe.input", "What was read", probe_input_check },
	{ "cpu.model", "CPU", probe_cpu_check_model },
	{ "cpu.hwvirt", "VT-x / AMD-V", probe_cpu_check_hwvirt },
	{ "cpu.firmware", "Enabled by firmware", probe_cpu_check_firmware },
	{ "cpu.slat", "EPT / NPT (second-level translation)", probe_cpu_check_feature },
	{ "cpu.vpid", "VPID / ASID (tagged TLB)", probe_cpu_check_feature },
	{ "cpu.ug", "Unrestricted guest", probe_cpu_check_feature },
	{ "cpu.apicv", "APICv / AVIC", probe_cpu_check_feature },
	{ "cpu.shadow", "VMCS shadowing", probe_cpu_check_feature },
	{ "host.hypervisor", "Running under", probe_hv_check },
	{ "kvm.module", "KVM module", probe_kvm_check_module },
	{ "kvm.dev", "/dev/kvm", probe_kvm_check_dev },
	{ "kvm.caps", "KVM capabilities", probe_kvm_check_caps },
	{ "kvm.run", "KVM runs a guest", probe_kvm_check_run },
	{ "nested.support", "Nested guests", probe_nested_check },
	{ "nested.state", "Nested state save/restore", probe_nested_check_state },
	{ "iommu.acpi", "IOMMU in firmware (DMAR/IVRS)", probe_iommu_check_acpi },
	{ "iommu.active", "IOMMU active", probe_iommu_check_active },
	{ "iommu.cmdline", "IOMMU kernel options", probe_iommu_check_cmdline },
	{ "iommu.intremap", "Interrupt remapping", probe_iommu_check_intremap },
	{ "pci.devices", "PCI devices", probe_pci_check },
	{ "env.vhost", "vhost-net", probe_env_check_vhost },
	{ "env.tun", "TUN/TAP", probe_env_check_tun },
	{ "env.cgroups", "cgroup controllers", probe_env_check_cgroups },
	{ "env.secure", "Secure guests (SEV, TDX)", probe_env_check_secure },
};
#define NCHECKS (sizeof(probe_checks) / sizeof(probe_checks[0]))

static const char *const status_names[] = { "PASS", "NOTE", "WARN", "FAIL", "UNKNOWN" };

const char *probe_status_name(enum probe_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

void probe_check_set(struct probe_check *c, enum probe_status s, const char *fix, const char *fmt,
		     ...)
{
	va_list ap;

	c->status = s;
	snprintf(c->fix, sizeof(c->fix), "%s", s == PROBE_PASS || !fix ? "" : fix);
	va_start(ap, fmt);
	vsnprintf(c->evidence, sizeof(c->evidence), fmt, ap);
	va_end(ap);
}

void probe_input_check(const struct probe_facts *f, struct probe_check *c)
{
	if (f->problems[0])
		probe_check_set(c, PROBE_UNKNOWN,
				"record the host again with `nestvisor probe --save DIR`",
				"some input could not be used, so the facts it holds are UNKNOWN: "
				"%s",
				f->problems);
	else if (f->cpu_dump[0])
		probe_check_set(c, PROBE_PASS, "",
				"the CPU checks judge the CPU in %s (a %s) alone: its CPUID; its "
				"MSRs, cpuinfo and kernel log are not in a dump, so what they tell "
				"is unknown. The other checks are %s",
				f->cpu_dump, f->cpu_dump_form,
				f->input[0] ? "the recording's" : "this host's");
	else if (f->input[0])
		probe_check_set(c, PROBE_PASS, "", "replayed from the recording %s", f->input);
	else
		probe_check_set(c, PROBE_PASS, "",
				"read from this host (/proc, /sys, CPUID, MSRs, /dev/kvm)");
}

/* "2 of 4 device(s) ready (3 paravirtual (virtio); no active IOMMU)", or why none can be: every
 * device the report lists is counted somewhere. */
static void passthrough_line(const struct probe_facts *f, struct probe_summary *s)
{
	char notes[128] = "";
	size_t n = 0;

	if (s->pt_paravirtual)
		n += (size_t)snprintf(notes + n, sizeof(notes) - n, "; %d paravirtual (virtio)",
				      s->pt_paravirtual);
	if (s->pt_host)
		n += (size_t)snprintf(notes + n, sizeof(notes) - n, "; %d host infrastructure",
				      s->pt_host);
	if (!probe_iommu_active(&f->iommu) && n < sizeof(notes))
		snprintf(notes + n, sizeof(notes) - n, "; no active IOMMU");
	const char *note = notes[0] ? notes + 2 : "";
	if (f->pci.err)
		snprintf(s->passthrough, sizeof(s->passthrough),
			 "unknown: the PCI devices could not be listed");
	else if (!s->pt_devices)
		snprintf(s->passthrough, sizeof(s->passthrough), "no PCI devices here");
	else if (!s->pt_candidates)
		snprintf(s->passthrough, sizeof(s->passthrough),
			 "none of the %d device(s) could go to a guest (%s)", s->pt_devices, note);
	else
		snprintf(s->passthrough, sizeof(s->passthrough), "%d of %d device(s) ready%s%s%s",
			 s->pt_ready, s->pt_candidates, note[0] ? " (" : "", note, note[0] ? ")" : "");
}

/* "VMs yes, hardware acceleration no", and what that costs a guest's kernel, as measured */
static void software_how(const struct probe_facts *f, const char *hv, char *out, size_t len)
{
	double slow = probe_kvm_ring0_slowdown(&f->kvm);
	char measured[96] = "";

	if (slow >= 1.5)
		snprintf(measured, sizeof(measured), " (%.0f times slower, measured here)", slow);
	snprintf(out, len,
		 "VMs run, on a software KVM (%s) without VT-x/AMD-V%s%s: guest kernel code is "
		 "emulated%s, so a Linux guest boots in minutes, not seconds",
		 f->kvm.module[0] ? f->kvm.module : "kvm", hv ? ", under " : "", hv ? hv : "",
		 measured);
}

static void summarize(const struct probe_facts *f, struct probe_summary *s)
{
	const char *hv = probe_hv_name(&f->hv);

	s->vms = s->hw_vms = probe_kvm_works(&f->kvm);
	if (f->kvm.recorded || (f->kvm.open_err == 0 && f->kvm.run_err == -ECANCELED)) {
		s->vms = s->hw_vms = -1;
		snprintf(s->hw_vms_how, sizeof(s->hw_vms_how), "%s%s%s",
			 f->kvm.recorded ? "/dev/kvm was not recorded" :
					   "the functional check was not asked for",
			 f->cpu.vmx ? "; the CPU has VT-x" : "",
			 f->cpu.svm ? "; the CPU has AMD-V" : "");
	} else if (!s->hw_vms && (f->kvm.open_err == -EACCES || f->kvm.open_err == -EPERM)) {
		snprintf(s->hw_vms_how, sizeof(s->hw_vms_how),
			 "not for you yet: you may not open /dev/kvm (see kvm.dev), so whether KVM "
			 "runs guests here is not known");
	} else if (!s->hw_vms) {
		snprintf(s->hw_vms_how, sizeof(s->hw_vms_how),
			 "KVM does not run guests here (see kvm.dev, kvm.run)");
	} else if (probe_kvm_is_software(f)) {
		s->hw_vms = 0;
		software_how(f, hv, s->hw_vms_how, sizeof(s->hw_vms_how));
	} else {
		const char *slat = "";
		if (f->cpu.features & (VF(VF_EPT) | VF(VF_NPT)))
			slat = f->cpu.vmx ? " + EPT" : " + NPT";
		snprintf(s->hw_vms_how, sizeof(s->hw_vms_how), "KVM (%s) with %s%s%s%s",
			 f->kvm.module, f->cpu.vmx ? "Intel VT-x" : "AMD-V", slat,
			 hv ? ", as a guest of " : "", hv ? hv : "");
	}
	s->nested = probe_nested_possible(f, s->nested_why, sizeof(s->nested_why));
	s->pt_ready = s->pt_candidates = s->pt_paravirtual = s->pt_host = 0;
	s->pt_devices = f->pci.err ? 0 : f->pci.ndevs;
	for (int i = 0; i < s->pt_devices; i++) {
		const char *v = f->pci.devs[i].verdict;
		s->pt_ready += !strcmp(v, "ready");
		s->pt_candidates += !strcmp(v, "ready") || !strcmp(v, "not-ready");
		s->pt_paravirtual += !strcmp(v, "paravirtual");
		s->pt_host += !strcmp(v, "host-infrastructure");
	}
	passthrough_line(f, s);
}

struct host_job {
	struct probe_backend *be;
	struct probe_facts *facts;
};

/* What the host is, apart from KVM: CPUID and MSRs (each an exit to whatever runs this host when it
 * is a guest), the hypervisor, every PCI device and the IOMMU. */
static void *host_thread(void *arg)
{
	struct host_job *job = arg;
	struct probe_facts *f = job->facts;

	probe_cpu_collect(job->be, &f->cpu);
	probe_hv_collect(job->be, &f->cpu, &f->hv);
	probe_pci_collect(job->be, &f->pci);
	probe_iommu_collect(job->be, &f->iommu);
	return NULL;
}

static void *names_thread(void *arg)
{
	*(struct pci_access **)arg = probe_pci_names_load();
	return NULL;
}

/* The /dev/kvm query (a real guest run, the longest part) stays on this thread, so it starts at
 * once: a thread created first was still waiting for a CPU when the others had ended, since
 * waking an idle vCPU of a guest host takes up to milliseconds. The rest of the host is read
 * beside it, and pci.ids parsed when the name cache cannot answer. Live reads through the backend
 * are reentrant; each thread records into files of its own. A replay runs in one thread. */
static void collect(struct probe_backend *be, const struct probe_options *opt,
		    struct probe_facts *f)
{
	struct host_job job = { be, f };
	struct pci_access *names = NULL;
	pthread_t names_tid, host_tid;
	bool names_threaded = false, named = false, host_threaded;
	const char *ids = probe_namecache_ids();
	char buf[128], cache[4096];

	snprintf(f->source, sizeof(f->source), "%s", be->replay ? "replay" : "live");
	host_threaded = !be->replay && pthread_create(&host_tid, NULL, host_thread, &job) == 0;
	probe_namecache_path(cache, sizeof(cache));
	if (!probe_namecache_valid(cache,
				   ids)) /* parse pci.ids only when the cache cannot answer */
		names_threaded = pthread_create(&names_tid, NULL, names_thread, &names) == 0;
	if (probe_read(be, "/proc/sys/kernel/osrelease", buf, sizeof(buf)) >= 0)
		snprintf(f->kernel, sizeof(f->kernel), "%s", buf);
	recfile_trim(f->kernel);
	probe_kvm_collect_sysfs(be, &f->kvm);
	/* a replayed query reads kvm.json, which keeps the sysfs facts it was given */
	be->ops->kvm_query(be, &f->kvm, !opt->skip_functional);
	if (host_threaded)
		pthread_join(host_tid, NULL);
	else
		host_thread(&job);
	if (names_threaded)
		pthread_join(names_tid, NULL);
	else
		named = probe_namecache_fill(cache, ids, &f->pci);
	probe_pci_finish(&f->pci, &f->iommu, names, named);
	if (!named && !f->pci.err)
		probe_namecache_store(cache, ids, &f->pci);
	probe_pci_names_free(names);
	probe_kvm_save(be, &f->kvm);
	/* a dump's CPU: this host's KVM feature MSRs are this CPU's, not the dump's */
	probe_cpu_decide_features(&f->cpu, be->dump_foreign ? NULL : &f->kvm);
	probe_env_collect(be, &f->kvm, &f->env);
}

/* Every string read from outside, made printable and valid UTF-8 before anything judges or shows
 * it: a recording (or a driver's name) may hold terminal escapes or bytes PostgreSQL refuses. */
static void clean_facts(struct probe_facts *f)
{
	char *fields[] = { f->cpu.vendor_str,
			   f->cpu.brand,
			   f->cpu.kmsg_bios,
			   f->hv.dmi_vendor,
			   f->hv.dmi_product,
			   f->hv.dmi_bios,
			   f->hv.acpi_oem,
			   f->hv.acpi_oem_table,
			   f->hv.display,
			   f->kvm.module,
			   f->kvm.run_detail,
			   f->iommu.acpi_corrupt,
			   f->iommu.unit_names,
			   f->iommu.group_types,
			   f->iommu.cmdline,
			   f->iommu.intremap_evidence,
			   f->pci.errmsg,
			   f->source,
			   f->input,
			   f->cpu_dump,
			   f->problems,
			   f->kernel };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		text_clean(fields[i]);
	for (int i = 0; i < f->hv.nsig && i < PROBE_HV_MAX; i++)
		text_clean(f->hv.sig[i].sig);
	for (int i = 0; i < f->kvm.nparams && i < PROBE_KVM_MAX_PARAMS; i++) {
		text_clean(f->kvm.params[i].name);
		text_clean(f->kvm.params[i].value);
	}
	for (int i = 0; i < f->pci.ndevs; i++) {
		struct probe_pci_dev *d = &f->pci.devs[i];
		char *dev[] = { d->addr,        d->slot,       d->vendor_name,
				d->device_name, d->class_name, d->driver,
				d->group_peers, d->reset,      d->reason };
		for (size_t j = 0; j < sizeof(dev) / sizeof(dev[0]); j++)
			text_clean(dev[j]);
	}
}

int probe_run(const struct probe_options *opt, struct probe_report *rep, char *err, size_t errlen)
{
	struct probe_backend be;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->facts = calloc(1, sizeof(*rep->facts));
	rep->checks = calloc(NCHECKS, sizeof(*rep->checks));
	if (!rep->facts || !rep->checks) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = probe_backend_open(&be, opt->replay_dir, opt->save_dir, opt->cpuid_dump, err,
				     errlen)) < 0)
		goto fail;
	collect(&be, opt, rep->facts);
	snprintf(rep->facts->problems, sizeof(rep->facts->problems), "%s", be.problems);
	snprintf(rep->facts->input, sizeof(rep->facts->input), "%s", be.root);
	if (be.dump_foreign && !be.dump_bad) {
		snprintf(rep->facts->cpu_dump, sizeof(rep->facts->cpu_dump), "%s", opt->cpuid_dump);
		snprintf(rep->facts->cpu_dump_form, sizeof(rep->facts->cpu_dump_form), "%s",
			 be.dump_form);
	}
	if (probe_backend_finish(&be) < 0)
		snprintf(rep->save_error, sizeof(rep->save_error),
			 "%d file(s) could not be written, the first %s", be.save_errors,
			 be.save_error);
	probe_backend_close(&be);
	clean_facts(rep->facts);
	snprintf(rep->source, sizeof(rep->source), "%s", rep->facts->source);
	rep->nchecks = NCHECKS;
	for (size_t i = 0; i < NCHECKS; i++) {
		rep->checks[i].id = probe_checks[i].id;
		rep->checks[i].title = probe_checks[i].title;
		probe_checks[i].fn(rep->facts, &rep->checks[i]);
		text_clean(rep->checks[i].evidence);
		text_clean(rep->checks[i].fix);	/* cut mid-character by snprintf */
	}
	summarize(rep->facts, &rep->summary);
	text_clean(rep->summary.hw_vms_how);
	text_clean(rep->summary.nested_why);
	return 0;
fail:
	probe_report_free(rep);
	return rc;
}

_Static_assert(PROBE_VMX_MSRS == VMX_MSR_COUNT,
	       "probe.h and vmxcaps.h disagree on the VMX MSR range");

int probe_nested_query(const char *replay_dir, struct probe_nested *n, char *err, size_t errlen)
{
	struct probe_facts *f = calloc(1, sizeof(*f));
	struct probe_check c = { .id = "nested.support" };
	struct probe_backend be;
	int rc;

	memset(n, 0, sizeof(*n));
	if (!f)
		return -ENOMEM;
	if ((rc = probe_backend_open(&be, replay_dir, NULL, NULL, err, errlen)) < 0) {
		free(f);
		return rc;
	}
	probe_cpu_collect(&be, &f->cpu);
	probe_hv_collect(&be, &f->cpu, &f->hv);
	probe_kvm_collect_sysfs(&be, &f->kvm);
	be.ops->kvm_query(&be, &f->kvm, false);
	probe_cpu_decide_features(&f->cpu, &f->kvm);
	probe_backend_close(&be);
	n->possible = probe_nested_possible(f, n->why, sizeof(n->why));
	probe_nested_check(f, &c);
	snprintf(n->fix, sizeof(n->fix), "%s", c.fix);
	n->vmx = f->kvm.cpuid_vmx;
	n->svm = f->kvm.cpuid_svm;
	n->state_size = -1;
	for (int i = 0; i < f->kvm.ncaps; i++)
		if (!strcmp(f->kvm.caps[i].name, "KVM_CAP_NESTED_STATE"))
			n->state_size = f->kvm.caps[i].val;
	for (int i = 0; i < PROBE_VMX_MSRS && i < VMX_MSR_COUNT; i++) {
		n->vmx_msr_ok[i] = f->kvm.feat_msr[i].err == 0;
		n->vmx_msr[i] = f->kvm.feat_msr[i].val;
	}
	free(f);
	return 0;
}

void probe_report_free(struct probe_report *rep)
{
	if (rep->facts)
		probe_pci_free(&rep->facts->pci);
	free(rep->facts);
	free(rep->checks);
	rep->facts = NULL;
	rep->checks = NULL;
	rep->nchecks = 0;
}

int probe_report_devices(const struct probe_report *rep, const struct probe_pci_dev **devs,
			 const char **why)
{
	const struct probe_pci *pci = rep && rep->facts ? &rep->facts->pci : NULL;

	*devs = pci && !pci->err ? pci->devs : NULL;
	if (why && !pci)
		*why = "no probe has run";
	else if (why)
		*why = pci->err ? pci->errmsg : "";
	return *devs ? pci->ndevs : 0;
}

const struct probe_pci_dev *probe_report_device(const struct probe_report *rep, const char *addr)
{
	const struct probe_pci_dev *d;
	int n = probe_report_devices(rep, &d, NULL);

	for (int i = 0; i < n; i++)
		if (!strcmp(d[i].addr, addr))
			return &d[i];
	return NULL;
}

const char *probe_pci_acs_name(const struct probe_pci_dev *d)
{
	if (d->acs == -2)
		return "none (conventional PCI: no extended configuration space)";
	if (d->acs < 0)
		return "unreadable";
	return d->acs ? "yes" : "no";
}

/* FAIL outranks UNKNOWN: only FAIL changes the exit code. */
enum probe_status probe_report_worst(const struct probe_report *rep)
{
	static const int rank[] = { [PROBE_PASS] = 0,
				    [PROBE_NOTE] = 1,
				    [PROBE_WARN] = 2,
				    [PROBE_UNKNOWN] = 3,
				    [PROBE_FAIL] = 4 };
	enum probe_status worst = PROBE_PASS;

	for (size_t i = 0; i < rep->nchecks; i++)
		if (rank[rep->checks[i].status] > rank[worst])
			worst = rep->checks[i].status;
	return worst;
}

const struct probe_check *probe_report_find(const struct probe_report *rep, const char *id)
{
	for (size_t i = 0; i < rep->nchecks; i++)
		if (!strcmp(rep->checks[i].id, id))
			return &rep->checks[i];
	return NULL;
}
