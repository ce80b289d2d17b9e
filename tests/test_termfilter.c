/* test_termfilter: a guest's console output on the user's terminal keeps what a console needs
 * (text, colours, cursor, titles) and loses what a guest must not send there: OSC 52 (the
 * clipboard) and the queries whose answers would be typed into the guest. */
#include "config.h"
#include "common/termfilter.h"
#include "tests/testutil.h"

/* in fed in pieces of `chunk` bytes; what came out. */
static const char *filtered(const char *in, size_t chunk, unsigned long *dropped)
{
	static char out[8192];
	struct termfilter f = { 0 };
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n; i += chunk)
		o += termfilter_feed(&f, in + i, n - i < chunk ? n - i : chunk, out + o);
	out[o] = '\0';
	if (dropped)
		*dropped = f.dropped;
	return out;
}

static void check_both(const char *in, const char *want, unsigned long want_dropped)
{
	unsigned long d;

	for (size_t chunk = 1; chunk <= strlen(in) + 1; chunk += chunk < 4 ? 1 : 7) {
		assert_string_equal(filtered(in, chunk, &d), want);
		assert_int_equal(d, want_dropped);
	}
}

static void test_text_and_colours_pass(void **state)
{
	(void)state;
	check_both("login: root\r\n", "login: root\r\n", 0);
	check_both("\033[1;31mred\033[0m \033[2J\033[H\033(B\033=",
		   "\033[1;31mred\033[0m \033[2J\033[H\033(B\033=", 0);
	check_both("\033]0;my guest\007ok\033]2;title\033\\",
		   "\033]0;my guest\007ok\033]2;title\033\\", 0);
	check_both("\033[?1049h\033[?25l\033[38;5;200mx", "\033[?1049h\033[?25l\033[38;5;200mx", 0);
	check_both("caf\xc3\xa9 \xe2\x94\x80", "caf\xc3\xa9 \xe2\x94\x80",
		   0); /* UTF-8, box drawing */
}

static void test_clipboard_dropped(void **state)
{
	(void)state;
	check_both("a\033]52;c;aGVsbG8=\007b", "ab", 1);
	check_both("a\033]52;c;?\033\\b", "ab", 1);
	check_both("\033]50;?\007", "", 1);
}

static void test_queries_dropped(void **state)
{
	(void)state;
	check_both("x\033[6ny\033[5n\033[?6n", "xy", 3);	/* DSR: cursor position, status */
	check_both("\033[c\033[>c\033[=c\033[0c", "", 4);	/* DA 1, 2, 3 */
	check_both("\033Z", "", 1);				/* DECID */
	check_both("\033P$qm\033\\\033P+q544e\033\\", "", 2);	/* DECRQSS, XTGETTCAP */
	check_both("\033[?2004$p\033[4$p", "", 2);		/* DECRQM */
	check_both("\033[>0q\033[21t\033[14t\033[8;50;100t", "", 4);	/* XTVERSION, window */
	check_both("\033]11;?\007\033]4;1;?\033\\\033]10;?\007", "", 3);	/* colour queries */
	check_both("\033[?u\033[1x", "", 2);
}

/* Broken or endless sequences cannot swallow the rest, nor pass half a query. */
static void test_broken_sequences(void **state)
{
	char big[2000];

	(void)state;
	check_both("\033[6\nok", "\nok", 1); /* a control inside CSI: dropped, the control kept */
	check_both("\033]52;c;abc\030after", "after", 1);	/* CAN ends a string */
	check_both("\033]0;t\033[6n", "", 2);	/* an OSC left open, then a query */
	memset(big, 'a', sizeof(big));
	memcpy(big, "\033]0;", 4);
	strcpy(big + sizeof(big) - 8, "\007tail");
	check_both(big, "tail", 1);				/* too long: dropped whole */
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_text_and_colours_pass),
	cmocka_unit_test(test_clipboard_dropped),
	cmocka_unit_test(test_queries_dropped),
	cmocka_unit_test(test_broken_sequences),
};

TEST_MAIN(tests)
