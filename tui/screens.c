/* screens: what each screen draws (Host, Devices, Help), the tab bar, the function-key bar, moving and
 * searching. Everything shown comes from the probe library's report. */
#include "config.h"
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "probe/probe.h"
#include "tui/crt.h"
#include "tui/screens.h"

static const enum crt_role status_role[] = {
	[PROBE_PASS] = ROLE_PASS, [PROBE_NOTE] = ROLE_NOTE, [PROBE_WARN] = ROLE_WARN, [PROBE_FAIL] = ROLE_FAIL,
	[PROBE_UNKNOWN] = ROLE_UNKNOWN,
};

double tui_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool waiting(struct tui *t)
{
	if (t->report)
		return false;
	static const char spin[] = "|/-\\";
	int n = (int)((tui_now_ms() - t->probe_started_ms) / 100);
	if (t->error[0])
		crt_text(TUI_BODY_TOP, 1, ROLE_FAIL, 0, "%s", t->error);
	else
		crt_text(TUI_BODY_TOP, 1, ROLE_DEFAULT, 0, "%c probing this host (the functional check runs a tiny KVM guest)...",
			 spin[n % 4]);
	return true;
}

/* ---- Host ---- */

static int host_count(struct tui *t)
{
	return t->report ? (int)t->report->nchecks : 0;
}

static void host_draw(struct tui *t)
{
	const struct probe_summary *s;
	int y = TUI_BODY_TOP, list_rows;
	char line[512];

	if (waiting(t))
		return;
	s = &t->report->summary;
	crt_text(y++, 1, s->hw_vms > 0 ? ROLE_PASS : s->hw_vms < 0 ? ROLE_UNKNOWN : ROLE_FAIL, 0,
		 "Hardware-accelerated VMs: %s: %s", s->hw_vms > 0 ? "yes" : s->hw_vms < 0 ? "unknown" : "no", s->hw_vms_how);
	crt_text(y++, 1, s->nested ? ROLE_PASS : ROLE_WARN, 0, "Nested guests:            %s: %s",
		 s->nested ? "yes" : "no", s->nested_why);
	crt_text(y++, 1, ROLE_DEFAULT, 0, "Device passthrough:       %d of %d device(s) ready   (probe: %.0f ms, %s)",
		 s->pt_ready, s->pt_candidates, t->probe_ms, t->report->source);
	y++;
	int bottom = t->rows - 1 - (t->detail ? 7 : 0);
	list_rows = bottom - y;
	if (t->sel < t->scroll)
		t->scroll = t->sel;
	if (t->sel >= t->scroll + list_rows)
		t->scroll = t->sel - list_rows + 1;
	t->list_top = y, t->list_rows = list_rows;
	for (int i = t->scroll; i < (int)t->report->nchecks && y < bottom; i++, y++) {
		const struct probe_check *c = &t->report->checks[i];
		tui_fit(line, sizeof(line), c->title, 38);
		crt_text(y, 1, i == t->sel ? ROLE_SELECTED : ROLE_DEFAULT, 40, " %s", line);
		crt_text(y, 41, status_role[c->status], 8, "%-7s", probe_status_name(c->status));
		tui_fit(line, sizeof(line), c->evidence, t->cols - 51);
		crt_text(y, 50, ROLE_DIM, 0, "%s", line);
	}
	if (t->detail && t->sel < (int)t->report->nchecks) {
		const struct probe_check *c = &t->report->checks[t->sel];
		int top = t->rows - 7;
		crt_fill(top, ROLE_HEADER);
		crt_text(top, 1, ROLE_HEADER, 0, "%s [%s]: %s", c->title, c->id, probe_status_name(c->status));
		crt_text(top + 1, 1, ROLE_DEFAULT, 0, "%.*s", t->cols - 2, c->evidence);
		if ((int)strlen(c->evidence) > t->cols - 2)
			crt_text(top + 2, 1, ROLE_DEFAULT, 0, "%s", c->evidence + t->cols - 2);
		if (c->fix[0])
			crt_text(top + 4, 1, ROLE_WARN, 0, "fix: %s", c->fix);
	}
}

/* ---- Devices ---- */

static const char *const sort_names[DEVICE_SORTS] = { "address", "name", "driver", "verdict" };
static int sort_key;

static const char *dev_field(const struct probe_pci_dev *d, int k)
{
	return k == 0 ? d->addr : k == 1 ? d->device_name : k == 2 ? d->driver : d->verdict;
}

static int dev_cmp(const void *a, const void *b)
{
	const struct probe_pci_dev *x = *(const struct probe_pci_dev *const *)a, *y = *(const struct probe_pci_dev *const *)b;
	int c = strcmp(dev_field(x, sort_key), dev_field(y, sort_key));

	return c ? c : strcmp(x->addr, y->addr);
}

static bool dev_shown(const struct tui *t, const struct probe_pci_dev *d)
{
	if (t->filter_ready && strcmp(d->verdict, "ready"))
		return false;
	if (!t->search[0])
		return true;
	return strstr(d->addr, t->search) || strstr(d->device_name, t->search) || strstr(d->vendor_name, t->search) ||
	       strstr(d->driver, t->search) || strstr(d->verdict, t->search);
}

/* The devices to show, in order (a malloc'd array of pointers). */
static int dev_list(struct tui *t, const struct probe_pci_dev ***out)
{
	const struct probe_pci_dev *devs;
	int ndevs = probe_report_devices(t->report, &devs, NULL);
	const struct probe_pci_dev **v = calloc((size_t)ndevs + 1, sizeof(*v));
	int n = 0;

	for (int i = 0; v && i < ndevs; i++)
		if (dev_shown(t, &devs[i]))
			v[n++] = &devs[i];
	sort_key = t->sort;
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

	if (waiting(t))
		return;
	n = dev_list(t, &v);
	crt_fill(y, ROLE_HEADER);
	crt_text(y++, 0, ROLE_HEADER, 0, " %-12s %-9s %-30s %-12s %-5s %-19s %s", "ADDRESS", "ID", "NAME", "DRIVER", "GROUP",
		 "VERDICT", "ALTERNATIVE");
	rows = t->rows - y - 1 - (t->detail ? 6 : 0) - (t->searching || t->search[0] ? 1 : 0);
	if (t->sel >= n)
		t->sel = n ? n - 1 : 0;
	if (t->sel < t->scroll)
		t->scroll = t->sel;
	if (t->sel >= t->scroll + rows)
		t->scroll = t->sel - rows + 1;
	t->list_top = y, t->list_rows = rows;
	for (int i = t->scroll; i < n && i < t->scroll + rows; i++, y++) {
		const struct probe_pci_dev *d = v[i];
		char group[12] = "-";
		if (d->group >= 0)
			snprintf(group, sizeof(group), "%d", d->group);
		tui_fit(name, sizeof(name), d->device_name, 30);
		tui_fit(alt, sizeof(alt), d->alternative, t->cols - 95 > 4 ? t->cols - 95 : 4);
		crt_text(y, 0, i == t->sel ? ROLE_SELECTED : ROLE_DEFAULT, 0, " %-12s %04x:%04x %s %-12.12s %-5s ", d->addr + 5,
			 d->vendor, d->device, name, d->driver[0] ? d->driver : "-", group);
		crt_text(y, 75, !strcmp(d->verdict, "ready") ? ROLE_PASS : !strcmp(d->verdict, "not-ready") ? ROLE_WARN :
			 ROLE_NOTE, 20, "%-19s", d->verdict);
		crt_text(y, 95, ROLE_DIM, 0, "%s", alt);
	}
	if (!n)
		crt_text(y, 1, ROLE_DIM, 0, "(no device matches)");
	if (t->detail && t->sel < n) {
		const struct probe_pci_dev *d = v[t->sel];
		int top = t->rows - 7 - (t->searching || t->search[0] ? 1 : 0);
		crt_fill(top, ROLE_HEADER);
		crt_text(top, 1, ROLE_HEADER, 0, "%s %s [%04x:%04x], %s", d->vendor_name, d->device_name, d->vendor, d->device,
			 d->class_name);
		crt_text(top + 1, 1, ROLE_DEFAULT, 0, "%s: %s", d->verdict, d->reason);
		char vfs[16] = "none";
		if (d->sriov_vfs >= 0)
			snprintf(vfs, sizeof(vfs), "%d", d->sriov_vfs);
		crt_text(top + 2, 1, ROLE_DEFAULT, 0, "reset %s, SR-IOV VFs %s, ACS %s, IOMMU group peers: %s",
			 d->reset[0] ? d->reset : "none", vfs, d->acs < 0 ? "unreadable" : d->acs ? "yes" : "no",
			 d->group_peers[0] ? d->group_peers : "none");
		crt_text(top + 3, 1, ROLE_DEFAULT, 0, "instead of passthrough: %s", d->alternative);
		char vd[16];
		snprintf(vd, sizeof(vd), "%04x:%04x", d->vendor, d->device);
		crt_text(top + 4, 1, ROLE_NOTE, 0, "%s", tui_device_history(vd));
	}
	if (t->searching || t->search[0])
		crt_text(t->rows - 2, 0, ROLE_WARN, 0, " search: %s%s", t->search, t->searching ? "_" : "   (/ to change)");
	crt_text(1, 1, ROLE_DIM, 0, "%d device(s), sorted by %s%s", n, sort_names[t->sort],
		 t->filter_ready ? ", only those ready for passthrough" : "");
	free(v);
}

/* ---- Help ---- */

static void help_draw(struct tui *t)
{
	int y = TUI_BODY_TOP;

	crt_text(y++, 1, ROLE_HEADER, 0, " nestvisor: keys ");
	y++;
	for (int i = 0; i < tui_nkeys && y < t->rows - 2; i++)
		if (tui_keys[i].help)
			crt_text(y++, 2, ROLE_DEFAULT, 0, "%s", tui_keys[i].help);
	y++;
	crt_text(y++, 2, ROLE_DIM, 0, "Mouse: click a tab, a function key or a row. Colors follow NO_COLOR.");
}

static int help_count(struct tui *t)
{
	(void)t;
	return 0;
}

const struct tui_screen_def tui_screens[SCREEN_COUNT] = {
	[SCREEN_HOST] = { "Host", '1', host_draw, host_count },
	[SCREEN_DEVICES] = { "Devices", '2', devices_draw, devices_count },
	[SCREEN_VMS] = { "VMs", '3', tui_vms_draw, tui_vms_count },
	[SCREEN_REPORTS] = { "Reports", '4', tui_reports_draw, tui_reports_count },
	[SCREEN_HELP] = { "Help", '5', help_draw, help_count },
};

#define TAB_WIDTH 12

void tui_draw_tabs(struct tui *t)
{
	crt_fill(0, ROLE_TAB);
	for (int s = 0; s < SCREEN_COUNT; s++)
		crt_text(0, s * TAB_WIDTH, s == (int)t->screen ? ROLE_TAB_ACTIVE : ROLE_TAB, TAB_WIDTH, " %d %-8s", s + 1,
			 tui_screens[s].name);
	crt_text(0, SCREEN_COUNT * TAB_WIDTH + 2, ROLE_TAB, 0, "nestvisor %s", PACKAGE_VERSION);
}

int tui_tab_at(int x)
{
	int s = x / TAB_WIDTH;

	return s >= 0 && s < SCREEN_COUNT ? tui_screens[s].key : -1;
}

/* The function-key bar, F1 to F10 in order as in htop, each slot an equal share of the width (8 at 80 columns). */
static int fkey_slots(const struct tui *t, int order[], int *width)
{
	int n = 0;

	for (int i = 0; i < tui_nkeys; i++)
		if (tui_keys[i].fkey && (!tui_keys[i].on || (tui_keys[i].on & ON(t->screen)))) {
			int j = n++;
			for (; j > 0 && tui_keys[order[j - 1]].key > tui_keys[i].key; j--)
				order[j] = order[j - 1];
			order[j] = i;
		}
	*width = n && t->cols / n > 8 ? t->cols / n : 8;
	return n;
}

void tui_draw_fkeys(struct tui *t)
{
	int order[32], width, n = fkey_slots(t, order, &width);

	crt_fill(t->rows - 1, ROLE_DEFAULT);
	for (int i = 0; i < n; i++) {
		const struct tui_key *k = &tui_keys[order[i]];
		int x = i * width, fw = (int)strlen(k->fkey);
		crt_text(t->rows - 1, x, ROLE_FKEY, fw, "%s", k->fkey);
		crt_text(t->rows - 1, x + fw, ROLE_FKEY_LABEL, width - fw, "%-*s", width - fw, k->label);
	}
}

int tui_fkey_at(struct tui *t, int x)
{
	int order[32], width, n = fkey_slots(t, order, &width);

	return x / width < n ? tui_keys[order[x / width]].key : -1;
}

int tui_move(struct tui *t, int delta)
{
	int n = tui_screens[t->screen].count(t);

	t->sel += delta;
	if (t->sel >= n)
		t->sel = n - 1;
	if (t->sel < 0)
		t->sel = 0;
	return TUI_REDRAW;
}

void tui_prompt(struct tui *t, enum tui_prompt_kind kind, const char *fmt, ...)
{
	va_list ap;

	t->prompt_kind = kind;
	t->input[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(t->prompt, sizeof(t->prompt), fmt, ap);
	va_end(ap);
}

int tui_prompt_key(struct tui *t, int key)
{
	size_t n = strlen(t->input);
	enum tui_prompt_kind kind = t->prompt_kind;

	if (key == 27) {
		t->prompt_kind = PROMPT_NONE;
		t->prompt[0] = '\0';
	} else if (key == '\n' || key == KEY_ENTER || (kind == PROMPT_STOP && (key == 'y' || key == 'n'))) {
		char answer[256];
		snprintf(answer, sizeof(answer), "%s", kind == PROMPT_STOP ? (key == 'y' ? "y" : "n") : t->input);
		t->prompt_kind = PROMPT_NONE;
		t->prompt[0] = '\0';
		tui_vms_prompt_done(t, kind, answer);
	} else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && n) {
		t->input[n - 1] = '\0';
	} else if (key >= 32 && key < 127 && n + 1 < sizeof(t->input)) {
		t->input[n] = (char)key, t->input[n + 1] = '\0';
	}
	return TUI_REDRAW;
}

int tui_search_key(struct tui *t, int key)
{
	size_t n = strlen(t->search);

	if (key == '\n' || key == KEY_ENTER || key == 27)
		t->searching = false;
	else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && n)
		t->search[n - 1] = '\0';
	else if (key >= 32 && key < 127 && n + 1 < sizeof(t->search))
		t->search[n] = (char)key, t->search[n + 1] = '\0';
	t->sel = t->scroll = 0;
	return TUI_REDRAW;
}
