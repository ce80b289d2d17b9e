/* confine: the image is read by a copy of this program run apart (exec'd afresh, so it holds
 * nothing of ours: no secret, no other file), as nobody, with no new privileges, a seccomp list
 * that allows reading its image and writing its answer and little else, and bounded memory, CPU
 * time and wall-clock time. Its answer (kernel, initramfs, command line) is checked again here. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/fs.h>
#include "imgboot/imgboot-int.h"

#define IMAGE_FD 3
#define ANSWER_FD 4
#define WALL_SECONDS 60
#define CPU_SECONDS 30
#define TEXT_MAX 8192

struct wire {
	char magic[8];
	int32_t rc;
	uint32_t textlen;
	uint64_t klen, ilen;
};
static const char wire_magic[8] = "NVIMGB1";

/* ---------------------------------------------------------------- the reader's side */

static int drop_privileges(void)
{
	const struct rlimit cpu = { CPU_SECONDS, CPU_SECONDS + 5 }, none = { 0, 0 },
			    files = { 8, 8 };

	if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			       setresuid(65534, 65534, 65534) < 0))
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
#ifndef __SANITIZE_ADDRESS__	/* ASan reserves terabytes of address space for its shadow */
	const struct rlimit as = { 2ull << 30, 2ull << 30 };
	if (setrlimit(RLIMIT_AS, &as) < 0)
		return -errno;
#endif
	if (setrlimit(RLIMIT_CPU, &cpu) < 0 || setrlimit(RLIMIT_FSIZE, &none) < 0 ||
	    setrlimit(RLIMIT_CORE, &none) < 0 || setrlimit(RLIMIT_NOFILE, &files) < 0 ||
	    setrlimit(RLIMIT_NPROC, &none) < 0)
		return -errno;
	return 0;
}

/* What reading an image needs; opening anything by name is refused (libblkid looks in /sys for a
 * block device's details and does without). Anything else ends the process (SIGSYS). */
static int seccomp_install(void)
{
	static const int allowed[] = {
		SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(lseek), SCMP_SYS(fstat),
		SCMP_SYS(newfstatat), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
		SCMP_SYS(mprotect), SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(close),
		SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack),
		SCMP_SYS(futex), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(clock_gettime),
		SCMP_SYS(getrandom), SCMP_SYS(sched_yield), SCMP_SYS(fcntl), SCMP_SYS(fadvise64),
	};
	static const int refused[] = { SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(readlink),
				       SCMP_SYS(readlinkat), SCMP_SYS(access), SCMP_SYS(faccessat),
				       SCMP_SYS(faccessat2), SCMP_SYS(sysinfo), SCMP_SYS(uname) };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = ctx ? 0 : -ENOMEM;

	for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (size_t i = 0; rc == 0 && i < sizeof(refused) / sizeof(refused[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), refused[i], 0);
	/* writes only to the answer (and to stderr, /dev/null, for a sanitizer's report) */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
				      SCMP_A0(SCMP_CMP_EQ, ANSWER_FD));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
				      SCMP_A0(SCMP_CMP_EQ, 2));
	/* a block device's size, and nothing else of ioctl (the rules may not overlap: one without
	 * conditions would override the others) */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, IMAGE_FD),
				      SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)BLKGETSIZE64));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, IMAGE_FD),
				      SCMP_A1(SCMP_CMP_NE, (scmp_datum_t)BLKGETSIZE64));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
				      SCMP_A0(SCMP_CMP_NE, IMAGE_FD));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

static int write_all(int fd, const void *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t w = write(fd, (const char *)p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

static void answer(int rc, const struct imgboot *b, const char *err)
{
	char text[TEXT_MAX];
	size_t n;
	struct wire w = { .rc = rc };

	memcpy(w.magic, wire_magic, sizeof(w.magic));
	if (rc < 0)
		n = (size_t)snprintf(text, sizeof(text), "%s", err) + 1;
	else
		n = (size_t)snprintf(text, sizeof(text), "%s%c%s%c%s%c%s", b->cmdline, 0, b->how, 0,
				     b->kernel_path, 0, b->initrd_path) + 1;
	w.textlen = (uint32_t)(n < sizeof(text) ? n : sizeof(text));
	w.klen = rc < 0 ? 0 : b->klen;
	w.ilen = rc < 0 ? 0 : b->ilen;
	if (write_all(ANSWER_FD, &w, sizeof(w)) == 0 && write_all(ANSWER_FD, text, w.textlen) == 0 &&
	    write_all(ANSWER_FD, b->kernel, w.klen) == 0)
		write_all(ANSWER_FD, b->initrd, w.ilen);
}

int imgboot_reader_main(int argc, char **argv)
{
	struct imgboot b = { 0 };
	char err[2048] = "";
	const char *image = argc > 2 ? argv[2] : "the image";
	int rc = drop_privileges();

	if (rc < 0)
		snprintf(err, sizeof(err), "the image reader could not give up its privileges: %s",
			 strerror(-rc));
	else if ((rc = seccomp_install()) < 0)
		snprintf(err, sizeof(err), "the image reader could not confine itself: %s",
			 strerror(-rc));
	else
		rc = imgboot_inspect(IMAGE_FD, image, &b, err, sizeof(err));
	answer(rc, &b, err);
	_exit(0);	/* nothing to tear down: the process ends here */
}

/* ---------------------------------------------------------------- our side */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* n bytes from the reader before the deadline: 0, -ETIMEDOUT, -EPIPE (it ended first) */
static int read_all(int fd, void *p, size_t n, double deadline)
{
	for (size_t done = 0; done < n;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int ms = (int)((deadline - now()) * 1000);
		if (ms <= 0)
			return -ETIMEDOUT;
		int r = poll(&pfd, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -ETIMEDOUT;
		ssize_t got = read(fd, (char *)p + done, n - done);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -EPIPE;
		done += (size_t)got;
	}
	return 0;
}

/* Text from the image is shown to a person: no control character of it reaches a terminal. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static pid_t start(const char *image, int fd, const char *reader, int *out)
{
	int p[2], null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0 || pipe2(p, O_CLOEXEC) < 0) {
		if (null >= 0)
			close(null);
		return -errno;
	}
	pid_t pid = fork();
	if (pid == 0) {	/* only async-signal-safe calls until exec */
		char *args[] = { "nestvisor", IMGBOOT_READER_ARG, (char *)image, NULL };
		char *env[] = { NULL };
		int img = fcntl(fd, F_DUPFD, 10), ans = fcntl(p[1], F_DUPFD, 10);
		if (img < 0 || ans < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(null, 2) < 0 || dup2(img, IMAGE_FD) < 0 || dup2(ans, ANSWER_FD) < 0)
			_exit(127);
		close_range(ANSWER_FD + 1, ~0u, 0);
		execve(reader ? reader : "/proc/self/exe", args, env);
		_exit(127);
	}
	int e = errno;
	close(p[1]);
	close(null);
	if (pid < 0) {
		close(p[0]);
		return -e;
	}
	*out = p[0];
	return pid;
}

/* How the reader ended, when it gave no answer. */
static void ended(pid_t pid, int rc, const char *image, char *err, size_t errlen)
{
	int st = 0;

	if (rc == -ETIMEDOUT)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "%s: reading its boot files took longer than %d s and was "
			 "stopped (a damaged or hostile image?); boot it with --kernel", image,
			 WALL_SECONDS);
	else if (WIFSIGNALED(st))
		snprintf(err, errlen, "%s: the confined reader of its boot files ended on signal %d "
			 "(%s)%s: the image is damaged or hostile; nothing of it was used", image,
			 WTERMSIG(st), strsignal(WTERMSIG(st)),
			 WTERMSIG(st) == SIGSYS ? ", a system call its sandbox forbids" :
			 WTERMSIG(st) == SIGXCPU ? ", more than 30 s of CPU" : "");
	else
		snprintf(err, errlen, "%s: the confined reader of its boot files gave no answer (exit "
			 "status %d)", image, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static int receive(int fd, struct imgboot *b, struct wire *w, char *text, double deadline)
{
	int rc = read_all(fd, w, sizeof(*w), deadline);

	if (rc < 0)
		return rc;
	if (memcmp(w->magic, wire_magic, sizeof(w->magic)) || w->textlen == 0 ||
	    w->textlen > TEXT_MAX || w->klen > IMGBOOT_MAX_KERNEL || w->ilen > IMGBOOT_MAX_INITRD ||
	    w->rc > 0 || w->rc < -4095 || (w->rc == 0 && w->klen == 0))
		return -EPROTO;
	if ((rc = read_all(fd, text, w->textlen, deadline)) < 0)
		return rc;
	text[w->textlen - 1] = 0;
	if (w->rc < 0)
		return 0;
	if (!(b->kernel = malloc(w->klen)) || (w->ilen && !(b->initrd = malloc(w->ilen))))
		return -ENOMEM;
	b->klen = w->klen, b->ilen = w->ilen;
	if ((rc = read_all(fd, b->kernel, b->klen, deadline)) < 0 ||
	    (rc = read_all(fd, b->initrd, b->ilen, deadline)) < 0)
		return rc;
	return 0;
}

int imgboot_find(const char *image, int fd, const char *reader, struct imgboot *b, char *err,
		 size_t errlen)
{
	static char text[TEXT_MAX];
	struct wire w;
	int in = -1, st;
	pid_t pid = start(image, fd, reader, &in);

	memset(b, 0, sizeof(*b));
	if (pid < 0) {
		snprintf(err, errlen, "%s: the image reader could not start: %s", image,
			 strerror((int)-pid));
		return (int)pid;
	}
	int rc = receive(in, b, &w, text, now() + WALL_SECONDS);
	close(in);
	if (rc == -EPROTO || rc == -ENOMEM) {
		kill(pid, SIGKILL);
		snprintf(err, errlen, "%s: the image reader's answer %s", image,
			 rc == -ENOMEM ? "does not fit in memory" : "is malformed");
	} else if (rc < 0) {
		ended(pid, rc, image, err, errlen);
		imgboot_free(b);
		return rc;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && w.rc < 0) {
		printable(text);
		snprintf(err, errlen, "%s", text);
		rc = w.rc;
	}
	if (rc < 0) {
		imgboot_free(b);
		return rc;
	}
	const char *f[4] = { text };
	for (int k = 1; k < 4; k++)
		f[k] = f[k - 1] + strnlen(f[k - 1], TEXT_MAX) + (f[k - 1] < text + w.textlen - 1);
	copy(b->cmdline, sizeof(b->cmdline), f[0]);
	copy(b->how, sizeof(b->how), f[1]);
	copy(b->kernel_path, sizeof(b->kernel_path), f[2]);
	copy(b->initrd_path, sizeof(b->initrd_path), f[3]);
	printable(b->cmdline), printable(b->how), printable(b->kernel_path);
	printable(b->initrd_path);
	return 0;
}

void imgboot_free(struct imgboot *b)
{
	free(b->kernel);
	free(b->initrd);
	b->kernel = b->initrd = NULL;
	b->klen = b->ilen = 0;
}

void imgboot_cmdline(const char *own, const char *extra, char *out, size_t outlen)
{
	bool serial = strstr(own, "console=ttyS") != NULL;

	snprintf(out, outlen, "%s%s%s%s%s", own, *own && !serial ? " " : "",
		 serial ? "" : "console=ttyS0", extra && *extra ? " " : "", extra ? extra : "");
}
