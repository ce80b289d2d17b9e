/* fuzz_cpudump: libFuzzer harness for the CPUID dump parsers (probe/cpudump.c), as a file would
 * give them. The first byte picks: each parser on its own (0 libcpuid, 1 cpuid -r, 2 AIDA64), or
 * (3) the recognition by content that --cpuid-dump uses. Seed it with tests/data/cpudumps. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "probe/cpudump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpu_raw_data_t d;
	const char *form;
	char why[256], *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	int pick = size ? data[0] % 4 : 3;
	if (pick == 3)
		cpudump_parse(text, size, &d, &form, why, sizeof(why));
	else
		cpudump_parse_as(pick, text + 1, size - 1, &d, why, sizeof(why));
	free(text);
	return 0;
}
