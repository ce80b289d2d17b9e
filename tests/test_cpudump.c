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
static void report_cpu_at(const char *path, char *out, size_t len)
{
	struct probe_options o = { .cpuid_dump = NULL, .skip_functional = true };
	struct probe_report rep;
	char err[512], replay[512];
	size_t n = 0;

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

static void report_cpu(const char *rel, char *out, size_t len)
{
	char path[512];

	test_data_path(path, sizeof(path), rel);
	report_cpu_at(path, out, len);
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
		/* a line that stops short: the file was cut */
		{ "basic_cpuid[0]=00000007 756e6547 6c65746e 49656e69\nbasic_cpuid[1]=000606a6 "
		  "00200800 7ffefbff bfebfbff\nbasic_cpuid[2]=00000001 0000",
		  "with a line cut short" },
		{ "CPUID 00000000: 00000001-756E6547-6C65746E-49656E69\nCPUID 00000001: "
		  "000606A6-00200800-7FFEFBFF-BFEBFBFF\nCPUID 80000000: 80000004-0000",
		  "with a line cut short" },
		{ "CPU 0:\n   0x00000000 0x00: eax=0x00000001 ebx=0x756e6547 ecx=0x6c65746e "
		  "edx=0x49656e69\n   0x00000001 0x00: eax=0x000606a6 ebx=0x00200800 "
		  "ecx=0x7ffefbff edx=0xbfebfbff\n   0x80000000 0x00: eax=0x8",
		  "with a line cut short" },
	};
	/* a leaf left out is not a cut: it reads as zeros, as CPUID gives for a reserved one
	 * (AIDA64 leaves out those it deems empty) */
	static const char *const taken[] = {
		"basic_cpuid[0]=00000007 756e6547 6c65746e 49656e69\nbasic_cpuid[1]=000606a6 "
		"00200800 7ffefbff bfebfbff\n",
		"CPUID 00000000: 00000001-756E6547-6C65746E-49656E69\nCPUID 00000001: "
		"000606A6-00200800-7FFEFBFF-BFEBFBFF\nCPUID 80000000: "
		"80000004-00000000-00000000-00000000\n",
		/* AIDA64's older layout: no colon, a tab */
		"CPUID 00000000  \t00000001-756E6547-6C65746E-49656E69\nCPUID 00000001  \t"
		"000606A6-00200800-7FFEFBFF-BFEBFBFF\n",
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
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++) {
		if (cpudump_parse(taken[i], strlen(taken[i]), &d, &form, why, sizeof(why)) != 0)
			fail_msg("\"%s\": refused: %s", taken[i], why);
		assert_int_equal(d.basic_cpuid[1][0], 0x000606a6);
		assert_int_equal(d.basic_cpuid[2][0], 0);
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

/* What the raw leaves say, computed here apart from the probe: VMX is Intel's bit (VIA/Centaur and
 * Zhaoxin implement it), SVM AMD's and Hygon's, NPT and AVIC are 0x8000000A EDX bits 0 and 13. */
struct expect { bool vmx, svm, npt, avic; };

static struct expect expect_of(const struct cpu_raw_data_t *d)
{
	char v[13];
	struct expect e = { 0 };
	uint32_t maxe = d->ext_cpuid[0][0];

	memcpy(v, &d->basic_cpuid[0][1], 4);
	memcpy(v + 4, &d->basic_cpuid[0][3], 4);
	memcpy(v + 8, &d->basic_cpuid[0][2], 4);
	v[12] = '\0';
	bool intelish = !strcmp(v, "GenuineIntel") || !strcmp(v, "CentaurHauls") ||
			!strcmp(v, "  Shanghai  ");
	bool amdish = !strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine");
	e.vmx = intelish && (d->basic_cpuid[1][2] & (1u << 5));
	e.svm = amdish && maxe >= 0x80000001u && maxe < 0x80010000u &&
		(d->ext_cpuid[1][2] & (1u << 2));
	e.npt = e.svm && maxe >= 0x8000000au && (d->ext_cpuid[0xa][3] & 1u);
	e.avic = e.svm && maxe >= 0x8000000au && (d->ext_cpuid[0xa][3] & (1u << 13));
	return e;
}

static bool has_line(const char *report, const char *start)
{
	for (const char *p = report; (p = strstr(p, start)); p++)
		if (p == report || p[-1] == '\n')
			return true;
	return false;
}

/* ../shared/cpudumps: libcpuid's collection of real CPUs' dumps (AIDA64 reports in their several
 * layouts, cpuid_tool's): every x86 one read, and the probe's VT-x/AMD-V, NPT/EPT and AVIC/APICv
 * judged against its raw leaves; the ARM ones refused as not x86. SKIP where the collection is not
 * beside the source tree (NV_CPUDUMPS names another place). */
static void test_real_dumps(void **state)
{
	static char got[16384];
	char dir[512], cmd[700], path[1024];
	const char *env = getenv("NV_CPUDUMPS");
	int x86 = 0, arm = 0, vmx = 0, svm = 0, neither = 0;
	FILE *list;

	(void)state;
	if (env)
		snprintf(dir, sizeof(dir), "%s", env);
	else
		snprintf(dir, sizeof(dir), "%s/../shared/cpudumps", test_srcdir());
	snprintf(cmd, sizeof(cmd), "find '%s' -name '*.raw' 2>/dev/null | LC_ALL=C sort", dir);
	assert_non_null(list = popen(cmd, "r"));
	while (fgets(path, sizeof(path), list)) {
		struct cpu_raw_data_t d;
		const char *form;
		char why[512] = "";
		size_t len;
		path[strcspn(path, "\n")] = '\0';
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		char *text = calloc(1, 1 << 20);
		len = fread(text, 1, (1 << 20) - 1, f);
		fclose(f);
		int rc = cpudump_parse(text, len, &d, &form, why, sizeof(why));
		free(text);
		if (strstr(path, "/arm/")) {
			if (rc != -ENOTSUP || !strstr(why, "not x86"))
				fail_msg("%s: an ARM dump taken as %s (%d: %s)", path,
					 form ? form : "?", rc, why);
			arm++;
			continue;
		}
		if (rc)
			fail_msg("%s: refused: %s", path, why);
		x86++;
		struct expect e = expect_of(&d);
		report_cpu_at(path, got, sizeof(got));
		const char *hw = e.vmx ? "cpu.hwvirt PASS Intel VT-x" :
			e.svm ? "cpu.hwvirt PASS AMD-V" : NULL;
		if (hw ? !has_line(got, hw) :
			 !(has_line(got, "cpu.hwvirt FAIL no VT-x or AMD-V") ||
			   has_line(got, "cpu.hwvirt WARN no VT-x or AMD-V")))
			fail_msg("%s: VT-x %d, AMD-V %d in its leaves; the probe said:\n%s", path,
				 e.vmx, e.svm, got);
		/* EPT lives in MSRs, which a dump has not */
		const char *slat = e.vmx ? "cpu.slat UNKNOWN" :
			e.npt ? "cpu.slat PASS NPT" : e.svm ? "cpu.slat " :
			"cpu.slat NOTE not applicable";
		const char *apicv = e.vmx ? "cpu.apicv UNKNOWN" :
			e.avic ? "cpu.apicv PASS AVIC" : e.svm ? "cpu.apicv " :
			"cpu.apicv NOTE not applicable";
		if (!has_line(got, slat) || !has_line(got, apicv) ||
		    (e.svm && !e.npt && has_line(got, "cpu.slat PASS")) ||
		    (e.svm && !e.avic && has_line(got, "cpu.apicv PASS")))
			fail_msg("%s: NPT %d, AVIC %d in its leaves; the probe said:\n%s", path,
				 e.npt, e.avic, got);
		vmx += e.vmx;
		svm += e.svm;
		neither += !e.vmx && !e.svm;
	}
	pclose(list);
	if (x86 + arm == 0)
	{
		print_message("# SKIP: no CPUID dumps at %s (the collection of real CPUs' dumps)\n",
			      dir);
		skip();
	}
	print_message("# %d x86 dumps judged (%d VT-x, %d AMD-V, %d neither), %d ARM refused\n",
		      x86, vmx, svm, neither, arm);
}

/* A VIA C3 (1999) answers the extended leaf 0x80000001 with a bit where AMD keeps SVM: VIA defines
 * no SVM, so no AMD-V, and the check says why it ignored the bit. */
static void test_vendor_bits(void **state)
{
	static char got[16384];
	char dir[512];

	(void)state;
	test_mkdtemp(dir, sizeof(dir));
	assert_int_equal(test_sh("printf 'CPUID 00000000: "
				 "00000001-746E6543-736C7561-48727561\nCPUID 00000001: "
				 "00000673-00000000-00000000-00803035\nCPUID 80000000: "
				 "80000006-00000000-00000000-00000000\nCPUID 80000001: "
				 "00000673-00000000-00000004-00803035\n' > '%s/c3.txt'",
				 dir),
			 0);
	char path[600];
	snprintf(path, sizeof(path), "%s/c3.txt", dir);
	report_cpu_at(path, got, sizeof(got));
	if (!strstr(got, "no VT-x or AMD-V: CPUID.80000001h:ECX[2] is set, but CentaurHauls CPUs "
			 "do not define VT-x or AMD-V there"))
		fail_msg("a VIA CPU's bit 2 of 0x80000001 ECX:\n%s", got);
	test_sh("rm -rf '%s'", dir);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_real_dumps),
	cmocka_unit_test(test_vendor_bits),
	cmocka_unit_test(test_forms_same_leaves),
	cmocka_unit_test(test_forms_same_report),
	cmocka_unit_test(test_pentium3),
	cmocka_unit_test(test_refused),
};
TEST_MAIN(tests)
