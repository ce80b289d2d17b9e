/* fuzz_cpuinfo: libFuzzer harness for the /proc/cpuinfo flags and "vmx flags" parser. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include "probe/vmxcaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cpuinfo_flags fl;
	char names[256];

	if (vmxcaps_parse_cpuinfo((const char *)data, size, &fl) == 0)
		vmxcaps_names(fl.features, names, sizeof(names));
	return 0;
}
