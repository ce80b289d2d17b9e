/* blkbench: inside a Linux guest, /dev/vda's speed with O_DIRECT: 64 MiB written and read back in 1
 * MiB requests (MB/s), then 4 KiB reads at random places (IOPS), one at a time and then 32 at once
 * (32 threads, as a database or fio at iodepth 32 keeps them in flight). Built static by run.sh for
 * the guest's initramfs. */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

#define QD 32
static long per_thread;

static void *reader(void *arg)
{
	char *buf;
	unsigned seed = (unsigned)(long)arg;
	int fd = open("/dev/vda", O_RDONLY | O_DIRECT);

	if (fd < 0 || posix_memalign((void **)&buf, 4096, 4096))
		return (void *)1;
	for (long i = 0; i < per_thread; i++)
		if (pread(fd, buf, 4096, (long)(rand_r(&seed) % (64 * 256)) * 4096) != 4096)
			return (void *)1;
	close(fd);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	const long mib = 1 << 20, total = 64, reads = argc > 1 ? atol(argv[1]) : 2000;
	int fd = open("/dev/vda", O_RDWR | O_DIRECT);
	char *buf;

	if (fd < 0 || posix_memalign((void **)&buf, 4096, mib))
		return perror("/dev/vda"), 1;
	for (long i = 0; i < mib; i++)
		buf[i] = (char)i;
	double t0 = now();
	for (long i = 0; i < total; i++)
		if (pwrite(fd, buf, mib, i * mib) != mib)
			return perror("write"), 1;
	fdatasync(fd);
	double t1 = now();
	for (long i = 0; i < total; i++)
		if (pread(fd, buf, mib, i * mib) != mib)
			return perror("read"), 1;
	double t2 = now();
	srand(1);
	for (long i = 0; i < reads; i++)
		if (pread(fd, buf, 4096, (long)(rand() % (total * 256)) * 4096) != 4096)
			return perror("random read"), 1;
	double t3 = now();
	pthread_t th[QD];
	per_thread = reads * 4 / QD;
	for (long i = 0; i < QD; i++)
		if (pthread_create(&th[i], NULL, reader, (void *)(i + 1)))
			return perror("pthread_create"), 1;
	for (int i = 0; i < QD; i++) {
		void *rc;
		pthread_join(th[i], &rc);
		if (rc)
			return perror("parallel random read"), 1;
	}
	double t4 = now();
	printf("NVG: blkbench write %.1f read %.1f randread %.0f randread32 %.0f\n",
	       total / (t1 - t0), total / (t2 - t1), reads / (t3 - t2),
	       per_thread * QD / (t4 - t3));
	return 0;
}
