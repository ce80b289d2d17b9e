/* rundir: where the VMs' control sockets and logs live ($XDG_RUNTIME_DIR/nestvisor, or
 * /tmp/nestvisor-UID when it is ours), their names, and the socket connections both sides use. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "common/safefile.h"
#include "common/text.h"
#include "vmm/control.h"
#include "vmm/ctlproto.h"


/* Where the sockets and logs live. /tmp/nestvisor-UID could have been made by anyone first: like
 * tmux and ssh-agent, it (and any other) is used only if it is ours, a real directory, and no one
 * else may write there. */
int vmm_control_dir(char *buf, size_t len, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	char why[512];

	if (xdg && *xdg == '/')
		snprintf(buf, len, "%s/nestvisor", xdg);
	else if (geteuid() == 0 && stat("/run", &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(buf, len, "/run/nestvisor");
	else
		snprintf(buf, len, "/tmp/nestvisor-%u", (unsigned)geteuid());
	int fd = safefile_private_dir(buf, why, sizeof(why));
	if (fd < 0) {
		if (errlen)
			snprintf(err, errlen, "the VMs' runtime directory %s", why);
		return fd;
	}
	close(fd);
	return 0;
}

int vmm_control_name_check(const char *name, char *err, size_t errlen)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > VMM_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
		    n ||
	    name[0] == '.' || name[0] == '-') {
		snprintf(err, errlen,
			 "'%.*s': a VM's name is 1 to %d letters, digits, '.', '_' or '-', not "
			 "starting "
			 "with '.' or '-'",
			 (int)(n > 64 ? 64 : n), name ? name : "", VMM_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

int vmm_control_file(const char *name, const char *suffix, char *buf, size_t len)
{
	char dir[96], err[8];
	int rc = vmm_control_dir(dir, sizeof(dir), err, 0);

	if (rc < 0)
		return rc;
	if (vmm_control_name_check(name, err, sizeof(err)) < 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s/%s%s", dir, name, suffix) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int vmm_control_path(const char *name, char *buf, size_t len)
{
	int rc = vmm_control_file(name, ".sock", buf, len);

	/* a socket's path fits sockaddr_un's 108 bytes */
	return rc == 0 && strlen(buf) > 107 ? -ENAMETOOLONG : rc;
}

/* A socket of ours that nobody answers on: left by a killed VMM. Anything else (a file, a link,
 * someone else's socket) is not ours to remove. */
bool vmm_control_remove_stale(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == geteuid() &&
		unlink(path) == 0;
}

int vmm_control_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}
