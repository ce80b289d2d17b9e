/* term: the console view's small terminal, free of curses (unit-tested and fuzzed: its bytes come
 * from the guest). Lines, carriage return, backspace, tabs; escape sequences are dropped, not
 * shown; a line longer than TERM_COLS wraps; the last TERM_LINES lines are kept. */
#include "config.h"
#include <string.h>
#include "tui/screens.h"

#define TERM_LINES 1000
#define TERM_COLS 240

static struct {
	char line[TERM_LINES][TERM_COLS + 1];
	int last, count, col;	/* last: the line being written; count: lines kept */
	int esc;		/* 0 text, 1 after ESC, 2 inside a CSI sequence */
} term = { .count = 1 };

void tui_term_reset(void)
{
	memset(&term, 0, sizeof(term));
	term.count = 1;
}

int tui_term_lines(void)
{
	return term.count;
}

const char *tui_term_line(int back)
{
	return back >= 0 && back < term.count ?
		term.line[((term.last - back) % TERM_LINES + TERM_LINES) % TERM_LINES] :
		NULL;
}

static void new_line(void)
{
	term.last = (term.last + 1) % TERM_LINES;
	term.line[term.last][0] = '\0';
	if (term.count < TERM_LINES)
		term.count++;
	term.col = 0;
}

void tui_term_feed(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		char *l = term.line[term.last];
		int len = (int)strlen(l);

		if (term.esc == 1) {
			term.esc = c == '[' ? 2 : 0;
			continue;
		}
		if (term.esc == 2) {
			if (c >= 0x40 && c <= 0x7e)
				term.esc = 0;
			continue;
		}
		if (c == 27)
			term.esc = 1;
		else if (c == '\n')
			new_line();
		else if (c == '\r')
			term.col = 0;
		else if (c == '\b')
			term.col -= term.col > 0;
		else if (c == '\t')
			term.col = (term.col + 8) & ~7;
		else if (c >= 32 && c != 127) {
			if (term.col >= TERM_COLS) {
				new_line();
				l = term.line[term.last];
				len = 0;
			}
			while (len < term.col)
				l[len++] = ' ';
			l[term.col++] = (char)c;
			if (term.col > len)
				l[term.col] = '\0';
		}
	}
}
