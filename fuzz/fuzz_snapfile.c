/* fuzz_snapfile: libFuzzer harness for the snapshot container's reader: the input is a whole file
 * (written to a memfd); its header and table are checked, every section read against its checksum
 * (up to 1 MiB each) and the whole verified. A hostile file must be refused, never read out of
 * bounds, never make the reader allocate what the file merely claims. Half the inputs get their
 * table's and header's checksums made right first, so that mutations reach the table's checks. */
#define _GNU_SOURCE
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "vmm/snapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snap_file f;
	char err[512];
	int fd = memfd_create("snap", 0);

	if (fd < 0)
		abort();
	uint8_t *copy = malloc(size ? size : 1);
	struct snap_header h;
	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (size >= SNAP_HEADER_LEN && (size & 1)) {
		memcpy(&h, copy, sizeof(h));
		uint64_t tlen = (uint64_t)h.nsections * sizeof(struct snap_section);
		if (h.table_off <= size && tlen <= size - h.table_off)
			h.table_crc = (uint32_t)crc32(crc32(0, NULL, 0), copy + h.table_off,
						      (unsigned)tlen);
		h.header_crc = 0;
		h.header_crc = (uint32_t)crc32(crc32(0, NULL, 0), (const void *)&h, sizeof(h));
		memcpy(copy, &h, sizeof(h));
	}
	if (write(fd, copy, size) != (ssize_t)size)
		abort();
	free(copy);
	if (snap_open(fd, &f, err, sizeof(err)) == 0) {
		for (unsigned i = 0; i < f.n; i++) {
			void *buf;
			uint64_t len;
			if (snap_read(&f, f.sec[i].name, f.sec[i].version, 1u << 20, &buf, &len, err,
				      sizeof(err)) == 0)
				free(buf);
		}
		snap_verify(&f, err, sizeof(err));
	}
	close(fd);
	return 0;
}
