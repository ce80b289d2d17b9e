/* trustpath: resolving a user's path one component at a time, trusting only what no one else can
 * change (see trustpath.h for the rules). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/trustpath.h"

#define LINKS_MAX 40

/* Where the walk is: the directory reached (its fd and its path, for messages), whether others may
 * add entries there (sticky and writable by others), and what is left to resolve. */
struct walk {
	int dfd;
	bool open_to_others;
	char at[PATH_MAX];
	char rest[2 * PATH_MAX];
	int links;
	char *why;
	size_t whylen;
};

bool trustpath_uid_trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw && pw->pw_name)
		snprintf(buf, len, "uid %u (%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

static int refuse(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->why, w->whylen, fmt, ap);
	va_end(ap);
	return -EPERM;
}

static void join(char *dst, size_t len, const char *dir, const char *name)
{
	snprintf(dst, len, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
}

/* A directory we are about to stand in: owned by us or root, and no one else may write there but
 * into a sticky directory (whose entries others cannot rename or remove). */
static int enter_dir(struct walk *w, int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		snprintf(w->why, w->whylen, "%s: %s", path, strerror(-e));
		return e;
	}
	char who[96];
	if (!trustpath_uid_trusted(st.st_uid) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		user_name(st.st_uid, who, sizeof(who)); /* the password database only to refuse */
	if (!trustpath_uid_trusted(st.st_uid)) {
		close(fd);
		return refuse(w,
			      "the directory %s belongs to %s, not to you or root: its owner could "
			      "make the path lead elsewhere (a link to a root-only file or a "
			      "device); use a directory of yours, or run as that user",
			      path, who);
	}
	bool others_write = st.st_mode & (S_IWGRP | S_IWOTH);
	if (others_write && !(st.st_mode & S_ISVTX)) {
		close(fd);
		return refuse(w,
			      "the directory %s can be written by others (owner %s, mode %o): "
			      "anyone who may write there could swap what the path leads to; use a "
			      "directory only you may write to",
			      path, who, (unsigned)(st.st_mode & 07777));
	}
	if (w->dfd >= 0)
		close(w->dfd);
	w->dfd = fd;
	w->open_to_others = others_write;
	snprintf(w->at, sizeof(w->at), "%s", path);
	return 0;
}

static int start(struct walk *w, const char *path)
{
	char cwd[PATH_MAX];

	if (!path || !path[0]) {
		snprintf(w->why, w->whylen, "an empty path");
		return -EINVAL;
	}
	if (path[0] == '/') {
		snprintf(w->rest, sizeof(w->rest), "%s", path);
	} else if (!getcwd(cwd, sizeof(cwd))) {
		snprintf(w->why, w->whylen, "the current directory: %s", strerror(errno));
		return -errno;
	} else {
		snprintf(w->rest, sizeof(w->rest), "%s/%s", cwd, path);
	}
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return enter_dir(w, fd, "/");
}

/* The next component of w->rest into comp (slashes skipped); whether it was the last one. */
static bool next_component(struct walk *w, char *comp, size_t len)
{
	char *p = w->rest + strspn(w->rest, "/");
	size_t n = strcspn(p, "/");

	snprintf(comp, len, "%.*s", (int)(n < len ? n : len - 1), p);
	p += n;
	memmove(w->rest, p, strlen(p) + 1);
	return w->rest[strspn(w->rest, "/")] == '\0';
}

/* A link owned by us or root: its text in front of what is left to resolve. */
static int follow(struct walk *w, const char *comp, const struct stat *st)
{
	char target[PATH_MAX], shown[PATH_MAX + 256], who[96];

	join(shown, sizeof(shown), w->at, comp);
	if (!trustpath_uid_trusted(st->st_uid))
		return refuse(w,
			      "%s is a symbolic link that belongs to %s, not to you or root: it is "
			      "not followed (it could lead to a root-only file or a device; give "
			      "the file it points to, if that is what you meant)",
			      shown, user_name(st->st_uid, who, sizeof(who)));
	if (++w->links > LINKS_MAX) {
		snprintf(w->why, w->whylen, "%s: too many levels of symbolic links", shown);
		return -ELOOP;
	}
	ssize_t n = readlinkat(w->dfd, comp, target, sizeof(target) - 1);
	if (n <= 0) {
		snprintf(w->why, w->whylen, "%s: %s", shown,
			 n < 0 ? strerror(errno) : "empty link");
		return n < 0 ? -errno : -ENOENT;
	}
	target[n] = '\0';
	size_t tl = (size_t)n, rl = strlen(w->rest);
	if (tl + 1 + rl >= sizeof(w->rest)) {
		snprintf(w->why, w->whylen, "%s: the path it leads to is too long", shown);
		return -ENAMETOOLONG;
	}
	memmove(w->rest + tl + 1, w->rest, rl + 1);
	memcpy(w->rest, target, tl);
	w->rest[tl] = '/';
	if (target[0] == '/') {
		int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? -errno : enter_dir(w, fd, "/");
	}
	return 0;
}

/* An entry someone else made in a sticky directory open to all (/tmp): not ours to use. */
static int planted(struct walk *w, const char *shown, uid_t uid)
{
	char who[96];

	return refuse(w,
		      "%s belongs to %s, in a directory where anyone may make entries: it could "
		      "have been put there for you to use; use one of yours",
		      shown, user_name(uid, who, sizeof(who)));
}

static void parent_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* Walks to the last component: returns 0 with w->dfd its directory and last its name (or "" when
 * the path names a directory and want_dir), or -errno with w->why. */
static int walk(struct walk *w, bool want_dir, bool create, mode_t mode, char *last, size_t len)
{
	char comp[NAME_MAX + 1], shown[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	int rc;

	for (;;) {
		if (!w->rest[strspn(w->rest, "/")]) {	/* "/" itself, or a trailing slash */
			last[0] = '\0';
			return 0;
		}
		bool is_last = next_component(w, comp, sizeof(comp));
		if (!strcmp(comp, ".")) {
			if (is_last)
				last[0] = '\0';
			if (is_last)
				return 0;
			continue;
		}
		join(shown, sizeof(shown), w->at, comp);
		if (!strcmp(comp, "..")) {
			int fd = openat(w->dfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			char up[PATH_MAX];
			parent_of(w->at, up, sizeof(up));
			if (fd < 0 || (rc = enter_dir(w, fd, up)) < 0)
				return fd < 0 ? -errno : rc;
			continue;
		}
		if (fstatat(w->dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && create && (!is_last || want_dir) &&
			    (mkdirat(w->dfd, comp, mode) == 0 || errno == EEXIST) &&
			    fstatat(w->dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0)
				goto found;
			if (errno == ENOENT && is_last && !want_dir) {
				snprintf(last, len, "%s", comp);	/* to be created, perhaps */
				return 0;
			}
			snprintf(w->why, w->whylen, "%s: %s", shown, strerror(errno));
			return -errno;
		}
found:
		if (S_ISLNK(st.st_mode)) {
			if ((rc = follow(w, comp, &st)) < 0)
				return rc;
			continue;
		}
		if (w->open_to_others && !trustpath_uid_trusted(st.st_uid))
			return planted(w, shown, st.st_uid);
		if (is_last && !want_dir) {
			snprintf(last, len, "%s", comp);
			return 0;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(w->why, w->whylen, "%s: not a directory", shown);
			return -ENOTDIR;
		}
		int fd = openat(w->dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			snprintf(w->why, w->whylen, "%s: %s", shown, strerror(errno));
			return -errno;
		}
		if ((rc = enter_dir(w, fd, shown)) < 0)
			return rc;
	}
}

int trustpath_open(const char *path, int flags, mode_t mode, char *why, size_t whylen)
{
	struct walk w = { .dfd = -1, .why = why, .whylen = whylen };
	char last[NAME_MAX + 1];
	struct stat st = { .st_uid = (uid_t)-1 };
	int rc, fd;

	if (whylen)
		why[0] = '\0';
	if ((rc = start(&w, path)) < 0 || (rc = walk(&w, false, false, 0, last, sizeof(last))) < 0)
		goto out;
	fd = openat(w.dfd, last[0] ? last : ".", flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, whylen, "%s", rc == -ELOOP ? "a symbolic link appeared while it was "
				"opened" : strerror(-rc));
		goto out;
	}
	if (w.open_to_others && (fstat(fd, &st) < 0 || !trustpath_uid_trusted(st.st_uid))) {
		char shown[PATH_MAX + NAME_MAX + 2];
		close(fd);
		join(shown, sizeof(shown), w.at, last);
		rc = planted(&w, shown, st.st_uid);
		goto out;
	}
	rc = fd;
out:
	if (w.dfd >= 0)
		close(w.dfd);
	return rc;
}

int trustpath_open_regular(const char *path, struct stat *st, char *why, size_t whylen)
{
	int fd = trustpath_open(path, O_RDONLY | O_NONBLOCK, 0, why, whylen);

	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		snprintf(why, whylen, "not a regular file");
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int trustpath_dir(const char *path, bool create, mode_t mode, char *why, size_t whylen)
{
	struct walk w = { .dfd = -1, .why = why, .whylen = whylen };
	char last[NAME_MAX + 1];
	int rc;

	if (whylen)
		why[0] = '\0';
	if ((rc = start(&w, path)) < 0 ||
	    (rc = walk(&w, true, create, mode, last, sizeof(last))) < 0) {
		if (w.dfd >= 0)
			close(w.dfd);
		return rc;
	}
	/* the walk stands on O_PATH fds; the caller reads and writes in this one */
	int fd = openat(w.dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = fd >= 0 ? fd : -errno;
	if (fd < 0)
		snprintf(why, whylen, "%s: %s", w.at, strerror(errno));
	close(w.dfd);
	return rc;
}
