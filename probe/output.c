/* probe output: the aligned human report and the versioned JSON document (docs/probe-json.md). */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/facts.h"
#include "probe/kvm.h"
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
	{ "host.", "Where this host runs" },	/* its check: "Running under" */
	{ "kvm.", "KVM" },
	{ "nested.", "Nested virtualization" },
	{ "iommu.", "IOMMU" },
	{ "pci.", "PCI devices" },
	{ "env.", "For VMs beside KVM" },
};

/* Word-wraps text at 100 columns, continuing at column indent; the cursor is at column col. */
static void wrap_at(FILE *out, int indent, int col, const char *text)
{
	const int width = 100;

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

/* Evidence and fixes under their check, so long text stays readable. */
static void print_wrapped(FILE *out, const char *label, const char *text)
{
	fprintf(out, "%6s%s", "", label);
	wrap_at(out, 6 + (int)strlen(label), 6 + (int)strlen(label), text);
}

/* "see kvm.run" as the reader sees it without -v: "see \"KVM runs a guest\"" (ids show with -v); a
 * list ("see kvm.dev, kvm.run") too. */
static void titles_for_ids(const struct probe_report *rep, const char *in, char *out, size_t len)
{
	size_t n = 0;
	bool listing = false;	/* just after "see " or a replaced id and ", " */

	while (*in && n + 1 < len) {
		if (!strncmp(in, "see ", 4) || listing) {
			const char *id = listing ? in : in + 4;
			size_t k = strspn(id, "abcdefghijklmnopqrstuvwxyz.");
			while (k && id[k - 1] == '.')
				k--;
			char want[48];
			snprintf(want, sizeof(want), "%.*s", (int)k, id);
			const struct probe_check *c = k < sizeof(want) && strchr(want, '.') ?
				probe_report_find(rep, want) :
				NULL;
			if (c) {
				n += (size_t)snprintf(out + n, len - n, "%s\"%s\"",
						      listing ? "" : "see ", c->title);
				in = id + k;
				listing = !strncmp(in, ", ", 2);
				if (listing && n + 2 < len) {
					memcpy(out + n, ", ", 2);
					n += 2;
					in += 2;
				}
				continue;
			}
			listing = false;
		}
		out[n++] = *in++;
	}
	out[n < len ? n : len - 1] = '\0';
}

static void print_check(FILE *out, const struct probe_report *rep, const struct probe_check *c,
			bool color, int verbose)
{
	int dots = TITLE_WIDTH - (int)strlen(c->title);
	char text[1200];

	fprintf(out, "  %s ", c->title);
	for (int i = 0; i < (dots > 1 ? dots : 1); i++)
		fputc('.', out);
	fprintf(out, " %s%s%s", color ? status_color[c->status] : "", probe_status_name(c->status),
		color ? C_RESET : "");
	if (verbose)
		fprintf(out, "  [%s]", c->id);
	fputc('\n', out);
	if (verbose)
		snprintf(text, sizeof(text), "%s", c->evidence);
	else
		titles_for_ids(rep, c->evidence, text, sizeof(text));
	print_wrapped(out, "", text);
	if (c->fix[0]) {
		if (verbose)
			snprintf(text, sizeof(text), "%s", c->fix);
		else
			titles_for_ids(rep, c->fix, text, sizeof(text));
		print_wrapped(out, "fix: ", text);
	}
}

/* Checks that say "not applicable" for one reason, printed as one (each shows with -v). */
static bool not_applicable(const struct probe_check *c)
{
	return c->status == PROBE_NOTE && !strncmp(c->evidence, "not applicable", 14);
}

static size_t print_folded(FILE *out, const struct probe_report *rep, size_t i, bool color)
{
	const struct probe_check *c = &rep->checks[i];
	size_t j = i, n = 0;
	char list[600] = "", text[1200], why[512];

	while (j < rep->nchecks && not_applicable(&rep->checks[j]) &&
	       !strcmp(rep->checks[j].evidence, c->evidence) &&
	       !strncmp(rep->checks[j].id, c->id, strcspn(c->id, ".") + 1)) {
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", j > i ? ", " : "",
				      rep->checks[j].title);
		j++;
	}
	if (j - i < 2) {
		print_check(out, rep, c, color, 0);
		return 1;
	}
	char title[40];
	snprintf(title, sizeof(title), "%zu more checks", j - i);
	int dots = TITLE_WIDTH - (int)strlen(title);
	fprintf(out, "  %s %.*s %s%s%s\n", title, dots > 1 ? dots : 1,
		"..................................................",
		color ? status_color[PROBE_NOTE] : "", probe_status_name(PROBE_NOTE),
		color ? C_RESET : "");
	titles_for_ids(rep, c->evidence, why, sizeof(why));
	snprintf(text, sizeof(text), "%s: %s", why, list);
	print_wrapped(out, "", text);
	return j - i;
}

static void print_summary(FILE *out, const struct probe_report *rep, bool color)
{
	const struct probe_summary *s = &rep->summary;
	const char *b = color ? C_HEAD : "", *r = color ? C_RESET : "";
	const char *hw = s->hw_vms > 0 ? "yes" : s->hw_vms < 0 ? "unknown" : "no";

	char line[600];

	char text[700];

	fprintf(out, "%sHardware-accelerated VMs:%s ", b, r);
	snprintf(line, sizeof(line), "%s: %s", hw, s->hw_vms_how);
	titles_for_ids(rep, line, text, sizeof(text));
	wrap_at(out, 26, 26, text);
	fprintf(out, "%sNested guests:%s            ", b, r);
	snprintf(line, sizeof(line), "%s: %s", s->nested ? "yes" : "no", s->nested_why);
	titles_for_ids(rep, line, text, sizeof(text));
	wrap_at(out, 26, 26, text);
	fprintf(out, "%sDevice passthrough:%s       ", b, r);
	wrap_at(out, 26, 26, s->passthrough);
}

static void print_devices(FILE *out, const struct probe_pci *pci, int verbose)
{
	for (int i = 0; i < pci->ndevs; i++) {
		const struct probe_pci_dev *d = &pci->devs[i];
		char group[16] = "none", vfs[16] = "none";
		if (d->group >= 0)
			snprintf(group, sizeof(group), "%d", d->group);
		if (d->sriov_vfs >= 0)
			snprintf(vfs, sizeof(vfs), "%d", d->sriov_vfs);
		fprintf(out, "    %s %s [%04x]: %s %s [%04x:%04x]", d->slot, d->class_name, d->cls,
			d->vendor_name, d->device_name, d->vendor, d->device);
		if (d->rev)
			fprintf(out, " (rev %02x)", d->rev);
		char line[600];
		snprintf(line, sizeof(line), "driver %s, IOMMU group %s: %s (%s); alternative: %s",
			 d->driver[0] ? d->driver : "none", group, d->verdict, d->reason,
			 d->alternative);
		fputs("\n        ", out);
		wrap_at(out, 8, 8, line);
		if (verbose)
			fprintf(out,
				"        subsystem %04x:%04x, reset %s, SR-IOV VFs %s, ACS "
				"%s%s%s\n",
				d->sub_vendor, d->sub_device, d->reset[0] ? d->reset : "none", vfs,
				probe_pci_acs_name(d), d->group_peers[0] ? ", group peers " : "",
				d->group_peers);
	}
}

/* The fix of a check that is not PASS, or NULL. */
static const char *fix_of(const struct probe_report *rep, const char *id)
{
	const struct probe_check *c = probe_report_find(rep, id);

	return c && c->fix[0] && (c->status == PROBE_WARN || c->status == PROBE_FAIL) ? c->fix :
											NULL;
}

static void next_line(FILE *out, const struct probe_report *rep, const char *line)
{
	char text[900];

	titles_for_ids(rep, line, text, sizeof(text));
	fputs("  - ", out);
	wrap_at(out, 4, 4, text);
}

/* A few plain sentences: what this host is good for now, and the one thing to do for more. */
static void print_next(FILE *out, const struct probe_report *rep, bool color)
{
	const struct probe_summary *s = &rep->summary;
	const struct probe_facts *f = rep->facts;
	char line[600];
	const char *fix;
	static const char *const first[] = { "cpu.hwvirt", "cpu.firmware", "kvm.module", "kvm.dev",
					     "kvm.run" };

	fprintf(out, "\n%sWhat to do next%s\n", color ? C_HEAD : "", color ? C_RESET : "");
	if (s->vms > 0 && s->hw_vms == 0)
		snprintf(line, sizeof(line),
			 "VMs run here, but slowly: a Linux guest takes minutes to boot (its "
			 "guests see a baseline x86-64 CPU, which this KVM's emulator runs: "
			 "--cpu). For full speed and nested guests use a host whose CPU exposes "
			 "VT-x or AMD-V%s. Try one now: nestvisor run --kernel "
			 "tests/guests/hello.elf",
			 probe_hv_name(&f->hv) ? " (on a cloud: an instance type with nested "
						 "virtualization)" :
						 "");
	else if (s->hw_vms > 0)
		snprintf(line, sizeof(line),
			 "VMs run here at full speed: nestvisor run --kernel BZIMAGE --initrd "
			 "INITRD --cmdline console=ttyS0, or nestvisor tui and F7.");
	else if (s->hw_vms < 0)
		snprintf(line, sizeof(line), "Whether VMs run is not known from this report: run "
			 "nestvisor probe on the host itself, without --no-run.");
	else {
		/* a user who may not open /dev/kvm: that first, it unblocks the rest (whether
		 * KVM runs guests is unknown until then) */
		fix = f->kvm.open_err == -EACCES || f->kvm.open_err == -EPERM ?
			      fix_of(rep, "kvm.dev") :
			      NULL;
		for (size_t i = 0; i < sizeof(first) / sizeof(first[0]) && !fix; i++)
			fix = fix_of(rep, first[i]);
		if (fix)
			snprintf(line, sizeof(line), "VMs cannot run here yet. First: %s.", fix);
		else
			snprintf(line, sizeof(line), "VMs cannot run here: see the checks above.");
	}
	next_line(out, rep, line);
	if (s->nested)
		snprintf(line, sizeof(line),
			 "Guests may run hypervisors of their own: nestvisor run --nested on (auto "
			 "does it where it can).");
	else if (f->kvm.open_err == -EACCES || f->kvm.open_err == -EPERM)
		snprintf(line, sizeof(line), "Nested guests: known once you may open /dev/kvm "
			 "(above).");
	else if ((fix = fix_of(rep, "nested.support")))
		snprintf(line, sizeof(line), "Nested guests: %s.", fix);
	else
		snprintf(line, sizeof(line), "Nested guests: not here (%s).", s->nested_why);
	next_line(out, rep, line);
	if (s->pt_ready)
		snprintf(line, sizeof(line),
			 "To give a ready device to a guest, bind it to vfio-pci first: driverctl "
			 "set-override ADDRESS vfio-pci.");
	else if (s->pt_candidates && (fix = fix_of(rep, "iommu.acpi")))
		snprintf(line, sizeof(line), "Device passthrough needs an IOMMU: %s.", fix);
	else if (s->pt_candidates)
		snprintf(line, sizeof(line), "No device is ready for passthrough: each says why "
			 "below PCI devices; paravirtual (virtio) devices need no passthrough.");
	else
		snprintf(line, sizeof(line), "No device here can go to a guest; give guests virtio "
			 "devices instead (nestvisor run --disk, --net).");
	next_line(out, rep, line);
}

void probe_output_text(const struct probe_report *rep, FILE *out, bool color, int verbose)
{
	const struct probe_facts *f = rep->facts;

	fprintf(out, "nestvisor %s probe (%s%s%s)\n\n", PACKAGE_VERSION, rep->source,
		f->kernel[0] ? ", kernel " : "", f->kernel);
	print_summary(out, rep, color);
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		fprintf(out, "\n%s%s%s\n", color ? C_HEAD : "", sections[s].heading,
			color ? C_RESET : "");
		for (size_t i = 0; i < rep->nchecks; i++) {
			const struct probe_check *c = &rep->checks[i];
			if (strncmp(c->id, sections[s].prefix, strlen(sections[s].prefix)))
				continue;
			if (!verbose && not_applicable(c))
				i += print_folded(out, rep, i, color) - 1;
			else
				print_check(out, rep, c, color, verbose);
		}
		if (!strcmp(sections[s].prefix, "pci.") && f->pci.ndevs) { /* under its check */
			fprintf(out, "  Devices (the same list as `lspci -nn`):\n");
			print_devices(out, &f->pci, verbose);
		}
	}
	print_next(out, rep, color);
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
	json_object_object_add(o, "kernel_mode_slowdown",
			       probe_kvm_ring0_slowdown(kvm) > 0 ?
				       json_object_new_double(probe_kvm_ring0_slowdown(kvm)) :
				       NULL);
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
	add_str(o, "vfio_group", d->vfio);
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
	json_object_object_add(sum, "vms",
			       rep->summary.vms < 0 ? NULL :
						      json_object_new_boolean(rep->summary.vms));
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
