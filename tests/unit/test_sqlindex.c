/* Unit tests of the concurrent index builds' reader (src/common/sqlindex.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sqlbundle/sqlindex.h"

static struct sb_ibuild
read_stmt(const char *sql)
{
	struct sb_ibuild b;

	sb_sql_index_build(sql, strlen(sql), &b);
	return b;
}

static void
test_create(void **state)
{
	struct sb_ibuild b;

	(void)state;
	b = read_stmt("CREATE INDEX CONCURRENTLY IF NOT EXISTS Items_Name_Idx "
	    "ON gen.items (name)");
	assert_int_equal(b.kind, SB_IBUILD_CREATE);
	assert_string_equal(b.name, "items_name_idx");
	assert_string_equal(b.target, "gen.items");
	b = read_stmt("create unique index concurrently \"Odd \"\"x\"\"\" on "
	    "only \"S\" . \"T\" using btree (a)");
	assert_int_equal(b.kind, SB_IBUILD_CREATE);
	assert_string_equal(b.name, "Odd \"x\"");
	assert_string_equal(b.target, "\"S\" . \"T\"");
	b = read_stmt("CREATE INDEX CONCURRENTLY ON t (a)");
	assert_int_equal(b.kind, SB_IBUILD_CREATE);
	assert_string_equal(b.name, "");
	assert_string_equal(b.target, "t");
	/* a 70-letter name is cut to 63 bytes, as the server cuts it */
	b = read_stmt("CREATE INDEX CONCURRENTLY "
	    "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeeeffffffffffgggggggggg"
	    " ON t (a)");
	assert_int_equal(strlen(b.name), 63);
	assert_int_equal(read_stmt("CREATE INDEX i ON t (a)").kind,
	    SB_IBUILD_NONE);
	assert_int_equal(read_stmt("CREATE TABLE concurrently (a int)").kind,
	    SB_IBUILD_NONE);
	assert_int_equal(read_stmt("-- CREATE INDEX CONCURRENTLY i ON t (a)\n"
	    "SELECT 1").kind, SB_IBUILD_NONE);
}

static void
test_reindex(void **state)
{
	struct sb_ibuild b;

	(void)state;
	b = read_stmt("REINDEX INDEX CONCURRENTLY gen.items_name_idx");
	assert_int_equal(b.kind, SB_IBUILD_REINDEX);
	assert_int_equal(b.scope, SB_IBUILD_INDEX);
	assert_string_equal(b.target, "gen.items_name_idx");
	b = read_stmt("REINDEX (VERBOSE, CONCURRENTLY) TABLE items");
	assert_int_equal(b.kind, SB_IBUILD_REINDEX);
	assert_int_equal(b.scope, SB_IBUILD_TABLE);
	assert_string_equal(b.target, "items");
	b = read_stmt("reindex schema concurrently \"Gen\"");
	assert_int_equal(b.scope, SB_IBUILD_SCHEMA);
	assert_string_equal(b.target, "\"Gen\"");
	assert_int_equal(read_stmt("REINDEX (CONCURRENTLY false) TABLE t").kind,
	    SB_IBUILD_NONE);
	assert_int_equal(read_stmt("REINDEX TABLE t").kind, SB_IBUILD_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_reindex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
