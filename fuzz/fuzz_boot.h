/* fuzz_boot: shared by the loader harnesses: one guest RAM for every input, and the load call. */
#ifndef NESTVISOR_FUZZ_BOOT_H
#define NESTVISOR_FUZZ_BOOT_H

#include <stdlib.h>
#include <string.h>
#include "vmm/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loads img (the fuzzer's bytes, patched by the harness) with half of it as an initrd. */
static inline void fuzz_boot_load(uint8_t *img, size_t size)
{
	static struct vmm_mem mem;
	struct vmm_boot_opts o = { .kernel = { "fuzz", img, size },
				   .initrd = { "fuzz-initrd", img, size / 2 },
				   .initrd_path = "fuzz-initrd",
				   .cmdline = "console=ttyS0" };
	struct vmm_boot b;
	char err[512];

	if (!mem.host && vmm_mem_init(&mem, 16u << 20) < 0)
		abort();
	vmm_boot_load(&mem, &o, &b, err, sizeof(err));
}

#endif
