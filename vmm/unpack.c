/* unpack: decompress a bzImage's kernel once (liblzma, zlib), keep it in a cache directory of our
 * own. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <nettle/sha2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "common/paths.h"
#include "common/safefile.h"
#include "vmm/unpack.h"

#define CACHE_MAGIC "NVUNPK2"
#define CACHE_SUFFIX ".v2"
#define CACHE_KEEP 4		/* kernels kept; the least recently booted goes first */

/* The head of every cache file: what it was unpacked from (the SHA-256 of the whole compressed
 * payload: anything less can be forged, and every root VM shares one cache), how much follows, and
 * the SHA-256 of what follows, checked before every use. */
struct cache_header {
	char magic[8];
	uint8_t payload_sha[SHA256_DIGEST_SIZE];
	uint64_t payload_len;
	uint8_t sha[SHA256_DIGEST_SIZE];
	uint64_t len;
};

struct key { uint64_t payload_len; uint8_t sha[SHA256_DIGEST_SIZE]; };

void vmm_unpack_cache_dir(char *buf, size_t len)
{
	paths_cache_file("kernels", buf, len);
}

static void sha256(const uint8_t *p, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, len, p);
	sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

/* A payload's identity: its whole SHA-256 (about 10 MB: 20 ms here, beside 300 ms of xz) and its
 * length. */
static struct key payload_key(const uint8_t *p, size_t len)
{
	struct key k = { .payload_len = len };

	sha256(p, len, k.sha);
	return k;
}

static void cache_name(char *buf, size_t len, const struct key *k)
{
	char hex[2 * SHA256_DIGEST_SIZE + 1];

	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", k->sha[i]);
	snprintf(buf, len, "%s-%llx%s", hex, (unsigned long long)k->payload_len, CACHE_SUFFIX);
}

static bool read_all(int fd, void *buf, size_t n, uint64_t off)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static bool write_all(int fd, const void *buf, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t w = write(fd, (const uint8_t *)buf + done, n - done);
		if (w <= 0)
			return false;
		done += (size_t)w;
	}
	return true;
}

/* A cache file is used only if it is a regular file of ours whose header names this payload, whose
 * size is exactly that header and the kernel's unpacked length, and whose content has the SHA-256
 * its header records; anything else is unpacked again and replaced. It is read whole here and used
 * from memory, so what was checked is what boots. */
static int cache_load(int dfd, const char *name, const struct key *k, uint64_t expect,
		      struct vmm_unpacked *u)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	uint8_t sha[SHA256_DIGEST_SIZE];
	struct cache_header h;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (uint64_t)st.st_size != sizeof(h) + expect || !read_all(fd, &h, sizeof(h), 0) ||
	    memcmp(h.magic, CACHE_MAGIC, sizeof(h.magic)) || h.payload_len != k->payload_len ||
	    memcmp(h.payload_sha, k->sha, sizeof(k->sha)) || h.len != expect ||
	    !(u->buf = malloc(expect)) || !read_all(fd, u->buf, expect, sizeof(h))) {
		close(fd);
		return -ESTALE;
	}
	sha256(u->buf, expect, sha);
	if (memcmp(sha, h.sha, sizeof(sha))) {	/* damaged since it was written */
		close(fd);
		return -ESTALE;
	}
	futimens(fd, NULL);	/* recently booted: kept longest */
	close(fd);
	return 0;
}

static int decompress(const uint8_t *p, size_t len, uint8_t *out, size_t outlen)
{
	if (len >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6)) {
		lzma_stream s = LZMA_STREAM_INIT;
		if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
			return -ENOMEM;
		s.next_in = p;
		s.avail_in = len;
		s.next_out = out;
		s.avail_out = outlen;
		lzma_ret r = lzma_code(&s, LZMA_FINISH);
		bool ok = r == LZMA_STREAM_END && s.total_out == outlen;
		lzma_end(&s);
		return ok ? 0 : -EBADMSG;
	}
	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b && len <= UINT32_MAX && outlen <= UINT32_MAX) {
		z_stream z = { 0 };
		if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
			return -ENOMEM;
		z.next_in = (Bytef *)p;
		z.avail_in = (uInt)len;
		z.next_out = out;
		z.avail_out = (uInt)outlen;
		int r = inflate(&z, Z_FINISH);
		bool ok = r == Z_STREAM_END && z.total_out == outlen;
		inflateEnd(&z);
		return ok ? 0 : -EBADMSG;
	}
	return -ENOTSUP;	/* lz4, lzo, zstd, bzip2, lzma: the guest's decompressor does it */
}

struct entry { char name[96]; struct timespec mtime; };

static int by_age(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec > y->mtime.tv_sec ? -1 : 1;
	return x->mtime.tv_nsec > y->mtime.tv_nsec ? -1 : x->mtime.tv_nsec < y->mtime.tv_nsec;
}

/* Keeps the CACHE_KEEP most recently used kernels (a Debian kernel unpacks to ~60 MB). */
static void cache_trim(int dfd)
{
	struct entry e[64];
	int n = 0, fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	struct stat st;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) && n < 64) {
		size_t l = strlen(de->d_name);
		if (l < 4 || de->d_name[0] == '.' ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (!strcmp(de->d_name + l - 3, ".v1")) {	/* keyed weakly: never used again */
			unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (l >= sizeof(e[0].name) || strcmp(de->d_name + l - 3, CACHE_SUFFIX))
			continue;
		snprintf(e[n].name, sizeof(e[n].name), "%s", de->d_name);
		e[n++].mtime = st.st_mtim;
	}
	closedir(d);
	qsort(e, (size_t)n, sizeof(e[0]), by_age);
	for (int i = CACHE_KEEP; i < n; i++)
		unlinkat(dfd, e[i].name, 0);
}

/* Written whole under a temporary name, flushed, then renamed: a crash or a full disk leaves no
 * half file under the real name (and the boot goes on from memory either way). */
static void cache_store(int dfd, const char *name, const struct key *k, const uint8_t *data,
			size_t len)
{
	struct cache_header h = { .payload_len = k->payload_len, .len = len };
	char tmp[128];
	int fd;

	memcpy(h.magic, CACHE_MAGIC, sizeof(h.magic));
	memcpy(h.payload_sha, k->sha, sizeof(h.payload_sha));
	sha256(data, len, h.sha);
	snprintf(tmp, sizeof(tmp), ".%s.%d", name, (int)getpid());
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return;
	bool ok = write_all(fd, &h, sizeof(h)) && write_all(fd, data, len) && fsync(fd) == 0;
	if (close(fd) != 0 || !ok || renameat(dfd, tmp, dfd, name) != 0) {
		unlinkat(dfd, tmp, 0);
		return;
	}
	cache_trim(dfd);
}

int vmm_unpack(const char *cache_dir, const uint8_t *payload, size_t len, uint64_t max,
	       struct vmm_unpacked *u, char *why, size_t whylen)
{
	char name[96];
	uint32_t expect;
	int dfd, rc;

	memset(u, 0, sizeof(*u));
	if (whylen)
		why[0] = '\0';
	if (!cache_dir || !cache_dir[0] || len < 16)
		return -ENOTSUP;
	memcpy(&expect, payload + len - 4, 4);	/* the build appends the unpacked length */
	if (expect == 0 || expect > max)
		return -ENOTSUP;
	struct key k = payload_key(payload, len);
	cache_name(name, sizeof(name), &k);
	if ((dfd = safefile_private_dir(cache_dir, why, whylen)) <
	    0) /* every step after: through this fd */
		return -ENOTSUP;
	if (cache_load(dfd, name, &k, expect, u) == 0) {
		u->from = VMM_UNPACK_CACHED;
		u->len = expect;
		close(dfd);
		return 0;
	}
	free(u->buf);
	if (!(u->buf = malloc(expect))) {
		close(dfd);
		return -ENOTSUP;
	}
	if ((rc = decompress(payload, len, u->buf, expect)) < 0) {
		if (rc != -ENOTSUP)
			snprintf(why, whylen, "its compressed kernel did not decompress (%s)",
				 strerror(-rc));
		vmm_unpack_release(u);
		close(dfd);
		return -ENOTSUP;
	}
	u->from = VMM_UNPACK_DECOMPRESSED;
	u->len = expect;
	cache_store(dfd, name, &k, u->buf, expect);
	close(dfd);
	return 0;
}

int vmm_unpack_read(const struct vmm_unpacked *u, void *dst, size_t n, uint64_t off)
{
	if (!u->buf || off > u->len || n > u->len - off)
		return -EIO;
	memcpy(dst, u->buf + off, n);
	return 0;
}

void vmm_unpack_release(struct vmm_unpacked *u)
{
	free(u->buf);
	u->buf = NULL;
	u->from = VMM_UNPACK_NONE;
}
