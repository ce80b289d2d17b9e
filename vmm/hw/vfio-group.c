/* vfio-group: the IOMMU groups and the one VFIO container of a VM's passed-through devices.
 * VFIO opens a group once, and the IOMMU isolates groups, not devices: two devices of one group (a
 * GPU and its audio function, the functions of a multifunction card without ACS) go to one VM
 * together and share the group's fd. Every group of the VM joins one type1v2 container, where
 * guest RAM is DMA-mapped once (QEMU keeps one container per address space the same way). The
 * container is a device instance of its own, registered before the first passed-through device,
 * so that it is torn down after the last (device.c: last registered first). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "vmm/device.h"
#include "vmm/hw/vfio.h"
#include "vmm/vm.h"

struct vfio_space {
	int container;		/* -1 until the first group joins */
	bool iommu_set, ram_mapped;
	int ngroups;
	struct {
		int id, fd, users;
	} group[VMM_MAX_PASSTHROUGH];
};

static void space_destroy(struct vmm *vm, void *priv)
{
	struct vfio_space *sp = priv;

	(void)vm;
	for (int i = 0; i < sp->ngroups; i++)	/* each device gave its group back already */
		if (sp->group[i].fd >= 0)
			close(sp->group[i].fd);
	if (sp->container >= 0)
		close(sp->container);	/* its DMA mappings go with it */
	free(sp);
}

static const struct vmm_device_ops space_ops = { .kind = "vfio-container",
						 .destroy = space_destroy };

static struct vfio_space *space_of(struct vmm *vm)
{
	struct vfio_space *sp = vmm_device_get(vm, &space_ops, 0);

	if (sp || !(sp = calloc(1, sizeof(*sp))))
		return sp;
	sp->container = -1;
	if (vmm_device_add(vm, &space_ops, sp) < 0) {
		free(sp);
		return NULL;
	}
	return sp;
}

/* The device's driver and IOMMU group, as sysfs (the kernel's) has them. */
static int sysfs_link(const char *bdf, const char *what, char *out, size_t len)
{
	char path[96], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, what);
	if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
		return -errno;
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

static bool vfio_driver(const char *drv)
{
	size_t n = strlen(drv);

	/* the variants the probe accepts too (probe/pci.c): mlx5_vfio_pci, ... */
	return !strcmp(drv, "vfio-pci") ||
	       (n > 9 && (!strcmp(drv + n - 9, "_vfio_pci") || !strcmp(drv + n - 9, "-vfio-pci")));
}

/* v's group number, once sysfs shows the device on vfio-pci. */
static int group_id(struct vmm_vfio *v, char *err, size_t errlen)
{
	char drv[64] = "", grp[32], path[64], *end;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", v->bdf);
	if (access(path, F_OK) < 0) {
		snprintf(err, errlen, "--device %s: no such PCI device here (lspci lists them; "
			 "`nestvisor probe` judges each)", v->bdf);
		return -ENODEV;
	}
	if (sysfs_link(v->bdf, "iommu_group", grp, sizeof(grp)) < 0) {
		snprintf(err, errlen, "--device %s: it is in no IOMMU group: the host has no "
			 "IOMMU turned on (`nestvisor probe` says why and how)", v->bdf);
		return -ENODEV;
	}
	if (sysfs_link(v->bdf, "driver", drv, sizeof(drv)) < 0 || !vfio_driver(drv)) {
		snprintf(err, errlen, "--device %s: it is bound to %s, not vfio-pci: `nestvisor "
			 "device bind %s` hands it over", v->bdf, drv[0] ? drv : "no driver", v->bdf);
		return -EBUSY;
	}
	long id = strtol(grp, &end, 10);
	if (*end || end == grp || id < 0 || id > 1000000) {
		snprintf(err, errlen, "--device %s: its IOMMU group '%s' is not a number", v->bdf,
			 grp);
		return -EINVAL;
	}
	v->group_id = (int)id;
	return 0;
}

/* The group opened and put in the VM's container, the container's IOMMU set by its first. */
static int group_open(struct vfio_space *sp, struct vmm_vfio *v, char *err, size_t errlen)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int fd, rc;

	snprintf(path, sizeof(path), "/dev/vfio/%d", v->group_id);
	/* the kernel's node, never a link someone left there */
	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "--device %s: %s: %s%s", v->bdf, path, strerror(errno),
			 errno == EBUSY ? " (another VM or program has its IOMMU group)" : "");
		return rc;
	}
	sp->group[sp->ngroups].id = v->group_id;
	sp->group[sp->ngroups].fd = fd;
	sp->group[sp->ngroups++].users = 0;
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0 || !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		snprintf(err, errlen, "--device %s: IOMMU group %d is not viable: another device "
			 "in it is bound to a host driver (`nestvisor probe` names it; `nestvisor "
			 "device bind %s --group` hands the whole group over)", v->bdf, v->group_id,
			 v->bdf);
		return -EBUSY;
	}
	if (sp->container < 0) {
		if ((sp->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC)) < 0) {
			rc = -errno;
			snprintf(err, errlen, "--device %s: /dev/vfio/vfio: %s (modprobe vfio-pci)",
				 v->bdf, strerror(errno));
			return rc;
		}
		if (ioctl(sp->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
		    ioctl(sp->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
			snprintf(err, errlen, "--device %s: this kernel's VFIO has no type1v2 IOMMU "
				 "(vfio_iommu_type1)", v->bdf);
			return -ENOTSUP;
		}
	}
	/* a later group joins the IOMMU the first set; type1 gives it the mappings made */
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &sp->container) < 0 ||
	    (!sp->iommu_set && ioctl(sp->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)) {
		rc = -errno;
		snprintf(err, errlen, "--device %s: IOMMU group %d into the VM's VFIO container: %s",
			 v->bdf, v->group_id, strerror(errno));
		return rc;
	}
	sp->iommu_set = true;
	return 0;
}

int vfio_group_get(struct vmm_vfio *v, char *err, size_t errlen)
{
	struct vfio_space *sp = space_of(v->vm);
	int i, rc;

	if (!sp) {
		snprintf(err, errlen, "--device %s: too many devices", v->bdf);
		return -ENOSPC;
	}
	if ((rc = group_id(v, err, errlen)) < 0)
		return rc;
	for (i = 0; i < sp->ngroups && sp->group[i].id != v->group_id; i++)
		;
	if (i == sp->ngroups) {
		if (sp->ngroups == VMM_MAX_PASSTHROUGH)
			return -ENOSPC;		/* a group per device at most */
		if ((rc = group_open(sp, v, err, errlen)) < 0)
			return rc;
	}
	sp->group[i].users++;
	v->group = sp->group[i].fd;
	return 0;
}

void vfio_group_put(struct vmm_vfio *v)
{
	struct vfio_space *sp = vmm_device_get(v->vm, &space_ops, 0);

	for (int i = 0; sp && v->group >= 0 && i < sp->ngroups; i++)
		if (sp->group[i].fd == v->group && --sp->group[i].users == 0) {
			close(sp->group[i].fd);	/* out of the container: no DMA of its own */
			sp->group[i].fd = -1;
		}
	v->group = -1;
}

/* Guest RAM at the addresses the guest knows it by: every device's DMA reaches it and nothing
 * else (the IOMMU refuses the rest). */
int vfio_group_map_ram(struct vmm *vm, char *err, size_t errlen)
{
	struct vfio_space *sp = vmm_device_get(vm, &space_ops, 0);
	struct vmm_mem *m = &vm->mem;
	int rc;
	const struct { uint64_t iova, size; uint8_t *host; } ram[] = {
		{ 0, m->low, m->host }, { VMM_4G, m->high, m->host + m->low },
	};

	if (!sp || sp->container < 0 || sp->ram_mapped)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)ram[i].host, .iova = ram[i].iova, .size = ram[i].size,
		};
		if (ram[i].size && ioctl(sp->container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
			rc = -errno;
			snprintf(err, errlen, "--device: mapping guest RAM for the devices' DMA: %s%s",
				 strerror(errno), errno == ENOMEM ?
				 " (the locked-memory limit: ulimit -l, or run as root)" : "");
			return rc;
		}
	}
	sp->ram_mapped = true;
	return 0;
}
