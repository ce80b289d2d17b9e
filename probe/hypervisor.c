/* hypervisor probe: where this host runs (CPUID signatures, DMI, ACPI OEM IDs), said plainly. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "probe/acpi.h"
#include "probe/backend.h"
#include "probe/facts.h"
#include "probe/recfile.h"

#define HV_BASE 0x40000000u
#define HV_LAST 0x4000FF00u

static const struct { const char *sig; const char *name; const char *kind; } hv_sigs[] = {
	{ "KVMKVMKVM", "KVM", "type 1 (Linux KVM)" },
	{ "Microsoft Hv", "Microsoft Hyper-V", "type 1" },
	{ "VMwareVMware", "VMware", "type 1 (ESXi) or type 2 (Workstation)" },
	{ "XenVMMXenVMM", "Xen", "type 1" },
	{ "bhyve bhyve ", "bhyve", "type 2 (FreeBSD)" },
	{ "TCGTCGTCGTCG", "QEMU TCG", "emulator (no hardware acceleration)" },
	{ "VBoxVBoxVBox", "VirtualBox", "type 2" },
	{ " prl hyperv ", "Parallels", "type 2" },
	{ " lrpepyh  vr", "Parallels", "type 2" },
	{ "ACRNACRNACRN", "ACRN", "type 1" },
	{ "QNXQVMBSQG", "QNX Hypervisor", "type 1" },
};

static void collect_sigs(struct probe_backend *be, struct probe_hv *hv)
{
	uint32_t r[4];

	/* Each CPUID here is an exit to whatever runs this host (tens of microseconds under a
	 * software KVM): not all 256 bases. Hypervisors stack at consecutive bases (Hyper-V at
	 * 0x40000000, KVM or Xen at 0x40000100 behind it), so the scan ends at the first base past
	 * the third that offers no leaves of its own (EAX, its highest leaf, outside the base's
	 * 256). */
	for (uint32_t leaf = HV_BASE; leaf <= HV_LAST && hv->nsig < PROBE_HV_MAX; leaf += 0x100) {
		char sig[13];
		if (probe_cpuid(be, leaf, 0, r) < 0)
			continue;
		if (leaf >= HV_BASE + 0x300 && (r[0] < leaf || r[0] > leaf + 0xff))
			break;
		memcpy(sig, &r[1], 4);
		memcpy(sig + 4, &r[2], 4);
		memcpy(sig + 8, &r[3], 4);
		sig[12] = '\0';
		if (!sig[0])
			continue;
		for (size_t i = 0; i < sizeof(hv_sigs) / sizeof(hv_sigs[0]); i++) {
			if (strncmp(sig, hv_sigs[i].sig, 12))
				continue;
			hv->sig[hv->nsig].leaf = leaf;
			memcpy(hv->sig[hv->nsig].sig, sig, sizeof(sig));
			hv->sig[hv->nsig].name = hv_sigs[i].name;
			hv->sig[hv->nsig].kind = hv_sigs[i].kind;
			hv->nsig++;
		}
	}
}

static void read_dmi(struct probe_backend *be, const char *file, char *out, size_t len)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/class/dmi/id/%s", file);
	if (probe_read(be, path, out, len) < 0)
		out[0] = '\0';
	recfile_trim(out);
}

static void read_acpi_oem(struct probe_backend *be, struct probe_hv *hv)
{
	static const char *const tables[] = { "FACP", "APIC", "DSDT", "MCFG" };
	uint8_t buf[ACPI_HEADER_LEN];
	struct acpi_header h;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char path[96];
		snprintf(path, sizeof(path), "/sys/firmware/acpi/tables/%s", tables[i]);
		long n = probe_read_bin(be, path, buf, sizeof(buf));
		if (n < 0 || acpi_parse_header(buf, (size_t)n, &h) < 0)
			continue;
		snprintf(hv->acpi_oem, sizeof(hv->acpi_oem), "%s", h.oem_id);
		snprintf(hv->acpi_oem_table, sizeof(hv->acpi_oem_table), "%s", h.sig);
		hv->acpi_platform = acpi_oem_platform(h.oem_id, &hv->acpi_kind);
		return;
	}
}

/* "Firecracker (KVM)": the VMM from ACPI or DMI, the hypervisor from CPUID. */
static void name_host(const struct probe_cpu *cpu, struct probe_hv *hv)
{
	const char *vmm = hv->acpi_platform;
	const char *core = hv->nsig ? hv->sig[hv->nsig - 1].name : NULL; /* last: the real one */

	hv->kind = hv->nsig ? hv->sig[hv->nsig - 1].kind : hv->acpi_kind;
	if (!vmm && hv->dmi_product[0] &&
	    (strstr(hv->dmi_product, "KVM") || strstr(hv->dmi_product, "QEMU") ||
	     strstr(hv->dmi_product, "Virtual") || strstr(hv->dmi_vendor, "QEMU")))
		vmm = hv->dmi_product;
	if (vmm && core && strcmp(vmm, core))
		snprintf(hv->display, sizeof(hv->display), "%s (%s)", vmm, core);
	else if (vmm || core)
		snprintf(hv->display, sizeof(hv->display), "%s", vmm ? vmm : core);
	else if (cpu->hypervisor_bit)
		snprintf(hv->display, sizeof(hv->display), "an unidentified hypervisor");
}

void probe_hv_collect(struct probe_backend *be, const struct probe_cpu *cpu, struct probe_hv *hv)
{
	if (cpu->hypervisor_bit) /* without it, leaf 0x40000000 can echo the highest basic leaf */
		collect_sigs(be, hv);
	/* a dump's CPU is judged alone: this machine's firmware tables would be another's evidence
	 */
	if (!probe_cpu_foreign(be)) {
		read_dmi(be, "sys_vendor", hv->dmi_vendor, sizeof(hv->dmi_vendor));
		read_dmi(be, "product_name", hv->dmi_product, sizeof(hv->dmi_product));
		read_dmi(be, "bios_vendor", hv->dmi_bios, sizeof(hv->dmi_bios));
		read_acpi_oem(be, hv);
	}
	name_host(cpu, hv);
}

const char *probe_hv_name(const struct probe_hv *hv)
{
	return hv->display[0] ? hv->display : NULL;
}

void probe_hv_check(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_hv *hv = &f->hv;
	char sigs[160] = "";
	size_t used = 0;

	for (int i = 0; i < hv->nsig; i++)
		used += (size_t)snprintf(sigs + used, sizeof(sigs) - used, "%s\"%s\" at 0x%08x",
					 i ? ", " : "", hv->sig[i].sig, hv->sig[i].leaf);
	if (!probe_hv_name(hv)) {
		probe_check_set(c, PROBE_PASS, "",
				"bare metal: no hypervisor bit (CPUID.1:ECX[31] = 0)%s%s%s%s",
				hv->dmi_vendor[0] ? "; DMI: " : "", hv->dmi_vendor,
				hv->dmi_product[0] ? " " : "", hv->dmi_product);
		return;
	}
	probe_check_set(c, PROBE_NOTE, "",
			"this host is a guest of %s, %s. Evidence: hypervisor bit %s; "
			"CPUID signatures: %s; ACPI OEM ID: %s%s%s; DMI: %s",
			hv->display, hv->kind ? hv->kind : "kind unknown",
			f->cpu.hypervisor_bit ? "set" : "clear", sigs[0] ? sigs : "none",
			hv->acpi_oem[0] ? hv->acpi_oem : "none",
			hv->acpi_oem_table[0] ? " in " : "", hv->acpi_oem_table,
			hv->dmi_product[0] ? hv->dmi_product : "none (no /sys/class/dmi/id)");
}
