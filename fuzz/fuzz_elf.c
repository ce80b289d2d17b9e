/* fuzz_elf: libFuzzer harness for the ELF loader and the PVH note walk (the input gets the ELF
 * magic). */
#include "config.h"
#include "fuzz/fuzz_boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;

	if (size < 64 || !(img = malloc(size)))
		return 0;
	memcpy(img, data, size);
	memcpy(img, "\177ELF", 4);
	fuzz_boot_load(img, size);
	free(img);
	return 0;
}
