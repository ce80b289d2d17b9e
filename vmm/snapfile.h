/* snapfile: the container of a snapshot file (docs/snapshot.md): a header, sections each with a
 * name, a version and a CRC-32, and their table at the end. It knows nothing of VMs, so that a
 * hostile file can be fuzzed against it alone: everything it reads is checked before it is used. */
#ifndef NESTVISOR_VMM_SNAPFILE_H
#define NESTVISOR_VMM_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "NVSNAP\r\n"		/* \r\n: a file mangled as text is caught at once */
#define SNAP_VERSION 1
#define SNAP_MAX_SECTIONS 256
#define SNAP_NAME_LEN 24		/* with its NUL */
#define SNAP_HEADER_LEN 4096		/* the first section starts on a page */
/* A section whose checksum a restore does not verify: guest memory, mapped from the file and read
 * on first touch, so that a restore's time does not grow with RAM (snap_verify, `nestvisor
 * snapshot --verify FILE`, reads it all). */
#define SNAP_F_LAZY 1u

/* On disk, little-endian (this is an x86-64 program). */
struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t nsections;
	uint64_t table_off;		/* the section table: nsections struct snap_section */
	uint32_t table_crc;
	uint32_t header_crc;		/* of this header, this field 0 */
};

struct snap_section {
	char name[SNAP_NAME_LEN];	/* [a-z0-9._-], NUL-terminated */
	uint32_t version;		/* of what the section holds, its owner's to check */
	uint32_t flags;			/* SNAP_F_* */
	uint64_t offset, length;
	uint32_t crc;			/* CRC-32 of its bytes */
	uint32_t reserved;
};

/* the format's sizes, whatever the compiler (docs/snapshot.md) */
_Static_assert(sizeof(struct snap_header) == 32, "snapshot header: 32 bytes");
_Static_assert(sizeof(struct snap_section) == 56, "snapshot table entry: 56 bytes");

struct snap_writer {
	int fd;
	uint64_t off;			/* where the next section goes */
	unsigned n;
	struct snap_section sec[SNAP_MAX_SECTIONS];
};

/* Writing, into an empty regular file opened for writing: 0 or -errno each. A section's bytes
 * start at a multiple of align (a power of two; 4096 for memory that is mapped back). Pages of
 * zeros in a SNAP_F_LAZY section are left as holes: the file takes the room of what the guest
 * touched. */
int snap_writer_init(struct snap_writer *w, int fd);
int snap_write(struct snap_writer *w, const char *name, uint32_t version, uint32_t flags,
	       const void *data, uint64_t len, uint64_t align);
/* The same for a lazy section of 4 KiB pages, where present[i] zero says page i was never touched
 * and reads as zeros: such pages are neither read nor written (their CRC is a zero page's). NULL:
 * every page is looked at. */
int snap_write_pages(struct snap_writer *w, const char *name, uint32_t version, const void *data,
		     uint64_t len, const uint8_t *present);
int snap_writer_finish(struct snap_writer *w);

struct snap_file {
	int fd;
	uint64_t size;
	unsigned n;
	struct snap_section sec[SNAP_MAX_SECTIONS];
};

/* Reads and checks a file's header and table (its magic, version, checksums, every section
 * inside the file and named once): 0, or -EINVAL (-EIO when it cannot be read) with err saying
 * what is wrong. fd stays the caller's. */
int snap_open(int fd, struct snap_file *f, char *err, size_t errlen);
const struct snap_section *snap_find(const struct snap_file *f, const char *name);
/* A section's bytes, checked against its checksum, into a malloc'd *buf: 0, or -EINVAL / -ENOENT
 * / -EFBIG (longer than max) / -ENOMEM / -EIO with err naming the section. version: the one the
 * reader understands; another is refused. */
int snap_read(const struct snap_file *f, const char *name, uint32_t version, uint64_t max,
	      void **buf, uint64_t *len, char *err, size_t errlen);
/* Every section's checksum, lazy ones included: 0, or -EINVAL / -EIO with err. */
int snap_verify(const struct snap_file *f, char *err, size_t errlen);

#endif
