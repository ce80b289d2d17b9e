/* config: nestvisor.conf, read only where no other user could have written it. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/paths.h"
#include "common/trustpath.h"
#include "compat-db/compatdb.h"

/* A config file to trust: reached only through directories and links no other user can change,
 * regular, ours or root's, and writable by no one else (root running with another user's HOME
 * must not send its reports where that user says). NULL with why set when it is not; NULL with why
 * "" when there is none. */
static FILE *config_open(const char *path, char *why, size_t whylen)
{
	char walk[1024];
	struct stat st;
	int fd = trustpath_open_regular(path, &st, walk, sizeof(walk));
	FILE *f;

	why[0] = '\0';
	if (fd == -ENOENT || fd == -ENOTDIR)
		return NULL;
	if (fd < 0 && fd != -EINVAL) {
		snprintf(why, whylen, "%s: %s", path, walk);
		return NULL;
	}
	if (fd < 0 || !trustpath_uid_trusted(st.st_uid) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(why, whylen,
			 "%s: not used: a configuration file must be a regular file of yours or "
			 "root's that no one else may write (owner uid %u, mode %o)",
			 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!(f = fdopen(fd, "r")))
		close(fd);
	return f;
}

/* --to, then NESTVISOR_COMPAT_URL, then "compat_url = URL" in /etc/nestvisor/nestvisor.conf and
 * $XDG_CONFIG_HOME/nestvisor/nestvisor.conf (the later one wins). */
int compatdb_url(const char *given, char *buf, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("NESTVISOR_COMPAT_URL");
	char user[4096], base[4000], line[1024], why[1200];
	const char *files[2] = { "/etc/nestvisor/nestvisor.conf", user };

	if (errlen)
		err[0] = '\0';
	if (given && *given) {
		snprintf(buf, len, "%s", given);
		return 0;
	}
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	/* no home at all: no user file (never one in the current directory) */
	paths_xdg("XDG_CONFIG_HOME", ".config", base, sizeof(base));
	snprintf(user, sizeof(user), "%s/nestvisor/nestvisor.conf", base);
	buf[0] = '\0';
	for (int i = 0; i < 2; i++) {
		FILE *f = base[0] || i == 0 ? config_open(files[i], why, sizeof(why)) : NULL;
		if (!f && why[0]) {
			snprintf(err, errlen,
				 "%s (with another user's HOME, as sudo -E or su without '-' leave "
				 "it, use sudo -H or su -, or give --to URL)",
				 why);
			return -EPERM;
		}
		while (f && fgets(line, sizeof(line), f)) {
			char *eq = strchr(line, '=');
			if (line[0] == '#' || !eq || strncmp(line, "compat_url", 10))
				continue;
			eq++;
			eq += strspn(eq, " \t");
			eq[strcspn(eq, " \t\r\n")] = '\0';
			snprintf(buf, len, "%s", eq);
		}
		if (f)
			fclose(f);
	}
	return buf[0] ? 0 : -ENOENT;
}
