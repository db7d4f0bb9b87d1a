/* Unit tests for src/common/fs.c and err.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "tmpdir.h"

static int
setup(void **state)
{
	(void)state;
	return tmpdir_make("fs");
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_remove();
	return 0;
}

static void
test_err_messages(void **state)
{
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	assert_int_equal(sb_err_set(&err, SB_EINVALID, "bad %s", "thing"), -1);
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, "bad thing");
	sb_err_detail(&err, "detail %d", 1);
	sb_err_hint(&err, "hint");
	assert_string_equal(err.detail, "detail 1");
	assert_int_equal(sb_err_prefix(&err, "revision \"%s\"", "a"), -1);
	assert_string_equal(err.msg, "revision \"a\": bad thing");
	errno = ENOENT;
	sb_err_sys(&err, "could not open \"%s\"", "x");
	assert_int_equal(err.code, SB_EIO);
	assert_string_equal(err.msg, "could not open \"x\": No such file or directory");
	assert_string_equal(err.detail, "");
	sb_err_clear(&err);
	assert_int_equal(err.code, 0);
}

static void
test_write_and_read(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	char *path = sb_printf("%s/f", tmpdir), *buf = NULL;
	size_t len;
	struct stat st;

	(void)state;
	assert_int_equal(sb_write_file_atomic(path, "hello\n", 6, 0640, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(sb_read_file(path, 100, &buf, &len, &err), 0);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "hello\n");
	free(buf);
	/* Over the limit: refused with the file named. */
	assert_int_equal(sb_read_file(path, 3, &buf, &len, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	assert_non_null(strstr(err.msg, path));
	/* Replacing keeps no temporary file around. */
	assert_int_equal(sb_write_file_atomic(path, "x", 1, 0600, &err), 0);
	free(path);
	{
		char **names;
		size_t n;

		assert_int_equal(sb_list_dir(tmpdir, 0, &names, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_string_equal(names[0], "f");
		sb_names_free(names, n);
	}
}

/* Create-durably: exact mode, never over an existing file or link. */
static void
test_create_durable(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	char *path = sb_printf("%s/new", tmpdir), *link = sb_printf("%s/ln",
	    tmpdir), *want, *buf = NULL;
	mode_t old = umask(077);
	struct stat st;
	size_t len;

	(void)state;
	assert_int_equal(sb_create_durable(path, "abc", 3, 0644, &err), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(sb_read_file(path, 10, &buf, &len, &err), 0);
	assert_string_equal(buf, "abc");
	free(buf);
	assert_int_equal(sb_create_durable(path, "x", 1, 0600, &err), -1);
	want = sb_printf("\"%s\" already exists; refusing to overwrite it",
	    path);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(err.code, SB_EINVALID);
	/* A dangling link is not followed. */
	assert_int_equal(symlink("elsewhere", link), 0);
	assert_int_equal(sb_create_durable(link, "x", 1, 0600, &err), -1);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	free(path);
	free(link);
}

/* Read-all and write-all: whole lengths, short only at end of file. */
static void
test_read_write_all(void **state)
{
	char buf[16];
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(sb_write_all(fds[1], "abc", 3), 0);
	assert_int_equal(sb_write_all(fds[1], "defg", 4), 0);
	close(fds[1]);
	/* Two writes, one read of all of it, then the end. */
	assert_int_equal(sb_read_full(fds[0], buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "abcdefg", 7);
	assert_int_equal(sb_read_full(fds[0], buf, sizeof(buf)), 0);
	close(fds[0]);
	assert_int_equal(sb_read_full(-1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(sb_write_all(-1, "x", 1), -1);
}

static void
test_read_missing_and_dir(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(sb_read_file("/nonexistent/x", 10, &buf, &len, &err), -1);
	assert_int_equal(err.code, SB_EIO);
	assert_non_null(strstr(err.msg, "\"/nonexistent/x\""));
	assert_int_equal(sb_read_file("/tmp", 10, &buf, &len, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

static void
test_list_dir_sorted(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	const char *files[] = { "b", "a", "C", "10", "9" };
	const char *want[] = { "10", "9", "C", "a", "b" };
	char **names;
	size_t n;

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		char *p = sb_printf("%s/%s", tmpdir, files[i]);
		int fd = open(p, O_CREAT | O_WRONLY, 0600);

		assert_true(fd >= 0);
		close(fd);
		free(p);
	}
	assert_int_equal(sb_list_dir(tmpdir, 0, &names, &n, &err), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(names[i], want[i]);
	sb_names_free(names, n);
	assert_int_equal(sb_list_dir("/nonexistent", 1, &names, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sb_list_dir("/nonexistent", 0, &names, &n, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_messages),
		cmocka_unit_test_setup_teardown(test_write_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_durable, setup,
		    teardown),
		cmocka_unit_test(test_read_write_all),
		cmocka_unit_test(test_read_missing_and_dir),
		cmocka_unit_test_setup_teardown(test_list_dir_sorted, setup, teardown),
	};

	return cmocka_run_group_tests_name("fs", tests, NULL, NULL);
}
