/* probe output: the aligned human report and the versioned JSON document (docs/probe-json.md). */
#include "config.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/facts.h"
#include "probe/vmxcaps.h"

/* Color roles, as htop does: one table, a monochrome fallback by passing color=false. */
static const char *const status_color[] = {
	[PROBE_PASS] = "\033[32m", [PROBE_NOTE] = "\033[36m", [PROBE_WARN] = "\033[33m",
	[PROBE_FAIL] = "\033[1;31m", [PROBE_UNKNOWN] = "\033[35m",
};
#define C_RESET "\033[0m"
#define C_HEAD  "\033[1m"
#define TITLE_WIDTH 44

static const struct { const char *prefix; const char *heading;
} sections[] = {
	{ "probe.", "Input" },
	{ "cpu.", "CPU" },
	{ "host.", "Where this host runs" },
	{ "kvm.", "KVM" },
	{ "nested.", "Nested virtualization" },
	{ "iommu.", "IOMMU" },
	{ "pci.", "PCI devices" },
};

/* Word-wraps text at 100 columns under an indent, so long evidence stays readable. */
static void print_wrapped(FILE *out, const char *label, const char *text)
{
	const int width = 100, indent = 6 + (int)strlen(label);
	int col = indent;

	fprintf(out, "%6s%s", "", label);
	for (const char *p = text; *p;) {
		while (*p == ' ')
			p++;
		size_t w = strcspn(p, " ");
		if (!w)
			break;
		if (col > indent && col + 1 + (int)w > width) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)w, p);
		col += (int)w;
		p += w;
	}
	fputc('\n', out);
}

static void print_check(FILE *out, const struct probe_check *c, bool color, int verbose)
{
	int dots = TITLE_WIDTH - (int)strlen(c->title);

	fprintf(out, "  %s ", c->title);
	for (int i = 0; i < (dots > 1 ? dots : 1); i++)
		fputc('.', out);
	fprintf(out, " %s%s%s", color ? status_color[c->status] : "", probe_status_name(c->status), color ? C_RESET : "");
	if (verbose)
		fprintf(out, "  [%s]", c->id);
	fputc('\n', out);
	print_wrapped(out, "", c->evidence);
	if (c->fix[0])
		print_wrapped(out, "fix: ", c->fix);
}

static void print_summary(FILE *out, const struct probe_report *rep, bool color)
{
	const struct probe_summary *s = &rep->summary;
	const char *b = color ? C_HEAD : "", *r = color ? C_RESET : "";

	fprintf(out, "%sHardware-accelerated VMs:%s %s: %s\n", b, r,
		s->hw_vms > 0 ? "yes" : s->hw_vms < 0 ? "unknown" : "no", s->hw_vms_how);
	fprintf(out, "%sNested guests:%s            %s: %s\n", b, r, s->nested ? "yes" : "no",
		s->nested_why);
	fprintf(out, "%sDevice passthrough:%s       %d of %d device(s) ready%s\n", b, r,
		s->pt_ready, s->pt_candidates,
		probe_iommu_active(&rep->facts->iommu) ? "" : " (no active IOMMU)");
}

static void print_devices(FILE *out, const struct probe_pci *pci, int verbose)
{
	for (int i = 0; i < pci->ndevs; i++) {
		const struct probe_pci_dev *d = &pci->devs[i];
		char group[16] = "none";
		if (d->group >= 0)
			snprintf(group, sizeof(group), "%d", d->group);
		fprintf(out, "    %s %s [%04x]: %s %s [%04x:%04x]", d->slot, d->class_name, d->cls,
			d->vendor_name, d->device_name, d->vendor, d->device);
		if (d->rev)
			fprintf(out, " (rev %02x)", d->rev);
		fprintf(out, "\n        driver %s, IOMMU group %s: %s (%s); alternative: %s\n",
			d->driver[0] ? d->driver : "none", group, d->verdict, d->reason,
			d->alternative);
		if (verbose)
			fprintf(out,
				"        subsystem %04x:%04x, reset %s, SR-IOV VFs %d, ACS "
				"%s%s%s\n",
				d->sub_vendor, d->sub_device, d->reset[0] ? d->reset : "none",
				d->sriov_vfs,
				probe_pci_acs_name(d),
				d->group_peers[0] ? ", group peers " : "", d->group_peers);
	}
}

void probe_output_text(const struct probe_report *rep, FILE *out, bool color, int verbose)
{
	const struct probe_facts *f = rep->facts;

	fprintf(out, "nestvisor %s probe (%s%s%s)\n\n", PACKAGE_VERSION, rep->source,
		f->kernel[0] ? ", kernel " : "", f->kernel);
	print_summary(out, rep, color);
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		fprintf(out, "\n%s%s%s\n", color ? C_HEAD : "", sections[s].heading, color ? C_RESET : "");
		for (size_t i = 0; i < rep->nchecks; i++)
			if (!strncmp(rep->checks[i].id, sections[s].prefix,
				     strlen(sections[s].prefix)))
				print_check(out, &rep->checks[i], color, verbose);
	}
	if (f->pci.ndevs)
		fprintf(out, "  Devices (the same list as `lspci -nn`):\n");
	print_devices(out, &f->pci, verbose);
}

/* ---- JSON ---- */

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static json_object *fact_or_null(const struct fact_u64 *f)
{
	char buf[24];

	if (f->err)
		return NULL;
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)f->val);
	return json_object_new_string(buf);
}

static json_object *json_cpu(const struct probe_cpu *cpu)
{
	json_object *o = json_object_new_object(), *feat = json_object_new_array();

	add_str(o, "vendor", cpu->vendor_str);
	add_str(o, "brand", cpu->brand);
	json_object_object_add(o, "family", json_object_new_int(cpu->family));
	json_object_object_add(o, "model", json_object_new_int(cpu->model));
	json_object_object_add(o, "stepping", json_object_new_int(cpu->stepping));
	json_object_object_add(o, "vmx", json_object_new_boolean(cpu->vmx));
	json_object_object_add(o, "svm", json_object_new_boolean(cpu->svm));
	json_object_object_add(o, "hypervisor_bit", json_object_new_boolean(cpu->hypervisor_bit));
	for (int i = 0; i < VF_COUNT; i++)
		if (cpu->features & VF(i))
			json_object_array_add(feat, json_object_new_string(vmxcaps_name(i)));
	json_object_object_add(o, "features", feat);
	add_str(o, "features_source", cpu->features_source);
	json_object_object_add(o, "ia32_feature_control", fact_or_null(&cpu->feature_control));
	json_object_object_add(o, "vm_cr", fact_or_null(&cpu->vm_cr));
	return o;
}

static json_object *json_host(const struct probe_hv *hv)
{
	json_object *o = json_object_new_object(), *sigs = json_object_new_array();

	json_object_object_add(o, "is_guest", json_object_new_boolean(hv->display[0] != '\0'));
	add_str(o, "hypervisor", hv->display[0] ? hv->display : NULL);
	add_str(o, "kind", hv->kind);
	for (int i = 0; i < hv->nsig; i++) {
		json_object *s = json_object_new_object();
		char leaf[16];
		snprintf(leaf, sizeof(leaf), "0x%08x", hv->sig[i].leaf);
		add_str(s, "leaf", leaf);
		add_str(s, "signature", hv->sig[i].sig);
		add_str(s, "name", hv->sig[i].name);
		json_object_array_add(sigs, s);
	}
	json_object_object_add(o, "cpuid_signatures", sigs);
	add_str(o, "acpi_oem_id", hv->acpi_oem);
	add_str(o, "dmi_product", hv->dmi_product);
	return o;
}

static json_object *json_kvm(const struct probe_kvm *kvm)
{
	json_object *o = json_object_new_object(), *params = json_object_new_object(),
		    *caps = json_object_new_object();

	add_str(o, "module", kvm->module[0] ? kvm->module : NULL);
	for (int i = 0; i < kvm->nparams; i++)
		add_str(params, kvm->params[i].name, kvm->params[i].value);
	json_object_object_add(o, "parameters", params);
	json_object_object_add(o, "recorded", json_object_new_boolean(kvm->recorded == 0));
	json_object_object_add(o, "dev_kvm_error",
			       kvm->open_err ? json_object_new_string(strerror(-kvm->open_err)) :
					       NULL);
	json_object_object_add(o, "api_version", json_object_new_int(kvm->api_version));
	for (int i = 0; i < kvm->ncaps; i++)
		json_object_object_add(caps, kvm->caps[i].name,
				       json_object_new_int(kvm->caps[i].val));
	json_object_object_add(o, "capabilities", caps);
	json_object_object_add(o, "guest_ran", json_object_new_boolean(probe_kvm_works(kvm)));
	add_str(o, "run_detail", kvm->run_detail);
	json_object_object_add(o, "run_total_us", json_object_new_double(kvm->run_total_us));
	json_object_object_add(o, "exit_round_trip_us", json_object_new_double(kvm->exit_rtt_us));
	return o;
}

static json_object *json_iommu(const struct probe_iommu *io)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "dmar", json_object_new_boolean(io->dmar));
	json_object_object_add(o, "ivrs", json_object_new_boolean(io->ivrs));
	json_object_object_add(o, "active", json_object_new_boolean(probe_iommu_active(io)));
	json_object_object_add(o, "units", json_object_new_int(io->units));
	json_object_object_add(o, "groups", json_object_new_int(io->groups));
	add_str(o, "default_domains", io->group_types);
	json_object_object_add(o, "interrupt_remapping",
			       io->intremap < 0 ? NULL : json_object_new_boolean(io->intremap));
	add_str(o, "cmdline", io->cmdline);
	return o;
}

static json_object *json_device(const struct probe_pci_dev *d)
{
	json_object *o = json_object_new_object();
	char id[16];

	add_str(o, "address", d->addr);
	snprintf(id, sizeof(id), "%04x:%04x", d->vendor, d->device);
	add_str(o, "id", id);
	snprintf(id, sizeof(id), "%04x:%04x", d->sub_vendor, d->sub_device);
	add_str(o, "subsystem", id);
	snprintf(id, sizeof(id), "%04x", d->cls);
	add_str(o, "class", id);
	add_str(o, "class_name", d->class_name);
	add_str(o, "vendor_name", d->vendor_name);
	add_str(o, "device_name", d->device_name);
	json_object_object_add(o, "revision", json_object_new_int(d->rev));
	add_str(o, "driver", d->driver[0] ? d->driver : NULL);
	json_object_object_add(o, "iommu_group",
			       d->group < 0 ? NULL : json_object_new_int(d->group));
	add_str(o, "group_peers", d->group_peers);
	add_str(o, "reset_method", strcmp(d->reset, "?") ? d->reset : NULL);
	json_object_object_add(o, "sriov_total_vfs",
			       d->sriov_vfs < 0 ? NULL : json_object_new_int(d->sriov_vfs));
	json_object_object_add(o, "acs", d->acs < 0 ? NULL : json_object_new_boolean(d->acs));
	add_str(o, "verdict", d->verdict);
	add_str(o, "reason", d->reason);
	add_str(o, "paravirtual_alternative", d->alternative);
	return o;
}

char *probe_output_json(const struct probe_report *rep)
{
	const struct probe_facts *f = rep->facts;
	json_object *o = json_object_new_object(), *sum = json_object_new_object();
	json_object *checks = json_object_new_array(), *devs = json_object_new_array();
	char *out;

	add_str(o, "schema", PROBE_JSON_SCHEMA);
	json_object_object_add(o, "schema_version", json_object_new_int(PROBE_JSON_SCHEMA_VERSION));
	add_str(o, "nestvisor_version", PACKAGE_VERSION);
	add_str(o, "source", rep->source);
	add_str(o, "kernel", f->kernel);
	json_object_object_add(
		sum, "hw_vms",
		rep->summary.hw_vms < 0 ? NULL : json_object_new_boolean(rep->summary.hw_vms));
	add_str(sum, "hw_vms_how", rep->summary.hw_vms_how);
	json_object_object_add(sum, "nested", json_object_new_boolean(rep->summary.nested));
	add_str(sum, "nested_why", rep->summary.nested_why);
	json_object_object_add(sum, "passthrough_ready",
			       json_object_new_int(rep->summary.pt_ready));
	json_object_object_add(sum, "passthrough_candidates",
			       json_object_new_int(rep->summary.pt_candidates));
	add_str(sum, "worst", probe_status_name(probe_report_worst(rep)));
	json_object_object_add(o, "summary", sum);
	for (size_t i = 0; i < rep->nchecks; i++) {
		json_object *c = json_object_new_object();
		add_str(c, "id", rep->checks[i].id);
		add_str(c, "title", rep->checks[i].title);
		add_str(c, "status", probe_status_name(rep->checks[i].status));
		add_str(c, "evidence", rep->checks[i].evidence);
		add_str(c, "fix", rep->checks[i].fix[0] ? rep->checks[i].fix : NULL);
		json_object_array_add(checks, c);
	}
	json_object_object_add(o, "checks", checks);
	json_object_object_add(o, "cpu", json_cpu(&f->cpu));
	json_object_object_add(o, "host", json_host(&f->hv));
	json_object_object_add(o, "kvm", json_kvm(&f->kvm));
	json_object_object_add(o, "iommu", json_iommu(&f->iommu));
	for (int i = 0; i < f->pci.ndevs; i++)
		json_object_array_add(devs, json_device(&f->pci.devs[i]));
	json_object_object_add(o, "devices", devs);
	out = strdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}
