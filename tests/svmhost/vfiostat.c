/* vfiostat: VFIO's own answer for one PCI device, which i-vfio.sh compares with the probe's. The
 * device must be bound to vfio-pci (so /dev/vfio/GROUP exists). Prints one line:
 *   BDF group N viable 0|1 openable 0|1 [regions R irqs I reset 0|1] [why: ...]
 * viable: VFIO_GROUP_GET_STATUS's flag; openable: the group joins a type1v2 container and
 * VFIO_GROUP_GET_DEVICE_FD gives the device. Exit 0 when VFIO answered, 2 when it could not be
 * asked (no group, no /dev/vfio). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int group_of(const char *bdf)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	const char *slash;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	slash = strrchr(target, '/');
	return slash ? atoi(slash + 1) : -1;
}

int main(int argc, char **argv)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char path[64];
	int group, container, gfd, dev;

	if (argc != 2 || strlen(argv[1]) != 12) {
		fprintf(stderr, "usage: vfiostat DDDD:BB:DD.F\n");
		return 2;
	}
	group = group_of(argv[1]);
	if (group < 0) {
		printf("%s group none: %s\n", argv[1], strerror(errno));
		return 2;
	}
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0 || ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		printf("%s group %d: /dev/vfio/vfio: no type1v2 container (%s)\n", argv[1], group,
		       strerror(errno));
		return 2;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	gfd = open(path, O_RDWR);
	if (gfd < 0 || ioctl(gfd, VFIO_GROUP_GET_STATUS, &st) < 0) {
		printf("%s group %d: %s: %s\n", argv[1], group, path, strerror(errno));
		return 2;
	}
	printf("%s group %d viable %d", argv[1], group, !!(st.flags & VFIO_GROUP_FLAGS_VIABLE));
	/* tried even when not viable: VFIO's refusal is part of its answer */
	if (ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &container) < 0) {
		printf(" openable 0 why: VFIO_GROUP_SET_CONTAINER: %s\n", strerror(errno));
		return 0;
	}
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		printf(" openable 0 why: VFIO_SET_IOMMU: %s\n", strerror(errno));
		return 0;
	}
	dev = ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	if (dev < 0) {
		printf(" openable 0 why: VFIO_GROUP_GET_DEVICE_FD: %s\n", strerror(errno));
		return 0;
	}
	if (ioctl(dev, VFIO_DEVICE_GET_INFO, &info) < 0) {
		printf(" openable 1 why: VFIO_DEVICE_GET_INFO: %s\n", strerror(errno));
		return 0;
	}
	printf(" openable 1 regions %u irqs %u reset %d\n", info.num_regions, info.num_irqs,
	       !!(info.flags & VFIO_DEVICE_FLAGS_RESET));
	close(dev);
	close(gfd);
	close(container);
	return 0;
}
