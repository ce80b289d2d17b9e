/* testutil: what every cmocka test program shares (TAP output, fixture paths, temporary
 * directories). */
#ifndef NESTVISOR_TESTUTIL_H
#define NESTVISOR_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixture paths come from the build so `make distcheck` (srcdir != builddir) finds them. */
static inline const char *test_srcdir(void)
{
	const char *s = getenv("NV_SRCDIR");
	return s ? s : NV_SRCDIR;
}

static inline void test_data_path(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/tests/data/%s", test_srcdir(), rel);
}

/* A fresh directory under $TMPDIR, removed by test_rmtree. */
static inline void test_mkdtemp(char *out, size_t len)
{
	const char *t = getenv("TMPDIR");
	snprintf(out, len, "%s/nvtest.XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(out));
}

static inline int test_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

#define TEST_MAIN(tests)                                        \
	int main(void)                                          \
	{                                                       \
		cmocka_set_message_output(CM_OUTPUT_TAP);       \
		return cmocka_run_group_tests(tests, NULL, NULL); \
	}

#endif
