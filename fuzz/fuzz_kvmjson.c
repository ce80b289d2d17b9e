/* fuzz_kvmjson: libFuzzer harness for kvm.json, the recorded /dev/kvm facts. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include "probe/facts.h"
#include "probe/kvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct probe_kvm kvm;
	char err[128];

	if (probe_kvm_from_json((const char *)data, size, &kvm, err, sizeof(err)) == 0) {
		char *again = probe_kvm_to_json(&kvm);	/* whatever parsed must serialize */
		free(again);
	}
	return 0;
}
