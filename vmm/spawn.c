/* spawn: a VM run to its end in this process (vmm_serve), or in a process of its own in the
 * background (vmm_spawn), as `nestvisor run` and `run --detach` and the TUI's launch form start
 * them. Neither the command line nor the TUI owns this logic: both call it. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vmm/control.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

struct sig_ctx {
	struct vmm *vm;
	sigset_t set;
};

/* SIGINT, SIGTERM and SIGHUP stop the VM; SIGUSR2 only ends this thread. */
static void *signal_thread(void *arg)
{
	struct sig_ctx *sc = arg;
	int sig;

	vmm_sandbox_enter(sc->vm, VMM_THREAD_SIGNAL);

	if (sigwait(&sc->set, &sig) == 0 && sig != SIGUSR2)
		vmm_stop(sc->vm);
	return NULL;
}

void vmm_signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void ready_say(int fd, const char *what, const char *msg)
{
	if (fd >= 0)
		dprintf(fd, "%s %s\n", what, msg);
}

/* How it ended (one line; --quiet leaves it out unless something failed), what failed, and with
 * opt->stats its statistics, to log. */
static void serve_report(struct vmm *vm, const struct vmm_serve_opts *opt, int rc)
{
	const char *name = opt->cfg->name;
	enum vmm_end end = vmm_end_reason(vm);
	char how[48];

	if (end == VMM_END_DEBUG_EXIT)
		snprintf(how, sizeof(how), "debug-exit %d", (rc - 1) / 2);
	else
		snprintf(how, sizeof(how), "%s", vmm_end_name(end));
	if (!opt->cfg->quiet || vmm_report(vm)[0]) {
		/* a console on this terminal (Ctrl-a x, a guest's last line without one): a newline
		 */
		if (opt->cfg->console == VMM_CONSOLE_STDIO && !vmm_serial_line_ended(vm))
			fputc('\n', opt->log);
		fprintf(opt->log, "nestvisor: VM %s ended: %s (exit status %d)\n", name, how, rc);
	}
	if (vmm_report(vm)[0])
		fprintf(opt->log, "%s", vmm_report(vm));
	if (!opt->stats)
		return;
	struct vmm_stats s;
	vmm_stats_get(vm, &s);
	fprintf(opt->log, "\nnestvisor: VM %s (%s) ended (%s, exit status %d)\n", name,
		vmm_boot_kind(vm), vmm_end_name(vmm_end_reason(vm)), rc);
	vmm_stats_print(&s, opt->log);
}

int vmm_serve(struct vmm *vm, const struct vmm_serve_opts *opt)
{
	struct sig_ctx sc = { .vm = vm };
	pthread_t sig_tid;
	char err[512];
	int rc;

	if (!opt->claimed && vmm_control_start(vm, opt->cfg->name, err, sizeof(err)) < 0) {
		fprintf(opt->log, "nestvisor run: %s\n", err);
		ready_say(opt->ready_fd, "ERR", err);
		vmm_destroy(vm);
		return VMM_STATUS_SETUP_ERROR;
	}
	ready_say(opt->ready_fd, "OK", vmm_pty_path(vm) ? vmm_pty_path(vm) : "-");
	if (opt->ready_fd >= 0)
		close(opt->ready_fd);
	sigemptyset(&sc.set);
	sigaddset(&sc.set, SIGINT);
	sigaddset(&sc.set, SIGTERM);
	sigaddset(&sc.set, SIGHUP);
	sigaddset(&sc.set, SIGUSR2);
	pthread_create(&sig_tid, NULL, signal_thread, &sc);
	rc = vmm_run(vm);
	/* in the background and the guest ended by itself: a second more on the control socket, so
	 * a console viewer (the TUI) gets its last output; a stop asked for ends at once */
	if (opt->ready_fd >= 0 && vmm_end_reason(vm) != VMM_END_STOPPED)
		poll(NULL, 0, 1000);
	pthread_kill(sig_tid, SIGUSR2);
	pthread_join(sig_tid, NULL);
	serve_report(vm, opt, rc);
	if (opt->ready_fd >= 0)	/* in the background: what it left, until dismissed */
		vmm_ended_write(vm, opt->cfg->name, rc);
	vmm_destroy(vm);
	return rc;
}

/* The VM's own process: a session of its own, the console on a pty, stdio to NAME.log once the name
 * is ours (its control socket claimed: only then is the log truncated, never another VM's). */
static void spawned(struct vmm_config cfg, bool stats, int ready)
{
	char err[1024], dir[96], log[160];
	struct vmm *vm;

	setsid();
	for (int sig = 1; sig < NSIG;
	     sig++) /* the caller's handlers (a TUI's terminal restore) are not the VM's */
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);	/* nor its blocked signals */
	vmm_signals_block();
	/* --restore: its snapshot stays open, as 4 (out of the way of 3 first: it may be 3) */
	if (cfg.restore && vmm_snapshot_move_fd(&cfg, 100) < 0)
		_exit(VMM_STATUS_SETUP_ERROR);
	if (dup2(ready, 3) <
	    0) /* the caller's other files (a TUI's terminal, its databases) are not the VM's */
		_exit(VMM_STATUS_SETUP_ERROR);
	ready = 3;
	if (cfg.restore && vmm_snapshot_move_fd(&cfg, 4) < 0)
		_exit(VMM_STATUS_SETUP_ERROR);
	close_range(cfg.restore ? 5 : 4, ~0u, 0);
	cfg.console = VMM_CONSOLE_PTY;
	if (vmm_create(&cfg, &vm, err, sizeof(err)) < 0) {
		ready_say(ready, "ERR", err);
		_exit(VMM_STATUS_SETUP_ERROR);
	}
	if (vmm_control_start(vm, cfg.name, err, sizeof(err)) < 0 ||
	    vmm_control_dir(dir, sizeof(dir), err, sizeof(err)) < 0) {
		ready_say(ready, "ERR", err);
		vmm_destroy(vm);
		_exit(VMM_STATUS_SETUP_ERROR);
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	snprintf(log, sizeof(log), "%s/%s.log", dir, cfg.name);
	int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	dup2(null, 0), dup2(null, 1), dup2(logfd >= 0 ? logfd : null, 2);
	struct vmm_serve_opts opt = {
		.cfg = &cfg, .stats = stats, .ready_fd = ready, .claimed = true, .log = stderr
	};
	_exit(vmm_serve(vm, &opt));
}

int vmm_spawn(const struct vmm_config *cfg, bool stats, struct vmm_spawned *out, char *err,
	      size_t errlen)
{
	char msg[1100] = "", dir[96];
	int ready[2], st, rc;
	ssize_t n;

	/* where its socket and log go, checked first: a directory of someone else's is said at
	 * once, before any VM is made */
	if ((rc = vmm_control_dir(dir, sizeof(dir), err, errlen)) < 0)
		return rc;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "a pipe: %s", strerror(errno));
		return -errno;
	}
	/* twice: the VM's process is nobody's child, so no caller has to reap it */
	pid_t mid = fork();
	if (mid == 0) {
		close(ready[0]);
		pid_t vm = fork();
		if (vm == 0)
			spawned(*cfg, stats, ready[1]);
		dprintf(ready[1], "PID %d\n", (int)vm);
		_exit(vm < 0 ? 1 : 0);
	}
	close(ready[1]);
	if (mid < 0) {
		close(ready[0]);
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -EAGAIN;
	}
	size_t got = 0;
	while (got + 1 < sizeof(msg) && (n = read(ready[0], msg + got, sizeof(msg) - 1 - got)) > 0)
		got += (size_t)
			n; /* until the VM's process is up (or gave up): it closes its end then */
	msg[got] = '\0';
	close(ready[0]);
	waitpid(mid, &st, 0);
	int pid = 0;
	char *line = strstr(msg, "OK "), *bad = strstr(msg, "ERR "), *p = strstr(msg, "PID ");
	if (!p || sscanf(p, "PID %d", &pid) != 1 || pid <= 0 || !line || bad) {
		if (bad)
			bad[strcspn(bad, "\n")] = '\0';
		snprintf(err, errlen, "%s", bad ? bad + 4 : "the VM's process did not start");
		return -EIO;
	}
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	out->pid = pid;
	snprintf(out->pty, sizeof(out->pty), "%s", line);
	return 0;
}
