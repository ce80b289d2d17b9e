/* hostid: this machine's anonymous id, a salted SHA-512-crypt of /etc/machine-id, cached per user
 * so that recording a report does not pay for the hash (about 4 ms) each time. */
#include "config.h"
#define _GNU_SOURCE 1
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/paths.h"
#include "common/safefile.h"
#include "compat-db/db.h"

#define MACHINE_ID "/etc/machine-id"
#define HOST_ID_LEN 32

/* "KEY\nID\n" in $XDG_CACHE_HOME/nestvisor/host-id (or ~/.cache/...): KEY names the machine-id file
 * the ID was computed from (device, inode, size, change time), so a new or rewritten machine-id is
 * hashed again. */
static void host_id_cache(char *path, size_t plen, char *key, size_t klen, const struct stat *st)
{
	paths_cache_file("host-id", path, plen);
	snprintf(key, klen, "nestvisor-host-id 1 %llu %llu %lld %lld.%09ld",
		 (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
		 (long long)st->st_size, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

static bool host_id_cached(const char *path, const char *key, char *buf, size_t len)
{
	char line[256], id[64];
	int fd = path[0] ? safefile_open_regular(path, NULL) : -1;
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	bool ok;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	ok = fgets(line, sizeof(line), f) && fgets(id, sizeof(id), f);
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	id[strcspn(id, "\n")] = '\0';
	ok = ok && !strcmp(line, key) && strlen(id) == HOST_ID_LEN &&
		strspn(id, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
			HOST_ID_LEN;
	if (ok)
		snprintf(buf, len, "%s", id);
	return ok;
}

/* Best effort (a cache that cannot be written only costs time); written whole, then renamed over.
 */
static void host_id_remember(const char *path, const char *key, const char *id)
{
	struct safefile_replace r;

	if (path[0] && safefile_replace_begin(path, &r) == 0) {
		if (fprintf(r.f, "%s\n%s\n", key, id) > 0)
			safefile_replace_commit(&r, false);
		else
			safefile_replace_abort(&r);
	}
}

/* The salted SHA-512-crypt (5,000 rounds) of /etc/machine-id: ~2.4 ms, a sixth of a probe, so its
 * result is kept in the user's cache beside the identity of the file it came from. */
int compatdb_host_id(char *buf, size_t len)
{
	struct crypt_data cd;
	struct stat st;
	char id[128] = "", path[4096], key[256];
	FILE *f = fopen(MACHINE_ID, "r");

	if (f && fstat(fileno(f), &st) == 0) {
		host_id_cache(path, sizeof(path), key, sizeof(key), &st);
		if (host_id_cached(path, key, buf, len)) {
			fclose(f);
			return 0;
		}
	} else {
		path[0] = '\0';
	}
	if (f) {
		if (!fgets(id, sizeof(id), f))
			id[0] = '\0';
		fclose(f);
	}
	id[strcspn(id, "\n")] = '\0';
	if (!id[0])
		return -ENOENT;
	memset(&cd, 0, sizeof(cd));
	const char *h = crypt_r(id, "$6$nestvisor-compat$",
				&cd); /* salted: the machine-id is not recoverable */
	if (!h || h[0] == '*')
		return -EIO;
	snprintf(buf, len, "%.32s", strrchr(h, '$') + 1);
	host_id_remember(path, key, buf);
	return 0;
}
