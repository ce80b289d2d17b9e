/* test_ctlproto: the control socket's request lines (docs/control-socket.md) as the VMM parses
 * them: every command by name, arguments checked, and a bad line refused with a reason. */
#include "config.h"
#include "vmm/ctlproto.h"
#include "tests/testutil.h"

static struct ctl_request parsed(const char *line)
{
	struct ctl_request r;

	ctl_parse(line, strlen(line), &r);
	return r;
}

static void test_commands(void **state)
{
	(void)state;
	assert_int_equal(parsed("{\"cmd\":\"status\"}").cmd, CTL_STATUS);
	assert_int_equal(parsed("{\"cmd\":\"pause\"}").cmd, CTL_PAUSE);
	assert_int_equal(parsed("{\"cmd\":\"cpus\"}").cmd, CTL_CPUS);
	assert_false(parsed("{\"cmd\":\"cpus\"}").has_at);
	assert_int_equal(parsed("{\"cmd\":\"console\",\"from\":42}").from, 42);
	struct ctl_request r = parsed("{\"cmd\":\"bogus\"}");
	assert_int_equal(r.cmd, CTL_BAD);
	assert_string_equal(r.error, "unknown command");
	assert_int_equal(parsed("[\"cmd\"]").cmd, CTL_BAD);
	ctl_parse("{\"cmd\":\"stop\"}\0x", 16, &r);
	assert_int_equal(r.cmd, CTL_BAD);	/* a NUL inside the line */
	/* snapshot: its file comes beside the line, never in it; "stop" is a boolean */
	r = parsed("{\"cmd\":\"snapshot\"}");
	assert_int_equal(r.cmd, CTL_SNAPSHOT);
	assert_false(r.stop);
	assert_int_equal(r.fd, -1);
	assert_true(parsed("{\"cmd\":\"snapshot\",\"stop\":true}").stop);
	r = parsed("{\"cmd\":\"snapshot\",\"stop\":\"yes\"}");
	assert_int_equal(r.cmd, CTL_BAD);
	assert_non_null(strstr(r.error, "true or false"));
}

/* cpus' "at": where to read words through each vCPU's page tables */
static void test_cpus_at(void **state)
{
	static const char *const bad[] = {
		"\"0x\"", "\"0xzz\"", "\"0x-8\"", "\"8\"", "\"0x12\"", "\" 0x10\"", "16",
		"\"0x10000000000000000\"", "null", "\"0x10 \"",
	};
	char line[96];
	struct ctl_request r;

	(void)state;
	r = parsed("{\"cmd\":\"cpus\",\"at\":\"0xffffc90000003f58\"}");
	assert_int_equal(r.cmd, CTL_CPUS);
	assert_true(r.has_at);
	assert_true(r.at == 0xffffc90000003f58ull);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "{\"cmd\":\"cpus\",\"at\":%s}", bad[i]);
		r = parsed(line);
		if (r.cmd != CTL_BAD)
			fail_msg("%s was taken", line);
		assert_non_null(strstr(r.error, "guest virtual address in hex"));
	}
}

static void test_input(void **state)
{
	char line[4200];
	struct ctl_request r;

	(void)state;
	r = parsed("{\"cmd\":\"input\",\"data\":\"ls\\n\"}");
	assert_int_equal(r.cmd, CTL_INPUT);
	assert_int_equal(r.data_len, 3);
	assert_string_equal(r.data, "ls\n");
	ctl_request_free(&r);
	assert_int_equal(parsed("{\"cmd\":\"input\"}").cmd, CTL_BAD);
	snprintf(line, sizeof(line), "{\"cmd\":\"input\",\"data\":\"%04097d\"}", 0);
	assert_int_equal(parsed(line).cmd, CTL_BAD);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_commands),
	cmocka_unit_test(test_cpus_at),
	cmocka_unit_test(test_input),
};

TEST_MAIN(tests)
