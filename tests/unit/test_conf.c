/* Unit tests for src/pack/conf.c: sqlbundle.conf parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "pack/conf.h"
#include "tmpdir.h"

static int
setup(void **state)
{
	(void)state;
	return tmpdir_make("conf");
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_remove();
	return 0;
}

static void
write_conf(const char *text)
{
	struct sb_err err = SB_ERR_INIT;
	char *path = sb_printf("%s/sqlbundle.conf", tmpdir);

	unlink(path);
	assert_int_equal(sb_write_file_atomic(path, text, strlen(text), 0644,
	    &err), 0);
	free(path);
}

/* Load and expect failure; returns the message (static). */
static const char *
load_fails(const char *text, int code)
{
	static struct sb_err err;
	struct sb_conf conf = SB_CONF_INIT;

	sb_err_clear(&err);
	write_conf(text);
	assert_int_equal(sb_conf_load(&conf, tmpdir, &err), -1);
	assert_int_equal(err.code, code);
	assert_null(conf.project);
	return err.msg;
}

static void
test_simple(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_conf conf = SB_CONF_INIT;

	(void)state;
	write_conf("project = arcoirispos\n");
	assert_int_equal(sb_conf_load(&conf, tmpdir, &err), 0);
	assert_string_equal(conf.project, "arcoirispos");
	sb_conf_release(&conf);
	assert_null(conf.project);
}

static void
test_comments_blanks_crlf(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_conf conf = SB_CONF_INIT;

	(void)state;
	write_conf("# the project\r\n\r\n   \n\t# indented comment\n"
	    "  project\t=  my-shop.v2_x  \r\n");
	assert_int_equal(sb_conf_load(&conf, tmpdir, &err), 0);
	assert_string_equal(conf.project, "my-shop.v2_x");
	sb_conf_release(&conf);
	/* No final newline. */
	write_conf("project=p");
	assert_int_equal(sb_conf_load(&conf, tmpdir, &err), 0);
	assert_string_equal(conf.project, "p");
	sb_conf_release(&conf);
}

static void
test_no_project_key(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_conf conf = SB_CONF_INIT;

	(void)state;
	write_conf("# nothing yet\n");
	assert_int_equal(sb_conf_load(&conf, tmpdir, &err), 0);
	assert_null(conf.project);
}

static void
test_fingerprint_exclude(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_conf conf = SB_CONF_INIT;
	char *want;

	(void)state;
	write_conf("project = p\nfingerprint-exclude = posapp, pos.legacy_*\n"
	    "fingerprint-exclude = audit\n");
	assert_int_equal(sb_conf_load(&conf, tmpdir, &err), 0);
	assert_int_equal(conf.exclude.n, 3);
	assert_string_equal(conf.exclude.pat[0], "posapp");
	assert_string_equal(conf.exclude.pat[1], "pos.legacy_*");
	assert_string_equal(conf.exclude.pat[2], "audit");
	sb_conf_release(&conf);
	assert_int_equal(conf.exclude.n, 0);
	want = sb_printf("%s/sqlbundle.conf:2: exclude pattern \"a.b.c\": "
	    "expected \"schema\" or \"schema.object\"", tmpdir);
	assert_string_equal(load_fails("project = p\n"
	    "fingerprint-exclude = ok a.b.c\n", SB_EINVALID), want);
	free(want);
	want = sb_printf("%s/sqlbundle.conf:1: fingerprint-exclude without a "
	    "pattern", tmpdir);
	assert_string_equal(load_fails("fingerprint-exclude =\n",
	    SB_EINVALID), want);
	free(want);
}

static void
test_unknown_key_names_line(void **state)
{
	char *want = sb_printf("%s/sqlbundle.conf:3: unknown key \"projcet\"",
	    tmpdir);

	(void)state;
	assert_string_equal(load_fails("# c\n\nprojcet = x\n", SB_EINVALID),
	    want);
	free(want);
}

static void
test_bad_lines(void **state)
{
	char *want;

	(void)state;
	want = sb_printf("%s/sqlbundle.conf:2: expected \"key = value\"",
	    tmpdir);
	assert_string_equal(load_fails("project = a\njust words\n",
	    SB_EINVALID), want);
	free(want);
	want = sb_printf("%s/sqlbundle.conf:2: key \"project\" is set twice",
	    tmpdir);
	assert_string_equal(load_fails("project = a\nproject = b\n",
	    SB_EINVALID), want);
	free(want);
}

static void
test_bad_project_names(void **state)
{
	char *want, long_name[80];

	(void)state;
	want = sb_printf("%s/sqlbundle.conf:1: invalid project name \"a b\"",
	    tmpdir);
	assert_string_equal(load_fails("project = a b\n", SB_EINVALID), want);
	free(want);
	load_fails("project =\n", SB_EINVALID);
	load_fails("project = ../x\n", SB_EINVALID);
	load_fails("project = .hidden\n", SB_EINVALID);
	load_fails("project = caf\xc3\xa9\n", SB_EINVALID);
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	want = sb_printf("project = %s\n", long_name);
	load_fails(want, SB_EINVALID);
	free(want);
	/* 64 is the limit, inclusive. */
	long_name[64] = '\0';
	want = sb_printf("project = %s\n", long_name);
	{
		struct sb_err err = SB_ERR_INIT;
		struct sb_conf conf = SB_CONF_INIT;

		write_conf(want);
		assert_int_equal(sb_conf_load(&conf, tmpdir, &err), 0);
		assert_string_equal(conf.project, long_name);
		sb_conf_release(&conf);
	}
	free(want);
}

static void
test_missing_file(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_conf conf = SB_CONF_INIT;
	char *dir = sb_printf("%s/nowhere", tmpdir), *want;

	(void)state;
	want = sb_printf("\"%s/sqlbundle.conf\" not found: not a sqlbundle "
	    "project", dir);
	assert_int_equal(sb_conf_load(&conf, dir, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, want);
	assert_non_null(strstr(err.hint, "project = NAME"));
	free(want);
	free(dir);
}

static void
test_nul_byte(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_conf conf = SB_CONF_INIT;
	char *path = sb_printf("%s/sqlbundle.conf", tmpdir);

	(void)state;
	unlink(path);
	assert_int_equal(sb_write_file_atomic(path, "project = a\0b\n", 14,
	    0644, &err), 0);
	assert_int_equal(sb_conf_load(&conf, tmpdir, &err), -1);
	assert_non_null(strstr(err.msg, "NUL byte"));
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_comments_blanks_crlf),
		cmocka_unit_test(test_no_project_key),
		cmocka_unit_test(test_fingerprint_exclude),
		cmocka_unit_test(test_unknown_key_names_line),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_bad_project_names),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_nul_byte),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
