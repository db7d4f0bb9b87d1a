/* Unit tests of CSV seed handling (src/common/csv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlbundle/err.h"
#include "sqlbundle/csv.h"
#include "sqlbundle/limits.h"

/* Parse a whole header and compare its columns and byte count. */
static void
check_header(const char *buf, bool eof, const char *const *want,
    size_t nwant, size_t want_used, uint64_t want_lines)
{
	struct sb_err err = SB_ERR_INIT;
	char **cols = NULL;
	size_t ncols = 0, used = 0;
	uint64_t lines = 0;
	int rc;

	rc = sb_csv_header(buf, strlen(buf), eof, &cols, &ncols, &used,
	    &lines, &err);
	if (rc != 1)
		fail_msg("header [%s]: rc %d (%s)", buf, rc, err.msg);
	assert_int_equal(ncols, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(cols[i], want[i]);
	assert_int_equal(used, want_used);
	assert_int_equal(lines, want_lines);
	sb_csv_cols_free(cols, ncols);
}

static void
test_header_plain(void **state)
{
	static const char *const want[] = { "id", "code", "legal_name" };

	(void)state;
	check_header("id,code,legal_name\n1,A,x\n", false, want, 3, 19, 1);
	check_header("id,code,legal_name\r\n1,A,x\r\n", false, want, 3, 20,
	    1);
	/* A lone CR ends the record too. */
	check_header("id,code,legal_name\r1,A,x", false, want, 3, 19, 1);
	/* Only a header, no final line break. */
	check_header("id,code,legal_name", true, want, 3, 18, 0);
}

static void
test_header_bom(void **state)
{
	static const char *const want[] = { "id", "name" };

	(void)state;
	check_header("\xef\xbb\xbfid,name\n1,x\n", false, want, 2, 11, 1);
}

static void
test_header_quoted(void **state)
{
	static const char *const want[] = { "id", "a,b", "say \"hi\"",
	    "two\nlines", "Mixed Case" };

	(void)state;
	check_header("id,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\","
	    "\"Mixed Case\"\n", false, want, 5, 47, 2);
}

/* A header cut anywhere before its end asks for more bytes. */
static void
test_header_incomplete(void **state)
{
	static const char full[] = "\xef\xbb\xbfid,\"a\"\"b\",c\r\nrow";
	struct sb_err err = SB_ERR_INIT;
	char **cols = NULL;
	size_t ncols = 0, used = 0;
	uint64_t lines = 0;

	(void)state;
	/* Up to the CR (its LF may follow), nothing is decided. */
	for (size_t len = 0; len <= strlen(full) - 5; len++) {
		int rc = sb_csv_header(full, len, false, &cols, &ncols, &used,
		    &lines, &err);

		if (rc != 0)
			fail_msg("len %zu: rc %d, expected 0", len, rc);
	}
	assert_int_equal(sb_csv_header(full, strlen(full) - 3, false, &cols,
	    &ncols, &used, &lines, &err), 1);
	assert_int_equal(ncols, 3);
	assert_string_equal(cols[1], "a\"b");
	assert_int_equal(used, strlen(full) - 3);
	sb_csv_cols_free(cols, ncols);
}

static void
check_bad(const char *buf, bool eof, const char *msg)
{
	struct sb_err err = SB_ERR_INIT;
	char **cols = NULL;
	size_t ncols = 0, used = 0;
	uint64_t lines = 0;

	assert_int_equal(sb_csv_header(buf, strlen(buf), eof, &cols, &ncols,
	    &used, &lines, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("[%s]: message \"%s\" lacks \"%s\"", buf, err.msg,
		    msg);
	assert_null(cols);
}

static void
test_header_errors(void **state)
{
	(void)state;
	static const char none[] = "no column name in the CSV header (the "
	    "first line names the columns)";
	char many[1601 * 6 + 1];

	(void)state;
	for (size_t i = 0; i <= 1600; i++)
		snprintf(many + i * 6, 7, "c%04zu,", i);
	many[1601 * 6 - 1] = '\0';
	check_bad("\n1,2\n", false, none);
	check_bad("\r\n1,2\r\n", false, none);
	check_bad("", true, none);
	check_bad("\xef\xbb\xbf", true, none);
	check_bad("a,,b\n", false, "empty column name in the CSV header "
	    "(column 2)");
	check_bad("a,b,\n", false, "empty column name in the CSV header "
	    "(column 3)");
	check_bad("a,\"\"\n", false, "empty column name in the CSV header "
	    "(column 2)");
	check_bad("b,b\"\"\n", true, "column \"b\" named twice in the CSV "
	    "header (columns 1 and 2)");
	check_bad("a,\"b\n", true, "unterminated quoted name in the CSV "
	    "header (column 2)");
	check_bad("a,b\"\"\"\n", true, "unterminated quoted name in the CSV "
	    "header (column 2)");
	check_bad("id,name,id\n", false, "column \"id\" named twice in the "
	    "CSV header (columns 1 and 3)");
	check_bad("a,b\xff\n", false, "invalid UTF-8 in the CSV header "
	    "(column 2)");
	check_bad("a,\xc3\n", false, "invalid UTF-8 in the CSV header "
	    "(column 2)");
	check_bad("a,0123456789012345678901234567890123456789012345678901234567"
	    "890123\n", false, "column name longer than 63 bytes in the CSV "
	    "header (column 2)");
	check_bad(many, true, "more than 1600 columns in the CSV header");
	check_bad("\\.\n1,2\n", false, "end-of-data marker");
	check_bad("\\.", true, "end-of-data marker");
	check_bad("\\.\r\n", false, "end-of-data marker");
}

/* A NUL byte (strlen cannot carry it). */
static void
test_header_nul(void **state)
{
	static const char buf[] = "id,na\0me\n";
	struct sb_err err = SB_ERR_INIT;
	char **cols = NULL;
	size_t ncols = 0, used = 0;
	uint64_t lines = 0;

	(void)state;
	assert_int_equal(sb_csv_header(buf, sizeof(buf) - 1, true, &cols,
	    &ncols, &used, &lines, &err), -1);
	assert_string_equal(err.msg, "NUL byte in the CSV header (column 2)");
}

/* COPY's reading: quotes open and close anywhere inside a field. */
static void
test_header_copy_quotes(void **state)
{
	static const char *const joined[] = { "id", "namex" };
	static const char *const mid[] = { "abc", "b", "a\"b", "\"", "b\"" };
	static const char *const name63[] = { "012345678901234567890123456789"
	    "012345678901234567890123456789012" };
	static const char *const marker[] = { "\\.x" };

	(void)state;
	check_header("id,\"name\"x\n", false, joined, 2, 11, 1);
	check_header("a\"b\"c,b\"\",\"a\"\"b\",\"\"\"\",b\"\"\"\"\n", false,
	    mid, 5, 28, 1);
	check_header("012345678901234567890123456789012345678901234567890123456"
	    "789012\n", false, name63, 1, 64, 1);
	check_header("\\.x\n", false, marker, 1, 4, 1);
}

/*
 * Past SB_CSV_HEADER_MAX bytes a header is refused, with or without eof.
 * Valid headers stay far below it (1600 names of at most 63 bytes), so
 * only a field that does not end gets there.
 */
static void
test_header_too_long(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	char **cols = NULL, *buf = malloc(SB_CSV_HEADER_MAX + 10);
	size_t ncols = 0, used = 0;
	uint64_t lines = 0;

	(void)state;
	assert_non_null(buf);
	memset(buf, 'a', SB_CSV_HEADER_MAX + 10);
	for (int eof = 0; eof <= 1; eof++) {
		assert_int_equal(sb_csv_header(buf, SB_CSV_HEADER_MAX + 10, eof,
		    &cols, &ncols, &used, &lines, &err), -1);
		assert_string_equal(err.msg, "CSV header longer than 1048576 "
		    "bytes");
		/* Exactly the limit and nothing known after it: refused too. */
		assert_int_equal(sb_csv_header(buf, SB_CSV_HEADER_MAX, eof,
		    &cols, &ncols, &used, &lines, &err), -1);
		assert_string_equal(err.msg, "CSV header longer than 1048576 "
		    "bytes");
	}
	/* A line end in the window: the name is what is wrong. */
	buf[SB_CSV_HEADER_MAX - 1] = '\n';
	assert_int_equal(sb_csv_header(buf, SB_CSV_HEADER_MAX + 10, false,
	    &cols, &ncols, &used, &lines, &err), -1);
	assert_string_equal(err.msg, "column name longer than 63 bytes in the "
	    "CSV header (column 1)");
	free(buf);
}

/* The most columns, each as long as allowed: accepted. */
static void
test_header_widest(void **state)
{
	size_t n = SB_CSV_COLUMNS_MAX * (SB_CSV_NAME_MAX + 1);
	struct sb_err err = SB_ERR_INIT;
	char **cols = NULL, *buf = malloc(n + 1);
	size_t ncols = 0, used = 0;
	uint64_t lines = 0;

	(void)state;
	assert_non_null(buf);
	memset(buf, 'n', n);
	for (size_t i = 0; i < SB_CSV_COLUMNS_MAX; i++) {
		char num[8];

		snprintf(num, sizeof(num), "%04zu", i);
		memcpy(buf + i * (SB_CSV_NAME_MAX + 1), num, 4);
		buf[(i + 1) * (SB_CSV_NAME_MAX + 1) - 1] = ',';
	}
	buf[n - 1] = '\n';
	assert_int_equal(sb_csv_header(buf, n, false, &cols, &ncols, &used,
	    &lines, &err), 1);
	assert_int_equal(ncols, SB_CSV_COLUMNS_MAX);
	assert_int_equal(strlen(cols[1599]), SB_CSV_NAME_MAX);
	assert_int_equal(used, n);
	sb_csv_cols_free(cols, ncols);
	free(buf);
}

/* Record boundaries found scanning the whole text at once. */
static const char data[] =
    "1,plain\n"
    "2,\"quoted, comma\"\n"
    "3,\"two\nlines\"\n"
    "4,\"say \"\"hi\"\"\nand\nmore\"\n"
    "5,\"\"\"\n\"\"\"\n"
    "6,last\n";
/* Offsets just after each record's LF. */
static const size_t ends[] = { 8, 26, 40, 64, 74, 81 };

static void
test_scan_whole(void **state)
{
	struct sb_csv_scan s;
	size_t off = 0, k, n = 0;
	bool hit;

	(void)state;
	sb_csv_scan_init(&s, 1);
	while (off < sizeof(data) - 1) {
		k = sb_csv_scan(&s, data + off, sizeof(data) - 1 - off, true,
		    &hit);
		assert_true(hit);
		off += k;
		assert_true(n < 6);
		assert_int_equal(off, ends[n]);
		n++;
	}
	assert_int_equal(n, 6);
	assert_int_equal(s.records, 6);
	/* 6 records, 4 quoted line breaks, after 1 header line. */
	assert_int_equal(s.line, 1 + 6 + 4);
	assert_false(s.quoted);
	sb_csv_scan_release(&s);
}

/* The same boundaries whatever the buffer split (quote state carries). */
static void
test_scan_splits(void **state)
{
	(void)state;
	for (size_t piece = 1; piece <= 9; piece++) {
		struct sb_csv_scan s;
		size_t off = 0, n = 0;

		sb_csv_scan_init(&s, 0);
		while (off < sizeof(data) - 1) {
			size_t len = sizeof(data) - 1 - off, k;
			bool hit;

			if (len > piece)
				len = piece;
			k = sb_csv_scan(&s, data + off, len, true, &hit);
			off += k;
			if (hit) {
				assert_true(n < 6);
				if (off != ends[n])
					fail_msg("piece %zu: boundary %zu at "
					    "%zu, expected %zu", piece, n, off,
					    ends[n]);
				n++;
			} else {
				assert_int_equal(k, len);
			}
		}
		assert_int_equal(n, 6);
		sb_csv_scan_release(&s);
	}
}

/* Without stop, everything is consumed; hit only if the end is one. */
static void
test_scan_nostop(void **state)
{
	struct sb_csv_scan s;
	bool hit;

	(void)state;
	sb_csv_scan_init(&s, 0);
	assert_int_equal(sb_csv_scan(&s, data, 30, false, &hit), 30);
	assert_false(hit);
	assert_true(s.quoted);		/* inside "two\nlines" */
	assert_int_equal(sb_csv_scan(&s, data + 30, 10, false, &hit), 10);
	assert_true(hit);		/* offset 40 ends record 3 */
	assert_int_equal(s.records, 3);
	sb_csv_scan_release(&s);
}

/*
 * Long runs (the scan skips eight bytes at a time) against a byte-by-byte
 * count, at every alignment: quotes and LFs anywhere in a word, and bytes
 * next to '"' (0x22) and LF (0x0a) in value.
 */
static void
test_scan_words(void **state)
{
	static const char alphabet[] = "\"\n#!\x0b\x09\x21\x23" "abc,";
	char buf[4096];
	unsigned seed = 7;

	(void)state;
	for (int round = 0; round < 200; round++) {
		struct sb_csv_scan s;
		uint64_t lines = 0, records = 0;
		size_t len = 1 + (size_t)round * 19 % (sizeof(buf) - 1), off;
		bool quoted = false, hit;

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			/* Mostly plain bytes: runs of several words. */
			buf[i] = (seed >> 16) % 23 == 0 ?
			    alphabet[(seed >> 8) % 2] :
			    alphabet[2 + (seed >> 8) % (sizeof(alphabet) - 3)];
		}
		for (size_t i = 0; i < len; i++) {
			if (buf[i] == '"')
				quoted = !quoted;
			if (buf[i] == '\n') {
				lines++;
				records += !quoted;
			}
		}
		for (off = 0; off < 8 && off < len; off++) {
			sb_csv_scan_init(&s, 0);
			/* Split at off, so the words fall at every alignment. */
			sb_csv_scan(&s, buf, off, false, &hit);
			sb_csv_scan(&s, buf + off, len - off, false, &hit);
			assert_int_equal(s.line, lines);
			assert_int_equal(s.records, records);
			assert_int_equal(s.quoted, quoted);
			sb_csv_scan_release(&s);
		}
	}
}

/* COPY counts records; the file line of each is where it begins. */
static void
test_record_line(void **state)
{
	struct sb_csv_scan s;
	bool hit;

	(void)state;
	sb_csv_scan_init(&s, 1);		/* after the header line */
	sb_csv_scan(&s, data, sizeof(data) - 1, false, &hit);
	assert_int_equal(sb_csv_record_line(&s, 1), 2);
	assert_int_equal(sb_csv_record_line(&s, 2), 3);
	assert_int_equal(sb_csv_record_line(&s, 3), 4);
	assert_int_equal(sb_csv_record_line(&s, 4), 6);
	assert_int_equal(sb_csv_record_line(&s, 5), 9);
	assert_int_equal(sb_csv_record_line(&s, 6), 11);
	assert_int_equal(sb_csv_record_line(&s, 0), 0);
	/* A new chunk numbers its records from 1 again. */
	sb_csv_chunk(&s);
	sb_csv_scan(&s, "7,\"a\nb\"\n8,c\n", 12, false, &hit);
	assert_int_equal(sb_csv_record_line(&s, 1), 12);
	assert_int_equal(sb_csv_record_line(&s, 2), 14);
	sb_csv_scan_release(&s);
}

/* Past the cap of remembered multi-line records, lines are unknown. */
static void
test_record_line_cap(void **state)
{
	struct sb_csv_scan s;
	bool hit;

	(void)state;
	sb_csv_scan_init(&s, 0);
	for (size_t i = 0; i < SB_CSV_MULTI_MAX + 2; i++)
		sb_csv_scan(&s, "\"a\nb\"\n", 6, false, &hit);
	assert_int_equal(s.nmulti, SB_CSV_MULTI_MAX);
	assert_int_equal(sb_csv_record_line(&s, SB_CSV_MULTI_MAX + 1),
	    1 + 2 * SB_CSV_MULTI_MAX);
	assert_int_equal(sb_csv_record_line(&s, SB_CSV_MULTI_MAX + 2), 0);
	/* COPY names record r by line 2r - 1 here (its first not counted). */
	assert_int_equal(sb_csv_copy_record(&s, 2 * SB_CSV_MULTI_MAX - 1),
	    SB_CSV_MULTI_MAX);
	assert_int_equal(sb_csv_copy_record(&s, 2 * SB_CSV_MULTI_MAX + 3), 0);
	sb_csv_scan_release(&s);
}

/* COPY's "line N" (quoted breaks counted but in its first record). */
static void
test_copy_record(void **state)
{
	static const char chunk[] = "1,\"a\nb\"\n2,x\n3,\"c\nd\ne\"\n4,y\n";
	struct sb_csv_scan s;
	bool hit;

	(void)state;
	sb_csv_scan_init(&s, 10);
	sb_csv_chunk(&s);
	sb_csv_scan(&s, chunk, sizeof(chunk) - 1, false, &hit);
	assert_int_equal(sb_csv_copy_record(&s, 1), 1);
	assert_int_equal(sb_csv_copy_record(&s, 2), 2);
	assert_int_equal(sb_csv_copy_record(&s, 5), 3);
	assert_int_equal(sb_csv_copy_record(&s, 3), 3);
	assert_int_equal(sb_csv_copy_record(&s, 6), 4);
	assert_int_equal(sb_csv_copy_record(&s, 0), 0);
	/* Records begin on file lines 11, 13, 14 and 17. */
	assert_int_equal(sb_csv_record_line(&s, sb_csv_copy_record(&s, 2)), 13);
	assert_int_equal(sb_csv_record_line(&s, sb_csv_copy_record(&s, 5)), 14);
	assert_int_equal(sb_csv_record_line(&s, sb_csv_copy_record(&s, 6)), 17);
	sb_csv_scan_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_plain),
		cmocka_unit_test(test_header_bom),
		cmocka_unit_test(test_header_quoted),
		cmocka_unit_test(test_header_incomplete),
		cmocka_unit_test(test_header_nul),
		cmocka_unit_test(test_header_copy_quotes),
		cmocka_unit_test(test_header_too_long),
		cmocka_unit_test(test_header_widest),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_scan_whole),
		cmocka_unit_test(test_scan_splits),
		cmocka_unit_test(test_scan_nostop),
		cmocka_unit_test(test_scan_words),
		cmocka_unit_test(test_record_line),
		cmocka_unit_test(test_record_line_cap),
		cmocka_unit_test(test_copy_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
