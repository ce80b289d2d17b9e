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
