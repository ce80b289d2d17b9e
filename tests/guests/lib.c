/* lib: the test guests' runtime: serial console, debug-exit, strings, fw_cfg, ACPI table lookup. */
#include "guest.h"

void guest_exit(int code)
{
	outl(0xf4, (uint32_t)code);	/* isa-debug-exit: the VMM ends with (code << 1) | 1 */
	for (;;)
		__asm__ volatile("cli; hlt");
}

void putc_serial(char c)
{
	while (!(inb(0x3fd) & 0x20))	/* LSR: transmitter holding register empty */
		;
	outb(0x3f8, (uint8_t)c);
}

void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

void put_dec(uint32_t v)
{
	char b[12];
	int n = 0;

	do
		b[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		putc_serial(b[--n]);
}

void put_hex(uint32_t v)
{
	puts_serial("0x");
	for (int s = 28; s >= 0; s -= 4)
		putc_serial("0123456789abcdef"[(v >> s) & 15]);
}

int getc_serial(void)
{
	while (!(inb(0x3fd) & 0x01))	/* LSR: data ready */
		;
	return inb(0x3f8);
}

int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

const char *str_find(const char *hay, const char *needle)
{
	for (; *hay; hay++) {
		const char *h = hay, *n = needle;
		while (*n && *h == *n)
			h++, n++;
		if (!*n)
			return hay;
	}
	return 0;
}

uint32_t parse_dec(const char *s)
{
	uint32_t v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint32_t)(*s++ - '0');
	return v;
}

uint32_t fwcfg_read_at(uint16_t key, int skip, int bytes)
{
	uint32_t v = 0;

	outw(0x510, key);
	for (int i = 0; i < skip; i++)
		inb(0x511);
	for (int i = 0; i < bytes; i++)
		v |= (uint32_t)inb(0x511) << (8 * i);
	return v;
}

uint32_t fwcfg_read(uint16_t key, int bytes)
{
	return fwcfg_read_at(key, 0, bytes);
}

/* RSDP in 0xE0000-0xFFFFF -> RSDT -> FACP -> PM_TMR_BLK, as a guest OS finds it. */
const uint32_t *acpi_fadt(void)
{
	for (uint32_t a = 0xe0000; a < 0x100000; a += 16) {
		const char *p = (const char *)a;
		if (p[0] != 'R' || p[1] != 'S' || p[2] != 'D' || p[3] != ' ' || p[4] != 'P')
			continue;
		const uint32_t *rsdt = (const uint32_t *)*(const uint32_t *)(a + 16);
		uint32_t n = (rsdt[1] - 36) / 4;
		for (uint32_t i = 0; i < n; i++) {
			const uint32_t *t = (const uint32_t *)rsdt[9 + i];
			if (t[0] == 0x50434146)	/* "FACP" */
				return t;
		}
	}
	return 0;
}

uint16_t acpi_pm_timer_port(void)
{
	const uint32_t *fadt = acpi_fadt();

	return fadt ? (uint16_t)fadt[19] : 0;	/* offset 76 */
}

