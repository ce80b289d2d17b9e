/* fuzz_multiboot: libFuzzer harness for the multiboot loader: a valid header (flags from the input)
 * at offset 0, so both the ELF and the a.out-kludge paths see hostile data. */
#include "config.h"
#include "fuzz/fuzz_boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;
	uint32_t magic = 0x1BADB002u, flags, sum;

	if (size < 48 || !(img = malloc(size)))
		return 0;
	memcpy(img, data, size);
	memcpy(&flags, data + 4, 4);
	sum = -(magic + flags);
	memcpy(img + 8, &magic, 4);	/* header at 8: the ELF magic at 0 stays the input's */
	memcpy(img + 12, &flags, 4);
	memcpy(img + 16, &sum, 4);
	fuzz_boot_load(img, size);
	free(img);
	return 0;
}
