/* probe backend: every read of the host goes through here, so a recording replays through the same
 * code. */
#ifndef NESTVISOR_PROBE_BACKEND_H
#define NESTVISOR_PROBE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct probe_backend;
struct probe_kvm;
struct cpu_raw_data_t;
struct rec_kv;

struct probe_backend_ops {
	int (*cpuid)(struct probe_backend *be, uint32_t leaf, uint32_t sub, uint32_t regs[4]);
	int (*rdmsr)(struct probe_backend *be, uint32_t msr, uint64_t *val);
	int (*kvm_query)(struct probe_backend *be, struct probe_kvm *kvm, bool functional);
};

struct probe_backend {
	const struct probe_backend_ops *ops;
	char root[4096];	/* "" for the live host, the recording directory otherwise */
	char save[4096];	/* "" unless recording */
	int root_fd; /* replay: the recording, read beneath it only (no symlink followed), or -1 */
	int save_fd; /* recording: a directory we made or an empty one of ours, mode 0700, or -1 */
	int save_errors;	/* files of the recording that could not be written */
	char save_error[160];	/* the first of them, and why */
	bool replay;
	struct cpu_raw_data_t *dump;	/* CPUID from a libcpuid raw dump, or NULL */
	bool dump_bad;			/* the dump did not load: CPUID is unavailable */
	char dump_form[32]; /* which form it was: "libcpuid raw dump", "cpuid -r", ... */
	/* a dump given with --cpuid-dump: another CPU than this host's (or the recording's), so
	 * this host's MSRs, /proc/cpuinfo and kernel log say nothing of it and are not read for the
	 * CPU */
	bool dump_foreign;
	bool msr_opened;		/* /dev/cpu/0/msr tried: msr_fd, or why not in msr_errno */
	int msr_fd, msr_errno;
	struct rec_kv *hv_leaves;	/* replay: hypervisor CPUID leaves */
	struct rec_kv *msrs;		/* replay: recorded MSRs; live+save: MSRs read */
	char problems[512];		/* corrupt inputs, reported by the probe.input check */
	char *kmsg;			/* kernel messages about virtualization, read once */
	int kmsg_err;
};

/* Whether the CPU's facts are a dump's alone (see dump_foreign). */
static inline bool probe_cpu_foreign(const struct probe_backend *be) { return be->dump_foreign; }
int probe_backend_open(struct probe_backend *be, const char *replay_dir, const char *save_dir,
		       const char *cpuid_dump, char *err, size_t errlen);
/* Writes what only the backend knows (CPUID, MSRs) into the recording. */
int probe_backend_finish(struct probe_backend *be);
void probe_backend_close(struct probe_backend *be);

/* Files under the root. Return bytes read / 0, or -errno. Reads are NUL-terminated. */
long probe_read(struct probe_backend *be, const char *path, char *buf, size_t len);
long probe_read_bin(struct probe_backend *be, const char *path, void *buf, size_t len);
int probe_readlink_base(struct probe_backend *be, const char *path, char *buf, size_t len);
typedef int (*probe_list_fn)(const char *name, void *ctx);
int probe_list(struct probe_backend *be, const char *dir, probe_list_fn fn, void *ctx);
bool probe_exists(struct probe_backend *be, const char *path);
/* A file's size under the root (no symlink followed), or -errno. */
long probe_file_size(struct probe_backend *be, const char *path);
/* Notes an input that could not be used; its facts become UNKNOWN. */
void probe_problem(struct probe_backend *be, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Kernel log lines about virtualization and IOMMUs (live: /dev/kmsg; recording: kmsg.txt). */
const char *probe_kmsg(struct probe_backend *be, int *err);
/* Path of a host path inside the root (for libpci's sysfs.path). */
void probe_path(struct probe_backend *be, const char *path, char *out, size_t len);
/* Writes one file of the recording (path as on the host, e.g. "/kvm.json"); a failure is counted.
 */
void probe_save_bytes(struct probe_backend *be, const char *path, const void *buf, size_t n);
/* files.c, for backend.c too: a directory of the recording (no link followed), and an
 * input file opened (a recording's regular file, never through a link; the host's own, live). */
void probe_save_mkdir(struct probe_backend *be, const char *path);
/* A recording that could not be written whole: the first failure kept for --save to report. */
void probe_save_failed(struct probe_backend *be, const char *path, int err);
int probe_open_input(struct probe_backend *be, const char *path);
/* Copies a host file into the recording (used for files a library reads itself). */
void probe_save_copy(struct probe_backend *be, const char *path);

static inline int probe_cpuid(struct probe_backend *be, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	return be->ops->cpuid(be, leaf, sub, r);
}
static inline int probe_rdmsr(struct probe_backend *be, uint32_t msr, uint64_t *val)
{
	return be->ops->rdmsr(be, msr, val);
}

#endif
