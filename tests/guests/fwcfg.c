/* fwcfg: reads QEMU's fw_cfg interface (signature, RAM size, CPU counts) and prints what it found. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	uint32_t sig = fwcfg_read(0x00, 4);

	(void)magic, (void)mb;
	puts_serial("fw_cfg signature=");
	for (int i = 0; i < 4; i++)
		putc_serial((char)(sig >> (8 * i)));
	puts_serial(" ram_mib=");
	put_dec(fwcfg_read(0x03, 4) >> 20);
	puts_serial(" cpus=");
	put_dec(fwcfg_read(0x05, 2));
	puts_serial(" max_cpus=");
	put_dec(fwcfg_read(0x0f, 2));
	puts_serial("\n");
	return sig == 0x554d4551 ? 0 : 1;	/* "QEMU" */
}
