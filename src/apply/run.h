/*
 * Pass 2 of an upgrade or downgrade: stream the bundle again, re-hash
 * each script and seed as it is read, and run the plan's steps, one
 * transaction per step (DESIGN.md "Applying").
 */
#ifndef SQLBUNDLE_APPLY_RUN_H
#define SQLBUNDLE_APPLY_RUN_H

#include <stddef.h>

#include "sqlbundle/bundle.h"
#include "sqlbundle/contents.h"
#include "sqlbundle/err.h"
#include "sqlbundle/limits.h"
#include "sqlbundle/manifest.h"

#include "db.h"
#include "plan.h"
#include "progress.h"
#include "state.h"

/*
 * Default bytes of CSV loaded between two commits: small enough that
 * --jobs connections share even a 26 MiB file (its first chunk loads
 * alone, with the script; bench/RESULTS.md), large enough that commits
 * and progress rows cost nothing next to the load.
 */
#define SB_CHUNK_DEFAULT (2u * 1024 * 1024)

struct sb_drift;

struct sb_run {
	struct sb_db		*db;
	const char		*conninfo;	/* of db, for workers */
	unsigned		 jobs;		/* connections per CSV seed */
	struct sb_bundle	*bundle;	/* opened, no entry read yet */
	const struct sb_manifest *m;
	const struct sb_plan	*plan;
	const char		*bundle_id;
	const struct sb_vtable	*vt;
	size_t			 chunk_size;
	/* Pass 1's cuts of each CSV seed: the only places chunks commit. */
	const struct sb_chunk_plan *chunks;
	struct sb_progress	*progress;
	/* The first step was interrupted earlier: where it stopped. */
	const struct sb_inflight *resume;
	/* Checked after every step (drift.h); NULL for none. */
	struct sb_drift		*drift;
	/* --lock-timeout (0: none) and --lock-wait-max (lockwait.h) */
	unsigned long		 lock_timeout_ms, lock_wait_max_ms;
};

/*
 * Run every step of run->plan in order. A step commits its script, its
 * seeds (a CSV in the chunks of run->chunks, each proven by its SHA-256
 * before it commits with a progress row; seed files together in chunks
 * of chunk_size bytes),
 * the version-table rewrite and its history row together. Errors name
 * the revision, source file and line (SB_EDB), the bundle entry
 * (verification failures), or the CSV entry and line.
 */
int	sb_run(const struct sb_run *run, struct sb_err *err);

#endif
