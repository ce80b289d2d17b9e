/* test_snapfile: the snapshot container written and read back (sections, sparse memory, checksums),
 * and every damaged or foreign file refused with what is wrong: cut short, a byte changed in a
 * section, the table or the header, another format version, a section twice, a name that is not
 * one. Then vmm_snapshot_open on files that are containers but not snapshots of ours. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "tests/testutil.h"
#include "vmm/snapfile.h"
#include "vmm/vmm.h"

#define MEMSZ (2u << 20)

struct fx { char path[64]; int fd; uint8_t *mem; };

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->path, sizeof(f->path), "/tmp/test_snapfile.XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	f->mem = calloc(1, MEMSZ);
	memcpy(f->mem + 4096 * 3, "guest page", 10);	/* one page of data, the rest zeros */
	memset(f->mem + MEMSZ - 100, 0xab, 100);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->fd);
	unlink(f->path);
	free(f->mem);
	free(f);
	return 0;
}

static void write_sample(struct fx *f, const char *config)
{
	struct snap_writer w;

	assert_int_equal(snap_writer_init(&w, f->fd), 0);
	assert_int_equal(snap_write(&w, "config", 1, 0, config, strlen(config), 8), 0);
	assert_int_equal(snap_write(&w, "memory", 1, SNAP_F_LAZY, f->mem, MEMSZ, 4096), 0);
	assert_int_equal(snap_write(&w, "vcpu.0", 1, 0, "regs", 4, 8), 0);
	assert_int_equal(snap_write(&w, "vcpu.0", 1, 0, "again", 5, 8), -EEXIST);
	assert_int_equal(snap_write(&w, "Bad Name", 1, 0, "x", 1, 8), -EINVAL);
	assert_int_equal(snap_writer_finish(&w), 0);
}

/* refused, and err says so */
static void expect_refused(struct fx *f, const char *why)
{
	struct snap_file sf;
	char err[256] = "";

	assert_true(snap_open(f->fd, &sf, err, sizeof(err)) < 0);
	if (!strstr(err, why))
		fail_msg("refused with \"%s\", expected \"%s\"", err, why);
}

static void poke(struct fx *f, off_t at, uint8_t v)
{
	assert_int_equal(pwrite(f->fd, &v, 1, at), 1);
}

static void test_roundtrip(void **state)
{
	struct fx *f = *state;
	struct snap_file sf;
	struct stat st;
	char err[256];
	void *buf;
	uint64_t len;

	write_sample(f, "{\"a\":1}");
	assert_int_equal(snap_open(f->fd, &sf, err, sizeof(err)), 0);
	assert_int_equal(sf.n, 3);
	assert_int_equal(snap_read(&sf, "config", 1, 100, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "{\"a\":1}", 7);
	free(buf);
	assert_int_equal(snap_read(&sf, "config", 2, 100, &buf, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "version 1; this nestvisor reads 2"));
	assert_int_equal(snap_read(&sf, "config", 1, 3, &buf, &len, err, sizeof(err)), -EFBIG);
	assert_int_equal(snap_read(&sf, "nothere", 1, 3, &buf, &len, err, sizeof(err)), -ENOENT);
	const struct snap_section *m = snap_find(&sf, "memory");
	assert_non_null(m);
	assert_int_equal(m->offset % 4096, 0);
	/* its pages of zeros are holes: two pages of data on disk, not 2 MiB */
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_true(st.st_blocks * 512 < 64 * 1024);
	assert_int_equal(snap_read(&sf, "memory", 1, MEMSZ, &buf, &len, err, sizeof(err)), 0);
	assert_memory_equal(buf, f->mem, MEMSZ);
	free(buf);
	assert_int_equal(snap_verify(&sf, err, sizeof(err)), 0);
}

/* Pages marked absent (never touched: they read as zeros) are holes, whatever the buffer holds */
static void test_pages_absent(void **state)
{
	struct fx *f = *state;
	struct snap_writer w;
	struct snap_file sf;
	uint8_t present[MEMSZ / 4096] = { 0 };
	char err[256];
	void *buf;
	uint64_t len;

	present[3] = 1;	/* "guest page"; the 0xab tail is marked absent */
	assert_int_equal(snap_writer_init(&w, f->fd), 0);
	assert_int_equal(snap_write_pages(&w, "memory", 1, f->mem, MEMSZ, present), 0);
	assert_int_equal(snap_writer_finish(&w), 0);
	assert_int_equal(snap_open(f->fd, &sf, err, sizeof(err)), 0);
	assert_int_equal(snap_verify(&sf, err, sizeof(err)), 0);	/* its CRC: of what was kept */
	assert_int_equal(snap_read(&sf, "memory", 1, MEMSZ, &buf, &len, err, sizeof(err)), 0);
	assert_memory_equal((uint8_t *)buf + 4096 * 3, "guest page", 10);
	assert_int_equal(((uint8_t *)buf)[MEMSZ - 1], 0);
	free(buf);
}

static void test_damage_refused(void **state)
{
	struct fx *f = *state;
	struct snap_file sf;
	struct snap_header h;
	char err[256];
	void *buf;
	uint64_t len;

	write_sample(f, "{\"a\":1}");
	assert_int_equal(snap_open(f->fd, &sf, err, sizeof(err)), 0);
	/* a byte of the config section changed: read refuses it */
	const struct snap_section *c = snap_find(&sf, "config");
	poke(f, (off_t)c->offset, '[');
	assert_int_equal(snap_read(&sf, "config", 1, 100, &buf, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "config section is damaged"));
	poke(f, (off_t)c->offset, '{');
	/* memory is not checked on restore (lazy), but verify reads it */
	const struct snap_section *m = snap_find(&sf, "memory");
	poke(f, (off_t)(m->offset + 4096 * 3), 'G');
	assert_int_equal(snap_verify(&sf, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "memory section is damaged"));
	poke(f, (off_t)(m->offset + 4096 * 3), 'g');
	/* the table */
	assert_int_equal(pread(f->fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	poke(f, (off_t)h.table_off + 30, 0x7f);
	expect_refused(f, "section table is damaged");
	/* cut short: the table is gone */
	assert_int_equal(ftruncate(f->fd, (off_t)h.table_off + 10), 0);
	expect_refused(f, "cut short");
	assert_int_equal(ftruncate(f->fd, 100), 0);
	expect_refused(f, "not a nestvisor snapshot");
}

static void test_header_refused(void **state)
{
	struct fx *f = *state;
	struct snap_header h;

	write_sample(f, "{}");
	assert_int_equal(pread(f->fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	poke(f, 12, (uint8_t)(h.nsections + 1));	/* a byte of the header */
	expect_refused(f, "header is damaged");
	/* another version, its checksum made right: said as a version, not as damage */
	h.version = 7;
	h.header_crc = 0;
	h.header_crc = (uint32_t)crc32(crc32(0, NULL, 0), (const void *)&h, sizeof(h));
	assert_int_equal(pwrite(f->fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	expect_refused(f, "format version 7; this nestvisor reads version 1");
	poke(f, 0, 'X');
	expect_refused(f, "not a nestvisor snapshot");
}

/* A table that names a section twice, or outside the data, or without a name: its checksum right */
static void rewrite_table(struct fx *f, void (*edit)(struct snap_section *s, unsigned n))
{
	struct snap_header h;
	struct snap_section s[3];

	assert_int_equal(pread(f->fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	assert_int_equal(pread(f->fd, s, sizeof(s), (off_t)h.table_off), (ssize_t)sizeof(s));
	edit(s, 3);
	h.table_crc = (uint32_t)crc32(crc32(0, NULL, 0), (const void *)s, sizeof(s));
	h.header_crc = 0;
	h.header_crc = (uint32_t)crc32(crc32(0, NULL, 0), (const void *)&h, sizeof(h));
	assert_int_equal(pwrite(f->fd, s, sizeof(s), (off_t)h.table_off), (ssize_t)sizeof(s));
	assert_int_equal(pwrite(f->fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
}

static void twice(struct snap_section *s, unsigned n)
{
	(void)n;
	memcpy(s[2].name, s[0].name, sizeof(s[0].name));
}

static void outside(struct snap_section *s, unsigned n)
{
	(void)n;
	s[1].length = UINT64_MAX - 10;
}

static void unnamed(struct snap_section *s, unsigned n)
{
	(void)n;
	memset(s[0].name, 'a', sizeof(s[0].name));	/* no NUL */
}

static void test_table_refused(void **state)
{
	struct fx *f = *state;

	write_sample(f, "{}");
	rewrite_table(f, twice);
	expect_refused(f, "there twice");
	assert_int_equal(ftruncate(f->fd, 0), 0);
	write_sample(f, "{}");
	rewrite_table(f, outside);
	expect_refused(f, "outside the file");
	assert_int_equal(ftruncate(f->fd, 0), 0);
	write_sample(f, "{}");
	rewrite_table(f, unnamed);
	expect_refused(f, "no valid name");
}

/* A writer never writes over a file that has something in it */
static void test_writer_needs_empty(void **state)
{
	struct fx *f = *state;
	struct snap_writer w;

	assert_int_equal(write(f->fd, "x", 1), 1);
	assert_int_equal(snap_writer_init(&w, f->fd), -EINVAL);
}

/* Containers that are not snapshots of a VM: refused by what a restore needs */
static void test_open_refuses(void **state)
{
	struct fx *f = *state;
	struct vmm_config cfg = { 0 };
	char err[512];

	write_sample(f, "{\"mem\":1048576,\"cpus\":1,\"cpu_model\":0,\"nested_mode\":0}");
	assert_int_equal(vmm_snapshot_open(f->path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "memory section does not match"));	/* 2 MiB, not 1 */
	assert_int_equal(ftruncate(f->fd, 0), 0);
	write_sample(f, "{\"mem\":2097152,\"cpus\":2,\"cpu_model\":0,\"nested_mode\":0}");
	assert_int_equal(vmm_snapshot_open(f->path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no state for vCPU 1 of 2"));
	assert_int_equal(ftruncate(f->fd, 0), 0);
	write_sample(f, "{\"mem\":2097152,\"cpus\":99999,\"cpu_model\":0,\"nested_mode\":0}");
	assert_int_equal(vmm_snapshot_open(f->path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "out-of-range member"));
	assert_int_equal(ftruncate(f->fd, 0), 0);
	write_sample(f, "[1,2]");
	assert_int_equal(vmm_snapshot_open(f->path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a JSON object"));
	assert_int_equal(ftruncate(f->fd, 0), 0);
	write_sample(f, "{\"mem\":2097152,\"cpus\":1,\"cpu_model\":1,\"nested_mode\":2,"
			"\"kernel\":\"k\\u001b[2J\"}");
	assert_int_equal(vmm_snapshot_open(f->path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.mem, MEMSZ);
	assert_int_equal(cfg.cpus, 1);
	assert_null(strchr(cfg.kernel, '\033'));	/* a name from a file reaches terminals clean */
	assert_int_equal(vmm_snapshot_verify(&cfg, err, sizeof(err)), 0);
	vmm_snapshot_close(&cfg);
	assert_null(cfg.restore);
	/* a FIFO does not hang the open; it is refused */
	char fifo[80];
	snprintf(fifo, sizeof(fifo), "%s.fifo", f->path);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(vmm_snapshot_open(fifo, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(fifo);
	/* a link is not followed */
	char link[80];
	snprintf(link, sizeof(link), "%s.link", f->path);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(vmm_snapshot_open(link, &cfg, err, sizeof(err)), -ELOOP);
	unlink(link);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	cmocka_unit_test_setup_teardown(test_pages_absent, setup, teardown),
	cmocka_unit_test_setup_teardown(test_damage_refused, setup, teardown),
	cmocka_unit_test_setup_teardown(test_header_refused, setup, teardown),
	cmocka_unit_test_setup_teardown(test_table_refused, setup, teardown),
	cmocka_unit_test_setup_teardown(test_writer_needs_empty, setup, teardown),
	cmocka_unit_test_setup_teardown(test_open_refuses, setup, teardown),
};

TEST_MAIN(tests)
