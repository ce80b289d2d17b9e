/* echo: reads the serial console and echoes each character, upper-cased, until 'q'; exits with the count. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	int n = 0, c;

	(void)magic, (void)mb;
	puts_serial("echo ready\n");
	while ((c = getc_serial()) != 'q') {
		putc_serial(c >= 'a' && c <= 'z' ? (char)(c - 32) : (char)c);
		n++;
	}
	puts_serial("\nbye\n");
	return n;
}
