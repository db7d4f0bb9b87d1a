/*
 * Where a database stands on a bundle's chain, where a target is, and the
 * steps between (DESIGN.md "Position"). Pure: no database, no I/O.
 */
#ifndef SQLBUNDLE_APPLY_PLAN_H
#define SQLBUNDLE_APPLY_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>	/* ssize_t of manifest.h */

#include "sqlbundle/err.h"
#include "sqlbundle/manifest.h"

enum sb_dir {
	SB_DIR_ANY = 0,		/* for `plan`: whichever the target needs */
	SB_DIR_UP = 1,
	SB_DIR_DOWN = -1
};

/*
 * The version-table contents after each prefix of the bundle's apply
 * order: sets[k] (sorted ids, nsets[k] of them) after revisions 1..k;
 * sets[0] is the bundle's From ({} for base).
 */
struct sb_heads {
	char	***sets;
	size_t	 *nsets;
	size_t	  n;		/* revisions in the bundle */
};

#define SB_HEADS_INIT { NULL, NULL, 0 }

/*
 * Simulate the heads: from From, each revision k removes its parents and
 * adds itself.
 */
void	sb_heads_build(struct sb_heads *h, const struct sb_manifest *m);
void	sb_heads_release(struct sb_heads *h);

/*
 * The position (0..n) whose set equals the database's version-table rows
 * db[0..ndb) (any order). Otherwise SB_EREFUSED naming the database's
 * revisions and the bundle's range.
 */
int	sb_plan_position(const struct sb_heads *h, const struct sb_manifest *m,
	    char *const *db, size_t ndb, size_t *pos, struct sb_err *err);

/*
 * Check the form of a target alone (SB_EUSAGE as sb_plan_target), so a
 * bad command line is reported before anything else happens.
 */
int	sb_plan_target_check(const char *target, enum sb_dir dir,
	    struct sb_err *err);

/*
 * Resolve target ("head", "base", a revision id, "+N", "-N"; NULL means
 * head) from position pos. dir is the command's direction (SB_DIR_ANY
 * for `plan`); *dirp receives the direction that applies (SB_DIR_UP when
 * target == pos). Errors: SB_EUSAGE for a malformed target or a sign that
 * does not fit dir; SB_EREFUSED for an id not in the bundle, a target on
 * the wrong side of pos, or beyond the bundle's range.
 */
int	sb_plan_target(const struct sb_manifest *m, size_t pos, enum sb_dir dir,
	    const char *target, size_t *tgt, enum sb_dir *dirp,
	    struct sb_err *err);

/* One step: a revision run up or down, and its version-table rewrite. */
struct sb_step {
	size_t		 rev;		/* index into m->revs */
	enum sb_dir	 dir;
	const char	**del;		/* rows to delete (point into heads) */
	size_t		 ndel;
	const char	**ins;		/* rows to insert */
	size_t		 nins;
};

struct sb_plan {
	enum sb_dir	 dir;
	size_t		 pos, target;
	struct sb_step	*steps;
	size_t		 nsteps;
};

#define SB_PLAN_INIT { SB_DIR_UP, 0, 0, NULL, 0 }

/*
 * The steps from pos to target: upgrades of revisions pos+1..target, or
 * downgrades of pos..target+1 (in that order). A downgrade through an
 * irreversible revision is SB_EREFUSED naming it. The plan points into h.
 */
int	sb_plan_make(struct sb_plan *plan, const struct sb_manifest *m,
	    const struct sb_heads *h, size_t pos, size_t target,
	    enum sb_dir dir, struct sb_err *err);
void	sb_plan_release(struct sb_plan *plan);

/* Revision k (index into m->revs) has a downgrade. */
bool	sb_plan_reversible(const struct sb_manifest *m, size_t k);
/*
 * The last irreversible revision the plan upgrades through, or NULL:
 * once it is applied, no downgrade goes below it.
 */
const struct sb_manifest_rev *sb_plan_floor(const struct sb_plan *plan,
	    const struct sb_manifest *m);

/* "a, b" of a set of ids ("base" when empty), malloc'd. */
char	*sb_ids_join(char *const *ids, size_t n);

#endif
