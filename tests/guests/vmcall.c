/* vmcall: a hypercall nobody answers. On our software KVM it livelocks inside KVM_RUN: only the VMM's
 * --timeout (a signal that kicks the vCPU out) can end it. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	(void)magic, (void)mb;
	puts_serial("vmcall\n");
	__asm__ volatile("vmcall" : : "a"(0));
	return 4;
}
