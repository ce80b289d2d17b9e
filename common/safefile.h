/* safefile: opening files for a process that often runs as root, so that no symlink, FIFO, device
 * or endless file planted by someone else can turn that against its user. Every function returns a
 * descriptor or -errno. */
#ifndef NESTVISOR_COMMON_SAFEFILE_H
#define NESTVISOR_COMMON_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* rel beneath dirfd, following no symlink in any component and refusing "..": flags as for openat
 * (O_NOFOLLOW and O_CLOEXEC are added). A recording or a directory of ours can then not point us
 * elsewhere. */
int safefile_open_beneath(int dirfd, const char *rel, int flags);
/* The directories of rel beneath dirfd, created (mode) where missing, no symlink followed: the last
 * one's fd. */
int safefile_mkdirs_beneath(int dirfd, const char *rel, mode_t mode);
/* A regular file beneath dirfd for writing (its directories created 0700): created or truncated,
 * never a link. */
int safefile_create_beneath(int dirfd, const char *rel, mode_t mode);

/* A regular file to read (O_NONBLOCK while opening, so a FIFO cannot hang us; refused after fstat);
 * when st is given it is filled. -EINVAL: not a regular file. */
int safefile_open_regular(const char *path, struct stat *st);
/* Up to max bytes of an open regular file, NUL-terminated, into a malloc'd *buf; -EFBIG when it is
 * longer. */
int safefile_read_all(int fd, size_t max, char **buf, size_t *len);

/* A directory only we may write to: created mode 0700 when missing (with its missing parents),
 * every component on the way trusted as trustpath_dir() trusts it (no link or directory of another
 * user's), and the directory itself owned by us with no group or other write permission. err says
 * what is wrong and what to do. */
int safefile_private_dir(const char *path, char *err, size_t errlen);

/* A file written whole and then renamed over path, in a directory of ours alone (made 0700, with
 * its parents, where missing), created 0600 and never through a link: readers see the old file or
 * the new, never half. */
#include <stdio.h>
struct safefile_replace { int dirfd; char tmp[300], name[256]; FILE *f; };
int safefile_replace_begin(const char *path, struct safefile_replace *r);
/* Closes, flushes (fsync when durable), renames; on any error the temporary file is removed. 0 or
 * -errno. */
int safefile_replace_commit(struct safefile_replace *r, bool durable);
void safefile_replace_abort(struct safefile_replace *r);

#endif
