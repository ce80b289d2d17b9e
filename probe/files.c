/* probe files: the host's files as the probe reads them (/proc, /sys, /dev, the kernel log), live
 * or from a recording, and saved into one as they are read (backend.c holds the rest). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/safefile.h"
#include "probe/backend.h"

/* A live probe's collectors run in two threads, which may both save. */
static pthread_mutex_t save_lock = PTHREAD_MUTEX_INITIALIZER;

void probe_path(struct probe_backend *be, const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s%s", be->root, path);
}

void probe_save_failed(struct probe_backend *be, const char *path, int err)
{
	pthread_mutex_lock(&save_lock);
	if (!be->save_errors++)
		snprintf(be->save_error, sizeof(be->save_error), "%s: %s", path, strerror(-err));
	pthread_mutex_unlock(&save_lock);
}

/* A directory of the recording, beneath the save directory (no symlink followed). */
void probe_save_mkdir(struct probe_backend *be, const char *path)
{
	int fd = be->save_fd >= 0 ? safefile_mkdirs_beneath(be->save_fd, path, 0700) : -EBADF;

	if (fd >= 0)
		close(fd);
	else
		probe_save_failed(be, path, fd);
}

void probe_save_bytes(struct probe_backend *be, const char *path, const void *buf, size_t n)
{
	int fd, rc = 0;

	if (!be->save[0])
		return;
	if ((fd = be->save_fd >= 0 ? safefile_create_beneath(be->save_fd, path, 0600) : -EBADF) <
	    0) {
		probe_save_failed(be, path, fd);
		return;
	}
	for (size_t done = 0; done < n && rc == 0;) {
		ssize_t w = write(fd, (const char *)buf + done, n - done);
		rc = w > 0 ? 0 : w < 0 ? -errno : -EIO;
		done += w > 0 ? (size_t)w : 0;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc)
		probe_save_failed(be, path, rc);
}

/* Replay: a regular file beneath the recording, never through a symlink (a recording of someone
 * else's must not make us read /etc/shadow); live: the host's own /proc and /sys. O_NONBLOCK: a
 * FIFO cannot hang the open. */
int probe_open_input(struct probe_backend *be, const char *path)
{
	char full[4096];
	struct stat st;
	int fd;

	if (be->replay) {
		if ((fd = safefile_open_beneath(be->root_fd, path, O_RDONLY | O_NONBLOCK)) < 0)
			return fd == -ELOOP ? -EPERM : fd;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			return -EINVAL;
		}
		return fd;
	}
	probe_path(be, path, full, sizeof(full));
	fd = open(full, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

long probe_read_bin(struct probe_backend *be, const char *path, void *buf, size_t len)
{
	size_t got = 0;
	int fd;

	if ((fd = probe_open_input(be, path)) < 0)
		return fd;
	if (be->replay)	/* a regular file: reads may block as usual now */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	probe_save_bytes(be, path, buf, got);
	return (long)got;
}

long probe_read(struct probe_backend *be, const char *path, char *buf, size_t len)
{
	long n;

	if (len == 0)
		return -EINVAL;
	n = probe_read_bin(be, path, buf, len - 1);
	buf[n < 0 ? 0 : n] = '\0';
	/* a NUL inside a text file is corruption: cut there so parsers see plain text */
	return n < 0 ? n : (long)strlen(buf);
}

/* Recordings keep a link as a small file holding its target (tar and `make dist` drop dangling
 * links), or as a real link, whose target is only read, never followed. */
static ssize_t readlink_recorded(struct probe_backend *be, const char *path, char *target,
				 size_t len)
{
	int fd = safefile_open_beneath(be->root_fd, path, O_PATH);
	ssize_t n;

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	n = readlinkat(fd, "", target, len - 1);
	close(fd);
	if (n >= 0 || errno != ENOENT)
		return n >= 0 ? n : (errno == EINVAL ? (errno = ENOENT, -1) : -1);
	n = probe_read_bin(be, path, target, len - 1);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	while (n > 0 && (target[n - 1] == '\n' || target[n - 1] == ' '))
		n--;
	return n;
}

int probe_readlink_base(struct probe_backend *be, const char *path, char *buf, size_t len)
{
	char full[4096], target[4096];
	ssize_t n;

	probe_path(be, path, full, sizeof(full));
	n = be->replay ? readlink_recorded(be, path, target, sizeof(target)) :
			 readlink(full, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (be->save[0]) {
		char line[4100];
		int k = snprintf(line, sizeof(line), "%s\n", target);
		probe_save_bytes(be, path, line, (size_t)k);
	}
	const char *base = strrchr(target, '/');
	snprintf(buf, len, "%s", base ? base + 1 : target);
	return 0;
}

void probe_save_copy(struct probe_backend *be, const char *path)
{
	static char buf[65536];

	if (be->save[0] && !be->replay)
		probe_read_bin(be, path, buf, sizeof(buf));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, so live and replayed runs list in the same order. */
int probe_list(struct probe_backend *be, const char *dir, probe_list_fn fn, void *ctx)
{
	char full[4096];
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	probe_path(be, dir, full, sizeof(full));
	if (be->replay) {
		int fd = safefile_open_beneath(be->root_fd, dir, O_RDONLY | O_DIRECTORY);
		d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			rc = fd < 0 ? fd : -errno;
			if (fd >= 0)
				close(fd);
			return rc;
		}
	} else if (!(d = opendir(full))) {
		return -errno;
	}
	if (be->save[0])
		probe_save_mkdir(be, dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof(*names));
			if (!nn) {
				rc = -ENOMEM;
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	/* a listing replays only with its entries: an entry that is (or links to) a directory is
	 * kept as one, since no file read beneath it may record it (an IOMMU unit's name, a
	 * group's member), with an empty .keep in it (git keeps no empty directory; a listing
	 * skips dot names) */
	for (size_t i = 0; i < n && be->save[0] && !be->replay; i++) {
		struct stat st;
		char sub[4096];
		if (fstatat(dirfd(d), names[i], &st, 0) == 0 && S_ISDIR(st.st_mode) &&
		    snprintf(sub, sizeof(sub), "%s/%s/.keep", dir, names[i]) < (int)sizeof(sub))
			probe_save_bytes(be, sub, "", 0);
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = fn(names[i], ctx);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* lstat beneath the root: a replay opens no link of the recording, nor anything above it. */
static int stat_under(struct probe_backend *be, const char *path, struct stat *st)
{
	char full[4096];

	if (be->replay) {
		int fd = safefile_open_beneath(be->root_fd, path, O_PATH);
		if (fd < 0)
			return fd;
		int rc = fstat(fd, st) < 0 ? -errno : 0;
		close(fd);
		return rc;
	}
	probe_path(be, path, full, sizeof(full));
	return lstat(full, st) < 0 ? -errno : 0;
}

bool probe_exists(struct probe_backend *be, const char *path)
{
	struct stat st;

	if (stat_under(be, path, &st) < 0)
		return false;
	char keep[4096];
	if (be->save[0] && S_ISDIR(st.st_mode) &&
	    snprintf(keep, sizeof(keep), "%s/.keep", path) < (int)sizeof(keep))
		probe_save_bytes(be, keep, "", 0);	/* kept when empty: see probe_list */
	else if (be->save[0] && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
		probe_save_bytes(be, path, "", 0); /* a device: its existence, as an empty file */
	return true;
}

long probe_file_size(struct probe_backend *be, const char *path)
{
	struct stat st;
	int rc = stat_under(be, path, &st);

	if (rc < 0)
		return rc;
	return S_ISREG(st.st_mode) ? (long)st.st_size : -EINVAL;
}

/* ---- kernel messages ---- */

static bool kmsg_relevant(const char *line)
{
	static const char *const words[] = { "kvm",       "KVM",    "VMX",     "vmx",
					     "SVM",       "svm",    "by BIOS", "by bios",
					     "DMAR",      "IOMMU",  "iommu",   "AMD-Vi",
					     "remapping", "x2apic", "pvm",     "Hypervisor" };
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(line, words[i]))
			return true;
	return false;
}

/* Keeps only relevant lines: bounded memory, and no unrelated (private) log text in recordings. */
static int kmsg_read_live(char *out, size_t len)
{
	char rec[2048];
	size_t used = 0;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten record */
		if (n <= 0)
			break;
		rec[n] = '\0';
		char *msg = strchr(rec, ';'), *nl;
		if (!msg)
			continue;
		msg++;
		if ((nl = strchr(msg, '\n')))
			*nl = '\0';
		if (kmsg_relevant(msg) && used + strlen(msg) + 2 < len)
			used += (size_t)snprintf(out + used, len - used, "%s\n", msg);
	}
	close(fd);
	return 0;
}

const char *probe_kmsg(struct probe_backend *be, int *err)
{
	const size_t len = 64 * 1024;

	if (!be->kmsg) {
		be->kmsg = calloc(1, len);
		if (!be->kmsg) {
			*err = -ENOMEM;
			return "";
		}
		if (be->replay) {
			long n = probe_read(be, "/kmsg.txt", be->kmsg, len);
			be->kmsg_err = n < 0 ? (int)n : 0;
		} else {
			be->kmsg_err = kmsg_read_live(be->kmsg, len);
			if (be->kmsg_err == 0)
				probe_save_bytes(be, "/kmsg.txt", be->kmsg, strlen(be->kmsg));
		}
	}
	*err = be->kmsg_err;
	return be->kmsg;
}

