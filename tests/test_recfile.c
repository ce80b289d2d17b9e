/* test_recfile: the recording's KEY=VALUE files and sysfs value parsers, including hostile input.
 */
#include "config.h"
#include <errno.h>
#include "tests/testutil.h"
#include "probe/recfile.h"

static void test_kv_msr_and_cpuid(void **state)
{
	static const char text[] = "version=0.6.2\n# "
				   "comment\n0x3a=0x0000000000000005\n0x40000000=40000001 4b4d564b "
				   "564b4d56 0000004d\n0x48b=0017ffff00000000\n0xc0010114=error:No "
				   "such file or directory\n";
	struct rec_kv *kv;
	const struct rec_kv *r;

	(void)state;
	assert_int_equal(recfile_parse_kv(text, sizeof(text) - 1, &kv), 0);
	r = recfile_find(kv, 0x3a);
	assert_non_null(r);
	assert_int_equal(r->w[0], 5);
	r = recfile_find(kv, 0x48b);
	assert_int_equal(r->nw, 2);
	assert_int_equal(r->w[1], 0x0017ffff);
	r = recfile_find(kv, 0x40000000);
	assert_int_equal(r->nw, 4);
	assert_int_equal(r->w[1], 0x4b4d564b);
	r = recfile_find(kv, 0xc0010114);
	assert_int_equal(r->err, -ENOENT);
	assert_null(recfile_find(kv, 0x999));
	recfile_free_kv(kv);
}

static void test_kv_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"0x3a\n",
		"=5\n",
		"zz=5\n",
		"0x3a=\n",
		"0x3a=xyz\n",
		"0x3a=1 2 3 4 5\n",
		"0x1ffffffff=1\n",
		"0x3a=1\x00"
		"2\n",
		"0x3a=123456789 1\n",
	};
	struct rec_kv *kv = (struct rec_kv *)1;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = i == 7 ? 9 : strlen(bad[i]);
		assert_int_equal(recfile_parse_kv(bad[i], len, &kv), -EINVAL);
		assert_null(kv);
	}
}

static void test_kv_line_and_record_limits(void **state)
{
	char *big = malloc(300 * 1000);
	struct rec_kv *kv;
	size_t n = 0;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 400);	/* one line longer than any real record */
	assert_int_equal(recfile_parse_kv(big, 400, &kv), -EINVAL);
	for (int i = 0; i < 5000; i++)
		n += (size_t)sprintf(big + n, "%d=1\n", i);
	assert_int_equal(recfile_parse_kv(big, n, &kv), -E2BIG);
	free(big);
}

static void test_kv_write_read_roundtrip(void **state)
{
	char dir[256], path[300], buf[512];
	struct rec_kv *kv = NULL, *back;
	uint32_t msr[2] = { 0x5, 0x1 }, regs[4] = { 1, 2, 3, 4 };
	FILE *f;
	size_t n;

	(void)state;
	test_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/kv.txt", dir);
	recfile_add(&kv, 0x3a, 0, msr, 2);
	recfile_add(&kv, 0x40000000, 0, regs, 4);
	recfile_add(&kv, 0x480, -EIO, NULL, 0);
	assert_int_equal(recfile_write_kv(kv, path), 0);
	f = fopen(path, "r");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(recfile_parse_kv(buf, n, &back), 0);
	assert_int_equal(recfile_find(back, 0x3a)->w[1], 1);
	assert_int_equal(recfile_find(back, 0x40000000)->w[3], 4);
	assert_int_equal(recfile_find(back, 0x480)->err, -EIO);
	recfile_free_kv(kv);
	recfile_free_kv(back);
	test_sh("rm -rf '%s'", dir);
}

static void test_sysfs_values(void **state)
{
	uint64_t v;
	int b;

	(void)state;
	assert_int_equal(recfile_parse_u64("0x8086\n", &v), 0);
	assert_int_equal(v, 0x8086);
	assert_int_equal(recfile_parse_u64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(recfile_parse_u64("-1", &v), -EINVAL);
	assert_int_equal(recfile_parse_u64("12abc", &v), -EINVAL);
	assert_int_equal(recfile_parse_u64("", &v), -EINVAL);
	assert_int_equal(recfile_parse_u64("99999999999999999999999", &v), -EINVAL);
	assert_int_equal(recfile_parse_bool("Y\n", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(recfile_parse_bool("0", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(recfile_parse_bool("yes", &b), -EINVAL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_kv_msr_and_cpuid),
	cmocka_unit_test(test_kv_rejects_malformed),
	cmocka_unit_test(test_kv_line_and_record_limits),
	cmocka_unit_test(test_kv_write_read_roundtrip),
	cmocka_unit_test(test_sysfs_values),
};
TEST_MAIN(tests)
