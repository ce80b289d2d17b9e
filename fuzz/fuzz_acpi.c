/* fuzz_acpi: libFuzzer harness for the ACPI header, DMAR and IVRS decoders. */
#include "config.h"
#include <stdint.h>
#include <stddef.h>
#include "probe/acpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acpi_header h;
	uint32_t info;

	if (acpi_parse_header(data, size, &h) == 0)
		acpi_oem_platform(h.oem_id, NULL);
	acpi_dmar_flags(data, size);
	acpi_ivrs_info(data, size, &info);
	return 0;
}
