/* Unit tests of positions, targets and steps (src/apply/plan.c). */
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
#include "sqlbundle/manifest.h"
#include "apply/plan.h"

/* A hand-built manifest: ids and parents, "" parents for the base. */
struct fake {
	struct sb_manifest	 m;
	struct sb_manifest_rev	 revs[8];
	char			*parents[8][3];
};

static void
fake_rev(struct fake *f, const char *id, const char *p1, const char *p2,
    bool reversible)
{
	struct sb_manifest_rev *r = &f->revs[f->m.nrevs];
	size_t i = f->m.nrevs;

	memset(r, 0, sizeof(*r));
	r->pos = (unsigned)i + 1;
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->parents = f->parents[i];
	if (p1 != NULL)
		f->parents[i][r->nparents++] = (char *)p1;
	if (p2 != NULL)
		f->parents[i][r->nparents++] = (char *)p2;
	r->transactional = true;
	r->file = (char *)"x.sql";
	r->message = (char *)"";
	r->downgrade_entry = reversible ? (ssize_t)i : -1;
	f->m.nrevs++;
}

/* base -> a -> b -> c -> d */
static void
linear(struct fake *f, const char *from)
{
	memset(f, 0, sizeof(*f));
	f->m.revs = f->revs;
	f->m.project = (char *)"p";
	f->m.from = (char *)(from ? from : "base");
	f->m.to = (char *)"d";
	if (from == NULL)
		fake_rev(f, "a", NULL, NULL, true);
	fake_rev(f, "b", "a", NULL, true);
	fake_rev(f, "c", "b", NULL, true);
	fake_rev(f, "d", "c", NULL, true);
}

/* base -> a -> {b, c} -> m(b, c) -> n: the order ties broken by id. */
static void
merge(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->m.revs = f->revs;
	f->m.project = (char *)"p";
	f->m.from = (char *)"base";
	f->m.to = (char *)"n";
	fake_rev(f, "a", NULL, NULL, true);
	fake_rev(f, "b", "a", NULL, true);
	fake_rev(f, "c", "a", NULL, true);
	fake_rev(f, "m", "b", "c", true);
	fake_rev(f, "n", "m", NULL, true);
}

static void
assert_set(const struct sb_heads *h, size_t k, const char *want)
{
	char *got = sb_ids_join(h->sets[k], h->nsets[k]);

	if (strcmp(got, want) != 0) {
		print_message("heads after %zu: %s, expected %s\n", k, got,
		    want);
		free(got);
		fail();
	}
	free(got);
}

static void
test_heads_linear(void **state)
{
	struct fake f;
	struct sb_heads h = SB_HEADS_INIT;

	(void)state;
	linear(&f, NULL);
	sb_heads_build(&h, &f.m);
	assert_int_equal(h.n, 4);
	assert_set(&h, 0, "base");
	assert_set(&h, 1, "\"a\"");
	assert_set(&h, 2, "\"b\"");
	assert_set(&h, 4, "\"d\"");
	sb_heads_release(&h);

	/* A bundle from a: its start is {a}. */
	linear(&f, "a");
	sb_heads_build(&h, &f.m);
	assert_int_equal(h.n, 3);
	assert_set(&h, 0, "\"a\"");
	assert_set(&h, 3, "\"d\"");
	sb_heads_release(&h);
}

static void
test_heads_merge(void **state)
{
	struct fake f;
	struct sb_heads h = SB_HEADS_INIT;

	(void)state;
	merge(&f);
	sb_heads_build(&h, &f.m);
	assert_set(&h, 1, "\"a\"");
	assert_set(&h, 2, "\"b\"");
	assert_set(&h, 3, "\"b\", \"c\"");	/* two heads, as Alembic */
	assert_set(&h, 4, "\"m\"");
	assert_set(&h, 5, "\"n\"");
	sb_heads_release(&h);
}

static void
test_position(void **state)
{
	struct fake f;
	struct sb_heads h = SB_HEADS_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *db[2];
	size_t pos = 99;

	(void)state;
	merge(&f);
	sb_heads_build(&h, &f.m);
	assert_int_equal(sb_plan_position(&h, &f.m, NULL, 0, &pos, &err), 0);
	assert_int_equal(pos, 0);
	/* Any order of the version-table rows. */
	db[0] = (char *)"c";
	db[1] = (char *)"b";
	assert_int_equal(sb_plan_position(&h, &f.m, db, 2, &pos, &err), 0);
	assert_int_equal(pos, 3);
	db[0] = (char *)"n";
	assert_int_equal(sb_plan_position(&h, &f.m, db, 1, &pos, &err), 0);
	assert_int_equal(pos, 5);
	/* c alone is no prefix of the order: refused, both named. */
	db[0] = (char *)"c";
	assert_int_equal(sb_plan_position(&h, &f.m, db, 1, &pos, &err), -1);
	assert_int_equal(err.code, SB_EREFUSED);
	assert_string_equal(err.msg, "database is at revision \"c\", which "
	    "is not on the path of the bundle (base..n)");
	db[0] = (char *)"zz";
	db[1] = (char *)"b";
	assert_int_equal(sb_plan_position(&h, &f.m, db, 2, &pos, &err), -1);
	assert_string_equal(err.msg, "database is at revisions \"b\", \"zz\", "
	    "which are not on the path of the bundle (base..n)");
	sb_heads_release(&h);

	/* A bundle from a cannot start on an empty database. */
	linear(&f, "a");
	sb_heads_build(&h, &f.m);
	assert_int_equal(sb_plan_position(&h, &f.m, NULL, 0, &pos, &err), -1);
	assert_int_equal(err.code, SB_EREFUSED);
	assert_string_equal(err.msg, "database has no revision (base), which "
	    "is not on the path of the bundle (a..d)");
	db[0] = (char *)"a";
	assert_int_equal(sb_plan_position(&h, &f.m, db, 1, &pos, &err), 0);
	assert_int_equal(pos, 0);
	sb_heads_release(&h);
}

/* Resolve target at pos for dir; expect position want. */
static void
check_target(const struct sb_manifest *m, size_t pos, enum sb_dir dir,
    const char *target, size_t want, enum sb_dir want_dir)
{
	struct sb_err err = SB_ERR_INIT;
	size_t tgt = 99;
	enum sb_dir d = SB_DIR_ANY;

	if (sb_plan_target(m, pos, dir, target, &tgt, &d, &err) == -1)
		fail_msg("target %s at %zu: %s", target ? target : "(null)",
		    pos, err.msg);
	assert_int_equal(tgt, want);
	assert_int_equal(d, want_dir);
}

static void
check_target_err(const struct sb_manifest *m, size_t pos, enum sb_dir dir,
    const char *target, int code, const char *msg)
{
	struct sb_err err = SB_ERR_INIT;
	size_t tgt = 99;
	enum sb_dir d = SB_DIR_ANY;

	assert_int_equal(sb_plan_target(m, pos, dir, target, &tgt, &d, &err),
	    -1);
	assert_int_equal(err.code, code);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("target %s: \"%s\", expected \"%s\"", target, err.msg,
		    msg);
	assert_int_equal(tgt, 99);
}

static void
test_targets(void **state)
{
	struct fake f;

	(void)state;
	linear(&f, NULL);
	check_target(&f.m, 0, SB_DIR_UP, NULL, 4, SB_DIR_UP);
	check_target(&f.m, 1, SB_DIR_UP, "head", 4, SB_DIR_UP);
	check_target(&f.m, 4, SB_DIR_UP, "head", 4, SB_DIR_UP);
	check_target(&f.m, 1, SB_DIR_UP, "c", 3, SB_DIR_UP);
	check_target(&f.m, 1, SB_DIR_UP, "+1", 2, SB_DIR_UP);
	check_target(&f.m, 1, SB_DIR_UP, "+3", 4, SB_DIR_UP);
	check_target(&f.m, 4, SB_DIR_DOWN, "-1", 3, SB_DIR_DOWN);
	check_target(&f.m, 4, SB_DIR_DOWN, "-4", 0, SB_DIR_DOWN);
	check_target(&f.m, 3, SB_DIR_DOWN, "base", 0, SB_DIR_DOWN);
	check_target(&f.m, 3, SB_DIR_DOWN, "a", 1, SB_DIR_DOWN);
	check_target(&f.m, 3, SB_DIR_DOWN, "c", 3, SB_DIR_DOWN);
	/* plan: the direction follows the target. */
	check_target(&f.m, 3, SB_DIR_ANY, "a", 1, SB_DIR_DOWN);
	check_target(&f.m, 1, SB_DIR_ANY, "d", 4, SB_DIR_UP);
	check_target(&f.m, 2, SB_DIR_ANY, "-2", 0, SB_DIR_DOWN);
	check_target(&f.m, 2, SB_DIR_ANY, "b", 2, SB_DIR_UP);

	check_target_err(&f.m, 2, SB_DIR_UP, "+3", SB_EREFUSED,
	    "target +3 is beyond the bundle: the database is at \"b\", 2 "
	    "revisions below the bundle's last (\"d\")");
	check_target_err(&f.m, 1, SB_DIR_DOWN, "-2", SB_EREFUSED,
	    "target -2 is beyond the bundle: the database is at \"a\", 1 "
	    "revision above the bundle's start (\"base\")");
	check_target_err(&f.m, 3, SB_DIR_UP, "a", SB_EREFUSED,
	    "target \"a\" is below the database's revision \"c\"");
	check_target_err(&f.m, 1, SB_DIR_DOWN, "c", SB_EREFUSED,
	    "target \"c\" is above the database's revision \"a\"");
	check_target_err(&f.m, 1, SB_DIR_UP, "zzz", SB_EREFUSED,
	    "target revision \"zzz\" is not in the bundle (base..d)");
	check_target_err(&f.m, 1, SB_DIR_UP, "-1", SB_EUSAGE,
	    "upgrade target \"-1\": use +N, head or a revision id");
	check_target_err(&f.m, 3, SB_DIR_DOWN, "+1", SB_EUSAGE,
	    "downgrade target \"+1\": use -N, base or a revision id");
	check_target_err(&f.m, 1, SB_DIR_UP, "+0", SB_EUSAGE,
	    "invalid target \"+0\": expected +N with N a positive number");
	check_target_err(&f.m, 1, SB_DIR_UP, "+x", SB_EUSAGE,
	    "invalid target \"+x\": expected +N with N a positive number");
	check_target_err(&f.m, 1, SB_DIR_DOWN, "-", SB_EUSAGE,
	    "invalid target \"-\": expected -N with N a positive number");
	check_target_err(&f.m, 1, SB_DIR_UP, "a;b", SB_EUSAGE,
	    "invalid target \"a;b\": expected head, base, a revision id, +N "
	    "or -N");

	/* A bundle from a: its From is a target, base is not. */
	linear(&f, "a");
	check_target(&f.m, 2, SB_DIR_DOWN, "a", 0, SB_DIR_DOWN);
	check_target(&f.m, 2, SB_DIR_DOWN, "-2", 0, SB_DIR_DOWN);
	check_target_err(&f.m, 2, SB_DIR_DOWN, "base", SB_EREFUSED,
	    "target base is not in the bundle (a..d)");
}

/* The form alone, before any bundle or database is looked at. */
static void
test_target_check(void **state)
{
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	assert_int_equal(sb_plan_target_check(NULL, SB_DIR_UP, &err), 0);
	assert_int_equal(sb_plan_target_check("head", SB_DIR_UP, &err), 0);
	assert_int_equal(sb_plan_target_check("base", SB_DIR_DOWN, &err), 0);
	assert_int_equal(sb_plan_target_check("+12", SB_DIR_UP, &err), 0);
	assert_int_equal(sb_plan_target_check("-3", SB_DIR_ANY, &err), 0);
	assert_int_equal(sb_plan_target_check("2864583ca021", SB_DIR_DOWN,
	    &err), 0);
	assert_int_equal(sb_plan_target_check("-3", SB_DIR_UP, &err), -1);
	assert_int_equal(err.code, SB_EUSAGE);
	assert_int_equal(sb_plan_target_check("+1", SB_DIR_DOWN, &err), -1);
	assert_int_equal(sb_plan_target_check("+", SB_DIR_UP, &err), -1);
	assert_int_equal(sb_plan_target_check("+1x", SB_DIR_UP, &err), -1);
	assert_int_equal(sb_plan_target_check("-99999999999999999999999",
	    SB_DIR_DOWN, &err), -1);
	assert_int_equal(sb_plan_target_check("", SB_DIR_UP, &err), -1);
	assert_int_equal(sb_plan_target_check("a b", SB_DIR_UP, &err), -1);
	assert_string_equal(err.msg, "invalid target \"a b\": expected head, "
	    "base, a revision id, +N or -N");
	/* Ids are 1-32 characters. */
	assert_int_equal(sb_plan_target_check(
	    "abcdefghijabcdefghijabcdefghijabc", SB_DIR_UP, &err), -1);
}

static void
test_plan_steps(void **state)
{
	struct fake f;
	struct sb_heads h = SB_HEADS_INIT;
	struct sb_plan p = SB_PLAN_INIT;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	merge(&f);
	sb_heads_build(&h, &f.m);
	assert_int_equal(sb_plan_make(&p, &f.m, &h, 1, 5, SB_DIR_UP, &err), 0);
	assert_int_equal(p.nsteps, 4);
	/* b replaces a; c joins b; m replaces b and c. */
	assert_int_equal(p.steps[0].rev, 1);
	assert_int_equal(p.steps[0].ndel, 1);
	assert_string_equal(p.steps[0].del[0], "a");
	assert_int_equal(p.steps[0].nins, 1);
	assert_string_equal(p.steps[0].ins[0], "b");
	assert_int_equal(p.steps[1].rev, 2);
	assert_int_equal(p.steps[1].ndel, 0);
	assert_string_equal(p.steps[1].ins[0], "c");
	assert_int_equal(p.steps[2].ndel, 2);
	assert_string_equal(p.steps[2].del[0], "b");
	assert_string_equal(p.steps[2].del[1], "c");
	assert_string_equal(p.steps[2].ins[0], "m");
	sb_plan_release(&p);

	/* Down from n to a: n, m, c, b, in that order, mirrored rewrites. */
	assert_int_equal(sb_plan_make(&p, &f.m, &h, 5, 1, SB_DIR_DOWN, &err),
	    0);
	assert_int_equal(p.nsteps, 4);
	assert_int_equal(p.steps[0].rev, 4);
	assert_int_equal(p.steps[1].rev, 3);
	assert_int_equal(p.steps[1].nins, 2);
	assert_string_equal(p.steps[1].ins[0], "b");
	assert_string_equal(p.steps[1].ins[1], "c");
	assert_string_equal(p.steps[1].del[0], "m");
	assert_int_equal(p.steps[2].rev, 2);
	assert_int_equal(p.steps[2].nins, 0);
	assert_string_equal(p.steps[2].del[0], "c");
	assert_int_equal(p.steps[3].rev, 1);
	assert_string_equal(p.steps[3].ins[0], "a");
	sb_plan_release(&p);

	/* Down to base: the last step leaves an empty table. */
	assert_int_equal(sb_plan_make(&p, &f.m, &h, 1, 0, SB_DIR_DOWN, &err),
	    0);
	assert_int_equal(p.nsteps, 1);
	assert_int_equal(p.steps[0].nins, 0);
	assert_string_equal(p.steps[0].del[0], "a");
	sb_plan_release(&p);

	/* Nothing to do. */
	assert_int_equal(sb_plan_make(&p, &f.m, &h, 3, 3, SB_DIR_UP, &err), 0);
	assert_int_equal(p.nsteps, 0);
	sb_plan_release(&p);
	sb_heads_release(&h);
}

static void
test_plan_irreversible(void **state)
{
	struct fake f;
	struct sb_heads h = SB_HEADS_INIT;
	struct sb_plan p = SB_PLAN_INIT;
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	linear(&f, NULL);
	f.revs[1].downgrade_entry = -1;		/* b */
	f.revs[1].file = (char *)"b_second.sql";
	sb_heads_build(&h, &f.m);
	assert_int_equal(sb_plan_make(&p, &f.m, &h, 4, 0, SB_DIR_DOWN, &err),
	    -1);
	assert_int_equal(err.code, SB_EREFUSED);
	assert_string_equal(err.msg, "revision \"b\" (b_second.sql) is "
	    "irreversible: it has no -- +downgrade section, so the database "
	    "cannot go down to \"base\"");
	assert_int_equal(p.nsteps, 0);
	/* Above it, a downgrade is fine; upgrades never care. */
	assert_int_equal(sb_plan_make(&p, &f.m, &h, 4, 2, SB_DIR_DOWN, &err),
	    0);
	assert_int_equal(p.nsteps, 2);
	sb_plan_release(&p);
	assert_int_equal(sb_plan_make(&p, &f.m, &h, 0, 4, SB_DIR_UP, &err), 0);
	assert_int_equal(p.nsteps, 4);
	sb_plan_release(&p);
	sb_heads_release(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heads_linear),
		cmocka_unit_test(test_heads_merge),
		cmocka_unit_test(test_position),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_target_check),
		cmocka_unit_test(test_plan_steps),
		cmocka_unit_test(test_plan_irreversible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
