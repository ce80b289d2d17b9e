/* nestvisor run: boot a kernel or test image in a KVM virtual machine and end with its exit status. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "vmm/vmm.h"

void cli_run_usage(void)
{
	printf("usage: nestvisor run --kernel FILE [--initrd FILE] [--cmdline STR] [--mem SIZE] [--cpus N]\n"
	       "                     [--name NAME] [--console stdio|pty|none] [--serial-log FILE] [--stats]\n"
	       "                     [--timeout SEC] [--load-addr ADDR [--entry ADDR]] [--quiet]\n\n"
	       "  --kernel FILE      a bzImage (64-bit boot protocol), an ELF vmlinux with a PVH note, a multiboot\n"
	       "                     image (kvm-unit-tests' .flat files), or with --load-addr a raw binary\n"
	       "  --initrd FILE      an initrd (Linux) or multiboot module 1 (kvm-unit-tests' env file)\n"
	       "  --mem SIZE         guest RAM, e.g. 128M (default), 2G\n"
	       "  --cpus N, -smp N   vCPUs (default 1)\n"
	       "  --console WHERE    the serial console: stdio (default; Ctrl-a x quits), pty, none\n"
	       "  --stats            print the VM exits by reason, port and MMIO region at the end\n"
	       "  --timeout SEC      end the VM after SEC seconds (exit status 124)\n\n"
	       "exit status: (v << 1) | 1 when the guest writes v to port 0xf4; 0 when it resets or powers off;\n"
	       "124 timeout, 126 KVM could not emulate, 128 triple fault, 130 stopped, 100 unexpected exit,\n"
	       "2 the VM could not be set up\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);

	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'G': case 'g': v <<= 30; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'K': case 'k': v <<= 10; end++; break;
	case '\0': if (v < (1ull << 20)) v <<= 20; break;	/* a bare small number means MiB, as QEMU's -m */
	default: return -EINVAL;
	}
	if (*end && strcmp(end, "iB") && strcmp(end, "B"))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end ? -EINVAL : 0;
}

struct sig_ctx { struct vmm *vm; sigset_t set; };

static void *signal_thread(void *arg)
{
	struct sig_ctx *sc = arg;
	int sig;

	if (sigwait(&sc->set, &sig) == 0 && sig != SIGUSR2)
		vmm_stop(sc->vm);
	return NULL;
}

static int parse_args(int argc, char **argv, struct vmm_config *cfg, bool *stats)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' }, { "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' }, { "smp", required_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' }, { "console", required_argument, NULL, 'C' },
		{ "serial-log", required_argument, NULL, 'l' }, { "stats", no_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' }, { "load-addr", required_argument, NULL, 'L' },
		{ "entry", required_argument, NULL, 'e' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'c': cfg->cmdline = optarg; break;
		case 'N': cfg->name = optarg; break;
		case 'l': cfg->serial_log = optarg; break;
		case 's': *stats = true; break;
		case 'q': cfg->quiet = true; break;
		case 'm':
			if (parse_size(optarg, &cfg->mem) < 0 || (cfg->mem & 0xfff))
				return fprintf(stderr, "nestvisor run: --mem %s: give a size like 128M or 2G\n", optarg), -1;
			break;
		case 'n': cfg->cpus = atoi(optarg); break;	/* "4" or QEMU's "4,sockets=1" */
		case 't': cfg->timeout = atof(optarg); break;
		case 'L': cfg->flat = true;
			if (parse_u64(optarg, &cfg->load_addr) < 0)
				return fprintf(stderr, "nestvisor run: --load-addr %s: not a number\n", optarg), -1;
			break;
		case 'e':
			if (parse_u64(optarg, &cfg->entry) < 0)
				return fprintf(stderr, "nestvisor run: --entry %s: not a number\n", optarg), -1;
			break;
		case 'C':
			if (!strcmp(optarg, "stdio")) cfg->console = VMM_CONSOLE_STDIO;
			else if (!strcmp(optarg, "pty")) cfg->console = VMM_CONSOLE_PTY;
			else if (!strcmp(optarg, "none")) cfg->console = VMM_CONSOLE_NONE;
			else return fprintf(stderr, "nestvisor run: --console %s: stdio, pty or none\n", optarg), -1;
			break;
		case 'h': cli_run_usage(); return 1;
		default: cli_run_usage(); return -1;
		}
	}
	if (!cfg->kernel || optind < argc) {
		fprintf(stderr, "nestvisor run: %s; see `nestvisor run --help`\n",
			cfg->kernel ? "unexpected argument" : "--kernel FILE is required");
		return -1;
	}
	return 0;
}

int cli_run(int argc, char **argv)
{
	struct vmm_config cfg = { .mem = 128ull << 20, .cpus = 1, .console = VMM_CONSOLE_STDIO, .name = "vm" };
	struct sig_ctx sc;
	struct vmm *vm;
	pthread_t sig_tid;
	bool stats = false;
	char err[1024];
	int rc;

	if ((rc = parse_args(argc, argv, &cfg, &stats)) != 0)
		return rc > 0 ? CLI_OK : CLI_ERROR;
	/* Signals go to one thread, which stops the VM; vCPU threads inherit the mask. */
	sigemptyset(&sc.set);
	sigaddset(&sc.set, SIGINT);
	sigaddset(&sc.set, SIGTERM);
	sigaddset(&sc.set, SIGHUP);
	sigaddset(&sc.set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sc.set, NULL);
	if (vmm_create(&cfg, &vm, err, sizeof(err)) < 0) {
		fprintf(stderr, "nestvisor run: %s\n", err);
		return VMM_STATUS_SETUP_ERROR;
	}
	sc.vm = vm;
	pthread_create(&sig_tid, NULL, signal_thread, &sc);
	rc = vmm_run(vm);
	pthread_kill(sig_tid, SIGUSR2);
	pthread_join(sig_tid, NULL);
	if (vmm_report(vm)[0])
		fprintf(stderr, "\nnestvisor: VM %s ended: %s\n%s", cfg.name, vmm_end_name(vmm_end_reason(vm)), vmm_report(vm));
	if (stats) {
		struct vmm_stats s;
		vmm_stats_get(vm, &s);
		fprintf(stderr, "\nnestvisor: VM %s ended (%s, exit status %d)\n", cfg.name,
			vmm_end_name(vmm_end_reason(vm)), rc);
		vmm_stats_print(&s, stderr);
	}
	vmm_destroy(vm);
	return rc;
}
