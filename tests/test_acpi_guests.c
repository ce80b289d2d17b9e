/* test_acpi_guests: the platform's ACPI as guests use it: S3 (suspend to RAM, woken by the RTC
 * alarm or by the VMM's resume) and the power button `nestvisor stop` presses (a guest listening
 * powers off, the VM ending "powered-off"; one deaf to it is stopped at once, saying why; --force
 * asks nothing). */
#include "config.h"
#include "tests/runvm.h"
#include "vmm/control.h"

/* ACPI S3: the guest arms the RTC alarm and suspends; the platform parks it and, on the alarm,
 * starts it in real mode at the FACS waking vector with WAK_STS set (it used to hang: SLP_TYP was
 * ignored and so was the alarm). */
static void test_acpi_s3_suspend_resume(void **state)
{
	struct run r;

	(void)state;
	skip_without_kvm();
	RUN(&r, NULL, 20, "--kernel", "tests/guests/s3.elf", "--timeout", "10");
	expect(&r, 1, "resumed WAK_STS in real mode", NULL);
	assert_non_null(strstr(r.out, "suspending to S3"));
	assert_null(strstr(r.out, "did not suspend"));
}

/* S3 with no alarm armed: `ps` shows the VM suspended until the control socket's resume wakes it
 * (as QEMU's system_wakeup), and it resumes at its waking vector. */
static void test_acpi_s3_woken_by_resume(void **state)
{
	char dir[256], sock[300];
	char *reply = NULL;
	struct run r;

	(void)state;
	skip_without_kvm();
	test_mkdtemp(dir, sizeof(dir));
	setenv("XDG_RUNTIME_DIR", dir, 1);
	NV(&r, "run", "--kernel", "tests/guests/s3.elf", "--cmdline", "noalarm", "--name",
	   "s3-test", "--detach");
	expect(&r, 0, "VM s3-test running in the background", NULL);
	snprintf(sock, sizeof(sock), "%s/nestvisor/s3-test.sock", dir);
	for (int i = 0; i < 100 && !(reply && strstr(reply, "\"suspended\"")); i++) {
		free(reply);
		poll(NULL, 0, 100);
		reply = vmm_control_request(sock, "status", 5000);
	}
	if (!reply || !strstr(reply, "\"state\":\"suspended\""))
		fail_msg("the VM never showed as suspended: %s", reply ? reply : "(no reply)");
	free(reply);
	NV(&r, "ps");
	expect(&r, 0, "suspended", NULL);
	poll(NULL, 0, 1500);	/* no alarm armed: still asleep a second later */
	reply = vmm_control_request(sock, "status", 5000);
	assert_non_null(strstr(reply, "\"suspended\""));
	free(reply);
	free(vmm_control_request(sock, "resume", 5000));
	run_vm(&r, NULL, 20, (const char *const[]){ "nestvisor", "console", "s3-test", NULL });
	expect(&r, 0, "resumed WAK_STS in real mode", NULL);
	test_sh("rm -rf '%s'", dir);
	unsetenv("XDG_RUNTIME_DIR");
}

/* The guest's console so far (the control socket's "console"), until it shows what, for 10 s at
 * most. */
static void wait_console(const char *sock, const char *what)
{
	char *reply = NULL;

	for (int i = 0; i < 100; i++, poll(NULL, 0, 100)) {
		free(reply);
		reply = vmm_control_call(sock, "{\"cmd\":\"console\",\"from\":0}", 2000);
		if (reply && strstr(reply, what))
			break;
	}
	if (!reply || !strstr(reply, what))
		fail_msg("the guest never said '%s': %s", what, reply ? reply : "(no reply)");
	free(reply);
}

static void test_power_button(void **state)
{
	char dir[256], sock[300];
	struct run r;

	(void)state;
	start_detached(&r, dir, sizeof(dir), "tests/guests/pwrbtn.elf", "btn");
	snprintf(sock, sizeof(sock), "%s/nestvisor/btn.sock", dir);
	wait_console(sock, "listening\\n");
	NV(&r, "stop", "btn");
	expect(&r, 0, "VM btn: its power button pressed; waiting up to 60 s", NULL);
	expect(&r, 0, "VM btn has ended: powered-off (exit status 0)", NULL);
	NV(&r, "ps", "--all");
	expect(&r, 0, "powered-off", NULL);

	/* a guest deaf to the button: stopped at once, saying why */
	NV(&r, "run", "--kernel", "tests/guests/pwrbtn.elf", "--cmdline", "deaf", "--name", "deaf",
	   "--detach");
	snprintf(sock, sizeof(sock), "%s/nestvisor/deaf.sock", dir);
	wait_console(sock, "deaf\\n");
	double t0 = now_ms();
	NV(&r, "stop", "deaf");
	expect(&r, 0, "VM deaf stopped (its guest does not listen for the ACPI power button", NULL);
	assert_true(now_ms() - t0 < 5000);

	/* --force asks nothing */
	NV(&r, "run", "--kernel", "tests/guests/pwrbtn.elf", "--name", "forced", "--detach");
	snprintf(sock, sizeof(sock), "%s/nestvisor/forced.sock", dir);
	wait_console(sock, "listening\\n");
	NV(&r, "stop", "--force", "forced");
	expect(&r, 0, "VM forced stopped\n", NULL);
	NV(&r, "ps", "--all");
	const char *line = strstr(r.out, "\nforced ");	/* ended stopped, its guest still listening */
	const char *eol = line ? strchr(line + 1, '\n') : NULL;
	const char *how = line ? strstr(line, " stopped ") : NULL;
	const char *said = line ? strstr(line, "listening") : NULL;
	if (!line || !how || !said || (eol && (how > eol || said > eol)))
		fail_msg("ps --all: %s", r.out);
	test_sh("rm -rf '%s'", dir);
	unsetenv("XDG_RUNTIME_DIR");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_acpi_s3_suspend_resume),
	cmocka_unit_test(test_acpi_s3_woken_by_resume),
	cmocka_unit_test(test_power_button),
};
TEST_MAIN(tests)
