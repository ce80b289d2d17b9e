/* crt: every curses call lives here (htop's CRT): colors by role with a monochrome fallback,
 * NO_COLOR, keys and mouse, and the terminal restored on every way out, a fatal signal included. */
#include "config.h"
#include <curses.h>
#include <sys/ioctl.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include "common/text.h"
#include "tui/crt.h"

static int role_attr[ROLE_COUNT];
static bool active;

/* {role, foreground, background, monochrome attribute} */
static const struct { enum crt_role role; short fg, bg; int mono;
} roles[] = {
	{ ROLE_DEFAULT, -1, -1, A_NORMAL },
	{ ROLE_HEADER, COLOR_BLACK, COLOR_CYAN, A_REVERSE },
	{ ROLE_TAB, COLOR_WHITE, COLOR_BLUE, A_NORMAL },
	{ ROLE_TAB_ACTIVE, COLOR_BLACK, COLOR_GREEN, A_REVERSE },
	{ ROLE_SELECTED, COLOR_BLACK, COLOR_CYAN, A_REVERSE },
	{ ROLE_PASS, COLOR_GREEN, -1, A_NORMAL },
	{ ROLE_NOTE, COLOR_CYAN, -1, A_NORMAL },
	{ ROLE_WARN, COLOR_YELLOW, -1, A_BOLD },
	{ ROLE_FAIL, COLOR_RED, -1, A_BOLD | A_UNDERLINE },
	{ ROLE_UNKNOWN, COLOR_MAGENTA, -1, A_DIM },
	{ ROLE_FKEY, COLOR_WHITE, -1, A_BOLD },
	{ ROLE_FKEY_LABEL, COLOR_BLACK, COLOR_CYAN, A_REVERSE },
	{ ROLE_DIM, -1, -1, A_DIM },
};

static void restore(void)
{
	if (active) {
		active = false;
		endwin();
	}
}

/* A fatal signal still leaves a usable terminal, then dies as it would have. */
static void on_fatal(int sig)
{
	restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int crt_init(void)
{
	bool color;

	setlocale(LC_ALL, "");
	if (!isatty(STDOUT_FILENO) || !initscr())
		return -1;
	active = true;
	atexit(restore);
	for (int s = 0, sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGSEGV, SIGABRT, SIGBUS, SIGFPE };
	     s < 7; s++)
		signal(sigs[s], on_fatal);
	/* a VM or server gone mid-write is an error to show, not a reason to die */
	signal(SIGPIPE, SIG_IGN);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	const char *no_color = getenv("NO_COLOR");	/* set and not empty: no-color.org */
	color = has_colors() && !(no_color && *no_color);
	if (color) {
		start_color();
		use_default_colors();
	}
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		if (color) {
			init_pair((short)(i + 1), roles[i].fg, roles[i].bg);
			bool bold = roles[i].role == ROLE_WARN || roles[i].role == ROLE_FAIL;
			role_attr[roles[i].role] = COLOR_PAIR(i + 1) | (bold ? A_BOLD : 0);
		} else {
			role_attr[roles[i].role] = roles[i].mono;
		}
	}
	return 0;
}

/* Raw while a VM's console is attached: Ctrl-C, Ctrl-Z and Ctrl-\\ go to the guest, not to us. */
void crt_raw(bool on)
{
	if (on)
		raw();
	else {
		noraw();
		cbreak();
	}
}

void crt_done(void)
{
	restore();
}

/* The terminal's size as it is now: a resize that came before curses could hear of it (while the
 * TUI starts) is caught here, not only through SIGWINCH. */
void crt_size(int *rows, int *cols)
{
	struct winsize ws;

	getmaxyx(stdscr, *rows, *cols);
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col &&
	    (ws.ws_row != *rows || ws.ws_col != *cols)) {
		resizeterm(ws.ws_row, ws.ws_col);
		getmaxyx(stdscr, *rows, *cols);
	}
}

bool crt_too_small(void)
{
	int r, c;

	crt_size(&r, &c);
	return r < CRT_MIN_ROWS || c < CRT_MIN_COLS;
}

void crt_text(int y, int x, enum crt_role role, int width, const char *fmt, ...)
{
	char buf[1024];
	int rows, cols;
	va_list ap;

	crt_size(&rows, &cols);
	if (y < 0 || y >= rows || x >= cols)
		return;
	if (width <= 0 || x + width > cols)
		width = cols - x;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	text_clean(
		buf); /* names from recordings, files and sockets: no escape reaches the terminal */
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	attron(role_attr[role]);
	/* width counts columns, not bytes: UTF-8 text (names from pci.ids, the sparkline) is never
	 * cut mid-character */
	wchar_t w[1024];
	size_t n = mbstowcs(w, buf, sizeof(w) / sizeof(w[0]) - 1);
	if (n == (size_t)-1)
		mvaddnstr(y, x, buf, width);
	else {
		w[n] = L'\0';
		mvaddnwstr(y, x, w, width);
	}
	attroff(role_attr[role]);
}

void crt_fill(int y, enum crt_role role)
{
	int rows, cols;

	crt_size(&rows, &cols);
	attron(role_attr[role]);
	mvhline(y, 0, ' ', cols);
	attroff(role_attr[role]);
}

void crt_clear(void)
{
	erase();
}

void crt_refresh(void)
{
	refresh();
}

int crt_key(int timeout_ms, int *my, int *mx)
{
	MEVENT ev;
	int k;

	timeout(timeout_ms);
	k = getch();
	if (k == KEY_MOUSE && getmouse(&ev) == OK) {
		if (ev.bstate &
		    BUTTON4_PRESSED) /* the wheel moves the selection, as the arrows do */
			return KEY_UP;
		if (ev.bstate & BUTTON5_PRESSED)
			return KEY_DOWN;
		*my = ev.y;
		*mx = ev.x;
	}
	return k == ERR ? -1 : k;
}
