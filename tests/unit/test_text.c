/* Unit tests for src/common/text.c: UTF-8 decoding and the escapers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/text.h"

/* sb_utf8_len on the n bytes of s: expect length want and code point cp. */
static void
utf8_ok(const char *s, size_t n, size_t want, uint32_t want_cp)
{
	uint32_t cp = 0xffffffff;

	assert_int_equal(sb_utf8_len((const unsigned char *)s, n, &cp), want);
	assert_int_equal(cp, want_cp);
	/* cp may be NULL */
	assert_int_equal(sb_utf8_len((const unsigned char *)s, n, NULL), want);
}

static void
utf8_bad(const char *s, size_t n)
{
	if (sb_utf8_len((const unsigned char *)s, n, NULL) != 0)
		fail_msg("accepted %zu bytes starting %02x", n,
		    (unsigned char)s[0]);
}

static void
test_utf8_valid(void **state)
{
	(void)state;
	utf8_ok("A", 1, 1, 'A');
	utf8_ok("\0x", 2, 1, 0);		/* NUL is one byte, U+0000 */
	utf8_ok("\x7f", 1, 1, 0x7f);
	/* the first and last code point of each length */
	utf8_ok("\xc2\x80", 2, 2, 0x80);
	utf8_ok("\xdf\xbf", 2, 2, 0x7ff);
	utf8_ok("\xe0\xa0\x80", 3, 3, 0x800);
	utf8_ok("\xed\x9f\xbf", 3, 3, 0xd7ff);	/* below the surrogates */
	utf8_ok("\xee\x80\x80", 3, 3, 0xe000);	/* above them */
	utf8_ok("\xef\xbf\xbf", 3, 3, 0xffff);
	utf8_ok("\xf0\x90\x80\x80", 4, 4, 0x10000);
	utf8_ok("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);
	/* only the first sequence counts; the rest is not looked at */
	utf8_ok("\xc3\xa9\xff", 3, 2, 0xe9);
	utf8_ok("\xe2\x82\xac" "abc", 6, 3, 0x20ac);
}

static void
test_utf8_invalid(void **state)
{
	(void)state;
	/* continuation bytes as a lead */
	utf8_bad("\x80", 1);
	utf8_bad("\xbf\x80", 2);
	/* overlong forms: C0/C1 leads, short 3- and 4-byte forms */
	utf8_bad("\xc0\xaf", 2);
	utf8_bad("\xc1\xbf", 2);
	utf8_bad("\xe0\x9f\xbf", 3);
	utf8_bad("\xe0\x80\xaf", 3);
	utf8_bad("\xf0\x8f\xbf\xbf", 4);
	/* surrogates */
	utf8_bad("\xed\xa0\x80", 3);
	utf8_bad("\xed\xbf\xbf", 3);
	/* above U+10FFFF, and leads that can only start such values */
	utf8_bad("\xf4\x90\x80\x80", 4);
	utf8_bad("\xf5\x80\x80\x80", 4);
	utf8_bad("\xf8\x88\x80\x80\x80", 5);
	utf8_bad("\xfe", 1);
	utf8_bad("\xff", 1);
	/* a continuation that is not one */
	utf8_bad("\xc3\x28", 2);
	utf8_bad("\xe2\x28\xa1", 3);
	utf8_bad("\xe2\x82\x28", 3);
	utf8_bad("\xf0\x90\x28\xbc", 4);
	utf8_bad("\xc3\xc3", 2);
	/* cut short by n, though the bytes after n would complete it */
	utf8_bad("\xc3\xa9", 1);
	utf8_bad("\xe2\x82\xac", 2);
	utf8_bad("\xf0\x9f\x98\x80", 3);
}

/* Run sb_escape_name into a buffer of cap bytes guarded on both sides. */
static void
escape(const char *name, size_t cap, const char *want)
{
	char buf[SB_ESCAPED_MAX + 32];

	assert_true(cap + 16 <= sizeof(buf));
	memset(buf, '#', sizeof(buf));
	sb_escape_name(name, buf + 8, cap);
	if (cap > 0) {
		assert_string_equal(buf + 8, want);
		assert_true(strlen(buf + 8) < cap);
	}
	/* nothing written outside the cap bytes */
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(buf[i], '#');
	for (size_t i = 8 + cap; i < sizeof(buf); i++)
		assert_int_equal(buf[i], '#');
}

static void
test_escape_name(void **state)
{
	char name[300], want[300];

	(void)state;
	escape("", 16, "");
	escape("seeds/0001_a/x.csv", 64, "seeds/0001_a/x.csv");
	/* quotes and backslashes cannot end or fake a quoted name */
	escape("a\"b\\c", 16, "a\\\"b\\\\c");
	/* controls, DEL, every byte >= 0x80 (UTF-8 or not) as \xNN */
	escape("\x1b[2J\r\x7f", 64, "\\x1b[2J\\x0d\\x7f");
	escape("caf\xc3\xa9", 64, "caf\\xc3\\xa9");
	escape("\xff", 8, "\\xff");
	/* tiny buffers: nothing, or only the cut mark */
	escape("abc", 0, "");
	escape("abc", 1, "");
	escape("abcdefghij", 3, "");
	escape("abcdefghij", 4, "...");

	/* a name whose escape fits exactly is never cut */
	memset(name, 'n', 255);
	name[255] = '\0';
	escape(name, 256, name);
	escape(name, SB_ESCAPED_MAX, name);
	memset(name, 'n', 7);
	name[7] = '\0';
	escape(name, 8, "nnnnnnn");
	escape("\x01\x02", 9, "\\x01\\x02");
	/* one byte more than fits: cut, a prefix and the mark */
	memset(name, 'n', 256);
	name[256] = '\0';
	sb_escape_name(name, want, 256);
	assert_true(strlen(want) > 240 && strlen(want) < 256);
	assert_string_equal(want + strlen(want) - 3, "...");
	assert_int_equal(strspn(want, "n"), strlen(want) - 3);
	escape("abcdefgh", 8, "a...");
	/* a cut never splits an escape */
	escape("\x01\x02\x03", 12, "\\x01\\x02...");
	escape("ab\x01\x02\x03", 12, "ab\\x01...");
}

/* Capture what fn writes to a FILE. */
static char *
capture_safe(const char *text, size_t len, bool keep_tab)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&buf, &size);

	assert_non_null(fp);
	sb_put_safe(fp, text, len, keep_tab);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static void
safe(const char *text, size_t len, bool keep_tab, const char *want)
{
	char *got = capture_safe(text, len, keep_tab);

	assert_string_equal(got, want);
	free(got);
}

#define SAFE(lit, keep_tab, want) safe(lit, sizeof(lit) - 1, keep_tab, want)

static void
test_put_safe(void **state)
{
	(void)state;
	SAFE("", false, "");
	SAFE("plain text: 1 + 2 = 3", false, "plain text: 1 + 2 = 3");
	/* a backslash is doubled, so \xNN in the output is never ambiguous */
	SAFE("a\\x41", false, "a\\\\x41");
	SAFE("a\tb", true, "a\tb");
	SAFE("a\tb", false, "a\\x09b");
	/* line breaks, escape sequences, BEL, DEL, NUL */
	SAFE("1\n2\r3", true, "1\\x0a2\\x0d3");
	SAFE("\x1b]0;owned\x07", true, "\\x1b]0;owned\\x07");
	SAFE("x\x7fy", false, "x\\x7fy");
	SAFE("a\0b", false, "a\\x00b");
	/* valid UTF-8 passes as it is */
	SAFE("se\xc3\xb1" "al \xe2\x82\xac \xf0\x9f\x98\x80", false,
	    "se\xc3\xb1" "al \xe2\x82\xac \xf0\x9f\x98\x80");
	SAFE("\xc2\xa0", false, "\xc2\xa0");	/* U+00A0, first after C1 */
	/* C1 controls (CSI is U+009B), in UTF-8 form, are escaped */
	SAFE("\xc2\x9b" "2J", false, "\\xc2\\x9b2J");
	SAFE("\xc2\x80\xc2\x9f", false, "\\xc2\\x80\\xc2\\x9f");
	/* a raw C1 byte, invalid UTF-8, overlong and surrogate forms */
	SAFE("\x9b" "2J", false, "\\x9b2J");
	SAFE("caf\xe9!", false, "caf\\xe9!");
	SAFE("\xc0\xaf", false, "\\xc0\\xaf");
	SAFE("\xed\xa0\x80", false, "\\xed\\xa0\\x80");
	/* a sequence cut by len is escaped byte by byte */
	safe("\xe2\x82\xac", 2, false, "\\xe2\\x82");
	/* len is honoured: nothing past it is written */
	safe("abcdef", 3, false, "abc");
}

static char *
capture_json(const char *str)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&buf, &size);

	assert_non_null(fp);
	sb_put_json(fp, str);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static void
json(const char *str, const char *want)
{
	char *got = capture_json(str);

	assert_string_equal(got, want);
	free(got);
}

static void
text(const char *in, const char *want)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&buf, &size);

	assert_non_null(fp);
	sb_put_text(fp, in);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(buf, want);
	free(buf);
}

static void
test_put_text(void **state)
{
	(void)state;
	text("", "");
	/* line breaks and tabs stay, for messages of several lines */
	text("ERROR: x\nDETAIL:\ty", "ERROR: x\nDETAIL:\ty");
	/* names escaped already keep their single backslashes */
	text("entry \"a\\x1b[2Jb\"", "entry \"a\\x1b[2Jb\"");
	/* what could drive a terminal does not pass */
	text("red \x1b[31mtext\r over", "red \\x1b[31mtext\\x0d over");
	text("\xc2\x9b" "2J\x07", "\\xc2\\x9b2J\\x07");
	text("se\xc3\xb1" "al", "se\xc3\xb1" "al");
}

static void
test_put_json(void **state)
{
	(void)state;
	json("", "\"\"");
	json("head", "\"head\"");
	json("say \"hi\" \\ bye", "\"say \\\"hi\\\" \\\\ bye\"");
	/* every control is \u00XX, DEL too; '/' needs nothing */
	json("a\nb\tc\rd\x01\x1f\x7f/", "\"a\\u000ab\\u0009c\\u000dd\\u0001"
	    "\\u001f\\u007f/\"");
	json("\x1b[31mred", "\"\\u001b[31mred\"");
	/* valid UTF-8, C1 controls included, is kept as UTF-8 */
	json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x85",
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x85\"");
	/* each byte of an invalid sequence becomes one U+FFFD */
	json("caf\xe9", "\"caf\\ufffd\"");
	json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	json("\xc0\xafx", "\"\\ufffd\\ufffdx\"");
	json("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* a sequence cut by the end of the string */
	json("ok\xe2\x82", "\"ok\\ufffd\\ufffd\"");
	json("\xff\xfe\"", "\"\\ufffd\\ufffd\\\"\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_escape_name),
		cmocka_unit_test(test_put_safe),
		cmocka_unit_test(test_put_text),
		cmocka_unit_test(test_put_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
