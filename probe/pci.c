/* pci probe: every PCI device (libpci), its driver and IOMMU group, and whether it suits a
 * hypervisor. */
#include "config.h"
#include <errno.h>
#include <pci/pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data/class-rules.h"
#include "probe/backend.h"
#include "probe/facts.h"
#include "probe/recfile.h"

#define PCI_MAX_DEVS 4096

/* Red Hat's virtio IDs (1af4:1000-107f): legacy 1000-103f, modern 1040 + device type. */
static bool is_virtio(uint16_t vendor, uint16_t device)
{
	return vendor == 0x1af4 && device >= 0x1000 && device <= 0x107f;
}

/* What a hypervisor offers instead: data/class-rules.tsv. */
static const char *alternative_for(uint16_t cls)
{
	const struct class_rule *r = class_rule_for(cls);

	return r ? r->alternative : "none";
}

static __thread jmp_buf pci_jmp;
static __thread char pci_errmsg[100];

/* libpci's error hook must not return: we unwind to probe_pci_collect instead of exiting. */
static void __attribute__((noreturn)) pci_on_error(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(pci_errmsg, sizeof(pci_errmsg), msg, ap);
	va_end(ap);
	longjmp(pci_jmp, 1);
}

static void pci_on_warning(char *msg, ...)
{
	(void)msg;	/* a missing optional sysfs file: the fact stays unknown */
}

/* The files libpci reads itself, so a recording replays through libpci too. */
static void save_for_libpci(struct probe_backend *be, const char *addr)
{
	static const char *const files[] = {
		"vendor",           "device",   "class",    "subsystem_vendor",
		"subsystem_device", "revision", "resource", "irq",
		"numa_node",        "label",    "config"
	};
	char path[160];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", addr, files[i]);
		probe_save_copy(be, path);
	}
}

struct peer_ctx { const char *self; char *out; size_t len; };

static int peer_one(const char *name, void *ctx)
{
	struct peer_ctx *pc = ctx;
	size_t used = strlen(pc->out);

	if (strcmp(name, pc->self) && used + strlen(name) + 2 < pc->len)
		snprintf(pc->out + used, pc->len - used, "%s%s", used ? " " : "", name);
	return 0;
}

static void dev_sysfs(struct probe_backend *be, struct probe_pci_dev *d, bool has_reset_method)
{
	char path[200], buf[64];
	uint64_t v;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", d->addr);
	if (probe_readlink_base(be, path, d->driver, sizeof(d->driver)) < 0)
		d->driver[0] = '\0';
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", d->addr);
	d->group = -1;
	if (probe_readlink_base(be, path, buf, sizeof(buf)) == 0 &&
	    recfile_parse_u64(buf, &v) == 0 && v < 1000000) {
		struct peer_ctx pc = { d->addr, d->group_peers, sizeof(d->group_peers) };
		d->group = (int)v;
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", d->group);
		probe_list(be, path, peer_one, &pc);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset_method", d->addr);
	/* Since 5.15 the kernel hides reset_method when a device has no reset; before, it never had
	 * one. */
	if (probe_read(be, path, d->reset, sizeof(d->reset)) < 0)
		snprintf(d->reset, sizeof(d->reset), "%s", has_reset_method ? "" : "?");
	recfile_trim(d->reset);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_totalvfs", d->addr);
	d->sriov_vfs = -1;
	if (probe_read(be, path, buf, sizeof(buf)) >= 0 && recfile_parse_u64(buf, &v) == 0 &&
	    v < 65536)
		d->sriov_vfs = (int)v;
}

/* Through libpci's config cache: each config read may trap to a hypervisor, so none is repeated.
 * Beyond 64 bytes needs root; extended space (ACS) exists only on PCI Express devices. */
static void dev_config(struct pci_dev *pd, struct probe_pci_dev *d)
{
	struct pci_cap *exp = pci_find_cap(pd, PCI_CAP_ID_EXP, PCI_CAP_NORMAL);
	uint8_t ext[4];

	if (!exp)
		return; /* d->acs as the caller judged it from the config file's size */
	if (!strcmp(d->reset, "?") &&
	    (pci_read_long(pd, exp->addr + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLRESET))
		snprintf(d->reset, sizeof(d->reset), "flr");
	if (pci_read_block(pd, 0x100, ext, sizeof(ext)))
		d->acs = pci_find_cap(pd, PCI_EXT_CAP_ID_ACS, PCI_CAP_EXTENDED) != NULL;
}

/* pci.ids only (not udev's hwdb): the same names on every machine that replays a recording. */
static void dev_names(struct pci_access *names, struct probe_pci_dev *d)
{
	const int only = PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB;
	char *bracket;

	if (!names ||
	    !pci_lookup_name(names, d->vendor_name, sizeof(d->vendor_name),
			     PCI_LOOKUP_VENDOR | only, d->vendor))
		snprintf(d->vendor_name, sizeof(d->vendor_name), "Vendor %04x", d->vendor);
	if (!names ||
	    !pci_lookup_name(names, d->device_name, sizeof(d->device_name),
			     PCI_LOOKUP_DEVICE | only, d->vendor, d->device))
		snprintf(d->device_name, sizeof(d->device_name), "Device %04x", d->device);
	if (!names ||
	    !pci_lookup_name(names, d->class_name, sizeof(d->class_name), PCI_LOOKUP_CLASS | only,
			     d->cls))
		snprintf(d->class_name, sizeof(d->class_name), "Class %04x", d->cls);
	if ((bracket = strstr(d->class_name,
			      " ["))) /* pci.ids names class ffff "Unassigned class [ffff]" */
		*bracket = '\0';
}

static void dev_fill(struct probe_backend *be, struct pci_dev *pd, struct probe_pci_dev *d,
		     bool has_reset_method)
{
	char path[160];

	pci_fill_info(pd, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_SUBSYS | PCI_FILL_CLASS_EXT);
	snprintf(d->addr, sizeof(d->addr), "%04x:%02x:%02x.%d", pd->domain, pd->bus, pd->dev,
		 pd->func);
	if (pd->domain)
		snprintf(d->slot, sizeof(d->slot), "%s", d->addr);
	else
		snprintf(d->slot, sizeof(d->slot), "%02x:%02x.%d", pd->bus, pd->dev, pd->func);
	d->vendor = pd->vendor_id;
	d->device = pd->device_id;
	d->cls = pd->device_class;
	d->rev = pd->rev_id;
	d->sub_vendor = pd->subsys_vendor_id;
	d->sub_device = pd->subsys_id;
	save_for_libpci(be, d->addr);
	dev_sysfs(be, d, has_reset_method);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", d->addr);
	/* sysfs gives a conventional PCI device 256 bytes of config: no extended space, so no ACS
	 * (PCI Express gives 4096; less than 256 is an unprivileged read, which cannot tell) */
	d->acs = probe_file_size(be, path) == 256 ? -2 : -1;
	/* Each config read traps to the hypervisor when this host is a guest (30 us under
	 * Firecracker, 15 reads a virtio device): the capabilities are walked only when sysfs
	 * cannot answer, for extended space (ACS) or FLR without reset_method. */
	if (probe_file_size(be, path) > 256 || !strcmp(d->reset, "?")) {
		pci_fill_info(pd, PCI_FILL_CAPS | PCI_FILL_EXT_CAPS);
		dev_config(pd, d);
	}
	d->paravirtual = is_virtio(d->vendor, d->device);
	d->alternative = d->paravirtual ? "it is the paravirtual device" : alternative_for(d->cls);
}

static int dev_cmp(const void *a, const void *b)
{
	return strcmp(((const struct probe_pci_dev *)a)->addr,
		      ((const struct probe_pci_dev *)b)->addr);
}

static const struct probe_pci_dev *find_dev(const struct probe_pci *pci, const char *addr)
{
	for (int i = 0; i < pci->ndevs; i++)
		if (!strcmp(pci->devs[i].addr, addr))
			return &pci->devs[i];
	return NULL;
}

/* A group member bound to one of these keeps the group viable for VFIO: no driver, or one that
 * leaves DMA to VFIO or does none (the kernel's driver_managed_dma, 5.19 on: vfio-pci and its
 * vendor variants, pci-stub, the PCIe port driver). Any other host driver claims the group's DMA
 * for the host, and VFIO_GROUP_GET_STATUS says the group is not viable. */
static bool driver_keeps_group_viable(const char *drv)
{
	static const char *const ok[] = { "", "vfio-pci", "pci-stub", "pcieport" };
	size_t n = strlen(drv);

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(drv, ok[i]))
			return true;
	/* mlx5_vfio_pci, hisi_acc_vfio_pci, virtio_vfio_pci */
	return n > 9 && (!strcmp(drv + n - 9, "_vfio_pci") || !strcmp(drv + n - 9, "-vfio-pci"));
}

struct group_view {
	int blockers;		/* peers bound to a host driver that is not listed above */
	char blocking[240];	/* "00:1f.0 (ISA bridge, lpc_ich)", the first three */
	int idle;		/* other peers: no driver, or one of those drivers */
	char idle_list[80];
};

static void list_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	if (used)
		snprintf(buf + used, len - used, ", ");
	used = strlen(buf);
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* What VFIO will see in d's group once d is bound to vfio-pci: who keeps it from being viable. */
static void group_view(const struct probe_pci *pci, const struct probe_pci_dev *d,
		       struct group_view *g)
{
	char peers[sizeof(d->group_peers)], *save = NULL;

	memset(g, 0, sizeof(*g));
	snprintf(peers, sizeof(peers), "%s", d->group_peers);
	for (char *tok = strtok_r(peers, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		const struct probe_pci_dev *p = find_dev(pci, tok);
		if (!p)
			continue;	/* not on the bus any more */
		if (!driver_keeps_group_viable(p->driver)) {
			if (g->blockers++ < 3)
				list_add(g->blocking, sizeof(g->blocking), "%s (%s, %s)", p->slot,
					 p->class_name, p->driver);
		} else if (g->idle++ < 4) {
			list_add(g->idle_list, sizeof(g->idle_list), "%s", p->slot);
		}
	}
}

static void verdict_ready(struct probe_pci_dev *d, const struct group_view *g)
{
	char bind[160] = "; bound to vfio-pci already", shared[160] = " to itself";

	d->verdict = "ready";
	if (strcmp(d->driver, "vfio-pci"))
		snprintf(bind, sizeof(bind),
			 "; the host's %s has it now: driverctl set-override %s vfio-pci hands it "
			 "over",
			 d->driver[0] ? d->driver : "(no driver)", d->addr);
	if (g->idle)
		snprintf(shared, sizeof(shared),
			 " (with %s%s, none bound to a host driver that claims DMA)", g->idle_list,
			 g->idle > 4 ? " and more" : "");
	snprintf(d->reason, sizeof(d->reason), "IOMMU group %d%s; reset: %s%s", d->group, shared,
		 strcmp(d->reset, "?") ? d->reset : "unknown (kernel < 5.15)", bind);
}

static void dev_verdict(const struct probe_pci *pci, const struct probe_iommu *io,
			struct probe_pci_dev *d)
{
	struct group_view g = { 0 };
	bool infra = (d->cls >> 8) == 0x06 || d->cls == 0x0806;

	d->verdict = "not-ready";
	d->vfio = NULL;
	if (!infra && probe_iommu_active(io) && d->group >= 0) {
		group_view(pci, d, &g);
		d->vfio = g.blockers ? "not-viable" : "viable";
	} else if (!infra) {
		d->vfio = "no-group";
	}
	if (d->paravirtual) {
		d->verdict = "paravirtual";
		snprintf(d->reason, sizeof(d->reason),
			 "already a virtio device: this host is itself a guest");
	} else if ((d->cls >> 8) == 0x06) {
		d->verdict = "host-infrastructure";
		snprintf(d->reason, sizeof(d->reason), "bridges stay with the host");
	} else if (d->cls == 0x0806) {
		/* the IOMMU's own PCI function (AMD-Vi): it translates for the others */
		d->verdict = "host-infrastructure";
		snprintf(d->reason, sizeof(d->reason), "the IOMMU itself stays with the host");
	} else if (!probe_iommu_active(io))
		snprintf(d->reason, sizeof(d->reason), "no active IOMMU (see iommu.active)");
	else if (d->group < 0)
		snprintf(d->reason, sizeof(d->reason), "in no IOMMU group");
	else if (g.blockers)
		snprintf(d->reason, sizeof(d->reason),
			 "IOMMU group %d is not viable while %s %s bound to a host driver%s: "
			 "unbind %s from the host first (or give %s to vfio-pci too)",
			 d->group, g.blocking, g.blockers > 1 ? "are" : "is",
			 g.blockers > 3 ? " (and more)" : "", g.blockers > 1 ? "them" : "it",
			 g.blockers > 1 ? "them" : "it");
	else if (!d->reset[0])
		snprintf(d->reason, sizeof(d->reason),
			 "no reset method: state would leak between guests");
	else
		verdict_ready(d, &g);
}

/* reset_method appeared in Linux 5.15. */
static bool kernel_has_reset_method(struct probe_backend *be)
{
	char rel[64];
	unsigned major = 0, minor = 0;

	if (probe_read(be, "/proc/sys/kernel/osrelease", rel, sizeof(rel)) < 0 ||
	    sscanf(rel, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 5 || (major == 5 && minor >= 15);
}

static int scan(struct probe_backend *be, struct pci_access *pacc, struct probe_pci *pci)
{
	bool has_reset_method = kernel_has_reset_method(be);
	int n = 0;

	pci_scan_bus(pacc);
	for (struct pci_dev *pd = pacc->devices; pd; pd = pd->next)
		n++;
	if (n > PCI_MAX_DEVS)
		n = PCI_MAX_DEVS;
	pci->devs = calloc((size_t)(n ? n : 1), sizeof(*pci->devs));
	if (!pci->devs)
		return -ENOMEM;
	for (struct pci_dev *pd = pacc->devices; pd && pci->ndevs < n; pd = pd->next)
		dev_fill(be, pd, &pci->devs[pci->ndevs++], has_reset_method);
	qsort(pci->devs, (size_t)pci->ndevs, sizeof(*pci->devs), dev_cmp);
	return 0;
}

/* pci.ids takes milliseconds to parse: a caller may load it in another thread while others work. */
struct pci_access *probe_pci_names_load(void)
{
	struct pci_access *a = pci_alloc();

	if (!a)
		return NULL;
	a->error = pci_on_error;
	a->warning = pci_on_warning;
	a->debug = pci_on_warning;	/* pci_init would set it; this access only looks up names */
	if (setjmp(pci_jmp)) {	/* no pci.ids: names fall back to numbers */
		pci_cleanup(a);
		return NULL;
	}
	pci_load_name_list(a);
	return a;
}

void probe_pci_names_free(struct pci_access *names)
{
	if (names)
		pci_cleanup(names);
}

void probe_pci_collect(struct probe_backend *be, struct probe_pci *pci)
{
	struct pci_access *pacc = pci_alloc();
	char sysfs[4200];

	if (!pacc) {
		pci->err = -ENOMEM;
		return;
	}
	probe_path(be, "/sys/bus/pci", sysfs, sizeof(sysfs));
	pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	pacc->error = pci_on_error;
	pacc->warning = pci_on_warning;
	probe_exists(be, "/sys/bus/pci/devices");
	if (setjmp(pci_jmp)) {	/* libpci gave up mid-scan: a partial list would mislead */
		pci->err = -EIO;
		snprintf(pci->errmsg, sizeof(pci->errmsg), "libpci: %s", pci_errmsg);
		probe_pci_free(pci);
		goto out;
	}
	pci_set_param(pacc, "sysfs.path", sysfs);
	pci_init(pacc);
	pci->err = scan(be, pacc, pci);
out:
	pci_cleanup(pacc);
}

void probe_pci_finish(struct probe_pci *pci, const struct probe_iommu *io, struct pci_access *names,
		      bool named)
{
	struct pci_access *own = names || named ? NULL : probe_pci_names_load();

	for (int i = 0; i < pci->ndevs && !named; i++)
		dev_names(names ? names : own, &pci->devs[i]);
	for (int i = 0; i < pci->ndevs; i++)	/* verdicts name their group peers' classes */
		dev_verdict(pci, io, &pci->devs[i]);
	probe_pci_names_free(own);
}

void probe_pci_free(struct probe_pci *pci)
{
	free(pci->devs);
	pci->devs = NULL;
	pci->ndevs = 0;
}

void probe_pci_check(const struct probe_facts *f, struct probe_check *c)
{
	const struct probe_pci *pci = &f->pci;
	int ready = 0, pv = 0, infra = 0, blocked = 0;

	if (pci->err) {
		probe_check_set(c, PROBE_UNKNOWN, "run `lspci` to see whether PCI is readable here",
				"PCI devices could not be listed: %s",
				pci->errmsg[0] ? pci->errmsg : strerror(-pci->err));
		return;
	}
	for (int i = 0; i < pci->ndevs; i++) {
		const char *v = pci->devs[i].verdict;
		ready += !strcmp(v, "ready");
		pv += !strcmp(v, "paravirtual");
		infra += !strcmp(v, "host-infrastructure");
		blocked += !strcmp(v, "not-ready");
	}
	probe_check_set(c, ready || !blocked ? PROBE_PASS : PROBE_NOTE,
			blocked ? "see the device list for each reason" : "",
			"%d devices: %d ready for passthrough, %d not ready, %d paravirtual "
			"(virtio), %d host infrastructure",
			pci->ndevs, ready, blocked, pv, infra);
}
