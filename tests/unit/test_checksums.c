/* Unit tests for src/pack/checksums.c: revisions/CHECKSUMS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "pack/checksums.h"
#include "tmpdir.h"

#define SHA_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define SHA_D	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static struct sb_revision revs[3];
static struct sb_chain chain = { revs, 3, NULL };

static void
set_rev(struct sb_revision *r, const char *file, const char *sha)
{
	free(r->file);
	free(r->path);
	memset(r, 0, sizeof(*r));
	r->file = sb_strdup(file);
	r->path = sb_printf("%s/revisions/%s", tmpdir, file);
	memcpy(r->sha256, sha, SB_SHA256_HEX);
}

static int
setup(void **state)
{
	char *dir;
	int r;

	(void)state;
	if (tmpdir_make("sums") == -1)
		return -1;
	dir = sb_printf("%s/revisions", tmpdir);
	r = mkdir(dir, 0755);
	free(dir);
	return r;
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_remove();
	for (size_t i = 0; i < 3; i++) {
		free(revs[i].file);
		free(revs[i].path);
	}
	return 0;
}

/* Each test starts from three revisions and no CHECKSUMS. */
static int
reset(void **state)
{
	char *path = sb_printf("%s/revisions/CHECKSUMS", tmpdir);

	(void)state;
	unlink(path);
	free(path);
	set_rev(&revs[0], "000000000001_base.sql", SHA_A);
	set_rev(&revs[1], "37a02ec8662a_init.sql", SHA_B);
	set_rev(&revs[2], "2864583ca021_seed.sql", SHA_C);
	return 0;
}

static char *
read_sums(void)
{
	struct sb_err err = SB_ERR_INIT;
	char *path = sb_printf("%s/revisions/CHECKSUMS", tmpdir), *buf = NULL;
	size_t len;

	assert_int_equal(sb_read_file(path, 1 << 20, &buf, &len, &err), 0);
	free(path);
	return buf;
}

static void
write_sums(const char *text)
{
	struct sb_err err = SB_ERR_INIT;
	char *path = sb_printf("%s/revisions/CHECKSUMS", tmpdir);

	unlink(path);
	assert_int_equal(sb_write_file_atomic(path, text, strlen(text), 0644,
	    &err), 0);
	free(path);
}

static void
test_missing_means_nothing_landed(void **state)
{
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	assert_int_equal(sb_checksums_verify(tmpdir, &chain, &err), 0);
}

static void
test_record_sorted_sha256sum_format(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct stat st;
	char *text, *path = sb_printf("%s/revisions/CHECKSUMS", tmpdir);

	(void)state;
	assert_int_equal(sb_checksums_record(tmpdir, &chain, &err), 0);
	text = read_sums();
	assert_string_equal(text,
	    SHA_A "  000000000001_base.sql\n"
	    SHA_C "  2864583ca021_seed.sql\n"
	    SHA_B "  37a02ec8662a_init.sql\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	free(path);
	assert_int_equal(sb_checksums_verify(tmpdir, &chain, &err), 0);
}

static void
test_edited_revision_is_named(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	char *want;

	(void)state;
	assert_int_equal(sb_checksums_record(tmpdir, &chain, &err), 0);
	memcpy(revs[1].sha256, SHA_D, SB_SHA256_HEX);
	assert_int_equal(sb_checksums_verify(tmpdir, &chain, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	want = sb_printf("revision file \"%s/revisions/37a02ec8662a_init.sql\" "
	    "was edited after it was packed", tmpdir);
	assert_string_equal(err.msg, want);
	free(want);
	want = sb_printf("%s/revisions/CHECKSUMS:3 records sha256 " SHA_B
	    ", the file now has " SHA_D, tmpdir);
	assert_string_equal(err.detail, want);
	free(want);
	assert_non_null(strstr(err.hint, "new revision"));
}

static void
test_removed_revision_is_named(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_chain two = { revs, 2, NULL };
	char *want;

	(void)state;
	assert_int_equal(sb_checksums_record(tmpdir, &chain, &err), 0);
	assert_int_equal(sb_checksums_verify(tmpdir, &two, &err), -1);
	want = sb_printf("revision file \"%s/revisions/2864583ca021_seed.sql\" "
	    "was packed (%s/revisions/CHECKSUMS:2) but no longer exists",
	    tmpdir, tmpdir);
	assert_string_equal(err.msg, want);
	free(want);
}

/* Recording a sub-range keeps what earlier packs recorded. */
static void
test_record_merges(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_chain first = { revs, 1, NULL }, rest = { revs + 1, 2, NULL };
	char *text;

	(void)state;
	assert_int_equal(sb_checksums_record(tmpdir, &first, &err), 0);
	text = read_sums();
	assert_string_equal(text, SHA_A "  000000000001_base.sql\n");
	free(text);
	/* Not yet landed: may still change. */
	memcpy(revs[2].sha256, SHA_D, SB_SHA256_HEX);
	assert_int_equal(sb_checksums_verify(tmpdir, &chain, &err), 0);
	assert_int_equal(sb_checksums_record(tmpdir, &rest, &err), 0);
	text = read_sums();
	assert_string_equal(text,
	    SHA_A "  000000000001_base.sql\n"
	    SHA_D "  2864583ca021_seed.sql\n"
	    SHA_B "  37a02ec8662a_init.sql\n");
	free(text);
}

static void
test_unchanged_file_not_rewritten(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct stat a, b;
	char *path = sb_printf("%s/revisions/CHECKSUMS", tmpdir);

	(void)state;
	assert_int_equal(sb_checksums_record(tmpdir, &chain, &err), 0);
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(sb_checksums_record(tmpdir, &chain, &err), 0);
	assert_int_equal(stat(path, &b), 0);
	/* Same inode: the durable rewrite would have made a new one. */
	assert_int_equal(a.st_ino, b.st_ino);
	free(path);
}

static void
test_malformed_lines(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	char *want;

	(void)state;
	write_sums(SHA_A "  000000000001_base.sql\n\nnot a checksum line\n");
	assert_int_equal(sb_checksums_verify(tmpdir, &chain, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	want = sb_printf("%s/revisions/CHECKSUMS:3: malformed line (expected "
	    "\"<sha256>  <file name>\")", tmpdir);
	assert_string_equal(err.msg, want);
	free(want);
	/* Upper-case hex, one space, a path: all refused. */
	write_sums("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "  000000000001_base.sql\n");
	assert_int_equal(sb_checksums_verify(tmpdir, &chain, &err), -1);
	write_sums(SHA_A " 000000000001_base.sql\n");
	assert_int_equal(sb_checksums_verify(tmpdir, &chain, &err), -1);
	write_sums(SHA_A "  ../000000000001_base.sql\n");
	assert_int_equal(sb_checksums_verify(tmpdir, &chain, &err), -1);
	write_sums(SHA_A "  000000000001_base.sql\n"
	    SHA_A "  000000000001_base.sql\n");
	assert_int_equal(sb_checksums_verify(tmpdir, &chain, &err), -1);
	want = sb_printf("%s/revisions/CHECKSUMS:2: \"000000000001_base.sql\" "
	    "is listed twice (first at line 1)", tmpdir);
	assert_string_equal(err.msg, want);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_missing_means_nothing_landed,
		    reset),
		cmocka_unit_test_setup(test_record_sorted_sha256sum_format,
		    reset),
		cmocka_unit_test_setup(test_edited_revision_is_named, reset),
		cmocka_unit_test_setup(test_removed_revision_is_named, reset),
		cmocka_unit_test_setup(test_record_merges, reset),
		cmocka_unit_test_setup(test_unchanged_file_not_rewritten,
		    reset),
		cmocka_unit_test_setup(test_malformed_lines, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
