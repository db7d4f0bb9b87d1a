/*
 * Schema drift at the store: the live fingerprint of the database,
 * compared with the one the bundle expects at its revision (DESIGN.md
 * "Schema fingerprints" and "Drift").
 */
#ifndef SQLBUNDLE_APPLY_DRIFT_H
#define SQLBUNDLE_APPLY_DRIFT_H

#include <stdbool.h>

#include "sqlbundle/bundle.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fingerprint.h"
#include "sqlbundle/manifest.h"

#include "db.h"
#include "progress.h"

/* The fingerprint of the connected database, leaving out what x names. */
int	sb_drift_live(struct sb_db *db, const struct sb_fp_excl *x,
	    struct sb_fp *fp, struct sb_err *err);

/* One comparison. */
struct sb_drift_result {
	const char		*revision;	/* where the database is */
	const struct sb_fp_rev	*expected;	/* NULL: none recorded */
	char			 found[SB_SHA256_HEX];
	struct sb_fp_diff	 diff;
};

#define SB_DRIFT_RESULT_INIT { NULL, NULL, "", SB_FP_DIFF_INIT }

/* What `plan`, `upgrade`, `downgrade` and `drift` check with. */
struct sb_drift {
	struct sb_fp_file	 file;		/* the bundle's FINGERPRINTS */
	bool			 have;		/* the bundle carries one */
	struct sb_fp_excl	 excl;		/* its patterns + bookkeeping */
	bool			 allow;		/* --allow-drift */
	bool			 record;	/* sqlbundle.drift exists */
	const char		*command;	/* for sqlbundle.drift */
	const char		*bundle_id;
	struct sb_progress	*progress;
	/* A check made before sqlbundle.drift existed, recorded later. */
	struct sb_drift_result	*pending;
	const char		*pending_outcome;
	/*
	 * --fingerprints: the schema before the run and after each step,
	 * written as a FINGERPRINTS file when the run ends; NULL for none.
	 */
	struct sb_fp_file	*rec;
	struct sb_fp_excl	 rec_excl;	/* --exclude + bookkeeping */
};


/*
 * Read the bundle's FINGERPRINTS, its first entry, from pass 2 (b must
 * not have moved yet); without one d->have stays false. vtable is the
 * version table "schema.table", left out as the bookkeeping is.
 */
int	sb_drift_load(struct sb_drift *d, struct sb_bundle *b,
	    const struct sb_manifest *m, const char *vtable,
	    struct sb_err *err);
/*
 * Compare the database with the expected schema at revision `at`: live
 * is its description when the caller has it (NULL: queried here).
 */
int	sb_drift_compare(const struct sb_drift *d, struct sb_db *db,
	    const char *at, const struct sb_fp *live,
	    struct sb_drift_result *res, struct sb_err *err);
void	sb_drift_result_release(struct sb_drift_result *res);

/*
 * Print a result: a JSON "drift" event (when is "before", "after" or
 * "report"), or human lines on fp (NULL: the progress log).
 */
void	sb_drift_print(const struct sb_drift *d,
	    const struct sb_drift_result *res, const char *when, bool allowed,
	    FILE *fp);
/*
 * Append a row to sqlbundle.drift (when it exists): outcome "none",
 * "refused", "allowed", "reported" or "unchecked".
 */
int	sb_drift_record(const struct sb_drift *d, struct sb_db *db,
	    const struct sb_drift_result *res, const char *outcome,
	    struct sb_err *err);

/*
 * The check before the first statement (when "before") and after each
 * step ("after"), at revision `at`: on drift without --allow-drift,
 * SB_EDRIFT naming each object (after a step: the step stays committed,
 * the run stops before the next). Drift allowed is recorded and the
 * run goes on. check false: no comparison (a resumed run's start).
 *
 * With d->rec the schema is also appended to it as the record of `at`
 * (upgrade: the SHA-256 of at's upgrade script, NULL for the bundle's
 * From), one catalog query serving both when the exclusions agree.
 */
int	sb_drift_check(struct sb_drift *d, struct sb_db *db, const char *at,
	    const char *upgrade, const char *when, bool check,
	    struct sb_err *err);
/* Record the pending check, now that sqlbundle.drift exists. */
int	sb_drift_flush(struct sb_drift *d, struct sb_db *db,
	    struct sb_err *err);
void	sb_drift_release(struct sb_drift *d);

#endif
