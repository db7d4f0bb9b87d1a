/*
 * The commands of sqlbundle-apply: verify, plan, upgrade, downgrade,
 * status. The order is the security contract: the whole bundle is
 * verified (pass 1) before the database is even connected to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlbundle/bundle.h"
#include "sqlbundle/cli.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/json.h"
#include "sqlbundle/manifest.h"
#include "sqlbundle/open.h"
#include "sqlbundle/text.h"

#include "apply.h"
#include "catalog.h"
#include "db.h"
#include "drift.h"
#include "inventory.h"
#include "jobs.h"
#include "plan.h"
#include "progress.h"
#include "run.h"
#include "service.h"
#include "state.h"

/*
 * How each chunked seed CSV of the plan will load, as the run will decide
 * (load.c): s->loads[idx] for entry idx, NULL when it loads whole.
 */
struct seed_load {
	size_t		 chunks;
	unsigned	 conns;
	char		*why;		/* serially: the reason, else NULL */
};

/* Everything one command holds; released once, whatever happened. */
struct session {
	const struct sb_apply_opts *o;
	struct sb_open		 bo;		/* the bundle, both passes */
	const char		*path;		/* borrowed from bo */
	const char		*id;
	struct sb_bundle	*b;
	const struct sb_manifest *m;
	struct sb_progress	 progress;
	struct sb_db		*db;
	struct sb_db_opening	*opening;	/* db, while it connects */
	struct sb_db		*side;		/* status's row, or NULL */
	struct sb_vtable	 vt;
	struct sb_state		 st;
	struct sb_heads		 heads;
	struct sb_plan		 plan;
	size_t			 pos;
	const struct sb_inflight *resume;
	struct seed_load	**loads;	/* plan: per entry, or NULL */
	struct sb_drift		 drift;
	struct sb_fp_file	 rec;		/* --fingerprints */
};

static void loads_release(struct session *);
static const char *cell(const struct sb_rows *, size_t, size_t);

static void
session_init(struct session *s, const struct sb_apply_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->bo = (struct sb_open)SB_OPEN_INIT;
	s->rec = (struct sb_fp_file)SB_FP_FILE_INIT;
	sb_progress_init(&s->progress, o->json, o->quiet);
	s->drift.allow = o->allow_drift;
	s->drift.progress = &s->progress;
	s->progress.interval = o->progress_interval;
}

static int
session_end(struct session *s, int ret, struct sb_err *err)
{
	if (ret == -1)
		sb_progress_error(&s->progress, err);
	if (s->opening != NULL) {
		struct sb_err ignored = SB_ERR_INIT;

		(void)sb_db_open_finish(s->opening, &s->db, &ignored);
	}
	loads_release(s);
	sb_drift_release(&s->drift);
	sb_fp_file_release(&s->rec);
	sb_plan_release(&s->plan);
	sb_heads_release(&s->heads);
	sb_state_release(&s->st);
	sb_vtable_release(&s->vt);
	sb_db_close(s->db);
	sb_open_release(&s->bo);
	return ret;
}

/*
 * Pass 1: verify the whole bundle through one descriptor, then open it
 * again for pass 2 expecting the same manifest (so a file swapped in
 * between is caught). Nothing touches a database before this succeeds.
 */
static int
open_verified(struct session *s, const char *path, bool chunks,
    struct sb_err *err)
{
	if (sb_open_bundle(&s->bo, path, s->o->trust, true,
	    chunks ? s->o->chunk_size : 0, err) == -1)
		return -1;
	s->path = s->bo.path;
	s->id = s->bo.id;
	s->b = s->bo.b;
	s->m = sb_bundle_manifest(s->b);
	return 0;
}

/*
 * The bundle's expected schemas, read from pass 2 before any script
 * (FINGERPRINTS is its first entry).
 */
static int
load_drift(struct session *s, const char *command, struct sb_err *err)
{
	s->drift.command = command;
	s->drift.bundle_id = s->id;
	s->drift.record = s->st.has_drift;
	return sb_drift_load(&s->drift, s->b, s->m, s->o->vtable, err);
}

/*
 * Connect while the bundle is verified: the server starts the session
 * meanwhile. Nothing but the startup packet goes out before connect_db,
 * and a bundle that fails its checks says so before the connection's
 * own error, as if it had never opened.
 */
static void
connect_early(struct session *s)
{
	s->opening = sb_db_open_start(s->o->conninfo, sb_progress_notice,
	    &s->progress);
}

static int
connect_db(struct session *s, struct sb_err *err)
{
	struct sb_db_opening *op = s->opening;
	int rc;

	s->opening = NULL;
	if (op != NULL)
		rc = sb_db_open_finish(op, &s->db, err);
	else
		rc = sb_db_connect(&s->db, s->o->conninfo, sb_progress_notice,
		    &s->progress, err);
	if (rc == -1) {
		sb_service_hint(err);
		return -1;
	}
	return sb_vtable_quote(&s->vt, s->db, err);
}

/* s as sb_put_text shows it, in buf (cut to cap). */
static void
safe_copy(const char *s, char *buf, size_t cap)
{
	FILE *fp = fmemopen(buf, cap, "w");

	buf[0] = '\0';
	if (fp == NULL)
		return;
	setbuf(fp, NULL);
	sb_put_text(fp, s);
	fclose(fp);
	buf[cap - 1] = '\0';
}

/* Name of position k of the bundle. */
static const char *
pos_name(const struct sb_manifest *m, size_t k)
{
	return k == 0 ? m->from : m->revs[k - 1].id;
}

/*
 * Everything that must hold before a step runs: project binding,
 * position, no edited revision, target, reversibility, and an
 * interrupted step (if any) that the plan finishes first.
 */
static int
check_and_plan(struct session *s, enum sb_dir dir, const char *target,
    struct sb_err *err)
{
	const struct sb_manifest *m = s->m;
	size_t tgt;
	enum sb_dir d;

	if (s->st.project != NULL && strcmp(s->st.project, m->project) != 0) {
		sb_err_set(err, SB_EREFUSED, "database \"%s\" belongs to "
		    "project \"%s\"; the bundle is of project \"%s\"",
		    sb_db_name(s->db), s->st.project, m->project);
		return -1;
	}
	sb_heads_build(&s->heads, m);
	if (sb_plan_position(&s->heads, m, s->st.heads, s->st.nheads, &s->pos,
	    err) == -1)
		return -1;
	for (size_t i = 0; i < m->nrevs; i++) {
		const char *sha = sb_state_applied_sha(&s->st, m->revs[i].id);

		if (sha != NULL && strcmp(sha, m->revs[i].upgrade_sha) != 0) {
			sb_err_set(err, SB_EREFUSED, "revision \"%s\" (%s) was "
			    "edited: the database applied it with a script of "
			    "SHA-256 %.12s, the bundle carries %.12s",
			    m->revs[i].id, m->revs[i].file, sha,
			    m->revs[i].upgrade_sha);
			sb_err_hint(err, "a revision must never change once "
			    "applied; add a new revision instead");
			return -1;
		}
	}
	if (sb_plan_target(m, s->pos, dir, target, &tgt, &d, err) == -1)
		return -1;
	if (sb_plan_make(&s->plan, m, &s->heads, s->pos, tgt, d, err) == -1)
		return -1;
	if (s->st.ninflight > 0) {
		const struct sb_inflight *f = &s->st.inflight[0];
		const struct sb_step *first = s->plan.nsteps > 0 ?
		    &s->plan.steps[0] : NULL;
		const struct sb_manifest_rev *r = first ?
		    &m->revs[first->rev] : NULL;
		const char *fdir = first && first->dir == SB_DIR_DOWN ?
		    "downgrade" : "upgrade";

		if (first == NULL) {
			sb_progress_info(&s->progress, "note: the %s of "
			    "revision \"%s\" was interrupted; it resumes "
			    "when the database moves on", f->direction,
			    f->revision);
			return 0;
		}
		if (s->st.ninflight > 1 || strcmp(f->revision, r->id) != 0 ||
		    strcmp(f->direction, fdir) != 0) {
			sb_err_set(err, SB_EREFUSED, "the %s of revision \"%s\" "
			    "was interrupted and must finish first",
			    f->direction, f->revision);
			sb_err_hint(err, "run %s again with a bundle that "
			    "carries revision \"%s\"", f->direction,
			    f->revision);
			return -1;
		}
		if (strcmp(f->script_sha, first->dir == SB_DIR_DOWN ?
		    r->downgrade_sha : r->upgrade_sha) != 0 &&
		    !r->transactional && f->seed_entry == 0 &&
		    f->seed_offset == 0) {
			/*
			 * A fixed script: its statements must be idempotent
			 * anyway, so it starts again from the first.
			 */
			sb_progress_info(&s->progress, "the interrupted %s of "
			    "revision \"%s\" ran another version of its "
			    "script; it starts again from its first statement",
			    f->direction, r->id);
			return 0;
		}
		if (strcmp(f->script_sha, first->dir == SB_DIR_DOWN ?
		    r->downgrade_sha : r->upgrade_sha) != 0) {
			sb_err_set(err, SB_EREFUSED, "the interrupted %s of "
			    "revision \"%s\" ran a script of SHA-256 %.12s; "
			    "the bundle carries %.12s", f->direction, r->id,
			    f->script_sha, first->dir == SB_DIR_DOWN ?
			    r->downgrade_sha : r->upgrade_sha);
			sb_err_hint(err, "finish it with the bundle it "
			    "started with (%.12s)", f->bundle_id);
			return -1;
		}
		s->resume = f;
	}
	return 0;
}

static int
usage_args(int argc, int min, int max, const char *synopsis,
    struct sb_err *err)
{
	if (argc < min)
		return sb_err_set(err, SB_EUSAGE, "missing argument: %s",
		    synopsis);
	if (argc > max)
		return sb_err_set(err, SB_EUSAGE, "too many arguments: %s",
		    synopsis);
	return 0;
}

int
sb_apply_verify(const struct sb_apply_opts *o, int argc, char **argv,
    struct sb_err *err)
{
	struct session s;
	int ret = -1;

	session_init(&s, o);
	if (usage_args(argc, 1, 1, "verify BUNDLE", err) == -1)
		goto out;
	if (open_verified(&s, argv[0], false, err) == -1)
		goto out;
	if (o->json) {
		struct sb_json j;

		sb_json_begin(&j, stdout, "verify");
		sb_open_json(&s.bo, &j);
		sb_json_end(&j);
	} else if (!o->quiet) {
		printf("bundle %s verified: project %s, %s..%s, %zu "
		    "revision%s\n", argv[0], s.m->project, s.m->from, s.m->to,
		    s.m->nrevs, s.m->nrevs == 1 ? "" : "s");
		printf("bundle id: %s\n", s.id);
		sb_open_print_sigs(&s.bo, stdout, "trust: ", "signed by: ");
	}
	ret = 0;
out:
	return session_end(&s, ret, err);
}

/* Where an interrupted step resumes, in words. */
static void
resume_words(const struct sb_manifest *m, const struct sb_step *st,
    const struct sb_inflight *f, char *buf, size_t cap)
{
	const struct sb_manifest_rev *r = &m->revs[st->rev];

	if (st->dir == SB_DIR_UP && r->nseeds > 0 &&
	    f->seed_entry < (long long)r->nseeds &&
	    (r->transactional || f->seed_entry > 0 || f->seed_offset > 0))
		snprintf(buf, cap, "resumes at seed %s, byte %lld",
		    m->entries[r->first_seed + (size_t)f->seed_entry].path,
		    f->seed_offset);
	else
		snprintf(buf, cap, "resumes at statement %lld",
		    f->statements_done + 1);
}

static const char *
dir_name(enum sb_dir d)
{
	return d == SB_DIR_DOWN ? "downgrade" : "upgrade";
}

/* Where an interrupted step stands, as in status's "in_progress". */
static void
inflight_json(struct sb_json *j, const struct sb_inflight *f)
{
	sb_json_str(j, "bundle_id", f->bundle_id);
	sb_json_int(j, "statements_done", f->statements_done);
	sb_json_int(j, "seed_entry", f->seed_entry);
	sb_json_int(j, "seed_offset", f->seed_offset);
	sb_json_int(j, "seed_line", f->seed_line);
}

static int
seed_load(struct session *s, size_t idx, struct seed_load *sl,
    struct sb_err *err)
{
	const struct sb_manifest_entry *e = &s->m->entries[idx];
	const struct sb_chunks *k = &s->bo.chunks.entries[idx];
	bool missing;

	sl->chunks = k->n + 1;
	sl->conns = s->o->jobs;
	if (s->o->jobs <= 1) {
		sl->why = sb_strdup("--jobs 1");
	} else {
		if (sb_catalog_load_order(s->db, e->schema, e->table, k->cols,
		    k->ncols, &sl->why, &missing, err) == -1)
			return -1;
		if (missing && sl->why == NULL)
			sl->why = sb_printf("%s.%s does not exist yet; checked "
			    "when the file loads", e->schema, e->table);
	}
	if (sl->why != NULL)
		sl->conns = 1;
	return 0;
}

static int
plan_loads(struct session *s, struct sb_err *err)
{
	const struct sb_plan *p = &s->plan;

	s->loads = sb_calloc(s->m->nentries + 1, sizeof(*s->loads));
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct sb_manifest_rev *r = &s->m->revs[p->steps[i].rev];

		for (size_t k = 0; p->steps[i].dir == SB_DIR_UP &&
		    k < r->nseeds; k++) {
			size_t idx = r->first_seed + k;

			if (s->m->entries[idx].kind != SB_ENTRY_SEED_CSV ||
			    s->bo.chunks.entries[idx].n == 0)
				continue;
			s->loads[idx] = sb_calloc(1, sizeof(struct seed_load));
			if (seed_load(s, idx, s->loads[idx], err) == -1)
				return -1;
		}
	}
	return 0;
}

static void
loads_release(struct session *s)
{
	for (size_t i = 0; s->loads != NULL && i < s->m->nentries; i++) {
		if (s->loads[i] != NULL)
			free(s->loads[i]->why);
		free(s->loads[i]);
	}
	free(s->loads);
}

/* The chunked seeds of step st, as JSON or as text lines. */
static void
print_seed_loads(struct session *s, const struct sb_step *st,
    struct sb_json *j)
{
	const struct sb_manifest_rev *r = &s->m->revs[st->rev];
	bool opened = false;

	for (size_t i = 0; st->dir == SB_DIR_UP && i < r->nseeds; i++) {
		const char *file = s->m->entries[r->first_seed + i].path;
		const struct seed_load *sl = s->loads[r->first_seed + i];

		if (sl == NULL)
			continue;
		if (j != NULL) {
			if (!opened)
				sb_json_array(j, "chunked_seeds");
			opened = true;
			sb_json_object(j, NULL);
			sb_json_str(j, "file", file);
			sb_json_uint(j, "chunks", sl->chunks);
			sb_json_uint(j, "connections", sl->conns);
			if (sl->why != NULL)
				sb_json_str(j, "serial_reason", sl->why);
			sb_json_close(j);
		} else if (sl->why != NULL) {
			printf("       %s: %zu chunks, serially: %s\n", file,
			    sl->chunks, sl->why);
		} else {
			printf("       %s: %zu chunks on %u connections\n",
			    file, sl->chunks, sl->conns);
		}
	}
	if (opened)
		sb_json_close(j);
}

/* --lock-timeout and --lock-wait-max: into j, or a sentence in buf. */
static void
lock_settings(const struct session *s, struct sb_json *j, char *buf,
    size_t cap)
{
	char t[32], max[32];

	sb_format_duration(s->o->lock_timeout, t, sizeof(t));
	sb_format_duration(s->o->lock_wait_max, max, sizeof(max));
	if (j != NULL) {
		sb_json_str(j, "lock_timeout", t);
		sb_json_str(j, "lock_wait_max", max);
	} else if (s->o->lock_timeout == 0) {
		snprintf(buf, cap, "lock waits: unbounded "
		    "(--lock-timeout 0)");
	} else {
		snprintf(buf, cap, "lock waits: at most %s a statement "
		    "(--lock-timeout), then the step rolls back and retries "
		    "for up to %s (--lock-wait-max)", t, max);
	}
}

static void
print_plan_json(struct session *s)
{
	const struct sb_manifest *m = s->m;
	const struct sb_plan *p = &s->plan;
	struct sb_json j;

	sb_json_begin(&j, stdout, "plan");
	sb_open_json(&s->bo, &j);
	sb_json_str(&j, "database", sb_db_name(s->db));
	sb_json_strs(&j, "revisions", s->st.heads, s->st.nheads);
	sb_json_str(&j, "direction", dir_name(p->dir));
	sb_json_str(&j, "target", pos_name(m, p->target));
	sb_json_uint(&j, "step_count", p->nsteps);
	lock_settings(s, &j, NULL, 0);
	sb_json_array(&j, "steps");
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct sb_step *st = &p->steps[i];
		const struct sb_manifest_rev *r = &m->revs[st->rev];

		sb_json_object(&j, NULL);
		sb_json_uint(&j, "index", i + 1);
		sb_json_str(&j, "direction", dir_name(st->dir));
		sb_json_str(&j, "revision", r->id);
		sb_json_str(&j, "revision_message", r->message);
		sb_json_str(&j, "file", r->file);
		sb_json_bool(&j, "transactional", r->transactional);
		sb_json_bool(&j, "reversible", sb_plan_reversible(m, st->rev));
		sb_json_uint(&j, "seed_count",
		    st->dir == SB_DIR_UP ? r->nseeds : 0);
		if (i == 0 && s->resume != NULL) {
			char words[512];

			resume_words(m, st, s->resume, words, sizeof(words));
			sb_json_object(&j, "resume");
			sb_json_str(&j, "message", words);
			inflight_json(&j, s->resume);
			sb_json_close(&j);
		}
		print_seed_loads(s, st, &j);
		sb_json_close(&j);
	}
	sb_json_end(&j);
}

/* Say which downgrades the plan makes impossible. */
static void
print_floor(struct session *s)
{
	const struct sb_manifest_rev *f = sb_plan_floor(&s->plan, s->m);

	if (f == NULL)
		return;
	printf("note: revision %s is irreversible (no -- +downgrade): once "
	    "applied, no downgrade can go below it\n", f->id);
}

static void
print_plan(struct session *s)
{
	const struct sb_manifest *m = s->m;
	const struct sb_plan *p = &s->plan;
	char *at = sb_ids_join(s->st.heads, s->st.nheads), esc[SB_ESCAPED_MAX];
	const char *dir = p->dir == SB_DIR_DOWN ? "downgrade" : "upgrade";

	printf("bundle %s: project %s, %s..%s, id %.12s, key %s\n", s->path,
	    m->project, m->from, m->to, s->id, m->key_id);
	safe_copy(at, esc, sizeof(esc));
	printf("database %s: at %s\n", sb_db_name(s->db), esc);
	if (p->nsteps == 0) {
		printf("nothing to do: database at %s\n",
		    pos_name(m, p->pos));
	} else {
		char locks[256];

		printf("%s to %s: %zu step%s\n", dir, pos_name(m, p->target),
		    p->nsteps, p->nsteps == 1 ? "" : "s");
		lock_settings(s, NULL, locks, sizeof(locks));
		printf("%s\n", locks);
		for (size_t i = 0; i < p->nsteps; i++) {
			const struct sb_manifest_rev *r =
			    &m->revs[p->steps[i].rev];

			printf("  %zu. %s %s  ", i + 1, dir, r->id);
			sb_put_safe(stdout, r->message, strlen(r->message),
			    false);
			if (!r->transactional)
				printf("  [transactional: false]");
			if (!sb_plan_reversible(m, p->steps[i].rev))
				printf("  [irreversible]");
			if (p->steps[i].dir == SB_DIR_UP && r->nseeds > 0)
				printf("  [%zu seed file%s]", r->nseeds,
				    r->nseeds == 1 ? "" : "s");
			if (i == 0 && s->resume != NULL) {
				char words[512];

				resume_words(m, &p->steps[0], s->resume,
				    words, sizeof(words));
				printf("  [interrupted: %s]", words);
			}
			putchar('\n');
			print_seed_loads(s, &p->steps[i], NULL);
		}
		print_floor(s);
	}
	free(at);
}

/* What plan says about drift: the comparison an upgrade would make. */
static int
plan_drift(struct session *s, struct sb_err *err)
{
	struct sb_drift_result res = SB_DRIFT_RESULT_INIT;
	int ret = -1;

	if ((s->o->quiet && !s->o->json) || (s->o->json && !s->drift.have))
		return 0;
	res.revision = pos_name(s->m, s->pos);
	if (s->drift.have && sb_drift_compare(&s->drift, s->db,
	    res.revision, NULL, &res, err) == -1)
		goto out;
	sb_drift_print(&s->drift, &res, "plan", false, stdout);
	ret = 0;
out:
	sb_drift_result_release(&res);
	return ret;
}

int
sb_apply_plan(const struct sb_apply_opts *o, int argc, char **argv,
    struct sb_err *err)
{
	struct session s;
	int ret = -1;

	session_init(&s, o);
	if (usage_args(argc, 1, 2, "plan BUNDLE [TARGET]", err) == -1 ||
	    sb_plan_target_check(argc > 1 ? argv[1] : NULL, SB_DIR_ANY,
	    err) == -1 ||
	    sb_vtable_parse(&s.vt, o->vtable, err) == -1)
		goto out;
	connect_early(&s);
	/* With the chunks: which seeds load in parallel is part of a plan. */
	if (open_verified(&s, argv[0], true, err) == -1)
		goto out;
	/* Read only: no lock, no DDL; missing tables read as empty. */
	if (connect_db(&s, err) == -1 ||
	    sb_state_read(s.db, &s.vt, &s.st, err) == -1)
		goto out;
	if (check_and_plan(&s, SB_DIR_ANY, argc > 1 ? argv[1] : NULL,
	    err) == -1)
		goto out;
	if (plan_loads(&s, err) == -1 || load_drift(&s, "plan", err) == -1)
		goto out;
	if (o->json)
		print_plan_json(&s);
	else if (!o->quiet)
		print_plan(&s);
	if (plan_drift(&s, err) == -1)
		goto out;
	ret = 0;
out:
	return session_end(&s, ret, err);
}

/* The chunk of the cuts k that ends at end starts here. */
static uint64_t
chunk_start(const struct sb_chunks *k, uint64_t end)
{
	uint64_t start = 0;

	for (size_t i = 0; i < k->n && k->v[i].end < end; i++)
		start = k->v[i].end;
	return start;
}

/*
 * Seed bytes (and chunks) of the interrupted first step that earlier
 * runs committed: the seed files before the one in flight, and of that
 * one its serial offset or its parallel load's chunk rows.
 */
static int
resumed_seed(struct session *s, uint64_t *bytes, uint64_t *chunks,
    struct sb_err *err)
{
	const struct sb_inflight *f = s->resume;
	const struct sb_chunk_plan *cp = &s->bo.chunks;
	const struct sb_manifest_rev *r;
	struct sb_rows rows = SB_ROWS_INIT;
	struct sb_book_step bs;
	const struct sb_chunks *k;
	size_t first;

	*bytes = *chunks = 0;
	if (f == NULL || s->plan.nsteps == 0 || cp->entries == NULL ||
	    s->plan.steps[0].dir != SB_DIR_UP)
		return 0;
	r = &s->m->revs[s->plan.steps[0].rev];
	first = r->first_seed;
	for (size_t j = 0; j < (size_t)f->seed_entry && j < r->nseeds; j++)
		*bytes += cp->entries[first + j].size;
	if (f->seed_entry >= (long long)r->nseeds)
		return 0;
	k = &cp->entries[first + (size_t)f->seed_entry];
	/* The serial prefix (a parallel load's first chunk is one)... */
	*bytes += (uint64_t)f->seed_offset;
	for (size_t i = 0; i < k->n; i++)
		*chunks += f->seed_offset > 0 &&
		    k->v[i].end <= (uint64_t)f->seed_offset;
	/* ...then the chunks the workers committed after it. */
	bs = (struct sb_book_step){ .revision = r->id,
	    .direction = f->direction };
	if (sb_state_chunks_read(s->db, &bs, (size_t)f->seed_entry, &rows,
	    err) == -1)
		return -1;
	for (size_t i = 0; i < rows.nrows; i++) {
		uint64_t end = strtoull(cell(&rows, i, 0), NULL, 10);

		if (end <= (uint64_t)f->seed_offset)
			continue;
		*bytes += end - chunk_start(k, end);
		(*chunks)++;
	}
	sb_rows_release(&rows);
	return 0;
}

/*
 * The row status reads while this run works: written on a connection of
 * its own (autocommit), so that it shows at once whatever transaction the
 * run holds open, and never waits on one. The connection starts with the
 * run's own and comes up while the bundle is verified (dropped when the
 * plan has nothing to run); nothing waits for its answers. Without it,
 * status shows no details.
 */
static void
running_start(struct session *s)
{
	struct sb_err ignored = SB_ERR_INIT;

	(void)sb_db_connect_start(&s->side, s->o->conninfo, &ignored);
}

static void
running_drop(struct session *s)
{
	sb_db_close(s->side);
	s->side = NULL;
	s->progress.hook = NULL;
}

/* Status's view of the run: the step and its bytes (sqlbundle.running). */
static void
running_hook(void *arg, const struct sb_progress *p, bool commit)
{
	struct session *s = arg;

	(void)commit;
	if (sb_state_running_update(s->side, p->index, p->total, p->rev,
	    p->dir, p->done, p->step_total) == -1)
		running_drop(s);
}

static void
running_begin(struct session *s, const char *cmd)
{
	if (s->side == NULL)
		return;
	if (sb_state_running_begin(s->side, sb_db_pid(s->db), (long)getpid(),
	    cmd, s->id) == -1) {
		running_drop(s);
		return;
	}
	s->progress.hook = running_hook;
	s->progress.hook_arg = s;
}

/* The upgrade script's SHA-256 of position k (NULL for the bundle's From). */
static const char *
pos_upgrade(const struct sb_manifest *m, size_t k)
{
	return k == 0 ? NULL : m->revs[k - 1].upgrade_sha;
}

/*
 * --fingerprints: its exclusions (checked before anything connects),
 * and where the records go.
 */
static int
records_init(struct session *s, struct sb_err *err)
{
	const struct sb_apply_opts *o = s->o;

	if (o->fingerprints == NULL)
		return 0;
	for (size_t i = 0; i < o->nexclude; i++)
		if (sb_fp_excl_add(&s->rec.excl, o->exclude[i], err) == -1) {
			err->code = SB_EUSAGE;
			return -1;
		}
	/* As sb_drift_load orders them, so one query can serve both. */
	sb_fp_excl_add_bookkeeping(&s->drift.rec_excl, o->vtable);
	sb_fp_excl_copy(&s->drift.rec_excl, &s->rec.excl);
	s->drift.rec = &s->rec;
	return 0;
}

/*
 * A step failed (not interrupted, not refused before it began): its
 * attempt goes into the history, if the connection still works.
 */
static void
record_failure(struct session *s, const struct sb_err *err)
{
	const struct sb_progress *p = &s->progress;
	const struct sb_step *st;
	const struct sb_manifest_rev *r;
	struct sb_book_step bs;
	struct sb_err ignored = SB_ERR_INIT;

	if (!p->in_step || err->code >= 128 || p->index == 0 ||
	    p->index > s->plan.nsteps || sb_db_lost(s->db))
		return;
	st = &s->plan.steps[p->index - 1];
	r = &s->m->revs[st->rev];
	bs = (struct sb_book_step){ .bundle_id = s->id,
	    .key_id = s->m->key_id, .revision = r->id,
	    .direction = dir_name(st->dir),
	    .script_sha = st->dir == SB_DIR_DOWN ? r->downgrade_sha :
	    r->upgrade_sha };
	sb_db_rollback(s->db);
	(void)sb_state_fail(s->db, &bs, err->sqlstate, err->msg, &ignored);
}

/*
 * Write the records of the run: all of them, or after a failure those of
 * the steps that committed.
 */
static int
write_records(struct session *s, struct sb_err *err)
{
	if (s->drift.rec == NULL || s->rec.n == 0)
		return 0;
	return sb_fp_file_write(&s->rec, s->o->fingerprints, err);
}

/* upgrade and downgrade: verify, lock, check, run. */
static int
apply(const struct sb_apply_opts *o, enum sb_dir dir, int argc, char **argv,
    struct sb_err *err)
{
	const char *cmd = dir == SB_DIR_DOWN ? "downgrade" : "upgrade";
	struct session s;
	struct sb_run run;
	uint64_t resumed, resumed_chunks;
	int ret = -1;

	session_init(&s, o);
	if (dir == SB_DIR_UP &&
	    usage_args(argc, 1, 2, "upgrade BUNDLE [TARGET]", err) == -1)
		goto out;
	if (dir == SB_DIR_DOWN &&
	    usage_args(argc, 2, 2, "downgrade BUNDLE TARGET", err) == -1)
		goto out;
	if (sb_plan_target_check(argc > 1 ? argv[1] : NULL, dir, err) == -1 ||
	    sb_vtable_parse(&s.vt, o->vtable, err) == -1 ||
	    records_init(&s, err) == -1)
		goto out;
	sb_progress_catch();
	connect_early(&s);
	running_start(&s);
	if (open_verified(&s, argv[0], dir == SB_DIR_UP, err) == -1 ||
	    sb_progress_check(&s.progress, err) == -1)
		goto out;
	if (connect_db(&s, err) == -1)
		goto out;
	if (sb_state_lock(s.db, false, err) == -1) {
		if (err->code != SB_ELOCKED || !o->wait)
			goto out;
		sb_progress_info(&s.progress, "waiting: %s", err->msg);
		sb_err_clear(err);
		/* No idle second session for as long as the wait lasts. */
		running_drop(&s);
		if (sb_state_lock(s.db, true, err) == -1)
			goto out;
		running_start(&s);
	}
	/*
	 * Roots the bundle carried, checked with it: stored under the lock,
	 * before any statement, whatever comes next.
	 */
	if (sb_trust_store(&s.bo.trust, err) == -1)
		goto out;
	/*
	 * Read and check first (missing tables read as empty), so that a
	 * refusal leaves the database as it was; the lock keeps the state
	 * still until the bookkeeping exists.
	 */
	if (sb_state_read(s.db, &s.vt, &s.st, err) == -1)
		goto out;
	if (check_and_plan(&s, dir, argc > 1 ? argv[1] : NULL, err) == -1)
		goto out;
	if (s.plan.nsteps == 0)
		running_drop(&s);
	/*
	 * The schema must be the one the bundle expects here, before the
	 * first statement; a resumed step starts from a half-done schema,
	 * so only the checks after steps apply to it.
	 */
	if (load_drift(&s, cmd, err) == -1)
		goto out;
	/* For a person; --json output keeps its lines as they were. */
	if (s.plan.nsteps > 0 && !s.drift.have && !o->json)
		sb_progress_info(&s.progress, "drift: not checked: the bundle "
		    "carries no expected schema (packed without a rehearsal)");
	if (s.resume == NULL && (s.plan.nsteps > 0 || s.drift.rec != NULL) &&
	    sb_drift_check(&s.drift, s.db, pos_name(s.m, s.pos),
	    pos_upgrade(s.m, s.pos), "before", s.plan.nsteps > 0, err) == -1)
		goto out;
	if (sb_state_ensure(s.db, &s.vt, &s.st, err) == -1 ||
	    sb_drift_flush(&s.drift, s.db, err) == -1)
		goto out;
	if (s.st.project == NULL &&
	    sb_state_bind(s.db, s.m->project, s.id, err) == -1)
		goto out;
	if (resumed_seed(&s, &resumed, &resumed_chunks, err) == -1)
		goto out;
	running_begin(&s, cmd);
	sb_progress_start(&s.progress, cmd, &s.bo, sb_db_name(s.db), s.st.heads,
	    s.st.nheads, pos_name(s.m, s.plan.target), s.plan.nsteps);
	sb_progress_plan(&s.progress, s.m, &s.plan, &s.bo.chunks, resumed,
	    resumed_chunks);
	run = (struct sb_run){
		.db = s.db,
		.conninfo = o->conninfo,
		.jobs = o->jobs,
		.bundle = s.b,
		.m = s.m,
		.plan = &s.plan,
		.bundle_id = s.id,
		.vt = &s.vt,
		.chunk_size = o->chunk_size,
		.chunks = &s.bo.chunks,
		.progress = &s.progress,
		.resume = s.resume,
		.drift = &s.drift,
		.lock_timeout_ms = o->lock_timeout,
		.lock_wait_max_ms = o->lock_wait_max,
	};
	if (sb_run(&run, err) == -1 || write_records(&s, err) == -1) {
		/* Interrupted: count the chunks that committed meanwhile. */
		if (err->code >= 128)
			(void)sb_progress_check(&s.progress, err);
		record_failure(&s, err);
		goto out;
	}
	sb_progress_done(&s.progress, cmd, pos_name(s.m, s.plan.target),
	    s.plan.nsteps);
	ret = 0;
out:
	if (ret == -1) {
		/* Not to hide the run's own error. */
		struct sb_err ignored = SB_ERR_INIT;

		write_records(&s, &ignored);
	}
	if (s.side != NULL)
		sb_state_running_end(s.side);
	sb_db_close(s.side);
	return session_end(&s, ret, err);
}

int
sb_apply_upgrade(const struct sb_apply_opts *o, int argc, char **argv,
    struct sb_err *err)
{
	return apply(o, SB_DIR_UP, argc, argv, err);
}

int
sb_apply_downgrade(const struct sb_apply_opts *o, int argc, char **argv,
    struct sb_err *err)
{
	return apply(o, SB_DIR_DOWN, argc, argv, err);
}

int
sb_apply_fingerprint(const struct sb_apply_opts *o, int argc, char **argv,
    struct sb_err *err)
{
	struct session s;
	struct sb_fp_excl x = SB_FP_EXCL_INIT;
	struct sb_fp fp = SB_FP_INIT;
	char digest[SB_SHA256_HEX], *text = NULL;
	size_t len;
	int ret = -1;

	(void)argv;
	session_init(&s, o);
	if (usage_args(argc, 0, 0, "fingerprint", err) == -1 ||
	    sb_vtable_parse(&s.vt, o->vtable, err) == -1)
		goto out;
	for (size_t i = 0; i < o->nexclude; i++)
		if (sb_fp_excl_add(&x, o->exclude[i], err) == -1) {
			err->code = SB_EUSAGE;
			goto out;
		}
	sb_fp_excl_add_bookkeeping(&x, o->vtable);
	if (connect_db(&s, err) == -1 ||
	    sb_drift_live(s.db, &x, &fp, err) == -1)
		goto out;
	sb_fp_digest(&fp, digest);
	if (o->json) {
		struct sb_json j;

		sb_json_begin(&j, stdout, "fingerprint");
		sb_json_str(&j, "database", sb_db_name(s.db));
		sb_json_str(&j, "digest", digest);
		sb_json_uint(&j, "objects", fp.n);
		sb_json_strs(&j, "lines", fp.lines, fp.n);
		sb_json_end(&j);
	} else {
		/* The description itself: its sha256sum is the digest. */
		text = sb_fp_text(&fp, &len);
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout)) {
			sb_err_sys(err, "could not write the description");
			goto out;
		}
		if (!o->quiet)
			fprintf(stderr, "%zu objects, digest %s\n", fp.n,
			    digest);
	}
	ret = 0;
out:
	free(text);
	sb_fp_release(&fp);
	sb_fp_excl_release(&x);
	return session_end(&s, ret, err);
}

int
sb_apply_drift(const struct sb_apply_opts *o, int argc, char **argv,
    struct sb_err *err)
{
	struct session s;
	struct sb_drift_result res = SB_DRIFT_RESULT_INIT;
	const char *outcome;
	int ret = -1;

	session_init(&s, o);
	if (usage_args(argc, 1, 1, "drift BUNDLE", err) == -1 ||
	    sb_vtable_parse(&s.vt, o->vtable, err) == -1)
		goto out;
	connect_early(&s);
	if (open_verified(&s, argv[0], false, err) == -1)
		goto out;
	/* Read only but for the row of sqlbundle.drift; no lock. */
	if (connect_db(&s, err) == -1 ||
	    sb_state_read(s.db, &s.vt, &s.st, err) == -1)
		goto out;
	if (s.st.project != NULL && strcmp(s.st.project, s.m->project) != 0) {
		sb_err_set(err, SB_EREFUSED, "database \"%s\" belongs to "
		    "project \"%s\"; the bundle is of project \"%s\"",
		    sb_db_name(s.db), s.st.project, s.m->project);
		goto out;
	}
	sb_heads_build(&s.heads, s.m);
	if (sb_plan_position(&s.heads, s.m, s.st.heads, s.st.nheads, &s.pos,
	    err) == -1 || load_drift(&s, "drift", err) == -1)
		goto out;
	res.revision = pos_name(s.m, s.pos);
	if (s.drift.have && sb_drift_compare(&s.drift, s.db, res.revision,
	    NULL, &res, err) == -1)
		goto out;
	if (!o->quiet || o->json)
		sb_drift_print(&s.drift, &res, "report", false, stdout);
	outcome = !s.drift.have || res.expected == NULL ? "unchecked" :
	    res.diff.n == 0 ? "none" : "reported";
	if (s.drift.have && sb_drift_record(&s.drift, s.db, &res, outcome,
	    err) == -1)
		goto out;
	if (res.diff.n > 0) {
		sb_err_set(err, SB_EDRIFT, "schema drift at revision \"%s\": "
		    "%zu object%s differ%s from the schema the bundle expects",
		    res.revision, res.diff.n, res.diff.n == 1 ? "" : "s",
		    res.diff.n == 1 ? "s" : "");
		goto out;
	}
	ret = 0;
out:
	sb_drift_result_release(&res);
	return session_end(&s, ret, err);
}

static const char *
cell(const struct sb_rows *rows, size_t r, size_t c)
{
	const char *v = sb_rows_get(rows, r, c);

	return v != NULL ? v : "";
}

/* What status reads besides the state: who runs, what failed. */
struct status_extra {
	struct sb_rows	 live;		/* sb_state_live */
	struct sb_rows	 failed;	/* sb_state_last_failure */
	long long	*chunks;	/* per in-flight row */
};

static long long
num_cell(const struct sb_rows *rows, size_t r, size_t c)
{
	return strtoll(cell(rows, r, c), NULL, 10);
}

/* "running: upgrade 2/3 (revision b) by pid 42 since ...; seed ..." */
static void
print_running(const struct sb_rows *live)
{
	char size[64];
	long long done = num_cell(live, 0, 7), total = num_cell(live, 0, 8);

	printf("running: %s %s/%s (revision %s) by pid %s since %s UTC",
	    cell(live, 0, 6)[0] ? cell(live, 0, 6) : cell(live, 0, 2),
	    cell(live, 0, 3), cell(live, 0, 4), cell(live, 0, 5)[0] ?
	    cell(live, 0, 5) : "-", cell(live, 0, 0), cell(live, 0, 1));
	if (total > 0) {
		sb_progress_sizes((uint64_t)done, (uint64_t)total, " of ",
		    size, sizeof(size));
		printf("; seed %s committed (%.0f%%)", size,
		    100.0 * (double)done / (double)total);
	}
	putchar('\n');
}

/* An interrupted step: how far it got and what finishes it. */
static void
print_interrupted(const struct sb_inflight *f, long long chunks)
{
	printf("interrupted: %s of %s", f->direction, f->revision);
	if (chunks > 0)
		printf(", seed file %lld: %lld chunk%s committed (parallel "
		    "load)", f->seed_entry + 1, chunks, chunks == 1 ? "" : "s");
	else if (f->seed_offset > 0)
		printf(", seed file %lld: %lld bytes (%lld lines) committed",
		    f->seed_entry + 1, f->seed_offset, f->seed_line);
	else if (f->seed_entry > 0)
		printf(", seed files 1 to %lld committed", f->seed_entry);
	else if (f->statements_done > 0)
		printf(", %lld statement%s done", f->statements_done,
		    f->statements_done == 1 ? "" : "s");
	printf("\n  to finish it: sqlbundle-apply %s BUNDLE, with bundle "
	    "%.12s (the one it started with) or any bundle carrying the "
	    "same revision\n", f->direction, f->bundle_id);
}

static void
print_failure(const struct sb_rows *failed)
{
	printf("last attempt failed: %s of %s at %s UTC", cell(failed, 0, 1),
	    cell(failed, 0, 2), cell(failed, 0, 0));
	if (cell(failed, 0, 4)[0] != '\0')
		printf(", SQLSTATE %s", cell(failed, 0, 4));
	fputs("\n  ", stdout);
	sb_put_safe(stdout, cell(failed, 0, 5), strlen(cell(failed, 0, 5)),
	    false);
	putchar('\n');
}

/* Names kept stable: fleet inventory scripts read them. */
static void
status_json(struct session *s, const struct sb_rows *hist,
    const struct status_extra *x, const struct sb_rows *drift)
{
	static const char *keys[] = { "finished_at", "direction", "revision",
	    "bundle_id", "key_id", "db_user", "script_sha256",
	    "applier_version" };
	struct sb_json j;

	sb_json_begin(&j, stdout, "status");
	sb_json_str(&j, "database", sb_db_name(s->db));
	sb_json_str(&j, "project", s->st.project);
	sb_json_str(&j, "version_table", s->vt.name);
	sb_json_bool(&j, "version_table_exists", s->st.has_vt);
	sb_json_strs(&j, "revisions", s->st.heads, s->st.nheads);
	sb_json_bool(&j, "running", x->live.nrows > 0);
	if (x->live.nrows > 0) {
		sb_json_int(&j, "pid", num_cell(&x->live, 0, 0));
		sb_json_object(&j, "run");
		sb_json_str(&j, "command", cell(&x->live, 0, 2));
		sb_json_str(&j, "since", cell(&x->live, 0, 1));
		sb_json_str(&j, "bundle_id", cell(&x->live, 0, 9));
		sb_json_int(&j, "step", num_cell(&x->live, 0, 3));
		sb_json_int(&j, "step_count", num_cell(&x->live, 0, 4));
		if (cell(&x->live, 0, 5)[0] != '\0') {
			sb_json_str(&j, "revision", cell(&x->live, 0, 5));
			sb_json_str(&j, "direction", cell(&x->live, 0, 6));
		}
		sb_json_int(&j, "bytes_done", num_cell(&x->live, 0, 7));
		sb_json_int(&j, "bytes_total", num_cell(&x->live, 0, 8));
		sb_json_close(&j);
	}
	sb_json_array(&j, "in_progress");
	for (size_t i = 0; i < s->st.ninflight; i++) {
		const struct sb_inflight *f = &s->st.inflight[i];

		sb_json_object(&j, NULL);
		sb_json_str(&j, "revision", f->revision);
		sb_json_str(&j, "direction", f->direction);
		inflight_json(&j, f);
		sb_json_int(&j, "chunks_committed", x->chunks[i]);
		sb_json_close(&j);
	}
	sb_json_close(&j);
	if (x->failed.nrows > 0) {
		sb_json_object(&j, "last_failure");
		sb_json_str(&j, "failed_at", cell(&x->failed, 0, 0));
		sb_json_str(&j, "direction", cell(&x->failed, 0, 1));
		sb_json_str(&j, "revision", cell(&x->failed, 0, 2));
		sb_json_str(&j, "bundle_id", cell(&x->failed, 0, 3));
		if (cell(&x->failed, 0, 4)[0] != '\0')
			sb_json_str(&j, "sqlstate", cell(&x->failed, 0, 4));
		sb_json_str(&j, "message", cell(&x->failed, 0, 5));
		sb_json_close(&j);
	}
	sb_json_array(&j, "history");
	for (size_t r = 0; r < hist->nrows; r++) {
		sb_json_object(&j, NULL);
		for (size_t c = 0; c < sizeof(keys) / sizeof(keys[0]); c++)
			sb_json_str(&j, keys[c], cell(hist, r, c));
		sb_json_close(&j);
	}
	sb_json_close(&j);
	if (drift->nrows > 0) {
		sb_json_object(&j, "drift");
		sb_json_str(&j, "checked_at", cell(drift, 0, 0));
		sb_json_str(&j, "command", cell(drift, 0, 1));
		sb_json_str(&j, "revision", cell(drift, 0, 2));
		sb_json_int(&j, "objects", atoll(cell(drift, 0, 3)));
		sb_json_str(&j, "outcome", cell(drift, 0, 4));
		sb_json_close(&j);
	} else {
		sb_json_str(&j, "drift", NULL);
	}
	sb_json_end(&j);
}

/* "last drift check: ..." and the objects of that check. */
static void
print_last_drift(const struct sb_rows *d)
{
	const char *report;
	long long n;

	if (d->nrows == 0) {
		printf("last drift check: none\n");
		return;
	}
	n = atoll(cell(d, 0, 3));
	printf("last drift check: %s UTC by %s at revision %s: ",
	    cell(d, 0, 0), cell(d, 0, 1), cell(d, 0, 2));
	if (strcmp(cell(d, 0, 4), "unchecked") == 0)
		printf("not checked (no expected schema)\n");
	else if (n == 0)
		printf("no drift\n");
	else
		printf("%lld object%s differ%s (%s)\n", n, n == 1 ? "" : "s",
		    n == 1 ? "s" : "", cell(d, 0, 4));
	report = cell(d, 0, 5);
	while (*report != '\0') {
		const char *nl = strchr(report, '\n');
		size_t len = nl ? (size_t)(nl - report) : strlen(report);

		fputs("  ", stdout);
		sb_put_safe(stdout, report, len, false);
		fputc('\n', stdout);
		report += len + (nl != NULL);
	}
}

int
sb_apply_status(const struct sb_apply_opts *o, int argc, char **argv,
    struct sb_err *err)
{
	struct session s;
	struct sb_rows hist = SB_ROWS_INIT, drift = SB_ROWS_INIT;
	struct status_extra x = { SB_ROWS_INIT, SB_ROWS_INIT, NULL };
	char *at = NULL, esc_at[SB_ESCAPED_MAX], esc_proj[SB_ESCAPED_MAX];
	int ret = -1;

	(void)argv;
	session_init(&s, o);
	if (usage_args(argc, 0, 0, "status", err) == -1 ||
	    sb_vtable_parse(&s.vt, o->vtable, err) == -1)
		goto out;
	if (connect_db(&s, err) == -1 ||
	    sb_state_read(s.db, &s.vt, &s.st, err) == -1 ||
	    sb_state_history(s.db, 20, &hist, err) == -1 ||
	    sb_state_last_drift(s.db, &drift, err) == -1 ||
	    sb_state_live(s.db, &s.st, &x.live, err) == -1 ||
	    sb_state_last_failure(s.db, &s.st, &x.failed, err) == -1)
		goto out;
	x.chunks = sb_calloc(s.st.ninflight + 1, sizeof(*x.chunks));
	for (size_t i = 0; i < s.st.ninflight; i++)
		if (sb_state_chunk_count(s.db, &s.st, &s.st.inflight[i],
		    &x.chunks[i], err) == -1)
			goto out;
	at = sb_ids_join(s.st.heads, s.st.nheads);
	if (o->inventory) {
		sb_inventory_print(stdout, s.st.project, s.st.heads,
		    s.st.nheads, &hist);
		sb_inventory_state(stdout, &drift, &x.failed, &x.live);
	} else if (o->json) {
		status_json(&s, &hist, &x, &drift);
	} else if (!o->quiet) {
		/* Values read from the database: escaped for the terminal. */
		safe_copy(at, esc_at, sizeof(esc_at));
		safe_copy(s.st.project ? s.st.project : "(none bound)",
		    esc_proj, sizeof(esc_proj));
		if (!s.st.has_book) {
			printf("no sqlbundle history; version table %s: %s\n",
			    s.vt.name, s.st.has_vt ? esc_at : "does not exist");
		} else {
			printf("database %s: project %s\n", sb_db_name(s.db),
			    esc_proj);
			printf("version table %s: %s\n", s.vt.name,
			    s.st.has_vt ? esc_at : "does not exist");
		}
		if (x.live.nrows > 0)
			print_running(&x.live);
		for (size_t i = 0; i < s.st.ninflight; i++)
			if (x.live.nrows == 0 || strcmp(cell(&x.live, 0, 5),
			    s.st.inflight[i].revision) != 0)
				print_interrupted(&s.st.inflight[i],
				    x.chunks[i]);
		if (x.failed.nrows > 0)
			print_failure(&x.failed);
		if (hist.nrows > 0) {
			printf("history (latest first):\n");
			for (size_t r = 0; r < hist.nrows; r++) {
				char *line = sb_printf("  %s UTC  %-9s  %-12s  "
				    "bundle %.12s  key %s  %s", cell(&hist, r, 0),
				    cell(&hist, r, 1), cell(&hist, r, 2),
				    cell(&hist, r, 3), cell(&hist, r, 4),
				    cell(&hist, r, 5));

				sb_put_text(stdout, line);
				putchar('\n');
				free(line);
			}
		} else if (s.st.has_book) {
			printf("history: empty\n");
		}
		print_last_drift(&drift);
	}
	ret = 0;
out:
	if (ret == -1 && o->inventory)
		sb_inventory_error(stdout, err);
	free(at);
	sb_rows_release(&drift);
	free(x.chunks);
	sb_rows_release(&x.live);
	sb_rows_release(&x.failed);
	sb_rows_release(&hist);
	return session_end(&s, ret, err);
}
