/* safefile: symlink-free, type-checked, bounded file access (openat component by component). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/safefile.h"
#include "common/trustpath.h"

/* Walks rel's directories beneath dirfd; *last is set to rel's final component. Returns a directory
 * fd. */
static int walk(int dirfd, const char *rel, bool create, mode_t mode, char *last, size_t lastlen)
{
	char comp[256];
	int fd = dup(dirfd);

	while (*rel == '/')
		rel++;
	while (fd >= 0) {
		const char *slash = strchr(rel, '/');
		size_t n = slash ? (size_t)(slash - rel) : strlen(rel);
		if (n >= sizeof(comp) || (n == 2 && !strncmp(rel, "..", 2))) {
			close(fd);
			return n >= sizeof(comp) ? -ENAMETOOLONG : -EPERM;
		}
		memcpy(comp, rel, n);
		comp[n] = '\0';
		if (!slash) {
			snprintf(last, lastlen, "%s", comp);
			return fd;
		}
		rel = slash + 1;
		while (*rel == '/')
			rel++;
		if (!n || !strcmp(comp, "."))
			continue;
		if (create && mkdirat(fd, comp, mode) < 0 && errno != EEXIST) {
			int e = -errno;
			close(fd);
			return e;
		}
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = -errno;
		close(fd);
		if (next < 0)
			return e;
		fd = next;
	}
	return -errno;
}

int safefile_open_beneath(int dirfd, const char *rel, int flags)
{
	char last[256];
	int d = walk(dirfd, rel, false, 0, last, sizeof(last));

	if (d < 0)
		return d;
	int fd = openat(d, last[0] ? last : ".", flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	int e = -errno;
	close(d);
	return fd >= 0 ? fd : e;
}

int safefile_mkdirs_beneath(int dirfd, const char *rel, mode_t mode)
{
	char path[4096], last[256];

	snprintf(path, sizeof(path), "%s/", rel);	/* every component is a directory */
	return walk(dirfd, path, true, mode, last, sizeof(last));
}

int safefile_create_beneath(int dirfd, const char *rel, mode_t mode)
{
	char last[256];
	int d = walk(dirfd, rel, true, 0700, last, sizeof(last));

	if (d < 0)
		return d;
	int fd = openat(d, last, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
			mode);
	int e = -errno;
	close(d);
	if (fd < 0)
		return e;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {	/* a FIFO someone made there */
		close(fd);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int safefile_open_regular(const char *path, struct stat *st)
{
	struct stat local;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (!st)
		st = &local;
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int safefile_read_all(int fd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t cap, got = 0;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	cap = (size_t)st.st_size + 1;
	if (!(*buf = malloc(cap + 1)))
		return -ENOMEM;
	for (;;) {	/* a file that grows while read is cut at max, never read forever */
		ssize_t n = read(fd, *buf + got, cap - got);
		if (n < 0) {
			int e = -errno;
			free(*buf);
			*buf = NULL;
			return e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap) {
			if (cap > max) {
				free(*buf);
				*buf = NULL;
				return -EFBIG;
			}
			char *nb = realloc(*buf, cap * 2 + 1);
			if (!nb) {
				free(*buf);
				*buf = NULL;
				return -ENOMEM;
			}
			*buf = nb;
			cap *= 2;
		}
	}
	(*buf)[got] = '\0';
	*len = got;
	return 0;
}

int safefile_private_dir(const char *path, char *err, size_t errlen)
{
	struct stat st = { 0 };
	char why[1024];
	/* made 0700 where missing (a user's fresh ~/.cache), each step beneath a trusted one */
	int fd = trustpath_dir(path, true, 0700, why, sizeof(why));

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return fd;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		snprintf(err, errlen,
			 "%s: not a directory of ours that only we may write to (owner uid %u, "
			 "mode %o); someone else may have made it: remove it, or use another",
			 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	return fd;
}

int safefile_replace_begin(const char *path, struct safefile_replace *r)
{
	char dir[4096], why[64];
	const char *slash = strrchr(path, '/');

	memset(r, 0, sizeof(*r));
	r->dirfd = -1;
	if (!slash || slash == path || strlen(slash + 1) >= sizeof(r->name) ||
	    (size_t)(slash - path) >= sizeof(dir))
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	snprintf(r->name, sizeof(r->name), "%s", slash + 1);
	snprintf(r->tmp, sizeof(r->tmp), ".%.200s.%d", r->name, (int)getpid());
	if ((r->dirfd = safefile_private_dir(dir, why, sizeof(why))) < 0)
		return r->dirfd;
	int fd = openat(r->dirfd, r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0 || !(r->f = fdopen(fd, "w"))) {
		int e = -errno;
		if (fd >= 0)
			close(fd);
		unlinkat(r->dirfd, r->tmp, 0);
		close(r->dirfd);
		r->dirfd = -1;
		return e;
	}
	return 0;
}

int safefile_replace_commit(struct safefile_replace *r, bool durable)
{
	int rc = 0;

	if (fflush(r->f) != 0 || ferror(r->f) || (durable && fsync(fileno(r->f)) != 0))
		rc = -errno ? -errno : -EIO;
	if (fclose(r->f) != 0 && rc == 0)
		rc = -errno;
	r->f = NULL;
	if (rc == 0 && renameat(r->dirfd, r->tmp, r->dirfd, r->name) != 0)
		rc = -errno;
	if (rc)
		unlinkat(r->dirfd, r->tmp, 0);
	close(r->dirfd);
	r->dirfd = -1;
	return rc;
}

void safefile_replace_abort(struct safefile_replace *r)
{
	if (r->f)
		fclose(r->f);
	if (r->dirfd >= 0) {
		unlinkat(r->dirfd, r->tmp, 0);
		close(r->dirfd);
	}
	r->f = NULL;
	r->dirfd = -1;
}
