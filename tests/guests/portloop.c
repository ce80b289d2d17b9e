/* portloop: writes port 0x80 "count=N" times (default 1,000,000) from ring 3, one VM exit each, then
 * exits through port 0xf4. Ring 3 runs natively even on a software KVM, so the loop measures exits, not
 * instruction emulation. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	const char *cmd = magic == MB_MAGIC ? (const char *)mb->cmdline : "";
	const char *c = str_find(cmd, "count=");

	enter_ring3(user_portloop, c ? parse_dec(c + 6) : 1000000);
}
