/* console: a VM's serial console inside the TUI. Output comes from the VMM's console history through the
 * control socket (so what the guest printed before anyone attached is there too); keys go back the same way,
 * the terminal raw meanwhile (Ctrl-C is the guest's). Ctrl-] detaches (as virsh console); a function key or a
 * click on a tab detaches and does its usual job. */
#include "config.h"
#include <curses.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tui/crt.h"
#include "tui/screens.h"
#include "vmm/control.h"

#define CON_LINES 1000
#define CON_COLS 240
#define DETACH 0x1d	/* Ctrl-] */

static struct {
	bool attached, ended;
	char name[64], path[128], why[160];
	uint64_t next, lost;
	char line[CON_LINES][CON_COLS + 1];
	int last, count, col;	/* last: the line being written; count: lines kept */
	int esc;		/* 0 text, 1 after ESC, 2 inside a CSI sequence */
	double polled_ms;
} con;

bool tui_console_attached(void)
{
	return con.attached;
}

static void new_line(void)
{
	con.last = (con.last + 1) % CON_LINES;
	con.line[con.last][0] = '\0';
	if (con.count < CON_LINES)
		con.count++;
	con.col = 0;
}

/* A small terminal: lines, carriage return, backspace, tabs; escape sequences are dropped, not shown. */
void tui_console_feed(const char *buf, size_t n)
{
	if (!con.count)
		con.count = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		char *l = con.line[con.last];
		int len = (int)strlen(l);

		if (con.esc == 1) {
			con.esc = c == '[' ? 2 : 0;
			continue;
		}
		if (con.esc == 2) {
			if (c >= 0x40 && c <= 0x7e)
				con.esc = 0;
			continue;
		}
		if (c == 27)
			con.esc = 1;
		else if (c == '\n')
			new_line();
		else if (c == '\r')
			con.col = 0;
		else if (c == '\b')
			con.col -= con.col > 0;
		else if (c == '\t')
			con.col = (con.col + 8) & ~7;
		else if (c >= 32 && c != 127) {
			if (con.col >= CON_COLS)
				new_line(), l = con.line[con.last], len = 0;
			while (len < con.col)
				l[len++] = ' ';
			l[con.col++] = (char)c;
			if (con.col > len)
				l[con.col] = '\0';
		}
	}
}

/* What the guest printed since the last poll (a few chunks at most per screen refresh). */
static void poll_output(void)
{
	char req[96];

	if (con.ended)
		return;
	for (int chunk = 0; chunk < 16; chunk++) {
		snprintf(req, sizeof(req), "{\"cmd\":\"console\",\"from\":%llu}", (unsigned long long)con.next);
		char *reply = vmm_control_call(con.path, req, 1000);
		json_object *o = reply ? json_tokener_parse(reply) : NULL, *d;
		free(reply);
		if (!o) {
			con.ended = true;
			snprintf(con.why, sizeof(con.why), "the VM has ended%s%s%s", errno == ENOENT || errno == ECONNREFUSED ? "" :
				 " (", errno == ENOENT || errno == ECONNREFUSED ? "" : strerror(errno),
				 errno == ENOENT || errno == ECONNREFUSED ? "" : ")");
			return;
		}
		if (!json_object_object_get_ex(o, "data", &d)) {	/* an older nestvisor run */
			con.ended = true;
			snprintf(con.why, sizeof(con.why), "this VM's nestvisor does not serve its console; use its pty");
			json_object_put(o);
			return;
		}
		size_t n = (size_t)json_object_get_string_len(d);
		tui_console_feed(json_object_get_string(d), n);
		con.lost += (uint64_t)vmm_control_int(o, "lost");
		con.next = (uint64_t)vmm_control_int(o, "next");
		json_object_put(o);
		if (n == 0)
			break;
	}
}

const char *tui_console_line(int back)
{
	return back < con.count ? con.line[((con.last - back) % CON_LINES + CON_LINES) % CON_LINES] : NULL;
}

int tui_console_attach(struct tui *t, const char *name)
{
	memset(&con, 0, sizeof(con));
	if (vmm_control_path(name, con.path, sizeof(con.path)) < 0) {
		snprintf(t->message, sizeof(t->message), "%s: no control socket for this name", name);
		return TUI_REDRAW;
	}
	snprintf(con.name, sizeof(con.name), "%s", name);
	con.attached = true;
	con.count = 1;
	crt_raw(true);
	poll_output();
	return TUI_REDRAW;
}

void tui_console_detach(void)
{
	if (con.attached)
		crt_raw(false);
	con.attached = false;
}

/* Keys for the guest: text and control characters as they are, Enter as CR, arrows as VT100 sequences. */
int tui_console_key(struct tui *t, int key)
{
	char req[96], data[8] = "";

	if (key == DETACH) {
		tui_console_detach();
		snprintf(t->message, sizeof(t->message), "detached from %s's console (Enter attaches again)", con.name);
		return TUI_REDRAW;
	}
	if (key >= KEY_F0 && key <= KEY_F(63)) {	/* a function key: detach, then do what it does */
		tui_console_detach();
		return 0;
	}
	if (key == '\n' || key == KEY_ENTER)
		data[0] = '\r';
	else if (key == KEY_BACKSPACE)
		data[0] = 127;
	else if (key == KEY_UP || key == KEY_DOWN || key == KEY_RIGHT || key == KEY_LEFT)
		snprintf(data, sizeof(data), "\033[%c", key == KEY_UP ? 'A' : key == KEY_DOWN ? 'B' : key == KEY_RIGHT ? 'C' : 'D');
	else if (key > 0 && key < 256)
		data[0] = (char)key;
	if (!data[0] || con.ended)
		return TUI_REDRAW;
	json_object *d = json_object_new_string(data);	/* json-c escapes it */
	snprintf(req, sizeof(req), "{\"cmd\":\"input\",\"data\":%s}", json_object_to_json_string(d));
	json_object_put(d);
	free(vmm_control_call(con.path, req, 1000));
	con.polled_ms = 0;	/* the echo shows at once */
	return TUI_REDRAW;
}

void tui_console_draw(struct tui *t)
{
	int top = TUI_BODY_TOP, bottom = t->rows - 2, y;

	if (tui_now_ms() - con.polled_ms >= 40) {
		poll_output();
		con.polled_ms = tui_now_ms();
	}
	crt_fill(top, ROLE_HEADER);
	crt_text(top, 0, ROLE_HEADER, 0, " console of %s: keys go to the guest; Ctrl-] detaches", con.name);
	int shown = bottom - top - 1, first = con.count < shown ? con.count : shown;
	y = top + 1;	/* from the top, as a terminal fills; the newest line last */
	for (int i = first - 1; i >= 0; i--, y++)
		crt_text(y, 0, ROLE_DEFAULT, 0, "%s", tui_console_line(i));
	if (con.ended)
		crt_text(bottom, 0, ROLE_WARN, 0, " %s: Ctrl-] returns to the list", con.why);
	else if (con.lost)
		crt_text(bottom, 0, ROLE_DIM, 0, " (%llu earlier bytes were no longer kept)", (unsigned long long)con.lost);
}
