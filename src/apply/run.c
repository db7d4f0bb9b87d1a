/*
 * Pass 2: the bundle is streamed again through the same descriptor; each
 * step runs as soon as its script (and seeds, load.c) have been read and
 * re-hashed, one transaction per step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"

#include "batch.h"
#include "drift.h"
#include "index.h"
#include "load.h"
#include "step.h"

static bool
seeded(const struct sb_step_ctx *c, size_t si)
{
	return c->run->plan->steps[si].dir == SB_DIR_UP &&
	    sb_step_rev(c, si)->nseeds > 0;
}

/* The interrupted step's progress row, if si is that step. */
static const struct sb_inflight *
resumed(const struct sb_step_ctx *c, size_t si)
{
	return si == 0 ? c->run->resume : NULL;
}

/* The revision's file in the project (the manifest has its name). */
static void
source_name(const struct sb_manifest_rev *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "revisions/%s", r->file);
}

/*
 * Whether step si must commit synchronously: the run's last step, and
 * the step before a non-transactional one (whose statements must not
 * outlive, in a crash, the revisions before them). Other steps commit
 * asynchronously (see SB_STEP_ASYNC).
 */
static bool
durable_commit(const struct sb_step_ctx *c, size_t si)
{
	return si + 1 >= c->run->plan->nsteps ||
	    !sb_step_rev(c, si + 1)->transactional;
}

/*
 * Append the end of a step to q at k: bookkeeping and COMMIT, made
 * synchronous again (the session's default) where durable_commit says.
 */
static size_t
add_book(struct sb_step_ctx *c, size_t si, struct sb_query *q, size_t k,
    struct sb_book *b)
{
	const struct sb_step *st = &c->run->plan->steps[si];
	struct sb_book_step bs = sb_step_book(c, si);

	q[k++] = sb_state_step_done(b, c->run->vt, &bs, st->del, st->ndel,
	    st->ins, st->nins);
	if (durable_commit(c, si))
		q[k++] = (struct sb_query){ .sql = SB_STEP_SYNC_LOCAL };
	q[k++] = (struct sb_query){ .sql = "COMMIT" };
	return k;
}

#define BOOK_QUERIES	3

/* The end of a step whose work is done: bookkeeping and COMMIT. */
static int
finish(struct sb_step_ctx *c, size_t si, bool begin, struct sb_err *err)
{
	struct sb_query q[1 + BOOK_QUERIES];
	struct sb_book b = { 0 };
	char what[64];
	size_t k = 0;
	int ret;

	if (begin)
		q[k++] = (struct sb_query){ .sql = "BEGIN" };
	k = add_book(c, si, q, k, &b);
	snprintf(what, sizeof(what), "could not record the %s",
	    sb_step_dir_name(c->run->plan->steps[si].dir));
	ret = sb_step_pipeline(c, si, q, k, NULL, what, err);
	sb_state_book_release(&b);
	return ret;
}

/* A transactional step without seeds: one pipeline, one round trip. */
static int
run_plain(struct sb_step_ctx *c, size_t si, struct sb_err *err)
{
	const struct sb_manifest_rev *r = sb_step_rev(c, si);
	const struct sb_script *s = &c->scripts[si];
	struct sb_query *q = sb_calloc(2 + s->n + BOOK_QUERIES, sizeof(*q));
	struct sb_book b = { 0 };
	char file[512];
	struct sb_step_src src = { s, 0, file,
	    c->run->plan->steps[si].dir == SB_DIR_DOWN ? r->downgrade_line :
	    r->upgrade_line };
	size_t k = 0;
	int ret;

	source_name(r, file, sizeof(file));
	k = sb_step_add_begin(c, q, k);
	src.first = k;
	k = sb_step_add_stmts(q, k, s);
	k = add_book(c, si, q, k, &b);
	ret = sb_step_pipeline(c, si, q, k, &src, NULL, err);
	sb_state_book_release(&b);
	free(q);
	return ret;
}

/*
 * Statement i of a non-transactional script. The first to run may have
 * been in flight at a crash: what an interrupted index build of it left
 * is dropped first. No index build may end with an invalid index.
 */
static int
run_one(struct sb_step_ctx *c, const struct sb_script *s, size_t i,
    bool first, struct sb_db_diag *diag, struct sb_err *err)
{
	const char *sql = s->text + s->stmts[i].off;
	struct sb_ibuild b;

	memset(diag, 0, sizeof(*diag));
	if (!sb_sql_index_build(sql, s->stmts[i].len, &b))
		return sb_db_exec(c->run->db, sql, diag, err);
	/* A concurrent build waits for old transactions, blocking nobody. */
	if (c->lw.timeout_ms > 0 && sb_db_exec(c->run->db,
	    "SET lock_timeout = 0", diag, err) == -1)
		return -1;
	if (first && sb_index_repair(c->run->db, &b, c->run->progress, diag,
	    err) == -1)
		goto catalog;
	if (sb_db_exec(c->run->db, sql, diag, err) == -1)
		return -1;
	if (sb_index_verify(c->run->db, &b, diag, err) == 0)
		return c->lw.timeout_ms > 0 ? sb_db_exec(c->run->db,
		    c->lw.set_sql, diag, err) : 0;
catalog:
	/* A position would point into the catalog query, not at sql. */
	diag->position = 0;
	return -1;
}

/* Statements outside a transaction: the session's lock_timeout. */
static int
session_lock_timeout(struct sb_step_ctx *c, size_t si, bool on,
    struct sb_err *err)
{
	struct sb_db_diag diag;

	if (c->lw.timeout_ms == 0 || sb_db_exec(c->run->db, on ?
	    c->lw.set_sql : "SET lock_timeout TO DEFAULT", &diag, err) == 0)
		return 0;
	sb_err_prefix(err, "revision \"%s\"", sb_step_rev(c, si)->id);
	sb_step_lost_hint(err, &diag);
	return -1;
}

/*
 * transactional: false: each statement on its own, outside any
 * transaction, its completion recorded; a rerun starts after the last
 * recorded one.
 */
static int
run_autocommit(struct sb_step_ctx *c, size_t si, size_t from,
    struct sb_err *err)
{
	const struct sb_manifest_rev *r = sb_step_rev(c, si);
	const struct sb_script *s = &c->scripts[si];
	char file[512];
	struct sb_step_src src = { s, 0, file,
	    c->run->plan->steps[si].dir == SB_DIR_DOWN ? r->downgrade_line :
	    r->upgrade_line };
	struct sb_db_diag diag;

	source_name(r, file, sizeof(file));
	/* Each statement and its progress row on disk before the next. */
	if (sb_step_sync(c, si, true, err) == -1 ||
	    session_lock_timeout(c, si, true, err) == -1)
		return -1;
	for (size_t i = from; i < s->n; i++) {
		struct sb_book_at at = { .statements = i + 1 };

		sb_lockwait_begin(&c->lw);
		while (run_one(c, s, i, i == from, &diag, err) == -1)
			if (diag.lost ||
			    !sb_lockwait_retry(&c->lw, r->id, err))
				return sb_step_stmt_fail(r, &src, i, &diag, err);
		if (sb_step_progress(c, si, &at, err) == -1)
			return -1;
	}
	return session_lock_timeout(c, si, false, err);
}

/* Say where an interrupted seeded step resumes. */
static void
say_resume(struct sb_step_ctx *c, size_t si, const struct sb_inflight *in)
{
	const struct sb_manifest *m = c->run->m;
	const struct sb_manifest_rev *r = sb_step_rev(c, si);
	char what[256];
	int n;

	n = snprintf(what, sizeof(what), "seed file %lld of %zu (%s)",
	    in->seed_entry + 1, r->nseeds,
	    in->seed_entry < (long long)r->nseeds ?
	    m->entries[r->first_seed + (size_t)in->seed_entry].path : "-");

	/* A parallel load's progress is its chunk rows, not an offset. */
	if (in->seed_offset > 0 && n > 0 && (size_t)n < sizeof(what))
		snprintf(what + n, sizeof(what) - (size_t)n, ", byte %lld",
		    in->seed_offset);
	sb_progress_resume(c->run->progress, what);
}

/* A seeded step's script, or what is left of it, before its seeds. */
static int
seeded_script(struct sb_step_ctx *c, size_t si, const struct sb_inflight *in,
    struct sb_err *err)
{
	const struct sb_manifest_rev *r = sb_step_rev(c, si);
	struct sb_db_diag diag;
	char file[512];

	if (r->transactional && in == NULL) {
		source_name(r, file, sizeof(file));
		return sb_step_statements(c, si, &c->scripts[si], file,
		    r->upgrade_line, true, err);
	}
	/* Done statement by statement, or committed with a chunk. */
	if (!r->transactional && (run_autocommit(c, si, in != NULL ?
	    (size_t)in->statements_done : 0, err) == -1 ||
	    sb_step_sync(c, si, false, err) == -1))
		return -1;
	if (sb_db_exec(c->run->db, "BEGIN", &diag, err) == -1) {
		sb_err_prefix(err, "revision \"%s\"", r->id);
		sb_step_lost_hint(err, &diag);
		return -1;
	}
	return 0;
}

/* Seed j of step si is the current entry (idx): load it. */
static int
seed_one(struct sb_step_ctx *c, size_t si, size_t j, size_t idx,
    const struct sb_inflight *in, struct sb_err *err)
{
	const struct sb_manifest *m = c->run->m;
	const struct sb_manifest_rev *r = sb_step_rev(c, si);
	bool here = in != NULL && (long long)j == in->seed_entry;

	if (idx != r->first_seed + j)
		return sb_err_set(err, SB_EINVALID, "bundle entry %s came "
		    "where seed %zu of revision \"%s\" was expected",
		    m->entries[idx].path, j + 1, r->id);
	if (in != NULL && (long long)j < in->seed_entry)
		return 0;	/* loaded already; hashed anyway */
	if (!(here && in->seed_offset > 0) && sb_batch_fits(c, idx))
		return sb_batch_add(c, si, j, idx, err);
	if (sb_batch_send(c, si, err) == -1)
		return -1;
	if (m->entries[idx].kind == SB_ENTRY_SEED_CSV)
		return sb_load_csv(c, si, j, idx,
		    here ? (uint64_t)in->seed_offset : 0,
		    here ? (uint64_t)in->seed_line : 0, err);
	return sb_load_sql(c, si, idx, err);
}

/*
 * A step with seeds, started at its first seed entry (the current one):
 * the script, then every seed, then the bookkeeping, in one transaction
 * unless chunks commit on the way.
 */
static int
run_seeded(struct sb_step_ctx *c, size_t si, size_t idx, struct sb_err *err)
{
	const struct sb_manifest_rev *r = sb_step_rev(c, si);
	const struct sb_inflight *in = resumed(c, si);
	int rc;

	c->since_commit = 0;
	if (in != NULL)
		say_resume(c, si, in);
	if (seeded_script(c, si, in, err) == -1)
		return -1;
	for (size_t j = 0; j < r->nseeds; j++) {
		if (j > 0) {
			rc = sb_bundle_next(c->run->bundle, &idx, err);
			if (rc == 0)
				sb_err_set(err, SB_EINVALID, "bundle ended "
				    "before the seeds of revision \"%s\"",
				    r->id);
			if (rc != 1)
				goto fail;
		}
		if (seed_one(c, si, j, idx, in, err) == -1 ||
		    sb_bundle_entry_end(c->run->bundle, err) == -1)
			goto fail;
		/* Many small files add up to a chunk too. */
		if (c->since_commit >= c->run->chunk_size &&
		    j + 1 < r->nseeds && (sb_batch_send(c, si, err) == -1 ||
		    sb_load_commit(c, si, j + 1, 0, 0,
		    c->run->m->entries[idx].path, err) == -1))
			goto fail;
	}
	if (sb_batch_send(c, si, err) == -1)
		goto fail;
	return finish(c, si, false, err);
fail:
	sb_batch_drop(c);
	sb_db_rollback(c->run->db);
	return -1;
}

/* A step whose script is loaded and needs no seed. */
static int
run_step(struct sb_step_ctx *c, size_t si, struct sb_err *err)
{
	const struct sb_manifest_rev *r = sb_step_rev(c, si);
	const struct sb_inflight *in = resumed(c, si);
	char what[128];

	if (r->transactional)
		return run_plain(c, si, err);
	if (in != NULL && in->statements_done > 0) {
		snprintf(what, sizeof(what), "statement %lld of %zu",
		    in->statements_done + 1, c->scripts[si].n);
		sb_progress_resume(c->run->progress, what);
	}
	if (run_autocommit(c, si, in != NULL ?
	    (size_t)in->statements_done : 0, err) == -1 ||
	    finish(c, si, true, err) == -1)
		return -1;
	return sb_step_sync(c, si, false, err);
}

/*
 * A step is done: check the schema it left against the one the bundle
 * expects at the revision the database is now at (and record it for
 * --fingerprints).
 */
static int
end_step(struct sb_step_ctx *c, size_t si, struct sb_err *err)
{
	const struct sb_manifest *m = c->run->m;
	const struct sb_step *st = &c->run->plan->steps[si];
	const struct sb_manifest_rev *r;

	sb_progress_step_done(c->run->progress);
	sb_step_script_free(&c->scripts[si]);
	if (c->run->drift == NULL)
		return 0;
	r = st->dir == SB_DIR_UP ? &m->revs[st->rev] :
	    st->rev == 0 ? NULL : &m->revs[st->rev - 1];
	return sb_drift_check(c->run->drift, c->run->db, r ? r->id : m->from,
	    r ? r->upgrade_sha : NULL, "after", true, err);
}

static void
begin_step(struct sb_step_ctx *c, size_t si)
{
	const struct sb_plan *plan = c->run->plan;

	sb_progress_step_begin(c->run->progress,
	    sb_step_dir_name(plan->steps[si].dir), sb_step_rev(c, si)->id, si + 1,
	    plan->nsteps);
}

/* Run the steps from *next on whose scripts are here and need no seed. */
static int
run_ready(struct sb_step_ctx *c, size_t *next, struct sb_err *err)
{
	const struct sb_plan *plan = c->run->plan;

	while (*next < plan->nsteps && c->scripts[*next].loaded &&
	    !seeded(c, *next)) {
		if (sb_progress_check(c->run->progress, err) == -1)
			return -1;
		begin_step(c, *next);
		if (run_step(c, *next, err) == -1 ||
		    end_step(c, *next, err) == -1)
			return -1;
		(*next)++;
	}
	return 0;
}

/* Entry idx has come: read a script, or start a seeded step. */
static int
on_entry(struct sb_step_ctx *c, size_t idx, size_t *next, struct sb_err *err)
{
	const struct sb_plan *plan = c->run->plan;
	const struct sb_manifest_entry *e = &c->run->m->entries[idx];
	ssize_t si = c->step_of_rev[e->rev];
	bool script = (e->kind == SB_ENTRY_UPGRADE && plan->dir == SB_DIR_UP) ||
	    (e->kind == SB_ENTRY_DOWNGRADE && plan->dir == SB_DIR_DOWN);
	bool seed = e->kind == SB_ENTRY_SEED_CSV || e->kind == SB_ENTRY_SEED_SQL;

	if (si < 0)
		return 0;
	if (script) {
		if (sb_step_read(c, e->path, SB_SCRIPT_MAX, &c->scripts[si],
		    err) == -1)
			return -1;
		return run_ready(c, next, err);
	}
	if (!seed || plan->dir != SB_DIR_UP || (size_t)si != *next ||
	    !c->scripts[si].loaded)
		return 0;
	begin_step(c, *next);
	if (run_seeded(c, *next, idx, err) == -1 ||
	    end_step(c, *next, err) == -1)
		return -1;
	(*next)++;
	return run_ready(c, next, err);
}

static void
ctx_release(struct sb_step_ctx *c)
{
	for (size_t i = 0; c->scripts != NULL && i < c->run->plan->nsteps; i++)
		sb_step_script_free(&c->scripts[i]);
	free(c->scripts);
	free(c->step_of_rev);
	free(c->buf);
	sb_sha256_free(c->chunk_sha);
	sb_jobs_close(c->jobs);
	sb_batch_free(c->batch);
	sb_lockwait_release(&c->lw);
}

int
sb_run(const struct sb_run *run, struct sb_err *err)
{
	const struct sb_manifest *m = run->m;
	const struct sb_plan *plan = run->plan;
	struct sb_step_ctx c = { 0 };
	size_t next = 0, idx;
	int ret = -1, rc;

	if (plan->nsteps == 0)
		return 0;
	c.run = run;
	c.scripts = sb_calloc(plan->nsteps, sizeof(*c.scripts));
	c.step_of_rev = sb_malloc((m->nrevs + 1) * sizeof(*c.step_of_rev));
	for (size_t i = 0; i < m->nrevs; i++)
		c.step_of_rev[i] = -1;
	for (size_t i = 0; i < plan->nsteps; i++)
		c.step_of_rev[plan->steps[i].rev] = (ssize_t)i;
	c.buf = sb_malloc(SB_STEP_BUF);
	sb_lockwait_init(&c.lw, run->lock_timeout_ms, run->lock_wait_max_ms,
	    run->conninfo, run->db, run->progress);
	if ((c.chunk_sha = sb_sha256_new()) == NULL) {
		sb_err_set(err, SB_EIO, "out of memory");
		goto out;
	}
	if (sb_step_sync(&c, 0, false, err) == -1)
		goto out;
	while (next < plan->nsteps) {
		if (sb_progress_check(run->progress, err) == -1)
			goto out;
		rc = sb_bundle_next(run->bundle, &idx, err);
		if (rc == -1)
			goto out;
		if (rc == 0) {
			sb_err_set(err, SB_EINVALID, "bundle ended before "
			    "revision \"%s\" could run", sb_step_rev(&c, next)->id);
			goto out;
		}
		if (on_entry(&c, idx, &next, err) == -1)
			goto out;
	}
	ret = 0;
out:
	ctx_release(&c);
	return ret;
}
