/* sandbox: a VM's process confines itself once set up, as Firecracker's VMM does under its seccomp
 * filters and QEMU under -sandbox on: each thread, when it starts its loop, drops every capability,
 * sets no_new_privs and loads the seccomp allow-list of its kind (libseccomp). A guest that found a
 * bug in a device model then finds no open, execve, ptrace, fork or socket of its choosing on that
 * thread; a forbidden call ends the VM's process at once with a message naming the call and the
 * thread (exit status 159, as a death by SIGSYS). `nestvisor run --sandbox off` is for debugging. */
#ifndef NESTVISOR_VMM_SANDBOX_H
#define NESTVISOR_VMM_SANDBOX_H

#include <stdbool.h>

#define VMM_STATUS_SANDBOX 159

enum vmm_thread_kind {
	VMM_THREAD_IO,		/* a virtio device's I/O thread, a tap's, the serial console's reader */
	VMM_THREAD_VCPU,	/* KVM_RUN and the devices' port and MMIO handlers */
	VMM_THREAD_SLIRP,	/* user networking (libslirp): host sockets of the guest's */
	VMM_THREAD_CONTROL,	/* the control socket */
	VMM_THREAD_SIGNAL,	/* SIGINT, SIGTERM, SIGHUP */
	VMM_THREAD_MAIN,	/* waits for the end, then reports, records it and tears down */
	VMM_THREAD_KINDS
};

struct vmm;

/* Before any thread enters: the handler that says which call was refused (process-wide). */
void vmm_sandbox_prepare(const char *vm_name);
/* The calling thread confines itself (no-op when vm's sandbox is off): 0, or -errno when the filter
 * could not be loaded (the thread then runs unconfined and the VM's log says so once). */
int vmm_sandbox_enter(struct vmm *vm, enum vmm_thread_kind kind);
/* Whether this VM's threads confine themselves. */
bool vmm_sandbox_on(const struct vmm *vm);

#endif
