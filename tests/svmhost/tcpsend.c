/* tcpsend: the guest's side of bench/virtio.sh's network numbers. Sends MIB mebibytes to IP:PORT
 * and waits until the peer has read them all and closed (so nothing still in flight is counted as
 * sent); prints "tcpsend MIB seconds MB/s". Static, for the guest's initramfs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	struct sockaddr_in a = { .sin_family = AF_INET };
	long mib = argc > 3 ? atol(argv[3]) : 0, left;
	int fd = -1;

	if (argc != 4 || mib <= 0 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1)
		return fprintf(stderr, "usage: tcpsend IP PORT MIB\n"), 2;
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	for (int i = 0; i < 50; i++) {	/* the host's listener may start after us */
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			break;
		close(fd);
		fd = -1;
		usleep(200000);
	}
	if (fd < 0)
		return perror("tcpsend: connect"), 1;
	double t0 = now();
	for (left = mib << 20; left > 0;) {
		ssize_t n = write(fd, buf, left < (long)sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n <= 0)
			return perror("tcpsend: write"), 1;
		left -= n;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	double s = now() - t0;
	printf("tcpsend %ld %.3f %.1f\n", mib, s, mib * 1.048576 / s);
	return 0;
}
