/* kvmrun: talks to the live /dev/kvm: API, capabilities, supported CPUID, feature MSRs, and a real
 * guest run. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "probe/backend.h"
#include "probe/facts.h"
#include "probe/kvm.h"

#define GUEST_MEM   0x10000
#define GUEST_CODE  0x1000
#define PORT_SINK   0x80
#define PORT_MARK   0x81
#define PORT_END    0xf4
#define RUN_TIMEOUT_MS 2000

const struct probe_kvm_cap_def probe_kvm_caps[] = {
	{ "KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY, true },
	{ "KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP, true },
	{ "KVM_CAP_PIT2", KVM_CAP_PIT2, true },
	{ "KVM_CAP_SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR, true },
	{ "KVM_CAP_EXT_CPUID", KVM_CAP_EXT_CPUID, true },
	{ "KVM_CAP_IOEVENTFD", KVM_CAP_IOEVENTFD, true },
	{ "KVM_CAP_IRQFD", KVM_CAP_IRQFD, true },
	{ "KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT, true },
	{ "KVM_CAP_NR_VCPUS", KVM_CAP_NR_VCPUS, false },
	{ "KVM_CAP_MAX_VCPUS", KVM_CAP_MAX_VCPUS, false },
	{ "KVM_CAP_NR_MEMSLOTS", KVM_CAP_NR_MEMSLOTS, false },
	{ "KVM_CAP_NESTED_STATE", KVM_CAP_NESTED_STATE, false },
	{ "KVM_CAP_GET_MSR_FEATURES", KVM_CAP_GET_MSR_FEATURES, false },
	{ "KVM_CAP_X2APIC_API", KVM_CAP_X2APIC_API, false },
	{ "KVM_CAP_HYPERV", KVM_CAP_HYPERV, false },
	{ "KVM_CAP_TSC_DEADLINE_TIMER", KVM_CAP_TSC_DEADLINE_TIMER, false },
};
const size_t probe_kvm_ncaps = sizeof(probe_kvm_caps) / sizeof(probe_kvm_caps[0]);

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void query_caps(int fd, struct probe_kvm *kvm)
{
	kvm->ncaps = 0;
	for (size_t i = 0; i < probe_kvm_ncaps && kvm->ncaps < PROBE_KVM_MAX_CAPS; i++) {
		int v = ioctl(fd, KVM_CHECK_EXTENSION, probe_kvm_caps[i].num);
		snprintf(kvm->caps[kvm->ncaps].name, sizeof(kvm->caps[0].name), "%s",
			 probe_kvm_caps[i].name);
		kvm->caps[kvm->ncaps].num = probe_kvm_caps[i].num;
		kvm->caps[kvm->ncaps].val = v < 0 ? 0 : v;
		kvm->ncaps++;
	}
}

static void query_cpuid(int fd, struct probe_kvm *kvm)
{
	const int nent = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

	if (!c) {
		kvm->cpuid_err = -ENOMEM;
		return;
	}
	c->nent = nent;
	if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		kvm->cpuid_err = -errno;
		free(c);
		return;
	}
	for (unsigned i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			kvm->cpuid_vmx = e->ecx & (1u << 5);
		else if (e->function == 0x80000001)
			kvm->cpuid_svm = e->ecx & (1u << 2);
		else if (e->function == 0x8000000A)
			kvm->cpuid_svm_edx = e->edx;
	}
	free(c);
}

/* KVM's feature MSRs tell what KVM would give a nested guest, without the msr module or root. */
static void query_feature_msrs(int fd, struct probe_kvm *kvm)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} one;

	for (int i = 0; i < VMX_MSR_COUNT; i++)
		kvm->feat_msr[i].err = -ENOENT;
	if (ioctl(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	if (!list)
		return;
	list->nmsrs = probe.nmsrs;
	if (ioctl(fd, KVM_GET_MSR_FEATURE_INDEX_LIST, list) == 0) {
		kvm->nfeature_msrs = (int)list->nmsrs;
		for (unsigned i = 0; i < list->nmsrs; i++) {
			uint32_t idx = list->indices[i];
			if (idx < VMX_MSR_BASE || idx >= VMX_MSR_BASE + VMX_MSR_COUNT)
				continue;
			memset(&one, 0, sizeof(one));
			one.hdr.nmsrs = 1;
			one.hdr.entries[0].index = idx;
			struct fact_u64 *f = &kvm->feat_msr[idx - VMX_MSR_BASE];
			f->err = ioctl(fd, KVM_GET_MSRS, &one) == 1 ? 0 : -EIO;
			f->val = one.hdr.entries[0].data;
		}
	}
	free(list);
}

/* Who may open /dev/kvm, for a user who may not: its mode and group, and whether this user is in
 * that group already (added, but not logged in again since). */
static void dev_access(struct probe_kvm *kvm)
{
	struct stat st;
	gid_t groups[256];
	int n;

	if (stat("/dev/kvm", &st) < 0)
		return;
	kvm->dev_mode = st.st_mode & 07777;
	kvm->dev_gid = st.st_gid;
	struct group *g = getgrgid(st.st_gid);
	snprintf(kvm->dev_group, sizeof(kvm->dev_group), "%s", g ? g->gr_name : "");
	kvm->user_in_group = getegid() == st.st_gid;
	if ((n = getgroups(256, groups)) > 0)
		for (int i = 0; i < n; i++)
			kvm->user_in_group |= groups[i] == st.st_gid;
	struct passwd *pw = kvm->user_in_group || !g ? NULL : getpwuid(geteuid());
	for (char **m = pw ? g->gr_mem : NULL; m && *m && !kvm->user_in_group; m++)
		kvm->user_in_group = !strcmp(*m, pw->pw_name); /* in the group file, not this login */
}

int probe_kvm_live_query(struct probe_backend *be, struct probe_kvm *kvm, bool functional)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	(void)be;
	kvm->recorded = 0;
	if (fd < 0) {
		kvm->open_err = -errno;
		if (kvm->open_err == -EACCES || kvm->open_err == -EPERM)
			dev_access(kvm);
		/* what the probe did is a fact too: a check skipped as asked is not one that
		 * could not run (and a report made with --no-run says nothing of guests) */
		kvm->run_err = functional ? -ENODEV : -ECANCELED;
		snprintf(kvm->run_detail, sizeof(kvm->run_detail), "%s",
			 functional ? "not run: /dev/kvm could not be opened" :
				      "skipped, as asked");
		return 0;
	}
	kvm->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	query_caps(fd, kvm);
	query_cpuid(fd, kvm);
	query_feature_msrs(fd, kvm);
	if (functional)
		probe_kvm_run_guest(fd, kvm);
	else {
		kvm->run_err = -ECANCELED;
		snprintf(kvm->run_detail, sizeof(kvm->run_detail), "skipped, as asked");
	}
	close(fd);
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;	/* only interrupts KVM_RUN */
}

struct guest {
	int vm, vcpu;
	void *mem;
	struct kvm_run *run;
	size_t run_size;
};

static int guest_setup(int sysfd, struct guest *g, char *why, size_t len)
{
	struct kvm_userspace_memory_region region = { .slot = 0,
						      .guest_phys_addr = 0,
						      .memory_size = GUEST_MEM };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = GUEST_CODE, .rflags = 2 };
	uint8_t *code;
	int mmap_size;

	if ((g->vm = ioctl(sysfd, KVM_CREATE_VM, 0)) < 0)
		return errmsg(why, len, -errno, "KVM_CREATE_VM: %s", strerror(errno));
	ioctl(g->vm, KVM_SET_TSS_ADDR,
	      0xfffbd000ul); /* real mode on VT-x without unrestricted guest */
	g->mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED)
		return errmsg(why, len, -ENOMEM, "mmap guest memory: %s", strerror(errno));
	code = (uint8_t *)g->mem + GUEST_CODE;
	for (int i = 0; i < PROBE_KVM_GUEST_OUTS;
	     i++) { /* out 0x80, al (unrolled: no emulated loop overhead) */
		*code++ = 0xe6;
		*code++ = PORT_SINK;
	}
	*code++ = 0xe6;	/* out 0x81, al: the loop starts */
	*code++ = PORT_MARK;
	*code++ = 0xb9;	/* mov cx, PROBE_KVM_LOOP */
	*code++ = PROBE_KVM_LOOP & 0xff;
	*code++ = PROBE_KVM_LOOP >> 8;
	*code++ = 0x49;	/* dec cx */
	*code++ = 0x75;	/* jnz the dec */
	*code++ = 0xfd;
	*code++ = 0xe6;	/* out 0x81, al: it ended */
	*code++ = PORT_MARK;
	*code++ = 0xe6;	/* out 0xf4, al: the end */
	*code++ = PORT_END;
	*code++ = 0xf4;	/* hlt, should the end port be ignored */
	region.userspace_addr = (uintptr_t)g->mem;
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return errmsg(why, len, -errno, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	if ((g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0)) < 0)
		return errmsg(why, len, -errno, "KVM_CREATE_VCPU: %s", strerror(errno));
	mmap_size = ioctl(sysfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run))
		return errmsg(why, len, -EINVAL, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	g->run_size = (size_t)mmap_size;
	g->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu, 0);
	if (g->run == MAP_FAILED) {
		g->run = NULL;
		return errmsg(why, len, -ENOMEM, "mmap kvm_run: %s", strerror(errno));
	}
	if (ioctl(g->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return errmsg(why, len, -errno, "KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(g->vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(g->vcpu, KVM_SET_REGS, &regs) < 0)
		return errmsg(why, len, -errno, "KVM_SET_SREGS/REGS: %s", strerror(errno));
	return 0;
}

static void guest_teardown(struct guest *g)
{
	if (g->run)
		munmap(g->run, g->run_size);
	if (g->vcpu >= 0)
		close(g->vcpu);
	if (g->mem && g->mem != MAP_FAILED)
		munmap(g->mem, GUEST_MEM);
	if (g->vm >= 0)
		close(g->vm);
}

/* Runs until the end port, an unexpected exit, or the deadline; returns 0 when the guest ended. */
static int guest_loop(struct guest *g, struct probe_kvm *kvm, double t0, double *first,
		      double *last, double mark[2])
{
	double deadline = t0 + RUN_TIMEOUT_MS * 1000.0;
	unsigned sink = 0, marks = 0;

	for (;;) {
		if (ioctl(g->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR && now_us() < deadline)
				continue;
			int e = errno;
			if (e == EINTR)
				snprintf(kvm->run_detail, sizeof(kvm->run_detail),
					 "guest did not finish within %d ms (after %u of %d port "
					 "writes)",
					 RUN_TIMEOUT_MS, sink, PROBE_KVM_GUEST_OUTS);
			else
				snprintf(kvm->run_detail, sizeof(kvm->run_detail), "KVM_RUN: %s",
					 strerror(e));
			errno = e;
			return errno == EINTR ? -ETIMEDOUT : -errno;
		}
		kvm->run_exits++;
		struct kvm_run *r = g->run;
		if (r->exit_reason == KVM_EXIT_IO && r->io.port == PORT_SINK) {
			*last = now_us();
			if (sink++ == 0)
				*first = *last;
			continue;
		}
		if (r->exit_reason == KVM_EXIT_IO && r->io.port == PORT_MARK) {
			if (marks < 2)
				mark[marks++] = now_us();
			continue;
		}
		if ((r->exit_reason == KVM_EXIT_IO && r->io.port == PORT_END) ||
		    r->exit_reason == KVM_EXIT_HLT)
			return sink == PROBE_KVM_GUEST_OUTS ? 0 : -EPROTO;
		snprintf(kvm->run_detail, sizeof(kvm->run_detail),
			 "unexpected exit reason %u after %u port writes%s", r->exit_reason, sink,
			 r->exit_reason == KVM_EXIT_INTERNAL_ERROR ? " (KVM internal error)" : "");
		return -EPROTO;
	}
}

/* A watchdog aimed at this thread alone: its signal interrupts this thread's KVM_RUN, nobody
 * else's. */
static int watchdog_start(timer_t *timer)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };
	struct itimerspec tick = { { 0, 100000000 }, { 0, 100000000 } };
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigset_t set;

	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (timer_create(CLOCK_MONOTONIC, &sev, timer) < 0)
		return -errno;
	return timer_settime(*timer, 0, &tick, NULL) < 0 ? -errno : 0;
}

/* The guest's loop on this CPU: the same two instructions, counted the same way. The fastest of 5
 * runs (the first warms the caches, as the guest's first exits do). */
static double native_loop_us(void)
{
	double best = 0;

	for (int run = 0; run < 5; run++) {
		unsigned n = PROBE_KVM_LOOP;
		double t = now_us();
		__asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n));
		t = now_us() - t;
		if (run == 0 || t < best)
			best = t;
	}
	return best;
}

int probe_kvm_run_guest(int sysfd, struct probe_kvm *kvm)
{
	struct guest g = { .vm = -1, .vcpu = -1 };
	double t0 = now_us(), first = 0, last = 0, mark[2] = { 0, 0 };
	timer_t timer;
	int rc;

	kvm->run_exits = 0;
	if ((rc = guest_setup(sysfd, &g, kvm->run_detail, sizeof(kvm->run_detail))) < 0)
		goto out;
	if ((rc = watchdog_start(&timer)) < 0) {
		snprintf(kvm->run_detail, sizeof(kvm->run_detail),
			 "not run: no watchdog timer (%s)", strerror(-rc));
		goto out;	/* never run a guest that could hang us */
	}
	rc = guest_loop(&g, kvm, t0, &first, &last, mark);
	timer_delete(timer);
	kvm->run_total_us = now_us() - t0;
	if (rc == 0) {
		kvm->exit_rtt_us = (last - first) / (PROBE_KVM_GUEST_OUTS - 1);
		if (mark[1] > mark[0]) {	/* the loop and one exit */
			kvm->ring0_loop_us = mark[1] - mark[0];
			kvm->native_loop_us = native_loop_us();
		}
		snprintf(kvm->run_detail, sizeof(kvm->run_detail),
			 "a real-mode guest made %d port writes and ended through port 0x%x",
			 PROBE_KVM_GUEST_OUTS, PORT_END);
	}
out:
	guest_teardown(&g);
	kvm->run_err = rc;
	return rc;
}
