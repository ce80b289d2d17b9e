/* disk: a --disk's image opened for a VM: never through another user's link or directory, a block
 * device only if nothing on the host holds it, locked against other VMs, and never twice in one VM
 * where one of them writes. virtio-blk serves what this opened. */
#ifndef NESTVISOR_VMM_HW_DISK_H
#define NESTVISOR_VMM_HW_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "vmm/vmm.h"

struct disk_image {
	int fd;
	uint64_t sectors;		/* of 512 bytes */
	dev_t dev;			/* what it is, to know it when it is given again */
	ino_t ino;
	bool ro, blockdev;
};

/* d opened; others[0..nothers) are the disks this VM opened before it (a second --disk of the same
 * image is refused, saying so, unless both are read-only). 0, or -errno with err saying why and
 * what to do. */
int disk_image_open(const struct vmm_disk *d, const struct disk_image *others, int nothers,
		    struct disk_image *out, char *err, size_t errlen);

#endif
