/* Unit tests of the content checks of bundle entries (src/common/contents.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlbundle/contents.h"
#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"

static struct sb_manifest_entry csv = {
	.path = "seeds/0002_b/public.t.csv", .kind = SB_ENTRY_SEED_CSV,
};
static struct sb_manifest_entry script = {
	.path = "upgrade/0002_b.sql", .kind = SB_ENTRY_UPGRADE,
};

/*
 * Feed data to a check of e, `step` bytes at a time, to its end (or to
 * its verdict). Returns 0 or -1 with err; cuts filled when not NULL.
 */
static int
run(const struct sb_manifest_entry *e, const char *data, size_t len,
    size_t step, uint64_t chunk, struct sb_chunks *cuts, struct sb_err *err)
{
	struct sb_contents c;
	int rc = sb_contents_begin(&c, e, len, chunk, err);

	for (size_t off = 0; rc == 0 && off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		rc = sb_contents_feed(&c, data + off, n, err);
		rc = rc == 1 ? 0 : rc == 0 ? 2 : -1;
	}
	if (rc == 0)
		rc = sb_contents_end(&c, cuts, err);
	else if (rc == 2)
		rc = 0;
	sb_contents_release(&c);
	return rc;
}

static void
refused(const struct sb_manifest_entry *e, const char *data, size_t len,
    const char *msg)
{
	static const size_t steps[] = { 1, 3, 4096 };

	for (size_t i = 0; i < 3; i++) {
		struct sb_err err = SB_ERR_INIT;

		if (run(e, data, len, steps[i], 0, NULL, &err) != -1)
			fail_msg("accepted [%s], expected %s", data, msg);
		assert_int_equal(err.code, SB_EINVALID);
		assert_string_equal(err.msg, msg);
	}
}

/* A literal with its length (it may hold NUL bytes). */
#define REFUSED(e, lit, msg)	refused(e, lit, sizeof(lit) - 1, msg)

static void
accepted(const struct sb_manifest_entry *e, const char *data)
{
	struct sb_err err = SB_ERR_INIT;

	if (run(e, data, strlen(data), 2, 0, NULL, &err) != 0)
		fail_msg("refused [%s]: %s", data, err.msg);
}

static void
test_csv_headers(void **state)
{
	(void)state;
	accepted(&csv, "id,name\n1,x\n");
	accepted(&csv, "id,\"na,me\"\r\n1,x\n");
	accepted(&csv, "id");
	accepted(&csv, "id,\"name\"x\n1,x\n");
	REFUSED(&csv, "id,\"id\"\n1,x\n", "seeds/0002_b/public.t.csv:1: "
	    "column \"id\" named twice in the CSV header (columns 1 and 2)");
	REFUSED(&csv, "", "seeds/0002_b/public.t.csv:1: no column name in "
	    "the CSV header (the first line names the columns)");
	REFUSED(&csv, "id,,x\n", "seeds/0002_b/public.t.csv:1: empty "
	    "column name in the CSV header (column 2)");
	REFUSED(&csv, "id,\"open\n", "seeds/0002_b/public.t.csv:1: "
	    "unterminated quoted name in the CSV header (column 2)");
}

static void
test_csv_header_too_long(void **state)
{
	size_t len = SB_CSV_HEADER_MAX + 10;
	char *big = malloc(len);
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	memset(big, 'a', len);
	assert_int_equal(run(&csv, big, len, 65536, 0, NULL, &err), -1);
	assert_string_equal(err.msg, "seeds/0002_b/public.t.csv:1: CSV header "
	    "longer than 1048576 bytes");
	free(big);
}

static void
test_scripts(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_contents c;

	(void)state;
	accepted(&script, "CREATE TABLE t (x text DEFAULT ';');\n");
	accepted(&script, "");
	REFUSED(&script, "SELECT 1;\nSELECT 'open;\n",
	    "upgrade/0002_b.sql:2: unterminated quoted string");
	REFUSED(&script, "SELECT 1;\nSELECT 2;\0 DROP TABLE t;\n",
	    "upgrade/0002_b.sql:2: NUL byte");
	/* Too large: refused from the declared size, before any byte. */
	assert_int_equal(sb_contents_begin(&c, &script,
	    (uint64_t)SB_SCRIPT_MAX + 1, 0, &err), -1);
	assert_string_equal(err.msg, "upgrade/0002_b.sql: 67108865 bytes, "
	    "larger than the 67108864 bytes a script may hold");
	sb_contents_release(&c);
}

/* The SHA-256 of data[from..to). */
static void
sha(const char *data, size_t from, size_t to, unsigned char md[32])
{
	struct sb_sha256 *s = sb_sha256_new();

	sb_sha256_update(s, data + from, to - from);
	sb_sha256_final(s, md);
	sb_sha256_free(s);
}

static void
test_cuts(void **state)
{
	/* Header 5 bytes; records end at 10, 19 (a quoted LF at 14), 20, 25, 27. */
	static const char data[] = "a,bc\n1,xx\n2,\"y\ny\"z\n\n3,ww\n4\n";
	const size_t len = sizeof(data) - 1;
	static const size_t steps[] = { 1, 2, 7, 100 };
	unsigned char md[32];

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct sb_err err = SB_ERR_INIT;
		struct sb_chunks cuts = { NULL, 0, NULL, 0, 0 };

		/* Chunks of 5: the first record end 5 bytes after each cut. */
		assert_int_equal(run(&csv, data, len, steps[i], 5, &cuts,
		    &err), 0);
		assert_int_equal(cuts.n, 3);
		assert_int_equal(cuts.v[0].end, 10);	/* right at due */
		sha(data, 0, 10, md);
		assert_memory_equal(cuts.v[0].sha, md, 32);
		/* Due at 15: the LF at 14 is quoted; 19 ends a record. */
		assert_int_equal(cuts.v[1].end, 19);
		sha(data, 10, 19, md);
		assert_memory_equal(cuts.v[1].sha, md, 32);
		/* Due at 24: 25; then due at 30, past the end (27). */
		assert_int_equal(cuts.v[2].end, 25);
		sha(data, 19, 25, md);
		assert_memory_equal(cuts.v[2].sha, md, 32);
		/* The header's columns come with the cuts (for `plan`). */
		assert_int_equal(cuts.ncols, 2);
		assert_string_equal(cuts.cols[0], "a");
		assert_string_equal(cuts.cols[1], "bc");
		free(cuts.v);
		sb_csv_cols_free(cuts.cols, cuts.ncols);
	}
}

static void
test_chunk_size(void **state)
{
	(void)state;
	assert_int_equal(sb_chunk_size(1024, 1000), 1024);
	assert_int_equal(sb_chunk_size(1, (uint64_t)SB_CHUNKS_MAX * 100),
	    101);
	assert_int_equal(sb_chunk_size(20, 0), 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_headers),
		cmocka_unit_test(test_csv_header_too_long),
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_cuts),
		cmocka_unit_test(test_chunk_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
