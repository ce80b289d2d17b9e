/* snapfile: writing and checking the snapshot container (see snapfile.h). */
#include "config.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "vmm/snapfile.h"

#define PAGE 4096u
#define CHUNK (1u << 20)	/* crc32 and pread take an unsigned int's worth at most */

static uint32_t crc_of(uint32_t crc, const void *p, uint64_t len)
{
	const uint8_t *b = p;

	while (len) {
		unsigned n = len > CHUNK ? CHUNK : (unsigned)len;
		crc = (uint32_t)crc32(crc, b, n);
		b += n;
		len -= n;
	}
	return crc;
}

static int pwrite_all(int fd, const void *p, uint64_t len, uint64_t off)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = pwrite(fd, b, len > CHUNK ? CHUNK : len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		b += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int pread_all(int fd, void *p, uint64_t len, uint64_t off)
{
	uint8_t *b = p;

	while (len) {
		ssize_t n = pread(fd, b, len > CHUNK ? CHUNK : len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;	/* shorter than its table says */
		b += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = strnlen(s, SNAP_NAME_LEN);

	if (n == 0 || n == SNAP_NAME_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

int snap_writer_init(struct snap_writer *w, int fd)
{
	struct stat st;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->off = SNAP_HEADER_LEN;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size != 0)
		return -EINVAL;	/* never over something that is there */
	return 0;
}

/* A lazy section's pages of zeros are skipped: never written, they read back as zeros (a hole).
 * Pages present[] marks absent are not even read. The CRC is of every byte. */
static int write_sparse(struct snap_writer *w, const uint8_t *p, uint64_t len, const uint8_t *present,
			uint32_t *crc)
{
	static const uint8_t zero[PAGE];
	uint32_t zcrc = (uint32_t)crc32(crc32(0, NULL, 0), zero, PAGE);
	uint64_t i = 0;

	while (i < len) {
		uint64_t n = len - i < PAGE ? len - i : PAGE;
		if ((present && !present[i / PAGE]) || !memcmp(p + i, zero, n)) {
			*crc = n == PAGE ? (uint32_t)crc32_combine(*crc, zcrc, PAGE) :
					   crc_of(*crc, zero, n);
			i += n;
			continue;
		}
		uint64_t j = i + n;	/* a run of pages with data, written at once */
		while (j < len && j - i < CHUNK && (!present || present[j / PAGE])) {
			uint64_t m = len - j < PAGE ? len - j : PAGE;
			if (!memcmp(p + j, zero, m))
				break;
			j += m;
		}
		*crc = crc_of(*crc, p + i, j - i);
		int rc = pwrite_all(w->fd, p + i, j - i, w->off + i);
		if (rc < 0)
			return rc;
		i = j;
	}
	return 0;
}

static int add(struct snap_writer *w, const char *name, uint32_t version, uint32_t flags,
	       const void *data, uint64_t len, uint64_t align, const uint8_t *present)
{
	struct snap_section *s;
	int rc;

	if (w->n >= SNAP_MAX_SECTIONS || !name_ok(name) || !align || (align & (align - 1)))
		return -EINVAL;
	for (unsigned i = 0; i < w->n; i++)
		if (!strcmp(w->sec[i].name, name))
			return -EEXIST;
	w->off = (w->off + align - 1) & ~(align - 1);
	s = &w->sec[w->n];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->version = version;
	s->flags = flags;
	s->offset = w->off;
	s->length = len;
	s->crc = (uint32_t)crc32(0, NULL, 0);
	if (flags & SNAP_F_LAZY)
		rc = write_sparse(w, data, len, present, &s->crc);
	else {
		s->crc = crc_of(s->crc, data, len);
		rc = pwrite_all(w->fd, data, len, w->off);
	}
	if (rc < 0)
		return rc;
	w->off += len;
	w->n++;
	return 0;
}

int snap_write(struct snap_writer *w, const char *name, uint32_t version, uint32_t flags,
	       const void *data, uint64_t len, uint64_t align)
{
	return add(w, name, version, flags, data, len, align, NULL);
}

int snap_write_pages(struct snap_writer *w, const char *name, uint32_t version, const void *data,
		     uint64_t len, const uint8_t *present)
{
	return add(w, name, version, SNAP_F_LAZY, data, len, PAGE, present);
}

int snap_writer_finish(struct snap_writer *w)
{
	struct snap_header h = { .version = SNAP_VERSION, .nsections = w->n };
	uint64_t tlen = (uint64_t)w->n * sizeof(struct snap_section);
	uint8_t page[SNAP_HEADER_LEN] = { 0 };
	int rc;

	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	h.table_off = (w->off + 7) & ~7ull;
	h.table_crc = crc_of((uint32_t)crc32(0, NULL, 0), w->sec, tlen);
	h.header_crc = crc_of((uint32_t)crc32(0, NULL, 0), &h, sizeof(h));
	memcpy(page, &h, sizeof(h));
	/* the table, then the header last: a file cut short by a crash has no valid header */
	if ((rc = pwrite_all(w->fd, w->sec, tlen, h.table_off)) < 0 ||
	    (rc = pwrite_all(w->fd, page, sizeof(page), 0)) < 0)
		return rc;
	if (ftruncate(w->fd, (off_t)(h.table_off + tlen)) < 0 || fsync(w->fd) < 0)
		return -errno;
	return 0;
}

const struct snap_section *snap_find(const struct snap_file *f, const char *name)
{
	for (unsigned i = 0; f && i < f->n; i++)
		if (!strcmp(f->sec[i].name, name))
			return &f->sec[i];
	return NULL;
}

int snap_open(int fd, struct snap_file *f, char *err, size_t errlen)
{
	struct snap_header h;
	struct stat st;
	uint32_t want;

	memset(f, 0, sizeof(*f));
	f->fd = fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return -EINVAL;
	}
	f->size = (uint64_t)st.st_size;
	if (f->size < SNAP_HEADER_LEN || pread_all(fd, &h, sizeof(h), 0) < 0 ||
	    memcmp(h.magic, SNAP_MAGIC, sizeof(h.magic))) {
		snprintf(err, errlen, "not a nestvisor snapshot (no NVSNAP header)");
		return -EINVAL;
	}
	want = h.header_crc;
	h.header_crc = 0;
	if (crc_of((uint32_t)crc32(0, NULL, 0), &h, sizeof(h)) != want) {
		snprintf(err, errlen, "its header is damaged (checksum)");
		return -EINVAL;
	}
	if (h.version != SNAP_VERSION) {
		snprintf(err, errlen,
			 "snapshot format version %u; this nestvisor reads version %u (restore it "
			 "with the nestvisor that wrote it)", h.version, SNAP_VERSION);
		return -EINVAL;
	}
	uint64_t tlen = (uint64_t)h.nsections * sizeof(struct snap_section);
	if (h.nsections == 0 || h.nsections > SNAP_MAX_SECTIONS || h.table_off < SNAP_HEADER_LEN ||
	    h.table_off > f->size || f->size - h.table_off < tlen) {
		snprintf(err, errlen, "its section table is out of the file (%u sections at %llu; the "
			 "file has %llu bytes): cut short?", h.nsections,
			 (unsigned long long)h.table_off, (unsigned long long)f->size);
		return -EINVAL;
	}
	if (pread_all(fd, f->sec, tlen, h.table_off) < 0) {
		snprintf(err, errlen, "its section table cannot be read");
		return -EIO;
	}
	if (crc_of((uint32_t)crc32(0, NULL, 0), f->sec, tlen) != h.table_crc) {
		snprintf(err, errlen, "its section table is damaged (checksum)");
		return -EINVAL;
	}
	f->n = h.nsections;
	for (unsigned i = 0; i < f->n; i++) {
		const struct snap_section *s = &f->sec[i];
		if (!name_ok(s->name)) {
			snprintf(err, errlen, "section %u has no valid name", i);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(f->sec[j].name, s->name)) {
				snprintf(err, errlen, "section %s is there twice", s->name);
				return -EINVAL;
			}
		if (s->offset < SNAP_HEADER_LEN || s->offset > h.table_off ||
		    s->length > h.table_off - s->offset) {
			snprintf(err, errlen, "section %s lies outside the file's data", s->name);
			return -EINVAL;
		}
	}
	return 0;
}

int snap_read(const struct snap_file *f, const char *name, uint32_t version, uint64_t max,
	      void **buf, uint64_t *len, char *err, size_t errlen)
{
	const struct snap_section *s = snap_find(f, name);
	void *b;
	int rc;

	*buf = NULL;
	*len = 0;
	if (!s) {
		snprintf(err, errlen, "it has no %s section", name);
		return -ENOENT;
	}
	if (s->version != version) {
		snprintf(err, errlen, "its %s section is version %u; this nestvisor reads %u", name,
			 s->version, version);
		return -EINVAL;
	}
	if (s->length > max) {
		snprintf(err, errlen, "its %s section has %llu bytes, more than %llu", name,
			 (unsigned long long)s->length, (unsigned long long)max);
		return -EFBIG;
	}
	if (!(b = malloc(s->length ? s->length : 1))) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	if ((rc = pread_all(f->fd, b, s->length, s->offset)) < 0) {
		snprintf(err, errlen, "its %s section cannot be read: %s", name, strerror(-rc));
		free(b);
		return -EIO;
	}
	if (!(s->flags & SNAP_F_LAZY) &&
	    crc_of((uint32_t)crc32(0, NULL, 0), b, s->length) != s->crc) {
		snprintf(err, errlen, "its %s section is damaged (checksum)", name);
		free(b);
		return -EINVAL;
	}
	*buf = b;
	*len = s->length;
	return 0;
}

int snap_verify(const struct snap_file *f, char *err, size_t errlen)
{
	uint8_t *b = malloc(CHUNK);

	if (!b)
		return -ENOMEM;
	for (unsigned i = 0; i < f->n; i++) {
		const struct snap_section *s = &f->sec[i];
		uint32_t crc = (uint32_t)crc32(0, NULL, 0);
		for (uint64_t o = 0; o < s->length;) {
			uint64_t n = s->length - o < CHUNK ? s->length - o : CHUNK;
			if (pread_all(f->fd, b, n, s->offset + o) < 0) {
				snprintf(err, errlen, "its %s section cannot be read", s->name);
				free(b);
				return -EIO;
			}
			crc = crc_of(crc, b, n);
			o += n;
		}
		if (crc != s->crc) {
			snprintf(err, errlen, "its %s section is damaged (checksum)", s->name);
			free(b);
			return -EINVAL;
		}
	}
	free(b);
	return 0;
}
