/* nestvisor run: boot a kernel or test image in a KVM virtual machine and end with its exit status.
 */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "common/text.h"
#include "compat-db/compatdb.h"
#include <unistd.h>
#include "nested/nested.h"
#include "vmm/control.h"
#include "vmm/cpumodel.h"
#include "vmm/vmm.h"
#include "imgboot/imgboot.h"

static const struct cli_opt_help run_opts[] = {
	{ "--kernel FILE",
	  "a bzImage (the 64-bit boot protocol), an ELF vmlinux with a PVH note, a "
	  "multiboot image (kvm-unit-tests' .flat files), or with --load-addr a raw binary. "
	  "Without it the first --disk boots: its own kernel, initramfs and command line as its "
	  "boot loader would choose them (GRUB's grub.cfg default entry, BLS entries, Debian's "
	  "/vmlinuz links, on ext2/3/4; GPT, MBR or no partition table), read by a confined "
	  "process; console=ttyS0 is added unless it names a serial console" },
	{ "--initrd FILE", "an initrd (Linux) or multiboot module 1 (kvm-unit-tests' env file)" },
	{ "--cmdline STR",
	  "the kernel command line (Linux: e.g. \"console=ttyS0 root=/dev/vda\"); booting a "
	  "disk's own kernel, added after the image's" },
	{ "--cloud-init KEY=VAL,...",
	  "a cloud image's first boot: a NoCloud seed disk (ISO 9660, cidata) after the other "
	  "disks, with a user (user=NAME, default nestvisor, with sudo) who logs in with "
	  "ssh-key=FILE (a public key file) and/or password=WORD (kept only hashed); or "
	  "user-data=FILE, your own #cloud-config. With --net user,hostfwd=tcp::2222-:22: "
	  "ssh -p 2222 NAME@127.0.0.1" },
	{ "--mem SIZE",
	  "guest RAM, e.g. 128M (the default), 2G; a size above this host's free "
	  "memory is warned about" },
	{ "--cpus N, --smp N", "vCPUs (default 1; QEMU's \"4,sockets=1\" is taken too)" },
	{ "--name NAME",
	  "the VM's name for `nestvisor ps|stop|stats|console` (default vm-PID): "
	  "letters, digits, '.', '_', '-'" },
	{ "--console WHERE",
	  "the serial console: stdio (the default; Ctrl-a x ends the VM), pty, "
	  "none" },
	{ "--serial-log FILE",
	  "also write the serial console's output to FILE (created 0600, "
	  "never through a link)" },
	{ "--stats", "at the end, the VM exits by reason, port and MMIO region" },
	{ "--timeout SEC", "end the VM after SEC seconds (exit status 124)" },
	{ "--load-addr ADDR", "a raw binary: load it at guest-physical ADDR (hex or decimal)" },
	{ "--entry ADDR", "a raw binary: start there (default: the load address)" },
	{ "--detach",
	  "run in the background, the console on a pseudo-terminal (`nestvisor ps` "
	  "lists it)" },
	{ "--quiet",
	  "no line about how the VM ended, and with --detach not the two lines about "
	  "where it runs" },
	{ "--nested MODE",
	  "let the guest run its own hypervisor (VT-x/AMD-V in its CPUID): auto "
	  "(the default: where this host allows it, see `nestvisor probe`), on (refused where it "
	  "cannot, with the reason), off (the guest sees no VMX/SVM)" },
	{ "--disk FILE[,OPT]...",
	  "a virtio-blk disk, the guest's /dev/vda, vdb... in order: a raw "
	  "image or a block device (not one the host has mounted), a multiple of 512 bytes, locked "
	  "against other VMs, never reached through another user's link or directory. ro: "
	  "read-only; cache=none: "
	  "O_DIRECT, its requests in flight together through io_uring (aio=io_uring|sync chooses); "
	  "serial=ID: what the guest reads as its serial; format=raw: taken as raw even where it "
	  "begins like a qcow2 or another format (refused otherwise: `nestvisor image import` "
	  "converts those)" },
	{ "--net "
	  "user[,hostfwd=tcp|udp:[ADDR]:HOSTPORT-:GUESTPORT]...[,hostloopback=on][,restrict=on]",
	  "virtio-net with user-mode networking (libslirp): DHCP (10.0.2.15), DNS, outbound "
	  "TCP/UDP "
	  "with no root set-up. hostfwd listens on ADDR (127.0.0.1 when left out: every local user "
	  "can reach it). The host is 10.0.2.2, but its own 127.0.0.1 (a local database, an admin "
	  "API) is not the guest's to reach unless hostloopback=on (QEMU's default). restrict=on: "
	  "the guest reaches nothing outside but its forwarded ports" },
	{ "--net tap=NAME[,vhost=auto|on|off]",
	  "virtio-net on the tap device NAME (made if "
	  "there is none; configure or bridge it yourself), with checksum and segmentation "
	  "offloads; frames moved by vhost-net in the kernel where /dev/vhost-net exists (auto), "
	  "else by nestvisor's own thread" },
	{ "--rng", "a virtio-rng device: the guest's /dev/hwrng, from the host's getrandom" },
	{ "--device BDF",
	  "pass the host's PCI device BDF (as lspci shows it: 01:00.0) through to the guest with "
	  "VFIO; repeatable. It must be bound to vfio-pci (`nestvisor device bind BDF`) and its "
	  "IOMMU group viable; `nestvisor probe` judges every device. Its DMA reaches only guest "
	  "RAM (the IOMMU); it is reset before and after the VM. Devices of one IOMMU group (a "
	  "GPU and its audio function) go to one VM together: --device each" },
	{ "--sandbox on|off",
	  "on (the default): once the VM is set up, each of its threads drops every capability and "
	  "keeps only the system calls its work needs (seccomp); a forbidden call ends the VM "
	  "(exit status 159) saying which. off: for debugging" },
	{ "--cpu MODEL",
	  "the CPU the guest is shown: auto (the default: host on hardware KVM, baseline on a "
	  "software KVM), host (every feature KVM supports), baseline (the x86-64 CPU every 64-bit "
	  "kernel runs on: no cmpxchg16b, XSAVE, AVX, AES..., so a software KVM's emulator can run "
	  "its kernel)" },
	{ "--no-unpack",
	  "let a bzImage decompress itself in the guest; by default its kernel is "
	  "unpacked once into ~/.cache/nestvisor/kernels and entered directly (with KASLR)" },
	{ "--restore FILE",
	  "start the VM a snapshot holds (`nestvisor snapshot`) where it was saved, not a boot; "
	  "with --name, --detach, --console, --timeout. The same file restores as many times as "
	  "you like" },
	{ "--help", "this help" },
	{ NULL, NULL },
};

void cli_run_usage(void)
{
	static const struct cli_help h = {
		.synopsis = "nestvisor run --kernel FILE [OPTION]...\n"
			    "       nestvisor run --disk IMAGE [--cloud-init ...] [OPTION]...\n"
			    "       nestvisor run --restore FILE [--name NAME] [--detach]",
		.about = "Boots a kernel or test image, or an OS image's own kernel, in a KVM "
			 "virtual machine and ends with its exit status.",
		.opts = run_opts,
		.footer = "exit status: (v << 1) | 1 when the guest writes v to port 0xf4 "
			  "(isa-debug-exit); 0 when it resets or powers off; 124 timeout, 125 a "
			  "passed-through device was taken back by the host or failed, 126 KVM "
			  "could not emulate, 128 triple fault, 130 stopped, 159 a forbidden "
			  "system call (the sandbox), 100 unexpected exit, 2 the VM could not be "
			  "set up",
	};

	cli_help_print(&h);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end ? -EINVAL : 0;
}

/* "nestvisor run: " and the message on stderr; -1, for a parse that stops there. */
static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;

	fputs("nestvisor run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "mem", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'n' },
	{ "smp", required_argument, NULL, 'n' },
	{ "name", required_argument, NULL, 'N' },
	{ "console", required_argument, NULL, 'C' },
	{ "serial-log", required_argument, NULL, 'l' },
	{ "stats", no_argument, NULL, 's' },
	{ "timeout", required_argument, NULL, 't' },
	{ "load-addr", required_argument, NULL, 'L' },
	{ "entry", required_argument, NULL, 'e' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "detach", no_argument, NULL, 'd' },
	{ "no-unpack", no_argument, NULL, 'U' },
	{ "nested", required_argument, NULL, 'X' },
	{ "cpu", required_argument, NULL, 'P' },
	{ "rng", no_argument, NULL, 'R' },
	{ "disk", required_argument, NULL, 'D' },
	{ "net", required_argument, NULL, 'W' },
	{ "device", required_argument, NULL, 'V' },
	{ "sandbox", required_argument, NULL, 'S' },
	{ "cloud-init", required_argument, NULL, 'I' },
	{ "restore", required_argument, NULL, 'r' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int set_disk(struct vmm_config *cfg, const char *arg)
{
	char err[600];

	if (cfg->ndisks >= VMM_MAX_DISKS)
		return bad("at most %d --disk", VMM_MAX_DISKS);
	if (vmm_disk_parse(arg, &cfg->disks[cfg->ndisks], err, sizeof(err)) < 0)
		return bad("%s", err);
	cfg->ndisks++;
	return 0;
}

static int set_device(struct vmm_config *cfg, const char *arg)
{
	char err[200], bdf[16];

	if (cfg->npassthrough >= VMM_MAX_PASSTHROUGH)
		return bad("at most %d --device", VMM_MAX_PASSTHROUGH);
	if (vmm_pci_addr_parse(arg, bdf, err, sizeof(err)) < 0)
		return bad("--device: %s", err);
	for (int i = 0; i < cfg->npassthrough; i++)
		if (!strcmp(cfg->passthrough[i], bdf))
			return bad("--device %s: given twice", bdf);
	memcpy(cfg->passthrough[cfg->npassthrough++], bdf, sizeof(bdf));
	/* what became of it is kept beside the probe's verdicts */
	cfg->passthrough_open = compatdb_passthrough_open;
	cfg->passthrough_tell = compatdb_passthrough_tell;
	cfg->passthrough_close = compatdb_passthrough_close;
	return 0;
}

static int set_mem(struct vmm_config *cfg, const char *arg)
{
	if (vmm_size_parse(arg, &cfg->mem) < 0 || (cfg->mem & 0xfff) || cfg->mem < (1ull << 20) ||
	    cfg->mem > VMM_MEM_MAX)
		return bad("--mem %s: give a size like 128M or 2G (1M to %lluG)", arg,
			   VMM_MEM_MAX >> 30);
	return 0;
}

/* "4", or QEMU's "4,sockets=1" */
static int set_cpus(struct vmm_config *cfg, const char *arg)
{
	char *end;

	errno = 0;
	long n = strtol(arg, &end, 10);
	if (errno || end == arg || (*end && *end != ',') || n < 1 || n > VMM_MAX_CPUS)
		return bad("--cpus %s: give 1 to %d", arg, VMM_MAX_CPUS);
	cfg->cpus = (int)n;
	return 0;
}

static int set_timeout(struct vmm_config *cfg, const char *arg)
{
	char *end;

	errno = 0;
	cfg->timeout = strtod(arg, &end);
	if (errno || end == arg || *end || !(cfg->timeout >= 0 && cfg->timeout <= VMM_TIMEOUT_MAX))
		return bad("--timeout %s: give seconds from 0 (none) to %d", arg, VMM_TIMEOUT_MAX);
	return 0;
}

static int set_console(struct vmm_config *cfg, const char *arg)
{
	static const struct { const char *name; enum vmm_console mode;
	} modes[] = {
		{ "stdio", VMM_CONSOLE_STDIO },
		{ "pty", VMM_CONSOLE_PTY },
		{ "none", VMM_CONSOLE_NONE },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(arg, modes[i].name)) {
			cfg->console = modes[i].mode;
			return 0;
		}
	return bad("--console %s: stdio, pty or none", arg);
}

/* The options whose value is checked: 0, or -1 with the message printed. */
static int set_checked(struct vmm_config *cfg, int opt, const char *arg)
{
	enum nested_mode m;
	enum vmm_cpu_model model;

	switch (opt) {
	case 'D': return set_disk(cfg, arg);
	case 'V': return set_device(cfg, arg);
	case 'm': return set_mem(cfg, arg);
	case 'n': return set_cpus(cfg, arg);
	case 't': return set_timeout(cfg, arg);
	case 'C': return set_console(cfg, arg);
	case 'S':
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return bad("--sandbox %s: on or off", arg);
		cfg->sandbox = !strcmp(arg, "on");
		return 0;
	case 'P':
		if (vmm_cpumodel_parse(arg, &model) < 0)
			return bad("--cpu %s: auto, host or baseline", arg);
		cfg->cpu_model = model;
		return 0;
	case 'X':
		if (nested_mode_parse(arg, &m) < 0)
			return bad("--nested %s: auto, on or off", arg);
		cfg->nested = m;
		return 0;
	case 'L':
		cfg->flat = true;
		if (parse_u64(arg, &cfg->load_addr) < 0)
			return bad("--load-addr %s: not a number", arg);
		return 0;
	case 'e':
		if (parse_u64(arg, &cfg->entry) < 0)
			return bad("--entry %s: not a number", arg);
		return 0;
	default:
		cli_run_usage();
		return -1;
	}
}

/* --restore: the VM is the snapshot's; what would make another one is refused, not ignored */
static int restore_args(const struct vmm_config *cfg, const char *cloud, bool sized)
{
	if (cfg->kernel || cfg->initrd || cfg->cmdline || cfg->ndisks || cfg->net || cfg->rng ||
	    cfg->npassthrough || cloud || sized)
		return bad("--restore starts the VM a snapshot holds (its memory, vCPUs, CPU model "
			   "and devices): leave out --kernel, --initrd, --cmdline, --disk, --net, "
			   "--rng, --device, --cloud-init, --mem, --cpus, --nested and --cpu");
	return 0;
}

static int parse_args(int argc, char **argv, struct vmm_config *cfg, bool *stats, bool *detach,
		      const char **cloud, const char **restore)
{
	char err[256];
	bool sized = false;
	int opt;

	while ((opt = getopt_long_only(argc, argv, "h", run_options, NULL)) != -1) {
		sized |= opt == 'm' || opt == 'n' || opt == 'X' || opt == 'P';
		switch (opt) {
		case 'r': *restore = optarg; break;
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'c': cfg->cmdline = optarg; break;
		case 'N': cfg->name = optarg; break;
		case 'I': *cloud = optarg; break;
		case 'l': cfg->serial_log = optarg; break;
		case 's': *stats = true; break;
		case 'q': cfg->quiet = true; break;
		case 'd': *detach = true; break;
		case 'U': cfg->no_unpack = true; break;
		case 'R': cfg->rng = true; break;
		case 'W': cfg->net = optarg; break;
		case 'h': cli_run_usage(); return 1;
		default:
			if (set_checked(cfg, opt, optarg) < 0)
				return -1;
		}
	}
	if (*restore && optind == argc) {
		if (restore_args(cfg, *cloud, sized) < 0)
			return -1;
	} else if ((!cfg->kernel && !cfg->ndisks) || optind < argc) {
		fprintf(stderr, "nestvisor run: %s; see `nestvisor run --help`\n",
			optind < argc ? "unexpected argument" :
					"--kernel FILE or --disk IMAGE (an OS image) is required");
		return -1;
	}
	if (!cfg->kernel && cfg->initrd)
		return bad("--initrd goes with --kernel (an image's own initramfs is read from it)");
	/* before any file is named after it */
	if (vmm_control_name_check(cfg->name, err, sizeof(err)) < 0)
		return bad("%s", err);
	/* a qcow2 given as a disk is said before anything else, on any host */
	for (int i = 0; i < cfg->ndisks; i++)
		if (vmm_disk_check(&cfg->disks[i], err, sizeof(err)) < 0)
			return bad("%s", err);
	const char *pass[VMM_MAX_PASSTHROUGH];
	for (int i = 0; i < cfg->npassthrough; i++)
		pass[i] = cfg->passthrough[i];
	return cli_device_gate(pass, cfg->npassthrough);
}

/* Guest memory is mapped, not taken: more than the host has starts, then fails when the guest
 * touches it (the OOM killer, for this VM or another process). Said before, not refused. */
static void warn_memory(const struct vmm_config *cfg)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kib = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	if (kib && cfg->mem > kib << 10)
		fprintf(stderr,
			"nestvisor run: --mem %llu MiB is more than this host has available (%llu "
			"MiB): the guest starts, but the host runs out of memory as the guest uses "
			"it\n",
			(unsigned long long)(cfg->mem >> 20), kib >> 10);
}

/* --detach: the VM in a process of its own (vmm_spawn); this one returns once the VM is up. */
static int detach(const struct vmm_config *cfg, bool stats)
{
	struct vmm_spawned sp;
	char err[1100];

	if (vmm_spawn(cfg, stats, &sp, err, sizeof(err)) < 0) {
		fprintf(stderr, "nestvisor run: %s\n", err);
		return VMM_STATUS_SETUP_ERROR;
	}
	if (cfg->quiet)
		return CLI_OK;
	printf("VM %s running in the background (pid %d); console: %s\n", cfg->name, sp.pid,
	       sp.pty);
	printf("`nestvisor ps` lists it, `nestvisor console %s` attaches to its console, "
	       "`nestvisor stats %s` shows its exits, `nestvisor stop %s` ends it\n",
	       cfg->name, cfg->name, cfg->name);
	return CLI_OK;
}

int cli_run(int argc, char **argv)
{
	struct vmm_config cfg = { .mem = 128ull << 20,
				  .cpus = 1,
				  .console = VMM_CONSOLE_STDIO,
				  .log = vmm_log_stderr,
				  .sandbox = true };
	bool stats = false, bg = false;
	const char *cloud = NULL, *how, *restore = NULL;
	char err[2048], name[32];
	static struct imgboot_vm image;	/* the VM reads it, here or in its own process */
	struct vmm *vm;
	int rc;

	snprintf(name, sizeof(name), "vm-%d", (int)getpid());
	cfg.name = name;
	if ((rc = parse_args(argc, argv, &cfg, &stats, &bg, &cloud, &restore)) != 0)
		return rc > 0 ? CLI_OK : CLI_ERROR;
	if (restore && vmm_snapshot_open(restore, &cfg, err, sizeof(err)) < 0) {
		text_clean(err);
		fprintf(stderr, "nestvisor run: %s\n", err);
		return VMM_STATUS_SETUP_ERROR;	/* as a file refused while the VM is made */
	}
	if (imgboot_vm_prepare(&cfg, cloud, &image, &how, err, sizeof(err)) < 0) {
		fprintf(stderr, "nestvisor run: %s\n", err);
		return CLI_ERROR;
	}
	if (how && !cfg.quiet)
		fprintf(stderr, "nestvisor run: booting %s: %s\n", cfg.disks[0].path, how);
	warn_memory(&cfg);
	if (bg) {
		rc = detach(&cfg, stats);
		imgboot_vm_release(&image, rc != CLI_OK);	/* a running VM's seed stays beside it */
		vmm_snapshot_close(&cfg);
		return rc;
	}
	/* one thread takes them and stops the VM; vCPU threads inherit the mask */
	vmm_signals_block();
	if (vmm_create(&cfg, &vm, err, sizeof(err)) < 0) {
		fprintf(stderr, "nestvisor run: %s\n", err);
		imgboot_vm_release(&image, true);
		vmm_snapshot_close(&cfg);
		return VMM_STATUS_SETUP_ERROR;
	}
	struct vmm_serve_opts opt = { .cfg = &cfg, .stats = stats, .ready_fd = -1, .log = stderr };
	rc = vmm_serve(vm, &opt);
	imgboot_vm_release(&image, true);
	vmm_snapshot_close(&cfg);
	return rc;
}
