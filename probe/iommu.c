/* iommu probe: ACPI DMAR/IVRS, active units, groups, interrupt remapping, and the command line's
 * intent. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/acpi.h"
#include "probe/backend.h"
#include "probe/facts.h"
#include "probe/recfile.h"

#define ACPI_TABLE_MAX 65536

static void collect_acpi(struct probe_backend *be, struct probe_iommu *io)
{
	static uint8_t buf[ACPI_TABLE_MAX];
	long n;
	uint32_t info;

	io->acpi_err = !probe_exists(be, "/sys/firmware/acpi/tables");
	n = probe_read_bin(be, "/sys/firmware/acpi/tables/DMAR", buf, sizeof(buf));
	if (n >= 0 && (io->dmar_flags = acpi_dmar_flags(buf, (size_t)n)) >= 0)
		io->dmar = true;
	else if (n >= 0)
		snprintf(io->acpi_corrupt, sizeof(io->acpi_corrupt), "DMAR (%ld bytes)", n);
	n = probe_read_bin(be, "/sys/firmware/acpi/tables/IVRS", buf, sizeof(buf));
	if (n >= 0 && acpi_ivrs_info(buf, (size_t)n, &info) == 0) {
		io->ivrs = true;
		io->ivrs_info = (int)info;
	} else if (n >= 0) {
		snprintf(io->acpi_corrupt, sizeof(io->acpi_corrupt), "IVRS (%ld bytes)", n);
	}
}

static int unit_one(const char *name, void *ctx)
{
	struct probe_iommu *io = ctx;
	size_t used = strlen(io->unit_names);

	io->units++;
	if (used + strlen(name) + 2 < sizeof(io->unit_names))
		snprintf(io->unit_names + used, sizeof(io->unit_names) - used, "%s%s",
			 used ? " " : "", name);
	return 0;
}

struct group_ctx { struct probe_backend *be; struct probe_iommu *io; };

static int group_one(const char *name, void *ctx)
{
	struct group_ctx *gc = ctx;
	struct probe_iommu *io = gc->io;
	char path[256], type[32];

	io->groups++;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/type", name);
	if (probe_read(gc->be, path, type, sizeof(type)) < 0)
		return 0;
	recfile_trim(type);
	if (!strcmp(type, "identity"))
		io->identity_groups = true;
	if (!strstr(io->group_types, type) &&
	    strlen(io->group_types) + strlen(type) + 2 < sizeof(io->group_types))
		snprintf(io->group_types + strlen(io->group_types),
			 sizeof(io->group_types) - strlen(io->group_types), "%s%s",
			 io->group_types[0] ? " " : "", type);
	return 0;
}

/* Kernel log lines that state interrupt remapping's effective state. */
static const struct { const char *marker; int on; } intremap_markers[] = {
	{ "Enabled IRQ remapping", 1 }, { "Interrupt remapping enabled", 1 },
	{ "IRQ remapping was enabled", 1 }, { "Not enabling interrupt remapping", 0 },
	{ "IRQ remapping disabled", 0 }, { "Interrupt remapping disabled", 0 },
};

/* /proc/interrupts names each interrupt's chip, "IR-" in front where it goes through the IOMMU's
 * remapping table (IR-IO-APIC, IR-PCI-MSI; an IOMMU's own DMAR-MSI or AMD-Vi interrupt is not
 * remapped): the state now, where the kernel log's line may have rotated out long ago. 1 on, 0
 * off (IO-APIC or MSI interrupts, none remapped), -1 when it cannot tell. */
static int intremap_from_interrupts(struct probe_backend *be, struct probe_iommu *io)
{
	/* big hosts print 11 columns a CPU per line; the IO-APIC's lines come first */
	const size_t len = 256 * 1024;
	char *buf = malloc(len);
	int on = 0, off = 0;

	if (!buf || probe_read(be, "/proc/interrupts", buf, len) <= 0) {
		free(buf);
		return -1;
	}
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strstr(line, "AMD-Vi") || strstr(line, "DMAR"))
			continue;	/* the IOMMU's own interrupt: never remapped */
		if (strstr(line, " IR-IO-APIC ") || strstr(line, " IR-PCI-MSI"))
			on++;
		else if (strstr(line, " IO-APIC ") || strstr(line, " PCI-MSI"))
			off++;
	}
	free(buf);
	if (on)
		snprintf(io->intremap_evidence, sizeof(io->intremap_evidence),
			 "/proc/interrupts: %d interrupt%s through the IOMMU's remapping table "
			 "(IR-IO-APIC, IR-PCI-MSI)%s", on, on == 1 ? " goes" : "s go",
			 off ? "; some are not" : "");
	else if (off)
		snprintf(io->intremap_evidence, sizeof(io->intremap_evidence),
			 "/proc/interrupts: none of %d IO-APIC and MSI interrupts is remapped "
			 "(no IR-IO-APIC or IR-PCI-MSI)", off);
	return on ? 1 : off ? 0 : -1;
}

static void collect_intremap(struct probe_backend *be, struct probe_iommu *io)
{
	int err;
	const char *log;

	io->intremap = intremap_from_interrupts(be, io);
	if (io->intremap >= 0)
		return;
	log = probe_kmsg(be, &err);
	for (size_t i = 0; i < sizeof(intremap_markers) / sizeof(intremap_markers[0]); i++) {
		const char *hit = strstr(log, intremap_markers[i].marker);
		if (!hit)
			continue;
		const char *bol = hit;
		while (bol > log && bol[-1] != '\n')
			bol--;
		const char *eol = strchr(hit, '\n');
		io->intremap = intremap_markers[i].on;
		snprintf(io->intremap_evidence, sizeof(io->intremap_evidence),
			 "kernel log: \"%.*s\"", (int)((eol ? eol : hit + strlen(hit)) - bol), bol);
		return;
	}
	if (err)
		snprintf(io->intremap_evidence, sizeof(io->intremap_evidence),
			 "kernel log unreadable: %s", strerror(-err));
}

void probe_iommu_collect(struct probe_backend *be, struct probe_iommu *io)
{
	struct group_ctx gc = { be, io };
	long n;

	collect_acpi(be, io);
	probe_list(be, "/sys/class/iommu", unit_one, io);
	io->groups_err = probe_list(be, "/sys/kernel/iommu_groups", group_one, &gc);
	n = probe_read(be, "/proc/cmdline", io->cmdline, sizeof(io->cmdline));
	io->cmdline_err = n < 0 ? (int)n : 0;
	recfile_trim(io->cmdline);
	io->intremap = -1;
	/* without an IOMMU there is nothing to remap with; the kernel log costs a millisecond */
	if (io->dmar || io->ivrs || io->units > 0)
		collect_intremap(be, io);
}

bool probe_iommu_active(const struct probe_iommu *io)
{
	return io->units > 0 && io->groups > 0;
}

/* The value of a kernel parameter ("iommu=pt" -> "pt"), or NULL; whole-word match. */
static const char *cmdline_value(const char *cmdline, const char *key, char *val, size_t len)
{
	size_t kl = strlen(key);

	for (const char *p = cmdline; (p = strstr(p, key)); p += kl) {
		if ((p != cmdline && p[-1] != ' ') || p[kl] != '=')
			continue;
		size_t n = strcspn(p + kl + 1, " ");
		snprintf(val, len, "%.*s", (int)n, p + kl + 1);
		return val;
	}
	return NULL;
}

void probe_iommu_check_acpi(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_iommu *io = &f->iommu;
	const char *hv = probe_hv_name(&f->hv);

	if (io->acpi_corrupt[0] && !io->dmar && !io->ivrs)
		probe_check_set(c, PROBE_UNKNOWN,
				"report the table with `nestvisor probe --save DIR`",
				"the ACPI table %s is truncated or corrupt", io->acpi_corrupt);
	else if (io->dmar)
		probe_check_set(c, PROBE_PASS, "",
				"ACPI DMAR table (Intel VT-d); firmware flags 0x%x: interrupt "
				"remapping %ssupported%s",
				io->dmar_flags, io->dmar_flags & DMAR_INTR_REMAP ? "" : "not ",
				io->dmar_flags & DMAR_X2APIC_OPT_OUT ? ", x2APIC opt-out "
								       "requested" :
								       "");
	else if (io->ivrs)
		probe_check_set(c, PROBE_PASS, "", "ACPI IVRS table (AMD-Vi); IVinfo 0x%x",
				(unsigned)io->ivrs_info);
	else if (io->acpi_err)
		probe_check_set(c, PROBE_UNKNOWN, "",
				"no /sys/firmware/acpi/tables (no ACPI, or not readable)");
	else if (hv)
		probe_check_set(c, PROBE_WARN,
				"give the guest a virtual IOMMU (QEMU: -device "
				"intel-iommu,intremap=on), or assign devices on the outer host",
				"no DMAR or IVRS table: %s gives this guest no virtual IOMMU", hv);
	else
		probe_check_set(c, PROBE_WARN,
				"enable VT-d (Intel) or IOMMU/AMD-Vi (AMD) in the firmware setup",
				"no DMAR or IVRS table: the firmware describes no IOMMU");
}

void probe_iommu_check_active(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_iommu *io = &f->iommu;

	if (probe_iommu_active(io))
		probe_check_set(c, PROBE_PASS, "",
				"%d IOMMU unit(s) (%s); %d IOMMU groups, default domains: %s",
				io->units, io->unit_names, io->groups,
				io->group_types[0] ? io->group_types : "?");
	else if (io->dmar)
		probe_check_set(c, PROBE_WARN,
				"add intel_iommu=on to the kernel command line (GRUB_CMDLINE_LINUX "
				"in /etc/default/grub, then update-grub) and reboot",
				"firmware has a DMAR table but the kernel runs no IOMMU (%d units, "
				"%d groups)",
				io->units, io->groups);
	else if (io->ivrs)
		probe_check_set(c, PROBE_WARN,
				"AMD-Vi is on by default: remove amd_iommu=off or iommu=off from "
				"the kernel command line and reboot",
				"firmware has an IVRS table but the kernel runs no IOMMU");
	else
		probe_check_set(c, PROBE_WARN, "see iommu.acpi",
				"no IOMMU: /sys/class/iommu has %d units and "
				"/sys/kernel/iommu_groups %d groups, so devices cannot be passed "
				"to guests safely",
				io->units, io->groups);
}

void probe_iommu_check_cmdline(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_iommu *io = &f->iommu;
	char intel[32], amd[32], iommu[32], pt[32];

	if (io->cmdline_err) {
		probe_check_set(c, PROBE_UNKNOWN, "", "/proc/cmdline: %s",
				strerror(-io->cmdline_err));
		return;
	}
	const char *iv = cmdline_value(io->cmdline, "intel_iommu", intel, sizeof(intel));
	const char *av = cmdline_value(io->cmdline, "amd_iommu", amd, sizeof(amd));
	const char *gv = cmdline_value(io->cmdline, "iommu", iommu, sizeof(iommu));
	const char *pv = cmdline_value(io->cmdline, "iommu.passthrough", pt, sizeof(pt));
	char off[48];	/* which option turns it off */
	if (iv)
		snprintf(off, sizeof(off), "intel_iommu=%s", iv);
	else if (av)
		snprintf(off, sizeof(off), "amd_iommu=%s", av);
	else
		snprintf(off, sizeof(off), "iommu=%s", gv ? gv : "");
	if (av && !strcmp(av, "on"))
		probe_check_set(c, PROBE_WARN,
				"remove amd_iommu=on: AMD-Vi is on by default (amd_iommu=off turns "
				"it off)",
				"amd_iommu=on is not a kernel option; the kernel ignores it");
	else if ((iv && !strcmp(iv, "off")) || (av && !strcmp(av, "off")) ||
		 (gv && !strcmp(gv, "off")))
		probe_check_set(c, PROBE_WARN,
				"remove the option from the kernel command line and reboot",
				"the kernel command line turns the IOMMU off (%s)", off);
	else if ((gv && !strcmp(gv, "pt")) || (pv && !strcmp(pv, "1")))
		probe_check_set(c, PROBE_NOTE,
				"drop iommu=pt where the host's own devices must be isolated too",
				"iommu=pt: devices the host keeps bypass DMA translation (identity "
				"domains%s), which weakens isolation against them; devices given "
				"to guests through VFIO stay isolated",
				io->identity_groups ? ", seen in /sys/kernel/iommu_groups" : "");
	else if (iv && !strncmp(iv, "on", 2) && !probe_iommu_active(io))
		probe_check_set(c, PROBE_WARN, "enable VT-d in the firmware setup",
				"intel_iommu=%s asks for VT-d but no IOMMU unit is active", iv);
	else if (iv || av)
		probe_check_set(c, PROBE_PASS, "", "IOMMU options: %s%s%s%s", iv ? "intel_iommu=" : "", iv ? iv : "",
				av ? (iv ? " amd_iommu=" : "amd_iommu=") : "", av ? av : "");
	else
		probe_check_set(c, PROBE_PASS, "", "IOMMU options: none (kernel defaults)");
}

void probe_iommu_check_intremap(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_iommu *io = &f->iommu;

	if (!probe_iommu_active(io))
		probe_check_set(c, PROBE_NOTE, "", "not applicable: no active IOMMU");
	else if (io->intremap == 1)
		probe_check_set(c, PROBE_PASS, "", "%s", io->intremap_evidence);
	else if (io->intremap == 0)
		probe_check_set(c, PROBE_WARN,
				"enable interrupt remapping (firmware: VT-d/x2APIC; do not pass "
				"intremap=off); vfio_iommu_type1 allow_unsafe_interrupts=1 works "
				"around it unsafely",
				"%s: without it VFIO refuses device assignment",
				io->intremap_evidence);
	else
		probe_check_set(c, PROBE_UNKNOWN,
				"run as root (the kernel log may be restricted: dmesg_restrict)",
				"the kernel log does not say whether interrupt remapping is on%s%s",
				io->intremap_evidence[0] ? "; " : "", io->intremap_evidence);
}
