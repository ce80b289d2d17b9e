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

static void host_draw(struct tui *t)
{
	const struct probe_summary *s;
	int y = TUI_BODY_TOP, list_rows;
	char line[512];

	if (tui_waiting(t))
		return;
	s = &t->report->summary;
	crt_text(y++, 1, s->hw_vms > 0 ? ROLE_PASS : s->hw_vms < 0 ? ROLE_UNKNOWN : ROLE_FAIL, 0,
		 "Hardware-accelerated VMs: %s: %s", s->hw_vms > 0 ? "yes" : s->hw_vms < 0 ? "unknown" : "no", s->hw_vms_how);
	crt_text(y++, 1, s->nested ? ROLE_PASS : ROLE_WARN, 0, "Nested guests:            %s: %s",
		 s->nested ? "yes" : "no", s->nested_why);
	crt_text(y++, 1, ROLE_DEFAULT, 0,
		 "Device passthrough:       %d of %d device(s) ready   (probe: %.0f ms, %s)",
		 s->pt_ready, s->pt_candidates, t->probe_ms, t->report->source);
	y++;
	int bottom = t->rows - 1 - (t->detail ? 7 : 0);
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
	if (t->detail && t->sel < (int)t->report->nchecks) {
		const struct probe_check *c = &t->report->checks[t->sel];
		int top = t->rows - 7;
		crt_fill(top, ROLE_HEADER);
		crt_text(top, 1, ROLE_HEADER, 0, "%s [%s]: %s", c->title, c->id,
			 probe_status_name(c->status));
		crt_text(top + 1, 1, ROLE_DEFAULT, 0, "%.*s", t->cols - 2, c->evidence);
		if ((int)strlen(c->evidence) > t->cols - 2)
			crt_text(top + 2, 1, ROLE_DEFAULT, 0, "%s", c->evidence + t->cols - 2);
		if (c->fix[0])
			crt_text(top + 4, 1, ROLE_WARN, 0, "fix: %s", c->fix);
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
