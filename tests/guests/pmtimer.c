/* pmtimer: finds the ACPI PM timer through the FADT, prints a mark, waits "ticks=N" timer ticks (default
 * 357954, 100 ms at 3.579545 MHz) and prints another: the host times the two marks. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	const char *cmd = magic == MB_MAGIC ? (const char *)mb->cmdline : "";
	const char *t = str_find(cmd, "ticks=");
	uint32_t want = t ? parse_dec(t + 6) : 357954, waited = 0;
	uint16_t port = acpi_pm_timer_port();

	if (!port) {
		puts_serial("no FADT PM timer\n");
		return 1;
	}
	uint32_t last = inl(port) & 0xffffff;
	puts_serial("pm-start\n");
	while (waited < want) {
		uint32_t now = inl(port) & 0xffffff;
		waited += (now - last) & 0xffffff;	/* the counter is 24 bits wide */
		last = now;
	}
	puts_serial("pm-end\n");
	return 0;
}
