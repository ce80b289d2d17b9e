/* imagefmt: what a disk image is, told from its content, never from its name: a raw disk, or one of
 * the container formats qemu-img knows (qcow2, VMDK, VDI, VHDX, VHD, QED, ...), whose bytes a guest
 * must not be given as its disk. Pure: fed the image's first and last bytes. */
#ifndef NESTVISOR_COMMON_IMAGEFMT_H
#define NESTVISOR_COMMON_IMAGEFMT_H

#include <stddef.h>
#include <stdint.h>

#define IMAGEFMT_HEAD 4096	/* the bytes from the start it looks at */
#define IMAGEFMT_TAIL 512	/* and from the end (a fixed VHD's footer) */

struct imagefmt {
	const char *name;	/* as users know it: "qcow2", "VMDK (monolithic sparse)" */
	const char *qemu;	/* qemu-img's driver for it, or NULL when it cannot be imported safely */
	const char *why_not;	/* with qemu NULL: why, and what to do */
};

/* The container format head (n bytes, up to IMAGEFMT_HEAD) and tail (the last IMAGEFMT_TAIL bytes
 * of the file, or NULL) show, or NULL: a raw disk. */
const struct imagefmt *imagefmt_detect(const uint8_t *head, size_t n, const uint8_t *tail);

#endif
