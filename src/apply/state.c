/* Bookkeeping tables of the applier: create, read, bind, lock. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"

#include "state.h"

/* The advisory lock key: 0x73716c62756e646c ('sqlbundl'). */
#define LOCK_KEY	"8318549156862780524"
#define LOCK_HI		"1936813154"	/* 0x73716c62 */
#define LOCK_LO		"1970168940"	/* 0x756e646c */

/*
 * The end of a step in one statement (one parse, one execution): the
 * version-table rewrite, the progress row removed, the history row. %s is
 * the quoted version table. $7 and $8 are the version rows to delete and
 * to insert, as array literals.
 */
static const char step_done_sql[] =
    "WITH del AS (DELETE FROM %s WHERE version_num = ANY ($7::varchar[])), "
    "ins AS (INSERT INTO %s (version_num) SELECT unnest($8::varchar[])), "
    "prog AS (DELETE FROM sqlbundle.progress WHERE revision = $3::varchar "
    "AND direction = $4::text RETURNING started_at) "
    "INSERT INTO sqlbundle.history (bundle_id, key_id, revision, "
    "direction, script_sha256, started_at, finished_at, db_user, "
    "applier_version) SELECT $1::text, $2::text, $3::varchar, $4::text, "
    "$5::text, coalesce((SELECT started_at FROM prog), now()), "
    "clock_timestamp(), current_user, $6::text";

static const char progress_sql[] =
    "INSERT INTO sqlbundle.progress (revision, direction, bundle_id, "
    "script_sha256, statements_done, seed_entry, seed_offset, seed_line, "
    "started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) "
    "ON CONFLICT (revision, direction) DO UPDATE SET "
    "bundle_id = EXCLUDED.bundle_id, "
    "script_sha256 = EXCLUDED.script_sha256, "
    "statements_done = EXCLUDED.statements_done, "
    "seed_entry = EXCLUDED.seed_entry, seed_offset = EXCLUDED.seed_offset, "
    "seed_line = EXCLUDED.seed_line";

/* Revision ids need no quoting in an array literal: [0-9A-Za-z_] only. */
static char *
id_array(const char *const *ids, size_t n)
{
	size_t len = 3;
	char *s, *o;

	for (size_t i = 0; i < n; i++)
		len += strlen(ids[i]) + 1;
	s = o = sb_malloc(len);
	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		o = stpcpy(o, ids[i]);
	}
	*o++ = '}';
	*o = '\0';
	return s;
}

struct sb_query
sb_state_step_done(struct sb_book *b, const struct sb_vtable *vt,
    const struct sb_book_step *st, const char *const *del, size_t ndel,
    const char *const *ins, size_t nins)
{
	b->sql = sb_printf(step_done_sql, vt->quoted, vt->quoted);
	b->del = id_array(del, ndel);
	b->ins = id_array(ins, nins);
	b->p[0] = st->bundle_id;
	b->p[1] = st->key_id;
	b->p[2] = st->revision;
	b->p[3] = st->direction;
	b->p[4] = st->script_sha;
	b->p[5] = "sqlbundle-apply " SB_VERSION;
	b->p[6] = b->del;
	b->p[7] = b->ins;
	return (struct sb_query){ .sql = b->sql, .nparams = 8,
	    .params = b->p };
}

void
sb_state_book_release(struct sb_book *b)
{
	free(b->sql);
	free(b->del);
	free(b->ins);
	memset(b, 0, sizeof(*b));
}

int
sb_state_progress(struct sb_db *db, const struct sb_book_step *st,
    const struct sb_book_at *at, struct sb_db_diag *diag, struct sb_err *err)
{
	char a[32], b[32], o[32], l[32];
	const char *params[8];

	snprintf(a, sizeof(a), "%zu", at->statements);
	snprintf(b, sizeof(b), "%zu", at->seed_entry);
	snprintf(o, sizeof(o), "%" PRIu64, at->seed_offset);
	snprintf(l, sizeof(l), "%" PRIu64, at->seed_line);
	params[0] = st->revision;
	params[1] = st->direction;
	params[2] = st->bundle_id;
	params[3] = st->script_sha;
	params[4] = a;
	params[5] = b;
	params[6] = o;
	params[7] = l;
	return sb_db_query(db, progress_sql, 8, params, NULL, diag, err);
}

struct sb_query
sb_state_chunk_row(struct sb_chunk_row *b, const struct sb_book_step *st,
    size_t seed_entry, uint64_t end, const unsigned char sha[SB_SHA256_LEN])
{
	snprintf(b->entry, sizeof(b->entry), "%zu", seed_entry);
	snprintf(b->end, sizeof(b->end), "%" PRIu64, end);
	sb_hex(sha, SB_SHA256_LEN, b->sha);
	b->p[0] = st->revision;
	b->p[1] = st->direction;
	b->p[2] = b->entry;
	b->p[3] = b->end;
	b->p[4] = b->sha;
	return (struct sb_query){ .sql = "INSERT INTO sqlbundle.chunks "
	    "(revision, direction, seed_entry, chunk_end, sha256) "
	    "VALUES ($1, $2, $3, $4, $5)", .nparams = 5, .params = b->p };
}

int
sb_state_chunks_read(struct sb_db *db, const struct sb_book_step *st,
    size_t seed_entry, struct sb_rows *rows, struct sb_err *err)
{
	char entry[24];
	const char *params[3] = { st->revision, st->direction, entry };

	snprintf(entry, sizeof(entry), "%zu", seed_entry);
	return sb_db_query(db, "SELECT chunk_end, sha256 FROM sqlbundle.chunks "
	    "WHERE revision = $1 AND direction = $2 AND seed_entry = $3 "
	    "ORDER BY chunk_end", 3, params, rows, NULL, err);
}

int
sb_state_chunks_clear(struct sb_db *db, const struct sb_book_step *st,
    struct sb_db_diag *diag, struct sb_err *err)
{
	const char *params[2] = { st->revision, st->direction };

	return sb_db_query(db, "DELETE FROM sqlbundle.chunks WHERE revision = "
	    "$1 AND direction = $2", 2, params, NULL, diag, err);
}

/* After the version table: everything else of DESIGN.md. */
static const char book_ddl[] =
    "CREATE SCHEMA IF NOT EXISTS sqlbundle;\n"
    "CREATE TABLE IF NOT EXISTS sqlbundle.project (\n"
    "    name text PRIMARY KEY,\n"
    "    bound_at timestamptz NOT NULL DEFAULT now(),\n"
    "    bundle_id text NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS sqlbundle.history (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    bundle_id text NOT NULL, key_id text NOT NULL,\n"
    "    revision varchar(32) NOT NULL,\n"
    "    direction text NOT NULL\n"
    "        CHECK (direction IN ('upgrade','downgrade')),\n"
    "    script_sha256 text NOT NULL,\n"
    "    started_at timestamptz NOT NULL,\n"
    "    finished_at timestamptz NOT NULL,\n"
    "    db_user text NOT NULL DEFAULT current_user,\n"
    "    applier_version text NOT NULL);\n"
    "CREATE TABLE IF NOT EXISTS sqlbundle.progress (\n"
    "    revision varchar(32) NOT NULL, direction text NOT NULL,\n"
    "    bundle_id text NOT NULL, script_sha256 text NOT NULL,\n"
    "    statements_done integer NOT NULL DEFAULT 0,\n"
    "    seed_entry integer NOT NULL DEFAULT 0,\n"
    "    seed_offset bigint NOT NULL DEFAULT 0,\n"
    "    seed_line bigint NOT NULL DEFAULT 0,\n"
    "    started_at timestamptz NOT NULL,\n"
    "    PRIMARY KEY (revision, direction));\n"
    "CREATE TABLE IF NOT EXISTS sqlbundle.chunks (\n"
    "    revision varchar(32) NOT NULL, direction text NOT NULL,\n"
    "    seed_entry integer NOT NULL, chunk_end bigint NOT NULL,\n"
    "    sha256 text NOT NULL,\n"
    "    PRIMARY KEY (revision, direction, seed_entry, chunk_end));\n"
    "CREATE TABLE IF NOT EXISTS sqlbundle.drift (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    checked_at timestamptz NOT NULL DEFAULT clock_timestamp(),\n"
    "    command text NOT NULL, revision varchar(32) NOT NULL,\n"
    "    bundle_id text NOT NULL,\n"
    "    expected text, found text NOT NULL,\n"
    "    objects integer NOT NULL,\n"
    "    outcome text NOT NULL CHECK (outcome IN\n"
    "        ('none','refused','allowed','reported','unchecked')),\n"
    "    report text NOT NULL,\n"
    "    db_user text NOT NULL DEFAULT current_user,\n"
    "    applier_version text NOT NULL);\n"
    "ALTER TABLE sqlbundle.history\n"
    "    ADD COLUMN IF NOT EXISTS outcome text NOT NULL DEFAULT 'done'\n"
    "        CHECK (outcome IN ('done','failed')),\n"
    "    ADD COLUMN IF NOT EXISTS sqlstate text,\n"
    "    ADD COLUMN IF NOT EXISTS error text;\n"
    "CREATE UNLOGGED TABLE IF NOT EXISTS sqlbundle.running (\n"
    "    backend_pid integer PRIMARY KEY, pid integer NOT NULL,\n"
    "    command text NOT NULL, bundle_id text NOT NULL,\n"
    "    started_at timestamptz NOT NULL DEFAULT now(),\n"
    "    step integer NOT NULL DEFAULT 0,\n"
    "    step_count integer NOT NULL DEFAULT 0,\n"
    "    revision varchar(32), direction text,\n"
    "    bytes_done bigint NOT NULL DEFAULT 0,\n"
    "    bytes_total bigint NOT NULL DEFAULT 0);\n"
    "CREATE OR REPLACE FUNCTION sqlbundle.history_append_only()\n"
    "RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
    "BEGIN\n"
    "    RAISE EXCEPTION '%.% is append-only', TG_TABLE_SCHEMA, TG_TABLE_NAME\n"
    "        USING ERRCODE = 'insufficient_privilege';\n"
    "END\n"
    "$fn$;\n"
    "CREATE OR REPLACE TRIGGER history_append_only\n"
    "    BEFORE UPDATE OR DELETE ON sqlbundle.history\n"
    "    FOR EACH ROW EXECUTE FUNCTION sqlbundle.history_append_only();\n"
    "CREATE OR REPLACE TRIGGER history_no_truncate\n"
    "    BEFORE TRUNCATE ON sqlbundle.history\n"
    "    FOR EACH STATEMENT EXECUTE FUNCTION "
    "sqlbundle.history_append_only();\n"
    "CREATE OR REPLACE TRIGGER drift_append_only\n"
    "    BEFORE UPDATE OR DELETE ON sqlbundle.drift\n"
    "    FOR EACH ROW EXECUTE FUNCTION sqlbundle.history_append_only();\n";

/*
 * Which objects exist: version table, project, history, progress,
 * triggers, chunks, drift, history's outcome column, running.
 */
static const char exists_sql[] =
    "SELECT to_regclass($1) IS NOT NULL, "
    "to_regclass('sqlbundle.project') IS NOT NULL, "
    "to_regclass('sqlbundle.history') IS NOT NULL, "
    "to_regclass('sqlbundle.progress') IS NOT NULL, "
    "EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = "
    "to_regclass('sqlbundle.history') AND tgname = 'history_append_only') "
    "AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = "
    "to_regclass('sqlbundle.history') AND tgname = 'history_no_truncate'), "
    "to_regclass('sqlbundle.chunks') IS NOT NULL, "
    "to_regclass('sqlbundle.drift') IS NOT NULL, "
    "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
    "to_regclass('sqlbundle.history') AND attname = 'outcome'), "
    "to_regclass('sqlbundle.running') IS NOT NULL";

int
sb_vtable_parse(struct sb_vtable *vt, const char *spec, struct sb_err *err)
{
	const char *dot = strchr(spec, '.');

	if (dot == NULL || dot == spec || dot[1] == '\0')
		return sb_err_set(err, SB_EUSAGE,
		    "invalid --version-table \"%s\": expected SCHEMA.TABLE",
		    spec);
	vt->schema = sb_strdup(spec);
	vt->schema[dot - spec] = '\0';
	vt->table = sb_strdup(dot + 1);
	vt->name = sb_strdup(spec);
	return 0;
}

int
sb_vtable_quote(struct sb_vtable *vt, struct sb_db *db, struct sb_err *err)
{
	char *s = NULL, *t = NULL;

	if ((s = sb_db_ident(db, vt->schema, err)) == NULL ||
	    (t = sb_db_ident(db, vt->table, err)) == NULL) {
		free(s);
		return -1;
	}
	free(vt->quoted);
	vt->quoted = sb_printf("%s.%s", s, t);
	free(s);
	free(t);
	return 0;
}

void
sb_vtable_release(struct sb_vtable *vt)
{
	free(vt->schema);
	free(vt->table);
	free(vt->name);
	free(vt->quoted);
	memset(vt, 0, sizeof(*vt));
}

static bool
truth(const struct sb_rows *rows, size_t c)
{
	const char *v = sb_rows_get(rows, 0, c);

	return v != NULL && strcmp(v, "t") == 0;
}

int
sb_state_ensure(struct sb_db *db, const struct sb_vtable *vt,
    const struct sb_state *st, struct sb_err *err)
{
	char *pkc = NULL, *pk = NULL, *sql = NULL;
	int ret = -1;

	if (st->has_all)
		return 0;
	/* Alembic names the key <table>_pkc. */
	pk = sb_printf("%s_pkc", vt->table);
	if ((pkc = sb_db_ident(db, pk, err)) == NULL)
		goto out;
	/*
	 * Not flushed on its own: WAL is flushed in order, so the run's
	 * first durable commit makes this one durable too.
	 */
	sql = sb_printf("BEGIN;\n"
	    "SET LOCAL client_min_messages = warning;\n"
	    "SET LOCAL synchronous_commit = off;\n"
	    "CREATE TABLE IF NOT EXISTS %s (\n"
	    "    version_num varchar(32) NOT NULL,\n"
	    "    CONSTRAINT %s PRIMARY KEY (version_num));\n"
	    "%s"
	    "COMMIT;", vt->quoted, pkc, book_ddl);
	if (sb_db_exec(db, sql, NULL, err) == -1) {
		sb_db_rollback(db);
		sb_err_prefix(err, "could not create the bookkeeping tables "
		    "(%s, schema sqlbundle)", vt->name);
		goto out;
	}
	ret = 0;
out:
	free(pk);
	free(pkc);
	free(sql);
	return ret;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static long long
num(const struct sb_rows *rows, size_t r, size_t c)
{
	const char *v = sb_rows_get(rows, r, c);

	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

static void
copy_cell(char *dst, size_t cap, const struct sb_rows *rows, size_t r,
    size_t c)
{
	const char *v = sb_rows_get(rows, r, c);

	snprintf(dst, cap, "%s", v != NULL ? v : "");
}

/* What exists, from exists_sql's one row. */
static void
take_exists(struct sb_state *st, const struct sb_rows *ex)
{
	st->has_vt = truth(ex, 0);
	st->has_project = truth(ex, 1);
	st->has_history = truth(ex, 2);
	st->has_progress = truth(ex, 3);
	st->has_book = st->has_project && st->has_history &&
	    st->has_progress;
	st->has_chunks = truth(ex, 5);
	st->has_drift = truth(ex, 6);
	st->has_outcome = truth(ex, 7);
	st->has_running = truth(ex, 8);
	st->has_all = true;
	for (size_t i = 0; i < ex->ncols; i++)
		st->has_all = st->has_all && truth(ex, i);
}

static void
take_heads(struct sb_state *st, const struct sb_rows *rows)
{
	st->heads = sb_calloc(rows->nrows + 1, sizeof(char *));
	for (size_t r = 0; r < rows->nrows; r++) {
		const char *v = sb_rows_get(rows, r, 0);

		st->heads[st->nheads++] = sb_strdup(v ? v : "");
	}
	qsort(st->heads, st->nheads, sizeof(char *), cmp_str);
}

static void
take_inflight(struct sb_state *st, const struct sb_rows *rows)
{
	st->inflight = sb_calloc(rows->nrows + 1, sizeof(*st->inflight));
	for (size_t r = 0; r < rows->nrows; r++) {
		struct sb_inflight *f = &st->inflight[r];

		copy_cell(f->revision, sizeof(f->revision), rows, r, 0);
		copy_cell(f->direction, sizeof(f->direction), rows, r, 1);
		copy_cell(f->bundle_id, sizeof(f->bundle_id), rows, r, 2);
		copy_cell(f->script_sha, sizeof(f->script_sha), rows, r, 3);
		f->statements_done = num(rows, r, 4);
		f->seed_entry = num(rows, r, 5);
		f->seed_offset = num(rows, r, 6);
		f->seed_line = num(rows, r, 7);
	}
	st->ninflight = rows->nrows;
}

static void
take_applied(struct sb_state *st, const struct sb_rows *rows)
{
	st->applied = sb_calloc(rows->nrows + 1, sizeof(*st->applied));
	for (size_t r = 0; r < rows->nrows; r++) {
		const char *a = sb_rows_get(rows, r, 0);
		const char *b = sb_rows_get(rows, r, 1);

		st->applied[r].revision = sb_strdup(a ? a : "");
		st->applied[r].script_sha = sb_strdup(b ? b : "");
	}
	st->napplied = rows->nrows;
}

/*
 * Two round trips: which tables exist, then every read of those that
 * do, in one pipeline (missing tables read as empty).
 */
int
sb_state_read(struct sb_db *db, const struct sb_vtable *vt,
    struct sb_state *st, struct sb_err *err)
{
	enum { HEADS, PROJECT, PROGRESS, HISTORY, NREADS };
	struct sb_rows ex = SB_ROWS_INIT, rows[NREADS] = { SB_ROWS_INIT };
	struct sb_query q[NREADS];
	const char *params[1] = { vt->quoted };
	char *heads_sql = NULL, *hist_sql = NULL;
	size_t k = 0, failed;
	int ret = -1;

	if (sb_db_query(db, exists_sql, 1, params, &ex, NULL, err) == -1)
		goto out;
	take_exists(st, &ex);
	heads_sql = sb_printf("SELECT version_num FROM %s", vt->quoted);
	hist_sql = sb_printf("SELECT DISTINCT ON (revision) revision, "
	    "script_sha256 FROM sqlbundle.history "
	    "WHERE direction = 'upgrade'%s ORDER BY revision, id DESC",
	    st->has_outcome ? " AND outcome = 'done'" : "");
	if (st->has_vt)
		q[k++] = (struct sb_query){ .sql = heads_sql,
		    .rows = &rows[HEADS] };
	if (st->has_project)
		q[k++] = (struct sb_query){ .sql = "SELECT name FROM "
		    "sqlbundle.project ORDER BY bound_at, name LIMIT 1",
		    .rows = &rows[PROJECT] };
	if (st->has_progress)
		q[k++] = (struct sb_query){ .sql = "SELECT revision, "
		    "direction, bundle_id, script_sha256, statements_done, "
		    "seed_entry, seed_offset, seed_line FROM sqlbundle.progress "
		    "ORDER BY started_at", .rows = &rows[PROGRESS] };
	if (st->has_history)
		q[k++] = (struct sb_query){ .sql = hist_sql,
		    .rows = &rows[HISTORY] };
	if (k > 0 && sb_db_pipeline(db, q, k, &failed, NULL, err) == -1) {
		if (failed < k && q[failed].rows == &rows[HEADS])
			sb_err_prefix(err, "could not read %s", vt->name);
		goto out;
	}
	take_heads(st, &rows[HEADS]);
	if (rows[PROJECT].nrows > 0 && sb_rows_get(&rows[PROJECT], 0, 0))
		st->project = sb_strdup(sb_rows_get(&rows[PROJECT], 0, 0));
	take_inflight(st, &rows[PROGRESS]);
	take_applied(st, &rows[HISTORY]);
	ret = 0;
out:
	sb_rows_release(&ex);
	for (size_t i = 0; i < NREADS; i++)
		sb_rows_release(&rows[i]);
	free(heads_sql);
	free(hist_sql);
	return ret;
}

void
sb_state_release(struct sb_state *st)
{
	for (size_t i = 0; i < st->nheads; i++)
		free(st->heads[i]);
	free(st->heads);
	free(st->project);
	free(st->inflight);
	for (size_t i = 0; i < st->napplied; i++) {
		free(st->applied[i].revision);
		free(st->applied[i].script_sha);
	}
	free(st->applied);
	memset(st, 0, sizeof(*st));
}

const char *
sb_state_applied_sha(const struct sb_state *st, const char *rev)
{
	for (size_t i = 0; i < st->napplied; i++)
		if (strcmp(st->applied[i].revision, rev) == 0)
			return st->applied[i].script_sha;
	return NULL;
}

int
sb_state_history(struct sb_db *db, int limit, struct sb_rows *rows,
    struct sb_err *err)
{
	struct sb_rows ex = SB_ROWS_INIT;
	char *sql;
	int ret;

	bool outcome;

	memset(rows, 0, sizeof(*rows));
	if (sb_db_query(db, "SELECT to_regclass('sqlbundle.history') IS NOT "
	    "NULL, EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
	    "to_regclass('sqlbundle.history') AND attname = 'outcome')", 0,
	    NULL, &ex, NULL, err) == -1)
		return -1;
	if (!truth(&ex, 0)) {
		sb_rows_release(&ex);
		return 0;
	}
	outcome = truth(&ex, 1);
	sb_rows_release(&ex);
	/* Completed steps; failed attempts are sb_state_last_failure's. */
	sql = sb_printf("SELECT to_char(finished_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD HH24:MI:SS'), direction, revision, bundle_id, "
	    "key_id, db_user, script_sha256, applier_version "
	    "FROM sqlbundle.history %s ORDER BY id DESC LIMIT %d",
	    outcome ? "WHERE outcome = 'done'" : "", limit);
	ret = sb_db_query(db, sql, 0, NULL, rows, NULL, err);
	free(sql);
	return ret;
}

int
sb_state_last_drift(struct sb_db *db, struct sb_rows *rows,
    struct sb_err *err)
{
	struct sb_rows ex = SB_ROWS_INIT;
	bool has;

	memset(rows, 0, sizeof(*rows));
	if (sb_db_query(db, "SELECT to_regclass('sqlbundle.drift') IS NOT "
	    "NULL", 0, NULL, &ex, NULL, err) == -1)
		return -1;
	has = truth(&ex, 0);
	sb_rows_release(&ex);
	if (!has)
		return 0;
	return sb_db_query(db, "SELECT to_char(checked_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD HH24:MI:SS'), command, revision, objects, outcome, "
	    "report FROM sqlbundle.drift ORDER BY id DESC LIMIT 1", 0, NULL,
	    rows, NULL, err);
}

int
sb_state_bind(struct sb_db *db, const char *project, const char *bundle_id,
    struct sb_err *err)
{
	const char *params[2] = { project, bundle_id };

	if (sb_db_query(db, "INSERT INTO sqlbundle.project (name, bundle_id) "
	    "SELECT $1::text, $2::text "
	    "WHERE NOT EXISTS (SELECT 1 FROM sqlbundle.project)",
	    2, params, NULL, NULL, err) == -1)
		return sb_err_prefix(err, "could not bind the database to "
		    "project \"%s\"", project);
	return 0;
}

int
sb_state_lock(struct sb_db *db, bool wait, struct sb_err *err)
{
	struct sb_rows rows = SB_ROWS_INIT;
	int ret = -1;

	if (wait) {
		if (sb_db_query(db, "SELECT pg_advisory_lock(" LOCK_KEY ")",
		    0, NULL, NULL, NULL, err) == -1)
			goto out;
		ret = 0;
		goto out;
	}
	if (sb_db_query(db, "SELECT pg_try_advisory_lock(" LOCK_KEY ")", 0,
	    NULL, &rows, NULL, err) == -1)
		goto out;
	if (truth(&rows, 0)) {
		ret = 0;
		goto out;
	}
	sb_rows_release(&rows);
	if (sb_db_query(db, "SELECT a.pid, coalesce(a.application_name, ''), "
	    "coalesce(a.usename::text, ''), coalesce(to_char(a.backend_start "
	    "AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS UTC'), '') "
	    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
	    "WHERE l.locktype = 'advisory' AND l.granted "
	    "AND l.database = (SELECT oid FROM pg_database "
	    "WHERE datname = current_database()) "
	    "AND l.classid = " LOCK_HI " AND l.objid = " LOCK_LO " "
	    "AND l.objsubid = 1 AND l.pid <> pg_backend_pid()", 0, NULL, &rows,
	    NULL, err) == -1)
		goto out;
	if (rows.nrows == 0) {
		sb_err_set(err, SB_ELOCKED, "database \"%s\" is locked by "
		    "another applier", sb_db_name(db));
	} else {
		const char *app = sb_rows_get(&rows, 0, 1);
		const char *user = sb_rows_get(&rows, 0, 2);
		const char *since = sb_rows_get(&rows, 0, 3);

		sb_err_set(err, SB_ELOCKED, "database \"%s\" is locked by "
		    "another applier: pid %s", sb_db_name(db),
		    sb_rows_get(&rows, 0, 0));
		sb_err_detail(err, "held by pid %s, application \"%s\", user "
		    "\"%s\", connected since %s", sb_rows_get(&rows, 0, 0),
		    app ? app : "", user ? user : "",
		    since && *since ? since : "unknown");
	}
	sb_err_hint(err, "run again when it is done, or use --wait");
out:
	sb_rows_release(&rows);
	return ret;
}

int
sb_state_running_begin(struct sb_db *db, long backend_pid, long pid,
    const char *command, const char *bundle_id)
{
	char b[24], p[24];
	const char *params[4] = { b, p, command, bundle_id };

	snprintf(b, sizeof(b), "%ld", backend_pid);
	snprintf(p, sizeof(p), "%ld", pid);
	/* Rows of appliers that died: the lock says none runs but this one. */
	return sb_db_post(db, "WITH gone AS (DELETE FROM sqlbundle.running) "
	    "INSERT INTO sqlbundle.running (backend_pid, pid, command, "
	    "bundle_id) VALUES ($1, $2, $3, $4)", 4, params);
}

int
sb_state_running_update(struct sb_db *db, size_t step, size_t nsteps,
    const char *revision, const char *direction, uint64_t done,
    uint64_t total)
{
	char s[24], n[24], d[24], t[24];
	const char *params[6] = { s, n, revision, direction, d, t };

	snprintf(s, sizeof(s), "%zu", step);
	snprintf(n, sizeof(n), "%zu", nsteps);
	snprintf(d, sizeof(d), "%" PRIu64, done);
	snprintf(t, sizeof(t), "%" PRIu64, total);
	return sb_db_post(db, "UPDATE sqlbundle.running SET step = $1, "
	    "step_count = $2, revision = $3, direction = $4, bytes_done = $5, "
	    "bytes_total = $6", 6, params);
}

void
sb_state_running_end(struct sb_db *db)
{
	if (sb_db_post(db, "DELETE FROM sqlbundle.running", 0, NULL) == 0)
		sb_db_post_wait(db);
}

int
sb_state_fail(struct sb_db *db, const struct sb_book_step *st,
    const char *sqlstate, const char *message, struct sb_err *err)
{
	const char *params[7] = { st->bundle_id, st->key_id, st->revision,
	    st->direction, st->script_sha, sqlstate[0] ? sqlstate : NULL,
	    message };

	return sb_db_query(db, "INSERT INTO sqlbundle.history (bundle_id, "
	    "key_id, revision, direction, script_sha256, started_at, "
	    "finished_at, applier_version, outcome, sqlstate, error) "
	    "SELECT $1::text, $2::text, $3::varchar, $4::text, $5::text, "
	    "coalesce((SELECT started_at FROM sqlbundle.progress WHERE "
	    "revision = $3::varchar AND direction = $4::text), now()), "
	    "clock_timestamp(), 'sqlbundle-apply " SB_VERSION "', 'failed', "
	    "$6::text, $7::text", 7, params, NULL, NULL, err);
}

int
sb_state_live(struct sb_db *db, const struct sb_state *st,
    struct sb_rows *rows, struct sb_err *err)
{
	memset(rows, 0, sizeof(*rows));
	if (!st->has_running)
		return 0;
	/* A row counts only while its session holds the appliers' lock. */
	return sb_db_query(db, "SELECT r.pid, to_char(r.started_at AT TIME "
	    "ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), r.command, r.step, "
	    "r.step_count, coalesce(r.revision, ''), coalesce(r.direction, "
	    "''), r.bytes_done, r.bytes_total, r.bundle_id "
	    "FROM sqlbundle.running r JOIN pg_locks l ON l.pid = r.backend_pid "
	    "WHERE l.locktype = 'advisory' AND l.granted "
	    "AND l.classid = " LOCK_HI " AND l.objid = " LOCK_LO " "
	    "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
	    "WHERE datname = current_database()) LIMIT 1", 0, NULL, rows,
	    NULL, err);
}

int
sb_state_last_failure(struct sb_db *db, const struct sb_state *st,
    struct sb_rows *rows, struct sb_err *err)
{
	memset(rows, 0, sizeof(*rows));
	if (!st->has_outcome)
		return 0;
	/* Only while no step has completed since. */
	return sb_db_query(db, "SELECT to_char(finished_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD HH24:MI:SS'), direction, revision, bundle_id, "
	    "coalesce(sqlstate, ''), coalesce(error, '') "
	    "FROM sqlbundle.history WHERE outcome = 'failed' AND id > "
	    "coalesce((SELECT max(id) FROM sqlbundle.history WHERE outcome = "
	    "'done'), 0) ORDER BY id DESC LIMIT 1", 0, NULL, rows, NULL, err);
}

int
sb_state_chunk_count(struct sb_db *db, const struct sb_state *st,
    const struct sb_inflight *f, long long *n, struct sb_err *err)
{
	struct sb_rows rows = SB_ROWS_INIT;
	const char *params[2] = { f->revision, f->direction };

	*n = 0;
	if (!st->has_chunks)
		return 0;
	if (sb_db_query(db, "SELECT count(*) FROM sqlbundle.chunks WHERE "
	    "revision = $1 AND direction = $2", 2, params, &rows, NULL,
	    err) == -1)
		return -1;
	*n = num(&rows, 0, 0);
	/*
	 * A parallel load's first chunk commits with the script, as a serial
	 * load does: it is the progress row's offset, not a chunk row.
	 */
	if (*n > 0 && f->seed_offset > 0)
		(*n)++;
	sb_rows_release(&rows);
	return 0;
}
