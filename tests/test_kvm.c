/* test_kvm: the recorded /dev/kvm facts (kvm.json): round trip and hostile documents. */
#include "config.h"
#include <errno.h>
#include "tests/testutil.h"
#include "probe/facts.h"
#include "probe/kvm.h"

static struct probe_kvm sample(void)
{
	struct probe_kvm k;

	memset(&k, 0, sizeof(k));
	k.api_version = 12;
	k.ncaps = 2;
	snprintf(k.caps[0].name, sizeof(k.caps[0].name), "KVM_CAP_NESTED_STATE");
	k.caps[0].val = 8320;
	snprintf(k.caps[1].name, sizeof(k.caps[1].name), "KVM_CAP_IRQCHIP");
	k.caps[1].val = 1;
	k.cpuid_vmx = true;
	k.cpuid_svm_edx = 0x8000000f;
	k.nfeature_msrs = 40;
	for (int i = 0; i < VMX_MSR_COUNT; i++)
		k.feat_msr[i].err = -ENOENT;
	k.feat_msr[0xb].val = 0x0017ffff00000000ull;
	k.feat_msr[0xb].err = 0;
	k.run_exits = 201;
	k.run_total_us = 412.5;
	k.exit_rtt_us = 1.25;
	snprintf(k.run_detail, sizeof(k.run_detail), "ran \"quoted\"");
	return k;
}

static void test_roundtrip(void **state)
{
	struct probe_kvm k = sample(), back;
	char err[128];
	char *json = probe_kvm_to_json(&k);

	(void)state;
	memset(&back, 0, sizeof(back));
	assert_non_null(json);
	assert_int_equal(probe_kvm_from_json(json, strlen(json), &back, err, sizeof(err)), 0);
	assert_int_equal(back.api_version, 12);
	assert_int_equal(back.cpuid_svm_edx, 0x8000000f);
	assert_true(back.cpuid_vmx);
	assert_int_equal(back.feat_msr[0xb].err, 0);
	assert_true(back.feat_msr[0xb].val == 0x0017ffff00000000ull);
	assert_int_equal(back.feat_msr[0].err, -ENOENT);
	assert_int_equal(back.run_exits, 201);
	assert_string_equal(back.run_detail, "ran \"quoted\"");
	int nested = -1;
	for (int i = 0; i < back.ncaps; i++)
		if (!strcmp(back.caps[i].name, "KVM_CAP_NESTED_STATE"))
			nested = back.caps[i].val;
	assert_int_equal(nested, 8320);
	free(json);
}

static void expect_rejected(const char *doc)
{
	struct probe_kvm k;
	char err[128] = "";

	memset(&k, 0, sizeof(k));
	assert_true(probe_kvm_from_json(doc, strlen(doc), &k, err, sizeof(err)) < 0);
	assert_true(err[0] != '\0');
}

static void test_hostile(void **state)
{
	struct probe_kvm k = sample();
	char *json = probe_kvm_to_json(&k);
	char deep[4096];
	size_t n = 0;

	(void)state;
	expect_rejected("");
	expect_rejected("{");
	expect_rejected("[]");
	expect_rejected("{\"open_err\": 0}");
	expect_rejected(json + 1);	/* truncated at the front */
	json[strlen(json) / 2] = '\0';
	expect_rejected(json);		/* truncated in the middle */
	for (int i = 0; i < 1000; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	expect_rejected(deep);		/* nesting bomb */
	free(json);
}

static void test_wrong_types_and_ranges(void **state)
{
	struct probe_kvm k = sample();
	char *json = probe_kvm_to_json(&k), *p;

	(void)state;
	/* api_version as a string */
	p = strstr(json, "\"api_version\":12");
	if (!p)
		p = strstr(json, "\"api_version\": 12");
	assert_non_null(p);
	char *bad = malloc(strlen(json) + 8);
	size_t off = (size_t)(strchr(p, ':') - json) + 1;
	while (json[off] == ' ')
		off++;
	memcpy(bad, json, off);
	sprintf(bad + off, "\"12\"%s", json + off + 2);
	expect_rejected(bad);
	/* a positive errno is not an errno */
	memcpy(bad, json, off);
	sprintf(bad + off, "12%s", json + off + 2);
	char *oe = strstr(bad, "\"open_err\":");
	assert_non_null(oe);
	oe = strchr(oe, ':') + 1;
	while (*oe == ' ')
		oe++;
	*oe = '7';
	expect_rejected(bad);
	free(bad);
	free(json);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_roundtrip),
	cmocka_unit_test(test_hostile),
	cmocka_unit_test(test_wrong_types_and_ranges),
};
TEST_MAIN(tests)
