/* test_cpudump: every CPUID dump form people send, written from one CPU's leaves
 * (tests/data/cpudumps/make-dumps.py): each is recognised by its content, gives that CPU's leaves,
 * and through the probe the same report as the libcpuid dump; damaged ones are refused, named. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "probe/cpudump.h"
#include "probe/probe.h"
#include "tests/testutil.h"

static char *slurp(const char *rel, size_t *len)
{
	char path[512];
	FILE *f;

	test_data_path(path, sizeof(path), rel);
	assert_non_null(f = fopen(path, "rb"));
	char *buf = calloc(1, 1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static void parse(const char *rel, struct cpu_raw_data_t *d, const char **form)
{
	char why[256] = "";
	size_t len;
	char *text = slurp(rel, &len);

	if (cpudump_parse(text, len, d, form, why, sizeof(why)) != 0)
		fail_msg("%s: %s", rel, why);
	free(text);
}

static const struct { const char *file, *form; } xeon[] = {
	{ "cpudumps/xeon-vmx.libcpuid", "libcpuid raw dump" },
	{ "cpudumps/xeon-vmx.cpuid-r.txt", "cpuid -r" },
	{ "cpudumps/xeon-vmx.aida-logical.txt", "AIDA64 CPUID report" },
	{ "cpudumps/xeon-vmx.aida-registers.txt", "AIDA64 CPUID report" },
	{ "cpudumps/xeon-vmx.aida-affmask.txt", "AIDA64 CPUID report" },
}, epyc[] = {
	{ "cpudumps/epyc-svm.libcpuid", "libcpuid raw dump" },
	{ "cpudumps/epyc-svm.cpuid-r.txt", "cpuid -r" },
	{ "cpudumps/epyc-svm.aida-logical.txt", "AIDA64 CPUID report" },
	{ "cpudumps/epyc-svm.aida-registers.txt", "AIDA64 CPUID report" },
	{ "cpudumps/epyc-svm.aida-affmask.txt", "AIDA64 CPUID report" },
};

/* Every form: recognised, and the same leaves as the libcpuid dump of that CPU. */
static void same_leaves(const typeof(xeon[0]) *set, size_t n)
{
	struct cpu_raw_data_t ref, d;
	const char *form;

	parse(set[0].file, &ref, &form);
	assert_string_equal(form, set[0].form);
	for (size_t i = 1; i < n; i++) {
		parse(set[i].file, &d, &form);
		assert_string_equal(form, set[i].form);
		assert_memory_equal(ref.basic_cpuid, d.basic_cpuid, sizeof(ref.basic_cpuid));
		assert_memory_equal(ref.ext_cpuid, d.ext_cpuid, sizeof(ref.ext_cpuid));
	}
}

static void test_forms_same_leaves(void **state)
{
	(void)state;
	same_leaves(xeon, sizeof(xeon) / sizeof(xeon[0]));
	same_leaves(epyc, sizeof(epyc) / sizeof(epyc[0]));
}

/* The probe's CPU checks from each form of one CPU: the same report, word for word. */
static void report_cpu(const char *rel, char *out, size_t len)
{
	struct probe_options o = { .cpuid_dump = NULL, .skip_functional = true };
	struct probe_report rep;
	char path[512], err[512], replay[512];
	size_t n = 0;

	test_data_path(path, sizeof(path), rel);
	test_data_path(replay, sizeof(replay), "hosts/intel-vtx-nested");
	o.cpuid_dump = path;
	o.replay_dir = replay;
	assert_int_equal(probe_run(&o, &rep, err, sizeof(err)), 0);
	for (size_t i = 0; i < rep.nchecks; i++)
		if (!strncmp(rep.checks[i].id, "cpu.", 4) || !strncmp(rep.checks[i].id, "host.", 5))
			n += (size_t)snprintf(out + n, len - n, "%s %s %s\n", rep.checks[i].id,
					      probe_status_name(rep.checks[i].status),
					      rep.checks[i].evidence);
	probe_report_free(&rep);
}

static void test_forms_same_report(void **state)
{
	static char ref[16384], got[16384];

	(void)state;
	for (int set = 0; set < 2; set++) {
		const typeof(xeon[0]) *s = set ? epyc : xeon;
		report_cpu(s[0].file, ref, sizeof(ref));
		assert_non_null(
			strstr(ref, set ? "cpu.hwvirt PASS AMD-V" : "cpu.hwvirt PASS Intel VT-x"));
		/* the dump's CPU alone: the recording's MSRs and firmware tables are another CPU's
		 */
		assert_non_null(strstr(ref, "cpu.firmware UNKNOWN"));
		assert_null(strstr(ref, "ACPI OEM"));
		for (size_t i = 1; i < 5; i++) {
			report_cpu(s[i].file, got, sizeof(got));
			if (strcmp(ref, got))
				fail_msg("%s gives another report than %s:\n%s\n---\n%s", s[i].file,
					 s[0].file, got, ref);
		}
	}
}

/* A Pentium III: leaves 0-3, no extended leaves at all. A CPU that cannot have VT-x or AMD-V: a
 * plain no, not UNKNOWN, and not a truncated dump. */
static void test_pentium3(void **state)
{
	static char got[16384];
	struct cpu_raw_data_t d;
	const char *form;

	(void)state;
	parse("cpudumps/pentium3.cpuid-r.txt", &d, &form);
	assert_int_equal(d.basic_cpuid[0][0], 3);
	assert_int_equal(d.ext_cpuid[0][0], 0);
	parse("cpudumps/pentium3.aida-logical.txt", &d, &form);
	report_cpu("cpudumps/pentium3.cpuid-r.txt", got, sizeof(got));
	assert_non_null(strstr(got, "cpu.hwvirt WARN no VT-x or AMD-V"));
	assert_non_null(strstr(got, "family 0x6, model 0x8, stepping 3"));
}

/* Damaged or foreign text: refused with the reason, never a half-read CPU. */
static void test_refused(void **state)
{
	static const struct { const char *text, *why;
	} bad[] = {
		{ "", "no CPUID dump form" },
		{ "hello\nworld\n", "no CPUID dump form" },
		{ "CPUID 00000001: 000606A6-00200800-7FFEFBFF-BFEBFBFF\n", "without leaf 0" },
		{ "basic_cpuid[0]=00000007 756e6547 6c65746e 49656e69\n", "without leaf 1" },
		{ "CPU 0:\n   0x00000000 0x00: eax=0x00000000 ebx=0 ecx=0 edx=0\n",
		  "without leaf 0" },
		/* leaf 0 says 7 basic leaves, the text stops after 2: cut */
		{ "basic_cpuid[0]=00000007 756e6547 6c65746e 49656e69\nbasic_cpuid[1]=000606a6 "
		  "00200800 7ffefbff bfebfbff\n",
		  "without leaf 0x2, which its highest leaves include" },
		{ "CPUID 00000000: 00000001-756E6547-6C65746E-49656E69\nCPUID 00000001: "
		  "000606A6-00200800-7FFEFBFF-BFEBFBFF\nCPUID 80000000: "
		  "80000004-00000000-00000000-00000000\n",
		  "without leaf 0x80000001" },
	};
	struct cpu_raw_data_t d;
	const char *form;
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (cpudump_parse(bad[i].text, strlen(bad[i].text), &d, &form, why, sizeof(why)) !=
		    -EINVAL)
			fail_msg("\"%s\": taken as a %s", bad[i].text, form);
		if (!strstr(why, bad[i].why))
			fail_msg("\"%s\": \"%s\", expected \"%s\"", bad[i].text, why, bad[i].why);
		assert_int_equal(d.basic_cpuid[0][0], 0);	/* nothing half-read */
	}
	assert_int_equal(cpudump_parse("a\0b", 3, &d, &form, why, sizeof(why)), -EINVAL);
	/* each parser on its own (as the fuzzer drives them): another form's text is no CPU for it
	 */
	size_t len;
	char *aida = slurp("cpudumps/xeon-vmx.aida-logical.txt", &len);
	assert_int_equal(cpudump_parse_as(2, aida, len, &d, why, sizeof(why)), 0);
	assert_int_equal(cpudump_parse_as(0, aida, len, &d, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "without leaf 0"));
	assert_int_equal(cpudump_parse_as(1, aida, len, &d, why, sizeof(why)), -EINVAL);
	assert_int_equal(cpudump_parse_as(3, aida, len, &d, why, sizeof(why)), -EINVAL);
	free(aida);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_forms_same_leaves),
	cmocka_unit_test(test_forms_same_report),
	cmocka_unit_test(test_pentium3),
	cmocka_unit_test(test_refused),
};
TEST_MAIN(tests)
