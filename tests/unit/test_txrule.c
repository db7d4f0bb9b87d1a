/*
 * Unit tests of the transaction rule (src/pack/txrule.c) that `check`
 * warns with and `import alembic` decides with, of the catalog-read rule
 * (src/pack/catread.c) the import drops statements with, and of
 * sb_chain_build on
 * revisions parsed in memory (what the import validates).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "pack/catread.h"
#include "pack/txrule.h"

static void
expect_need(const char *sql, enum sb_tx_need want, const char *what)
{
	char buf[64];

	assert_int_equal(sb_tx_need(sql, strlen(sql), buf, sizeof(buf)), want);
	assert_string_equal(buf, what);
}

static void
test_control(void **state)
{
	(void)state;
	expect_need("COMMIT", SB_TX_CONTROL, "COMMIT");
	expect_need("  commit work", SB_TX_CONTROL, "COMMIT");
	expect_need("/* x */ BEGIN", SB_TX_CONTROL, "BEGIN");
	expect_need("start transaction isolation level serializable",
	    SB_TX_CONTROL, "START TRANSACTION");
	expect_need("ROLLBACK", SB_TX_CONTROL, "ROLLBACK");
	expect_need("END", SB_TX_CONTROL, "END");
	/* a savepoint stays inside the step */
	expect_need("ROLLBACK TO SAVEPOINT a", SB_TX_ANY, "");
	expect_need("ROLLBACK WORK TO a", SB_TX_ANY, "");
}

static void
test_outside(void **state)
{
	(void)state;
	expect_need("CREATE INDEX CONCURRENTLY ix ON t (a)", SB_TX_OUTSIDE,
	    "CREATE INDEX CONCURRENTLY");
	expect_need("create unique index concurrently if not exists ix on t (a)",
	    SB_TX_OUTSIDE, "CREATE UNIQUE INDEX CONCURRENTLY");
	expect_need("DROP INDEX CONCURRENTLY ix", SB_TX_OUTSIDE,
	    "DROP INDEX CONCURRENTLY");
	expect_need("REINDEX INDEX CONCURRENTLY ix", SB_TX_OUTSIDE,
	    "REINDEX INDEX CONCURRENTLY");
	expect_need("VACUUM ANALYZE t", SB_TX_OUTSIDE, "VACUUM ANALYZE");
	expect_need("ALTER SYSTEM SET work_mem = '8MB'", SB_TX_OUTSIDE,
	    "ALTER SYSTEM");
	expect_need("CREATE DATABASE x", SB_TX_OUTSIDE, "CREATE DATABASE");
	/* quoted text is not a word */
	expect_need("INSERT INTO t VALUES ('CONCURRENTLY')", SB_TX_ANY, "");
	expect_need("CREATE INDEX ix ON t (\"concurrently\")", SB_TX_ANY, "");
	expect_need("SELECT 1", SB_TX_ANY, "");
}

static void
test_names(void **state)
{
	static const char *const yes[] = {
		"UPDATE alembic_version SET version_num='b'",
		"insert into public.ALEMBIC_VERSION (version_num) values ('a')",
	};
	static const char *const no[] = {
		"INSERT INTO t VALUES ('alembic_version')",
		"CREATE TABLE alembic_version_backup (x int)",
		"-- alembic_version\nSELECT 1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(sb_tx_names(yes[i], strlen(yes[i]),
		    "alembic_version"));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(sb_tx_names(no[i], strlen(no[i]),
		    "alembic_version"));
}

/* Revisions parsed from memory; path stands for the Alembic file. */
static void
build(const char *const *texts, size_t n, struct sb_chain *chain, int want,
    const char *msg)
{
	struct sb_revision *revs = sb_calloc(n, sizeof(*revs));
	unsigned *down = sb_calloc(n, sizeof(*down));
	struct sb_err err = SB_ERR_INIT;

	for (size_t i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof(path), "revisions/%.2s.sql", texts[i] + 13);
		assert_int_equal(sb_revision_parse(&revs[i], path, texts[i],
		    strlen(texts[i]), &err), 0);
		free(revs[i].path);
		revs[i].path = sb_printf("versions/%.2s.py", texts[i] + 13);
		revs[i].header_line = 7;
		down[i] = 8;
	}
	assert_int_equal(sb_chain_build(chain, revs, down, n, &err), want);
	if (msg != NULL)
		assert_string_equal(err.msg, msg);
}

static void
test_chain_build(void **state)
{
	static const char *const good[] = {
		"-- revision: m1\n-- down_revision: b1, b2\n-- +upgrade\n",
		"-- revision: b2\n-- down_revision: a1\n-- +upgrade\nSELECT 2;\n",
		"-- revision: a1\n-- +upgrade\nSELECT 0;\n",
		"-- revision: b1\n-- down_revision: a1\n-- +upgrade\nSELECT 1;\n",
	};
	static const char *const heads[] = {
		"-- revision: a1\n-- +upgrade\nSELECT 0;\n",
		"-- revision: b1\n-- down_revision: a1\n-- +upgrade\nSELECT 1;\n",
		"-- revision: b2\n-- down_revision: a1\n-- +upgrade\nSELECT 2;\n",
	};
	static const char *const unknown[] = {
		"-- revision: a1\n-- +upgrade\nSELECT 0;\n",
		"-- revision: b1\n-- down_revision: zz\n-- +upgrade\nSELECT 1;\n",
	};
	struct sb_chain chain = SB_CHAIN_INIT;

	(void)state;
	build(good, 4, &chain, 0, NULL);
	assert_int_equal(chain.n, 4);
	assert_string_equal(chain.revs[0].id, "a1");
	/* as Alembic: the merge's first parent right before it */
	assert_string_equal(chain.revs[1].id, "b2");
	assert_string_equal(chain.revs[2].id, "b1");
	assert_string_equal(chain.revs[3].id, "m1");
	assert_int_equal(sb_chain_find(&chain, "b2"), 1);
	sb_chain_release(&chain);
	build(heads, 3, &chain, -1, "multiple head revisions are present: "
	    "b1 (versions/b1.py:7), b2 (versions/b2.py:7)");
	build(unknown, 2, &chain, -1, "versions/b1.py:8: down_revision names "
	    "unknown revision \"zz\"");
}

static void
expect_catread(const char *sql, bool want)
{
	if (sb_catread(sql, strlen(sql)) != want)
		fail_msg("%s: want %s", sql, want ? "a catalog read" : "kept");
}

static void
test_catread(void **state)
{
	static const char *const reads[] = {
		/* what warehouse's enum library sends, as the driver sent it */
		"SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d "
		"JOIN pg_attribute a ON a.attrelid = d.adrelid "
		"AND a.attnum = d.adnum WHERE d.adrelid = "
		"CAST('\"public\".\"users\"' AS regclass) AND a.attname = 'c'",
		"select e.enumlabel from pg_catalog.pg_enum e join "
		"pg_catalog.pg_type t on t.oid = e.enumtypid where t.typname = "
		"'mood' order by e.enumsortorder",
		"SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM "
		"pg_catalog.pg_attribute a WHERE a.attrelid = 't'::regclass",
		"SELECT table_name FROM information_schema.tables WHERE "
		"table_schema = current_schema()",
		"WITH e AS (SELECT enumtypid, array_agg(enumlabel) AS l FROM "
		"pg_enum GROUP BY enumtypid) SELECT t.typname, e.l FROM e, "
		"pg_type t WHERE t.oid = e.enumtypid",
		"SELECT EXISTS (SELECT 1 FROM pg_class c, pg_namespace n WHERE "
		"n.oid = c.relnamespace AND has_table_privilege(c.oid, "
		"'SELECT'))",
		"SELECT unnest(enum_range(NULL::mood))",
		"SELECT 1",
		"-- a comment first\nSELECT relname FROM pg_class LIMIT 1",
	};
	static const char *const kept[] = {
		"SELECT setval('t_id_seq', 42)",
		"SELECT pg_catalog.setval('t_id_seq', 42)",
		"SELECT nextval('s')",
		"SELECT * FROM pg_catalog.pg_class FOR UPDATE",
		"SELECT relname FROM pg_class FOR SHARE",
		"SELECT * INTO x FROM pg_class",
		"SELECT * FROM users",
		"SELECT c FROM pg_class, users",
		"SELECT c FROM pg_class JOIN users ON true",
		"SELECT c FROM pg_class JOIN pg_type ON true, users",
		"SELECT * FROM public.pg_class",
		"SELECT * FROM \"pg_class\"",
		"SELECT * FROM pg_class WHERE oid IN (SELECT id FROM users)",
		"SELECT * FROM pg_class WHERE EXISTS (TABLE users)",
		"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
		"WITH i AS (INSERT INTO t VALUES (1) RETURNING *) SELECT 1",
		"WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM u",
		"SELECT pg_advisory_lock(1)",
		"SELECT create_hypertable('t', 'ts')",
		"SELECT set_config('search_path', 'x', false)",
		"SELECT * FROM x.pg_class",
		"SELECT \"setval\"('s', 1)",
		"SELECT * FROM generate_series(1, 2), users",
		"INSERT INTO t SELECT * FROM pg_class",
		"CREATE TABLE t AS SELECT * FROM pg_class",
		"UPDATE t SET a = 1",
		"SELECT 1; SELECT setval('s', 1)",
		"SELECT 'unterminated",
		"TABLE pg_class",
		"SELECT * FROM pg_class c JOIN LATERAL (SELECT * FROM users) u "
		"ON true",
		"SELECT * FROM pg_class NATURAL JOIN users",
		"SELECT * FROM pg_class, ONLY users",
		"SELECT * FROM (VALUES (1)) v, users",
		"SELECT public.format_type(1, 1)",
		"SELECT E'x' FROM users",
		"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		expect_catread(reads[i], true);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		expect_catread(kept[i], false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_outside),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_chain_build),
		cmocka_unit_test(test_catread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
