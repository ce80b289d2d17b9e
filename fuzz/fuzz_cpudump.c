/* fuzz_cpudump: libFuzzer harness for the CPUID dump parsers (probe/cpudump.c): any bytes, as a file
 * would give them. Content picks the parser, so a corpus seeded with tests/data/cpudumps reaches
 * each: libcpuid's, cpuid -r, and AIDA64's three layouts. */
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
	cpudump_parse(text, size, &d, &form, why, sizeof(why));
	free(text);
	return 0;
}
