/*
 * Everything sqlbundle-apply says to PostgreSQL goes through here: the
 * only user of libpq, where its errors become struct sb_err.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/sqlsplit.h"

#include "db.h"

/* Largest CopyData message sent (see sb_db_copy_put). */
#define SB_DB_COPY_MSG	(64 * 1024)
/* Statements prepared at a time (texts of parameterized queries). */
#define SB_DB_PREPARED	4

/*
 * A parameterized pipeline query, prepared on the session as
 * "sqlbundle_<gen>_<slot>": parsed, analyzed and planned once, not once
 * per revision. ready once the server said so; a slot only sent stays
 * pending until its result is in.
 */
struct prepared {
	char	*sql;
	bool	 ready;
};

struct sb_db {
	PGconn		*conn;
	sb_notice_fn	 fn;
	void		*arg;
	struct prepared	 prep[SB_DB_PREPARED];
	unsigned	 gen;		/* bumped when statements may be gone */
	sb_watch_fn	 watch;
	void		*watch_arg;
	unsigned long	 watch_ms;
	/* sb_db_connect_start: still connecting, and posts not answered. */
	PostgresPollingStatusType connecting;
	unsigned	 posted;
};

/* A posting connection gives up on a server that does not answer. */
#define SB_DB_POST_WAIT_MS	10000

static void
notice_cb(void *arg, const char *message)
{
	struct sb_db *db = arg;

	if (db->fn != NULL)
		db->fn(db->arg, message);
}

/* Copy the first line of s into buf; the other lines into rest. */
static void
split_lines(const char *s, char *buf, size_t cap, char *rest, size_t rcap)
{
	size_t n = strcspn(s, "\n");
	const char *r;
	size_t rl;

	if (n >= cap)
		n = cap - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (rest == NULL)
		return;
	rest[0] = '\0';
	r = s + strcspn(s, "\n");
	while (*r == '\n' || *r == '\t' || *r == ' ')
		r++;
	snprintf(rest, rcap, "%s", r);
	rl = strlen(rest);
	while (rl > 0 && (rest[rl - 1] == '\n' || rest[rl - 1] == ' '))
		rest[--rl] = '\0';
	/* Continuation lines of libpq messages start with a tab. */
	for (char *p = rest; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

/*
 * Whether a failure (SQLSTATE f, NULL for libpq's own errors) means the
 * server is gone. libpq notices a closed socket on its next read only,
 * so for its own errors read once more before deciding: a server that
 * shut down or crashed reads "lost" whatever phase the client was in.
 */
static bool
connection_lost(struct sb_db *db, const char *f)
{
	if (f != NULL)
		return strncmp(f, "57P", 3) == 0 || strncmp(f, "08", 2) == 0 ||
		    PQstatus(db->conn) == CONNECTION_BAD;
	if (PQstatus(db->conn) != CONNECTION_BAD)
		(void)PQconsumeInput(db->conn);
	return PQstatus(db->conn) == CONNECTION_BAD ||
	    strstr(PQerrorMessage(db->conn), "server closed the connection") !=
	    NULL;
}

/* Fill err (and diag) from a failed result, or from the connection. */
static int
fail(struct sb_db *db, const PGresult *res, struct sb_db_diag *diag,
    struct sb_err *err)
{
	const char *primary = NULL, *f;
	char line[1024];
	bool lost;

	if (res != NULL)
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	f = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	lost = connection_lost(db, f);
	if (diag != NULL) {
		memset(diag, 0, sizeof(*diag));
		diag->lost = lost;
	}
	if (primary == NULL) {
		const char *m = res != NULL ? PQresultErrorMessage(res) : "";

		if (m == NULL || *m == '\0')
			m = PQerrorMessage(db->conn);
		split_lines(m, line, sizeof(line), NULL, 0);
		if (line[0] == '\0')
			snprintf(line, sizeof(line), "unknown error");
		if (lost)
			sb_err_set(err, SB_EDB,
			    "connection to the database lost: %s", line);
		else
			sb_err_set(err, SB_EDB, "%s", line);
		return -1;
	}
	if (lost)
		sb_err_set(err, SB_EDB, "connection to the database lost: %s",
		    primary);
	else
		sb_err_set(err, SB_EDB, "%s", primary);
	if ((f = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) != NULL)
		sb_err_detail(err, "%s", f);
	if ((f = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT)) != NULL)
		sb_err_hint(err, "%s", f);
	if ((f = PQresultErrorField(res, PG_DIAG_SQLSTATE)) != NULL)
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", f);
	if (diag != NULL) {
		if ((f = PQresultErrorField(res,
		    PG_DIAG_STATEMENT_POSITION)) != NULL)
			diag->position = atoi(f);
		if ((f = PQresultErrorField(res, PG_DIAG_CONTEXT)) != NULL)
			snprintf(diag->context, sizeof(diag->context), "%s", f);
	}
	return -1;
}

/* Connection keywords: conninfo (may be NULL) and ours after it. */
static void
conn_params(const char *conninfo, const char **keys, const char **vals)
{
	int n = 0;

	/* dbname first: the keys after it override what it expands to. */
	if (conninfo != NULL) {
		keys[n] = "dbname";
		vals[n++] = conninfo;
	}
	keys[n] = "fallback_application_name";
	vals[n++] = "sqlbundle-apply";
	keys[n] = "client_encoding";
	vals[n++] = "UTF8";
	keys[n] = NULL;
	vals[n] = NULL;
}

/* libpq's reason a connection failed, into err. */
static int
connect_fail(struct sb_db *db, struct sb_err *err)
{
	char line[1024], rest[1024];

	split_lines(PQerrorMessage(db->conn), line, sizeof(line), rest,
	    sizeof(rest));
	sb_err_set(err, SB_EDB, "could not connect to the database: %s", line);
	if (rest[0])
		sb_err_detail(err, "%s", rest);
	sb_db_close(db);
	return -1;
}

int
sb_db_connect(struct sb_db **dbp, const char *conninfo, sb_notice_fn fn,
    void *arg, struct sb_err *err)
{
	const char *keys[4], *vals[4];
	struct sb_db *db;

	*dbp = NULL;
	conn_params(conninfo, keys, vals);
	db = sb_calloc(1, sizeof(*db));
	db->fn = fn;
	db->arg = arg;
	db->connecting = PGRES_POLLING_OK;
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL) {
		free(db);
		return sb_err_set(err, SB_EDB,
		    "could not connect to the database: out of memory");
	}
	if (PQstatus(db->conn) != CONNECTION_OK)
		return connect_fail(db, err);
	PQsetNoticeProcessor(db->conn, notice_cb, db);
	*dbp = db;
	return 0;
}

struct sb_db_opening {
	pthread_t	 th;
	bool		 started;	/* else sb_db_open_finish connects */
	const char	*conninfo;
	sb_notice_fn	 fn;
	void		*arg;
	struct sb_db	*db;
	struct sb_err	 err;
	int		 ret;
};

static void *
opening_main(void *arg)
{
	struct sb_db_opening *op = arg;

	op->ret = sb_db_connect(&op->db, op->conninfo, op->fn, op->arg,
	    &op->err);
	return NULL;
}

struct sb_db_opening *
sb_db_open_start(const char *conninfo, sb_notice_fn fn, void *arg)
{
	struct sb_db_opening *op = sb_calloc(1, sizeof(*op));
	sigset_t all, old;

	*op = (struct sb_db_opening){ .conninfo = conninfo, .fn = fn,
	    .arg = arg, .err = SB_ERR_INIT };
	/* Signals stay the caller's: they must interrupt its work. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	op->started = pthread_create(&op->th, NULL, opening_main, op) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return op;
}

int
sb_db_open_finish(struct sb_db_opening *op, struct sb_db **dbp,
    struct sb_err *err)
{
	int ret;

	if (op->started)
		pthread_join(op->th, NULL);
	else
		opening_main(op);
	*dbp = op->db;
	if ((ret = op->ret) == -1)
		*err = op->err;
	free(op);
	return ret;
}

/*
 * One step of connecting, or (wait) every step: 1 connected, 0 not yet,
 * -1 failed. The server starts its session meanwhile.
 */
static int
connect_poll(struct sb_db *db, bool wait)
{
	unsigned long waited = 0;

	while (db->connecting != PGRES_POLLING_OK) {
		struct pollfd p = { PQsocket(db->conn),
		    db->connecting == PGRES_POLLING_READING ? POLLIN : POLLOUT,
		    0 };
		int r;

		if (db->connecting == PGRES_POLLING_FAILED)
			return -1;
		r = poll(&p, 1, wait ? 100 : 0);
		if (r == -1 && errno != EINTR)
			return -1;
		if (r <= 0 && !wait)
			return 0;
		if (r <= 0 && (waited += 100) >= SB_DB_POST_WAIT_MS)
			return -1;
		if (r > 0)
			db->connecting = PQconnectPoll(db->conn);
	}
	return PQstatus(db->conn) == CONNECTION_OK ? 1 : -1;
}

int
sb_db_connect_start(struct sb_db **dbp, const char *conninfo,
    struct sb_err *err)
{
	const char *keys[4], *vals[4];
	struct sb_db *db;

	*dbp = NULL;
	conn_params(conninfo, keys, vals);
	db = sb_calloc(1, sizeof(*db));
	db->conn = PQconnectStartParams(keys, vals, 1);
	if (db->conn == NULL) {
		free(db);
		return sb_err_set(err, SB_EDB,
		    "could not connect to the database: out of memory");
	}
	if (PQstatus(db->conn) == CONNECTION_BAD)
		return connect_fail(db, err);
	/* As if PQconnectPoll had said so; the first step sends the
	 * startup packet. */
	db->connecting = PGRES_POLLING_WRITING;
	if (connect_poll(db, false) == -1)
		return connect_fail(db, err);
	*dbp = db;
	return 0;
}

/* Take the answers to posts that have arrived; -1 if the link is gone. */
static int
take_posted(struct sb_db *db)
{
	PGresult *res;

	if (!PQconsumeInput(db->conn))
		return -1;
	while (db->posted > 0 && !PQisBusy(db->conn)) {
		if ((res = PQgetResult(db->conn)) == NULL)
			continue;	/* the end of one statement's results */
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
			db->posted--;
		PQclear(res);
	}
	return 0;
}

int
sb_db_post(struct sb_db *db, const char *sql, int nparams,
    const char *const *params)
{
	if (connect_poll(db, true) == -1)
		return -1;
	if (PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF &&
	    PQenterPipelineMode(db->conn) != 1)
		return -1;
	if (take_posted(db) == -1 ||
	    PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL,
	    0) != 1 || PQpipelineSync(db->conn) != 1)
		return -1;
	db->posted++;
	return 0;
}

void
sb_db_post_wait(struct sb_db *db)
{
	struct pollfd p = { PQsocket(db->conn), POLLIN, 0 };
	unsigned long waited = 0;

	while (db->posted > 0 && db->connecting == PGRES_POLLING_OK &&
	    take_posted(db) == 0 && db->posted > 0 &&
	    waited < SB_DB_POST_WAIT_MS) {
		if (poll(&p, 1, 100) == 0)
			waited += 100;
	}
}

/* Forget every prepared statement: later uses prepare under new names. */
static void
forget_prepared(struct sb_db *db)
{
	for (size_t i = 0; i < SB_DB_PREPARED; i++) {
		free(db->prep[i].sql);
		db->prep[i] = (struct prepared){ NULL, false };
	}
	db->gen++;
}

/*
 * A script's DEALLOCATE or DISCARD may drop the session's prepared
 * statements: prepare again, under new names (the old may still exist).
 */
static void
note_statement(struct sb_db *db, const char *sql)
{
	size_t pos = 0, n;
	const char *w;

	if (!sb_sql_next_word(sql, strlen(sql), &pos, &w, &n))
		return;
	if ((n == 10 && strncasecmp(w, "deallocate", n) == 0) ||
	    (n == 7 && strncasecmp(w, "discard", n) == 0))
		forget_prepared(db);
}

void
sb_db_close(struct sb_db *db)
{
	if (db == NULL)
		return;
	PQfinish(db->conn);
	for (size_t i = 0; i < SB_DB_PREPARED; i++)
		free(db->prep[i].sql);
	free(db);
}

const char *
sb_db_name(const struct sb_db *db)
{
	return PQdb(db->conn);
}

const char *
sb_rows_get(const struct sb_rows *rows, size_t r, size_t c)
{
	if (r >= rows->nrows || c >= rows->ncols)
		return NULL;
	return rows->cells[r * rows->ncols + c];
}

void
sb_rows_release(struct sb_rows *rows)
{
	for (size_t i = 0; i < rows->nrows * rows->ncols; i++)
		free(rows->cells[i]);
	free(rows->cells);
	rows->cells = NULL;
	rows->nrows = rows->ncols = 0;
}

static void
keep_rows(const PGresult *res, struct sb_rows *rows)
{
	size_t nr = (size_t)PQntuples(res), nc = (size_t)PQnfields(res);

	rows->nrows = nr;
	rows->ncols = nc;
	rows->cells = sb_calloc(nr * nc + 1, sizeof(char *));
	for (size_t r = 0; r < nr; r++)
		for (size_t c = 0; c < nc; c++)
			if (!PQgetisnull(res, (int)r, (int)c))
				rows->cells[r * nc + c] = sb_strdup(
				    PQgetvalue(res, (int)r, (int)c));
}

/*
 * Until a result can be read without blocking: once it has taken
 * watch_ms, call the watch (once).
 */
static void
await_result(struct sb_db *db)
{
	struct pollfd p = { PQsocket(db->conn), POLLIN, 0 };
	bool called = false;
	int r;

	if (db->watch == NULL)
		return;
	while (PQisBusy(db->conn)) {
		r = poll(&p, 1, called ? -1 : (int)db->watch_ms);
		if (r == 0) {
			db->watch(db->watch_arg);
			called = true;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 || !PQconsumeInput(db->conn))
			return;		/* PQgetResult reports it */
	}
}

void
sb_db_watch(struct sb_db *db, unsigned long ms, sb_watch_fn fn, void *arg)
{
	db->watch = fn;
	db->watch_arg = arg;
	db->watch_ms = ms > 0 ? ms : 1;
}

int
sb_db_pid(const struct sb_db *db)
{
	return PQbackendPID(db->conn);
}

/*
 * PQexec or PQexecParams, watched: the first error or else the last
 * result (PQexec's), or a COPY's at once.
 */
static PGresult *
exec_watched(struct sb_db *db, const char *sql, int nparams,
    const char *const *params, bool rows)
{
	PGresult *keep = NULL, *res;
	ExecStatusType st;
	int sent;

	if (nparams == 0 && !rows)
		sent = PQsendQuery(db->conn, sql);
	else
		sent = PQsendQueryParams(db->conn, sql, nparams, NULL, params,
		    NULL, NULL, 0);
	if (!sent)
		return NULL;
	for (;;) {
		await_result(db);
		if ((res = PQgetResult(db->conn)) == NULL)
			break;
		st = PQresultStatus(res);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
		    st == PGRES_COPY_BOTH) {
			PQclear(keep);
			return res;
		}
		if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
			PQclear(res);
			continue;
		}
		PQclear(keep);
		keep = res;
	}
	return keep;
}

int
sb_db_query(struct sb_db *db, const char *sql, int nparams,
    const char *const *params, struct sb_rows *rows,
    struct sb_db_diag *diag, struct sb_err *err)
{
	PGresult *res;
	ExecStatusType st;
	int ret = 0;

	if (rows != NULL)
		memset(rows, 0, sizeof(*rows));
	note_statement(db, sql);
	if (db->watch != NULL)
		res = exec_watched(db, sql, nparams, params, rows != NULL);
	else if (nparams == 0 && rows == NULL)
		res = PQexec(db->conn, sql);
	else
		res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL,
		    NULL, 0);
	st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (rows != NULL)
			keep_rows(res, rows);
	} else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
	    st == PGRES_COPY_BOTH) {
		PQclear(res);
		res = NULL;
		sb_db_copy_abort(db);
		ret = sb_err_set(err, SB_EDB, "COPY to or from the client "
		    "is not supported in a script");
	} else {
		ret = fail(db, res, diag, err);
	}
	PQclear(res);
	return ret;
}

int
sb_db_exec(struct sb_db *db, const char *sql, struct sb_db_diag *diag,
    struct sb_err *err)
{
	return sb_db_query(db, sql, 0, NULL, NULL, diag, err);
}

char *
sb_db_ident(struct sb_db *db, const char *name, struct sb_err *err)
{
	char *q = PQescapeIdentifier(db->conn, name, strlen(name)), *s;

	if (q == NULL) {
		fail(db, NULL, NULL, err);
		sb_err_prefix(err, "could not quote identifier \"%s\"", name);
		return NULL;
	}
	s = sb_strdup(q);
	PQfreemem(q);
	return s;
}

/*
 * Send what libpq holds without blocking on a server that is busy
 * answering: read its replies meanwhile, so neither side waits on the
 * other with full buffers.
 */
static int
flush_all(struct sb_db *db, struct sb_db_diag *diag, struct sb_err *err)
{
	for (;;) {
		struct pollfd pfd;
		int r = PQflush(db->conn);

		if (r == 0)
			return 0;
		if (r == -1)
			return fail(db, NULL, diag, err);
		pfd.fd = PQsocket(db->conn);
		pfd.events = POLLIN | POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			return sb_err_sys(err, "poll");
		}
		if ((pfd.revents & (POLLIN | POLLERR | POLLHUP)) &&
		    !PQconsumeInput(db->conn))
			return fail(db, NULL, diag, err);
	}
}

/* What a pipeline sent, one entry per result expected. */
struct sent {
	size_t		q;	/* index of the query */
	int		prep;	/* slot prepared by this entry, or -1 */
	unsigned	gen;	/* of the slot's name */
};

/* The prepared slot of text sql, reserved (pending) if new; -1: none. */
static int
prep_slot(struct sb_db *db, const char *sql, bool *fresh)
{
	int i;

	*fresh = false;
	for (i = 0; i < SB_DB_PREPARED; i++)
		if (db->prep[i].sql != NULL && strcmp(db->prep[i].sql, sql) == 0)
			return i;
	for (i = 0; i < SB_DB_PREPARED && db->prep[i].sql != NULL; i++)
		continue;
	if (i == SB_DB_PREPARED) {
		forget_prepared(db);
		i = 0;
	}
	db->prep[i].sql = sb_strdup(sql);
	*fresh = true;
	return i;
}

/*
 * Send query i: a parameterized one through its prepared statement
 * (preparing it first when new), so that the bookkeeping of every step
 * is planned once per session. Appends what to expect to sent.
 */
static bool
send_one(struct sb_db *db, const struct sb_query *q, size_t i,
    struct sent *sent, size_t *ns)
{
	PGconn *c = db->conn;
	char name[32];
	bool fresh;
	int slot;

	note_statement(db, q[i].sql);
	if (q[i].nparams == 0 || q[i].rows != NULL) {
		sent[(*ns)++] = (struct sent){ i, -1, 0 };
		return PQsendQueryParams(c, q[i].sql, q[i].nparams, NULL,
		    q[i].params, NULL, NULL, 0);
	}
	slot = prep_slot(db, q[i].sql, &fresh);
	snprintf(name, sizeof(name), "sqlbundle_%u_%d", db->gen, slot);
	if (fresh) {
		if (!PQsendPrepare(c, name, q[i].sql, q[i].nparams, NULL))
			return false;
		sent[(*ns)++] = (struct sent){ i, slot, db->gen };
	}
	sent[(*ns)++] = (struct sent){ i, -1, 0 };
	return PQsendQueryPrepared(c, name, q[i].nparams, q[i].params, NULL,
	    NULL, 0);
}

/* Send q[0..n), then a sync. */
static int
send_all(struct sb_db *db, const struct sb_query *q, size_t n,
    struct sent *sent, size_t *ns, size_t *failed, struct sb_db_diag *diag,
    struct sb_err *err)
{
	PGconn *c = db->conn;

	for (size_t i = 0; i < n; i++) {
		*failed = i;
		if (!send_one(db, q, i, sent, ns))
			return fail(db, NULL, diag, err);
		if (flush_all(db, diag, err) == -1)
			return -1;
	}
	*failed = n;
	if (!PQpipelineSync(c))
		return fail(db, NULL, diag, err);
	return flush_all(db, diag, err);
}

/* Note one result of entry e; -1 if it is the pipeline's failure. */
static int
take_result(struct sb_db *db, const PGresult *res, const struct sent *e,
    struct sb_rows *rows, struct sb_db_diag *diag, struct sb_err *err)
{
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		if (rows != NULL && rows->cells == NULL)
			keep_rows(res, rows);
		return 0;
	case PGRES_COMMAND_OK:
		if (e->prep >= 0 && e->gen == db->gen)
			db->prep[e->prep].ready = true;
		return 0;
	case PGRES_FATAL_ERROR:
		return fail(db, res, diag, err);
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		return sb_err_set(err, SB_EDB, "COPY to or from the client is "
		    "not supported in a script");
	default:
		return 0;
	}
}

/* Read the results of sent[0..ns) and the sync. */
static int
read_all(struct sb_db *db, const struct sb_query *q, const struct sent *sent,
    size_t ns, size_t n, size_t *failed, struct sb_db_diag *diag,
    struct sb_err *err)
{
	PGconn *c = db->conn;
	PGresult *res;
	size_t got;
	int ret = 0;
	bool synced = false;

	/* Each query's results end with NULL; the sync comes last. */
	for (got = 0; got <= ns && !synced; got++) {
		while (PQstatus(c) != CONNECTION_BAD &&
		    (await_result(db), res = PQgetResult(c)) != NULL) {
			synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
			if (!synced && ret == 0 && got < ns &&
			    take_result(db, res, &sent[got],
			    q[sent[got].q].rows, diag, err) == -1) {
				*failed = sent[got].q;
				ret = -1;
			}
			PQclear(res);
			if (synced)
				break;
		}
		if (PQstatus(c) == CONNECTION_BAD) {
			if (ret == 0) {
				*failed = got < ns ? sent[got].q : n;
				ret = fail(db, NULL, diag, err);
			}
			break;
		}
	}
	return ret;
}

/* Slots still pending when a pipeline ends are not known to exist. */
static void
drop_pending(struct sb_db *db)
{
	for (size_t i = 0; i < SB_DB_PREPARED; i++)
		if (db->prep[i].sql != NULL && !db->prep[i].ready) {
			free(db->prep[i].sql);
			db->prep[i].sql = NULL;
		}
}

int
sb_db_pipeline(struct sb_db *db, const struct sb_query *q, size_t n,
    size_t *failed, struct sb_db_diag *diag, struct sb_err *err)
{
	PGconn *c = db->conn;
	struct sent *sent = sb_calloc(2 * n + 1, sizeof(*sent));
	size_t ns = 0;
	int ret;

	*failed = 0;
	if (!PQenterPipelineMode(c)) {
		free(sent);
		return fail(db, NULL, diag, err);
	}
	if (PQsetnonblocking(c, 1) == -1) {
		ret = fail(db, NULL, diag, err);
		goto out;
	}
	ret = send_all(db, q, n, sent, &ns, failed, diag, err);
	PQsetnonblocking(c, 0);
	if (ret == 0)
		ret = read_all(db, q, sent, ns, n, failed, diag, err);
out:
	if (PQpipelineStatus(c) != PQ_PIPELINE_OFF && !PQexitPipelineMode(c) &&
	    ret == 0) {
		*failed = n;
		ret = fail(db, NULL, diag, err);
	}
	drop_pending(db);
	free(sent);
	return ret;
}

bool
sb_db_in_transaction(const struct sb_db *db)
{
	PGTransactionStatusType t = PQtransactionStatus(db->conn);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

bool
sb_db_lost(const struct sb_db *db)
{
	return PQstatus(db->conn) == CONNECTION_BAD;
}

void
sb_db_rollback(struct sb_db *db)
{
	PGresult *res;

	if (PQstatus(db->conn) == CONNECTION_BAD || !sb_db_in_transaction(db))
		return;
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
}

int
sb_db_copy_begin(struct sb_db *db, const char *sql, struct sb_db_diag *diag,
    struct sb_err *err)
{
	PGresult *res = PQexec(db->conn, sql);
	int ret = 0;

	if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN)
		ret = fail(db, res, diag, err);
	PQclear(res);
	return ret;
}

int
sb_db_copy_put(struct sb_db *db, const void *buf, size_t len,
    struct sb_db_diag *diag, struct sb_err *err)
{
	const char *p = buf;

	/*
	 * The server reads a CopyData message whole before it parses any of
	 * it. Messages well under the socket buffer let it parse one while
	 * the next is on its way; a 1 MiB message makes both sides wait in
	 * turn and costs the server a copy into a grown buffer.
	 */
	while (len > 0) {
		int n = len > SB_DB_COPY_MSG ? SB_DB_COPY_MSG : (int)len;

		if (PQputCopyData(db->conn, p, n) != 1)
			return fail(db, NULL, diag, err);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sb_db_copy_next(struct sb_db *db, bool *next_failed, struct sb_db_diag *diag,
    struct sb_err *err)
{
	PGresult *res;
	ExecStatusType st;
	int ret = 0, done = 0;

	*next_failed = false;
	if (PQputCopyEnd(db->conn, NULL) != 1)
		return fail(db, NULL, diag, err);
	while ((res = PQgetResult(db->conn)) != NULL) {
		st = PQresultStatus(res);
		if (st == PGRES_COPY_IN && ret == 0) {
			PQclear(res);
			return 1;	/* the query's next COPY has begun */
		}
		if (st == PGRES_COMMAND_OK && ret == 0) {
			done++;
		} else if (ret == 0) {
			*next_failed = done > 0;
			ret = fail(db, res, diag, err);
		}
		PQclear(res);
	}
	if (done == 0 && ret == 0)
		ret = fail(db, NULL, diag, err);
	return ret;
}

int
sb_db_copy_end(struct sb_db *db, struct sb_db_diag *diag, struct sb_err *err)
{
	bool next_failed;
	int rc = sb_db_copy_next(db, &next_failed, diag, err);

	if (rc == 1) {
		sb_db_copy_abort(db);
		return sb_err_set(err, SB_EDB, "a COPY began another");
	}
	return rc;
}

void
sb_db_copy_abort(struct sb_db *db)
{
	PGresult *res;
	char *buf;

	/* COPY TO STDOUT cannot be cut short: read it to its end. */
	while (PQgetCopyData(db->conn, &buf, 0) > 0)
		PQfreemem(buf);
	PQputCopyEnd(db->conn, "cancelled by sqlbundle-apply");
	while ((res = PQgetResult(db->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		PQclear(res);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
		    st == PGRES_COPY_BOTH || PQstatus(db->conn) == CONNECTION_BAD)
			break;
	}
}
