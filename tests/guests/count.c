/* count: counts on the serial console, "count 1" to "count N" (N from "n=N" on its command line,
 * default 300), one number every "ms=M" milliseconds of the ACPI PM timer (default 20), then
 * "count done" and exit code 0. Snapshot tests save it in the middle: restored, it must go on from
 * the next number, none said twice or skipped. Each wait reads the timer's port: a pause or a
 * snapshot lands between a port read and its value often. */
#include "guest.h"

static void wait_ms(uint16_t port, uint32_t ms)
{
	uint32_t left = ms * 3580;	/* 3.579545 MHz, 24 bits that wrap */
	uint32_t last = inl(port) & 0xffffff;

	while (left) {
		uint32_t now = inl(port) & 0xffffff, d = (now - last) & 0xffffff;
		left = d >= left ? 0 : left - d;
		last = now;
	}
}

int guest_main(uint32_t magic, struct mb_info *mb)
{
	const char *cmd = magic == MB_MAGIC && (mb->flags & 4) ? (const char *)mb->cmdline : "";
	const char *n = str_find(cmd, "n="), *ms = str_find(cmd, "ms=");
	uint32_t last = n ? parse_dec(n + 2) : 300, step = ms ? parse_dec(ms + 3) : 20;
	uint16_t port = acpi_pm_timer_port();

	for (uint32_t i = 1; i <= last; i++) {
		puts_serial("count ");
		put_dec(i);
		puts_serial("\n");
		wait_ms(port, step);
	}
	puts_serial("count done\n");
	return 0;
}
