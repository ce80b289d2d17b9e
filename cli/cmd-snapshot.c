/* nestvisor snapshot: a running VM saved to a file (docs/snapshot.md), or a file checked. The
 * file is created here, by the user who asks, and handed to the VM over its control socket: the
 * VM, confined, opens nothing itself. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "common/text.h"
#include "vmm/vmm.h"

void cli_snapshot_usage(void)
{
	static const struct cli_opt_help opts[] = {
		{ "--stop", "end the VM once it is saved (nothing it does after is lost: it does "
			    "nothing more)" },
		{ "--verify FILE", "check a snapshot file: its header, sections and every checksum, "
				   "guest memory included" },
		{ "--help", "this help" },
		{ NULL, NULL },
	};
	static const struct cli_help h = {
		.synopsis = "nestvisor snapshot NAME FILE [--stop]\n       nestvisor snapshot --verify "
			    "FILE",
		.about = "Saves the running VM NAME into FILE, a new file (mode 0600: it holds the "
			 "guest's memory): paused while it writes, then resumed (or ended, --stop). "
			 "`nestvisor run --restore FILE` starts it again where it was, as many times "
			 "as you like. Its memory, every vCPU (nested state included), the interrupt "
			 "controllers, timer and clock and its platform devices are saved; VMs with "
			 "--disk, --net, --rng or --device cannot be saved yet.",
		.opts = opts,
		.footer = "exit status: 0 saved (or verified), 1 refused or failed, 2 bad usage",
	};
	cli_help_print(&h);
}

static int verify(const char *path)
{
	struct vmm_config cfg = { 0 };
	char err[1024];

	if (vmm_snapshot_open(path, &cfg, err, sizeof(err)) < 0 ||
	    vmm_snapshot_verify(&cfg, err, sizeof(err)) < 0) {
		text_clean(err);
		fprintf(stderr, "nestvisor snapshot: %s\n", err);
		vmm_snapshot_close(&cfg);
		return CLI_FAILED;
	}
	printf("%s: a whole snapshot of %d vCPU(s) and %llu MiB (%s)\n", path, cfg.cpus,
	       (unsigned long long)(cfg.mem >> 20), cfg.kernel);
	vmm_snapshot_close(&cfg);
	return CLI_OK;
}

int cli_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stop", no_argument, NULL, 's' }, { "verify", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	char err[512] = "", *reply = NULL;
	const char *check = NULL;
	bool stop = false;
	int opt, rc, fd;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': stop = true; break;
		case 'v': check = optarg; break;
		case 'h': cli_snapshot_usage(); return CLI_OK;
		default: cli_snapshot_usage(); return CLI_ERROR;
		}
	}
	if (check)
		return optind == argc ? verify(check) : (cli_snapshot_usage(), CLI_ERROR);
	if (optind + 2 != argc) {
		cli_snapshot_usage();
		return CLI_ERROR;
	}
	const char *name = argv[optind], *path = argv[optind + 1];
	/* never over a file that is there, never through a link: as root, /tmp is anyone's */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "nestvisor snapshot: %s: %s%s\n", path, strerror(errno),
			errno == EEXIST ? " (a snapshot is written to a new file: choose another "
					  "name, or remove it)" : "");
		return CLI_FAILED;
	}
	rc = vmm_control_snapshot(name, fd, stop, &reply, err, sizeof(err));
	close(fd);
	if (rc < 0) {
		unlink(path);	/* ours: made above, and nothing whole is in it */
		free(reply);
		text_clean(err);
		if (rc == -ENOENT || rc == -EINVAL)
			fprintf(stderr, "nestvisor snapshot: no VM named %s is running (`nestvisor "
				"ps` lists them)\n", name);
		else
			fprintf(stderr, "nestvisor snapshot: %s: %s\n", name,
				err[0] ? err : "no answer from the VM");
		return CLI_FAILED;
	}
	json_object *o = json_tokener_parse(reply), *m;
	double ms = o && json_object_object_get_ex(o, "ms", &m) ? json_object_get_double(m) : 0;
	long long disk = o && json_object_object_get_ex(o, "disk_bytes", &m) ?
				 json_object_get_int64(m) : 0;
	long long mem = o && json_object_object_get_ex(o, "mem", &m) ? json_object_get_int64(m) : 0;
	printf("VM %s saved to %s in %.0f ms (%lld MiB of RAM, %.1f MiB on disk)%s\n", name, path,
	       ms, mem >> 20, (double)disk / (1 << 20), stop ? "; it has ended" : "");
	json_object_put(o);
	free(reply);
	return CLI_OK;
}
