/* sandboxpoke: LD_PRELOAD'ed by the sandbox's tests only, never linked into nestvisor: it makes a
 * call no VMM thread may make (opening /etc/passwd, as a guest that took over a device model would
 * try) from the kind of thread NV_SANDBOX_POKE names, at a call only that kind makes:
 *   vcpu     KVM_RUN (a vCPU thread)
 *   io       getrandom from a thread other than the main one (virtio-rng's I/O thread)
 *   control  accept4 (the control socket's thread, when a client connects)
 * With the sandbox on the VM must end there (exit status 159, the call named); with it off the open
 * works and the VM goes on. And one that the sandbox lets through but Landlock refuses:
 *   slirp    recv (a user network's thread, as libslirp reads a guest's connection): opening
 *            /etc/shadow read-only, which its seccomp list allows (for /etc/resolv.conf); what the
 *            kernel answered goes to stderr as "sandboxpoke: /etc/shadow: ERRNO" */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int at(const char *what)
{
	const char *e = getenv("NV_SANDBOX_POKE");
	return e && !strcmp(e, what);
}

static void poke(void)
{
	long fd = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
	if (fd >= 0)
		close((int)fd);
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);

	if (at("vcpu") && req == KVM_RUN)
		poke();
	if (!real)
		real = (__typeof__(real))dlsym(RTLD_NEXT, "ioctl");
	return real(fd, req, arg);
}

ssize_t getrandom(void *buf, size_t len, unsigned flags)
{
	static ssize_t (*real)(void *, size_t, unsigned);

	if (at("io") && gettid() != getpid())
		poke();
	if (!real)
		real = (__typeof__(real))dlsym(RTLD_NEXT, "getrandom");
	return real(buf, len, flags);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	static ssize_t (*real)(int, void *, size_t, int);
	static int said;

	if (at("slirp") && !said++) {
		long r = syscall(SYS_openat, AT_FDCWD, "/etc/shadow", O_RDONLY);
		char msg[96];
		int n = snprintf(msg, sizeof(msg), "sandboxpoke: /etc/shadow: %s\n",
				 r >= 0 ? "opened" : strerror(errno));
		if (r >= 0)
			close((int)r);
		if (write(2, msg, (size_t)n) < 0)
			said++;
	}
	if (!real)
		real = (__typeof__(real))dlsym(RTLD_NEXT, "recv");
	return real(fd, buf, len, flags);
}

int accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);

	if (at("control"))
		poke();
	if (!real)
		real = (__typeof__(real))dlsym(RTLD_NEXT, "accept4");
	return real(fd, a, len, flags);
}
