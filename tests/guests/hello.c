/* hello: the demo guest: greets on the serial console, says what the VM gave it, and exits with code N
 * from "exit=N" on its command line (default 0). */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	const char *cmd = magic == MB_MAGIC && (mb->flags & 4) ? (const char *)mb->cmdline : "";
	const char *e = str_find(cmd, "exit=");

	puts_serial("Hello from a nestvisor guest!\n");
	puts_serial("  vCPUs (fw_cfg): ");
	put_dec(fwcfg_read(0x05, 2));
	puts_serial(", RAM: ");
	/* FW_CFG_RAM_SIZE is 64 bits: 4 GiB and more do not fit the low word */
	uint32_t lo = fwcfg_read(0x03, 4), hi = fwcfg_read_at(0x03, 4, 4);
	put_dec((hi << 12) | (lo >> 20));
	puts_serial(" MiB, ACPI PM timer at port ");
	put_hex(acpi_pm_timer_port());
	puts_serial("\n");
	return e ? (int)parse_dec(e + 5) : 0;
}
