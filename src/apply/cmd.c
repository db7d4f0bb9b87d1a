/*
 * The commands of sqlbundle-apply: verify, plan, upgrade, downgrade,
 * status. The order is the security contract: the whole bundle is
 * verified (pass 1) before the database is even connected to.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlbundle/bundle.h"
#include "sqlbundle/crypto.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/manifest.h"
#include "sqlbundle/text.h"

#include "apply.h"
#include "db.h"
#include "plan.h"
#include "progress.h"
#include "run.h"
#include "state.h"

/* Everything one command holds; released once, whatever happened. */
struct session {
	const struct sb_apply_opts *o;
	const char		*path;		/* the bundle */
	struct sb_trust		 trust;
	int			 fd;
	char			 id[SB_SHA256_HEX];
	struct sb_bundle	*b;
	const struct sb_manifest *m;
	struct sb_progress	 progress;
	struct sb_db		*db;
	struct sb_vtable	 vt;
	struct sb_state		 st;
	struct sb_heads		 heads;
	struct sb_plan		 plan;
	size_t			 pos;
	const struct sb_inflight *resume;
	struct sb_chunk_plan	 chunks;	/* upgrade: pass 1's cuts */
};

static void
session_init(struct session *s, const struct sb_apply_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->fd = -1;
	sb_progress_init(&s->progress, o->json, o->quiet);
}

static int
session_end(struct session *s, int ret, struct sb_err *err)
{
	if (ret == -1)
		sb_progress_error(&s->progress, err);
	sb_plan_release(&s->plan);
	sb_heads_release(&s->heads);
	sb_state_release(&s->st);
	sb_vtable_release(&s->vt);
	sb_db_close(s->db);
	sb_bundle_close(s->b);
	sb_chunk_plan_release(&s->chunks);
	if (s->fd != -1)
		close(s->fd);
	sb_trust_release(&s->trust);
	return ret;
}

/* --trust, else $SQLBUNDLE_TRUST, else the documented folder. */
static int
load_trust(struct session *s, struct sb_err *err)
{
	const char *path = s->o->trust;

	if (path == NULL || *path == '\0')
		path = getenv("SQLBUNDLE_TRUST");
	if (path == NULL || *path == '\0')
		path = SB_TRUST_DEFAULT;
	return sb_trust_load(&s->trust, path, err);
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
	struct stat st;

	s->path = path;
	if (load_trust(s, err) == -1)
		return -1;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd == -1)
		return sb_err_sys(err, "could not open bundle \"%s\"", path);
	if (fstat(s->fd, &st) == -1)
		return sb_err_sys(err, "could not stat bundle \"%s\"", path);
	if (!S_ISREG(st.st_mode))
		return sb_err_set(err, SB_EINVALID,
		    "bundle \"%s\" is not a regular file", path);
	if (sb_bundle_verify_chunks(s->fd, path, &s->trust, s->o->chunk_size,
	    chunks ? &s->chunks : NULL, s->id, err) == -1)
		return -1;
	if (sb_bundle_open(&s->b, s->fd, path, &s->trust, s->id, err) == -1)
		return -1;
	s->m = sb_bundle_manifest(s->b);
	return 0;
}

static int
connect_db(struct session *s, struct sb_err *err)
{
	if (sb_db_connect(&s->db, s->o->conninfo, sb_progress_notice,
	    &s->progress, err) == -1)
		return -1;
	return sb_vtable_quote(&s->vt, s->db, err);
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
	const struct sb_pubkey *key;
	int ret = -1;

	session_init(&s, o);
	if (usage_args(argc, 1, 1, "verify BUNDLE", err) == -1)
		goto out;
	if (open_verified(&s, argv[0], false, err) == -1)
		goto out;
	key = sb_bundle_key(s.b);
	if (o->json) {
		printf("{\"ok\":true,\"bundle\":");
		sb_put_json(stdout, argv[0]);
		printf(",\"bundle_id\":\"%s\",\"project\":", s.id);
		sb_put_json(stdout, s.m->project);
		printf(",\"from\":");
		sb_put_json(stdout, s.m->from);
		printf(",\"to\":");
		sb_put_json(stdout, s.m->to);
		printf(",\"key_id\":\"%s\",\"revisions\":%zu}\n", s.m->key_id,
		    s.m->nrevs);
	} else if (!o->quiet) {
		printf("bundle %s verified: project %s, %s..%s, %zu "
		    "revision%s\n", argv[0], s.m->project, s.m->from, s.m->to,
		    s.m->nrevs, s.m->nrevs == 1 ? "" : "s");
		printf("bundle id: %s\n", s.id);
		printf("signed by: %s%s%s%s\n", s.m->key_id,
		    key && key->path ? " (" : "", key && key->path ?
		    key->path : "", key && key->path ? ")" : "");
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

static void
print_plan_json(struct session *s)
{
	const struct sb_manifest *m = s->m;
	const struct sb_plan *p = &s->plan;

	printf("{\"bundle_id\":\"%s\",\"project\":", s->id);
	sb_put_json(stdout, m->project);
	printf(",\"from\":");
	sb_put_json(stdout, m->from);
	printf(",\"to\":");
	sb_put_json(stdout, m->to);
	printf(",\"database\":[");
	for (size_t i = 0; i < s->st.nheads; i++) {
		if (i > 0)
			putchar(',');
		sb_put_json(stdout, s->st.heads[i]);
	}
	printf("],\"direction\":\"%s\",\"target\":",
	    p->dir == SB_DIR_DOWN ? "downgrade" : "upgrade");
	sb_put_json(stdout, pos_name(m, p->target));
	printf(",\"steps\":[");
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct sb_manifest_rev *r = &m->revs[p->steps[i].rev];

		printf("%s{\"direction\":\"%s\",\"revision\":", i ? "," : "",
		    p->steps[i].dir == SB_DIR_DOWN ? "downgrade" : "upgrade");
		sb_put_json(stdout, r->id);
		printf(",\"message\":");
		sb_put_json(stdout, r->message);
		printf(",\"file\":");
		sb_put_json(stdout, r->file);
		printf(",\"transactional\":%s,\"seeds\":%zu",
		    r->transactional ? "true" : "false",
		    p->steps[i].dir == SB_DIR_UP ? r->nseeds : 0);
		if (i == 0 && s->resume != NULL) {
			char words[512];

			resume_words(m, &p->steps[0], s->resume, words,
			    sizeof(words));
			printf(",\"resume\":");
			sb_put_json(stdout, words);
		}
		putchar('}');
	}
	printf("]}\n");
}

static void
print_plan(struct session *s)
{
	const struct sb_manifest *m = s->m;
	const struct sb_plan *p = &s->plan;
	char *at = sb_ids_join(s->st.heads, s->st.nheads);
	const char *dir = p->dir == SB_DIR_DOWN ? "downgrade" : "upgrade";

	printf("bundle %s: project %s, %s..%s, id %.12s, key %s\n", s->path,
	    m->project, m->from, m->to, s->id, m->key_id);
	printf("database %s: at %s\n", sb_db_name(s->db), at);
	if (p->nsteps == 0) {
		printf("nothing to do: database at %s\n",
		    pos_name(m, p->pos));
	} else {
		printf("%s to %s: %zu step%s\n", dir, pos_name(m, p->target),
		    p->nsteps, p->nsteps == 1 ? "" : "s");
		for (size_t i = 0; i < p->nsteps; i++) {
			const struct sb_manifest_rev *r =
			    &m->revs[p->steps[i].rev];

			printf("  %zu. %s %s  ", i + 1, dir, r->id);
			sb_put_safe(stdout, r->message, strlen(r->message),
			    false);
			if (!r->transactional)
				printf("  [transactional: false]");
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
		}
	}
	free(at);
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
	if (open_verified(&s, argv[0], false, err) == -1)
		goto out;
	/* Read only: no lock, no DDL; missing tables read as empty. */
	if (connect_db(&s, err) == -1 ||
	    sb_state_read(s.db, &s.vt, &s.st, err) == -1)
		goto out;
	if (check_and_plan(&s, SB_DIR_ANY, argc > 1 ? argv[1] : NULL,
	    err) == -1)
		goto out;
	if (o->json)
		print_plan_json(&s);
	else if (!o->quiet)
		print_plan(&s);
	ret = 0;
out:
	return session_end(&s, ret, err);
}

/* upgrade and downgrade: verify, lock, check, run. */
static int
apply(const struct sb_apply_opts *o, enum sb_dir dir, int argc, char **argv,
    struct sb_err *err)
{
	const char *cmd = dir == SB_DIR_DOWN ? "downgrade" : "upgrade";
	struct session s;
	struct sb_run run;
	int ret = -1;

	session_init(&s, o);
	if (dir == SB_DIR_UP &&
	    usage_args(argc, 1, 2, "upgrade BUNDLE [TARGET]", err) == -1)
		goto out;
	if (dir == SB_DIR_DOWN &&
	    usage_args(argc, 2, 2, "downgrade BUNDLE TARGET", err) == -1)
		goto out;
	if (sb_plan_target_check(argc > 1 ? argv[1] : NULL, dir, err) == -1 ||
	    sb_vtable_parse(&s.vt, o->vtable, err) == -1)
		goto out;
	if (open_verified(&s, argv[0], dir == SB_DIR_UP, err) == -1)
		goto out;
	if (connect_db(&s, err) == -1)
		goto out;
	if (sb_state_lock(s.db, false, err) == -1) {
		if (err->code != SB_ELOCKED || !o->wait)
			goto out;
		sb_progress_info(&s.progress, "waiting: %s", err->msg);
		sb_err_clear(err);
		if (sb_state_lock(s.db, true, err) == -1)
			goto out;
	}
	/*
	 * Read and check first (missing tables read as empty), so that a
	 * refusal leaves the database as it was; the lock keeps the state
	 * still until the bookkeeping exists.
	 */
	if (sb_state_read(s.db, &s.vt, &s.st, err) == -1)
		goto out;
	if (check_and_plan(&s, dir, argc > 1 ? argv[1] : NULL, err) == -1)
		goto out;
	if (sb_state_ensure(s.db, &s.vt, err) == -1)
		goto out;
	if (s.st.project == NULL &&
	    sb_state_bind(s.db, s.m->project, s.id, err) == -1)
		goto out;
	sb_progress_start(&s.progress, cmd, s.id, s.m->project, s.st.heads,
	    s.st.nheads, pos_name(s.m, s.plan.target), s.plan.nsteps);
	run = (struct sb_run){
		.db = s.db,
		.bundle = s.b,
		.m = s.m,
		.plan = &s.plan,
		.bundle_id = s.id,
		.vt = &s.vt,
		.chunk_size = o->chunk_size,
		.chunks = &s.chunks,
		.progress = &s.progress,
		.resume = s.resume,
	};
	if (sb_run(&run, err) == -1)
		goto out;
	sb_progress_done(&s.progress, cmd, pos_name(s.m, s.plan.target),
	    s.plan.nsteps);
	ret = 0;
out:
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

static const char *
cell(const struct sb_rows *rows, size_t r, size_t c)
{
	const char *v = sb_rows_get(rows, r, c);

	return v != NULL ? v : "";
}

int
sb_apply_status(const struct sb_apply_opts *o, int argc, char **argv,
    struct sb_err *err)
{
	struct session s;
	struct sb_rows hist = SB_ROWS_INIT;
	char *at = NULL;
	int ret = -1;

	(void)argv;
	session_init(&s, o);
	if (usage_args(argc, 0, 0, "status", err) == -1 ||
	    sb_vtable_parse(&s.vt, o->vtable, err) == -1)
		goto out;
	if (connect_db(&s, err) == -1 ||
	    sb_state_read(s.db, &s.vt, &s.st, err) == -1 ||
	    sb_state_history(s.db, 20, &hist, err) == -1)
		goto out;
	at = sb_ids_join(s.st.heads, s.st.nheads);
	if (o->json) {
		printf("{\"database\":");
		sb_put_json(stdout, sb_db_name(s.db));
		printf(",\"project\":");
		if (s.st.project != NULL)
			sb_put_json(stdout, s.st.project);
		else
			printf("null");
		printf(",\"version_table\":");
		sb_put_json(stdout, s.vt.name);
		printf(",\"version_table_exists\":%s,\"revisions\":[",
		    s.st.has_vt ? "true" : "false");
		for (size_t i = 0; i < s.st.nheads; i++) {
			if (i > 0)
				putchar(',');
			sb_put_json(stdout, s.st.heads[i]);
		}
		printf("],\"in_progress\":[");
		for (size_t i = 0; i < s.st.ninflight; i++) {
			const struct sb_inflight *f = &s.st.inflight[i];

			printf("%s{\"revision\":", i ? "," : "");
			sb_put_json(stdout, f->revision);
			printf(",\"direction\":");
			sb_put_json(stdout, f->direction);
			printf(",\"statements_done\":%lld,\"seed_entry\":%lld,"
			    "\"seed_offset\":%lld}", f->statements_done,
			    f->seed_entry, f->seed_offset);
		}
		printf("],\"history\":[");
		for (size_t r = 0; r < hist.nrows; r++) {
			static const char *keys[] = { "finished_at",
			    "direction", "revision", "bundle_id", "key_id",
			    "db_user", "script_sha256", "applier_version" };

			putchar(r ? ',' : '{');
			if (r)
				putchar('{');
			for (size_t c = 0; c < 8; c++) {
				printf("%s\"%s\":", c ? "," : "", keys[c]);
				sb_put_json(stdout, cell(&hist, r, c));
			}
			putchar('}');
		}
		printf("]}\n");
	} else if (!o->quiet) {
		if (!s.st.has_book) {
			printf("no sqlbundle history; version table %s: %s\n",
			    s.vt.name, s.st.has_vt ? at : "does not exist");
		} else {
			printf("database %s: project %s\n", sb_db_name(s.db),
			    s.st.project ? s.st.project : "(none bound)");
			printf("version table %s: %s\n", s.vt.name,
			    s.st.has_vt ? at : "does not exist");
		}
		for (size_t i = 0; i < s.st.ninflight; i++)
			printf("interrupted: %s of %s (statements done %lld, "
			    "seed file %lld at byte %lld)\n",
			    s.st.inflight[i].direction,
			    s.st.inflight[i].revision,
			    s.st.inflight[i].statements_done,
			    s.st.inflight[i].seed_entry + 1,
			    s.st.inflight[i].seed_offset);
		if (hist.nrows > 0) {
			printf("history (latest first):\n");
			for (size_t r = 0; r < hist.nrows; r++)
				printf("  %s UTC  %-9s  %-12s  bundle %.12s  "
				    "key %s  %s\n", cell(&hist, r, 0),
				    cell(&hist, r, 1), cell(&hist, r, 2),
				    cell(&hist, r, 3), cell(&hist, r, 4),
				    cell(&hist, r, 5));
		} else if (s.st.has_book) {
			printf("history: empty\n");
		}
	}
	ret = 0;
out:
	free(at);
	sb_rows_release(&hist);
	return session_end(&s, ret, err);
}
