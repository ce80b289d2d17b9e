/* svm64: the 64-bit ring-0 half of the svm guest (svm.c): a minimal AMD-V hypervisor's run loop, and the
 * tiny nested guest (L3) it runs. svm_run64(params) never returns: it goes back to 32-bit code through a
 * compatibility-mode far return and calls svm_report(). */
	.section .note.GNU-stack, "", @progbits
	.text
	.code64
	.globl svm_run64
svm_run64:				/* %rdi: struct svm_params (svm.c) */
	mov $params, %ebx		/* absolute addresses go through registers: this is an ELF32 image */
	mov %rdi, (%rbx)
	mov $0xc0000080, %ecx		/* EFER.SVME: SVM instructions allowed */
	rdmsr
	or $0x1000, %eax
	wrmsr
	mov $0xc0010117, %ecx		/* VM_HSAVE_PA: where VMRUN keeps this (host) state */
	mov 8(%rdi), %eax
	mov 12(%rdi), %edx
	wrmsr
	clgi
1:	mov $params, %edi		/* L3 shares the GPRs: only %rax, %rbx, %rdi are ours here */
	mov (%rdi), %rdi
	mov (%rdi), %rax		/* VMCB physical address */
	vmrun
	mov $params, %edi
	mov (%rdi), %rdi
	mov (%rdi), %rbx
	mov 0x70(%rbx), %rax		/* EXITCODE */
	cmp $0x81, %rax			/* VMMCALL: count it, step over it (3 bytes), run L3 on */
	jne 2f
	incl 16(%rdi)
	addq $3, 0x578(%rbx)		/* save area RIP */
	jmp 1b
2:	mov %rax, 24(%rdi)
	stgi
	pushq $0x08			/* 32-bit code segment: compatibility mode */
	mov $back32, %eax
	push %rax
	lretq

	.globl l3_entry
l3_entry:				/* L3: optionally waits for a key on COM1, then VMMCALLs, marks, halts */
	mov $l3_wait_key, %esi		/* L3 uses %rax, %rcx, %rdx, %rsi only */
	cmpl $0, (%rsi)
	je 4f
3:	mov $0x3fd, %dx			/* LSR: not intercepted, so it reaches the VM's own serial port */
	in %dx, %al
	test $1, %al
	jz 3b
	mov $0x3f8, %dx
	in %dx, %al
4:	mov $l3_loops, %esi
	mov (%rsi), %ecx
5:	vmmcall
	dec %ecx
	jnz 5b
	mov $l3_marker, %esi
	movl $0x5a5a5a5a, (%rsi)
	hlt
	jmp 4b

	.code32
back32:
	mov $0x10, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	call svm_report

	.data
	.align 8
params:	.quad 0
