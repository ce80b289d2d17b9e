/* disk: parsing --disk, and opening its image as disk.h says. */
#include "config.h"
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/errmsg.h"
#include "common/trustpath.h"
#include "vmm/hw/disk.h"
#include "common/imagefmt.h"

#define SECTOR 512u

int vmm_disk_parse(const char *spec, struct vmm_disk *d, char *err, size_t errlen)
{
	char buf[4200];
	char *save = NULL, *opt;

	memset(d, 0, sizeof(*d));
	snprintf(buf, sizeof(buf), "%s", spec);
	char *comma = strchr(buf, ',');
	if (comma)
		*comma = '\0';
	if (!buf[0] || strlen(buf) >= sizeof(d->path))
		return errmsg(err, errlen, -EINVAL,
			      "disk %s: give FILE[,ro][,cache=none][,serial=ID][,format=raw]", spec);
	snprintf(d->path, sizeof(d->path), "%s", buf);
	for (opt = comma ? strtok_r(comma + 1, ",", &save) : NULL; opt;
	     opt = strtok_r(NULL, ",", &save)) {
		if (!strcmp(opt, "ro"))
			d->ro = true;
		else if (!strcmp(opt, "cache=none"))
			d->direct = true;
		else if (!strcmp(opt, "cache=writeback"))
			d->direct = false;
		/* in flight together, or one request at a time (preadv) */
		else if (!strcmp(opt, "aio=io_uring"))
			d->aio = 1;
		else if (!strcmp(opt, "aio=sync"))
			d->aio = 2;
		else if (!strcmp(opt, "format=raw"))
			d->raw = true;
		else if (!strncmp(opt, "serial=", 7) && strlen(opt + 7) <= 20 && opt[7])
			snprintf(d->serial, sizeof(d->serial), "%s", opt + 7);
		else
			return errmsg(err, errlen, -EINVAL,
				      "disk %s: unknown option '%s' (ro, cache=none, "
				      "aio=io_uring|sync, serial=ID of up to 20 characters, "
				      "format=raw)",
				      spec, opt);
	}
	return 0;
}

void vmm_disk_spec(const struct vmm_disk *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s%s%s", d->path, d->ro ? ",ro" : "",
		 d->direct ? ",cache=none" : "",
		 d->aio == 1 ? ",aio=io_uring" : d->aio == 2 ? ",aio=sync" : "",
		 d->serial[0] ? ",serial=" : "", d->serial, d->raw ? ",format=raw" : "");
}

/* Which of the disks opened before is this one (its device and inode), or -1. */
static int given_before(const struct stat *st, const struct disk_image *others, int nothers)
{
	for (int i = 0; i < nothers; i++)
		if (others[i].dev == st->st_dev && others[i].ino == st->st_ino)
			return i;
	return -1;
}

static int twice(const struct vmm_disk *d, int first, int nothers, char *err, size_t errlen)
{
	return errmsg(err, errlen, -EBUSY,
		      "disk %s: given twice (as disk %d and disk %d), and one of them may write "
		      "it: give it once, or ,ro to both",
		      d->path, first + 1, nothers + 1);
}

/* The open refused with EBUSY: a block device (O_EXCL) the host holds, or one this VM has. */
static int busy(const struct vmm_disk *d, const struct disk_image *others, int nothers, char *err,
		size_t errlen)
{
	char why[1024];
	struct stat st;
	int fd = trustpath_open(d->path, O_PATH, 0, why, sizeof(why)), first = -1;

	if (fd >= 0 && fstat(fd, &st) == 0)
		first = given_before(&st, others, nothers);
	if (fd >= 0)
		close(fd);
	if (first >= 0)
		return twice(d, first, nothers, err, errlen);
	return errmsg(err, errlen, -EBUSY,
		      "disk %s: the host is using this block device (mounted, or held by a "
		      "filesystem, swap, RAID or LVM, or another VM): a guest writing it would "
		      "corrupt it; unmount it or stop its user first, or give ,ro",
		      d->path);
}

/* A container format (qcow2, VMDK...) is refused, not served as the guest's disk: the guest would
 * see the format's metadata as its sectors and, writing them, corrupt the image. Read through an
 * aligned buffer: the image may be open with O_DIRECT. */
static int check_format(const struct vmm_disk *d, int fd, off_t size, char *err, size_t errlen)
{
	const struct imagefmt *f = NULL;

	if (d->raw)
		return 0;
	uint8_t *buf = aligned_alloc(4096, IMAGEFMT_HEAD + 4096);
	if (!buf)	/* never served unlooked-at */
		return errmsg(err, errlen, -ENOMEM, "disk %s: out of memory", d->path);
	ssize_t n = pread(fd, buf, IMAGEFMT_HEAD, 0);
	bool tail = !d->direct && size >= IMAGEFMT_TAIL &&
		    pread(fd, buf + IMAGEFMT_HEAD, IMAGEFMT_TAIL, size - IMAGEFMT_TAIL) == IMAGEFMT_TAIL;
	if (n > 0)
		f = imagefmt_detect(buf, (size_t)n, tail ? buf + IMAGEFMT_HEAD : NULL);
	free(buf);
	if (!f)
		return 0;
	if (!f->qemu)
		return errmsg(err, errlen, -EINVAL, "disk %s: a %s, not a disk image: %s", d->path,
			      f->name, f->why_not);
	return errmsg(err, errlen, -EINVAL,
		      "disk %s: a %s image, not a raw disk: `nestvisor image import %s` makes a raw "
		      "copy to give --disk (a raw disk that only begins like one: %s,format=raw)",
		      d->path, f->name, d->path, d->path);
}

/* The image just opened: what it is, whether it is given twice, its size, its lock. */
static int check_image(const struct vmm_disk *d, const struct disk_image *others, int nothers,
		       struct disk_image *out, char *err, size_t errlen)
{
	struct stat st;
	int first;

	if (fstat(out->fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)))
		return errmsg(err, errlen, -EINVAL, "disk %s: not a regular file or a block device",
			      d->path);
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	out->blockdev = S_ISBLK(st.st_mode);
	out->ro = d->ro;
	if ((first = given_before(&st, others, nothers)) >= 0 && !(d->ro && others[first].ro))
		return twice(d, first, nothers, err, errlen);
	off_t size = out->blockdev ? lseek(out->fd, 0, SEEK_END) : st.st_size;
	int rc = check_format(d, out->fd, size, err, errlen);
	if (rc < 0)
		return rc;
	if (size <= 0 || size % SECTOR)
		return errmsg(err, errlen, -EINVAL,
			      "disk %s: %lld bytes is not a whole number of 512-byte sectors (make "
			      "it one: truncate -s %lldK %s)",
			      d->path, (long long)size, ((long long)size + 1023) / 1024, d->path);
	struct flock lk = { .l_type = d->ro ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(out->fd, F_OFD_SETLK, &lk) < 0)	/* one writer, or readers only */
		return errmsg(err, errlen, -EBUSY,
			      "disk %s: in use by another VM (it holds the image's lock); give ,ro "
			      "to both, or stop the other",
			      d->path);
	out->sectors = (uint64_t)size / SECTOR;
	return 0;
}

int disk_image_open(const struct vmm_disk *d, const struct disk_image *others, int nothers,
		    struct disk_image *out, char *err, size_t errlen)
{
	/* O_EXCL on a block device: the kernel refuses it while mounted or held (a regular file
	 * ignores it); only for writing, so that read-only VMs can share one */
	int flags = (d->ro ? O_RDONLY : O_RDWR | O_EXCL) | O_NONBLOCK | (d->direct ? O_DIRECT : 0);
	char why[1024];

	memset(out, 0, sizeof(*out));
	/* never through another user's link or directory (a planted ~alice/vm.img -> /dev/sda) */
	if ((out->fd = trustpath_open(d->path, flags, 0, why, sizeof(why))) < 0) {
		int rc = out->fd;
		out->fd = -1;
		if (rc == -EBUSY)
			return busy(d, others, nothers, err, errlen);
		return errmsg(err, errlen, rc, "disk %s: %s", d->path, why);
	}
	fcntl(out->fd, F_SETFL, fcntl(out->fd, F_GETFL) & ~O_NONBLOCK);
	int rc = check_image(d, others, nothers, out, err, errlen);
	if (rc < 0) {
		close(out->fd);
		out->fd = -1;
	}
	return rc;
}

int vmm_disk_open_read(const struct vmm_disk *d, int *fd, char *err, size_t errlen)
{
	struct vmm_disk r = *d;
	struct disk_image img;
	int rc;

	r.ro = true, r.direct = false;
	if ((rc = disk_image_open(&r, NULL, 0, &img, err, errlen)) == 0)
		*fd = img.fd;
	return rc;
}

int vmm_disk_check(const struct vmm_disk *d, char *err, size_t errlen)
{
	struct disk_image img;
	int rc = disk_image_open(d, NULL, 0, &img, err, errlen);

	if (rc == 0)
		close(img.fd);
	return rc;
}
