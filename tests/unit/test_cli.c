/* Unit tests of the command-line helpers both programs use (src/common/cli.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sqlbundle/cli.h"
#include "sqlbundle/err.h"

static void
test_parse_number(void **state)
{
	unsigned long long v = 7;

	(void)state;
	assert_int_equal(sb_parse_number("0", 9, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sb_parse_number("99", 99, &v), 0);
	assert_int_equal(v, 99);
	assert_int_equal(sb_parse_number("100", 99, &v), -1);
	/* Digits only: no sign, no space, no suffix, not empty. */
	assert_int_equal(sb_parse_number("+3", 99, &v), -1);
	assert_int_equal(sb_parse_number(" 3", 99, &v), -1);
	assert_int_equal(sb_parse_number("-3", 99, &v), -1);
	assert_int_equal(sb_parse_number("3x", 99, &v), -1);
	assert_int_equal(sb_parse_number("", 99, &v), -1);
	assert_int_equal(sb_parse_number("99999999999999999999999", ~0ull,
	    &v), -1);
}

static void
test_parse_size(void **state)
{
	size_t v = 0;

	(void)state;
	assert_int_equal(sb_parse_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(sb_parse_size("256K", &v), 0);
	assert_int_equal(v, 256 * 1024);
	assert_int_equal(sb_parse_size("64MiB", &v), 0);
	assert_int_equal(v, 64 * 1024 * 1024);
	assert_int_equal(sb_parse_size("1gB", &v), 0);
	assert_int_equal(v, 1024 * 1024 * 1024);
	assert_int_equal(sb_parse_size("100B", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(sb_parse_size("0", &v), -1);
	assert_int_equal(sb_parse_size("12Q", &v), -1);
	assert_int_equal(sb_parse_size("-1K", &v), -1);
	assert_int_equal(sb_parse_size("K", &v), -1);
	assert_int_equal(sb_parse_size("99999999999G", &v), -1);
}

/* Durations read and written the way PostgreSQL does. */
static void
test_durations(void **state)
{
	unsigned long ms;
	char buf[32];

	(void)state;
	assert_int_equal(sb_parse_duration("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(sb_parse_duration("250", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(sb_parse_duration("5min", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(sb_parse_duration("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(sb_parse_duration("1d", &ms), 0);
	assert_int_equal(sb_parse_duration("2d", &ms), -1);
	assert_int_equal(sb_parse_duration("5 min", &ms), -1);
	assert_int_equal(sb_parse_duration("1m", &ms), -1);
	assert_int_equal(sb_parse_duration("s", &ms), -1);
	assert_int_equal(sb_parse_duration("-1s", &ms), -1);
	sb_format_duration(500, buf, sizeof(buf));
	assert_string_equal(buf, "500ms");
	sb_format_duration(30000, buf, sizeof(buf));
	assert_string_equal(buf, "30s");
	sb_format_duration(300000, buf, sizeof(buf));
	assert_string_equal(buf, "5min");
	sb_format_duration(1500, buf, sizeof(buf));
	assert_string_equal(buf, "1500ms");
	sb_format_duration(7200000, buf, sizeof(buf));
	assert_string_equal(buf, "2h");
	sb_format_duration(0, buf, sizeof(buf));
	assert_string_equal(buf, "0");
}

/* getopt_long's errors, read the same way in both programs. */
static void
test_opt_error(void **state)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct sb_err err = SB_ERR_INIT;
	char a0[] = "pack", a1[] = "-qx", a2[] = "--key", a3[] = "--nope";
	char *argv[] = { a0, a1, NULL };
	int c;

	(void)state;
	opterr = 0;
	optind = 0;
	c = getopt_long(2, argv, ":qk:", longopts, NULL);
	assert_int_equal(c, 'q');
	c = getopt_long(2, argv, ":qk:", longopts, NULL);
	assert_int_equal(c, '?');
	sb_cli_opt_error("pack", c, argv, &err);
	assert_string_equal(err.msg, "pack: unknown option \"-x\"");
	assert_int_equal(err.code, SB_EUSAGE);
	argv[1] = a2;
	optind = 0;
	c = getopt_long(2, argv, ":qk:", longopts, NULL);
	assert_int_equal(c, ':');
	sb_cli_opt_error(NULL, c, argv, &err);
	assert_string_equal(err.msg, "option \"--key\" needs a value");
	argv[1] = a3;
	optind = 0;
	c = getopt_long(2, argv, ":qk:", longopts, NULL);
	sb_cli_opt_error("pack", c, argv, &err);
	assert_string_equal(err.msg, "pack: unknown option \"--nope\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_number),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_opt_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
