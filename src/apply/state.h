/*
 * The applier's bookkeeping in the database (DESIGN.md "Applying"): the
 * version table, sqlbundle.project, sqlbundle.history (append-only) and
 * sqlbundle.progress (a step in flight).
 */
#ifndef SQLBUNDLE_APPLY_STATE_H
#define SQLBUNDLE_APPLY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"

#include "db.h"

/* --version-table SCHEMA.TABLE, with its quoted form. */
struct sb_vtable {
	char	*schema, *table;
	char	*name;		/* "schema.table" as given, for messages */
	char	*quoted;	/* "schema"."table" */
};

#define SB_VTABLE_INIT { NULL, NULL, NULL, NULL }

/* Split spec at its first dot (SB_EUSAGE when it has none). */
int	sb_vtable_parse(struct sb_vtable *vt, const char *spec,
	    struct sb_err *err);
/* Fill vt->quoted (needs a connection for the escaping rules). */
int	sb_vtable_quote(struct sb_vtable *vt, struct sb_db *db,
	    struct sb_err *err);
void	sb_vtable_release(struct sb_vtable *vt);

/* The row of sqlbundle.progress: an interrupted step. */
struct sb_inflight {
	char		 revision[64];
	char		 direction[16];
	char		 bundle_id[80];
	char		 script_sha[80];
	long long	 statements_done;
	long long	 seed_entry;
	long long	 seed_offset;
	long long	 seed_line;
};

/* The latest upgrade of a revision recorded in history. */
struct sb_applied {
	char	*revision;
	char	*script_sha;
};

struct sb_state {
	bool		 has_vt;	/* the version table exists */
	bool		 has_book;	/* the sqlbundle tables exist */
	bool		 has_drift;	/* sqlbundle.drift exists */
	char		**heads;	/* version-table rows, sorted */
	size_t		 nheads;
	char		*project;	/* bound project, NULL if none */
	struct sb_inflight *inflight;	/* progress rows */
	size_t		 ninflight;
	struct sb_applied *applied;	/* per revision, latest upgrade */
	size_t		 napplied;
	bool		 has_outcome;	/* history records failed attempts */
	bool		 has_running;	/* sqlbundle.running exists */
	bool		 has_chunks;	/* sqlbundle.chunks exists */
	bool		 has_all;	/* everything sb_state_ensure makes */
	bool		 has_project, has_history, has_progress;
};

#define SB_STATE_INIT { false, false, false, NULL, 0, NULL, NULL, 0, NULL, 0, \
	false, false, false, false, false, false, false }

/*
 * Create what is missing: the version table (exactly as Alembic's),
 * schema sqlbundle, its tables, and the trigger keeping history
 * append-only. Nothing is done when st (read under the same lock) saw
 * them all.
 */
int	sb_state_ensure(struct sb_db *db, const struct sb_vtable *vt,
	    const struct sb_state *st, struct sb_err *err);
/* Read the state; missing tables read as empty. */
int	sb_state_read(struct sb_db *db, const struct sb_vtable *vt,
	    struct sb_state *st, struct sb_err *err);
void	sb_state_release(struct sb_state *st);
/* Latest recorded upgrade script SHA-256 of rev, or NULL. */
const char *sb_state_applied_sha(const struct sb_state *st, const char *rev);

/*
 * The latest `limit` history rows, newest first: finished_at (UTC text),
 * direction, revision, bundle_id, key_id, db_user, script_sha256,
 * applier_version. No history table: no rows.
 */
/*
 * The latest sqlbundle.drift row: checked_at (UTC text), command,
 * revision, objects, outcome, report. None (or no table): no rows.
 */
int	sb_state_last_drift(struct sb_db *db, struct sb_rows *rows,
	    struct sb_err *err);
int	sb_state_history(struct sb_db *db, int limit, struct sb_rows *rows,
	    struct sb_err *err);

/* Bind the database to project (first apply); a no-op when bound. */
int	sb_state_bind(struct sb_db *db, const char *project,
	    const char *bundle_id, struct sb_err *err);

/*
 * Take the session-level advisory lock of appliers (outside any
 * transaction). Without wait, a lock held elsewhere is SB_ELOCKED naming
 * the holder; with wait, block until it is free.
 */
int	sb_state_lock(struct sb_db *db, bool wait, struct sb_err *err);

/* The step a bookkeeping row is about, and the bundle it came from. */
struct sb_book_step {
	const char	*bundle_id, *key_id;
	const char	*revision, *direction;	/* "upgrade" or "downgrade" */
	const char	*script_sha;
};

/* Where an interrupted step resumes (a sqlbundle.progress row). */
struct sb_book_at {
	size_t		 statements;	/* statements done (transactional: false) */
	size_t		 seed_entry;	/* seed file index within the step */
	uint64_t	 seed_offset;	/* bytes of it committed */
	uint64_t	 seed_line;	/* line breaks in them */
};

/* The end-of-step statement with its parameters, owned until released. */
struct sb_book {
	char		*sql;
	const char	*p[8];
	char		*del, *ins;	/* "{a,b}" array literals */
};

/*
 * The end of a step in one statement: the version table loses del and
 * gains ins, the progress row goes, the history row is written (its
 * started_at is the progress row's when the step was resumed). Returns
 * the query to put in the step's transaction; b holds what it points to.
 */
struct sb_query sb_state_step_done(struct sb_book *b,
	    const struct sb_vtable *vt, const struct sb_book_step *st,
	    const char *const *del, size_t ndel, const char *const *ins,
	    size_t nins);
void	sb_state_book_release(struct sb_book *b);

/* Upsert the step's progress row (autocommit, or the open transaction). */
int	sb_state_progress(struct sb_db *db, const struct sb_book_step *st,
	    const struct sb_book_at *at, struct sb_db_diag *diag,
	    struct sb_err *err);

/*
 * sqlbundle.chunks: the chunks of a seed CSV that a parallel load
 * committed, each with its own row in its own transaction, so a rerun
 * skips exactly those. The rows of a step go when its seed file is done.
 */
struct sb_chunk_row {
	char		 entry[24], end[24];
	char		 sha[SB_SHA256_HEX];
	const char	*p[5];
};

/* The insert of a chunk's row (seed file seed_entry, ending at end). */
struct sb_query sb_state_chunk_row(struct sb_chunk_row *b,
	    const struct sb_book_step *st, size_t seed_entry, uint64_t end,
	    const unsigned char sha[SB_SHA256_LEN]);
/* Rows (chunk_end, sha256) of seed file seed_entry of the step. */
int	sb_state_chunks_read(struct sb_db *db, const struct sb_book_step *st,
	    size_t seed_entry, struct sb_rows *rows, struct sb_err *err);
/* Delete the step's chunk rows (in the open transaction). */
int	sb_state_chunks_clear(struct sb_db *db, const struct sb_book_step *st,
	    struct sb_db_diag *diag, struct sb_err *err);

/*
 * sqlbundle.running: the applier at work (an unlogged row, for status),
 * written on a connection of its own (sb_db_connect_start) that never
 * keeps the run waiting; backend_pid is the run's session, which holds
 * the lock. Begin replaces any row a dead applier left. -1: the
 * connection is no use (the run does not depend on it). End waits until
 * the row is gone.
 */
int	sb_state_running_begin(struct sb_db *db, long backend_pid, long pid,
	    const char *command, const char *bundle_id);
int	sb_state_running_update(struct sb_db *db, size_t step, size_t nsteps,
	    const char *revision, const char *direction, uint64_t done,
	    uint64_t total);
void	sb_state_running_end(struct sb_db *db);

/* A failed attempt of step st: a history row with outcome 'failed'. */
int	sb_state_fail(struct sb_db *db, const struct sb_book_step *st,
	    const char *sqlstate, const char *message, struct sb_err *err);

/*
 * The applier running now, if any (one row or none): pid, since (UTC),
 * command, step, step_count, revision, direction, bytes_done,
 * bytes_total, bundle_id.
 */
int	sb_state_live(struct sb_db *db, const struct sb_state *st,
	    struct sb_rows *rows, struct sb_err *err);
/*
 * The latest failed attempt when no step completed after it (one row or
 * none): failed_at (UTC), direction, revision, bundle_id, sqlstate,
 * message.
 */
int	sb_state_last_failure(struct sb_db *db, const struct sb_state *st,
	    struct sb_rows *rows, struct sb_err *err);
/* Chunk rows a parallel load of the interrupted step f committed. */
int	sb_state_chunk_count(struct sb_db *db, const struct sb_state *st,
	    const struct sb_inflight *f, long long *n, struct sb_err *err);

#endif
