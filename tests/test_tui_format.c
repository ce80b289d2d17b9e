/* test_tui_format: the TUI's column fitting and number formatting. */
#include "config.h"
#include <string.h>
#include "tests/testutil.h"
#include "tui/screens.h"

static void test_fit(void **state)
{
	char b[64];

	(void)state;
	tui_fit(b, sizeof(b), "virtio", 10);
	assert_string_equal(b, "virtio    ");	/* padded to the column */
	tui_fit(b, sizeof(b), "GA102 [GeForce RTX 3090]", 10);
	assert_string_equal(b, "GA102 [G..");	/* cut, and it says so */
	tui_fit(b, sizeof(b), "abc", 3);
	assert_string_equal(b, "abc");
	tui_fit(b, sizeof(b), "abcd", 2);
	assert_string_equal(b, "..");
	tui_fit(b, sizeof(b), "abcd", 0);
	assert_string_equal(b, "");
	tui_fit(b, 5, "a long name", 40);	/* never past the buffer */
	assert_string_equal(b, "a ..");
}

static void test_wrap(void **state)
{
	char l[4][TUI_LINE];

	(void)state;
	assert_int_equal(tui_wrap("yes: software KVM (kvm_pvm) without VT-x", 20, l, 4), 3);
	assert_string_equal(l[0], "yes: software KVM");	/* at a space, never inside a word */
	assert_string_equal(l[1], "(kvm_pvm) without");
	assert_string_equal(l[2], "VT-x");
	assert_int_equal(tui_wrap("one two three four five six", 9, l, 2), 2);
	assert_string_equal(l[0], "one two");
	assert_string_equal(l[1], "three..");	/* the last line says there is more */
	assert_int_equal(tui_wrap("abcdefghijkl", 5, l, 4), 3);	/* a word longer than a line */
	assert_string_equal(l[0], "abcde");
	assert_int_equal(tui_wrap("", 10, l, 4), 0);
	assert_int_equal(tui_wrap("x", 0, l, 4), 0);
}

static void test_columns(void **state)
{
	static const struct tui_col c[] = {
		{ "ADDRESS", 7, 7, 0 }, { "NAME", 10, 30, 1 }, { "GROUP", 5, 5, 5 },
		{ "VERDICT", 19, 19, 0 }, { "ALTERNATIVE", 10, 40, 2 },
	};
	int w[5];

	(void)state;
	tui_columns(c, 5, 200, w);	/* room for all at their most */
	assert_int_equal(w[0], 7);
	assert_int_equal(w[1], 30);
	assert_int_equal(w[4], 40);
	tui_columns(c, 5, 52, w);	/* the group goes first; the verdict is never cut */
	assert_int_equal(w[2], 0);
	assert_int_equal(w[3], 19);
	assert_int_equal(w[0] + w[1] + w[3] + w[4] + 4, 52);
	tui_columns(c, 5, 30, w);	/* only what fits whole */
	assert_int_equal(w[0], 7);
	assert_int_equal(w[3], 19);
	assert_int_equal(w[1], 0);
}

static void test_count(void **state)
{
	char b[16];

	(void)state;
	tui_count(b, sizeof(b), 0);
	assert_string_equal(b, "0");
	tui_count(b, sizeof(b), 9999);
	assert_string_equal(b, "9999");
	tui_count(b, sizeof(b), 12345);
	assert_string_equal(b, "12k");
	tui_count(b, sizeof(b), 1234567);
	assert_string_equal(b, "1.2M");
	tui_count(b, sizeof(b), 3000000000ull);
	assert_string_equal(b, "3.0G");
}

static void test_sparkline(void **state)
{
	static const double v[] = { 0, 1, 50, 100, 25 };
	char b[64];

	(void)state;
	tui_sparkline(b, sizeof(b), v, 5, false);
	assert_string_equal(b, " _=#.");	/* scaled to the largest; any exits at all show */
	tui_sparkline(b, sizeof(b), v, 5, true);
	assert_string_equal(b, " \u2581\u2584\u2588\u2582");
	tui_sparkline(b, 4, v, 5, true);	/* never past the buffer: whole characters only */
	assert_string_equal(b, " ");
	tui_sparkline(b, sizeof(b), v, 1, false);
	assert_string_equal(b, " ");	/* all quiet */
}

/* The console view's small terminal: lines, CR overwrites, backspace, tabs, escape sequences
 * dropped. */
static void test_console_feed(void **state)
{
	static const char out[] = "booting\r\nab\bc\x1b[1;32mok\x1b[0m\n\tx\rY\nlast";

	(void)state;
	tui_term_reset();
	tui_term_feed(out, sizeof(out) - 1);
	assert_string_equal(tui_term_line(0), "last");
	assert_string_equal(tui_term_line(1), "Y       x");
	assert_string_equal(tui_term_line(2), "acok");
	assert_string_equal(tui_term_line(3), "booting");
	assert_null(tui_term_line(4));

	/* a line wider than the terminal wraps; only the last 1000 lines are kept */
	char wide[300];
	memset(wide, 'a', sizeof(wide));
	tui_term_reset();
	tui_term_feed(wide, sizeof(wide));
	assert_int_equal(strlen(tui_term_line(0)), 60);
	assert_int_equal(strlen(tui_term_line(1)), 240);
	for (int i = 0; i < 1500; i++)
		tui_term_feed("x\n", 2);
	assert_int_equal(tui_term_lines(), 1000);
	assert_string_equal(tui_term_line(1), "x");
	assert_null(tui_term_line(1000));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_sparkline),
	cmocka_unit_test(test_console_feed),
	cmocka_unit_test(test_fit),
	cmocka_unit_test(test_wrap),
	cmocka_unit_test(test_columns),
	cmocka_unit_test(test_count),
};
TEST_MAIN(tests)
