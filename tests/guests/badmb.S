/* badmb: a multiboot a.out-kludge header that asks to be loaded at 3.5 GiB, far outside a small guest's RAM. */
	.section .multiboot, "a"
	.align 4
hdr:	.long 0x1BADB002
	.long 0x00010000
	.long -(0x1BADB002 + 0x00010000)
	.long 0xe0000000		/* header_addr */
	.long 0xe0000000		/* load_addr */
	.long 0				/* load_end_addr: the whole file */
	.long 0xe0100000		/* bss_end_addr */
	.long 0xe0000020		/* entry_addr */
	.text
	.globl _start
_start:	jmp _start

	.section .note.GNU-stack, "", @progbits
