/*
 * The step helpers of pass 2 (step.c) and the context they work in:
 * scripts read from the bundle, the one way a pipeline is sent, rolled
 * back and its failure named, progress rows. Calls go one way: run.c
 * (the steps) calls batch.c and load.c (the seeds), batch.c calls
 * load.c, all of them call step.c, and step.c calls none of them.
 */
#ifndef SQLBUNDLE_APPLY_STEP_H
#define SQLBUNDLE_APPLY_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/sqlsplit.h"

#include "jobs.h"
#include "lockwait.h"
#include "run.h"

struct sb_batch;

/* Bytes read from the archive at a time (and sent to COPY at most). */
#define SB_STEP_BUF	(1024 * 1024)
/* The header parser decides once it holds SB_CSV_HEADER_MAX bytes. */
_Static_assert(SB_STEP_BUF >= SB_CSV_HEADER_MAX, "a CSV header fits");

/* A script or SQL seed read whole, statements NUL-terminated in place. */
struct sb_script {
	char		*text;
	size_t		 len;
	struct sb_stmt	*stmts;
	size_t		 n;
	bool		 loaded;
};

/*
 * Durability of commits. A run's commits are asynchronous except the
 * last one and those next to non-transactional statements: WAL is
 * flushed in order, so whatever a server crash loses is a suffix of the
 * run's commits (each a revision or a chunk with its bookkeeping), and a
 * rerun applies exactly that suffix again. docs/DESIGN.md, "Durability".
 */
#define SB_STEP_ASYNC		"SET synchronous_commit = off"
#define SB_STEP_SYNC		"RESET synchronous_commit"
#define SB_STEP_SYNC_LOCAL	"SET LOCAL synchronous_commit TO DEFAULT"

/* One run's context (run.c makes it), released once at its end. */
struct sb_step_ctx {
	const struct sb_run	*run;
	struct sb_script	*scripts;	/* per step */
	ssize_t			*step_of_rev;	/* per revision, or -1 */
	char			*buf;		/* SB_STEP_BUF bytes */
	struct sb_sha256	*chunk_sha;	/* bytes since a chunk's cut */
	uint64_t		 since_commit;	/* seed bytes not committed */
	struct sb_jobs		*jobs;		/* parallel loads, or NULL */
	struct sb_batch		*batch;		/* small CSV seeds, or NULL */
	struct sb_lockwait	 lw;
};

/* The statements of a script inside a pipeline, for naming a failure. */
struct sb_step_src {
	const struct sb_script	*s;
	size_t			 first;		/* q index of statement 0 */
	const char		*file;		/* for messages */
	unsigned		 base_line;	/* file line of script line 1 */
};

const struct sb_manifest_rev *sb_step_rev(const struct sb_step_ctx *c,
	    size_t si);
/* "upgrade" or "downgrade". */
const char *sb_step_dir_name(enum sb_dir d);
/* Bookkeeping identity of step si. */
struct sb_book_step sb_step_book(const struct sb_step_ctx *c, size_t si);
/* The hint of a lost connection: a rerun resumes. */
void	sb_step_lost_hint(struct sb_err *err, const struct sb_db_diag *diag);

/*
 * Read the current entry whole (at most max bytes), re-hash it (a mismatch is an error) and
 * split it into statements. Release with sb_step_script_free.
 */
int	sb_step_read(struct sb_step_ctx *c, const char *path, size_t max,
	    struct sb_script *s, struct sb_err *err);
void	sb_step_script_free(struct sb_script *s);

/*
 * Send q[0..k) as one pipeline for step si. On failure roll back and name
 * it: a statement of src by revision, file and line; anything else by
 * the revision and `what` (may be NULL). A pipeline that begins with
 * BEGIN and c->lw.local_sql (a whole transaction) is sent again while
 * the lock-retry policy allows.
 */
int	sb_step_pipeline(struct sb_step_ctx *c, size_t si,
	    const struct sb_query *q, size_t k, const struct sb_step_src *src,
	    const char *what, struct sb_err *err);
/* Name statement i of src that failed: revision, file and line. */
int	sb_step_stmt_fail(const struct sb_manifest_rev *rev,
	    const struct sb_step_src *src, size_t i,
	    const struct sb_db_diag *diag, struct sb_err *err);
/* Append the statements of s to q at k; the new k. */
size_t	sb_step_add_stmts(struct sb_query *q, size_t k,
	    const struct sb_script *s);
/* Append BEGIN and the step's lock timeout (lockwait.h); the new k. */
size_t	sb_step_add_begin(struct sb_step_ctx *c, struct sb_query *q, size_t k);
/* The statements of s in the open transaction (or BEGIN first). */
int	sb_step_statements(struct sb_step_ctx *c, size_t si,
	    const struct sb_script *s, const char *file, unsigned base_line,
	    bool begin, struct sb_err *err);
/* Session commits synchronous (on: the session's default) or not. */
int	sb_step_sync(struct sb_step_ctx *c, size_t si, bool on,
	    struct sb_err *err);
/* Record step si's progress row (autocommit, or in the transaction). */
int	sb_step_progress(struct sb_step_ctx *c, size_t si,
	    const struct sb_book_at *at, struct sb_err *err);

#endif
