/*
 * The database seam of sqlbundle-apply: db.c is the only file that
 * includes libpq-fe.h. Server errors become struct sb_err (SB_EDB,
 * message, detail, hint, SQLSTATE); struct sb_db_diag carries what a
 * caller needs to point at the source.
 */
#ifndef SQLBUNDLE_APPLY_DB_H
#define SQLBUNDLE_APPLY_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/err.h"

struct sb_db;

/* More about a failed statement. */
struct sb_db_diag {
	int	position;	/* PG_DIAG_STATEMENT_POSITION (characters,
				   1-based) or 0 */
	char	context[1024];	/* PG_DIAG_CONTEXT or "" */
	bool	lost;		/* the connection is gone */
};

/* Receives server notices (text as libpq formats it, newline-ended). */
typedef void (*sb_notice_fn)(void *arg, const char *message);

/*
 * Connect with conninfo (a connection string or URI; NULL for libpq's
 * defaults and PG* variables), fallback_application_name
 * sqlbundle-apply, client_encoding UTF8. Notices go to fn(arg, ...).
 */
int	sb_db_connect(struct sb_db **db, const char *conninfo,
	    sb_notice_fn fn, void *arg, struct sb_err *err);
void	sb_db_close(struct sb_db *db);
/*
 * sb_db_connect on a thread of its own, while the caller goes on (a
 * bundle is verified meanwhile; nothing is sent but the startup
 * packet). sb_db_open_finish waits for it and gives what sb_db_connect
 * gave; it must be called once for every sb_db_open_start.
 */
struct sb_db_opening;
struct sb_db_opening *sb_db_open_start(const char *conninfo,
	    sb_notice_fn fn, void *arg);
int	sb_db_open_finish(struct sb_db_opening *op, struct sb_db **db,
	    struct sb_err *err);

/*
 * A connection that never keeps its caller waiting (status's row): it
 * connects while the caller goes on, and sb_db_post sends a statement
 * without waiting for its result (answers are read as they come and
 * thrown away). -1 from sb_db_post: the connection is no use; drop it.
 * sb_db_post_wait waits (at most 10 s) until every post is answered.
 */
int	sb_db_connect_start(struct sb_db **db, const char *conninfo,
	    struct sb_err *err);
int	sb_db_post(struct sb_db *db, const char *sql, int nparams,
	    const char *const *params);
void	sb_db_post_wait(struct sb_db *db);
/* Name of the database connected to. */
const char *sb_db_name(const struct sb_db *db);

/* Rows of a result, as text copied out of libpq (NULL for SQL NULL). */
struct sb_rows {
	size_t	  nrows, ncols;
	char	**cells;		/* cells[r * ncols + c] */
};

#define SB_ROWS_INIT { 0, 0, NULL }

const char *sb_rows_get(const struct sb_rows *rows, size_t r, size_t c);
void	sb_rows_release(struct sb_rows *rows);

/*
 * Run one statement (text parameters $1..$n, none when nparams is 0)
 * and keep its rows in *rows when rows is not NULL. diag may be NULL.
 */
int	sb_db_query(struct sb_db *db, const char *sql, int nparams,
	    const char *const *params, struct sb_rows *rows,
	    struct sb_db_diag *diag, struct sb_err *err);
/* sb_db_query without parameters or rows (plain simple protocol). */
int	sb_db_exec(struct sb_db *db, const char *sql, struct sb_db_diag *diag,
	    struct sb_err *err);

/* A quoted identifier (malloc'd), or NULL with err. */
char	*sb_db_ident(struct sb_db *db, const char *name, struct sb_err *err);

/*
 * One query of a pipeline. With rows, its rows are kept there: such a
 * read runs once per run, so it is not prepared (see sb_db_pipeline).
 */
struct sb_query {
	const char		*sql;
	int			 nparams;
	const char *const	*params;
	struct sb_rows		*rows;
};

/*
 * Send q[0..n) in pipeline mode followed by one sync (one round trip),
 * then read every result. On the first failure: -1, *failed its index,
 * err and diag filled (the rest of the pipeline is skipped by the
 * server). The connection is out of pipeline mode on return; a
 * transaction block that the queries opened is left as it is (the
 * caller rolls back a failed one). A query with parameters (the
 * bookkeeping) runs as a statement prepared once per session from its
 * text; a script's DEALLOCATE or DISCARD makes it prepared again.
 */
int	sb_db_pipeline(struct sb_db *db, const struct sb_query *q, size_t n,
	    size_t *failed, struct sb_db_diag *diag, struct sb_err *err);

/*
 * While a statement or pipeline has waited ms for its results, call
 * fn(arg) once (fn NULL: never). sqlbundle-apply names who blocks it.
 */
typedef void (*sb_watch_fn)(void *arg);
void	sb_db_watch(struct sb_db *db, unsigned long ms, sb_watch_fn fn,
	    void *arg);
/* The server process of the session (pg_backend_pid()). */
int	sb_db_pid(const struct sb_db *db);

/* True if a transaction block is open (idle or failed). */
bool	sb_db_in_transaction(const struct sb_db *db);
/* True if the connection is gone. */
bool	sb_db_lost(const struct sb_db *db);
/* ROLLBACK if a transaction is open; errors are ignored. */
void	sb_db_rollback(struct sb_db *db);

/*
 * COPY FROM STDIN: begin with the COPY statement, send data, end (which
 * reads COPY's result). A failed COPY reports in err and diag (the
 * CONTEXT names the line). sb_db_copy_abort cancels one in progress.
 */
int	sb_db_copy_begin(struct sb_db *db, const char *sql,
	    struct sb_db_diag *diag, struct sb_err *err);
int	sb_db_copy_put(struct sb_db *db, const void *buf, size_t len,
	    struct sb_db_diag *diag, struct sb_err *err);
int	sb_db_copy_end(struct sb_db *db, struct sb_db_diag *diag,
	    struct sb_err *err);
/*
 * End a COPY of a query of several (COPY ...; COPY ...): 1 when the
 * query's next COPY has begun, 0 when the query is done, -1 on failure,
 * with *next_failed when this COPY ended and the statement after it
 * failed. Such a query costs one round trip per COPY, not two.
 */
int	sb_db_copy_next(struct sb_db *db, bool *next_failed,
	    struct sb_db_diag *diag, struct sb_err *err);
void	sb_db_copy_abort(struct sb_db *db);

#endif
