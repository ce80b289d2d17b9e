/* nestvisor device bind|release BDF: a host PCI device handed to vfio-pci for passthrough, and
 * given back to its host driver; the probe's verdict is the gate. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "probe/probe.h"
#include "vmm/vmm.h"

static const struct cli_opt_help device_opts[] = {
	{ "bind BDF [--group]",
	  "hand the device to vfio-pci (driver_override), for `nestvisor run --device BDF`. Refused "
	  "with the probe's reason unless the probe calls it ready; --group hands over the other "
	  "devices of its IOMMU group too, when their host drivers are what keeps it from being "
	  "ready (each is named)" },
	{ "release BDF", "give the device back to the host driver the kernel picks for it" },
	{ NULL, NULL },
};

void cli_device_usage(void)
{
	static const struct cli_help h = {
		.synopsis = "nestvisor device bind|release BDF",
		.about = "Hands a host PCI device to vfio-pci for passthrough, and back.",
		.opts = device_opts,
		.footer = "exit status: 0 done (or already so), 1 refused, 2 bad usage",
	};
	cli_help_print(&h);
}

static int sysfs_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void driver_of(const char *bdf, char *out, size_t len)
{
	char path[96], target[512];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(out, len, "none");
		return;
	}
	target[n] = '\0';
	const char *b = strrchr(target, '/');
	snprintf(out, len, "%.47s", b ? b + 1 : target);
}

/* One device onto vfio-pci (override) or off it (override cleared): unbound from what has it,
 * then the kernel's own matching does the rest. */
static int rebind(const char *bdf, bool to_vfio)
{
	char path[128], drv[48];
	int rc;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	if ((rc = sysfs_write(path, to_vfio ? "vfio-pci" : "\n")) < 0)
		return rc;
	driver_of(bdf, drv, sizeof(drv));
	if (strcmp(drv, "none")) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		if ((rc = sysfs_write(path, bdf)) < 0)
			return rc;
	}
	sysfs_write("/sys/bus/pci/drivers_probe", bdf);	/* no driver matching is no error */
	return 0;
}

/* The probe's judgement of every PCI device (no test guest run): their count, or -1 said as who. */
static int judge(const char *who, struct probe_report *rep, const struct probe_pci_dev **devs)
{
	struct probe_options opt = { .skip_functional = true };
	char err[256];

	if (probe_run(&opt, rep, err, sizeof(err)) < 0) {
		fprintf(stderr, "nestvisor %s: the probe could not run: %s\n", who, err);
		return -1;
	}
	return probe_report_devices(rep, devs, NULL);
}

static int do_bind(const char *bdf, bool group)
{
	struct probe_report rep;
	const struct probe_pci_dev *devs, *d;
	char drv[48];
	int n, rc = CLI_FAILED;

	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK) < 0) {
		fprintf(stderr, "nestvisor device bind: vfio-pci is not loaded: modprobe vfio-pci\n");
		return CLI_FAILED;
	}
	if ((n = judge("device bind", &rep, &devs)) < 0)
		return CLI_FAILED;
	if (!(d = probe_report_device(&rep, bdf))) {
		fprintf(stderr, "nestvisor device bind %s: no such PCI device here (lspci lists "
			"them)\n", bdf);
		goto out;
	}
	bool peers = d->vfio && !strcmp(d->vfio, "not-viable");
	if (strcmp(d->verdict, "ready") && !(group && peers)) {
		fprintf(stderr, "nestvisor device bind %s: the probe says %s: %s%s\n", bdf,
			d->verdict, d->reason, peers ? " (--group hands the whole group over)" : "");
		goto out;
	}
	driver_of(bdf, drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci")) {
		printf("%s is bound to vfio-pci already\n", bdf);
	} else if ((rc = rebind(bdf, true)) < 0) {
		fprintf(stderr, "nestvisor device bind %s: %s\n", bdf, strerror(-rc));
		rc = CLI_FAILED;
		goto out;
	} else {
		printf("%s: %s -> vfio-pci\n", bdf, drv);
	}
	rc = CLI_OK;
	for (int i = 0; group && d->group >= 0 && i < n; i++) {	/* its group's peers; bridges stay */
		if (devs[i].group != d->group || &devs[i] == d || !devs[i].vfio)
			continue;
		driver_of(devs[i].addr, drv, sizeof(drv));
		if (!strcmp(drv, "vfio-pci") || !strcmp(drv, "pcieport"))
			continue;
		if (rebind(devs[i].addr, true) < 0) {
			fprintf(stderr, "nestvisor device bind: %s (of its group) stays on %s\n",
				devs[i].addr, drv);
			rc = CLI_FAILED;
		} else {
			printf("%s (IOMMU group %d too): %s -> vfio-pci\n", devs[i].addr, d->group, drv);
		}
	}
	driver_of(bdf, drv, sizeof(drv));
	if (rc == CLI_OK && strcmp(drv, "vfio-pci")) {
		fprintf(stderr, "nestvisor device bind %s: vfio-pci did not take it (it has %s)\n",
			bdf, drv);
		rc = CLI_FAILED;
	}
out:
	probe_report_free(&rep);
	return rc;
}

int cli_device_gate(const char *const *bdfs, int count)
{
	struct probe_report rep;
	const struct probe_pci_dev *devs, *d;
	int n, rc = 0;

	if (!count)
		return 0;
	if ((n = judge("run: --device", &rep, &devs)) < 0)
		return -1;
	for (int i = 0; i < count && rc == 0; i++)
		if ((d = probe_report_device(&rep, bdfs[i])) && strcmp(d->verdict, "ready")) {
			fprintf(stderr, "nestvisor run: --device %s: the probe says %s: %s\n", bdfs[i],
				d->verdict, d->reason);
			rc = -1;
		}
	probe_report_free(&rep);
	return rc;	/* a device the probe did not find: the VMM says so, in its words */
}

static int do_release(const char *bdf)
{
	char drv[48], grp[96], path[128];
	int rc, fd;

	driver_of(bdf, drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci")) {
		printf("%s is not on vfio-pci (it has %s): nothing to release\n", bdf, drv);
		return CLI_OK;
	}
	/* a VM holding its group would make the unbind wait until it ends */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	ssize_t n = readlink(path, grp, sizeof(grp) - 1);
	if (n > 0) {
		grp[n] = '\0';
		snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(grp, '/') ? strrchr(grp, '/') + 1 :
			 grp);
		if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 && errno == EBUSY) {
			fprintf(stderr, "nestvisor device release %s: a VM (or another program) has "
				"it: stop that first (nestvisor ps lists VMs)\n", bdf);
			return CLI_FAILED;
		}
		if (fd >= 0)
			close(fd);
	}
	if ((rc = rebind(bdf, false)) < 0) {
		fprintf(stderr, "nestvisor device release %s: %s\n", bdf, strerror(-rc));
		return CLI_FAILED;
	}
	driver_of(bdf, drv, sizeof(drv));
	printf("%s: vfio-pci -> %s\n", bdf, drv);
	return CLI_OK;
}

int cli_device(int argc, char **argv)
{
	char bdf[16], err[200];
	bool group = false;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		cli_device_usage();
		return CLI_OK;
	}
	if (argc == 4 && !strcmp(argv[1], "bind") && !strcmp(argv[3], "--group"))
		group = true;
	else if (argc != 3 || (strcmp(argv[1], "bind") && strcmp(argv[1], "release"))) {
		fprintf(stderr, "nestvisor device: bind BDF [--group] or release BDF; see "
			"`nestvisor device --help`\n");
		return CLI_ERROR;
	}
	if (vmm_pci_addr_parse(argv[2], bdf, err, sizeof(err)) < 0) {
		fprintf(stderr, "nestvisor device: %s\n", err);
		return CLI_ERROR;
	}
	return !strcmp(argv[1], "bind") ? do_bind(bdf, group) : do_release(bdf);
}
