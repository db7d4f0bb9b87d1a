/* Unit tests of the revision file parser (src/common/revision.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sqlbundle/err.h"
#include "sqlbundle/revision.h"

#define PATH "revisions/abc123_init.sql"

static const char good[] =
    "-- revision: abc123\n"
    "-- down_revision: p1, p_2 ,P3\n"
    "-- message:   init schema: tables  \n"
    "-- transactional: false\n"
    "-- a free comment, not a key\n"
    "\n"
    "-- +upgrade\n"
    "CREATE TABLE t (id int);\n"
    "-- +upgrade-ish comment\n"
    "\n"
    "-- +downgrade   \n"
    "DROP TABLE t;\n";

static void
expect_error(const char *path, const char *text, size_t len, const char *msg)
{
	struct sb_revision rev;
	struct sb_err err = SB_ERR_INIT;

	if (sb_revision_parse(&rev, path, text, len, &err) == 0) {
		sb_revision_release(&rev);
		fail_msg("parsed, expected: %s", msg);
	}
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, msg);
	/* released on failure: nothing left to free */
	assert_null(rev.path);
	assert_null(rev.upgrade);
	assert_null(rev.parents);
}

#define EXPECT(text, msg) expect_error(PATH, text, strlen(text), msg)

static void
test_good(void **state)
{
	struct sb_revision rev;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	assert_int_equal(sb_revision_parse(&rev, PATH, good, strlen(good),
	    &err), 0);
	assert_string_equal(rev.id, "abc123");
	assert_int_equal(rev.nparents, 3);
	assert_string_equal(rev.parents[0], "p1");
	assert_string_equal(rev.parents[1], "p_2");
	assert_string_equal(rev.parents[2], "P3");
	assert_string_equal(rev.message, "init schema: tables");
	assert_false(rev.transactional);
	assert_string_equal(rev.path, PATH);
	assert_string_equal(rev.file, "abc123_init.sql");
	assert_int_equal(rev.header_line, 1);
	assert_string_equal(rev.upgrade,
	    "CREATE TABLE t (id int);\n-- +upgrade-ish comment\n\n");
	assert_int_equal(rev.upgrade_len, strlen(rev.upgrade));
	assert_int_equal(rev.upgrade_line, 8);
	assert_string_equal(rev.downgrade, "DROP TABLE t;\n");
	assert_int_equal(rev.downgrade_line, 12);
	/* sha256sum of the bytes above */
	assert_string_equal(rev.sha256,
	    "a36dbf76ad34bd4b0f093d08429ac5e16947a5e060b716012b13923cff84276e");
	sb_revision_release(&rev);
	assert_null(rev.path);
}

static void
test_defaults(void **state)
{
	static const char text[] =
	    "-- revision: abc123\n-- +upgrade\nSELECT 1";
	struct sb_revision rev;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	/* <id>.sql is a valid name too */
	assert_int_equal(sb_revision_parse(&rev, "abc123.sql", text,
	    strlen(text), &err), 0);
	assert_int_equal(rev.nparents, 0);
	assert_null(rev.parents);
	assert_string_equal(rev.message, "");
	assert_true(rev.transactional);
	assert_string_equal(rev.file, "abc123.sql");
	assert_string_equal(rev.upgrade, "SELECT 1");
	assert_int_equal(rev.upgrade_line, 3);
	assert_null(rev.downgrade);
	assert_int_equal(rev.downgrade_len, 0);
	sb_revision_release(&rev);
}

static void
test_none_and_empty_downgrade(void **state)
{
	static const char text[] = "-- revision: abc123\n"
	    "-- down_revision: None\n-- +upgrade\nSELECT 1;\n-- +downgrade\n"
	    "-- nothing to undo\n";
	struct sb_revision rev;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	assert_int_equal(sb_revision_parse(&rev, PATH, text, strlen(text),
	    &err), 0);
	assert_int_equal(rev.nparents, 0);
	/* a downgrade with no statement is reversible, doing nothing */
	assert_string_equal(rev.downgrade, "-- nothing to undo\n");
	sb_revision_release(&rev);
}

static void
test_crlf_and_bom(void **state)
{
	static const char text[] = "\xEF\xBB\xBF-- revision: abc123\r\n"
	    "-- down_revision: none \r\n-- transactional: false\r\n\r\n"
	    "-- +upgrade \r\nSELECT 1;\r\n-- +downgrade\r\nSELECT 2;\r\n";
	struct sb_revision rev;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	assert_int_equal(sb_revision_parse(&rev, PATH, text, strlen(text),
	    &err), 0);
	assert_string_equal(rev.id, "abc123");
	assert_false(rev.transactional);
	assert_string_equal(rev.upgrade, "SELECT 1;\r\n");
	assert_int_equal(rev.upgrade_line, 6);
	assert_string_equal(rev.downgrade, "SELECT 2;\r\n");
	assert_int_equal(rev.downgrade_line, 8);
	sb_revision_release(&rev);
}

static void
test_unknown_key(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n-- mesage: typo\n-- +upgrade\nSELECT 1;\n",
	    PATH ":2: unknown header key \"mesage\" (known: revision, "
	    "down_revision, message, transactional)");
	/* a key with a space before its colon is still a key */
	EXPECT("-- revision: abc123\n-- Transactional : false\n-- +upgrade\n"
	    "SELECT 1;\n", PATH ":2: unknown header key \"Transactional\" "
	    "(known: revision, down_revision, message, transactional)");
}

static void
test_duplicate_key(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n-- message: a\n\n-- message: b\n"
	    "-- +upgrade\nSELECT 1;\n",
	    PATH ":4: duplicate header key \"message\" (first at line 2)");
}

static void
test_missing_revision(void **state)
{
	(void)state;
	EXPECT("-- message: no id\n\n-- +upgrade\nSELECT 1;\n",
	    PATH ":3: missing \"-- revision:\" header before the "
	    "\"-- +upgrade\" marker");
}

static void
test_bad_id(void **state)
{
	(void)state;
	EXPECT("-- revision: abc-123\n-- +upgrade\nSELECT 1;\n",
	    PATH ":1: invalid revision id \"abc-123\" (ids are 1-32 "
	    "characters of [0-9A-Za-z_])");
	EXPECT("\n-- revision: 0123456789abcdef0123456789abcdef0\n"
	    "-- +upgrade\nSELECT 1;\n",
	    PATH ":2: invalid revision id \"0123456789abcdef0123456789abcdef0\""
	    " (ids are 1-32 characters of [0-9A-Za-z_])");
	EXPECT("-- revision:\n-- +upgrade\nSELECT 1;\n",
	    PATH ":1: invalid revision id \"\" (ids are 1-32 characters of "
	    "[0-9A-Za-z_])");
	assert_true(sb_revision_id_valid("0123456789abcdef0123456789abcdeF"));
	assert_true(sb_revision_id_valid("a_B_9"));
	assert_false(sb_revision_id_valid(""));
	assert_false(sb_revision_id_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(sb_revision_id_valid("a.b"));
	assert_false(sb_revision_id_valid("\xc3\xa9"));
}

static void
test_id_mismatch(void **state)
{
	static const char text[] =
	    "-- revision: abc123\n-- +upgrade\nSELECT 1;\n";

	(void)state;
	expect_error("revisions/abc12_init.sql", text, strlen(text),
	    "revisions/abc12_init.sql:1: revision \"abc123\" does not match "
	    "the file name \"abc12_init.sql\"");
	/* the id must be followed by "_" or ".sql" */
	expect_error("revisions/abc1234.sql", text, strlen(text),
	    "revisions/abc1234.sql:1: revision \"abc123\" does not match "
	    "the file name \"abc1234.sql\"");
	expect_error("revisions/abc123_init.txt", text, strlen(text),
	    "revisions/abc123_init.txt:1: revision \"abc123\" does not match "
	    "the file name \"abc123_init.txt\"");
}

static void
test_down_revision_list(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n-- down_revision: a, , b\n-- +upgrade\n"
	    "SELECT 1;\n", PATH ":2: empty id in down_revision");
	EXPECT("-- revision: abc123\n-- down_revision: a b\n-- +upgrade\n"
	    "SELECT 1;\n", PATH ":2: invalid down_revision id \"a b\" (ids are "
	    "1-32 characters of [0-9A-Za-z_])");
	EXPECT("-- revision: abc123\n-- down_revision:\n-- +upgrade\n"
	    "SELECT 1;\n", PATH ":2: empty down_revision (write \"none\" for a "
	    "base revision)");
	EXPECT("-- revision: abc123\n-- down_revision: b, a, b\n-- +upgrade\n"
	    "SELECT 1;\n", PATH ":2: down_revision lists \"b\" twice");
}

static void
test_transactional(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n-- transactional: yes\n-- +upgrade\n"
	    "SELECT 1;\n", PATH ":2: transactional must be true or false, not "
	    "\"yes\"");
	EXPECT("-- revision: abc123\n-- transactional: True\n-- +upgrade\n"
	    "SELECT 1;\n", PATH ":2: transactional must be true or false, not "
	    "\"True\"");
}

static void
test_key_after_marker(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n-- +upgrade\nSELECT 1;\n"
	    "-- transactional: false\n",
	    PATH ":4: header key \"transactional\" after the first marker");
	EXPECT("-- revision: abc123\n-- +upgrade\nSELECT 1;\n-- +downgrade\n"
	    "--message: x\n",
	    PATH ":5: header key \"message\" after the first marker");
}

static void
test_missing_upgrade(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n-- message: m\n", PATH ":2: missing "
	    "\"-- +upgrade\" marker");
	EXPECT("", PATH ":1: missing \"-- +upgrade\" marker");
	/* not a marker: leading space, other case */
	EXPECT("-- revision: abc123\n -- +upgrade\n-- +Upgrade\n",
	    PATH ":3: missing \"-- +upgrade\" marker");
}

/* An upgrade with no statement is a no-op step (a merge revision). */
static void
test_empty_upgrade(void **state)
{
	static const char *const texts[] = {
		"-- revision: abc123\n\n-- +upgrade\n-- only a comment;\n\n"
		    "/* ; */\n-- +downgrade\nSELECT 1;\n",
		"-- revision: abc123\n-- +upgrade",
		"-- revision: abc123\n-- +upgrade\n-- +downgrade\n",
	};
	struct sb_revision rev;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		assert_int_equal(sb_revision_parse(&rev, PATH, texts[i],
		    strlen(texts[i]), &err), 0);
		assert_true(i != 2 || (rev.downgrade != NULL &&
		    rev.downgrade_len == 0));
		assert_true(i != 1 || rev.downgrade == NULL);
		sb_revision_release(&rev);
	}
	/* still split: an unterminated quote in an empty-looking section */
	EXPECT("-- revision: abc123\n-- +upgrade\n-- x\n'oops\n",
	    PATH ":4: unterminated quoted string");
}

static void
test_downgrade_first(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n-- +downgrade\nSELECT 1;\n-- +upgrade\n"
	    "SELECT 1;\n",
	    PATH ":2: \"-- +downgrade\" before \"-- +upgrade\"");
}

static void
test_duplicate_markers(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n-- +upgrade\nSELECT 1;\n-- +upgrade\n",
	    PATH ":4: duplicate \"-- +upgrade\" marker (first at line 2)");
	EXPECT("-- revision: abc123\n-- +upgrade\nSELECT 1;\n-- +downgrade\n"
	    "SELECT 2;\n-- +downgrade\n",
	    PATH ":6: duplicate \"-- +downgrade\" marker (first at line 4)");
	EXPECT("-- revision: abc123\n-- +upgrade\nSELECT 1;\n-- +downgrade\n"
	    "-- +upgrade\n",
	    PATH ":5: duplicate \"-- +upgrade\" marker (first at line 2)");
}

static void
test_invalid_utf8(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n-- message: caf\xe9\n-- +upgrade\n"
	    "SELECT 1;\n", PATH ":2: invalid UTF-8");
	/* overlong "/", a surrogate, above U+10FFFF, truncated at the end */
	EXPECT("-- revision: abc123\n-- +upgrade\nSELECT '\xc0\xaf';\n",
	    PATH ":3: invalid UTF-8");
	EXPECT("-- revision: abc123\n-- +upgrade\n\nSELECT '\xed\xa0\x80';\n",
	    PATH ":4: invalid UTF-8");
	EXPECT("-- revision: abc123\n-- +upgrade\nSELECT '\xf4\x90\x80\x80';\n",
	    PATH ":3: invalid UTF-8");
	EXPECT("-- revision: abc123\n-- +upgrade\nSELECT 1; -- \xe2\x82",
	    PATH ":3: invalid UTF-8");
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "-- revision: abc123\n-- +upgrade\n"
	    "SELECT '\0';\n";

	(void)state;
	expect_error(PATH, text, sizeof(text) - 1, PATH ":3: NUL byte in "
	    "revision file");
}

static void
test_sql_before_marker(void **state)
{
	(void)state;
	EXPECT("-- revision: abc123\n\nCREATE TABLE t (id int);\n-- +upgrade\n"
	    "SELECT 1;\n", PATH ":3: SQL before the \"-- +upgrade\" marker");
	EXPECT("-- revision: abc123\n/* c */\n-- +upgrade\nSELECT 1;\n",
	    PATH ":2: SQL before the \"-- +upgrade\" marker");
}

static void
test_unterminated_in_body(void **state)
{
	(void)state;
	/* the line is the file's, not the section's */
	EXPECT("-- revision: abc123\n\n-- +upgrade\nSELECT 1;\n\n"
	    "SELECT 'abc;\n-- +downgrade\nSELECT 2;\n",
	    PATH ":6: unterminated quoted string");
	EXPECT("-- revision: abc123\n-- +upgrade\nSELECT 1;\n-- +downgrade\n"
	    "SELECT $$;\n", PATH ":5: unterminated dollar-quoted string");
}

static char *
temp_dir(void)
{
	char tmpl[] = "/tmp/sb-test-revision-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return strdup(tmpl);
}

/* A 10 MB single line loads through sb_revision_load. */
static void
test_load_long_line(void **state)
{
	char *dir = temp_dir(), path[256];
	struct sb_revision rev;
	struct sb_err err = SB_ERR_INIT;
	size_t big = 10 * 1000 * 1000, i;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/ffff_big.sql", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("-- revision: ffff\n-- +upgrade\nINSERT INTO t VALUES (1)", f);
	for (i = 0; i < big / 4; i++)
		fputs(",(1)", f);
	fputs(";\n-- +downgrade\nDELETE FROM t;\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(sb_revision_load(&rev, path, &err), 0);
	assert_int_equal(rev.upgrade_len, 24 + 4 * (big / 4) + 2);
	assert_int_equal(rev.downgrade_line, 5);
	sb_revision_release(&rev);

	/* larger than 64 MiB: refused before reading (sparse file) */
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(ftruncate(fileno(f), 64 * 1024 * 1024 + 1), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(sb_revision_load(&rev, path, &err), -1);
	assert_non_null(strstr(err.msg, "is too large"));
	assert_null(rev.path);

	unlink(path);
	assert_int_equal(sb_revision_load(&rev, path, &err), -1);
	assert_int_equal(err.code, SB_EIO);
	assert_non_null(strstr(err.msg, path));
	rmdir(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_none_and_empty_downgrade),
		cmocka_unit_test(test_crlf_and_bom),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_missing_revision),
		cmocka_unit_test(test_bad_id),
		cmocka_unit_test(test_id_mismatch),
		cmocka_unit_test(test_down_revision_list),
		cmocka_unit_test(test_transactional),
		cmocka_unit_test(test_key_after_marker),
		cmocka_unit_test(test_missing_upgrade),
		cmocka_unit_test(test_empty_upgrade),
		cmocka_unit_test(test_downgrade_first),
		cmocka_unit_test(test_duplicate_markers),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_sql_before_marker),
		cmocka_unit_test(test_unterminated_in_body),
		cmocka_unit_test(test_load_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
