/* frame: what is around every screen: the tab bar, the function-key bar (the keys of every screen,
 * then the current screen's own, in F-key order), moving the selection, and the wait for the probe.
 */
#include "config.h"
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "probe/probe.h"
#include "tui/crt.h"
#include "tui/screens.h"

double tui_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool tui_waiting(struct tui *t)
{
	if (t->report)
		return false;
	static const char spin[] = "|/-\\";
	int n = (int)((tui_now_ms() - t->probe_started_ms) / 100);
	if (t->error[0])
		crt_text(TUI_BODY_TOP, 1, ROLE_FAIL, 0, "%s", t->error);
	else
		crt_text(TUI_BODY_TOP, 1, ROLE_DEFAULT, 0,
			 "%c probing this host (the functional check runs a tiny KVM guest)...",
			 spin[n % 4]);
	return true;
}

#define TAB_WIDTH 12

void tui_draw_tabs(struct tui *t)
{
	crt_fill(0, ROLE_TAB);
	for (int s = 0; s < SCREEN_COUNT; s++)
		crt_text(0, s * TAB_WIDTH, s == (int)t->screen ? ROLE_TAB_ACTIVE : ROLE_TAB,
			 TAB_WIDTH, " %d %-8s", s + 1, tui_screens[s]->name);
	crt_text(0, SCREEN_COUNT * TAB_WIDTH + 2, ROLE_TAB, 0, "nestvisor %s", PACKAGE_VERSION);
}

int tui_tab_at(int x)
{
	int s = x / TAB_WIDTH;

	return s >= 0 && s < SCREEN_COUNT ? '1' + s : -1;
}

/* The function-key bar, F1 to F10 in order as in htop, each slot an equal share of the width (8 at
 * 80 columns): the keys of every screen and the current screen's own. */
static int fkey_slots(const struct tui *t, const struct tui_key *order[], int *width)
{
	const struct tui_screen_def *sc = tui_screens[t->screen];
	int n = 0;

	for (int i = 0; i < tui_nkeys + sc->nkeys; i++) {
		const struct tui_key *k = i < tui_nkeys ? &tui_keys[i] : &sc->keys[i - tui_nkeys];
		if (!k->fkey || n == 16)
			continue;
		int j = n++;
		for (; j > 0 && order[j - 1]->key > k->key; j--)
			order[j] = order[j - 1];
		order[j] = k;
	}
	*width = n && t->cols / n > 8 ? t->cols / n : 8;
	return n;
}

void tui_draw_fkeys(struct tui *t)
{
	const struct tui_key *order[16];
	int width, n = fkey_slots(t, order, &width);

	crt_fill(t->rows - 1, ROLE_DEFAULT);
	for (int i = 0; i < n; i++) {
		int x = i * width, fw = (int)strlen(order[i]->fkey);
		crt_text(t->rows - 1, x, ROLE_FKEY, fw, "%s", order[i]->fkey);
		crt_text(t->rows - 1, x + fw, ROLE_FKEY_LABEL, width - fw, "%-*s", width - fw,
			 order[i]->label);
	}
}

int tui_fkey_at(struct tui *t, int x)
{
	const struct tui_key *order[16];
	int width, n = fkey_slots(t, order, &width);

	return x / width < n ? order[x / width]->key : -1;
}

int tui_move(struct tui *t, int delta)
{
	int n = tui_screens[t->screen]->count(t);

	t->sel += delta;
	if (t->sel >= n)
		t->sel = n - 1;
	if (t->sel < 0)
		t->sel = 0;
	return TUI_REDRAW;
}

int tui_show(struct tui *t, enum tui_screen s)
{
	if (t->screen != s) {
		t->sel = t->scroll = 0;
		t->detail = false;
	}
	t->screen = s;
	if (tui_screens[s]->shown)
		tui_screens[s]->shown(t);
	return TUI_REDRAW;
}
