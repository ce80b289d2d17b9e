/* fuzz_bzimage: libFuzzer harness for the bzImage loader (the input gets the boot-sector and HdrS
 * magic). */
#include "config.h"
#include "fuzz/fuzz_boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *img;

	if (size < 0x250 || !(img = malloc(size)))
		return 0;
	memcpy(img, data, size);
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	memcpy(img + 0x202, "HdrS", 4);
	fuzz_boot_load(img, size);
	free(img);
	return 0;
}
