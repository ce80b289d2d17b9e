/* hostile: pokes ports and MMIO nobody owns, the test device's windows, and past the end of RAM; the VMM
 * must answer all-ones where nothing is, keep running, and the guest exits with code 3. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	uint32_t acc = 0;

	(void)magic, (void)mb;
	for (uint32_t p = 0x100; p < 0x140; p++) {	/* wild ports */
		outb((uint16_t)p, 0x5a);
		acc += inb((uint16_t)p);
	}
	outl(0xe0, 0x12345678);				/* test device scratch */
	if (inl(0xe0) != 0x12345678)
		return 10;
	mmio_write32(0xff000010, 0xcafef00d);		/* test device MMIO window */
	if (mmio_read32(0xff000010) != 0xcafef00d)
		return 11;
	if (mmio_read32(0xd0000000) != 0xffffffff)	/* unclaimed MMIO reads all-ones */
		return 12;
	mmio_write32(0xd0000000, 1);
	mmio_write32(0xff00fffc, 0x01020304);		/* the window's last dword */
	if (mmio_read32(0xff00fffc) != 0x01020304)
		return 13;
	puts_serial(acc == 0x40 * 0xff ? "wild ports read all-ones\n" : "wild ports read garbage\n");
	return acc == 0x40 * 0xff ? 3 : 14;
}
