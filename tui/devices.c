/* devices: the Devices screen: every PCI device with its driver, IOMMU group and passthrough
 * verdict, sorted, filtered and searched; Enter shows one device's details and what the
 * compatibility database knows of it. */
#include "config.h"
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "probe/probe.h"
#include "tui/crt.h"
#include "tui/screens.h"

enum { DEVICE_SORTS = 4 };
static const char *const sort_names[DEVICE_SORTS] = { "address", "name", "driver", "verdict" };

/* The screen's own state: the sort, the "ready only" filter, the search and whether it is being
 * typed. */
static struct {
	int sort;
	bool ready_only, typing;
	char search[64];
} st;
static int sort_key;		/* for qsort's comparator */

static const char *dev_field(const struct probe_pci_dev *d, int k)
{
	return k == 0 ? d->addr : k == 1 ? d->device_name : k == 2 ? d->driver : d->verdict;
}

static int dev_cmp(const void *a, const void *b)
{
	const struct probe_pci_dev *x = *(const struct probe_pci_dev *const *)a,
				   *y = *(const struct probe_pci_dev *const *)b;
	int c = strcmp(dev_field(x, sort_key), dev_field(y, sort_key));

	return c ? c : strcmp(x->addr, y->addr);
}

static bool dev_shown(const struct probe_pci_dev *d)
{
	if (st.ready_only && strcmp(d->verdict, "ready"))
		return false;
	if (!st.search[0])
		return true;
	return strstr(d->addr, st.search) || strstr(d->device_name, st.search) ||
		strstr(d->vendor_name, st.search) || strstr(d->driver, st.search) ||
		strstr(d->verdict, st.search);
}

/* The devices to show, in order (a malloc'd array of pointers). */
static int dev_list(struct tui *t, const struct probe_pci_dev ***out)
{
	const struct probe_pci_dev *devs;
	int ndevs = probe_report_devices(t->report, &devs, NULL);
	const struct probe_pci_dev **v = calloc((size_t)ndevs + 1, sizeof(*v));
	int n = 0;

	for (int i = 0; v && i < ndevs; i++)
		if (dev_shown(&devs[i]))
			v[n++] = &devs[i];
	sort_key = st.sort;
	if (n)
		qsort(v, (size_t)n, sizeof(*v), dev_cmp);
	*out = v;
	return n;
}

static int devices_count(struct tui *t)
{
	const struct probe_pci_dev **v;
	int n;

	if (!t->report)
		return 0;
	n = dev_list(t, &v);
	free(v);
	return n;
}

static void devices_draw(struct tui *t)
{
	const struct probe_pci_dev **v;
	char name[256], alt[256];
	int y = TUI_BODY_TOP, n, rows;

	if (tui_waiting(t))
		return;
	n = dev_list(t, &v);
	crt_fill(y, ROLE_HEADER);
	crt_text(y++, 0, ROLE_HEADER, 0, " %-12s %-9s %-30s %-12s %-5s %-19s %s", "ADDRESS", "ID",
		 "NAME", "DRIVER", "GROUP", "VERDICT", "ALTERNATIVE");
	rows = t->rows - y - 1 - (t->detail ? 6 : 0) - (st.typing || st.search[0] ? 1 : 0);
	if (t->sel >= n)
		t->sel = n ? n - 1 : 0;
	if (t->sel < t->scroll)
		t->scroll = t->sel;
	if (t->sel >= t->scroll + rows)
		t->scroll = t->sel - rows + 1;
	t->list_top = y;
	t->list_rows = rows;
	for (int i = t->scroll; i < n && i < t->scroll + rows; i++, y++) {
		const struct probe_pci_dev *d = v[i];
		char group[12] = "-";
		if (d->group >= 0)
			snprintf(group, sizeof(group), "%d", d->group);
		tui_fit(name, sizeof(name), d->device_name, 30);
		tui_fit(alt, sizeof(alt), d->alternative, t->cols - 95 > 4 ? t->cols - 95 : 4);
		crt_text(y, 0, i == t->sel ? ROLE_SELECTED : ROLE_DEFAULT, 0,
			 " %-12s %04x:%04x %s %-12.12s %-5s ", d->addr + 5, d->vendor, d->device,
			 name, d->driver[0] ? d->driver : "-", group);
		crt_text(y, 75, !strcmp(d->verdict, "ready") ? ROLE_PASS : !strcmp(d->verdict, "not-ready") ? ROLE_WARN :
			 ROLE_NOTE, 20, "%-19s", d->verdict);
		crt_text(y, 95, ROLE_DIM, 0, "%s", alt);
	}
	if (!n)
		crt_text(y, 1, ROLE_DIM, 0, "(no device matches)");
	if (t->detail && t->sel < n) {
		const struct probe_pci_dev *d = v[t->sel];
		int top = t->rows - 7 - (st.typing || st.search[0] ? 1 : 0);
		crt_fill(top, ROLE_HEADER);
		crt_text(top, 1, ROLE_HEADER, 0, "%s %s [%04x:%04x], %s", d->vendor_name,
			 d->device_name, d->vendor, d->device, d->class_name);
		crt_text(top + 1, 1, ROLE_DEFAULT, 0, "%s: %s", d->verdict, d->reason);
		char vfs[16] = "none";
		if (d->sriov_vfs >= 0)
			snprintf(vfs, sizeof(vfs), "%d", d->sriov_vfs);
		crt_text(top + 2, 1, ROLE_DEFAULT, 0,
			 "reset %s, SR-IOV VFs %s, ACS %s, IOMMU group peers: %s",
			 d->reset[0] ? d->reset : "none", vfs,
			 probe_pci_acs_name(d),
			 d->group_peers[0] ? d->group_peers : "none");
		crt_text(top + 3, 1, ROLE_DEFAULT, 0, "instead of passthrough: %s", d->alternative);
		char vd[16];
		snprintf(vd, sizeof(vd), "%04x:%04x", d->vendor, d->device);
		crt_text(top + 4, 1, ROLE_NOTE, 0, "%s", tui_device_history(vd));
	}
	if (st.typing || st.search[0])
		crt_text(t->rows - 2, 0, ROLE_WARN, 0, " search: %s%s", st.search,
			 st.typing ? "_" : "   (/ to change)");
	crt_text(1, 1, ROLE_DIM, 0, "%d device(s), sorted by %s%s", n, sort_names[st.sort],
		 st.ready_only ? ", only those ready for passthrough" : "");
	free(v);
}


/* While a search is typed every key is its: Enter keeps it, Esc clears it. */
static int devices_modal(struct tui *t, int key)
{
	size_t n = strlen(st.search);

	if (!st.typing)
		return 0;
	if (key == '\n' || key == KEY_ENTER) {
		st.typing = false;
	} else if (key == 27) {
		st.typing = false;
		st.search[0] = '\0';
	} else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && n) {
		st.search[n - 1] = '\0';
	} else if (key >= 32 && key < 127 && n + 1 < sizeof(st.search)) {
		st.search[n] = (char)key;
		st.search[n + 1] = '\0';
	}
	t->sel = t->scroll = 0;
	return TUI_REDRAW;
}

int tui_devices_search(struct tui *t)
{
	tui_show(t, SCREEN_DEVICES);
	st.typing = true;
	return TUI_REDRAW;
}

static int devices_filter(struct tui *t)
{
	st.ready_only = !st.ready_only;
	t->sel = 0;
	return TUI_REDRAW;
}

static int devices_sort(struct tui *t)
{
	st.sort = (st.sort + 1) % DEVICE_SORTS;
	t->sel = 0;
	return TUI_REDRAW;
}

static int devices_detail(struct tui *t)
{
	t->detail = !t->detail;
	return TUI_REDRAW;
}

/* Esc: a search that is shown but no longer typed goes. */
static int devices_clear(struct tui *t)
{
	st.search[0] = '\0';
	t->sel = t->scroll = 0;
	return TUI_REDRAW;
}

static const struct tui_key devices_keys[] = {
	{ '\n', KEY_ENTER, NULL, NULL,
	  "Enter     the selected device's details and what the database knows of it",
	  devices_detail },
	{ KEY_F(3), '/', "F3", "Search",
	  "F3 /      search the devices (Enter keeps the search, Esc clears it)",
	  tui_devices_search },
	{ KEY_F(4), 'f', "F4", "Filter", "F4 f      only the devices ready for passthrough",
	  devices_filter },
	{ KEY_F(6), 's', "F6", "Sort", "F6 s      sort by the next column", devices_sort },
	{ 27, 0, NULL, NULL, NULL, devices_clear },
};

const struct tui_screen_def tui_devices_screen = {
	.name = "Devices",
	.draw = devices_draw,
	.count = devices_count,
	.keys = devices_keys,
	.nkeys = sizeof(devices_keys) / sizeof(devices_keys[0]),
	.modal = devices_modal,
};
