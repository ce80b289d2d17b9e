/* runvm: running nestvisor as a user does, for the test programs that boot the project's guests
 * (test_run_guests, test_acpi_guests): its output, its exit status, a watchdog. Included by one .c
 * each. */
#ifndef NESTVISOR_TESTS_RUNVM_H
#define NESTVISOR_TESTS_RUNVM_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests/testutil.h"

struct run {
	char out[16384], err[16384];
	int status;		/* exit status, or -1 killed by the test's own watchdog */
	double start_ms, mark_ms[2];	/* when "pm-start" / "pm-end" arrived, for the timer test */
};

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline const char *builddir(void)
{
	const char *b = getenv("NV_BUILDDIR");
	return b ? b : NV_BUILDDIR;
}

static inline void skip_without_kvm(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		print_message("# SKIP: /dev/kvm is not usable here (%s): no guest can run\n",
			      strerror(errno));
		skip();
	}
}

static inline void drain(int fd, char *buf, size_t cap, size_t *len, struct run *r)
{
	ssize_t n = read(fd, buf + *len, cap - 1 - *len);

	if (n <= 0)
		return;
	*len += (size_t)n;
	buf[*len] = '\0';
	if (buf == r->out) {
		if (!r->mark_ms[0] && strstr(buf, "pm-start"))
			r->mark_ms[0] = now_ms();
		if (!r->mark_ms[1] && strstr(buf, "pm-end"))
			r->mark_ms[1] = now_ms();
	}
}

/* Runs nestvisor with argv (NULL-terminated), feeding input on stdin; kills it after limit_s. */
static inline void run_vm(struct run *r, const char *input, double limit_s, const char *const *argv)
{
	int in[2], out[2], err[2];
	size_t olen = 0, elen = 0;
	char bin[512];

	memset(r, 0, sizeof(*r));
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	snprintf(bin, sizeof(bin), "%s/nestvisor", builddir());
	r->start_ms = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		if (chdir(builddir()) < 0)
			_exit(127);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK); /* a detached VM may keep a copy of the write ends */
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	if (input && write(in[1], input, strlen(input)) < 0)
		fail_msg("writing the guest's input: %s", strerror(errno));
	close(in[1]);
	struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
	while (now_ms() - r->start_ms < limit_s * 1000) {
		if (poll(p, 2, 50) > 0) {
			if (p[0].revents)
				drain(out[0], r->out, sizeof(r->out), &olen, r);
			if (p[1].revents)
				drain(err[0], r->err, sizeof(r->err), &elen, r);
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			drain(out[0], r->out, sizeof(r->out), &olen, r);
			drain(err[0], r->err, sizeof(r->err), &elen, r);
			r->status = WIFEXITED(st) ?
				WEXITSTATUS(st) :
				-1000 - WTERMSIG(st); /* a crash equals no status */
			close(out[0]);
			close(err[0]);
			return;
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(out[0]);
	close(err[0]);
	r->status = -1;
}

#define RUN(r, input, limit, ...)                                                            \
	run_vm(r, input, limit,                                                              \
	       (const char *const[]){ "nestvisor", "run", "--console", "stdio", __VA_ARGS__, \
				      NULL })

static inline void expect(const struct run *r, int status, const char *in_out, const char *in_err)
{
	if (r->status != status || (in_out && !strstr(r->out, in_out)) ||
	    (in_err && !strstr(r->err, in_err)))
		fail_msg("status %d (expected %d)\n--- stdout:\n%s\n--- stderr:\n%s\n--- expected "
			 "\"%s\" / \"%s\"\n",
			 r->status, status, r->out, r->err, in_out ? in_out : "",
			 in_err ? in_err : "");
}

#define NV(r, ...) run_vm(r, NULL, 20, (const char *const[]){ "nestvisor", __VA_ARGS__, NULL })

/* A VM started with --detach, its control socket in a fresh runtime directory (dir). */
static inline void start_detached(struct run *r, char *dir, size_t len, const char *kernel,
			   const char *name)
{
	char said[96];

	skip_without_kvm();
	test_mkdtemp(dir, len);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	NV(r, "run", "--kernel", kernel, "--name", name, "--detach");
	snprintf(said, sizeof(said), "VM %s running in the background", name);
	expect(r, 0, said, NULL);
}

#endif
