/* ring3: from 32-bit protected mode (multiboot), enter long mode with identity page tables (1 GiB, user
 * accessible) and drop to 64-bit ring 3 with IOPL 3. A software KVM (PVM) runs ring 3 natively only there.
 * enter_ring3(fn, arg): fn is one of the 64-bit user routines below; arg arrives in %rdi. Never returns.
 * enter_long0(fn, arg): the same long mode, but fn runs in ring 0 on the caller's stack (a hypervisor guest). */
	.section .note.GNU-stack, "", @progbits
	.text
	.code32
	.globl enter_long0
enter_long0:
	mov 4(%esp), %esi
	mov 8(%esp), %edi
	xor %ebp, %ebp			/* stay in ring 0 */
	jmp 0f
	.globl enter_ring3
enter_ring3:
	mov 4(%esp), %esi		/* fn */
	mov 8(%esp), %edi		/* arg */
	mov $3, %ebp
0:
	/* PML4[0] -> PDPT[0] -> PD: 512 x 2 MiB pages, present, writable, user */
	lea pml4, %eax
	lea pdpt, %ebx
	or $7, %ebx
	mov %ebx, (%eax)
	lea pdpt, %eax
	lea pd, %ebx
	or $7, %ebx
	mov %ebx, (%eax)
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $21, %eax
	or $0x87, %eax
	mov %eax, pd(,%ecx,8)
	inc %ecx
	cmp $512, %ecx
	jne 1b
	lea pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	lgdt gdtr
	mov %cr0, %eax
	or $0x80000000, %eax		/* PG: long mode is active */
	mov %eax, %cr0
	ljmp $0x18, $long64

	.code64
long64:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %ss
	mov %eax, %es
	mov %esi, %esi			/* the upper halves are undefined after the switch */
	mov %edi, %edi
	mov %esp, %esp
	test %ebp, %ebp
	jnz 1f
	jmp *%rsi
1:	lea user_stack_top, %eax
	push $0x23			/* user SS */
	push %rax			/* user RSP */
	push $0x3002			/* RFLAGS: IOPL 3, interrupts off */
	push $0x2b			/* user CS, 64-bit */
	push %rsi			/* RIP: fn */
	iretq

	.globl user_portloop
user_portloop:				/* %rdi writes to port 0x80, then exit code 0 */
	mov %edi, %ecx
	xor %eax, %eax
2:	outb %al, $0x80
	dec %ecx
	jnz 2b
	outl %eax, $0xf4
3:	jmp 3b

	.globl user_fault
user_fault:				/* #UD with an empty IDT: #DF cannot be delivered either */
	ud2
	jmp user_fault

	.code32
	.data
	.align 8
	.globl long_gdt, long_gdt_end, long_pml4
long_gdt:
gdt:	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08 kernel code 32 */
	.quad 0x00cf92000000ffff	/* 0x10 kernel data */
	.quad 0x00af9a000000ffff	/* 0x18 kernel code 64 */
	.quad 0x00cff2000000ffff	/* 0x23 user data */
	.quad 0x00affa000000ffff	/* 0x2b user code 64 */
gdt_end:
long_gdt_end:
gdtr:	.word gdt_end - gdt - 1
	.long gdt
	.bss
	.align 4096
long_pml4:
pml4:	.space 4096
pdpt:	.space 4096
pd:	.space 4096
	.space 4096
user_stack_top:
