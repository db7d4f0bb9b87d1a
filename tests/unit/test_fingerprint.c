/*
 * Unit tests for src/common/fingerprint.c: descriptions, exclusions, the
 * diff and the FINGERPRINTS file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fingerprint.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/manifest.h"

#define SHA_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A finished description of rows "kind|schema|object|name|value". */
static void
build(struct sb_fp *fp, const struct sb_fp_excl *x, const char *const *rows)
{
	struct sb_err err = SB_ERR_INIT;

	for (; *rows != NULL; rows++) {
		char *r = sb_strdup(*rows), *f[5], *p = r;

		for (int i = 0; i < 5; i++) {
			char *bar = i < 4 ? strchr(p, '|') : NULL;

			f[i] = p;
			if (bar != NULL) {
				*bar = '\0';
				p = bar + 1;
			}
		}
		assert_int_equal(sb_fp_add_row(fp, x, f[0], f[1],
		    *f[2] ? f[2] : NULL, f[3], f[4], &err), 0);
		free(r);
	}
	assert_int_equal(sb_fp_finish(fp, &err), 0);
}

static void
test_lines_sorted_escaped_and_digested(void **state)
{
	static const char *const rows[] = {
		"table|pos|sale|pos.sale|",
		"function|acct|post|acct.post()|BEGIN\n\tRETURN 1;\\ END\x01",
		"column|pos|sale|pos.sale.qty|integer NOT NULL",
		NULL
	};
	struct sb_fp fp = SB_FP_INIT;
	char hex[SB_SHA256_HEX], want[SB_SHA256_HEX], *text;
	size_t len;

	(void)state;
	build(&fp, NULL, rows);
	assert_int_equal(fp.n, 3);
	text = sb_fp_text(&fp, &len);
	assert_string_equal(text,
	    "column\tpos.sale.qty\tinteger NOT NULL\n"
	    "function\tacct.post()\tBEGIN\\n\\tRETURN 1;\\\\ END\\x01\n"
	    "table\tpos.sale\t\n");
	sb_fp_digest(&fp, hex);
	sb_sha256_hex(text, len, want);
	assert_string_equal(hex, want);
	free(text);
	sb_fp_release(&fp);
}

static void
test_unknown_kind_and_duplicate_key(void **state)
{
	struct sb_fp fp = SB_FP_INIT;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	assert_int_equal(sb_fp_add_row(&fp, NULL, "rule", "s", "t", "s.r", "",
	    &err), -1);
	assert_string_equal(err.msg, "fingerprint: unknown object kind "
	    "\"rule\"");
	assert_int_equal(sb_fp_add_row(&fp, NULL, "table", "s", "t", "s.t",
	    "A", &err), 0);
	assert_int_equal(sb_fp_add_row(&fp, NULL, "table", "s", "t", "s.t",
	    "B", &err), 0);
	assert_int_equal(sb_fp_finish(&fp, &err), -1);
	assert_string_equal(err.msg, "fingerprint: two objects named "
	    "\"table\ts.t\"");
	sb_fp_release(&fp);
}

static void
test_exclusions(void **state)
{
	struct sb_fp_excl x = SB_FP_EXCL_INIT, y = SB_FP_EXCL_INIT;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	assert_int_equal(sb_fp_excl_add(&x, "posapp", &err), 0);
	assert_int_equal(sb_fp_excl_add(&x, "pos.legacy_*", &err), 0);
	sb_fp_excl_add_bookkeeping(&x, "public.alembic_version");
	assert_true(sb_fp_excluded(&x, "posapp", NULL));
	assert_true(sb_fp_excluded(&x, "posapp", "till"));
	assert_true(sb_fp_excluded(&x, "pos", "legacy_sales"));
	assert_false(sb_fp_excluded(&x, "pos", NULL));
	assert_false(sb_fp_excluded(&x, "pos", "sale"));
	assert_true(sb_fp_excluded(&x, "sqlbundle", NULL));
	assert_true(sb_fp_excluded(&x, "sqlbundle", "history"));
	assert_true(sb_fp_excluded(&x, "public", "alembic_version"));
	assert_false(sb_fp_excluded(&x, "public", "alembic_versions"));
	assert_false(sb_fp_excluded(&x, "public", NULL));
	/* The literals stay behind: only the patterns travel. */
	sb_fp_excl_copy(&y, &x);
	assert_int_equal(y.n, 2);
	assert_false(sb_fp_excluded(&y, "sqlbundle", NULL));
	sb_fp_excl_release(&y);
	assert_int_equal(sb_fp_excl_add(&x, "a.b.c", &err), -1);
	assert_string_equal(err.msg, "exclude pattern \"a.b.c\": expected "
	    "\"schema\" or \"schema.object\"");
	assert_int_equal(sb_fp_excl_add(&x, ".t", &err), -1);
	assert_int_equal(sb_fp_excl_add(&x, "a b", &err), -1);
	assert_int_equal(sb_fp_excl_add(&x, "", &err), -1);
	sb_fp_excl_release(&x);
}

static void
test_rows_excluded(void **state)
{
	static const char *const rows[] = {
		"schema|posapp||posapp|",
		"table|posapp|till|posapp.till|",
		"index|pos|legacy_x|pos.legacy_x_pkey|CREATE ...",
		"table|pos|sale|pos.sale|",
		"extension|pg_catalog|plpgsql|plpgsql|1.0 SCHEMA pg_catalog",
		NULL
	};
	struct sb_fp_excl x = SB_FP_EXCL_INIT;
	struct sb_fp fp = SB_FP_INIT;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	assert_int_equal(sb_fp_excl_add(&x, "posapp", &err), 0);
	assert_int_equal(sb_fp_excl_add(&x, "pos.legacy_*", &err), 0);
	build(&fp, &x, rows);
	assert_int_equal(fp.n, 2);
	assert_string_equal(fp.lines[0],
	    "extension\tplpgsql\t1.0 SCHEMA pg_catalog");
	assert_string_equal(fp.lines[1], "table\tpos.sale\t");
	sb_fp_release(&fp);
	sb_fp_excl_release(&x);
}

static void
test_diff_texts(void **state)
{
	static const char *const want[] = {
		"column|pos|sale|pos.sale.qty|integer",
		"function|acct|post|acct.post()|CREATE FUNCTION ... RETURN 1",
		"index|inv|item|inv.item_sku_idx|CREATE INDEX item_sku_idx ...",
		"view|pos|v|pos.v| SELECT 1\n  FROM x",
		"table|pos|sale|pos.sale|",
		NULL
	};
	static const char *const live[] = {
		"column|pos|sale|pos.sale.discount|numeric",
		"column|pos|sale|pos.sale.qty|bigint",
		"function|acct|post|acct.post()|CREATE FUNCTION ... RETURN 2",
		"view|pos|v|pos.v| SELECT 2\n  FROM x",
		"table|pos|sale|pos.sale|",
		NULL
	};
	struct sb_fp a = SB_FP_INIT, b = SB_FP_INIT;
	struct sb_fp_diff d = SB_FP_DIFF_INIT;

	(void)state;
	build(&a, NULL, want);
	build(&b, NULL, live);
	sb_fp_diff(&a, &b, &d);
	assert_int_equal(d.n, 5);
	assert_string_equal(d.items[0].text,
	    "column pos.sale.discount: not in the expected schema");
	assert_int_equal(d.items[0].how, SB_FP_EXTRA);
	assert_null(d.items[0].expected);
	assert_string_equal(d.items[0].found, "numeric");
	assert_string_equal(d.items[1].text, "column pos.sale.qty: definition "
	    "differs (expected \"integer\", found \"bigint\")");
	assert_string_equal(d.items[2].text, "function acct.post(): body "
	    "differs");
	assert_string_equal(d.items[3].text, "index inv.item_sku_idx: missing");
	assert_int_equal(d.items[3].how, SB_FP_MISSING);
	assert_null(d.items[3].found);
	/* Definitions on several lines are not shown side by side. */
	assert_string_equal(d.items[4].text, "view pos.v: definition differs");
	assert_string_equal(d.items[4].expected, " SELECT 1\n  FROM x");
	assert_string_equal(sb_fp_how_name(SB_FP_CHANGED), "changed");
	sb_fp_diff_release(&d);
	sb_fp_diff(&a, &a, &d);
	assert_int_equal(d.n, 0);
	sb_fp_release(&a);
	sb_fp_release(&b);
}

/* A file of three records: base, r1 (adds), r2 (changes and drops). */
static void
three(struct sb_fp_file *f)
{
	static const char *const base[] = { "schema|public||public|", NULL };
	static const char *const r1[] = {
		"schema|public||public|", "schema|pos||pos|",
		"table|pos|sale|pos.sale|", "column|pos|sale|pos.sale.id|integer",
		NULL
	};
	static const char *const r2[] = {
		"schema|public||public|", "schema|pos||pos|",
		"table|pos|sale|pos.sale|", "column|pos|sale|pos.sale.id|bigint",
		NULL
	};
	struct sb_fp fp = SB_FP_INIT;
	struct sb_err err = SB_ERR_INIT;

	assert_int_equal(sb_fp_excl_add(&f->excl, "posapp", &err), 0);
	build(&fp, NULL, base);
	assert_int_equal(sb_fp_file_add(f, SB_FP_BASE, NULL, &fp, &err), 0);
	build(&fp, NULL, r1);
	assert_int_equal(sb_fp_file_add(f, "r1", SHA_A, &fp, &err), 0);
	build(&fp, NULL, r2);
	assert_int_equal(sb_fp_file_add(f, "r2", SHA_B, &fp, &err), 0);
}

static void
test_file_round_trip(void **state)
{
	struct sb_fp_file f = SB_FP_FILE_INIT, g = SB_FP_FILE_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *text, *again, head[200];
	size_t len, len2;

	(void)state;
	three(&f);
	text = sb_fp_file_format(&f, &len);
	snprintf(head, sizeof(head), "Format: sqlbundle-fingerprints-1\n"
	    "Exclude: posapp\nRevisions: 3\n\nRevision: base %s upgrade=-\n"
	    "+schema\tpublic\t\n", f.revs[0].digest);
	assert_memory_equal(text, head, strlen(head));
	/* r2 is a delta: one line in, one out, in line order. */
	assert_non_null(strstr(text, "upgrade=" SHA_B "\n"
	    "+column\tpos.sale.id\tbigint\n-column\tpos.sale.id\tinteger\n"));
	assert_int_equal(sb_fp_file_parse(&g, "FINGERPRINTS", text, len,
	    &err), 0);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.excl.n, 1);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(g.revs[i].id, f.revs[i].id);
		assert_string_equal(g.revs[i].digest, f.revs[i].digest);
		assert_string_equal(g.revs[i].upgrade, f.revs[i].upgrade);
		assert_int_equal(g.revs[i].fp.n, f.revs[i].fp.n);
	}
	assert_string_equal(sb_fp_file_find(&g, "r1")->upgrade, SHA_A);
	assert_null(sb_fp_file_find(&g, "r3"));
	again = sb_fp_file_format(&g, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(text, again, len);
	free(again);
	free(text);
	sb_fp_file_release(&g);
	sb_fp_file_release(&f);
}

/* Parse text with `from` replaced by `to`; the error message. */
static const char *
parse_edited(const char *from, const char *to)
{
	static struct sb_err err;
	struct sb_fp_file f = SB_FP_FILE_INIT, g = SB_FP_FILE_INIT;
	char *text, *at, *edited;
	size_t len;

	three(&f);
	text = sb_fp_file_format(&f, &len);
	at = strstr(text, from);
	assert_non_null(at);
	edited = sb_printf("%.*s%s%s", (int)(at - text), text, to,
	    at + strlen(from));
	sb_err_clear(&err);
	assert_int_equal(sb_fp_file_parse(&g, "FINGERPRINTS", edited,
	    strlen(edited), &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	assert_int_equal(g.n, 0);
	free(edited);
	free(text);
	sb_fp_file_release(&f);
	return err.msg;
}

static void
test_file_errors_name_the_line(void **state)
{
	(void)state;
	assert_string_equal(parse_edited("Format: sqlbundle-fingerprints-1",
	    "Format: sqlbundle-fingerprints-2"), "FINGERPRINTS:1: expected "
	    "\"Format: sqlbundle-fingerprints-1\"");
	assert_string_equal(parse_edited("Exclude: posapp", "Exclude: a.b.c"),
	    "FINGERPRINTS:2: exclude pattern \"a.b.c\": expected \"schema\" "
	    "or \"schema.object\"");
	assert_string_equal(parse_edited("Revisions: 3", "Revisions: 4"),
	    "FINGERPRINTS: 3 revisions, header says 4");
	assert_string_equal(parse_edited("Revisions: 3", "Revisions: 2"),
	    "FINGERPRINTS:11: more than the header's revisions");
	/* A changed line no longer matches the digest of its record. */
	assert_string_equal(parse_edited("+column\tpos.sale.id\tinteger",
	    "+column\tpos.sale.id\tinteger NOT NULL"), "FINGERPRINTS:7: "
	    "revision \"r1\": the description does not match its digest");
	assert_string_equal(parse_edited("+schema\tpos\t\n",
	    "+schema\tpos\t\n+schema\tpos\tx\n"), "FINGERPRINTS: revision "
	    "before line 12 lists object \"schema\tpos\" twice");
	assert_string_equal(parse_edited("-column\tpos.sale.id\tinteger",
	    "-column\tpos.sale.id\tsmallint"), "FINGERPRINTS: revision "
	    "before line 14 removes a line it does not have");
	assert_string_equal(parse_edited("+table\tpos.sale\t",
	    "+rule\tpos.sale\t"), "FINGERPRINTS:10: unknown object kind");
	assert_string_equal(parse_edited("+table\tpos.sale\t",
	    "+table\tpos.sale\t\\q"), "FINGERPRINTS:10: bad escape");
	assert_string_equal(parse_edited("upgrade=" SHA_A, "upgrade=xyz"),
	    "FINGERPRINTS:7: upgrade digest is not 64 lowercase hex digits "
	    "or \"-\"");
	assert_string_equal(parse_edited("Revision: r1", "Revision: r/1"),
	    "FINGERPRINTS:7: bad revision id");
	assert_string_equal(parse_edited("-column\tpos.sale.id\tinteger\n",
	    "-column\tpos.sale.id\tinteger"),
	    "FINGERPRINTS:13: line does not end with a newline");
}

static void
test_parse_text(void **state)
{
	static const char ok[] = "column\ts.t.a\tinteger\ntable\ts.t\t\n";
	struct sb_fp fp = SB_FP_INIT;
	struct sb_err err = SB_ERR_INIT;
	char hex[SB_SHA256_HEX], want[SB_SHA256_HEX];

	(void)state;
	assert_int_equal(sb_fp_parse_text(&fp, "out", ok, strlen(ok), &err), 0);
	assert_int_equal(fp.n, 2);
	sb_fp_digest(&fp, hex);
	sb_sha256_hex(ok, strlen(ok), want);
	assert_string_equal(hex, want);
	sb_fp_release(&fp);
	assert_int_equal(sb_fp_parse_text(&fp, "out", "table\ts.t\t\n"
	    "column\ts.t.a\t\n", 26, &err), -1);
	assert_string_equal(err.msg, "out:2: lines not sorted or repeated");
	sb_fp_release(&fp);
	assert_int_equal(sb_fp_parse_text(&fp, "out", "table\ts.t\ta\n"
	    "table\ts.t\tb\n", 24, &err), -1);
	assert_string_equal(err.msg, "out:2: object listed twice");
	sb_fp_release(&fp);
	assert_int_equal(sb_fp_parse_text(&fp, "out", "table s.t\n", 10,
	    &err), -1);
	assert_string_equal(err.msg, "out:1: expected "
	    "\"kind<TAB>name<TAB>value\"");
	sb_fp_release(&fp);
}

static void
test_file_check_against_manifest(void **state)
{
	struct sb_fp_file f = SB_FP_FILE_INIT;
	struct sb_manifest_rev revs[2];
	struct sb_manifest m;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	three(&f);
	memset(&m, 0, sizeof(m));
	memset(revs, 0, sizeof(revs));
	m.revs = revs;
	m.nrevs = 2;
	strcpy(revs[0].id, "r1");
	strcpy(revs[0].upgrade_sha, SHA_A);
	revs[0].file = "r1_first.sql";
	strcpy(revs[1].id, "r2");
	strcpy(revs[1].upgrade_sha, SHA_B);
	revs[1].file = "r2_second.sql";
	assert_int_equal(sb_fp_file_check(&f, &m, &err), 0);
	strcpy(revs[1].upgrade_sha, SHA_A);
	assert_int_equal(sb_fp_file_check(&f, &m, &err), -1);
	assert_string_equal(err.msg, "FINGERPRINTS: revision \"r2\" "
	    "(r2_second.sql) was rehearsed with an upgrade script of SHA-256 "
	    "bbbbbbbbbbbb; the bundle carries aaaaaaaaaaaa");
	sb_fp_file_release(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_sorted_escaped_and_digested),
		cmocka_unit_test(test_unknown_kind_and_duplicate_key),
		cmocka_unit_test(test_exclusions),
		cmocka_unit_test(test_rows_excluded),
		cmocka_unit_test(test_diff_texts),
		cmocka_unit_test(test_file_round_trip),
		cmocka_unit_test(test_file_errors_name_the_line),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_file_check_against_manifest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
