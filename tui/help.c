/* help: the Help screen, built from the key tables: the keys of every screen, then each screen's
 * own; Up and Down scroll it where the terminal is short. */
#include "config.h"
#include <stdio.h>
#include "tui/crt.h"
#include "tui/screens.h"

#define HELP_LINES 96

struct help_line { const char *text; enum crt_role role; };

static int help_lines(struct help_line *out)
{
	int n = 0;

	out[n++] = (struct help_line){ "Every screen", ROLE_HEADER };
	for (int i = 0; i < tui_nkeys && n < HELP_LINES; i++)
		if (tui_keys[i].help)
			out[n++] = (struct help_line){ tui_keys[i].help, ROLE_DEFAULT };
	for (int s = 0; s < SCREEN_COUNT && n < HELP_LINES - 1; s++) {
		const struct tui_screen_def *sc = tui_screens[s];
		if (!sc->nkeys)
			continue;
		out[n++] = (struct help_line){ sc->name, ROLE_HEADER };
		for (int i = 0; i < sc->nkeys && n < HELP_LINES; i++)
			if (sc->keys[i].help)
				out[n++] = (struct help_line){ sc->keys[i].help, ROLE_DEFAULT };
	}
	if (n < HELP_LINES)
		out[n++] = (struct help_line){ "Mouse: click a tab, a function key or a row. "
					       "Colors follow NO_COLOR.",
					       ROLE_DIM };
	return n;
}

/* The help as screen lines: each key's line wrapped (continued under its text), never cut. */
#define SCREEN_LINES (HELP_LINES * 3)
static int help_rows(const struct tui *t, char out[][TUI_LINE], enum crt_role *roles)
{
	struct help_line l[HELP_LINES];
	int n = help_lines(l), rows = 0;

	for (int i = 0; i < n && rows < SCREEN_LINES; i++) {
		char wrapped[3][TUI_LINE];
		bool head = l[i].role == ROLE_HEADER;
		int k = tui_wrap(l[i].text, t->cols - (head ? 4 : 14), wrapped, 3);
		for (int j = 0; j < k && rows < SCREEN_LINES; j++) {
			snprintf(out[rows], TUI_LINE, head ? " %s " : j ? "          %s" : "%s", wrapped[j]);
			roles[rows++] = l[i].role;
		}
	}
	return rows;
}

static int help_count(struct tui *t)
{
	static char lines[SCREEN_LINES][TUI_LINE];
	enum crt_role roles[SCREEN_LINES];
	int n = help_rows(t, lines, roles), shown = t->bottom - TUI_BODY_TOP;

	return n > shown ? n - shown + 1 : 1;	/* the selection is the first line shown */
}

static void help_draw(struct tui *t)
{
	static char lines[SCREEN_LINES][TUI_LINE];
	enum crt_role roles[SCREEN_LINES];
	int n = help_rows(t, lines, roles), y = TUI_BODY_TOP;

	for (int i = t->sel; i < n && y < t->bottom; i++, y++)
		crt_text(y, roles[i] == ROLE_HEADER ? 1 : 2, roles[i], 0, "%s", lines[i]);
	if (t->sel + (y - TUI_BODY_TOP) < n)
		crt_text(1, 1, ROLE_DIM, 0, "Down: more keys");
}

const struct tui_screen_def tui_help_screen = { .name = "Help",
						.draw = help_draw,
						.count = help_count };
