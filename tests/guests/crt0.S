/* crt0: multiboot v1 header and 32-bit entry for the project's test guests. */
	.section .multiboot, "a"
	.align 4
	.long 0x1BADB002		/* magic */
	.long 0x00000000		/* flags */
	.long -(0x1BADB002)		/* checksum */
	.long 0				/* pad: _start lands at 0x100010 for flat-binary boots */

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	mov $stack_top, %esp
	push %ebx			/* multiboot info (0 for a flat boot) */
	push %eax			/* multiboot magic */
	call guest_main
	push %eax
	call guest_exit
1:	cli
	hlt
	jmp 1b

	.bss
	.align 16
	.space 8192
stack_top:

	.section .note.GNU-stack, "", @progbits
