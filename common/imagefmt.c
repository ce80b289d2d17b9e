/* imagefmt: container formats by their magic numbers (as each format's specification and QEMU's
 * block drivers' probe functions place them). A raw disk may begin with any bytes, so a match is
 * what the user is told about, and --disk FILE,format=raw takes the bytes as they are. */
#include "config.h"
#include <string.h>
#include "common/imagefmt.h"

static const struct imagefmt
	qcow2 = { "qcow2", "qcow2", NULL },
	qcow1 = { "qcow (version 1)", "qcow", NULL },
	qed = { "QED", "qed", NULL },
	vmdk = { "VMDK (sparse)", "vmdk", NULL },
	vmdk_desc = { "VMDK descriptor", NULL,
		      "a text file naming other files as the disk's extents: convert the whole "
		      "set with `qemu-img convert -O raw` where you trust them" },
	vdi = { "VDI (VirtualBox)", "vdi", NULL },
	vhdx = { "VHDX", "vhdx", NULL },
	vhd = { "VHD (dynamic)", "vpc", NULL },
	vhd_fixed = { "VHD (fixed)", "vpc", NULL },
	parallels = { "Parallels", "parallels", NULL },
	bochs = { "Bochs", "bochs", NULL };

static const struct magic {
	size_t at;
	const char *bytes;
	size_t len;
	const struct imagefmt *fmt;
} magics[] = {
	{ 0, "QFI\xfb\0\0\0\x02", 8, &qcow2 },
	{ 0, "QFI\xfb\0\0\0\x03", 8, &qcow2 },
	{ 0, "QFI\xfb\0\0\0\x01", 8, &qcow1 },
	{ 0, "QED\0", 4, &qed },
	{ 0, "KDMV", 4, &vmdk },
	{ 0, "COWD", 4, &vmdk },
	{ 0, "# Disk DescriptorFile", 21, &vmdk_desc },
	{ 0x40, "\x7f\x10\xda\xbe", 4, &vdi },
	{ 0, "vhdxfile", 8, &vhdx },
	{ 0, "conectix", 8, &vhd },
	{ 0, "WithoutFreeSpace", 16, &parallels },
	{ 0, "WithouFreSpacExt", 16, &parallels },
	{ 0, "Bochs Virtual HD Image", 22, &bochs },
};

const struct imagefmt *imagefmt_detect(const uint8_t *head, size_t n, const uint8_t *tail)
{
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		const struct magic *m = &magics[i];
		if (m->at + m->len <= n && !memcmp(head + m->at, m->bytes, m->len))
			return m->fmt;
	}
	/* a fixed VHD is the raw disk and a 512-byte footer (its cookie first) */
	if (tail && !memcmp(tail, "conectix", 8))
		return &vhd_fixed;
	return NULL;
}
