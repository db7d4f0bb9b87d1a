/*
 * Pass 2: the bundle is streamed again through the same descriptor; each
 * step runs as soon as its script (and seeds) have been read and
 * re-hashed, one transaction per step, seeds streamed into COPY.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/sqlsplit.h"

#include "run.h"
#include "sqlbundle/csv.h"

/* Bytes read from the archive at a time (and sent to COPY at most). */
#define STREAM_BUF	(1024 * 1024)
/* The header parser decides once it holds SB_CSV_HEADER_MAX bytes. */
_Static_assert(STREAM_BUF >= SB_CSV_HEADER_MAX, "a CSV header fits");

struct script {
	char		*text;		/* statements NUL-terminated in place */
	size_t		 len;
	struct sb_stmt	*stmts;
	size_t		 n;
	bool		 loaded;
};

struct ctx {
	const struct sb_run	*run;
	struct script		*scripts;	/* per step */
	ssize_t			*step_of_rev;	/* per revision, or -1 */
	char			*buf;		/* STREAM_BUF bytes */
	char			*book_sql;	/* sb_sql_step_done */
	char			*applier;
	uint64_t		 since_commit;	/* seed bytes not committed */
};

static const char *
dir_name(enum sb_dir d)
{
	return d == SB_DIR_DOWN ? "downgrade" : "upgrade";
}

static const struct sb_manifest_rev *
step_rev(const struct ctx *c, size_t si)
{
	return &c->run->m->revs[c->run->plan->steps[si].rev];
}

static const char *
step_sha(const struct ctx *c, size_t si)
{
	const struct sb_manifest_rev *r = step_rev(c, si);

	return c->run->plan->steps[si].dir == SB_DIR_DOWN ? r->downgrade_sha :
	    r->upgrade_sha;
}

static bool
seeded(const struct ctx *c, size_t si)
{
	return c->run->plan->steps[si].dir == SB_DIR_UP &&
	    step_rev(c, si)->nseeds > 0;
}

/* The interrupted step's progress row, if si is that step. */
static const struct sb_inflight *
resumed(const struct ctx *c, size_t si)
{
	return si == 0 ? c->run->resume : NULL;
}

/* The revision's file in the project (the manifest has its name). */
static void
source_name(const struct sb_manifest_rev *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "revisions/%s", r->file);
}

static void
lost_hint(struct sb_err *err, const struct sb_db_diag *diag)
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

/* Name the statement that failed: revision, file and line. */
static int
stmt_fail(const struct sb_manifest_rev *rev, const char *file,
    unsigned base_line, const struct script *s, size_t i,
    const struct sb_db_diag *diag, struct sb_err *err)
{
	unsigned line = base_line + s->stmts[i].line - 1;

	if (diag->position > 0)
		line += lines_before(s->text + s->stmts[i].off, diag->position);
	sb_err_prefix(err, "revision \"%s\" (%s:%u)", rev->id, file, line);
	lost_hint(err, diag);
	return -1;
}

static int
script_fail(const struct ctx *c, size_t si, size_t i,
    const struct sb_db_diag *diag, struct sb_err *err)
{
	const struct sb_manifest_rev *r = step_rev(c, si);
	char file[512];

	source_name(r, file, sizeof(file));
	return stmt_fail(r, file, c->run->plan->steps[si].dir == SB_DIR_DOWN ?
	    r->downgrade_line : r->upgrade_line, &c->scripts[si], i, diag,
	    err);
}

/*
 * Read the current entry whole (scripts and SQL seeds are small: at most
 * max bytes, the limit HQ packs with).
 */
static int
read_entry(struct ctx *c, const char *path, size_t max, struct script *s,
    struct sb_err *err)
{
	size_t cap = 64 * 1024, n = 0;
	char *buf = sb_malloc(cap);
	ssize_t r;

	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = sb_realloc(buf, cap);
		}
		r = sb_bundle_read(c->run->bundle, buf + n, cap - n - 1, err);
		if (r == -1) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			return sb_err_set(err, SB_EINVALID,
			    "bundle entry %s is larger than %zu bytes", path,
			    max);
		}
	}
	buf[n] = '\0';
	/* Re-hashed now, before anything of it runs. */
	if (sb_bundle_entry_end(c->run->bundle, err) == -1) {
		free(buf);
		return -1;
	}
	if (sb_sql_split(buf, n, &s->stmts, &s->n, err) == -1) {
		free(buf);
		return sb_err_prefix(err, "bundle entry %s", path);
	}
	for (size_t i = 0; i < s->n; i++)
		buf[s->stmts[i].off + s->stmts[i].len] = '\0';
	s->text = buf;
	s->len = n;
	s->loaded = true;
	return 0;
}

static void
script_free(struct script *s)
{
	free(s->text);
	free(s->stmts);
	memset(s, 0, sizeof(*s));
}

/* Parameters of one step's bookkeeping statement (sb_sql_step_done). */
struct book {
	const char	*p[8];
	char		*del, *ins;	/* "{a,b}" array literals */
};

/* Revision ids need no quoting in an array literal: [0-9A-Za-z_] only. */
static char *
id_array(const char **ids, size_t n)
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

/* Append the end of a step to q: the bookkeeping statement, COMMIT. */
static size_t
add_book(struct ctx *c, size_t si, struct sb_query *q, size_t k,
    struct book *b)
{
	const struct sb_step *st = &c->run->plan->steps[si];
	const struct sb_manifest_rev *r = step_rev(c, si);

	b->del = id_array(st->del, st->ndel);
	b->ins = id_array(st->ins, st->nins);
	b->p[0] = c->run->bundle_id;
	b->p[1] = c->run->m->key_id;
	b->p[2] = r->id;
	b->p[3] = dir_name(st->dir);
	b->p[4] = step_sha(c, si);
	b->p[5] = c->applier;
	b->p[6] = b->del;
	b->p[7] = b->ins;
	q[k++] = (struct sb_query){ c->book_sql, 8, b->p };
	q[k++] = (struct sb_query){ "COMMIT", 0, NULL };
	return k;
}

#define BOOK_QUERIES	2

static void
book_release(struct book *b)
{
	free(b->del);
	free(b->ins);
}

/* The end of a step whose work is done: bookkeeping and COMMIT. */
static int
finish(struct ctx *c, size_t si, bool begin, struct sb_err *err)
{
	struct sb_query *q = sb_calloc(BOOK_QUERIES + 1, sizeof(*q));
	struct book b = { 0 };
	struct sb_db_diag diag;
	size_t k = 0, failed;
	int ret = 0;

	if (begin)
		q[k++] = (struct sb_query){ "BEGIN", 0, NULL };
	k = add_book(c, si, q, k, &b);
	if (sb_db_pipeline(c->run->db, q, k, &failed, &diag, err) == -1) {
		sb_db_rollback(c->run->db);
		sb_err_prefix(err, "revision \"%s\": could not record the %s",
		    step_rev(c, si)->id, dir_name(c->run->plan->steps[si].dir));
		lost_hint(err, &diag);
		ret = -1;
	}
	book_release(&b);
	free(q);
	return ret;
}

/* A transactional step without seeds: one pipeline, one round trip. */
static int
run_plain(struct ctx *c, size_t si, struct sb_err *err)
{
	const struct script *s = &c->scripts[si];
	struct sb_query *q;
	struct book b = { 0 };
	struct sb_db_diag diag;
	size_t k = 0, failed;
	int ret = 0;

	q = sb_calloc(1 + s->n + BOOK_QUERIES, sizeof(*q));
	q[k++] = (struct sb_query){ "BEGIN", 0, NULL };
	for (size_t i = 0; i < s->n; i++)
		q[k++] = (struct sb_query){ s->text + s->stmts[i].off, 0, NULL };
	k = add_book(c, si, q, k, &b);
	if (sb_db_pipeline(c->run->db, q, k, &failed, &diag, err) == -1) {
		sb_db_rollback(c->run->db);
		if (failed >= 1 && failed <= s->n) {
			script_fail(c, si, failed - 1, &diag, err);
		} else {
			sb_err_prefix(err, "revision \"%s\"",
			    step_rev(c, si)->id);
			lost_hint(err, &diag);
		}
		ret = -1;
	}
	book_release(&b);
	free(q);
	return ret;
}

/* Record a progress row (autocommit, or in the open transaction). */
static int
save_progress(struct ctx *c, size_t si, size_t stmts, size_t entry,
    uint64_t offset, uint64_t line, struct sb_err *err)
{
	const struct sb_manifest_rev *r = step_rev(c, si);
	char a[32], b[32], o[32], l[32];
	const char *params[8];
	struct sb_db_diag diag;

	snprintf(a, sizeof(a), "%zu", stmts);
	snprintf(b, sizeof(b), "%zu", entry);
	snprintf(o, sizeof(o), "%" PRIu64, offset);
	snprintf(l, sizeof(l), "%" PRIu64, line);
	params[0] = r->id;
	params[1] = dir_name(c->run->plan->steps[si].dir);
	params[2] = c->run->bundle_id;
	params[3] = step_sha(c, si);
	params[4] = a;
	params[5] = b;
	params[6] = o;
	params[7] = l;
	if (sb_db_query(c->run->db, sb_sql_progress_upsert, 8, params, NULL,
	    &diag, err) == -1) {
		sb_err_prefix(err, "revision \"%s\": could not record progress",
		    r->id);
		lost_hint(err, &diag);
		return -1;
	}
	return 0;
}

/*
 * transactional: false: each statement on its own, outside any
 * transaction, its completion recorded; a rerun starts after the last
 * recorded one.
 */
static int
run_autocommit(struct ctx *c, size_t si, size_t from, struct sb_err *err)
{
	const struct script *s = &c->scripts[si];
	struct sb_db_diag diag;

	for (size_t i = from; i < s->n; i++) {
		if (sb_db_exec(c->run->db, s->text + s->stmts[i].off, &diag,
		    err) == -1)
			return script_fail(c, si, i, &diag, err);
		if (save_progress(c, si, i + 1, 0, 0, 0, err) == -1)
			return -1;
	}
	return 0;
}

/* Run the pipeline q (an open transaction); name a failing statement. */
static int
run_in_txn(struct ctx *c, size_t si, const struct script *s,
    const char *file, unsigned base_line, bool begin, struct sb_err *err)
{
	struct sb_query *q = sb_calloc(s->n + 2, sizeof(*q));
	struct sb_db_diag diag;
	size_t k = 0, failed, first;
	int ret = 0;

	if (begin)
		q[k++] = (struct sb_query){ "BEGIN", 0, NULL };
	first = k;
	for (size_t i = 0; i < s->n; i++)
		q[k++] = (struct sb_query){ s->text + s->stmts[i].off, 0, NULL };
	if (k > 0 && sb_db_pipeline(c->run->db, q, k, &failed, &diag,
	    err) == -1) {
		sb_db_rollback(c->run->db);
		if (failed >= first && failed < k)
			stmt_fail(step_rev(c, si), file, base_line, s,
			    failed - first, &diag, err);
		else {
			sb_err_prefix(err, "revision \"%s\"",
			    step_rev(c, si)->id);
			lost_hint(err, &diag);
		}
		ret = -1;
	}
	free(q);
	return ret;
}

/* Commit what a seed loaded so far, with the position to resume from. */
static int
chunk_commit(struct ctx *c, size_t si, size_t entry, uint64_t offset,
    uint64_t line, const char *path, struct sb_err *err)
{
	struct sb_db_diag diag;

	if (save_progress(c, si, c->scripts[si].n, entry, offset, line,
	    err) == -1)
		return -1;
	if (sb_db_exec(c->run->db, "COMMIT", &diag, err) == -1 ||
	    sb_db_exec(c->run->db, "BEGIN", &diag, err) == -1) {
		sb_err_prefix(err, "revision \"%s\": could not commit a "
		    "chunk of %s", step_rev(c, si)->id, path);
		lost_hint(err, &diag);
		return -1;
	}
	c->since_commit = 0;
	sb_progress_chunk(c->run->progress, path, offset, line);
	return 0;
}

/* Build COPY schema.table (cols) FROM STDIN with quoted identifiers. */
static char *
copy_sql(struct ctx *c, const struct sb_manifest_entry *e, char **cols,
    size_t ncols, struct sb_err *err)
{
	char *schema = NULL, *table = NULL, *list = NULL, *sql = NULL, *q;

	if ((schema = sb_db_ident(c->run->db, e->schema, err)) == NULL ||
	    (table = sb_db_ident(c->run->db, e->table, err)) == NULL)
		goto out;
	list = sb_strdup("");
	for (size_t i = 0; i < ncols; i++) {
		char *n;

		if ((q = sb_db_ident(c->run->db, cols[i], err)) == NULL)
			goto out;
		n = sb_printf("%s%s%s", list, i > 0 ? ", " : "", q);
		free(list);
		free(q);
		list = n;
	}
	sql = sb_printf("COPY %s.%s (%s) FROM STDIN (FORMAT csv)", schema,
	    table, list);
out:
	free(schema);
	free(table);
	free(list);
	return sql;
}

/*
 * The file line where the record of a COPY error begins (COPY's CONTEXT
 * says "COPY t, line N...").
 */
static uint64_t
copy_error_line(const struct sb_csv_scan *scan, const char *context)
{
	const char *p = strstr(context, ", line ");
	unsigned long long n;

	if (p == NULL || sscanf(p + 7, "%llu", &n) != 1)
		return 0;
	return sb_csv_record_line(scan, sb_csv_copy_record(scan, n));
}

static int
copy_fail(struct ctx *c, size_t si, const char *path,
    const struct sb_csv_scan *scan, const struct sb_db_diag *diag,
    struct sb_err *err)
{
	uint64_t line = copy_error_line(scan, diag->context);

	sb_db_rollback(c->run->db);
	if (line > 0)
		sb_err_prefix(err, "revision \"%s\": %s:%" PRIu64,
		    step_rev(c, si)->id, path, line);
	else
		sb_err_prefix(err, "revision \"%s\": %s",
		    step_rev(c, si)->id, path);
	lost_hint(err, diag);
	return -1;
}

/*
 * Stream the current entry, a CSV seed, into COPY. skip_to and line0:
 * where an earlier run's committed chunks end (0 for none).
 */
static int
load_csv(struct ctx *c, size_t si, size_t j, const struct sb_manifest_entry *e,
    uint64_t skip_to, uint64_t line0, struct sb_err *err)
{
	struct sb_bundle *b = c->run->bundle;
	struct sb_csv_scan scan;
	struct sb_db_diag diag;
	char **cols = NULL, *sql = NULL, *p;
	size_t ncols = 0, have = 0, used = 0, plen;
	uint64_t offset, hlines = 0;
	ssize_t r;
	int ret = -1, h;
	bool eof = false, copying = false;

	sb_csv_scan_init(&scan, 0);
	/* The header: the column list of COPY. */
	for (;;) {
		if (!eof) {
			r = sb_bundle_read(b, c->buf + have, STREAM_BUF - have,
			    err);
			if (r == -1)
				goto out;
			if (r == 0)
				eof = true;
			have += (size_t)r;
		}
		h = sb_csv_header(c->buf, have, eof, &cols, &ncols, &used,
		    &hlines, err);
		if (h == -1) {
			sb_err_prefix(err, "revision \"%s\": %s:1",
			    step_rev(c, si)->id, e->path);
			goto out;
		}
		if (h == 1)
			break;
		if (have == STREAM_BUF) {
			sb_err_set(err, SB_EINVALID, "revision \"%s\": %s: CSV "
			    "header longer than %d bytes", step_rev(c, si)->id,
			    e->path, STREAM_BUF);
			goto out;
		}
	}
	if ((sql = copy_sql(c, e, cols, ncols, err)) == NULL)
		goto out;
	offset = used;
	p = c->buf + used;
	plen = have - used;
	sb_csv_scan_init(&scan, hlines);
	if (skip_to > 0) {
		/* Committed by an earlier run: read (and hash), not load. */
		if (skip_to < offset) {
			sb_err_set(err, SB_EREFUSED, "revision \"%s\": %s: "
			    "progress offset %" PRIu64 " is inside the CSV "
			    "header", step_rev(c, si)->id, e->path, skip_to);
			goto out;
		}
		/*
		 * The skipped bytes are scanned too: the offset must fall on a
		 * record boundary after the recorded number of lines, or the
		 * file is not the one the committed chunks came from.
		 */
		while (offset < skip_to) {
			bool hit;

			if (plen == 0) {
				r = sb_bundle_read(b, c->buf, STREAM_BUF, err);
				if (r == -1)
					goto out;
				if (r == 0) {
					sb_err_set(err, SB_EREFUSED,
					    "revision \"%s\": %s: progress "
					    "offset %" PRIu64 " is past the "
					    "end of the file",
					    step_rev(c, si)->id, e->path,
					    skip_to);
					goto out;
				}
				p = c->buf;
				plen = (size_t)r;
			}
			size_t k = plen;

			if (k > skip_to - offset)
				k = (size_t)(skip_to - offset);
			sb_csv_scan(&scan, p, k, false, &hit);
			p += k;
			plen -= k;
			offset += k;
			if (offset == skip_to && (!hit || scan.line != line0)) {
				sb_err_set(err, SB_EREFUSED, "revision \"%s\": "
				    "%s does not match the chunks an earlier "
				    "run committed (byte %" PRIu64 ", line %"
				    PRIu64 ")", step_rev(c, si)->id, e->path,
				    skip_to, line0);
				sb_err_hint(err, "finish the step with the "
				    "bundle it started with");
				goto out;
			}
		}
		sb_csv_chunk(&scan);
	}
	if (sb_db_copy_begin(c->run->db, sql, &diag, err) == -1) {
		sb_db_rollback(c->run->db);
		sb_err_prefix(err, "revision \"%s\": %s", step_rev(c, si)->id,
		    e->path);
		lost_hint(err, &diag);
		goto out;
	}
	copying = true;
	for (;;) {
		while (plen > 0) {
			size_t k;
			bool hit = false;

			if (c->since_commit >= c->run->chunk_size) {
				/* Due: cut at the next record boundary. */
				k = sb_csv_scan(&scan, p, plen, true, &hit);
			} else {
				k = plen;
				if (k > c->run->chunk_size - c->since_commit)
					k = (size_t)(c->run->chunk_size -
					    c->since_commit);
				sb_csv_scan(&scan, p, k, false, &hit);
				hit = false;
			}
			if (sb_db_copy_put(c->run->db, p, k, &diag, err) == -1)
				goto copy_failed;
			p += k;
			plen -= k;
			offset += k;
			c->since_commit += k;
			sb_progress_seed(c->run->progress, k);
			if (hit) {
				copying = false;
				if (sb_db_copy_end(c->run->db, &diag,
				    err) == -1)
					goto copy_failed;
				if (chunk_commit(c, si, j, offset, scan.line,
				    e->path, err) == -1)
					goto out;
				sb_csv_chunk(&scan);
				if (sb_db_copy_begin(c->run->db, sql, &diag,
				    err) == -1)
					goto copy_failed;
				copying = true;
			}
		}
		r = sb_bundle_read(b, c->buf, STREAM_BUF, err);
		if (r == -1)
			goto out;
		if (r == 0)
			break;
		p = c->buf;
		plen = (size_t)r;
	}
	copying = false;
	if (sb_db_copy_end(c->run->db, &diag, err) == -1)
		goto copy_failed;
	ret = 0;
	goto out;
copy_failed:
	copying = false;
	copy_fail(c, si, e->path, &scan, &diag, err);
out:
	if (copying) {
		sb_db_copy_abort(c->run->db);
		sb_db_rollback(c->run->db);
	}
	sb_csv_scan_release(&scan);
	sb_csv_cols_free(cols, ncols);
	free(sql);
	return ret;
}

/* An SQL seed: read whole, run its statements in the step's transaction. */
static int
load_sql(struct ctx *c, size_t si, const struct sb_manifest_entry *e,
    struct sb_err *err)
{
	struct script s = { 0 };
	int ret;

	if (read_entry(c, e->path, SB_SQL_SEED_MAX, &s, err) == -1) {
		sb_db_rollback(c->run->db);
		return -1;
	}
	ret = run_in_txn(c, si, &s, e->path, 1, false, err);
	c->since_commit += s.len;
	sb_progress_seed(c->run->progress, s.len);
	script_free(&s);
	return ret;
}

/*
 * A step with seeds, started at its first seed entry (the current one):
 * the script, then every seed, then the bookkeeping, in one transaction
 * unless chunks commit on the way.
 */
static int
run_seeded(struct ctx *c, size_t si, size_t idx, struct sb_err *err)
{
	const struct sb_manifest *m = c->run->m;
	const struct sb_manifest_rev *r = step_rev(c, si);
	const struct sb_inflight *in = resumed(c, si);
	const struct script *s = &c->scripts[si];
	size_t from = in != NULL ? (size_t)in->statements_done : 0;
	struct sb_db_diag diag;
	char what[256];

	c->since_commit = 0;
	if (in != NULL) {
		snprintf(what, sizeof(what), "seed file %lld of %zu (%s), "
		    "byte %lld", in->seed_entry + 1, r->nseeds,
		    in->seed_entry < (long long)r->nseeds ?
		    m->entries[r->first_seed + (size_t)in->seed_entry].path :
		    "-", in->seed_offset);
		sb_progress_resume(c->run->progress, what);
	}
	if (!r->transactional || in != NULL) {
		/* Done statement by statement, or committed with a chunk. */
		if (!r->transactional &&
		    run_autocommit(c, si, from, err) == -1)
			return -1;
		if (sb_db_exec(c->run->db, "BEGIN", &diag, err) == -1) {
			sb_err_prefix(err, "revision \"%s\"", r->id);
			lost_hint(err, &diag);
			return -1;
		}
	} else {
		char file[512];

		source_name(r, file, sizeof(file));
		if (run_in_txn(c, si, s, file, r->upgrade_line, true,
		    err) == -1)
			return -1;
	}
	for (size_t j = 0; j < r->nseeds; j++) {
		const struct sb_manifest_entry *e;
		int rc;

		if (j > 0) {
			rc = sb_bundle_next(c->run->bundle, &idx, err);
			if (rc == 0)
				sb_err_set(err, SB_EINVALID, "bundle ended "
				    "before the seeds of revision \"%s\"",
				    r->id);
			if (rc != 1)
				goto fail;
		}
		if (idx != r->first_seed + j) {
			sb_err_set(err, SB_EINVALID, "bundle entry %s came "
			    "where seed %zu of revision \"%s\" was expected",
			    m->entries[idx].path, j + 1, r->id);
			goto fail;
		}
		e = &m->entries[idx];
		if (in != NULL && (long long)j < in->seed_entry) {
			rc = 0;		/* loaded already; hashed anyway */
		} else if (e->kind == SB_ENTRY_SEED_CSV) {
			bool here = in != NULL && (long long)j == in->seed_entry;

			rc = load_csv(c, si, j, e,
			    here ? (uint64_t)in->seed_offset : 0,
			    here ? (uint64_t)in->seed_line : 0, err);
		} else {
			rc = load_sql(c, si, e, err);
		}
		if (rc == -1)
			goto fail;
		if (sb_bundle_entry_end(c->run->bundle, err) == -1)
			goto fail;
		/* Many small files add up to a chunk too. */
		if (c->since_commit >= c->run->chunk_size &&
		    j + 1 < r->nseeds &&
		    chunk_commit(c, si, j + 1, 0, 0, e->path, err) == -1)
			goto fail;
	}
	return finish(c, si, false, err);
fail:
	sb_db_rollback(c->run->db);
	return -1;
}

/* A step whose script is loaded and needs no seed. */
static int
run_step(struct ctx *c, size_t si, struct sb_err *err)
{
	const struct sb_manifest_rev *r = step_rev(c, si);
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
	    (size_t)in->statements_done : 0, err) == -1)
		return -1;
	return finish(c, si, true, err);
}

static void
begin_step(struct ctx *c, size_t si)
{
	const struct sb_plan *plan = c->run->plan;

	sb_progress_step_begin(c->run->progress,
	    dir_name(plan->steps[si].dir), step_rev(c, si)->id, si + 1,
	    plan->nsteps);
}

/* Run the steps from *next on whose scripts are here and need no seed. */
static int
run_ready(struct ctx *c, size_t *next, struct sb_err *err)
{
	const struct sb_plan *plan = c->run->plan;

	while (*next < plan->nsteps && c->scripts[*next].loaded &&
	    !seeded(c, *next)) {
		begin_step(c, *next);
		if (run_step(c, *next, err) == -1)
			return -1;
		sb_progress_step_done(c->run->progress);
		script_free(&c->scripts[*next]);
		(*next)++;
	}
	return 0;
}

int
sb_run(const struct sb_run *run, struct sb_err *err)
{
	const struct sb_manifest *m = run->m;
	const struct sb_plan *plan = run->plan;
	struct ctx c = { 0 };
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
	c.buf = sb_malloc(STREAM_BUF);
	c.book_sql = sb_printf(sb_sql_step_done, run->vt->quoted,
	    run->vt->quoted);
	c.applier = sb_strdup("sqlbundle-apply " SB_VERSION);
	while (next < plan->nsteps) {
		const struct sb_manifest_entry *e;
		ssize_t si;

		rc = sb_bundle_next(run->bundle, &idx, err);
		if (rc == -1)
			goto out;
		if (rc == 0) {
			sb_err_set(err, SB_EINVALID, "bundle ended before "
			    "revision \"%s\" could run",
			    step_rev(&c, next)->id);
			goto out;
		}
		e = &m->entries[idx];
		si = c.step_of_rev[e->rev];
		if (si < 0)
			continue;
		if ((e->kind == SB_ENTRY_UPGRADE && plan->dir == SB_DIR_UP) ||
		    (e->kind == SB_ENTRY_DOWNGRADE &&
		    plan->dir == SB_DIR_DOWN)) {
			if (read_entry(&c, e->path, SB_SCRIPT_MAX,
			    &c.scripts[si], err) == -1)
				goto out;
			if (run_ready(&c, &next, err) == -1)
				goto out;
		} else if (plan->dir == SB_DIR_UP &&
		    (e->kind == SB_ENTRY_SEED_CSV ||
		    e->kind == SB_ENTRY_SEED_SQL) && (size_t)si == next &&
		    c.scripts[si].loaded) {
			begin_step(&c, next);
			if (run_seeded(&c, next, idx, err) == -1)
				goto out;
			sb_progress_step_done(run->progress);
			script_free(&c.scripts[next]);
			next++;
			if (run_ready(&c, &next, err) == -1)
				goto out;
		}
	}
	ret = 0;
out:
	for (size_t i = 0; i < plan->nsteps; i++)
		script_free(&c.scripts[i]);
	free(c.scripts);
	free(c.step_of_rev);
	free(c.buf);
	free(c.book_sql);
	free(c.applier);
	return ret;
}
