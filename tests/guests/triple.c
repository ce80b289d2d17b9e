/* triple: loads an empty IDT and raises #UD from ring 3: no handler, no #DF handler, a triple fault.
 * (From ring 3, because a software KVM emulates ring-0 code and reports an emulation failure instead.) */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	static const struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idt = { 0, 0 };

	(void)magic, (void)mb;
	puts_serial("triple faulting\n");
	__asm__ volatile("lidt %0" : : "m"(idt));
	enter_ring3(user_fault, 0);
}
