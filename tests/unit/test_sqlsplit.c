/* Unit tests of the statement splitter (src/common/sqlsplit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlbundle/err.h"
#include "sqlbundle/sqlsplit.h"

struct want {
	const char	*text;
	unsigned	 line;
};

/* Split sql and compare every statement's text and line with want. */
static void
check_split(const char *sql, const struct want *want, size_t nwant)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_stmt *st = NULL;
	size_t n = 0;

	if (sb_sql_split(sql, strlen(sql), &st, &n, &err) == -1)
		fail_msg("split failed: %s", err.msg);
	if (n != nwant) {
		for (size_t i = 0; i < n; i++)
			print_message("statement %zu: [%.*s]\n", i,
			    (int)st[i].len, sql + st[i].off);
		free(st);
		fail_msg("%zu statements, expected %zu", n, nwant);
	}
	for (size_t i = 0; i < n; i++) {
		if (st[i].len != strlen(want[i].text) ||
		    memcmp(sql + st[i].off, want[i].text, st[i].len) != 0) {
			print_message("statement %zu: [%.*s]\nexpected: [%s]\n",
			    i, (int)st[i].len, sql + st[i].off, want[i].text);
			free(st);
			fail_msg("statement %zu differs", i);
		}
		if (st[i].line != want[i].line) {
			unsigned got = st[i].line;

			free(st);
			fail_msg("statement %zu: line %u, expected %u", i, got,
			    want[i].line);
		}
	}
	free(st);
}

static void
check_error(const char *sql, const char *msg)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_stmt *st = NULL;
	size_t n = 0;

	assert_int_equal(sb_sql_split(sql, strlen(sql), &st, &n, &err), -1);
	assert_null(st);
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, msg);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_simple(void **state)
{
	static const struct want w[] = {
		{ "SELECT 1", 1 }, { "SELECT 2", 1 }, { "SELECT\n3", 3 },
	};

	(void)state;
	check_split("SELECT 1; SELECT 2;\n\nSELECT\n3;\n", w, N(w));
}

static void
test_empty(void **state)
{
	(void)state;
	check_split("", NULL, 0);
	check_split(" ;; ;\n\t\n", NULL, 0);
	check_split("-- only a comment; really\n/* and ; this */\n", NULL, 0);
}

static void
test_last_without_semicolon(void **state)
{
	static const struct want w[] = {
		{ "SELECT 1", 1 }, { "SELECT 2", 2 },
	};

	(void)state;
	/* the unterminated last statement ends at its last token */
	check_split("SELECT 1;\nSELECT 2  -- done\n\n", w, N(w));
}

static void
test_leading_comments(void **state)
{
	static const struct want w[] = {
		{ "SELECT 1", 3 }, { "SELECT /* in */ 2", 6 },
	};

	(void)state;
	check_split("-- header\n/* block\n*/ SELECT 1;\n-- a comment only;\n"
	    "\n  SELECT /* in */ 2;\n-- trailing comment\n", w, N(w));
}

static void
test_single_quotes(void **state)
{
	static const struct want w[] = {
		{ "SELECT ';'", 1 }, { "SELECT 'it''s; fine'", 1 },
		{ "SELECT 'a\\'", 1 }, { "SELECT 'x\ny;'", 2 }, { "SELECT 3", 3 },
	};

	(void)state;
	/* standard_conforming_strings: a backslash is just a character */
	check_split("SELECT ';'; SELECT 'it''s; fine'; SELECT 'a\\';\n"
	    "SELECT 'x\ny;'; SELECT 3", w, N(w));
}

static void
test_e_strings(void **state)
{
	static const struct want w[] = {
		{ "SELECT E'\\';'", 1 }, { "SELECT e'a\\\\'", 1 },
		{ "SELECT E'x''y;'", 1 }, { "SELECT 2", 1 },
		/* "fe" is a word: what follows is a standard string */
		{ "SELECT fe'\\'", 1 }, { "SELECT E'a'\n  'b\\';'", 1 },
		{ "SELECT 4", 3 },
	};

	(void)state;
	check_split("SELECT E'\\';'; SELECT e'a\\\\'; SELECT E'x''y;'; "
	    "SELECT 2; SELECT fe'\\'; SELECT E'a'\n  'b\\';';\nSELECT 4",
	    w, N(w));
}

static void
test_quoted_identifiers(void **state)
{
	static const struct want w[] = {
		{ "SELECT 1 AS \"a;\"\"b\"", 1 }, { "SELECT 2 AS \"$$\"", 1 },
		{ "SELECT 3", 1 },
	};

	(void)state;
	check_split("SELECT 1 AS \"a;\"\"b\"; SELECT 2 AS \"$$\"; SELECT 3;",
	    w, N(w));
}

static void
test_dollar_quotes(void **state)
{
	static const struct want w[] = {
		{ "SELECT $$a;b$$", 1 },
		{ "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\n"
		  "BEGIN\n  PERFORM $$x;$$; -- $fn not the end\n  RETURN 1;\n"
		  "END;\n$fn$", 2 },
		{ "SELECT $a$ $b$ ; $b$ $a$", 8 },
		{ "SELECT $_1$;$_1$", 8 },
		{ "SELECT $Ü$;$Ü$", 8 },
	};

	(void)state;
	check_split("SELECT $$a;b$$;\n"
	    "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\n"
	    "BEGIN\n  PERFORM $$x;$$; -- $fn not the end\n  RETURN 1;\n"
	    "END;\n$fn$;\nSELECT $a$ $b$ ; $b$ $a$; SELECT $_1$;$_1$; "
	    "SELECT $Ü$;$Ü$;", w, N(w));
}

static void
test_dollar_not_quotes(void **state)
{
	static const struct want w[] = {
		{ "SELECT $1", 1 }, { "SELECT $2 + $10", 1 },
		/* identifiers may hold '$': no quote starts inside one */
		{ "SELECT a$$b", 1 }, { "SELECT 1 AS x$", 1 },
		/* a tag cannot start with a digit: $1$ is $1 then $ */
		{ "SELECT $1$", 2 }, { "SELECT $ab", 2 },
	};

	(void)state;
	check_split("SELECT $1; SELECT $2 + $10; SELECT a$$b; SELECT 1 AS x$;\n"
	    "SELECT $1$; SELECT $ab;", w, N(w));
}

static void
test_comments(void **state)
{
	static const struct want w[] = {
		{ "SELECT 1 -- a; b\n  + 1", 1 },
		{ "SELECT /* outer /* inner; */ still; */ 2", 3 },
		{ "SELECT 3 /*/ not closed by this; */", 4 },
		{ "SELECT '--', '/*'", 5 },
	};

	(void)state;
	check_split("SELECT 1 -- a; b\n  + 1;\n"
	    "SELECT /* outer /* inner; */ still; */ 2;\n"
	    "SELECT 3 /*/ not closed by this; */;\n"
	    "SELECT '--', '/*';", w, N(w));
}

static void
test_parentheses(void **state)
{
	static const struct want w[] = {
		{ "SELECT (1", 1 }, { "SELECT 2)", 1 }, { "SELECT (3)", 2 },
	};

	(void)state;
	/* the server splits there too; a stray ')' does not go negative */
	check_split("SELECT (1; SELECT 2);\nSELECT (3);", w, N(w));
}

static void
test_begin_atomic(void **state)
{
	static const struct want w[] = {
		{ "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\n"
		  "BEGIN ATOMIC\n  SELECT a + 1;\n"
		  "  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\nEND", 1 },
		{ "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql\n"
		  "begin /* c */ atomic\n  INSERT INTO t VALUES (1);\n"
		  "  INSERT INTO t VALUES ((CASE WHEN true THEN 1 END));\nend", 6 },
		{ "SELECT 3", 11 },
		/* a transaction block is not a body: it splits */
		{ "BEGIN", 12 }, { "SELECT 4", 12 }, { "END", 12 },
		/* BEGIN without ATOMIC in a function: a plpgsql body is quoted */
		{ "CREATE FUNCTION g() RETURNS void LANGUAGE plpgsql AS "
		  "'BEGIN NULL; END'", 13 },
		{ "SELECT 5", 13 },
	};

	(void)state;
	check_split("CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\n"
	    "BEGIN ATOMIC\n  SELECT a + 1;\n"
	    "  SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\nEND;\n"
	    "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql\n"
	    "begin /* c */ atomic\n  INSERT INTO t VALUES (1);\n"
	    "  INSERT INTO t VALUES ((CASE WHEN true THEN 1 END));\nend;\n"
	    "SELECT 3;\nBEGIN; SELECT 4; END;\n"
	    "CREATE FUNCTION g() RETURNS void LANGUAGE plpgsql AS "
	    "'BEGIN NULL; END'; SELECT 5;", w, N(w));
}

static void
test_crlf(void **state)
{
	static const struct want w[] = {
		{ "SELECT 1", 2 }, { "SELECT\r\n  'a\r\nb'", 3 },
		{ "SELECT 3", 6 },
	};

	(void)state;
	check_split("-- c\r\nSELECT 1;\r\nSELECT\r\n  'a\r\nb';\r\nSELECT 3\r\n",
	    w, N(w));
}

static void
test_unterminated(void **state)
{
	(void)state;
	check_error("SELECT 1;\nSELECT 'abc;\n\n",
	    "line 2: unterminated quoted string");
	check_error("SELECT 1;\n\nSELECT E'abc\\';",
	    "line 3: unterminated quoted string");
	check_error("SELECT \"abc;", "line 1: unterminated quoted identifier");
	check_error("SELECT 1;\nSELECT $x$ abc $y$;\n$X$;\n",
	    "line 2: unterminated dollar-quoted string");
	check_error("SELECT 1;\n/* a /* b */\nSELECT 2;",
	    "line 2: unterminated /* comment");
}

/* A 10 MB single-line statement goes through in linear time. */
static void
test_long_line(void **state)
{
	size_t big = 10 * 1024 * 1024, i;
	char *sql = malloc(big + 64);
	struct sb_err err = SB_ERR_INIT;
	struct sb_stmt *st = NULL;
	size_t n = 0, len = 0;

	(void)state;
	assert_non_null(sql);
	len += (size_t)sprintf(sql, "INSERT INTO t VALUES ");
	for (i = 0; len + 16 < big; i++)
		len += (size_t)sprintf(sql + len, "(%zu,'$;'),", i % 10);
	len += (size_t)sprintf(sql + len, "(0,$$x$$); SELECT 1");
	assert_int_equal(sb_sql_split(sql, len, &st, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(st[0].off, 0);
	assert_int_equal(st[1].len, 8);
	assert_int_equal(st[1].line, 1);
	free(st);
	free(sql);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_last_without_semicolon),
		cmocka_unit_test(test_leading_comments),
		cmocka_unit_test(test_single_quotes),
		cmocka_unit_test(test_e_strings),
		cmocka_unit_test(test_quoted_identifiers),
		cmocka_unit_test(test_dollar_quotes),
		cmocka_unit_test(test_dollar_not_quotes),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_parentheses),
		cmocka_unit_test(test_begin_atomic),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
