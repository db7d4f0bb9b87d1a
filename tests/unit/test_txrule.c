/*
 * Unit tests of the transaction rule (src/pack/txrule.c) that `check`
 * warns with and `import alembic` decides with, and of sb_chain_build on
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_outside),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_chain_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
