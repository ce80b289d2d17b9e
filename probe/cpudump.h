/* cpudump: CPUID dumps as people have them, each form a small parser in one table, recognised by
 * content: libcpuid's raw dump (cpuid_tool --save), AIDA64's CPUID report in its layouts, and
 * `cpuid -r` (Debian's cpuid). All fill libcpuid's struct, which libcpuid then decodes. Private to
 * probe/. */
#ifndef NESTVISOR_PROBE_CPUDUMP_H
#define NESTVISOR_PROBE_CPUDUMP_H

#include <stddef.h>
#include <libcpuid/libcpuid.h>

/* text (len bytes, NUL-terminated) into *out, the first logical CPU's leaves: 0, with *form
 * naming the form; -EINVAL with why (no form matched, or leaf 0 or 1 missing). */
int cpudump_parse(const char *text, size_t len, struct cpu_raw_data_t *out, const char **form,
		  char *why, size_t whylen);

/* The same with the form given (0 libcpuid, 1 cpuid -r, 2 AIDA64), not recognised: each parser
 * fuzzed on its own (fuzz/fuzz_cpudump). -EINVAL for a form out of range. */
int cpudump_parse_as(int form, const char *text, size_t len, struct cpu_raw_data_t *out,
		     char *why, size_t whylen);

#endif
