/* recfile: parsers for the small text files of a recording and of sysfs (all input is untrusted).
 */
#ifndef NESTVISOR_PROBE_RECFILE_H
#define NESTVISOR_PROBE_RECFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "KEY=VALUE" lines; KEY a number (0x.. or decimal). VALUE: up to 4 hex words, or "error:TEXT". */
struct rec_kv {
	uint32_t key;
	int err;		/* -errno when the recorded value is an error */
	uint32_t w[4];
	int nw;
	struct rec_kv *next;
};

int recfile_parse_kv(const char *text, size_t len, struct rec_kv **out);
void recfile_free_kv(struct rec_kv *kv);
const struct rec_kv *recfile_find(const struct rec_kv *kv, uint32_t key);
/* Appends one record (live run being saved). */
int recfile_add(struct rec_kv **list, uint32_t key, int err, const uint32_t *w, int nw);
int recfile_write_kv(const struct rec_kv *kv, const char *path);
/* The same text to an open stream, which it closes (0 or -errno). */
int recfile_print_kv(const struct rec_kv *kv, FILE *f);
int recfile_errno_from_text(const char *s);

/* Sysfs values: "0x8086\n", "42\n", "Y\n", "1\n". -EINVAL when malformed. */
int recfile_parse_u64(const char *s, uint64_t *out);
int recfile_parse_bool(const char *s, int *out);
/* Trims trailing whitespace in place; returns s. */
char *recfile_trim(char *s);

#endif
