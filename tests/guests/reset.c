/* reset: asks the i8042 keyboard controller to pulse the reset line, as a PC kernel reboots. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	(void)magic, (void)mb;
	puts_serial("resetting\n");
	outb(0x64, 0xfe);
	puts_serial("still here\n");
	return 9;
}
