/* realmode: as kvm-unit-tests' realmode test does, a multiboot guest linked at 16 KiB that drops back to real
 * mode itself and makes a near call through a register (mov $fn, %eax; call *%eax). Its code and data run past
 * 0x9000, where a loader that writes its multiboot info at a fixed address would overwrite them. Prints
 * "real mode: near call through a register returned" and ends with debug-exit 0 (status 1). */
	.section .multiboot, "a"
	.align 4
	.long 0x1BADB002, 0, -0x1BADB002

	.text
	.code32
	.globl _start
_start:	cli
	lgdtl gdt_desc
	ljmpl $0x08, $pm16		/* 16-bit protected mode first: real mode is entered from a 16-bit segment */
	.code16
pm16:	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr0, %eax
	andl $~1, %eax
	movl %eax, %cr0			/* PE off */
	ljmpl $0, $rm
rm:	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $stack_top, %esp
	movl $fn, %eax
	calll *%eax			/* the instruction the bug report names */
	movl $msg, %esi
	calll puts
	movw $0xf4, %dx
	xorb %al, %al
	outb %al, %dx			/* debug-exit 0 */
1:	hlt
	jmp 1b

puts:	movw $0x3f8, %dx
2:	movb (%si), %al
	testb %al, %al
	jz 3f
	outb %al, %dx
	incw %si
	jmp 2b
3:	retl

	.p2align 4
gdt:	.quad 0
	.quad 0x00009b000000ffff	/* 0x08: 16-bit code, base 0, limit 64 KiB */
	.quad 0x000093000000ffff	/* 0x10: 16-bit data */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.org 0x5400			/* fn at 0x9400: inside 0x9000-0xf000 */
fn:	movl $hi, %esi
	calll puts
	retl

msg:	.asciz "real mode: near call through a register returned\n"
hi:	.asciz "real mode: in fn\n"
	.p2align 4
	.space 1024
stack_top:

	.section .note.GNU-stack, "", @progbits
