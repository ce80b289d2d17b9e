/* smp: the BSP wakes every other CPU with INIT-SIPI-SIPI through its local APIC; each AP, in real mode,
 * sets its APIC ID's bit in a bitmap. The BSP reports each CPU and exits with the number that came up. */
#include "guest.h"

#define LAPIC 0xfee00000u
#define TRAMPOLINE 0x8000u
#define BITMAP ((volatile uint32_t *)0x8100)

/* The AP trampoline: 16-bit code copied to 0x8000 (SIPI vector 0x08). */
__asm__(".section .text\n.code16\n.globl tramp_start, tramp_end\n"
	"tramp_start:\n cli\n xor %ax, %ax\n mov %ax, %ds\n mov $1, %eax\n cpuid\n shr $24, %ebx\n"
	" lock btsl %ebx, 0x8100\n1: hlt\n jmp 1b\ntramp_end:\n.code32\n");
extern const char tramp_start[], tramp_end[];

static void icr(uint32_t low)
{
	mmio_write32(LAPIC + 0x310, 0);
	mmio_write32(LAPIC + 0x300, low);
	while (mmio_read32(LAPIC + 0x300) & (1u << 12))	/* delivery pending */
		;
}

int guest_main(uint32_t magic, struct mb_info *mb)
{
	uint32_t cpus = fwcfg_read(0x05, 2), up = 1;
	uint16_t pm = acpi_pm_timer_port();

	(void)magic, (void)mb;
	for (const char *s = tramp_start; s < tramp_end; s++)
		*(volatile char *)(TRAMPOLINE + (uint32_t)(s - tramp_start)) = *s;
	*BITMAP = 1;	/* the BSP, APIC ID 0 */
	icr(0x000c4500);			/* INIT, all excluding self */
	icr(0x000c4600 | (TRAMPOLINE >> 12));	/* SIPI */
	icr(0x000c4600 | (TRAMPOLINE >> 12));
	uint32_t last = inl(pm) & 0xffffff, waited = 0;
	while (*BITMAP != (1u << cpus) - 1 && waited < 3579545 * 3) {	/* up to 3 s */
		uint32_t now = inl(pm) & 0xffffff;
		waited += (now - last) & 0xffffff;
		last = now;
	}
	for (uint32_t i = 1; i < 32; i++)
		if (*BITMAP & (1u << i)) {
			puts_serial("cpu ");
			put_dec(i);
			puts_serial(" up\n");
			up++;
		}
	puts_serial("cpus up: ");
	put_dec(up);
	puts_serial(" of ");
	put_dec(cpus);
	puts_serial("\n");
	return (int)up;
}
