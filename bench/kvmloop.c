/* kvmloop: the floor for bench/vmm.sh: the same guest image, loaded by nestvisor's boot library,
 * run by a bare KVM_RUN loop with no devices, no accounting and no threads. Prints the time per
 * exit. */
#include "config.h"
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "vmm/boot.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

int main(int argc, char **argv)
{
	static const uint64_t gdt[] = { 0, 0x00cf9b000000ffffull, 0x00af9b000000ffffull,
					0x00cf93000000ffffull };
	struct vmm_mem mem;
	struct vmm_boot b;
	struct vmm_boot_opts o = { 0 };
	struct stat st;
	char err[512];

	if (argc < 3) {
		fprintf(stderr, "usage: kvmloop IMAGE CMDLINE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(argv[1]);
	uint8_t *img = malloc((size_t)st.st_size);
	if (read(fd, img, (size_t)st.st_size) != st.st_size)
		die("read");
	o.kernel = (struct vmm_boot_image){ argv[1], img, (size_t)st.st_size };
	o.cmdline = argv[2];
	if (vmm_mem_init(&mem, 128u << 20) < 0 ||
	    vmm_boot_load(&mem, &o, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	vmm_mem_write(&mem, BOOT_GDT, gdt, sizeof(gdt));
	int kvm = open("/dev/kvm", O_RDWR), vm = ioctl(kvm, KVM_CREATE_VM, 0);
	struct kvm_userspace_memory_region r = { 0, 0, 0, mem.low, (uintptr_t)mem.host };
	if (vm < 0 || ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0 ||
	    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die("KVM VM");
	int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_run *run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
				   PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	struct kvm_sregs s;
	struct kvm_regs regs = { .rip = b.entry, .rflags = 2, .rax = b.rax, .rbx = b.rbx };
	ioctl(cpu, KVM_GET_SREGS, &s);
	struct kvm_segment code = { .limit = 0xffffffff,
				    .selector = 0x08,
				    .type = 0xb,
				    .present = 1,
				    .db = 1,
				    .s = 1,
				    .g = 1 },
			   data = code;
	data.selector = 0x18;
	data.type = 3;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.gdt.base = BOOT_GDT;
	s.gdt.limit = sizeof(gdt) - 1;
	s.cr0 = 0x11;
	if (ioctl(cpu, KVM_SET_SREGS, &s) < 0 || ioctl(cpu, KVM_SET_REGS, &regs) < 0)
		die("vCPU state");
	/* the CPUID KVM supports, so the guest may enter long mode */
	struct kvm_cpuid2 *id = calloc(1, sizeof(*id) + 256 * sizeof(id->entries[0]));
	id->nent = 256;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, id) < 0 || ioctl(cpu, KVM_SET_CPUID2, id) < 0)
		die("CPUID");
	unsigned long exits = 0;
	double t0 = now();
	for (;;) {
		if (ioctl(cpu, KVM_RUN, 0) < 0)
			die("KVM_RUN");
		exits++;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x80)
			continue;
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0xf4)
			break;
		fprintf(stderr, "kvmloop: unexpected exit %u\n", run->exit_reason);
		return 1;
	}
	double t = now() - t0;
	printf("%lu exits in %.3f s: %.3f us per exit\n", exits, t, t * 1e6 / (double)exits);
	return 0;
}
