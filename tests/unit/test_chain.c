/* Unit tests of the revision chain (src/common/chain.c), on fixture chains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"

/* A fixture chain's folder: tests run from the top of the tree or $SB_ROOT. */
static char *
fixture(const char *name)
{
	const char *root = getenv("SB_ROOT");

	return sb_printf("%s/tests/fixtures/chains/%s", root ? root : ".", name);
}

static void
expect_load_error(const char *name, const char *fmt)
{
	struct sb_chain chain = SB_CHAIN_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *dir = fixture(name), *want;

	/* fmt has one %s per file: the fixture's revisions folder */
	want = sb_printf(fmt, dir, dir, dir, dir);
	if (sb_chain_load(&chain, dir, &err) == 0) {
		sb_chain_release(&chain);
		fail_msg("%s loaded, expected: %s", name, want);
	}
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, want);
	assert_null(chain.revs);
	assert_int_equal(chain.n, 0);
	free(want);
	free(dir);
}

static void
load(struct sb_chain *chain, const char *name)
{
	struct sb_err err = SB_ERR_INIT;
	char *dir = fixture(name);

	if (sb_chain_load(chain, dir, &err) == -1)
		fail_msg("%s: %s", name, err.msg);
	free(dir);
}

static void
assert_order(const struct sb_chain *chain, const char *const *ids, size_t n)
{
	assert_int_equal(chain->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(chain->revs[i].id, ids[i]);
}

static void
test_linear(void **state)
{
	static const char *const ids[] = {
		"100000000001", "100000000002", "100000000003"
	};
	struct sb_chain chain = SB_CHAIN_INIT;
	char *dir = fixture("linear"), *path;

	(void)state;
	load(&chain, "linear");		/* README is not a revision */
	assert_order(&chain, ids, 3);
	assert_true(chain.revs[1].transactional);
	assert_false(chain.revs[2].transactional);
	assert_string_equal(chain.revs[2].file, "100000000003_name_index.sql");
	path = sb_printf("%s/revisions/100000000003_name_index.sql", dir);
	assert_string_equal(chain.revs[2].path, path);
	assert_int_equal(sb_chain_find(&chain, "100000000002"), 1);
	assert_int_equal(sb_chain_find(&chain, "100000000004"), -1);
	assert_int_equal(sb_chain_find(&chain, ""), -1);
	sb_chain_release(&chain);
	assert_null(chain.revs);
	free(path);
	free(dir);
}

/*
 * x0 -> b1; x0 -> c1 -> a2; m9 merges "a2, b1": as Alembic runs it, the
 * last parent's branch first, the first parent's right before the merge.
 */
static void
test_merge_order(void **state)
{
	static const char *const ids[] = { "x0", "b1", "c1", "a2", "m9" };
	struct sb_chain chain = SB_CHAIN_INIT, again = SB_CHAIN_INIT;

	(void)state;
	load(&chain, "merge");
	assert_order(&chain, ids, 5);
	assert_int_equal(chain.revs[4].nparents, 2);
	assert_string_equal(chain.revs[4].parents[0], "a2");
	assert_string_equal(chain.revs[4].parents[1], "b1");
	load(&again, "merge");
	assert_order(&again, ids, 5);
	/* two chains at once: find answers for each */
	assert_int_equal(sb_chain_find(&chain, "a2"), 3);
	assert_int_equal(sb_chain_find(&again, "m9"), 4);
	assert_int_equal(sb_chain_find(&chain, "x0"), 0);
	sb_chain_release(&again);
	assert_int_equal(sb_chain_find(&chain, "c1"), 2);
	sb_chain_release(&chain);
}

static void
test_irreversible(void **state)
{
	struct sb_chain chain = SB_CHAIN_INIT;

	(void)state;
	load(&chain, "irreversible");
	assert_int_equal(chain.n, 2);
	assert_non_null(chain.revs[0].downgrade);
	assert_null(chain.revs[1].downgrade);
	assert_string_equal(chain.revs[1].message, "backfill, no way back");
	sb_chain_release(&chain);
}

static void
test_empty(void **state)
{
	struct sb_chain chain = SB_CHAIN_INIT;
	struct sb_err err = SB_ERR_INIT;
	ssize_t first, last;

	(void)state;
	load(&chain, "empty");
	assert_int_equal(chain.n, 0);
	assert_int_equal(sb_chain_find(&chain, "x"), -1);
	assert_int_equal(sb_chain_range(&chain, NULL, NULL, &first, &last,
	    &err), -1);
	assert_string_equal(err.msg, "the chain has no revision");
	sb_chain_release(&chain);
}

static void
test_two_heads(void **state)
{
	(void)state;
	expect_load_error("two_heads", "multiple head revisions are present: "
	    "h1 (%s/revisions/h1_left.sql:1), h2 (%s/revisions/h2_right.sql:1)");
}

static void
test_cycle(void **state)
{
	(void)state;
	expect_load_error("cycle", "%s/revisions/c1_one.sql:2: revision \"c1\" "
	    "is in a cycle: c1 -> c2 -> c3 -> c1");
}

static void
test_duplicate(void **state)
{
	(void)state;
	expect_load_error("duplicate", "duplicate revision id \"d1\": "
	    "%s/revisions/d1_first.sql:2 and %s/revisions/d1_second.sql:1");
}

static void
test_unknown_parent(void **state)
{
	(void)state;
	expect_load_error("unknown_parent", "%s/revisions/u1_child.sql:3: "
	    "down_revision names unknown revision \"u9\"");
}

static void
test_two_bases(void **state)
{
	(void)state;
	expect_load_error("two_bases", "more than one base revision "
	    "(down_revision: none): t0 (%s/revisions/t0_first.sql:1), "
	    "t1 (%s/revisions/t1_second.sql:1)");
}

static void
test_bad_header(void **state)
{
	(void)state;
	expect_load_error("bad_header", "%s/revisions/g1_bad.sql:3: "
	    "transactional must be true or false, not \"yes\"");
}

static void
test_id_mismatch(void **state)
{
	(void)state;
	expect_load_error("id_mismatch", "%s/revisions/abc_typo.sql:1: "
	    "revision \"abd\" does not match the file name \"abc_typo.sql\"");
}

static void
test_unknown_key(void **state)
{
	(void)state;
	expect_load_error("unknown_key", "%s/revisions/k0_base.sql:2: "
	    "unknown header key \"mesage\" (known: revision, down_revision, "
	    "message, transactional)");
}

static char *
temp_project(void)
{
	char tmpl[] = "/tmp/sb-test-chain-XXXXXX", *rev;

	assert_non_null(mkdtemp(tmpl));
	rev = sb_printf("%s/revisions", tmpl);
	assert_int_equal(mkdir(rev, 0755), 0);
	free(rev);
	return sb_strdup(tmpl);
}

static void
write_rev(const char *dir, const char *id, const char *parents)
{
	char *path = sb_printf("%s/revisions/%s_r.sql", dir, id);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "-- revision: %s\n-- down_revision: %s\n\n-- +upgrade\n"
	    "SELECT '%s';\n\n-- +downgrade\nSELECT 1;\n", id, parents, id);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static void
remove_project(const char *dir)
{
	char *cmd = sb_printf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void
test_not_regular(void **state)
{
	struct sb_chain chain = SB_CHAIN_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *dir = temp_project(), *p, *want;

	(void)state;
	write_rev(dir, "a1", "none");
	p = sb_printf("%s/revisions/zz.sql", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(sb_chain_load(&chain, dir, &err), -1);
	want = sb_printf("%s: not a regular file (revisions must be plain "
	    "files, not folders)", p);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(rmdir(p), 0);

	assert_int_equal(symlink("a1_r.sql", p), 0);
	assert_int_equal(sb_chain_load(&chain, dir, &err), -1);
	want = sb_printf("%s: not a regular file (revisions must be plain "
	    "files, not links)", p);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(unlink(p), 0);

	/* CHECKSUMS and other names are not revisions */
	free(p);
	p = sb_printf("%s/revisions/CHECKSUMS", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(sb_chain_load(&chain, dir, &err), 0);
	assert_int_equal(chain.n, 1);
	sb_chain_release(&chain);
	free(p);

	p = sb_printf("%s/nowhere", dir);
	assert_int_equal(sb_chain_load(&chain, p, &err), -1);
	assert_int_equal(err.code, SB_EIO);
	free(p);
	remove_project(dir);
	free(dir);
}

/*
 * Many ready revisions at once: as Alembic orders a merge's branches, the
 * last parent written first, the first parent right before the merge.
 */
static void
test_wide_ties(void **state)
{
	struct sb_chain chain = SB_CHAIN_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *dir = temp_project(), id[16], parents[2048] = "";
	unsigned x = 12345;

	(void)state;
	write_rev(dir, "root", "none");
	for (int i = 0; i < 100; i++) {
		x = x * 1103515245u + 12345u;
		snprintf(id, sizeof(id), "k%08x", x);
		write_rev(dir, id, "root");
		strcat(parents, i ? ", " : "");
		strcat(parents, id);
	}
	write_rev(dir, "merge", parents);
	assert_int_equal(sb_chain_load(&chain, dir, &err), 0);
	assert_int_equal(chain.n, 102);
	assert_string_equal(chain.revs[0].id, "root");
	assert_string_equal(chain.revs[101].id, "merge");
	assert_int_equal(chain.revs[101].nparents, 100);
	for (size_t i = 1; i < 101; i++)
		assert_string_equal(chain.revs[i].id,
		    chain.revs[101].parents[100 - i]);
	sb_chain_release(&chain);
	remove_project(dir);
	free(dir);
}

/*
 * 10,000 revisions: blocks of two branches and a merge, ids scrambled so
 * that name order is not apply order. Loads, orders and finds each id.
 */
static void
test_large_chain(void **state)
{
	struct sb_chain chain = SB_CHAIN_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *dir = temp_project(), a[16], b[16], m[16], prev[16] = "none";
	char parents[40];
	size_t nblocks = 3334, i, k;
	ssize_t first, last;

	(void)state;
	for (i = 0; i < nblocks; i++) {
		unsigned h = (unsigned)i * 2654435761u;

		snprintf(a, sizeof(a), "a%08x", h);
		snprintf(b, sizeof(b), "b%08x", h ^ 0x5555u);
		snprintf(m, sizeof(m), "m%08x", h);
		write_rev(dir, a, prev);
		if (i == 0) {
			/* one base: the first block is a -> b -> m */
			write_rev(dir, b, a);
			write_rev(dir, m, b);
		} else {
			write_rev(dir, b, prev);
			snprintf(parents, sizeof(parents), "%s, %s", b, a);
			write_rev(dir, m, parents);
		}
		memcpy(prev, m, sizeof(m));
	}
	assert_int_equal(sb_chain_load(&chain, dir, &err), 0);
	assert_int_equal(chain.n, 3 * nblocks);
	/* parents before children, each block a, b, m */
	for (k = 0; k < chain.n; k++) {
		const struct sb_revision *r = &chain.revs[k];

		assert_int_equal(r->id[0], "abm"[k % 3]);
		assert_int_equal(sb_chain_find(&chain, r->id), (ssize_t)k);
		for (i = 0; i < r->nparents; i++)
			assert_true(sb_chain_find(&chain, r->parents[i]) <
			    (ssize_t)k);
	}
	assert_string_equal(chain.revs[chain.n - 1].id, prev);
	assert_int_equal(sb_chain_range(&chain, chain.revs[3].id, "head",
	    &first, &last, &err), 0);
	assert_int_equal(first, 3);
	assert_int_equal(last, (ssize_t)chain.n - 1);
	sb_chain_release(&chain);
	remove_project(dir);
	free(dir);
}

static void
test_range(void **state)
{
	struct sb_chain chain = SB_CHAIN_INIT;
	struct sb_err err = SB_ERR_INIT;
	ssize_t first = 99, last = 99;

	(void)state;
	load(&chain, "merge");		/* x0 b1 c1 a2 m9 */
	assert_int_equal(sb_chain_range(&chain, NULL, NULL, &first, &last,
	    &err), 0);
	assert_int_equal(first, -1);
	assert_int_equal(last, 4);
	assert_int_equal(sb_chain_range(&chain, "base", "head", &first, &last,
	    &err), 0);
	assert_int_equal(first, -1);
	assert_int_equal(last, 4);
	assert_int_equal(sb_chain_range(&chain, "b1", "a2", &first, &last,
	    &err), 0);
	assert_int_equal(first, 1);
	assert_int_equal(last, 3);
	assert_int_equal(sb_chain_range(&chain, "base", "x0", &first, &last,
	    &err), 0);
	assert_int_equal(first, -1);
	assert_int_equal(last, 0);

	assert_int_equal(sb_chain_range(&chain, "zz", NULL, &first, &last,
	    &err), -1);
	assert_string_equal(err.msg, "unknown revision \"zz\" (--from)");
	assert_int_equal(sb_chain_range(&chain, NULL, "zz", &first, &last,
	    &err), -1);
	assert_string_equal(err.msg, "unknown revision \"zz\" (--to)");
	assert_int_equal(sb_chain_range(&chain, "a2", "b1", &first, &last,
	    &err), -1);
	assert_string_equal(err.msg,
	    "revision \"b1\" is not after \"a2\" in apply order");
	assert_int_equal(sb_chain_range(&chain, "m9", "head", &first, &last,
	    &err), -1);
	assert_string_equal(err.msg,
	    "revision \"m9\" is not after \"m9\" in apply order");
	assert_int_equal(err.code, SB_EINVALID);
	sb_chain_release(&chain);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linear),
		cmocka_unit_test(test_merge_order),
		cmocka_unit_test(test_irreversible),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_two_heads),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_unknown_parent),
		cmocka_unit_test(test_two_bases),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_id_mismatch),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_wide_ties),
		cmocka_unit_test(test_large_chain),
		cmocka_unit_test(test_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
