/* sandbox: per-thread seccomp allow-lists (libseccomp), capabilities dropped (libcap-ng),
 * no_new_privs; see sandbox.h. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/landlock.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <linux/vhost.h>
#include <seccomp.h>
#include <cap-ng.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "vmm/sandbox.h"
#include "vmm/vm.h"

/* What every thread does: memory, locks, time, its own signals, its descriptors' I/O, its end. */
static const int common_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(close), SCMP_SYS(futex),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect), SCMP_SYS(brk), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(tgkill), SCMP_SYS(sched_yield), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(getrandom), SCMP_SYS(rseq),
	SCMP_SYS(sched_getaffinity),
};

/* Each kind's own calls beside those. */
/* pread64 and pwrite64: a passed-through device's trapped registers and config space (VFIO) */
static const int vcpu_calls[] = { SCMP_SYS(ioctl), SCMP_SYS(pread64), SCMP_SYS(pwrite64) };
static const int io_calls[] = {
	SCMP_SYS(ioctl), SCMP_SYS(readv), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(preadv2),
	SCMP_SYS(pwritev2), SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(fdatasync),
	SCMP_SYS(fsync), SCMP_SYS(fallocate), SCMP_SYS(io_uring_enter), SCMP_SYS(lseek),
};
/* libslirp makes the guest's connections host sockets, and reads /etc/resolv.conf again when it
 * changed (read-only: see allow_slirp_open) */
static const int slirp_calls[] = {
	SCMP_SYS(ioctl), SCMP_SYS(readv), SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(shutdown), SCMP_SYS(fcntl),
	SCMP_SYS(stat), SCMP_SYS(lseek),
};
/* the control socket's clients; getifaddrs (a tap's counters) asks the kernel by netlink */
/* A snapshot is written into the file its client passed (fcntl checks it was opened to write). */
static const int control_calls[] = {
	SCMP_SYS(accept4), SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
	SCMP_SYS(bind), SCMP_SYS(getsockname), SCMP_SYS(getrusage), SCMP_SYS(mincore),
	SCMP_SYS(ioctl), SCMP_SYS(fcntl), SCMP_SYS(pwrite64), SCMP_SYS(ftruncate), SCMP_SYS(fsync),
	SCMP_SYS(pread64),	/* /proc/self/pagemap, opened before: which pages were ever touched */
};
static const int signal_calls[] = { SCMP_SYS(rt_sigtimedwait) };

/* The main thread waits, then writes the VM's record beside its socket and tears down: it keeps
 * what that needs, and loses only what no VMM needs (a deny-list, the one filter that is). */
static const int main_denied[] = {
	SCMP_SYS(execve),
	SCMP_SYS(execveat),
	SCMP_SYS(fork),
	SCMP_SYS(vfork),
	SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev),
	SCMP_SYS(kexec_load),
	SCMP_SYS(kexec_file_load),
	SCMP_SYS(init_module),
	SCMP_SYS(finit_module),
	SCMP_SYS(delete_module),
	SCMP_SYS(mount),
	SCMP_SYS(umount2),
	SCMP_SYS(pivot_root),
	SCMP_SYS(chroot),
	SCMP_SYS(setns),
	SCMP_SYS(unshare),
	SCMP_SYS(bpf),
	SCMP_SYS(perf_event_open),
	SCMP_SYS(keyctl),
	SCMP_SYS(add_key),
	SCMP_SYS(request_key),
	SCMP_SYS(personality),
	SCMP_SYS(setuid),
	SCMP_SYS(setgid),
	SCMP_SYS(setreuid),
	SCMP_SYS(setregid),
	SCMP_SYS(setresuid),
	SCMP_SYS(setresgid),
	SCMP_SYS(setgroups),
	SCMP_SYS(capset),
	SCMP_SYS(userfaultfd),
	SCMP_SYS(open_by_handle_at),
	SCMP_SYS(iopl),
	SCMP_SYS(ioperm),
	SCMP_SYS(swapon),
	SCMP_SYS(swapoff),
	SCMP_SYS(reboot),
	SCMP_SYS(connect),
	SCMP_SYS(io_uring_setup),
#ifndef __SANITIZE_ADDRESS__
	/* LeakSanitizer stops the world at exit with a traced clone: the sanitizer build keeps them
	 */
	SCMP_SYS(ptrace),
	SCMP_SYS(clone),
	SCMP_SYS(clone3),
#endif
};

/* The ioctls a vCPU makes: KVM_RUN and what the devices' handlers do on it (interrupts, queue
 * handover to vhost-net, offloads, S3 resume, the crash report). */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_TRANSLATE,
	KVM_SET_MP_STATE, KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_IRQFD, KVM_IOEVENTFD,
	KVM_SET_GSI_ROUTING, VHOST_SET_FEATURES, VHOST_SET_VRING_NUM, VHOST_SET_VRING_BASE,
	VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL, VHOST_NET_SET_BACKEND,
	VHOST_GET_VRING_BASE, TUNSETOFFLOAD,
	/* a passed-through device: its BARs follow the guest's placement as memory slots, its
	 * MSI-X vectors go on when the guest enables them */
	KVM_SET_USER_MEMORY_REGION, VFIO_DEVICE_SET_IRQS,
};
static const unsigned long io_ioctls[] = { KVM_IRQ_LINE, KVM_SIGNAL_MSI };
static const unsigned long slirp_ioctls[] = { KVM_IRQ_LINE, KVM_SIGNAL_MSI, FIONBIO, FIONREAD };
/* a snapshot's nested state; a pause stops vhost-net (its backend detached, its rings read back)
 * and a resume starts it again; console input (the "input" command: `nestvisor console`, the TUI)
 * raises the UART's interrupt, as a resume does for input held while paused. Without KVM_IRQ_LINE
 * here, a key typed into a Linux guest's console ended the VM (tests/svmhost/t-sandbox.sh). */
static const unsigned long control_ioctls[] = {
	KVM_GET_NESTED_STATE, KVM_SET_NESTED_STATE, KVM_IRQ_LINE, VHOST_NET_SET_BACKEND,
	VHOST_GET_VRING_BASE, VHOST_SET_VRING_BASE,
	/* "cpus": a paused VM's vCPUs read (cpustate.c); their stacks through their page tables */
	KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_MP_STATE, KVM_GET_VCPU_EVENTS, KVM_GET_LAPIC,
	KVM_GET_MSRS, KVM_TRANSLATE,
	/* "snapshot": the rest of each vCPU's state, KVM's chips and clock (vcpu-state.c) */
	KVM_GET_XSAVE, KVM_GET_XSAVE2, KVM_GET_XCRS, KVM_GET_DEBUGREGS, KVM_GET_CPUID2,
	KVM_GET_MSR_INDEX_LIST, KVM_CHECK_EXTENSION, KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK,
};

struct kind_def {
	const char *name;
	const int *calls;
	size_t ncalls;
	const unsigned long *ioctls;
	size_t nioctls;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct kind_def kinds[VMM_THREAD_KINDS] = {
	[VMM_THREAD_VCPU] = { "vCPU", vcpu_calls, N(vcpu_calls), vcpu_ioctls, N(vcpu_ioctls) },
	[VMM_THREAD_IO] = { "device I/O", io_calls, N(io_calls), io_ioctls, N(io_ioctls) },
	[VMM_THREAD_SLIRP] = { "user network", slirp_calls, N(slirp_calls), slirp_ioctls,
			       N(slirp_ioctls) },
	[VMM_THREAD_CONTROL] = { "control", control_calls, N(control_calls), control_ioctls,
				 N(control_ioctls) },
	[VMM_THREAD_SIGNAL] = { "signal", signal_calls, N(signal_calls), NULL, 0 },
	[VMM_THREAD_MAIN] = { "main", main_denied, N(main_denied), NULL, 0 },
};

/* For the SIGSYS handler, which may not allocate: the calls' names, resolved before any filter. */
#define NAMES 512
static char *call_names[NAMES];
static char vm_label[64];
static __thread const char *thread_kind = "unconfined";

static void say(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) < 0)
		return;	/* nowhere to say it */
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char num[16];
	int nr = si->si_syscall, i = (int)sizeof(num) - 1;

	(void)sig;
	(void)uc;
	num[i] = '\0';
	do
		num[--i] = (char)('0' + nr % 10);
	while ((nr /= 10) && i > 0);
	say("\nnestvisor: VM ");
	say(vm_label);
	say(": the sandbox stopped a forbidden system call, ");
	say(si->si_syscall >= 0 && si->si_syscall < NAMES && call_names[si->si_syscall] ?
		    call_names[si->si_syscall] :
		    "?");
	say(" (number ");
	say(num + i);
	say("), on its ");
	say(thread_kind);
	say(" thread: its guest may have found a way into this process, or nestvisor has a bug "
	    "(run it again with --sandbox off to tell which, and report it); the VM is ended (exit "
	    "status 159)\n");
	syscall(SYS_exit_group, VMM_STATUS_SANDBOX);
}

void vmm_sandbox_prepare(const char *vm_name)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };

	/* what the libraries do once, lazily, done now: json-c seeds its hash from /dev/urandom on
	 * its first object (the control thread's first answer would otherwise open it) */
	json_object_put(json_tokener_parse("{\"seed\":1}"));
	/* glibc reads /etc/localtime on its first time conversion (the CMOS clock's gmtime_r on a
	 * vCPU thread, found by strace in the AMD-V host) */
	tzset();
	snprintf(vm_label, sizeof(vm_label), "%s", vm_name ? vm_name : "vm");
	for (int i = 0; i < NAMES; i++)
		if (!call_names[i])
			call_names[i] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);
	sigaction(SIGSYS, &sa, NULL);
}

bool vmm_sandbox_on(const struct vmm *vm)
{
	return vm->cfg.sandbox;
}

static int add_ioctls(scmp_filter_ctx f, const struct kind_def *k)
{
	int rc = 0;

	/* libseccomp tests the rules of one call last added first: added in reverse, the list's
	 * first (KVM_RUN, on every exit) is compared first (measured in the AMD-V host: 21
	 * compares before it cost a vCPU 6 us an exit under TCG) */
	for (size_t i = k->nioctls; i-- > 0 && rc == 0;)
		/* the request as the kernel reads it: its low 32 bits */
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)k->ioctls[i]));
	return rc;
}

/* A thread of user networking may open files read-only (libslirp's /etc/resolv.conf), and make
 * only IP sockets. */
static int allow_slirp_extras(scmp_filter_ctx f)
{
	int rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				  SCMP_A2_32(SCMP_CMP_MASKED_EQ,
					     O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY));
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0_32(SCMP_CMP_EQ, AF_INET));
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0_32(SCMP_CMP_EQ, AF_INET6));
	return rc;
}

static scmp_filter_ctx build(enum vmm_thread_kind kind)
{
	const struct kind_def *k = &kinds[kind];
	bool deny_list = kind == VMM_THREAD_MAIN;
	scmp_filter_ctx f = seccomp_init(deny_list ? SCMP_ACT_ALLOW : SCMP_ACT_TRAP);
	int rc = f ? 0 : -ENOMEM;

	for (size_t i = 0; !deny_list && i < N(common_calls) && rc == 0; i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, common_calls[i], 0);
	for (size_t i = 0; i < k->ncalls && rc == 0; i++)
		if (k->calls[i] != SCMP_SYS(ioctl) || !k->nioctls)
			rc = seccomp_rule_add(f, deny_list ? SCMP_ACT_TRAP : SCMP_ACT_ALLOW,
					      k->calls[i], 0);
	if (rc == 0)
		rc = add_ioctls(f, k);
	if (rc == 0 && kind == VMM_THREAD_SLIRP)
		rc = allow_slirp_extras(f);
	/* getifaddrs (a tap's counters, in --stats and stats) asks by netlink: no other socket */
	if (rc == 0 && kind == VMM_THREAD_CONTROL)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0_32(SCMP_CMP_EQ, AF_NETLINK));
	if (rc == 0 && kind == VMM_THREAD_MAIN)
		rc = seccomp_rule_add(f, SCMP_ACT_TRAP, SCMP_SYS(socket), 1,
				      SCMP_A0_32(SCMP_CMP_NE, AF_NETLINK));
	/* KVM_RUN is the call a vCPU makes most: tested first */
	if (rc == 0 && kind == VMM_THREAD_VCPU)
		rc = seccomp_syscall_priority(f, SCMP_SYS(ioctl), 255);
	if (rc == 0)
		rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_NNP, 1);
	/* a binary tree of the calls, not a chain (calls allowed whatever their arguments skip the
	 * filter anyway: the kernel caches them) */
	if (rc == 0)
		rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc < 0 && f) {
		seccomp_release(f);
		f = NULL;
	}
	return f;
}

/* The one file a user-network thread may open: libslirp's /etc/resolv.conf (read again when it
 * changes). Landlock confines what seccomp cannot see, a path: every other file, /etc/shadow
 * included, is refused to this thread (EACCES). A kernel without Landlock (before 5.13, or not in
 * its LSM list) leaves the read-only open that seccomp allows; that is said once. */
static int landlock_resolv_only(void)
{
	struct landlock_ruleset_attr ra = { .handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE |
		LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
		LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
		LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
		LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
		LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
		LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM };
	int rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0), rc = 0;

	if (rs < 0)
		return -errno;
	int fd = open("/etc/resolv.conf", O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		struct landlock_path_beneath_attr pb = { .allowed_access =
								 LANDLOCK_ACCESS_FS_READ_FILE,
							 .parent_fd = fd };
		if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			rc = -errno;
		close(fd);
	}
	if (rc == 0 && syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		rc = -errno;
	close(rs);
	return rc;
}

/* Capabilities: none left, in this thread (they are per thread), bounding set included. */
static int drop_caps(void)
{
	capng_clear(CAPNG_SELECT_BOTH);
	return capng_apply(CAPNG_SELECT_BOTH) < 0 ? -EPERM : 0;
}

int vmm_sandbox_enter(struct vmm *vm, enum vmm_thread_kind kind)
{
	if (!vm->cfg.sandbox)
		return 0;
	scmp_filter_ctx f = build(kind);
	int rc = f ? 0 : -ENOMEM;

	/* root drops its capabilities; a user without any has none to drop (EPERM on the bounding
	 * set is no failure then) */
	if (rc == 0 && drop_caps() < 0 && geteuid() == 0)
		rc = -EPERM;
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = -errno;
	if (rc == 0 && kind == VMM_THREAD_SLIRP && landlock_resolv_only() < 0 &&
	    !__atomic_exchange_n(&vm->landlock_warned, true, __ATOMIC_RELAXED))
		vmm_warn(vm,
			 "sandbox: no Landlock in this kernel: the user network's threads may open "
			 "any file read-only (libslirp reads /etc/resolv.conf), not only that");
	if (rc == 0)
		rc = seccomp_load(f);
	if (f)
		seccomp_release(f);
	if (rc == 0)
		thread_kind = kinds[kind].name;
	else if (!__atomic_exchange_n(&vm->sandbox_warned, true, __ATOMIC_RELAXED))
		vmm_warn(vm, "sandbox: a %s thread could not confine itself (%s); it runs without",
			 kinds[kind].name, strerror(-rc));
	return rc;
}
