/* test_acpi: ACPI header, DMAR and IVRS decoding, with truncated and lying tables. */
#include "config.h"
#include <errno.h>
#include "tests/testutil.h"
#include "probe/acpi.h"

static size_t make_table(uint8_t *buf, const char *sig, const char *oem, uint32_t len)
{
	memset(buf, 0, len);
	memcpy(buf, sig, 4);
	buf[4] = (uint8_t)len;
	buf[5] = (uint8_t)(len >> 8);
	buf[8] = 1;
	memcpy(buf + 10, oem, strlen(oem) < 6 ? strlen(oem) : 6);
	memset(buf + 10 + strlen(oem), ' ', 6 - strlen(oem));
	memcpy(buf + 16, "TABLEID ", 8);
	return len;
}

static void test_header_firecracker(void **state)
{
	char path[512];
	uint8_t buf[64];
	struct acpi_header h;
	FILE *f;

	(void)state;
	/* the FACP table header recorded on this project's machines */
	test_data_path(path, sizeof(path),
		       "hosts/firecracker-pvm-amd/sys/firmware/acpi/tables/FACP");
	f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(acpi_parse_header(buf, n, &h), 0);
	assert_string_equal(h.sig, "FACP");
	assert_string_equal(h.oem_id, "FIRECK");
	assert_string_equal(acpi_oem_platform(h.oem_id, NULL), "Firecracker");
}

static void test_header_rejects(void **state)
{
	uint8_t buf[64];
	struct acpi_header h;

	(void)state;
	make_table(buf, "DMAR", "INTEL", 48);
	assert_int_equal(acpi_parse_header(buf, 35, &h), -EINVAL);	/* shorter than a header */
	buf[4] = 10;	/* length field below the header size */
	assert_int_equal(acpi_parse_header(buf, 48, &h), -EINVAL);
	make_table(buf, "dm\x01R", "INTEL", 48);
	assert_int_equal(acpi_parse_header(buf, 48, &h), -EINVAL);
}

static void test_oem_id_sanitized(void **state)
{
	uint8_t buf[48];
	struct acpi_header h;

	(void)state;
	make_table(buf, "FACP", "AB", 48);
	buf[12] = 0x1b;	/* an escape byte must not reach a terminal */
	assert_int_equal(acpi_parse_header(buf, 48, &h), 0);
	assert_null(strchr(h.oem_id, 0x1b));
	assert_null(acpi_oem_platform("NOBODY", NULL));
}

static void test_dmar_flags(void **state)
{
	uint8_t buf[48];

	(void)state;
	make_table(buf, "DMAR", "INTEL", 48);
	buf[36] = 45;
	buf[37] = DMAR_INTR_REMAP | DMAR_X2APIC_OPT_OUT;
	assert_int_equal(acpi_dmar_flags(buf, 48), 3);
	assert_int_equal(acpi_dmar_flags(buf, 37), -EINVAL);	/* truncated before the flags */
	memcpy(buf, "IVRS", 4);
	assert_int_equal(acpi_dmar_flags(buf, 48), -EINVAL);	/* wrong table */
}

static void test_ivrs_info(void **state)
{
	uint8_t buf[48];
	uint32_t info = 0;

	(void)state;
	make_table(buf, "IVRS", "AMD", 48);
	buf[36] = 0x41;
	buf[37] = 0x30;
	buf[38] = 0x20;
	assert_int_equal(acpi_ivrs_info(buf, 48, &info), 0);
	assert_int_equal(info, 0x203041);
	assert_int_equal(acpi_ivrs_info(buf, 39, &info), -EINVAL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_header_firecracker),
	cmocka_unit_test(test_header_rejects),
	cmocka_unit_test(test_oem_id_sanitized),
	cmocka_unit_test(test_dmar_flags),
	cmocka_unit_test(test_ivrs_info),
};
TEST_MAIN(tests)
