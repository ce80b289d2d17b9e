/* mbinfo: prints the multiboot information the VMM built, as a kernel sees it; exits 0 when it is sane. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb_info *mb)
{
	int bad = 0;

	if (magic != MB_MAGIC) {
		puts_serial("bad multiboot magic\n");
		return 1;
	}
	puts_serial("flags=");
	put_hex(mb->flags);
	puts_serial(" mem_lower=");
	put_dec(mb->mem_lower);
	puts_serial(" mem_upper=");
	put_dec(mb->mem_upper);
	puts_serial("\ncmdline=");
	puts_serial((const char *)mb->cmdline);
	puts_serial("\nmods=");
	put_dec(mb->mods_count);
	puts_serial("\n");
	if (mb->mods_count) {
		const struct mb_module *m = (const struct mb_module *)mb->mods_addr;
		puts_serial("module0=");
		puts_serial((const char *)m->string);
		puts_serial(" size=");
		put_dec(m->end - m->start);
		puts_serial(" text=");
		for (uint32_t a = m->start; a < m->end && *(const char *)a != '\n'; a++)
			putc_serial(*(const char *)a);
		puts_serial("\n");
		bad |= m->start < 0x100000 || (m->start & 0xfff);
	}
	for (uint32_t off = 0; off < mb->mmap_length; off += ((const struct mb_mmap *)(mb->mmap_addr + off))->size + 4) {
		const struct mb_mmap *e = (const struct mb_mmap *)(mb->mmap_addr + off);
		puts_serial("mmap ");
		put_hex((uint32_t)e->addr);
		puts_serial(" ");
		put_hex((uint32_t)e->len);
		puts_serial(" type=");
		put_dec(e->type);
		puts_serial("\n");
	}
	bad |= mb->mem_lower != 639 || !(mb->flags & (1 << 6));
	return bad;
}
