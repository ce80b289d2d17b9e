/* ended: the record a VM run in the background leaves when it ends (NAME.ended beside its control
 * socket): how it ended, its exit status and the last of its console, so that `nestvisor ps --all`
 * and the TUI show it until it is dismissed, as `docker ps -a` and `virsh list --all` do. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "common/safefile.h"
#include "common/text.h"
#include "vmm/control.h"
#include "vmm/ctlproto.h"
#include "vmm/vm.h"

#define ENDED_KEEP 32		/* records kept: the oldest beyond go */
#define SUFFIX ".ended"

static int ended_path(const char *name, char *buf, size_t len)
{
	return vmm_control_file(name, SUFFIX, buf, len);
}

/* Keeps the newest ENDED_KEEP records (by the time they ended). */
static void ended_prune(void)
{
	struct vmm_ended *all = calloc(ENDED_KEEP * 4, sizeof(*all));
	int n = all ? vmm_ended_list(all, ENDED_KEEP * 4) : 0;

	for (int i = ENDED_KEEP; i < n; i++)
		vmm_ended_dismiss(all[i].name);
	free(all);
}

/* The last of what the guest printed (whole lines where it was cut), NUL-terminated: its length. */
static size_t console_tail(struct vmm *vm, char *out, size_t len)
{
	enum { HISTORY_MAX = 64 << 10 };	/* the console history the VMM keeps */
	char *all = malloc(HISTORY_MAX);
	uint64_t next, lost;
	size_t n = all ? vmm_serial_history(vm, 0, all, HISTORY_MAX, &next, &lost) : 0;
	size_t from = n > len - 1 ? n - (len - 1) : 0;

	if (from) {
		const char *nl = memchr(all + from, '\n', n - from);
		from = nl ? (size_t)(nl - all) + 1 : from;
	}
	memcpy(out, all ? all + from : "", n - from);
	out[n - from] = '\0';
	free(all);
	return n - from;
}

int vmm_ended_write(struct vmm *vm, const char *name, int status)
{
	char path[160], ended[32], tail[VMM_ENDED_CONSOLE];
	struct safefile_replace r;
	struct timespec ts;
	struct tm tm;
	int rc;

	if ((rc = ended_path(name, path, sizeof(path))) < 0)
		return rc;
	size_t n = console_tail(vm, tail, sizeof(tail));
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(ended, sizeof(ended), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "ended", json_object_new_string(ended));
	json_object_object_add(o, "how", json_object_new_string(vmm_end_name(vmm_end_reason(vm))));
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "kernel", json_object_new_string(vm->cfg.kernel));
	json_object_object_add(o, "report", json_object_new_string(vmm_report(vm)));
	json_object_object_add(o, "console", json_object_new_string_len(tail, (int)n));
	if ((rc = safefile_replace_begin(path, &r)) == 0) {
		fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), r.f);
		rc = safefile_replace_commit(&r, false);
	}
	json_object_put(o);
	ended_prune();
	return rc;
}

/* One record; 0, or -errno (not ours, not a record). */
static int ended_read(int dirfd, const char *file, struct vmm_ended *e)
{
	int fd = safefile_open_beneath(dirfd, file, O_RDONLY);
	char *text = NULL;
	size_t len;
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    safefile_read_all(fd, 64 << 10, &text, &len) < 0) {
		close(fd);
		return -EPERM;
	}
	close(fd);
	json_object *o = json_tokener_parse(text);
	free(text);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	memset(e, 0, sizeof(*e));
	ctl_member_str(o, "name", e->name, sizeof(e->name));
	ctl_member_str(o, "ended", e->ended, sizeof(e->ended));
	ctl_member_str(o, "how", e->how, sizeof(e->how));
	ctl_member_str(o, "kernel", e->kernel, sizeof(e->kernel));
	ctl_member_str(o, "report", e->report, sizeof(e->report));
	json_object *c;
	const char *s =
		json_object_object_get_ex(o, "console", &c) ? json_object_get_string(c) : "";
	snprintf(e->console, sizeof(e->console), "%s", s ? s : "");
	text_clean(e->console);	/* the guest's bytes: printable before they reach a terminal */
	e->pid = (int)ctl_member_int(o, "pid");
	e->status = (int)ctl_member_int(o, "status");
	json_object_put(o);
	return 0;
}

static int by_ended_desc(const void *a, const void *b)
{
	const struct vmm_ended *x = a, *y = b;
	int c = strcmp(y->ended, x->ended);

	return c ? c : strcmp(x->name, y->name);
}

int vmm_ended_list(struct vmm_ended *out, int max)
{
	char dir[96], err[8];
	struct dirent *de;
	int n = 0, rc = vmm_control_dir(dir, sizeof(dir), err, 0);
	DIR *d;

	if (rc < 0)
		return rc;
	if (!(d = opendir(dir)))
		return -errno;
	while ((de = readdir(d)) && n < max) {
		size_t l = strlen(de->d_name);
		if (l <= strlen(SUFFIX) || strcmp(de->d_name + l - strlen(SUFFIX), SUFFIX))
			continue;
		if (ended_read(dirfd(d), de->d_name, &out[n]) == 0)
			n++;
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof(*out), by_ended_desc);
	return n;
}

int vmm_ended_dismiss(const char *name)
{
	char path[160];
	int rc = ended_path(name, path, sizeof(path));

	if (rc < 0)
		return rc;
	return unlink(path) == 0 ? 0 : -errno;
}
