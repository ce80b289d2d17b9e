/* host: the Host screen: the probe's answer (hardware-accelerated VMs, nested guests, passthrough),
 * then every check with its status and evidence; Enter shows the selected check's evidence and fix.
 */
#include "config.h"
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include "probe/probe.h"
#include "tui/crt.h"
#include "tui/screens.h"

static const enum crt_role status_role[] = {
	[PROBE_PASS] = ROLE_PASS, [PROBE_NOTE] = ROLE_NOTE,       [PROBE_WARN] = ROLE_WARN,
	[PROBE_FAIL] = ROLE_FAIL, [PROBE_UNKNOWN] = ROLE_UNKNOWN,
};

static int host_count(struct tui *t)
{
	return t->report ? (int)t->report->nchecks : 0;
}

/* A summary line: its label, then its text wrapped under itself (never cut); how many lines. */
static int summary_line(struct tui *t, int y, enum crt_role role, const char *label,
			const char *text)
{
	char lines[4][TUI_LINE];
	int n = tui_wrap(text, t->cols - 28, lines, 4);

	crt_text(y, 1, role, 0, "%-26s%s", label, n ? lines[0] : "");
	for (int i = 1; i < n; i++)
		crt_text(y + i, 27, role, 0, "%s", lines[i]);
	return n ? n : 1;
}

static void host_draw(struct tui *t)
{
	const struct probe_summary *s;
	int y = TUI_BODY_TOP, list_rows;
	char line[512], text[600];

	if (tui_waiting(t))
		return;
	s = &t->report->summary;
	const char *hw = s->hw_vms > 0 ? "yes" : s->hw_vms < 0 ? "unknown" : "no";
	enum crt_role hw_role = s->hw_vms > 0 ? ROLE_PASS : s->vms > 0 ? ROLE_WARN : ROLE_FAIL;
	if (s->hw_vms < 0)
		hw_role = ROLE_UNKNOWN;
	snprintf(text, sizeof(text), "%s: %s", hw, s->hw_vms_how);
	y += summary_line(t, y, hw_role, "Hardware-accelerated VMs:", text);
	snprintf(text, sizeof(text), "%s: %s", s->nested ? "yes" : "no", s->nested_why);
	y += summary_line(t, y, s->nested ? ROLE_PASS : ROLE_WARN, "Nested guests:", text);
	snprintf(text, sizeof(text), "%s   (probe: %.0f ms, %s)", s->passthrough, t->probe_ms,
		 t->report->source);
	y += summary_line(t, y, ROLE_DEFAULT, "Device passthrough:", text);
	y++;
	char detail[16][TUI_LINE];
	int ndetail = 0;
	if (t->detail && t->sel < (int)t->report->nchecks) {
		const struct probe_check *c = &t->report->checks[t->sel];
		snprintf(text, sizeof(text), "%s [%s]: %s", c->title, c->id,
			 probe_status_name(c->status));
		ndetail = tui_wrap(text, t->cols - 2, detail, 2);
		ndetail += tui_wrap(c->evidence, t->cols - 2, detail + ndetail, 8);
		if (c->fix[0]) {
			snprintf(text, sizeof(text), "fix: %s", c->fix);
			ndetail += tui_wrap(text, t->cols - 2, detail + ndetail, 16 - ndetail);
		}
	}
	int bottom = t->bottom - ndetail;
	list_rows = bottom - y;
	if (t->sel < t->scroll)
		t->scroll = t->sel;
	if (t->sel >= t->scroll + list_rows)
		t->scroll = t->sel - list_rows + 1;
	t->list_top = y;
	t->list_rows = list_rows;
	for (int i = t->scroll; i < (int)t->report->nchecks && y < bottom; i++, y++) {
		const struct probe_check *c = &t->report->checks[i];
		tui_fit(line, sizeof(line), c->title, 38);
		crt_text(y, 1, i == t->sel ? ROLE_SELECTED : ROLE_DEFAULT, 40, " %s", line);
		crt_text(y, 41, status_role[c->status], 8, "%-7s", probe_status_name(c->status));
		tui_fit(line, sizeof(line), c->evidence, t->cols - 51);
		crt_text(y, 50, ROLE_DIM, 0, "%s", line);
	}
	if (ndetail) {
		crt_fill(bottom, ROLE_HEADER);
		for (int k = 0; k < ndetail; k++)
			crt_text(bottom + k, 1,
				 k == 0                                  ? ROLE_HEADER :
					 !strncmp(detail[k], "fix: ", 5) ? ROLE_WARN :
									   ROLE_DEFAULT,
				 0, "%s", detail[k]);
	}
}

static int host_detail(struct tui *t)
{
	t->detail = !t->detail;
	return TUI_REDRAW;
}

static const struct tui_key host_keys[] = {
	{ '\n', KEY_ENTER, NULL, NULL, "Enter     the selected check's evidence and fix",
	  host_detail },
	{ KEY_F(3), '/', "F3", "Search", "F3 /      search the devices (on the Devices screen)",
	  tui_devices_search },
};

const struct tui_screen_def tui_host_screen = {
	.name = "Host", .draw = host_draw, .count = host_count,
	.keys = host_keys, .nkeys = sizeof(host_keys) / sizeof(host_keys[0]),
};
