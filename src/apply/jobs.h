/*
 * Parallel loading of a seed CSV's chunks (DESIGN.md "Parallel seed
 * loads"): workers, each a thread with its own connection and its own
 * spool file. The caller, alone on the bundle's stream, writes a chunk
 * into an idle worker's spool file, proves it against pass 1's SHA-256,
 * and only then hands it over, so no unproven byte is sent. The worker
 * loads it with COPY and commits it together with its chunk row.
 */
#ifndef SQLBUNDLE_APPLY_JOBS_H
#define SQLBUNDLE_APPLY_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqlbundle/err.h"

#include "db.h"
#include "state.h"

/* Most connections --jobs may ask for; the default is at most 4. */
#define SB_JOBS_MAX		16
#define SB_JOBS_DEFAULT_MAX	4

struct sb_jobs;

/* One chunk, filled by the caller between sb_jobs_idle and _start. */
struct sb_job {
	int		 fd;		/* the worker's spool file */
	uint64_t	 len;		/* bytes the caller wrote to it */
	const char	*copy_sql;	/* COPY ... FROM STDIN, borrowed */
	struct sb_chunk_row row;	/* its bookkeeping row */
	struct sb_query	 row_q;
	uint64_t	 start, end;	/* entry offsets, for messages */
	uint64_t	 line0, line1;	/* line breaks before start, end */
	uint64_t	 seq;		/* its place among the file's chunks */
	/* The outcome, once the worker is idle again. */
	bool		 done;		/* finished since it was started */
	bool		 held;		/* not committed: an earlier chunk
					   failed (rc -1, no error of its own) */
	int		 rc;
	struct sb_err	 err;
	struct sb_db_diag diag;
	char		 notices[4096];	/* server notices, newline-ended */
	size_t		 nnotices;	/* notices not kept */
};

/* The default of --jobs: the cores online, at most SB_JOBS_DEFAULT_MAX. */
unsigned sb_jobs_default(void);

/*
 * n workers connected with conninfo (as sb_db_connect), their commits
 * asynchronous like the run's intermediate ones; spool files in $TMPDIR
 * (default /var/tmp), unlinked at once.
 */
int	sb_jobs_open(struct sb_jobs **p, unsigned n, const char *conninfo,
	    struct sb_err *err);
/* Wait for every worker, then close them. NULL is fine. */
void	sb_jobs_close(struct sb_jobs *p);

/*
 * An idle worker's job (waits for one). Its last outcome is there
 * (done) until the next sb_jobs_start; its spool file is emptied.
 */
struct sb_job *sb_jobs_idle(struct sb_jobs *p, struct sb_err *err);
/*
 * Load the job (spool written, row set) on its worker. Jobs commit in
 * the order they were started, so what is committed is always a prefix
 * of the file's chunks: a job waits for those before it, and after a
 * failure the later ones roll back (held). A job whose open transaction
 * holds a lock an earlier one waits for (the same key in two chunks)
 * rolls back and loads again once it is its turn.
 */
void	sb_jobs_start(struct sb_jobs *p, struct sb_job *j);
/* A new file: commits start again from the next job started. Idle only. */
void	sb_jobs_reset(struct sb_jobs *p);
/* A job failed: the ones after it will not commit. */
bool	sb_jobs_halted(struct sb_jobs *p);
/* Wait until no worker is loading; then every job is done or unused. */
void	sb_jobs_drain(struct sb_jobs *p);
/* Job i (0..n) for reading outcomes after sb_jobs_drain. */
struct sb_job *sb_jobs_job(struct sb_jobs *p, unsigned i);
unsigned sb_jobs_count(const struct sb_jobs *p);

#endif
