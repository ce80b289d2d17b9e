/* imgboot-int: what the reader's parts share. Private to imgboot/. */
#ifndef NESTVISOR_IMGBOOT_INT_H
#define NESTVISOR_IMGBOOT_INT_H

#include <stddef.h>
#include <stdint.h>
#include "imgboot/imgboot.h"

/* extfs.c: an ext2/3/4 filesystem in bytes [off, off + size) of fd */
struct extfs;
int extfs_open(int fd, uint64_t off, uint64_t size, struct extfs **fs, char *err, size_t errlen);
void extfs_close(struct extfs *fs);
/* A regular file's bytes (NUL-terminated, links followed inside the filesystem): 0, -ENOENT,
 * -ELOOP, -EISDIR, -EFBIG past max, -EIO */
int extfs_read(struct extfs *fs, const char *path, size_t max, char **data, size_t *len);
/* A directory's names (up to max): the count, or -errno */
int extfs_list(struct extfs *fs, const char *dir, char (*names)[256], int max);

/* parts.c: the volumes of an image: its partitions, or the whole image when it has none */
#define PARTS_MAX 128
struct volume {
	int partno;			/* 0: the whole image */
	uint64_t off, size;		/* bytes */
	char type[32];			/* blkid's TYPE: "ext4", "xfs", "LVM2_member", "" */
	char uuid[64], label[64], partuuid[64];
};
int parts_scan(int fd, uint64_t size, struct volume *v, int max, char *pttype, size_t ptlen,
	       char *err, size_t errlen);

/* inspect.c: the whole search, in the confined reader */
int imgboot_inspect(int fd, const char *image, struct imgboot *b, char *err, size_t errlen);

#endif
