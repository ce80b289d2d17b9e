/* spin: never ends; only --timeout can stop it. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	(void)magic, (void)mb;
	puts_serial("spinning\n");
	for (;;)
		__asm__ volatile("pause");
}
