/* fuzz_recfile: libFuzzer harness for the recording's KEY=VALUE files (msr.txt,
 * cpuid-hypervisor.txt) and the sysfs value parsers. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "probe/recfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec_kv *kv;
	char *s = malloc(size + 1);
	uint64_t v;
	int b;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (recfile_parse_kv((const char *)data, size, &kv) == 0) {
		for (const struct rec_kv *k = kv; k; k = k->next)
			recfile_find(kv, k->key);
		recfile_free_kv(kv);
	}
	recfile_parse_u64(s, &v);
	recfile_parse_bool(s, &b);
	recfile_trim(s);
	free(s);
	return 0;
}
