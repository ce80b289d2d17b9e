/* trustpath: a path a user named (a disk, a kernel, a config file, a cache directory) opened so
 * that no other user can steer where it leads, as sudo's and systemd's path checks do. nestvisor
 * often runs as root: a link another user planted (~alice/vm.img -> /root/secret, -> /dev/sda) or
 * a directory another user can write (where the entry can be swapped between a check and the open)
 * must not hand root's VM or root's files to someone else.
 *
 * The walk starts at "/" (a relative path after the current directory), one component at a time
 * with openat and O_NOFOLLOW, and trusts:
 * - a directory owned by you or root that no one else may write: group- or world-writable only
 *   with the sticky bit (as /tmp), and then only entries owned by you or root are taken from it;
 * - a symbolic link owned by you or root (followed by reading it, at most 40 of them);
 * anything else is refused with the reason, naming the component. */
#ifndef NESTVISOR_COMMON_TRUSTPATH_H
#define NESTVISOR_COMMON_TRUSTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* path opened with flags (as for openat; O_NOFOLLOW and O_CLOEXEC added, O_NONBLOCK kept only if
 * given). Returns the fd, or -errno with why saying what was refused (or what open said), without
 * the path itself: the caller puts its own name for it first ("disk X: " why). -EPERM: a
 * component was not to be trusted. */
int trustpath_open(const char *path, int flags, mode_t mode, char *why, size_t whylen);

/* A regular file to read, opened as trustpath_open() opens (O_NONBLOCK while opening, so that a
 * FIFO is refused, not waited on): its fd, st filled; -EINVAL with why when it is no regular
 * file. */
int trustpath_open_regular(const char *path, struct stat *st, char *why, size_t whylen);

/* The directory path, every component trusted as above; with create, the missing ones are made
 * (mode) beneath the last trusted one, never through a link. Its fd (O_DIRECTORY), or -errno and
 * why. */
int trustpath_dir(const char *path, bool create, mode_t mode, char *why, size_t whylen);

/* Whether uid is one whose files we trust: ours or root's. */
bool trustpath_uid_trusted(uid_t uid);

#endif
