/* firstbyte: runs a command and reports, in ms, when its first stdout byte arrived and when it
 * ended. */
#include <poll.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int p[2];
	char buf[4096];
	double t0, first = -1;

	if (argc < 2 || pipe(p) < 0)
		return 2;
	t0 = ms();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (first < 0)
			first = ms() - t0;
	}
	waitpid(pid, NULL, 0);
	printf("%.3f %.3f\n", first, ms() - t0);
	return 0;
}
