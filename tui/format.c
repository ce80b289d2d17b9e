/* format: the TUI's text fitting and number formatting (no curses here, so it is unit-tested). */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "tui/screens.h"

void tui_fit(char *out, size_t len, const char *s, int width)
{
	size_t n = strlen(s);

	if (width <= 0 || len == 0) {
		if (len)
			out[0] = '\0';
		return;
	}
	if ((size_t)width >= len)
		width = (int)len - 1;
	if (n <= (size_t)width) {
		snprintf(out, len, "%-*s", width, s);
		return;
	}
	if (width <= 2) {
		snprintf(out, len, "%.*s", width, "..");
		return;
	}
	snprintf(out, len, "%.*s..", width - 2, s);
}

void tui_count(char *out, size_t len, unsigned long long v)
{
	static const char units[] = "kMGTP";

	if (v < 10000) {
		snprintf(out, len, "%llu", v);
		return;
	}
	double d = (double)v;
	int u = -1;
	while (d >= 1000 && u < 4) {
		d /= 1000;
		u++;
	}
	snprintf(out, len, d < 10 ? "%.1f%c" : "%.0f%c", d, units[u]);
}

/* One character per sample, scaled to the largest: Unicode blocks in a UTF-8 locale, else ASCII
 * levels. */
void tui_sparkline(char *out, size_t len, const double *v, int n, bool utf8)
{
	static const char *const blocks[] = { " ",      "\u2581", "\u2582", "\u2583", "\u2584",
					      "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = " _.-=+*%#";
	double max = 0;
	size_t used = 0;

	for (int i = 0; i < n; i++)
		max = v[i] > max ? v[i] : max;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int level = max > 0 && v[i] > 0 ? 1 + (int)(v[i] / max * 7.999) :
						  0; /* any exits at all show */
		const char *c = utf8 ? blocks[level] : (char[2]){ ascii[level], '\0' };
		size_t cl = strlen(c);
		if (used + cl + 1 > len)
			break;
		memcpy(out + used, c, cl + 1);
		used += cl;
	}
}

int tui_wrap(const char *s, int width, char lines[][TUI_LINE], int max)
{
	int n = 0;

	if (width < 1 || max < 1)
		return 0;
	if (width >= TUI_LINE)
		width = TUI_LINE - 1;
	while (*s && n < max) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		int len = (int)strlen(s), cut = len <= width ? len : -1;
		if (cut < 0) { /* the last space that lets the line fit; a word longer than a line
				  is cut */
			for (int i = width; i > 0 && cut < 0; i--)
				if (s[i] == ' ')
					cut = i;
			if (cut < 0)
				cut = width;
		}
		if (n == max - 1 && len > cut && cut >= 2) { /* the last line, and more: say so */
			snprintf(lines[n++], TUI_LINE, "%.*s..", cut > width - 2 ? width - 2 : cut,
				 s);
			break;
		}
		snprintf(lines[n++], TUI_LINE, "%.*s", cut, s);
		s += cut;
	}
	return n;
}

void tui_columns(const struct tui_col *cols, int n, int width, int *out)
{
	int used = 0;

	for (int i = 0; i < n; i++)
		out[i] = 0;
	/* by priority: a column is shown at its least width if it fits with a space before it */
	for (int p = 0; p <= 9; p++)
		for (int i = 0; i < n; i++)
			if (cols[i].prio == p && used + 1 + cols[i].min <= width) {
				out[i] = cols[i].min;
				used += 1 + cols[i].min;
			}
	/* what is left widens the shown ones, again by priority, up to their most */
	for (int p = 0; p <= 9; p++)
		for (int i = 0; i < n; i++)
			if (cols[i].prio == p && out[i] && cols[i].max > out[i] && used < width) {
				int more = cols[i].max - out[i] < width - used ?
					cols[i].max - out[i] :
					width - used;
				out[i] += more;
				used += more;
			}
}
