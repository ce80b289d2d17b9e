/* nestvisor image import FILE [-o RAW]: a qcow2 (or another format qemu-img reads) made into the
 * sparse raw disk --disk takes. qemu-img does the reading; the image is hostile input and we may
 * be root, so (OpenStack's lessons, CVE-2015-5162 and the backing-file leaks) the format is the
 * one its content shows, never probed by name; its backing file is switched off and an image that
 * names other files (a backing file, an external data file, extents) is refused; qemu-img runs
 * with its memory and, while only looking, its CPU time bounded; the output is created by us,
 * new, never through a link, and removed again when the conversion fails. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"
#include "common/text.h"
#include "common/trustpath.h"
#include "common/imagefmt.h"
#include "imgboot/imgboot.h"
#include "vmm/vmm.h"

#define INFO_MAX (1 << 20)	/* qemu-img info's answer, at most */
#define IN_FD 3			/* the image, as qemu-img sees it: /dev/fd/3 */
#define OUT_FD 4

void cli_image_usage(void)
{
	static const struct cli_opt_help opts[] = {
		{ "import FILE", "make FILE (qcow2, VMDK, VDI, VHD(X), QED...: told by its content) a "
				 "raw disk for --disk, sparse, with qemu-img (apt-get install "
				 "qemu-utils), a progress bar on a terminal" },
		{ "-o RAW", "where to write it (new; default: FILE's name with .raw for its "
			    "extension, beside it)" },
		{ "inspect IMAGE", "what `nestvisor run --disk IMAGE` would boot with no --kernel (the "
				   "kernel, initramfs and command line, and where they were found), read "
				   "the same way, booting nothing" },
		{ "--help", "this help" },
		{ NULL, NULL },
	};
	static const struct cli_help h = {
		.synopsis = "nestvisor image import FILE [-o RAW]\n"
			    "       nestvisor image inspect IMAGE",
		.about = "Makes a disk image in another format the raw disk `nestvisor run --disk` "
			 "boots. An image naming other files (a backing file, extents, an external "
			 "data file) is refused: they would be read as root.",
		.opts = opts,
		.footer = "exit status: 0 made (or found), 1 refused or failed (nothing left behind), "
			  "2 bad usage",
	};
	cli_help_print(&h);
}

static volatile pid_t child;

/* Ctrl-C or a TERM while qemu-img works: it ends, and what it left is removed (import). */
static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/* qemu-img with argv, the image as fd 3 and out (or -1) as fd 4; its stdout into *buf (up to
 * INFO_MAX, NUL-terminated) when buf is given, else the terminal's; its stderr into err. Bounded:
 * 2 GiB of memory, and cpu seconds of CPU time when cpu > 0. Its exit status, or -errno. */
static int qemu_img(char *const argv[], int in, int out, long cpu, char **buf, char *err,
		    size_t errlen)
{
	int po[2] = { -1, -1 }, pe[2];
	size_t len = 0;

	err[0] = '\0';
	if (buf && !(*buf = malloc(INFO_MAX + 1)))
		return -ENOMEM;
	if ((buf && pipe2(po, O_CLOEXEC) < 0) || pipe2(pe, O_CLOEXEC) < 0)
		return -errno;	/* a pipe's fds left: this process ends soon after */
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit as = { 2ul << 30, 2ul << 30 }, t = { (rlim_t)cpu, (rlim_t)cpu };
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		/* above the fds to be, so that none is overwritten before it is moved */
		int nul = open("/dev/null", O_RDONLY), i = fcntl(in, F_DUPFD_CLOEXEC, 10);
		int o = out >= 0 ? fcntl(out, F_DUPFD_CLOEXEC, 10) : -1;
		if (nul < 0 || i < 0 || dup2(nul, 0) < 0 || (buf && dup2(po[1], 1) < 0) ||
		    dup2(pe[1], 2) < 0 || dup2(i, IN_FD) < 0 || (o >= 0 && dup2(o, OUT_FD) < 0) ||
		    setrlimit(RLIMIT_AS, &as) < 0 || (cpu > 0 && setrlimit(RLIMIT_CPU, &t) < 0))
			_exit(126);
		execvp("qemu-img", argv);
		_exit(127);
	}
	if (buf)
		close(po[1]);
	close(pe[1]);
	if (pid < 0) {
		if (buf)
			close(po[0]);
		close(pe[0]);
		return -EAGAIN;
	}
	struct sigaction sa = { .sa_handler = forward }, oint, oterm;
	child = pid;
	sigaction(SIGINT, &sa, &oint);
	sigaction(SIGTERM, &sa, &oterm);
	if (buf) {
		char drop[4096];
		ssize_t n;
		/* past INFO_MAX read and dropped (the JSON then fails to parse): never a writer left
		 * blocked */
		while ((n = read(po[0], len < INFO_MAX ? *buf + len : drop,
				 len < INFO_MAX ? INFO_MAX - len : sizeof(drop))) > 0)
			len += len < INFO_MAX ? (size_t)n : 0;
		(*buf)[len] = '\0';
	}
	ssize_t n = read(pe[0], err, errlen - 1);
	err[n > 0 ? n : 0] = '\0';
	char rest[4096];	/* the rest read and dropped: a writer blocked on a full pipe never ends */
	while (read(pe[0], rest, sizeof(rest)) > 0)
		;
	text_clean(err);
	char *nl = strchr(err, '\n');	/* its first line says what */
	if (nl)
		*nl = '\0';
	if (buf)
		close(po[0]);
	close(pe[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	child = 0;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -ENOENT;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Whether an object in qemu-img's answer names a file other than ours. */
static bool names_other_files(json_object *o, int depth)
{
	if (depth > 8)
		return true;
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (names_other_files(json_object_array_get_idx(o, i), depth + 1))
				return true;
		return false;
	}
	if (!json_object_is_type(o, json_type_object))
		return false;
	json_object_object_foreach(o, k, v) {
		if (!strcmp(k, "backing-filename") || !strcmp(k, "full-backing-filename") ||
		    !strcmp(k, "data-file") || !strcmp(k, "backing-image"))
			return true;
		if (!strcmp(k, "filename") && json_object_is_type(v, json_type_string) &&
		    !strstr(json_object_get_string(v), "/dev/fd/3"))
			return true;
		if (names_other_files(v, depth + 1))
			return true;
	}
	return false;
}

/* qemu-img check: 0 when consistent (or leaking clusters only, which lose nothing) or when its
 * format has no check; 2 corrupt; else what went wrong. */
static int check(const char *spec, int in)
{
	char *argv[] = { "qemu-img", "check", "-q", (char *)spec, NULL }, err[256];
	int st = qemu_img(argv, in, -1, 120, NULL, err, sizeof(err));

	return st == 3 || st == 63 ? 0 : st;
}

/* The image's size as a disk, from qemu-img info; 0 with why. */
static long long image_info(const char *spec, int in, char *why, size_t whylen)
{
	char *argv[] = { "qemu-img", "info", "--output=json", (char *)spec, NULL }, err[512];
	char *out = NULL;
	long long size = 0;
	json_object *o = NULL, *v;

	int st = qemu_img(argv, in, -1, 30, &out, err, sizeof(err));
	if (st == -ENOENT)
		snprintf(why, whylen, "qemu-img is not installed (apt-get install qemu-utils)");
	else if (st != 0)
		snprintf(why, whylen, "qemu-img cannot read it%s%s", err[0] ? ": " : "", err);
	else if (!(o = json_tokener_parse(out)) || !json_object_object_get_ex(o, "virtual-size", &v))
		snprintf(why, whylen, "qemu-img's description of it is not what it should be");
	else if (names_other_files(o, 0))
		snprintf(why, whylen, "it names other files (a backing file, extents or a data file), "
			 "which would be read as root: convert it with qemu-img yourself where you "
			 "trust them");
	else if ((st = check(spec, in)) != 0)
		snprintf(why, whylen, st == 2 ? "qemu-img check finds it corrupt (a truncated or damaged "
			 "copy: its missing parts would be read as zeros): fetch it again" :
			 "qemu-img check could not finish on it");
	else if ((size = json_object_get_int64(v)) <= 0 || size % 512)
		snprintf(why, whylen, "its size as a disk (%lld bytes) is no whole number of sectors",
			 size);
	json_object_put(o);
	free(out);
	return size > 0 && size % 512 == 0 && !why[0] ? size : 0;
}

/* FILE's name with .raw for its extension (or added). */
static void default_out(const char *file, char *out, size_t len)
{
	const char *slash = strrchr(file, '/'), *dot = strrchr(file, '.');
	int keep = dot && dot > (slash ? slash + 1 : file) ? (int)(dot - file) : (int)strlen(file);

	snprintf(out, len, "%.*s.raw", keep, file);
}

/* out created new beside nothing that is not ours: its fd and its directory's in *dirfd. */
static int create_out(const char *out, int *dirfd, char *why, size_t whylen)
{
	char d[4096], b[4096];

	snprintf(d, sizeof(d), "%s", out);
	snprintf(b, sizeof(b), "%s", out);
	if ((*dirfd = trustpath_dir(dirname(d), false, 0, why, whylen)) < 0)
		return *dirfd;
	int fd = openat(*dirfd, basename(b), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0) {
		int rc = -errno;
		snprintf(why, whylen, "%s", errno == EEXIST ? "it exists already: give -o a new name "
			 "(nothing is overwritten)" : strerror(errno));
		close(*dirfd);
		return rc;
	}
	return fd;
}

static int import(const char *file, const char *out)
{
	char why[1024] = "", spec[160], err[512], outbuf[4096];
	uint8_t head[IMAGEFMT_HEAD], tail[IMAGEFMT_TAIL];
	struct stat st;
	int in, fd, dirfd;

	if ((in = trustpath_open_regular(file, &st, why, sizeof(why))) < 0) {
		fprintf(stderr, "nestvisor image import: %s: %s\n", file, why);
		return CLI_FAILED;
	}
	ssize_t n = pread(in, head, sizeof(head), 0);
	bool has_tail = st.st_size >= IMAGEFMT_TAIL &&
			pread(in, tail, sizeof(tail), st.st_size - IMAGEFMT_TAIL) == IMAGEFMT_TAIL;
	const struct imagefmt *f = n > 0 ? imagefmt_detect(head, (size_t)n, has_tail ? tail : NULL)
					 : NULL;
	if (!f || !f->qemu) {
		if (f)
			fprintf(stderr, "nestvisor image import: %s: a %s: %s\n", file, f->name,
				f->why_not);
		else
			fprintf(stderr, "nestvisor image import: %s: a raw disk already (no format "
				"this knows begins it): give it to --disk as it is\n", file);
		close(in);
		return CLI_FAILED;
	}
	/* the driver its content shows, its backing file off: nothing named inside it is opened */
	snprintf(spec, sizeof(spec), "json:{\"driver\":\"%s\",\"backing\":null,\"file\":{\"driver\":"
		 "\"file\",\"filename\":\"/dev/fd/%d\"}}", f->qemu, IN_FD);
	long long size = image_info(spec, in, why, sizeof(why));
	if (!size) {
		fprintf(stderr, "nestvisor image import: %s (%s): %s\n", file, f->name, why);
		close(in);
		return CLI_FAILED;
	}
	if (!out) {
		default_out(file, outbuf, sizeof(outbuf));
		out = outbuf;
	}
	if ((fd = create_out(out, &dirfd, why, sizeof(why))) < 0) {
		fprintf(stderr, "nestvisor image import: %s: %s\n", out, why);
		close(in);
		return CLI_FAILED;
	}
	bool tty = isatty(STDOUT_FILENO);
	char outspec[32];
	snprintf(outspec, sizeof(outspec), "/dev/fd/%d", OUT_FD);
	char *argv[] = { "qemu-img", "convert", "-n", "-O", "raw", tty ? "-p" : "-q", spec, outspec,
			 NULL };
	int rc = ftruncate(fd, size) < 0 ? -errno : qemu_img(argv, in, fd, 0, NULL, err, sizeof(err));
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	struct stat os;
	fstat(fd, &os);
	close(fd);
	close(in);
	if (rc != 0) {
		char b[4096];
		snprintf(b, sizeof(b), "%s", out);
		unlinkat(dirfd, basename(b), 0);
		close(dirfd);
		fprintf(stderr, "nestvisor image import: %s (%s): %s; %s removed, nothing left behind\n",
			file, f->name, rc < 0 ? strerror(-rc) : err[0] ? err : "qemu-img failed", out);
		return CLI_FAILED;
	}
	close(dirfd);
	printf("%s (%s, %lld MiB as a disk) -> %s: a raw disk, %lld MiB of it written (sparse); "
	       "boot it with --disk %s\n", file, f->name, size >> 20, out,
	       (long long)os.st_blocks * 512 >> 20, out);
	return CLI_OK;
}

/* What an image boots, found as `run --disk` finds it (the confined reader), and how long that
 * took. */
static int inspect(const char *file)
{
	struct vmm_disk d;
	struct imgboot b;
	struct timespec t0, t1;
	char err[2048], cmdline[4096];
	int fd, rc;

	if (vmm_disk_parse(file, &d, err, sizeof(err)) < 0 ||
	    vmm_disk_open_read(&d, &fd, err, sizeof(err)) < 0) {
		fprintf(stderr, "nestvisor image inspect: %s\n", err);
		return CLI_ERROR;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = imgboot_find(d.path, fd, NULL, &b, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "nestvisor image inspect: %s\n", err);
		return CLI_ERROR;
	}
	imgboot_cmdline(b.cmdline, NULL, cmdline, sizeof(cmdline));
	printf("%s boots %s\n  kernel   %s (%zu bytes)\n  initrd   %s (%zu bytes)\n  cmdline  %s\n"
	       "  read in %.3f s by a confined reader\n",
	       d.path, b.how, b.kernel_path, b.klen, b.ilen ? b.initrd_path : "none", b.ilen, cmdline,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	imgboot_free(&b);
	return CLI_OK;
}

int cli_image(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'h': cli_image_usage(); return CLI_OK;
		default: cli_image_usage(); return CLI_ERROR;
		}
	}
	if (optind + 2 == argc && !strcmp(argv[optind], "inspect") && !out)
		return inspect(argv[optind + 1]);
	if (optind + 2 != argc || strcmp(argv[optind], "import")) {
		fprintf(stderr, "nestvisor image: import FILE [-o RAW] or inspect IMAGE; see "
			"`nestvisor image --help`\n");
		return CLI_ERROR;
	}
	return import(argv[optind + 1], out);
}
