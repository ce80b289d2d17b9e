/* console: a VM's serial console inside the TUI. Output comes from the VMM's console history
 * through the control socket (so what the guest printed before anyone attached is there too); keys
 * go back the same way, the terminal raw meanwhile (Ctrl-C is the guest's). Ctrl-] detaches (as
 * virsh console); a function key or a click on a tab detaches and does its usual job. The terminal
 * that draws the bytes is term.c. */
#include "config.h"
#include <curses.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tui/crt.h"
#include "tui/screens.h"
#include "vmm/control.h"

#define DETACH 0x1d	/* Ctrl-] */

static struct {
	bool attached, ended;
	char name[64], path[128], why[160];
	uint64_t next, lost;
	double polled_ms;
} con;

bool tui_console_attached(void)
{
	return con.attached;
}

/* What the guest printed since the last poll (a few chunks at most per screen refresh). */
static void poll_output(void)
{
	char buf[4096];
	long n = 1;

	for (int chunk = 0; chunk < 16 && n > 0 && !con.ended; chunk++) {
		n = vmm_control_console_read(con.path, &con.next, &con.lost, buf, sizeof(buf));
		if (n >= 0) {
			tui_term_feed(buf, (size_t)n);
		} else {
			con.ended = true;
			snprintf(con.why, sizeof(con.why), "%s", n == -ENOTSUP ? "this VM's nestvisor does not serve its console; use its pty" : n == -ENOENT || n == -ECONNREFUSED ? "the VM has ended" : strerror((int)-n));
		}
	}
}

int tui_console_attach(struct tui *t, const char *name)
{
	memset(&con, 0, sizeof(con));
	tui_term_reset();
	if (vmm_control_path(name, con.path, sizeof(con.path)) < 0) {
		snprintf(t->message, sizeof(t->message), "%s: no control socket for this name",
			 name);
		return TUI_REDRAW;
	}
	snprintf(con.name, sizeof(con.name), "%s", name);
	con.attached = true;
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

/* Keys for the guest: text and control characters as they are, Enter as CR, arrows as VT100
 * sequences. */
int tui_console_key(struct tui *t, int key)
{
	char data[8] = "";

	if (key == DETACH) {
		tui_console_detach();
		snprintf(t->message, sizeof(t->message),
			 "detached from %s's console (Enter attaches again)", con.name);
		return TUI_REDRAW;
	}
	if (key >= KEY_F0 && key <= KEY_F(63)) { /* a function key: detach, then do what it does */
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
	vmm_control_console_write(con.path, data, strlen(data));
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
	crt_text(top, 0, ROLE_HEADER, 0, " console of %s: keys go to the guest; Ctrl-] detaches",
		 con.name);
	int shown = bottom - top - 1, kept = tui_term_lines(), first = kept < shown ? kept : shown;
	y = top + 1;	/* from the top, as a terminal fills; the newest line last */
	for (int i = first - 1; i >= 0; i--, y++)
		crt_text(y, 0, ROLE_DEFAULT, 0, "%s", tui_term_line(i));
	if (con.ended)
		crt_text(bottom, 0, ROLE_WARN, 0, " %s: Ctrl-] returns to the list", con.why);
	else if (con.lost)
		crt_text(bottom, 0, ROLE_DIM, 0, " (%llu earlier bytes were no longer kept)",
			 (unsigned long long)con.lost);
}
