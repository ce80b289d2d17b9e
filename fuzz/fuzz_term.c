/* fuzz_term: libFuzzer harness for the TUI console's terminal: the bytes a (hostile) guest prints.
 * Every kept line must stay a terminated string within its width, whatever arrives, in any split.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tui/screens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t half = size ? data[0] % (size + 1) : 0; /* one byte chooses where the input splits */

	tui_term_reset();
	tui_term_feed((const char *)data, half);
	tui_term_feed((const char *)data + half, size - half);
	for (int i = 0; i < tui_term_lines(); i++) {
		const char *l = tui_term_line(i);
		if (!l || strlen(l) > 240)
			abort();
	}
	if (tui_term_line(tui_term_lines()) || tui_term_line(-1))
		abort();
	return 0;
}
