/* probe backend: every read of the host goes through here, so a recording replays through the same
 * code. */
#include "config.h"
#include <cpuid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libcpuid/libcpuid.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "common/safefile.h"
#include "probe/backend.h"
#include "probe/cpudump.h"
#include "probe/kvm.h"
#include "probe/recfile.h"

#define HV_LEAF_FIRST 0x40000000u
#define HV_LEAF_LAST  0x4000FF00u


/* A live probe's collectors run in two threads, which may both report. */
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

void probe_problem(struct probe_backend *be, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&report_lock);
	size_t used = strlen(be->problems);
	if (used + 3 < sizeof(be->problems)) {
		if (used)
			used += (size_t)snprintf(be->problems + used, sizeof(be->problems) - used,
						 "; ");
		va_start(ap, fmt);
		vsnprintf(be->problems + used, sizeof(be->problems) - used, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&report_lock);
}



/* ---- CPUID ---- */

static int cpuid_from_dump(const struct cpu_raw_data_t *d, uint32_t leaf, uint32_t r[4])
{
	if (d->basic_cpuid[0][0] == 0)
		return -ENODATA;
	if (leaf < MAX_CPUID_LEVEL && leaf <= d->basic_cpuid[0][0]) {
		memcpy(r, d->basic_cpuid[leaf], 16);
		return 0;
	}
	if (leaf >= 0x80000000u && leaf - 0x80000000u < MAX_EXT_CPUID_LEVEL &&
	    leaf <= d->ext_cpuid[0][0]) {
		memcpy(r, d->ext_cpuid[leaf - 0x80000000u], 16);
		return 0;
	}
	return -ENOENT;
}

static int cpuid_recorded(struct probe_backend *be, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	(void)sub;
	if (leaf >= HV_LEAF_FIRST && leaf <= HV_LEAF_LAST + 0xff) {
		const struct rec_kv *kv = recfile_find(be->hv_leaves, leaf);
		if (!kv || kv->err || kv->nw != 4)
			return -ENOENT;
		memcpy(r, kv->w, 16);
		return 0;
	}
	return be->dump ? cpuid_from_dump(be->dump, leaf, r) : -ENOENT;
}

static int cpuid_live(struct probe_backend *be, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	if (be->dump)
		return cpuid_recorded(be, leaf, sub, r);
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
	if (be->save[0] && leaf >= HV_LEAF_FIRST && leaf <= HV_LEAF_LAST + 0xff)
		recfile_add(&be->hv_leaves, leaf, 0, r, 4);
	return 0;
}

/* ---- MSRs ---- */

static int rdmsr_live(struct probe_backend *be, uint32_t msr, uint64_t *val)
{
	if (be->dump_foreign)
		return -ENODATA; /* the dump's CPU, not this one: its MSRs are not in a dump */
	int rc = 0;

	/* opened once: each read is a trap to whatever runs this host, the open need not be too */
	if (!be->msr_opened) {
		be->msr_opened = true;
		be->msr_fd = open("/dev/cpu/0/msr", O_RDONLY | O_CLOEXEC);
		be->msr_errno = be->msr_fd < 0 ? errno : 0;
	}
	errno = 0;
	if (be->msr_fd < 0)
		rc = -be->msr_errno;
	else if (pread(be->msr_fd, val, sizeof(*val), msr) != (ssize_t)sizeof(*val))
		rc = errno ? -errno : -EIO;
	if (be->save[0]) {
		uint32_t w[2] = { (uint32_t)*val, (uint32_t)(*val >> 32) };
		recfile_add(&be->msrs, msr, rc, w, rc ? 0 : 2);
	}
	return rc;
}

static int rdmsr_recorded(struct probe_backend *be, uint32_t msr, uint64_t *val)
{
	if (be->dump_foreign)
		return -ENODATA;
	const struct rec_kv *kv = recfile_find(be->msrs, msr);

	if (!kv)
		return -ENODATA;	/* not in the recording */
	if (kv->err)
		return kv->err;
	*val = kv->w[0] | (kv->nw > 1 ? (uint64_t)kv->w[1] << 32 : 0);
	return 0;
}

static const struct probe_backend_ops live_ops = {
	.cpuid = cpuid_live, .rdmsr = rdmsr_live, .kvm_query = probe_kvm_live_query,
};
static const struct probe_backend_ops replay_ops = {
	.cpuid = cpuid_recorded, .rdmsr = rdmsr_recorded, .kvm_query = probe_kvm_replay_query,
};

/* A corrupt file is a problem to report, not a reason to stop: its facts become UNKNOWN. */
static void load_kv(struct probe_backend *be, const char *name, struct rec_kv **out)
{
	static char buf[1 << 16];
	long n = probe_read(be, name, buf, sizeof(buf));

	if (n == -ENOENT)
		return;	/* absent: those facts are UNKNOWN */
	if (n < 0)
		probe_problem(be, "%s: %s", name + 1, strerror((int)-n));
	else if (recfile_parse_kv(buf, (size_t)n, out) < 0)
		probe_problem(be, "%s: corrupt (expected lines of KEY=HEX...), ignored", name + 1);
}

/* A dump that does not load leaves CPUID unavailable (UNKNOWN), never the host's CPUID in its
 * place. Its form is recognised by content (probe/cpudump.c); a dump with no extended leaves is a
 * CPU older than them (a Pentium III), not a truncated file. */
#define CPUID_DUMP_MAX (1 << 20)

static int load_dump(struct probe_backend *be, const char *file, int fd)
{
	char why[256] = "", *text = NULL;
	const char *form = NULL;
	size_t len = 0;
	int rc = -EINVAL;

	be->dump = calloc(1, sizeof(*be->dump));
	if (!be->dump)
		return -ENOMEM;
	if (fd < 0)
		snprintf(why, sizeof(why), "not a regular file, or a link");
	else if ((rc = safefile_read_all(fd, CPUID_DUMP_MAX, &text, &len)) == -EFBIG)
		snprintf(why, sizeof(why), "larger than 1 MiB");
	else if (rc < 0)
		snprintf(why, sizeof(why), "%s", strerror(-rc));
	else
		rc = cpudump_parse(text, len, be->dump, &form, why, sizeof(why));
	free(text);
	if (rc == -ENOTSUP) {
		probe_problem(be, "%s: not x86: %s", file, why);
	} else if (rc < 0) {
		probe_problem(be,
			      "%s: not a CPUID dump (%s); make one with `cpuid_tool --save=FILE`, "
			      "`cpuid -r > FILE` or AIDA64's CPUID report",
			      file, why);
	}
	if (rc < 0) {
		/* leaf 0 max = 0: every leaf reads missing */
		memset(be->dump, 0, sizeof(*be->dump));
		be->dump_bad = true;
		return 0;
	}
	snprintf(be->dump_form, sizeof(be->dump_form), "%s", form);
	return 0;
}

/* The recording's directory: made here (0700), or an existing empty one of ours: never one someone
 * else made, which could hold links to files of ours. A placeholder RECORDING proves it writable
 * before the run. */
static int open_save_dir(struct probe_backend *be, const char *dir, char *err, size_t errlen)
{
	struct stat st;
	bool made = mkdir(dir, 0700) == 0;
	int fd, rc;

	if (!made && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create the recording directory: %s", dir,
			 strerror(errno));
		return -errno;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = -errno;
		bool link = lstat(dir, &st) == 0 &&
			S_ISLNK(st.st_mode); /* O_NOFOLLOW|O_DIRECTORY: ENOTDIR */
		snprintf(err, errlen, "%s: %s; give a new directory to save into", dir,
			 link ? "a symbolic link" : rc == -ENOTDIR ? "not a directory" : strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s: belongs to uid %u, not to us: it may hold links to our files; give a "
			 "new directory",
			 dir, (unsigned)st.st_uid);
		close(fd);
		return -EPERM;
	}
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	bool empty = d != NULL;
	while (d && (de = readdir(d)))
		empty &= !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	if (!empty) {
		snprintf(err, errlen,
			 "%s: exists and is not empty; give a new (or empty) directory to save "
			 "into",
			 dir);
		close(fd);
		return -EEXIST;
	}
	/* a recording holds kernel log lines that dmesg_restrict may hide from others */
	fchmod(fd, 0700);
	int probe = safefile_create_beneath(fd, "RECORDING", 0600);
	if (probe < 0) {
		snprintf(err, errlen, "%s: cannot write there: %s", dir, strerror(-probe));
		close(fd);
		return probe;
	}
	close(probe);
	be->save_fd = fd;
	snprintf(be->save, sizeof(be->save), "%s", dir);
	return 0;
}

int probe_backend_open(struct probe_backend *be, const char *replay_dir, const char *save_dir,
		       const char *cpuid_dump, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	memset(be, 0, sizeof(*be));
	be->root_fd = be->save_fd = -1;
	be->ops = replay_dir ? &replay_ops : &live_ops;
	be->replay = replay_dir != NULL;
	if (replay_dir) {
		if (stat(replay_dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    (be->root_fd = open(replay_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			snprintf(err, errlen,
				 "%s: not a recording directory (make one with `nestvisor probe "
				 "--save DIR`)",
				 replay_dir);
			return -ENOENT;
		}
		snprintf(be->root, sizeof(be->root), "%s", replay_dir);
		load_kv(be, "/cpuid-hypervisor.txt", &be->hv_leaves);
		load_kv(be, "/msr.txt", &be->msrs);
		if (!cpuid_dump && probe_exists(be, "/cpuid.raw")) {
			int fd = probe_open_input(be, "/cpuid.raw");
			rc = load_dump(be, "cpuid.raw", fd);
			if (fd >= 0)
				close(fd);
			if (rc < 0)
				goto fail;
		}
	}
	if (cpuid_dump) {
		int fd = safefile_open_regular(cpuid_dump, NULL);
		be->dump_foreign = true;
		rc = load_dump(be, cpuid_dump, fd);
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			goto fail;
	}
	if (save_dir && (rc = open_save_dir(be, save_dir, err, errlen)) < 0)
		goto fail;
	return 0;
fail:
	probe_backend_close(be);
	return rc;
}

static void save_cpuid_raw(struct probe_backend *be)
{
	struct cpu_raw_data_t raw;
	char dst[4200];

	/* libcpuid writes by name: through our descriptor of the directory, which no one else can
	 * write to */
	snprintf(dst, sizeof(dst), "/proc/self/fd/%d/cpuid.raw", be->save_fd);
	if (be->dump && !be->dump_bad)
		cpuid_serialize_raw_data(be->dump, dst);
	else if (be->dump)
		;	/* nothing trustworthy to record */
	else if (cpuid_get_raw_data(&raw) == 0)
		cpuid_serialize_raw_data(&raw, dst);
}

static void save_kv(struct probe_backend *be, const char *path, const struct rec_kv *kv)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f && recfile_print_kv(kv, f) == 0)
		probe_save_bytes(be, path, text, len);
	else
		probe_save_failed(be, path, -ENOMEM);
	free(text);
}

int probe_backend_finish(struct probe_backend *be)
{
	char dst[4200], meta[512];
	struct utsname u;
	time_t now = time(NULL);

	if (!be->save[0])
		return 0;
	save_cpuid_raw(be);
	save_kv(be, "/cpuid-hypervisor.txt", be->hv_leaves);
	save_kv(be, "/msr.txt", be->msrs);
	uname(&u);
	snprintf(meta, sizeof(meta),
		 "recorded-by=nestvisor %s\nsource=%s\nkernel=%s %s\ndate=%ld\n", PACKAGE_VERSION,
		 be->replay ? "replay" : "live", u.sysname, u.release, (long)now);
	probe_save_bytes(be, "/RECORDING", meta, strlen(meta));
	(void)dst;
	return be->save_errors ? -EIO : 0;
}

void probe_backend_close(struct probe_backend *be)
{
	if (be->root_fd >= 0)
		close(be->root_fd);
	if (be->save_fd >= 0)
		close(be->save_fd);
	be->root_fd = be->save_fd = -1;
	free(be->kmsg);
	if (be->msr_opened && be->msr_fd >= 0)
		close(be->msr_fd);
	be->msr_opened = false;
	be->kmsg = NULL;
	free(be->dump);
	be->dump = NULL;
	recfile_free_kv(be->hv_leaves);
	recfile_free_kv(be->msrs);
	be->hv_leaves = be->msrs = NULL;
}
