/*
 * The step helpers of pass 2, shared by the steps (run.c) and the seed
 * loads (load.c), which both call here and never each other back: a
 * step's identity and bookkeeping, scripts read from the bundle, the one
 * way a pipeline is sent, retried on lock timeouts, rolled back and its
 * failure named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"

#include "step.h"

const char *
sb_step_dir_name(enum sb_dir d)
{
	return d == SB_DIR_DOWN ? "downgrade" : "upgrade";
}

const struct sb_manifest_rev *
sb_step_rev(const struct sb_step_ctx *c, size_t si)
{
	return &c->run->m->revs[c->run->plan->steps[si].rev];
}

struct sb_book_step
sb_step_book(const struct sb_step_ctx *c, size_t si)
{
	const struct sb_manifest_rev *r = sb_step_rev(c, si);
	enum sb_dir d = c->run->plan->steps[si].dir;

	return (struct sb_book_step){
		.bundle_id = c->run->bundle_id,
		.key_id = c->run->m->key_id,
		.revision = r->id,
		.direction = sb_step_dir_name(d),
		.script_sha = d == SB_DIR_DOWN ? r->downgrade_sha :
		    r->upgrade_sha,
	};
}

void
sb_step_lost_hint(struct sb_err *err, const struct sb_db_diag *diag)
{
	if (diag->lost)
		sb_err_hint(err, "run the same command again to resume");
}

/* Lines before character pos (1-based, as the server counts) of text. */
static unsigned
lines_before(const char *text, int pos)
{
	const unsigned char *p;
	unsigned lines = 0;
	int chars = 0;

	for (p = (const unsigned char *)text; *p; p++) {
		if ((*p & 0xc0) != 0x80) {
			if (chars == pos - 1)
				break;
			chars++;
		}
		if (*p == '\n')
			lines++;
	}
	return lines;
}

/* Name the statement i of src that failed: revision, file and line. */
int
sb_step_stmt_fail(const struct sb_manifest_rev *rev,
    const struct sb_step_src *src, size_t i, const struct sb_db_diag *diag,
    struct sb_err *err)
{
	const struct sb_script *s = src->s;
	unsigned line = src->base_line + s->stmts[i].line - 1;

	if (diag->position > 0)
		line += lines_before(s->text + s->stmts[i].off, diag->position);
	sb_err_prefix(err, "revision \"%s\" (%s:%u)", rev->id, src->file,
	    line);
	sb_step_lost_hint(err, diag);
	return -1;
}

int
sb_step_pipeline(struct sb_step_ctx *c, size_t si, const struct sb_query *q,
    size_t k, const struct sb_step_src *src, const char *what,
    struct sb_err *err)
{
	const struct sb_manifest_rev *r = sb_step_rev(c, si);
	bool retry = k > 1 && q[1].sql == c->lw.local_sql;
	struct sb_db_diag diag;
	size_t failed;

	if (k == 0)
		return 0;
	sb_lockwait_begin(&c->lw);
	for (;;) {
		if (sb_db_pipeline(c->run->db, q, k, &failed, &diag,
		    err) == 0)
			return 0;
		sb_db_rollback(c->run->db);
		if (!retry || diag.lost ||
		    !sb_lockwait_retry(&c->lw, r->id, err))
			break;
	}
	if (src != NULL && failed >= src->first &&
	    failed < src->first + src->s->n)
		return sb_step_stmt_fail(r, src, failed - src->first, &diag, err);
	if (what != NULL)
		sb_err_prefix(err, "revision \"%s\": %s", r->id, what);
	else
		sb_err_prefix(err, "revision \"%s\"", r->id);
	sb_step_lost_hint(err, &diag);
	return -1;
}

int
sb_step_read(struct sb_step_ctx *c, const char *path, size_t max,
    struct sb_script *s, struct sb_err *err)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = sb_malloc(cap);
	ssize_t r;
	int ret = -1;

	for (;;) {
		if (n > max) {
			/* Pass 1 refuses it; the bundle changed. */
			sb_err_set(err, SB_EINVALID, "bundle entry %s is "
			    "larger than %zu bytes", path, max);
			goto out;
		}
		if (n + 1 >= cap) {
			cap *= 2;
			buf = sb_realloc(buf, cap);
		}
		r = sb_bundle_read(c->run->bundle, buf + n, cap - n - 1, err);
		if (r == -1)
			goto out;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	/* Re-hashed now, before anything of it runs. */
	if (sb_bundle_entry_end(c->run->bundle, err) == -1)
		goto out;
	if (sb_sql_split(buf, n, &s->stmts, &s->n, err) == -1) {
		sb_err_prefix(err, "bundle entry %s", path);
		goto out;
	}
	for (size_t i = 0; i < s->n; i++)
		buf[s->stmts[i].off + s->stmts[i].len] = '\0';
	s->text = buf;
	s->len = n;
	s->loaded = true;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	return ret;
}

void
sb_step_script_free(struct sb_script *s)
{
	free(s->text);
	free(s->stmts);
	memset(s, 0, sizeof(*s));
}

/* Append the statements of s to q at k. */
size_t
sb_step_add_stmts(struct sb_query *q, size_t k, const struct sb_script *s)
{
	for (size_t i = 0; i < s->n; i++)
		q[k++] = (struct sb_query){
		    .sql = s->text + s->stmts[i].off };
	return k;
}

/* BEGIN a step's transaction, its lock waits bounded (lockwait.h). */
size_t
sb_step_add_begin(struct sb_step_ctx *c, struct sb_query *q, size_t k)
{
	q[k++] = (struct sb_query){ .sql = "BEGIN" };
	if (c->lw.timeout_ms > 0)
		q[k++] = (struct sb_query){ .sql = c->lw.local_sql };
	return k;
}

int
sb_step_statements(struct sb_step_ctx *c, size_t si, const struct sb_script *s,
    const char *file, unsigned base_line, bool begin, struct sb_err *err)
{
	struct sb_query *q = sb_calloc(s->n + 3, sizeof(*q));
	struct sb_step_src src = { s, 0, file, base_line };
	size_t k = 0;
	int ret;

	if (begin) {
		k = sb_step_add_begin(c, q, k);
		src.first = k;
	}
	k = sb_step_add_stmts(q, k, s);
	/* Seeds after the script wait for their locks: COPY's do not
	 * queue the tills' queries. */
	if (begin && c->lw.timeout_ms > 0)
		q[k++] = (struct sb_query){
		    .sql = "SET LOCAL lock_timeout TO DEFAULT" };
	ret = sb_step_pipeline(c, si, q, k, &src, NULL, err);
	free(q);
	return ret;
}

int
sb_step_progress(struct sb_step_ctx *c, size_t si, const struct sb_book_at *at,
    struct sb_err *err)
{
	struct sb_book_step bs = sb_step_book(c, si);
	struct sb_db_diag diag;

	if (sb_state_progress(c->run->db, &bs, at, &diag, err) == -1) {
		sb_err_prefix(err, "revision \"%s\": could not record progress",
		    bs.revision);
		sb_step_lost_hint(err, &diag);
		return -1;
	}
	return 0;
}

int
sb_step_sync(struct sb_step_ctx *c, size_t si, bool on, struct sb_err *err)
{
	struct sb_db_diag diag;

	if (sb_db_exec(c->run->db, on ? SB_STEP_SYNC : SB_STEP_ASYNC, &diag,
	    err) == 0)
		return 0;
	sb_err_prefix(err, "revision \"%s\"", sb_step_rev(c, si)->id);
	sb_step_lost_hint(err, &diag);
	return -1;
}
