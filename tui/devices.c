/* devices: the Devices screen: every PCI device with its driver, IOMMU group and passthrough
 * verdict, sorted, filtered and searched; Enter shows one device's details and what the
 * compatibility database knows of it; p passes a ready one to a new VM, b binds it to vfio-pci. */
#include "config.h"
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/text.h"
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

/* The list's columns, dropped and narrowed by priority on a narrow terminal: the address and the
 * verdict always show whole, the name and the alternative next; the group goes first. */
enum { COL_ADDR, COL_ID, COL_NAME, COL_DRIVER, COL_GROUP, COL_VERDICT, COL_ALT, NCOLS };
static const struct tui_col columns[NCOLS] = {
	[COL_ADDR] = { "ADDRESS", 7, 7, 0 },	   [COL_ID] = { "ID", 9, 9, 3 },
	[COL_NAME] = { "NAME", 14, 40, 1 },	   [COL_DRIVER] = { "DRIVER", 8, 14, 4 },
	[COL_GROUP] = { "GROUP", 5, 5, 5 },	   [COL_VERDICT] = { "VERDICT", 19, 19, 0 },
	[COL_ALT] = { "ALTERNATIVE", 14, 60, 2 },
};

static enum crt_role verdict_role(const char *v)
{
	if (!strcmp(v, "ready"))
		return ROLE_PASS;
	return strcmp(v, "not-ready") ? ROLE_NOTE : ROLE_WARN;
}

/* One row's cells (or the header's, when d is NULL) at the widths laid out. */
static void draw_row(int y, const int *w, const struct probe_pci_dev *d, bool selected)
{
	char cell[NCOLS][256], fitted[256];
	int x = 1;

	if (!d) {
		for (int c = 0; c < NCOLS; c++)
			snprintf(cell[c], sizeof(cell[c]), "%s", columns[c].head);
	} else {
		snprintf(cell[COL_ADDR], sizeof(cell[0]), "%s", d->addr + 5);
		snprintf(cell[COL_ID], sizeof(cell[0]), "%04x:%04x", d->vendor, d->device);
		snprintf(cell[COL_NAME], sizeof(cell[0]), "%s", d->device_name);
		snprintf(cell[COL_DRIVER], sizeof(cell[0]), "%s", d->driver[0] ? d->driver : "-");
		snprintf(cell[COL_GROUP], sizeof(cell[0]), "-");
		if (d->group >= 0)
			snprintf(cell[COL_GROUP], sizeof(cell[0]), "%d", d->group);
		snprintf(cell[COL_VERDICT], sizeof(cell[0]), "%s", d->verdict);
		snprintf(cell[COL_ALT], sizeof(cell[0]), "%s", d->alternative);
	}
	for (int c = 0; c < NCOLS; c++) {
		if (!w[c])
			continue;
		enum crt_role role = !d ? ROLE_HEADER : selected ? ROLE_SELECTED : ROLE_DEFAULT;
		if (d && !selected && c == COL_VERDICT)
			role = verdict_role(d->verdict);
		else if (d && !selected && c == COL_ALT)
			role = ROLE_DIM;
		tui_fit(fitted, sizeof(fitted), cell[c], w[c]);
		crt_text(y, x, role, w[c] + 1, "%s ", fitted);
		x += w[c] + 1;
	}
}

#define DETAIL_MAX 16

/* The selected device's details, each paragraph wrapped (the first line is the heading): how many
 * lines, at most max. */
static int detail_lines(const struct probe_pci_dev *d, int width, int max,
			char lines[DETAIL_MAX][TUI_LINE], enum crt_role *roles)
{
	char para[5][600], vfs[16] = "none", vd[16];
	int n = 0;

	if (d->sriov_vfs >= 0)
		snprintf(vfs, sizeof(vfs), "%d", d->sriov_vfs);
	snprintf(vd, sizeof(vd), "%04x:%04x", d->vendor, d->device);
	snprintf(para[0], sizeof(para[0]), "%s %s [%s], %s", d->vendor_name, d->device_name, vd,
		 d->class_name);
	snprintf(para[1], sizeof(para[1]), "%s: %s", d->verdict, d->reason);
	snprintf(para[2], sizeof(para[2]), "reset %s, SR-IOV VFs %s, ACS %s, IOMMU group peers: %s",
		 d->reset[0] ? d->reset : "none", vfs, probe_pci_acs_name(d),
		 d->group_peers[0] ? d->group_peers : "none");
	snprintf(para[3], sizeof(para[3]), "instead of passthrough: %s", d->alternative);
	snprintf(para[4], sizeof(para[4]), "%s", tui_device_history(vd));
	max = max > DETAIL_MAX ? DETAIL_MAX : max;
	for (int p = 0; p < 5 && n < max; p++) {
		int k = tui_wrap(para[p], width, lines + n, max - n);
		for (int i = 0; i < k; i++)
			roles[n + i] = p == 4 ? ROLE_NOTE : ROLE_DEFAULT;
		n += k;
	}
	return n;
}

static void devices_draw(struct tui *t)
{
	const struct probe_pci_dev **v;
	int y = TUI_BODY_TOP, n, rows, w[NCOLS];

	if (tui_waiting(t))
		return;
	n = dev_list(t, &v);
	if (t->sel >= n)
		t->sel = n ? n - 1 : 0;
	tui_columns(columns, NCOLS, t->cols - 1, w);
	crt_fill(y, ROLE_HEADER);
	draw_row(y++, w, NULL, false);
	char detail[DETAIL_MAX][TUI_LINE];
	enum crt_role detail_role[DETAIL_MAX];
	int ndetail = t->detail && t->sel < n ?
		detail_lines(v[t->sel], t->cols - 2, t->rows / 2, detail, detail_role) : 0;
	rows = t->bottom - y - ndetail - (st.typing || st.search[0] ? 1 : 0);
	if (t->sel < t->scroll)
		t->scroll = t->sel;
	if (t->sel >= t->scroll + rows)
		t->scroll = t->sel - rows + 1;
	t->list_top = y;
	t->list_rows = rows;
	for (int i = t->scroll; i < n && i < t->scroll + rows; i++, y++) {
		if (i == t->sel)
			crt_fill(y, ROLE_SELECTED);
		draw_row(y, w, v[i], i == t->sel);
	}
	if (!n)
		crt_text(y, 1, ROLE_DIM, 0, "(no device matches)");
	if (t->detail && t->sel < n) {
		int top = t->bottom - (st.typing || st.search[0] ? 1 : 0) - ndetail;
		crt_fill(top, ROLE_HEADER);
		for (int k = 0; k < ndetail; k++)
			crt_text(top + k, 1, k == 0 ? ROLE_HEADER : detail_role[k], 0, "%s",
				 detail[k]);
	}
	if (st.typing || st.search[0]) {
		t->own_bottom = true;
		crt_text(t->rows - 2, 0, ROLE_WARN, 0, " search: %s%s", st.search,
			 st.typing ? "_" : "   (/ to change, Esc clears)");
	}
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

/* The selected device (in the report, which outlives the list), or NULL. */
static const struct probe_pci_dev *selected(struct tui *t)
{
	const struct probe_pci_dev **v, *d = NULL;
	int n;

	if (!t->report)
		return NULL;
	n = dev_list(t, &v);
	if (v && t->sel >= 0 && t->sel < n)
		d = v[t->sel];
	free(v);
	return d;
}

/* p: a new VM with the selected device passed through: the launch form, its Devices field filled,
 * when the probe calls the device ready; the probe's reason when not. */
static int devices_pass(struct tui *t)
{
	const struct probe_pci_dev *d = selected(t);

	if (!d)
		return TUI_REDRAW;
	if (strcmp(d->verdict, "ready")) {
		snprintf(t->message, sizeof(t->message), "%s cannot be passed through: %.260s",
			 d->slot, d->reason);
		return TUI_REDRAW;
	}
	snprintf(t->launch.devices, sizeof(t->launch.devices), "%s", d->slot);
	tui_show(t, SCREEN_VMS);
	tui_vms_launch(t);
	snprintf(t->message, sizeof(t->message), "%s is in the Devices field: F7 launches",
		 d->slot);
	return TUI_REDRAW;
}

/* b: `nestvisor device bind` (or release, for a device on vfio-pci) as a process of its own, its
 * last line the message; the probe runs again to show the device's new driver. */
static int devices_bind(struct tui *t)
{
	const struct probe_pci_dev *d = selected(t);
	char out[512] = "", addr[16], *line;
	int fds[2];
	pid_t pid;

	if (!d)
		return TUI_REDRAW;
	if (!strcmp(t->report->source, "replay")) {
		snprintf(t->message, sizeof(t->message), "this is a recording (--replay): b binds "
			 "devices of the live host only");
		return TUI_REDRAW;
	}
	snprintf(addr, sizeof(addr), "%s", d->addr);
	const char *how = strcmp(d->driver, "vfio-pci") ? "bind" : "release";
	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		snprintf(t->message, sizeof(t->message), "device %s: %s", how, strerror(errno));
		return TUI_REDRAW;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execl("/proc/self/exe", "nestvisor", "device", how, addr, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	size_t n = 0;
	char chunk[256];
	ssize_t r;
	while ((r = read(fds[0], chunk, sizeof(chunk))) > 0) {	/* to its end: the tail kept */
		if (n + (size_t)r >= sizeof(out)) {
			size_t drop = n + (size_t)r - (sizeof(out) - 1);
			drop = drop > n ? n : drop;
			memmove(out, out + drop, n - drop);
			n -= drop;
		}
		size_t take = (size_t)r < sizeof(out) - 1 - n ? (size_t)r : sizeof(out) - 1 - n;
		memcpy(out + n, chunk + ((size_t)r - take), take);
		n += take;
	}
	out[n] = '\0';
	close(fds[0]);
	waitpid(pid, NULL, 0);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	line = strrchr(out, '\n');
	snprintf(t->message, sizeof(t->message), "%.300s", line ? line + 1 : out);
	text_clean(t->message);
	tui_probe_rerun(t);
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
	{ 'p', 0, NULL, NULL, "p         a new VM with the selected device passed through (ready ones)",
	  devices_pass },
	{ 'b', 0, NULL, NULL,
	  "b         hand the selected device to vfio-pci for passthrough, or back to its host driver",
	  devices_bind },
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
