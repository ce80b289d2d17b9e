/* test_vmxcaps: VMX MSR, SVM leaf and /proc/cpuinfo decoders against the SDM/APM bit layouts. */
#include "config.h"
#include <errno.h>
#include "tests/testutil.h"
#include "probe/vmxcaps.h"

static void test_msrs_ice_lake(void **state)
{
	(void)state;
	/* Ice Lake-SP: secondary controls allowed, EPT/VPID/UG/APIC-reg/VID/shadow allowed-1, EPT
	 * A/D */
	uint64_t f = vmxcaps_decode_msrs(0x000000ff00000016ull, 0xfff9fffe0401e172ull,
					 0x0017ffff00000000ull, 0x00000f0106734141ull);
	assert_true(f & VF(VF_EPT));
	assert_true(f & VF(VF_VPID));
	assert_true(f & VF(VF_UG));
	assert_true((f & VF_APICV_ALL) == VF_APICV_ALL);
	assert_true(f & VF(VF_SHADOW_VMCS));
	assert_true(f & VF(VF_EPT_AD));
	assert_false(f & VF(VF_NPT));
}

static void test_msrs_allowed0_half_ignored(void **state)
{
	(void)state;
	/* features in the low (allowed-0) half must not count */
	uint64_t f = vmxcaps_decode_msrs(0x80, 0xfff9fffe0401e172ull, 0x00000000ffffffffull, 0);
	assert_int_equal(f, 0);
}

static void test_msrs_no_secondary_controls(void **state)
{
	(void)state;
	/* without bit 63 of PROCBASED (activate secondary controls), 0x48B means nothing: Core 2
	 * era */
	uint64_t f = vmxcaps_decode_msrs(0x0000003f00000016ull, 0x7ff9fffe0401e172ull,
					 0x0017ffff00000000ull, 0);
	assert_int_equal(f, 0);
}

static void test_ept_ad_needs_ept(void **state)
{
	(void)state;
	uint64_t f =
		vmxcaps_decode_msrs(0, 0x8000000000000000ull, 0x0000002000000000ull, 1ull << 21);
	assert_true(f & VF(VF_VPID));
	assert_false(f & VF(VF_EPT_AD));
}

static void test_svm_edx(void **state)
{
	(void)state;
	uint64_t f = vmxcaps_decode_svm((1u << 0) | (1u << 13) | (1u << 16) | (1u << 18));
	assert_true(f & VF(VF_NPT));
	assert_true(f & VF(VF_AVIC));
	assert_true(f & VF(VF_VGIF));
	assert_true(f & VF(VF_X2AVIC));
	assert_false(f & VF(VF_NRIPS));
	assert_int_equal(vmxcaps_decode_svm(0), 0);
}

static void test_cpuinfo_vmx_flags_line(void **state)
{
	static const char text[] = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme "
				   "vmx hypervisor\nvmx flags\t: vnmi posted_intr ept vpid "
				   "unrestricted_guest vapic_reg vid shadow_vmcs "
				   "ept_ad\n\nprocessor\t: 1\nflags\t\t: fpu svm npt\n";
	struct cpuinfo_flags fl;

	(void)state;
	assert_int_equal(vmxcaps_parse_cpuinfo(text, sizeof(text) - 1, &fl), 0);
	assert_true(fl.vmx);
	assert_true(fl.hypervisor);
	assert_false(fl.svm);	/* only the first processor counts */
	assert_true(fl.vmx_flags_line);
	assert_int_equal(fl.processors, 2);
	assert_true((fl.features & VF_APICV_ALL) == VF_APICV_ALL);
	assert_true(fl.features & VF(VF_SHADOW_VMCS));
	assert_false(fl.features & VF(VF_NPT));
}

static void test_cpuinfo_tokens_whole_words(void **state)
{
	static const char text[] = "flags : vmxx eptx svm_lock nrip_save\n";
	struct cpuinfo_flags fl;

	(void)state;
	assert_int_equal(vmxcaps_parse_cpuinfo(text, sizeof(text) - 1, &fl), 0);
	assert_false(fl.vmx);
	assert_false(fl.svm);
	assert_false(fl.features & VF(VF_EPT));
	assert_true(fl.features & VF(VF_NRIPS));
}

static void test_cpuinfo_malformed(void **state)
{
	static const char junk[] = "\x00\xff\x01garbage without a colon\n::::\nflag: x\n";
	struct cpuinfo_flags fl;

	(void)state;
	assert_int_equal(vmxcaps_parse_cpuinfo(junk, sizeof(junk) - 1, &fl), -EINVAL);
	assert_int_equal(vmxcaps_parse_cpuinfo("", 0, &fl), -EINVAL);
	/* a truncated flags line still parses what is there */
	assert_int_equal(vmxcaps_parse_cpuinfo("flags\t: vm", 10, &fl), 0);
	assert_false(fl.vmx);
}

static void test_feature_control(void **state)
{
	(void)state;
	assert_int_equal(vmxcaps_feature_control_disabled(0x1), 1);	/* locked, VMX off */
	assert_int_equal(vmxcaps_feature_control_disabled(0x5), 0); /* locked, VMX outside SMX on */
	assert_int_equal(vmxcaps_feature_control_disabled(0x0),
			 0); /* unlocked: the kernel enables it */
	assert_int_equal(vmxcaps_feature_control_disabled(0x3), 1); /* locked, only inside SMX */
	assert_int_equal(vmxcaps_vm_cr_disabled(0x18), 1);
	assert_int_equal(vmxcaps_vm_cr_disabled(0x08), 0);
}

static void test_names(void **state)
{
	char buf[64];

	(void)state;
	vmxcaps_names(VF(VF_EPT) | VF(VF_VPID), buf, sizeof(buf));
	assert_string_equal(buf, "ept vpid");
	vmxcaps_names(0, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	vmxcaps_names(~0ull, buf, 12);	/* truncation stays NUL-terminated */
	assert_true(strlen(buf) < 12);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_msrs_ice_lake),
	cmocka_unit_test(test_msrs_allowed0_half_ignored),
	cmocka_unit_test(test_msrs_no_secondary_controls),
	cmocka_unit_test(test_ept_ad_needs_ept),
	cmocka_unit_test(test_svm_edx),
	cmocka_unit_test(test_cpuinfo_vmx_flags_line),
	cmocka_unit_test(test_cpuinfo_tokens_whole_words),
	cmocka_unit_test(test_cpuinfo_malformed),
	cmocka_unit_test(test_feature_control),
	cmocka_unit_test(test_names),
};
TEST_MAIN(tests)
