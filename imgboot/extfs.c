/* extfs: files read from an ext2/3/4 filesystem inside an image, through libext2fs. The image is
 * an open file descriptor and the filesystem a byte range of it (a partition), so libext2fs is
 * given an I/O manager of our own that reads that range with pread and can write nothing: no path
 * on the host is ever opened, and a link inside the image resolves inside the image. */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <et/com_err.h>
#include <ext2fs/ext2fs.h>
#include "imgboot/imgboot-int.h"

static io_manager imgboot_range_io;

struct range {
	int fd;
	uint64_t off, size;
};

/* the range being opened: ext2fs_open2 takes only a name, so it goes beside it */
static __thread struct range opening;

static errcode_t r_open(const char *name, int flags, io_channel *ch)
{
	io_channel c = calloc(1, sizeof(*c));
	struct range *r = malloc(sizeof(*r));

	if (!c || !r || (flags & IO_FLAG_RW)) {
		free(c);
		free(r);
		return c && r ? EXT2_ET_RO_UNSUPP_FEATURE : EXT2_ET_NO_MEMORY;
	}
	*r = opening;
	c->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	c->manager = imgboot_range_io;
	c->name = strdup(name);
	c->block_size = 1024;
	c->refcount = 1;
	c->private_data = r;
	*ch = c;
	return c->name ? 0 : EXT2_ET_NO_MEMORY;
}

static errcode_t r_close(io_channel c)
{
	if (--c->refcount > 0)
		return 0;
	free(c->private_data);
	free(c->name);
	free(c);
	return 0;
}

static errcode_t r_set_blksize(io_channel c, int size)
{
	if (size <= 0 || size > 65536)
		return EXT2_ET_INVALID_ARGUMENT;
	c->block_size = size;
	return 0;
}

/* count < 0: -count bytes (libext2fs's convention); past the range: a short read, an error */
static errcode_t r_read64(io_channel c, unsigned long long block, int count, void *data)
{
	const struct range *r = c->private_data;
	uint64_t len = count < 0 ? (uint64_t)-(int64_t)count : (uint64_t)count * c->block_size;
	uint64_t at = (uint64_t)block * c->block_size;

	if (block > UINT64_MAX / 65536 || at > r->size || len > r->size - at)
		return EXT2_ET_SHORT_READ;
	for (uint64_t done = 0; done < len;) {
		ssize_t n = pread(r->fd, (char *)data + done, len - done, (off_t)(r->off + at + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? (errcode_t)errno : EXT2_ET_SHORT_READ;
		done += (uint64_t)n;
	}
	return 0;
}

static errcode_t r_read(io_channel c, unsigned long block, int count, void *data)
{
	return r_read64(c, block, count, data);
}

static errcode_t r_write(io_channel c, unsigned long block, int count, const void *data)
{
	(void)c, (void)block, (void)count, (void)data;
	return EXT2_ET_RO_UNSUPP_FEATURE;
}

static errcode_t r_write64(io_channel c, unsigned long long block, int count, const void *data)
{
	(void)c, (void)block, (void)count, (void)data;
	return EXT2_ET_RO_UNSUPP_FEATURE;
}

static errcode_t r_flush(io_channel c)
{
	(void)c;
	return 0;
}

static errcode_t r_set_option(io_channel c, const char *opt, const char *arg)
{
	(void)c, (void)opt, (void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager range_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "nestvisor image range",
	.open = r_open,
	.close = r_close,
	.set_blksize = r_set_blksize,
	.read_blk = r_read,
	.write_blk = r_write,
	.flush = r_flush,
	.set_option = r_set_option,
	.read_blk64 = r_read64,
	.write_blk64 = r_write64,
};
static io_manager imgboot_range_io = &range_manager;

int extfs_open(int fd, uint64_t off, uint64_t size, struct extfs **out, char *err, size_t errlen)
{
	ext2_filsys fs = NULL;
	errcode_t e;

	initialize_ext2_error_table();	/* error_message's texts for libext2fs's codes */
	opening = (struct range){ fd, off, size };
	/* no journal replay, no bitmaps: only directories and files are read */
	e = ext2fs_open2("image", NULL, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
			 imgboot_range_io, &fs);
	if (e) {
		snprintf(err, errlen, "its ext2/3/4 filesystem cannot be read: %s (a damaged "
			 "filesystem: check it with e2fsck -fn)", error_message(e));
		return -EINVAL;
	}
	*out = (struct extfs *)fs;
	return 0;
}

void extfs_close(struct extfs *fs)
{
	if (fs)
		ext2fs_close_free((ext2_filsys *)&fs);
}

/* path's inode, links followed inside the filesystem (at most 8 deep, libext2fs's bound) */
static int lookup(ext2_filsys fs, const char *path, ext2_ino_t *ino, struct ext2_inode *in)
{
	errcode_t e = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, ino);

	if (e == EXT2_ET_SYMLINK_LOOP)
		return -ELOOP;
	if (e)
		return -ENOENT;
	if (ext2fs_read_inode(fs, *ino, in))
		return -EIO;
	return 0;
}

int extfs_read(struct extfs *x, const char *path, size_t max, char **data, size_t *len)
{
	ext2_filsys fs = (ext2_filsys)x;
	struct ext2_inode in;
	ext2_file_t f;
	ext2_ino_t ino;
	int rc = lookup(fs, path, &ino, &in);

	*data = NULL;
	if (rc < 0)
		return rc;
	if (!LINUX_S_ISREG(in.i_mode))
		return -EISDIR;
	uint64_t size = EXT2_I_SIZE(&in);
	if (size > max)
		return -EFBIG;
	char *buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	if (ext2fs_file_open(fs, ino, 0, &f)) {
		free(buf);
		return -EIO;
	}
	unsigned got = 0;
	uint64_t done = 0;
	while (done < size && !ext2fs_file_read(f, buf + done,
						size - done > (1u << 30) ? 1u << 30 :
									   (unsigned)(size - done),
						&got) && got)
		done += got;
	ext2fs_file_close(f);
	if (done != size) {
		free(buf);
		return -EIO;
	}
	buf[size] = 0;
	*data = buf;
	*len = size;
	return 0;
}

struct list_ctx {
	char (*names)[256];
	int n, max;
};

static int list_one(struct ext2_dir_entry *d, int off, int bs, char *buf, void *priv)
{
	struct list_ctx *c = priv;
	int len = ext2fs_dirent_name_len(d);

	(void)off, (void)bs, (void)buf;
	if (c->n < c->max && len > 0 && len < 256) {
		memcpy(c->names[c->n], d->name, (size_t)len);
		c->names[c->n++][len] = 0;
	}
	return c->n < c->max ? 0 : DIRENT_ABORT;
}

int extfs_list(struct extfs *x, const char *dir, char (*names)[256], int max)
{
	ext2_filsys fs = (ext2_filsys)x;
	struct ext2_inode in;
	ext2_ino_t ino;
	struct list_ctx c = { names, 0, max };
	int rc = lookup(fs, dir, &ino, &in);

	if (rc < 0)
		return rc;
	if (!LINUX_S_ISDIR(in.i_mode))
		return -ENOTDIR;
	if (ext2fs_dir_iterate(fs, ino, 0, NULL, list_one, &c))
		return -EIO;
	return c.n;
}
