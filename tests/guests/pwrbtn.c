/* pwrbtn: an OS that listens for the ACPI power button, as Linux's button driver does: it reads
 * the FADT (the button a fixed feature, FADT flag PWR_BUTTON clear), enables PWRBTN_EN in PM1
 * enable, says "listening", and polls PM1 status for PWRBTN_STS. On a press it clears the status
 * (write 1) and powers off: SLP_TYP of our DSDT's _S5 (5) with SLP_EN. With "deaf" on its command
 * line it enables nothing and spins: a guest that never hears the button. */
#include "guest.h"

#define PWRBTN (1u << 8)
#define FADT_PWR_BUTTON (1u << 4)	/* set: no fixed power button */

int guest_main(uint32_t magic, struct mb_info *mb)
{
	const uint32_t *fadt = acpi_fadt();
	const char *cmd = magic == MB_MAGIC ? (const char *)mb->cmdline : "";

	if (!fadt) {
		puts_serial("no FADT\n");
		return 1;
	}
	uint16_t evt = (uint16_t)fadt[14], cnt = (uint16_t)fadt[16];	/* offsets 56, 64 */
	if (fadt[28] & FADT_PWR_BUTTON) {				/* flags, offset 112 */
		puts_serial("no fixed power button in the FADT\n");
		return 1;
	}
	if (str_find(cmd, "deaf")) {
		puts_serial("deaf\n");
		for (;;)
			__asm__ volatile("pause");
	}
	outw((uint16_t)(evt + 2), PWRBTN);
	puts_serial("listening\n");
	while (!(inw(evt) & PWRBTN))
		__asm__ volatile("pause");
	outw(evt, PWRBTN);
	puts_serial("power button: powering off\n");
	outw(cnt, (5u << 10) | (1u << 13));
	puts_serial("still here after S5\n");
	return 1;
}
