/* test_probe_live: the probe on this very host: the functional KVM check really runs a guest,
 * the PCI list equals lspci -nn, and a recording of this host replays to the same verdicts. */
#include "config.h"
#include <errno.h>
#include <json-c/json.h>
#include <unistd.h>
#include "tests/testutil.h"
#include "probe/facts.h"
#include "probe/probe.h"
#include "probe/kvm.h"

static void run_live(struct probe_report *rep, const char *save)
{
	struct probe_options o = { .save_dir = save };
	char err[512] = "";

	if (probe_run(&o, rep, err, sizeof(err)) < 0)
		fail_msg("live probe: %s", err);
}

static void test_functional_kvm_check(void **state)
{
	struct probe_report rep;

	(void)state;
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		print_message("# SKIP: /dev/kvm is not usable here (%s): no guest can be run\n",
			      strerror(errno));
		skip();
	}
	run_live(&rep, NULL);
	const struct probe_kvm *kvm = &rep.facts->kvm;
	if (kvm->run_err)
		fail_msg("the tiny guest did not run: %s", kvm->run_detail);
	/* every sink write and the end port */
	assert_int_equal(kvm->run_exits, PROBE_KVM_GUEST_OUTS + 1);
	assert_true(kvm->exit_rtt_us > 0.0 && kvm->exit_rtt_us < 10000.0);
	const struct probe_check *c = probe_report_find(&rep, "kvm.run");
	assert_true(c->status == PROBE_PASS || c->status == PROBE_NOTE);
	assert_int_equal(rep.summary.hw_vms, 1);
	probe_report_free(&rep);
}

/* Parses one `lspci -nn` line: "00:03.0 Ethernet controller [0200]: Red Hat, Inc. ... [1af4:1041]
 * (rev 01)". */
static bool parse_lspci(const char *line, char *slot, unsigned *cls, unsigned *ven, unsigned *dev)
{
	const char *colon = strstr(line, "]: ");
	const char *ids = strrchr(line, '[');

	if (sscanf(line, "%15s", slot) != 1 || !colon || colon - line < 5 || !ids)
		return false;
	if (sscanf(colon - 4, "%4x", cls) != 1)
		return false;
	/* the last [xxxx:yyyy] holds the IDs; "(rev ..)" may follow */
	for (const char *p = line; (p = strchr(p, '[')); p++)
		if (strlen(p) >= 11 && p[5] == ':' && p[10] == ']')
			ids = p;
	return sscanf(ids, "[%4x:%4x]", ven, dev) == 2;
}

static void test_pci_equals_lspci(void **state)
{
	struct probe_report rep;
	char line[1024];
	int lines = 0;
	FILE *p;

	(void)state;
	if (test_sh("command -v lspci >/dev/null 2>&1") != 0) {
		print_message("# SKIP: lspci (pciutils) is not installed\n");
		skip();
	}
	run_live(&rep, NULL);
	p = popen("lspci -nn 2>/dev/null", "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char slot[16];
		unsigned cls, ven, dev;
		bool found = false;
		if (!parse_lspci(line, slot, &cls, &ven, &dev))
			fail_msg("unparsed lspci line: %s", line);
		lines++;
		for (int i = 0; i < rep.facts->pci.ndevs; i++) {
			const struct probe_pci_dev *d = &rep.facts->pci.devs[i];
			if (!strcmp(d->slot, slot)) {
				assert_int_equal(d->cls, cls);
				assert_int_equal(d->vendor, ven);
				assert_int_equal(d->device, dev);
				found = true;
			}
		}
		if (!found)
			fail_msg("lspci lists %s, the probe does not", slot);
	}
	pclose(p);
	assert_int_equal(lines, rep.facts->pci.ndevs);
	probe_report_free(&rep);
}

static void test_save_then_replay(void **state)
{
	struct probe_report live, back;
	struct probe_options o = { 0 };
	char dir[256], err[512];

	(void)state;
	test_mkdtemp(dir, sizeof(dir));
	run_live(&live, dir);
	o.replay_dir = dir;
	assert_int_equal(probe_run(&o, &back, err, sizeof(err)), 0);
	for (size_t i = 1; i < live.nchecks; i++) {	/* [0] probe.input names the source */
		if (live.checks[i].status != back.checks[i].status)
			fail_msg("%s: live %s (%s), replay %s (%s)", live.checks[i].id,
				 probe_status_name(live.checks[i].status), live.checks[i].evidence,
				 probe_status_name(back.checks[i].status), back.checks[i].evidence);
	}
	assert_int_equal(live.facts->pci.ndevs, back.facts->pci.ndevs);
	for (int i = 0; i < live.facts->pci.ndevs; i++) {
		assert_string_equal(live.facts->pci.devs[i].addr, back.facts->pci.devs[i].addr);
		assert_string_equal(live.facts->pci.devs[i].verdict,
				    back.facts->pci.devs[i].verdict);
		assert_string_equal(live.facts->pci.devs[i].driver, back.facts->pci.devs[i].driver);
	}
	assert_int_equal(live.summary.hw_vms, back.summary.hw_vms);
	assert_int_equal(live.summary.nested, back.summary.nested);
	probe_report_free(&live);
	probe_report_free(&back);
	test_sh("rm -rf '%s'", dir);
}

/* The binary's exit status follows the report: 1 exactly when a check FAILs. */
static void test_binary_exit_status(void **state)
{
	const char *b = getenv("NV_BUILDDIR");
	char cmd[1024], *doc = NULL;
	size_t cap = 0, len = 0;
	FILE *p;

	(void)state;
	snprintf(cmd, sizeof(cmd), "'%s/nestvisor' probe --json", b ? b : NV_BUILDDIR);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (;;) {
		if (len + 4096 > cap)
			doc = realloc(doc, cap += 65536);
		size_t n = fread(doc + len, 1, 4096, p);
		if (!n)
			break;
		len += n;
	}
	doc[len] = '\0';
	int st = pclose(p);
	json_object *o = json_tokener_parse(doc), *checks;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "checks",
					      &checks)); /* the checks themselves, not "worst" */
	int want = 0;
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i), *status;
		assert_true(json_object_object_get_ex(c, "status", &status));
		want |= !strcmp(json_object_get_string(status), "FAIL");
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), want);
	json_object_put(o);
	free(doc);
	/* and both ways on recordings whose verdicts are known: a FAIL (no nesting in a cloud
	 * guest), none */
	const char *src = getenv("NV_SRCDIR") ? getenv("NV_SRCDIR") : NV_SRCDIR;
	snprintf(cmd, sizeof(cmd),
		 "'%s/nestvisor' probe --replay '%s/tests/data/hosts/cloud-guest-no-nested' "
		 ">/dev/null",
		 b ? b : NV_BUILDDIR, src);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	snprintf(cmd, sizeof(cmd),
		 "'%s/nestvisor' probe --replay '%s/tests/data/hosts/intel-vtx-nested' >/dev/null",
		 b ? b : NV_BUILDDIR, src);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_functional_kvm_check),
	cmocka_unit_test(test_pci_equals_lspci),
	cmocka_unit_test(test_save_then_replay),
	cmocka_unit_test(test_binary_exit_status),
};
TEST_MAIN(tests)
