/* fuzz_control: libFuzzer harness for the control socket's requests: the input is what a client
 * sends, split into lines as the server splits it (NUL bytes and all), each line parsed into a
 * request. */
#include "config.h"
#include <stdint.h>
#include <string.h>
#include "vmm/ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct ctl_request r;
		ctl_parse(p, len, &r);
		if (r.cmd == CTL_INPUT && (!r.data || r.data[r.data_len] != '\0'))
			__builtin_trap();	/* input always carries its bytes, terminated */
		if (r.cmd == CTL_BAD && !r.error)
			__builtin_trap();	/* a bad request always says why */
		ctl_request_free(&r);
		p += len + 1;
	}
	return 0;
}
