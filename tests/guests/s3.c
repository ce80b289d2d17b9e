/* s3: ACPI suspend to RAM and resume, as kvm-unit-tests' s3 test does: puts its resume code below 1 MiB and its
 * address in the FACS waking vector, arms the RTC alarm (any second), writes SLP_TYP (our DSDT's _S3: 1) with
 * SLP_EN. The platform must stop the guest there and, on the alarm, start it in real mode at the vector. The
 * resume code reports whether PM1 status has WAK_STS and ends with debug-exit 0 (status 1). With "noalarm" on
 * its command line it arms no alarm: it sleeps until the VMM is told to wake it. */
#include "guest.h"

#define RESUME_AT 0x8000
#define PM1_EVT_PORT_AT 0x7ffe	/* where the resume code finds the PM1 event block's port */

/* 16-bit real mode, position independent (it runs at RESUME_AT, not where it is linked). */
__asm__(".section .rodata\n"
	".macro say c\n mov $\\c, %al\n out %al, %dx\n .endm\n"
	".globl s3_resume, s3_resume_end\n"
	".code16\n"
	"s3_resume:\n"
	"	xor %ax, %ax\n mov %ax, %ds\n"
	"	mov (0x7ffe), %dx\n in %dx, %ax\n mov %ax, %bx\n"
	"	mov $0x3f8, %dx\n"
	"	say 'r'\n say 'e'\n say 's'\n say 'u'\n say 'm'\n say 'e'\n say 'd'\n say ' '\n"
	"	test $0x8000, %bx\n jz 1f\n"
	"	say 'W'\n say 'A'\n say 'K'\n say '_'\n say 'S'\n say 'T'\n say 'S'\n say ' '\n"
	"1:	say 'i'\n say 'n'\n say ' '\n say 'r'\n say 'e'\n say 'a'\n say 'l'\n say ' '\n"
	"	say 'm'\n say 'o'\n say 'd'\n say 'e'\n say '\\n'\n"
	"	mov $0xf4, %dx\n xor %al, %al\n out %al, %dx\n"
	"2:	hlt\n jmp 2b\n"
	"s3_resume_end:\n"
	".code32\n"
	".previous\n");
extern const char s3_resume[], s3_resume_end[];

static void cmos_write(uint8_t idx, uint8_t v)
{
	outb(0x70, idx);
	outb(0x71, v);
}

static uint8_t cmos_read(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

int guest_main(uint32_t magic, struct mb_info *mb)
{
	const uint32_t *fadt = acpi_fadt();

	const char *cmd = magic == MB_MAGIC ? (const char *)mb->cmdline : "";
	int alarm = !str_find(cmd, "noalarm");	/* noalarm: only the VMM's resume command can wake it */

	if (!fadt) {
		puts_serial("no FADT\n");
		return 1;
	}
	uint32_t *facs = (uint32_t *)fadt[9];		/* FIRMWARE_CTRL, offset 36 */
	uint16_t pm1a_cnt = (uint16_t)fadt[16];		/* offset 64 */
	*(volatile uint16_t *)PM1_EVT_PORT_AT = (uint16_t)fadt[14];	/* PM1a event block, offset 56 */
	for (const char *s = s3_resume; s < s3_resume_end; s++)
		((volatile char *)RESUME_AT)[s - s3_resume] = *s;
	facs[3] = RESUME_AT;				/* firmware_waking_vector, offset 12 */
	if (alarm) {
		cmos_write(0x01, 0xff);			/* alarm seconds, minutes, hours: don't care */
		cmos_write(0x03, 0xff);
		cmos_write(0x05, 0xff);
		cmos_write(0x0b, cmos_read(0x0b) | 0x20);	/* AIE: the alarm interrupts (and wakes) */
	}
	puts_serial("suspending to S3\n");
	outw(pm1a_cnt, (1u << 10) | (1u << 13));	/* SLP_TYP 1, SLP_EN */
	for (volatile uint32_t i = 0; i < 20000000; i++)
		;
	puts_serial("still running after SLP_EN: the platform did not suspend\n");
	return 3;
}
