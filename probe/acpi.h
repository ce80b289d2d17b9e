/* acpi: decoders for the ACPI table headers and the DMAR/IVRS fields the probe needs (untrusted
 * input). */
#ifndef NESTVISOR_PROBE_ACPI_H
#define NESTVISOR_PROBE_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_HEADER_LEN 36
#define DMAR_INTR_REMAP 0x1
#define DMAR_X2APIC_OPT_OUT 0x2

struct acpi_header {
	char sig[5];
	uint32_t length;
	uint8_t revision;
	char oem_id[7];
	char oem_table_id[9];
};

/* 0, or -EINVAL when shorter than a header, the length field lies, or the signature is not text. */
int acpi_parse_header(const uint8_t *buf, size_t len, struct acpi_header *h);
/* DMAR flags byte (bit 0: interrupt remapping), or -EINVAL. */
int acpi_dmar_flags(const uint8_t *buf, size_t len);
/* IVRS IVinfo dword, or -EINVAL. */
int acpi_ivrs_info(const uint8_t *buf, size_t len, uint32_t *ivinfo);
/* The platform an ACPI OEM ID names ("FIRECK": Firecracker), or NULL; *kind says what it is. */
const char *acpi_oem_platform(const char *oem_id, const char **kind);

#endif
