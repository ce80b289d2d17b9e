/* test_nested: nested/ against the probe's judgement of recorded hosts (Intel ones included: VT-x
 * cannot be had here), the CPUID it hides, the VMX capability MSRs it gives a vCPU (checked bit by
 * bit against the Intel SDM vol. 3D appendix A), and KVM's nested state saved and restored on a
 * live VM that runs a guest of its own (where KVM has nested state: the AMD-V test host,
 * tests/svmhost). */
#include "config.h"
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <unistd.h>
#include "nested/nested.h"
#include "tests/testutil.h"
#include "vmm/vm.h"

static void query(const char *host, struct probe_nested *n)
{
	char dir[4096], err[256] = "";

	test_data_path(dir, sizeof(dir), host);
	if (probe_nested_query(dir, n, err, sizeof(err)) != 0)
		fail_msg("%s: %s", host, err);
}

static void test_mode_names(void **state)
{
	enum nested_mode m;

	(void)state;
	assert_int_equal(nested_mode_parse("auto", &m), 0);
	assert_int_equal(m, NESTED_AUTO);
	assert_int_equal(nested_mode_parse("ON", &m), 0);
	assert_int_equal(m, NESTED_ON);
	assert_int_equal(nested_mode_parse("off", &m), 0);
	assert_int_equal(m, NESTED_OFF);
	assert_int_equal(nested_mode_parse("no", &m), 0);
	assert_int_equal(m, NESTED_OFF);
	assert_int_equal(nested_mode_parse("maybe", &m), -EINVAL);
	assert_int_equal(nested_mode_parse(NULL, &m), -EINVAL);
	assert_string_equal(nested_mode_name(NESTED_ON), "on");
}

/* One judgement: nested/ decides from what the probe says of each recorded host, and repeats its
 * reason. */
static void test_decide_from_recorded_hosts(void **state)
{
	static const struct {
		const char *host;
		bool possible, vmx, svm;
		const char *why;
	} hosts[] = {
		{ "hosts/intel-vtx-nested", true, true, false,
		  "kvm_intel nested=Y and KVM offers VMX" },
		{ "hosts/amd-svm-avic", true, false, true, "kvm_amd nested=1 and KVM offers SVM" },
		{ "hosts/qemu-tcg-kvm-amd", true, false, true, "kvm_amd nested=1" },
		{ "hosts/firecracker-pvm-amd", false, false, false, "kvm_pvm" },
		{ "hosts/cloud-guest-no-nested", false, false, false, "no VT-x/AMD-V" },
		{ "hosts/intel-vtx-disabled-by-firmware", false, false, false, "firmware" },
	};
	char err[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct probe_nested n;
		query(hosts[i].host, &n);
		if (n.possible != hosts[i].possible || !strstr(n.why, hosts[i].why))
			fail_msg("%s: possible %d (expected %d), why \"%s\" (expected to name "
				 "\"%s\")",
				 hosts[i].host, n.possible, hosts[i].possible, n.why, hosts[i].why);
		if (n.possible)
			assert_true(n.vmx == hosts[i].vmx && n.svm == hosts[i].svm);
		assert_int_equal(nested_decide(NESTED_OFF, &n, err, sizeof(err)), 0);
		assert_int_equal(nested_decide(NESTED_AUTO, &n, err, sizeof(err)), n.possible);
		err[0] = '\0';
		int on = nested_decide(NESTED_ON, &n, err, sizeof(err));
		if (n.possible) {
			assert_int_equal(on, 1);
		} else {
			assert_int_equal(on, -EOPNOTSUPP);
			assert_non_null(strstr(err, n.why));	/* the probe's words, and its fix */
			assert_true(!n.fix[0] || strstr(err, n.fix));
		}
	}
}

static void test_cpuid_hidden_when_off(void **state)
{
	struct kvm_cpuid2 *id = calloc(1, sizeof(*id) + 4 * sizeof(id->entries[0]));

	(void)state;
	id->nent = 4;
	id->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = 0xfffffffe };
	id->entries[1] = (struct kvm_cpuid_entry2){ .function = 0x80000001, .ecx = 0xffffffff };
	id->entries[2] = (struct kvm_cpuid_entry2){
		.function = 0x8000000a, .eax = 1, .ebx = 8, .edx = 0x21
	};
	id->entries[3] = (struct kvm_cpuid_entry2){ .function = 7, .ebx = 0xffffffff };
	nested_cpuid_apply(true, id);
	assert_int_equal(id->entries[0].ecx, 0xfffffffe);
	assert_int_equal(id->entries[2].ebx, 8);
	nested_cpuid_apply(false, id);
	assert_int_equal(id->entries[0].ecx, 0xfffffffe & ~(1u << 5));		/* VMX */
	assert_int_equal(id->entries[1].ecx, 0xffffffff & ~(1u << 2));		/* SVM */
	assert_true(!id->entries[2].eax && !id->entries[2].ebx && !id->entries[2].edx);
	assert_int_equal(id->entries[3].ebx, 0xffffffff);			/* nothing else */
	free(id);
}

static const struct nested_msr *find(const struct nested_msr *l, int n, uint32_t msr)
{
	for (int i = 0; i < n; i++)
		if (l[i].index == msr)
			return &l[i];
	return NULL;
}

/* What SDM vol. 3D appendix A says every listed MSR must satisfy. */
static void check_sdm(const struct nested_msr *l, int n)
{
	const struct nested_msr *basic = find(l, n, 0x480), *fc = find(l, n, 0x3a);

	assert_non_null(basic);
	assert_non_null(fc);
	assert_int_equal(fc->value & 0x5, 0x5); /* 23.7: locked, VMXON outside SMX */
	uint64_t size = (basic->value >> 32) & 0x1fff;
	assert_true(size > 0 && size <= 4096);			/* A.1: VMCS region size */
	assert_int_equal((basic->value >> 50) & 0xf, 6);	/* A.1: write-back VMCS memory */
	assert_int_equal(basic->value & (1ull << 31), 0);	/* A.1: bit 31 is always 0 */
	for (uint32_t msr = 0x481; msr <= 0x484; msr++) { /* A.3-A.5: a 1 that must be 1 may be 1 */
		const struct nested_msr *c = find(l, n, msr);
		assert_non_null(c);
		assert_int_equal((uint32_t)c->value & ~(uint32_t)(c->value >> 32), 0);
		const struct nested_msr *t = find(l, n, msr + 0xc); /* the TRUE_ controls, A.3.1 */
		if (msr == 0x481 || msr == 0x483 || msr == 0x484 || msr == 0x482) {
			if (!(basic->value & (1ull << 55)))
				assert_null(t);
			else if (t) {
				assert_int_equal((uint32_t)t->value & ~(uint32_t)c->value,
						 0); /* fewer default-1s */
				assert_int_equal(t->value >> 32, c->value >> 32);
			}
		}
	}
	const struct nested_msr *cr0 = find(l, n, 0x486), *cr4 = find(l, n, 0x488);
	assert_true(cr0 &&
		    (cr0->value & 0x80000021) == 0x80000021); /* A.7: PE, NE, PG fixed to 1 */
	assert_true(cr4 && (cr4->value & 0x2000)); /* A.8: CR4.VMXE fixed to 1 */
	assert_null(find(l, n, 0x487)); /* KVM derives CR0/CR4_FIXED1 from CPUID and refuses them */
	assert_null(find(l, n, 0x489));
	const struct nested_msr *p2 = find(l, n, 0x48b), *ept = find(l, n, 0x48c);
	if (p2 && (p2->value & (1ull << 33)) &&
	    ept) /* A.10: EPT needs a 4-level walk and WB paging structures */
		assert_int_equal(ept->value & ((1ull << 6) | (1ull << 14)),
				 (1ull << 6) | (1ull << 14));
	for (int i = 0; i < n; i++)
		assert_true(l[i].index == 0x3a || (l[i].index >= 0x480 && l[i].index <= 0x492));
}

static void test_vmx_msrs_from_recorded_host(void **state)
{
	struct nested_msr l[32];
	struct probe_nested n;

	(void)state;
	query("hosts/intel-vtx-nested", &n);
	int cnt = nested_vmx_msrs(true, &n, l, 32);
	/* feature control, 0x480-0x491 but for the two FIXED1s (0x492 failed) */
	assert_int_equal(cnt, 1 + 0x12 - 2);
	assert_int_equal(l[0].index, 0x3a);
	check_sdm(l, cnt);
	for (int i = 1; i < cnt; i++)		/* KVM's own values, unchanged */
		assert_int_equal(l[i].value, n.vmx_msr[l[i].index - 0x480]);
	assert_non_null(find(l, cnt, 0x491));	/* secondary controls allow VM functions (bit 13) */
	assert_int_equal(nested_vmx_msrs(false, &n, l, 32), 0);

	/* Each MSR only where the controls that give it meaning are allowed. */
	struct probe_nested m = n;
	m.vmx_msr[0x482 - 0x480] &= ~(1ull << 63);	/* no secondary controls */
	cnt = nested_vmx_msrs(true, &m, l, 32);
	assert_true(!find(l, cnt, 0x48b) && !find(l, cnt, 0x48c) && !find(l, cnt, 0x491));
	m = n;
	m.vmx_msr[0] &= ~(1ull << 55);			/* no TRUE_ controls */
	cnt = nested_vmx_msrs(true, &m, l, 32);
	check_sdm(l, cnt);
	assert_true(!find(l, cnt, 0x48d) && !find(l, cnt, 0x490));
	m = n;
	m.vmx_msr[0x48b - 0x480] &=
		~((1ull << 33) | (1ull << 37) | (1ull << 45)); /* no EPT, VPID, VMFUNC */
	cnt = nested_vmx_msrs(true, &m, l, 32);
	assert_true(!find(l, cnt, 0x48c) && !find(l, cnt, 0x491) && find(l, cnt, 0x48b));

	query("hosts/amd-svm-avic", &m);	/* AMD: nothing of this */
	assert_int_equal(nested_vmx_msrs(true, &m, l, 32), 0);
}

/* ---- live: nested state of a vCPU whose guest is running its own guest ---- */

struct live { struct vmm *vm; int status; };

static void *run_thread(void *arg)
{
	struct live *l = arg;
	l->status = vmm_run(l->vm);
	return NULL;
}

static bool log_has(const char *path, const char *text, double seconds)
{
	char buf[8192];

	for (int i = 0; i < seconds * 20; i++, usleep(50000)) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		if (strstr(buf, text))
			return true;
	}
	return false;
}

static void test_nested_state_round_trip(void **state)
{
	char dir[256], log[300], err[512] = "", kernel[4096];
	struct probe_nested n;
	struct live l = { 0 };
	pthread_t t;

	(void)state;
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		print_message("# SKIP: /dev/kvm is not usable here (%s)\n", strerror(errno));
		skip();
	}
	assert_int_equal(probe_nested_query(NULL, &n, err, sizeof(err)), 0);
	if (!n.possible || !n.svm || n.state_size <= 0) {
		print_message("# SKIP: no AMD-V nested guests with nested state here (%s; "
			      "KVM_CAP_NESTED_STATE %d); tests/svmhost runs this on kvm_amd\n",
			      n.why, n.state_size);
		skip();
	}
	test_mkdtemp(dir, sizeof(dir));
	snprintf(log, sizeof(log), "%s/serial.log", dir);
	snprintf(kernel, sizeof(kernel), "%s/tests/guests/svm.elf",
		 getenv("NV_BUILDDIR") ? getenv("NV_BUILDDIR") : NV_BUILDDIR);
	struct vmm_config cfg = { .kernel = kernel,
				  .cmdline = "key loops=100",
				  .mem = 64ull << 20,
				  .cpus = 1,
				  .console = VMM_CONSOLE_NONE,
				  .serial_log = log,
				  .timeout = 120,
				  .nested = NESTED_ON,
				  .name = "nested-state",
				  .quiet = true };
	if (vmm_create(&cfg, &l.vm, err, sizeof(err)) != 0)
		fail_msg("vmm_create: %s", err);
	int size;
	assert_true(vmm_nested(l.vm, &size));
	assert_int_equal(size, n.state_size);
	assert_int_equal(pthread_create(&t, NULL, run_thread, &l), 0);
	assert_true(log_has(log, "it waits for a key", 60));
	usleep(200000); /* L3 is polling COM1 now, as a guest of our guest */
	void *buf;
	size_t len;
	assert_int_equal(vmm_nested_state_save(l.vm, 0, &buf, &len), -EBUSY); /* running: refused */
	vmm_pause(l.vm);
	assert_int_equal(vmm_nested_state_save(l.vm, 0, &buf, &len), 0);
	const struct kvm_nested_state *st = buf;
	print_message("# nested state: %zu bytes, format %u, flags 0x%x\n", len, st->format,
		      st->flags);
	assert_int_equal(st->format, KVM_STATE_NESTED_FORMAT_SVM);
	assert_true(st->flags & KVM_STATE_NESTED_GUEST_MODE);	/* caught inside L3 */
	assert_true(len > sizeof(*st) &&
		    len <= (size_t)n.state_size); /* the header and L3's VMCB */
	assert_int_equal(vmm_nested_state_restore(l.vm, 0, buf, len - 1),
			 -EINVAL); /* length and header disagree */
	assert_int_equal(vmm_nested_state_restore(l.vm, 0, buf, len), 0);
	free(buf);
	vmm_resume(l.vm);
	vmm_serial_input(l.vm, (const uint8_t *)"k", 1);
	pthread_join(t, NULL);
	assert_true(
		log_has(log, "svm: L3 made 100 VMMCALL exits, then exit code 0x00000078 (HLT)", 1));
	assert_int_equal(l.status, 1); /* debug-exit 0: L3 went on after the restore */
	vmm_destroy(l.vm);
	test_sh("rm -rf '%s'", dir);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_mode_names),
	cmocka_unit_test(test_decide_from_recorded_hosts),
	cmocka_unit_test(test_cpuid_hidden_when_off),
	cmocka_unit_test(test_vmx_msrs_from_recorded_host),
	cmocka_unit_test(test_nested_state_round_trip),
};

TEST_MAIN(tests)
