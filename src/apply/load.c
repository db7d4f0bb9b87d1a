/*
 * Seed files of a step, loaded in its open transaction: CSV streamed
 * from the archive into COPY, committed only at the cuts pass 1 recorded
 * and only once the chunk's bytes hash to what pass 1 verified; SQL
 * seeds read whole and run as statements.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlbundle/csv.h"
#include "sqlbundle/fs.h"

#include "catalog.h"
#include "load.h"

/* One CSV seed being loaded. */
struct csv_load {
	struct sb_step_ctx	*c;
	size_t			 si, j;
	const struct sb_manifest_entry *e;
	const struct sb_chunks	*cuts;		/* pass 1's */
	size_t			 ci;		/* the next cut */
	uint64_t		 chunk_start;	/* offset after the last cut */
	struct sb_csv_scan	 scan;
	const char		*p;		/* read, not yet taken */
	size_t			 plen;
	uint64_t		 offset;	/* entry offset of p */
	char			*sql;		/* COPY ... FROM STDIN */
	char			**cols;		/* of the header */
	size_t			 ncols;
	bool			 hash_tail;	/* parallel: the tail's SHA-256 */
	bool			 copying;
	/* A spool file could not be written: its message, and the bytes
	 * taken from the stream but not written. */
	char			 spool_err[256];
	struct sb_job		*spool_job;
	const char		*pend;
	size_t			 pendlen;
};

static const char *
rev_id(const struct csv_load *l)
{
	return sb_step_rev(l->c, l->si)->id;
}

/* Commit the open transaction with a progress row; open the next. */
static int
commit_at(struct sb_step_ctx *c, size_t si, const struct sb_book_at *at,
    const char *path, struct sb_err *err)
{
	struct sb_db_diag diag;

	sb_progress_commit(c->run->progress);
	if (sb_step_progress(c, si, at, err) == -1)
		return -1;
	if (sb_db_exec(c->run->db, "COMMIT", &diag, err) == -1 ||
	    sb_db_exec(c->run->db, "BEGIN", &diag, err) == -1) {
		sb_err_prefix(err, "revision \"%s\": could not commit a "
		    "chunk of %s", sb_step_rev(c, si)->id, path);
		sb_step_lost_hint(err, &diag);
		return -1;
	}
	c->since_commit = 0;
	return 0;
}

int
sb_load_commit(struct sb_step_ctx *c, size_t si, size_t entry,
    uint64_t offset, uint64_t line, const char *path, struct sb_err *err)
{
	struct sb_book_at at = { c->scripts[si].n, entry, offset, line };

	if (commit_at(c, si, &at, path, err) == -1)
		return -1;
	sb_progress_chunk(c->run->progress, path, offset, line);
	return sb_progress_check(c->run->progress, err);
}

char *
sb_load_copy_sql(struct sb_step_ctx *c, const struct sb_manifest_entry *e,
    char **cols, size_t ncols, struct sb_err *err)
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
error_line(const struct sb_csv_scan *scan, const char *context)
{
	const char *p = strstr(context, ", line ");
	unsigned long long n;

	if (p == NULL || sscanf(p + 7, "%llu", &n) != 1)
		return 0;
	return sb_csv_record_line(scan, sb_csv_copy_record(scan, n));
}

int
sb_load_copy_failed(struct sb_step_ctx *c, size_t si, const char *path,
    const struct sb_csv_scan *scan, const struct sb_db_diag *diag,
    struct sb_err *err)
{
	uint64_t line = error_line(scan, diag->context);

	sb_db_rollback(c->run->db);
	if (line > 0)
		sb_err_prefix(err, "revision \"%s\": %s:%" PRIu64,
		    sb_step_rev(c, si)->id, path, line);
	else
		sb_err_prefix(err, "revision \"%s\": %s",
		    sb_step_rev(c, si)->id, path);
	sb_step_lost_hint(err, diag);
	return -1;
}

static int
copy_fail(struct csv_load *l, const struct sb_db_diag *diag,
    struct sb_err *err)
{
	l->copying = false;
	return sb_load_copy_failed(l->c, l->si, l->e->path, &l->scan, diag,
	    err);
}

static int
copy_begin(struct csv_load *l, struct sb_err *err)
{
	struct sb_db_diag diag;

	if (sb_db_copy_begin(l->c->run->db, l->sql, &diag, err) == -1)
		return copy_fail(l, &diag, err);
	l->copying = true;
	return 0;
}

/* The next bytes of the entry into the stream buffer: 1, 0 at end, -1. */
static int
fill(struct csv_load *l, struct sb_err *err)
{
	ssize_t r = sb_bundle_read(l->c->run->bundle, l->c->buf, SB_STEP_BUF,
	    err);

	if (r <= 0)
		return (int)r;
	l->p = l->c->buf;
	l->plen = (size_t)r;
	return 1;
}

/* Bytes from here to the next cut (all of them when there is none). */
static size_t
until_cut(const struct csv_load *l, size_t avail)
{
	uint64_t left;

	if (l->ci >= l->cuts->n)
		return avail;
	left = l->cuts->v[l->ci].end - l->offset;
	return left < avail ? (size_t)left : avail;
}

/* Take k bytes: scanned for records, hashed into the chunk's SHA-256. */
static bool
take(struct csv_load *l, size_t k)
{
	bool hit;

	sb_csv_scan(&l->scan, l->p, k, false, &hit);
	/* After the last cut only a parallel load's tail row needs it. */
	if (l->ci < l->cuts->n || l->hash_tail)
		sb_sha256_update(l->c->chunk_sha, l->p, k);
	l->p += k;
	l->plen -= k;
	l->offset += k;
	return hit;
}

static bool
at_cut(const struct csv_load *l)
{
	return l->ci < l->cuts->n && l->offset == l->cuts->v[l->ci].end;
}

/* At a cut: the chunk's bytes must be the ones pass 1 verified. */
static int
check_cut(struct csv_load *l, struct sb_err *err)
{
	unsigned char md[SB_SHA256_LEN];
	const struct sb_chunk *k = &l->cuts->v[l->ci];

	sb_sha256_final(l->c->chunk_sha, md);
	if (memcmp(md, k->sha, sizeof(md)) != 0) {
		sb_err_set(err, SB_EINVALID, "revision \"%s\": %s: bytes %"
		    PRIu64 " to %" PRIu64 " changed since the bundle was "
		    "verified", rev_id(l), l->e->path, l->chunk_start, k->end);
		sb_err_detail(err, "the bundle file was written to while it "
		    "was applied; nothing of these bytes was committed");
		sb_err_hint(err, "put the signed bundle back and run the "
		    "same command again");
		return -1;
	}
	l->ci++;
	l->chunk_start = l->offset;
	return 0;
}

/* The header: the column list of COPY. Its bytes are hashed. */
static int
read_header(struct csv_load *l, struct sb_err *err)
{
	char *buf = l->c->buf, **cols = NULL;
	size_t have = 0, ncols = 0, used = 0;
	uint64_t hlines = 0;
	ssize_t r;
	int h, ret = -1;
	bool eof = false;

	for (;;) {
		if (!eof) {
			r = sb_bundle_read(l->c->run->bundle, buf + have,
			    SB_STEP_BUF - have, err);
			if (r == -1)
				goto out;
			eof = r == 0;
			have += (size_t)r;
		}
		h = sb_csv_header(buf, have, eof, &cols, &ncols, &used,
		    &hlines, err);
		if (h == -1) {
			sb_err_prefix(err, "revision \"%s\": %s:1", rev_id(l),
			    l->e->path);
			goto out;
		}
		if (h == 1)
			break;
		if (have == SB_STEP_BUF) {
			sb_err_set(err, SB_EINVALID, "revision \"%s\": %s: CSV "
			    "header longer than %d bytes", rev_id(l),
			    l->e->path, SB_STEP_BUF);
			goto out;
		}
	}
	if ((l->sql = sb_load_copy_sql(l->c, l->e, cols, ncols, err)) == NULL)
		goto out;
	l->cols = cols;
	l->ncols = ncols;
	cols = NULL;
	ncols = 0;
	sb_sha256_update(l->c->chunk_sha, buf, used);
	sb_csv_scan_init(&l->scan, hlines);
	l->offset = used;
	l->p = buf + used;
	l->plen = have - used;
	ret = 0;
out:
	sb_csv_cols_free(cols, ncols);
	return ret;
}

/*
 * Committed by an earlier run: read (and hash), not load. The skipped
 * bytes are scanned too: the offset must fall on a record boundary after
 * the recorded number of lines, or the file is not the one the committed
 * chunks came from.
 */
static int
skip_committed(struct csv_load *l, uint64_t skip_to, uint64_t line0,
    struct sb_err *err)
{
	bool hit = false;
	int rc;

	if (skip_to < l->offset)
		return sb_err_set(err, SB_EREFUSED, "revision \"%s\": %s: "
		    "progress offset %" PRIu64 " is inside the CSV header",
		    rev_id(l), l->e->path, skip_to);
	while (l->offset < skip_to) {
		size_t k;

		if (l->plen == 0 && (rc = fill(l, err)) != 1) {
			if (rc == 0)
				sb_err_set(err, SB_EREFUSED, "revision \"%s\": "
				    "%s: progress offset %" PRIu64 " is past "
				    "the end of the file", rev_id(l),
				    l->e->path, skip_to);
			return -1;
		}
		k = until_cut(l, l->plen);
		if (k > skip_to - l->offset)
			k = (size_t)(skip_to - l->offset);
		hit = take(l, k);
		if (at_cut(l) && check_cut(l, err) == -1)
			return -1;
	}
	if (!hit || l->scan.line != line0) {
		sb_err_set(err, SB_EREFUSED, "revision \"%s\": %s does not "
		    "match the chunks an earlier run committed (byte %" PRIu64
		    ", line %" PRIu64 ")", rev_id(l), l->e->path, skip_to,
		    line0);
		sb_err_hint(err, "finish the step with the bundle it started "
		    "with");
		return -1;
	}
	sb_csv_chunk(&l->scan);
	return 0;
}

/* A proven chunk ends here: end its COPY, commit, start the next. */
static int
commit_cut(struct csv_load *l, struct sb_err *err)
{
	struct sb_db_diag diag;

	if (check_cut(l, err) == -1)
		return -1;
	l->copying = false;
	if (sb_db_copy_end(l->c->run->db, &diag, err) == -1)
		return copy_fail(l, &diag, err);
	if (sb_load_commit(l->c, l->si, l->j, l->offset, l->scan.line,
	    l->e->path, err) == -1)
		return -1;
	sb_csv_chunk(&l->scan);
	return copy_begin(l, err);
}

/* The rest of the entry into the COPY begun, chunk by chunk. */
static int
stream_rest(struct csv_load *l, struct sb_err *err)
{
	struct sb_step_ctx *c = l->c;
	struct sb_db_diag diag;
	int rc;

	for (;;) {
		size_t k;
		const char *p;

		if (l->plen == 0 && (rc = fill(l, err)) != 1) {
			if (rc == -1)
				return -1;
			break;
		}
		k = until_cut(l, l->plen);
		p = l->p;
		take(l, k);
		if (sb_db_copy_put(c->run->db, p, k, &diag, err) == -1)
			return copy_fail(l, &diag, err);
		c->since_commit += k;
		sb_progress_seed(c->run->progress, k);
		if (at_cut(l) && commit_cut(l, err) == -1)
			return -1;
	}
	l->copying = false;
	if (sb_db_copy_end(c->run->db, &diag, err) == -1)
		return copy_fail(l, &diag, err);
	return 0;
}

/* The rest of the entry into COPY, chunk by chunk. */
static int
stream(struct csv_load *l, struct sb_err *err)
{
	if (copy_begin(l, err) == -1)
		return -1;
	return stream_rest(l, err);
}

/*
 * Parallel load (DESIGN.md "Parallel seed loads"). Every chunk goes to a
 * worker, which commits it with its chunk row, once its bytes are
 * spooled and proven: by pass 1's SHA-256 of the chunk, and for the tail
 * after the last cut by the whole entry's. This connection holds nothing
 * uncommitted meanwhile, so no worker can wait on it.
 */

/* A chunk row that does not fit this bundle's file. */
static int
not_ours(struct csv_load *l, unsigned long long end, struct sb_err *err)
{
	sb_err_set(err, SB_EREFUSED, "revision \"%s\": %s does not match the "
	    "chunks an earlier run committed (chunk ending at byte %llu)",
	    rev_id(l), l->e->path, end);
	sb_err_hint(err, "finish the step with the bundle and the "
	    "--chunk-size it started with");
	return -1;
}

/*
 * The chunk rows of an earlier run: each must be a cut with its hash, or
 * the tail after the last cut (checked once the tail is read).
 */
static int
check_done(struct csv_load *l, const struct sb_rows *done,
    struct sb_err *err)
{
	const struct sb_chunks *k = l->cuts;
	char hex[SB_SHA256_HEX];
	size_t ci = 0;

	for (size_t r = 0; r < done->nrows; r++) {
		const char *end = sb_rows_get(done, r, 0);
		const char *sha = sb_rows_get(done, r, 1);
		unsigned long long e = strtoull(end ? end : "0", NULL, 10);

		while (ci < k->n && k->v[ci].end < e)
			ci++;
		if (ci == k->n && r + 1 == done->nrows)
			continue;	/* the tail */
		if (ci < k->n && k->v[ci].end == e) {
			sb_hex(k->v[ci].sha, SB_SHA256_LEN, hex);
			if (sha != NULL && strcmp(sha, hex) == 0)
				continue;
		}
		return not_ours(l, e, err);
	}
	return 0;
}

/*
 * Whether this file loads in parallel: 1 yes, 0 serially, -1 error.
 * Chunks an earlier run committed in parallel (in *done) must be
 * skipped, so they decide alone; otherwise --jobs and the table do.
 */
static int
choose(struct csv_load *l, struct sb_rows *done, struct sb_err *err)
{
	struct sb_step_ctx *c = l->c;
	struct sb_book_step bs = sb_step_book(c, l->si);
	char *why = NULL;
	bool missing;

	if (sb_state_chunks_read(c->run->db, &bs, l->j, done, err) == -1)
		return -1;
	if (done->nrows > 0)
		return check_done(l, done, err) == -1 ? -1 : 1;
	if (c->run->jobs <= 1)
		return 0;
	if (sb_catalog_load_order(c->run->db, l->e->schema, l->e->table, l->cols,
	    l->ncols, &why, &missing, err) == -1)
		return -1;
	if (why != NULL)
		sb_progress_info(c->run->progress, "%s: loaded serially, in "
		    "file order: %s", l->e->path, why);
	free(why);
	return why == NULL && !missing;
}

/* The workers of the run, opened at the first parallel file. */
static int
pool(struct sb_step_ctx *c, bool must, struct sb_err *err)
{
	unsigned n = c->run->jobs > 1 ? c->run->jobs : 1;

	if (c->jobs != NULL)
		return 1;
	if (sb_jobs_open(&c->jobs, n, c->run->conninfo, err) == 0)
		return 1;
	if (must)
		return -1;
	sb_progress_info(c->run->progress, "loading serially: %s", err->msg);
	sb_err_clear(err);
	return 0;
}

/* The line (1-based) of the record that COPY names in a worker's chunk. */
static uint64_t
job_line(struct csv_load *l, const struct sb_job *j)
{
	struct sb_csv_scan scan;
	uint64_t off = 0, line;
	bool hit;

	sb_csv_scan_init(&scan, j->line0);
	while (off < j->len) {
		size_t want = j->len - off < SB_STEP_BUF ?
		    (size_t)(j->len - off) : SB_STEP_BUF;
		ssize_t r = pread(j->fd, l->c->buf, want, (off_t)off);

		if (r <= 0)
			break;
		sb_csv_scan(&scan, l->c->buf, (size_t)r, false, &hit);
		off += (uint64_t)r;
	}
	line = error_line(&scan, j->diag.context);
	sb_csv_scan_release(&scan);
	return line;
}

/* A finished job: its notices, its chunk event, or its error in err. */
static int
reap(struct csv_load *l, struct sb_job *j, struct sb_err *err)
{
	struct sb_progress *pr = l->c->run->progress;
	uint64_t line;

	if (!j->done)
		return 0;
	j->done = false;
	if (j->held)
		return 0;	/* the earlier failure is the error */
	if (j->notices[0] != '\0')
		sb_progress_notice(pr, j->notices);
	if (j->nnotices > 0)
		sb_progress_info(pr, "%zu more notices of a chunk of %s not "
		    "shown", j->nnotices, l->e->path);
	if (j->rc == 0) {
		sb_progress_seed(pr, j->len);
		sb_progress_chunk(pr, l->e->path, j->end, j->line1);
		return 0;
	}
	*err = j->err;
	line = job_line(l, j);
	if (line > 0)
		sb_err_prefix(err, "revision \"%s\": %s:%" PRIu64, rev_id(l),
		    l->e->path, line);
	else
		sb_err_prefix(err, "revision \"%s\": %s (bytes %" PRIu64
		    " to %" PRIu64 ")", rev_id(l), l->e->path, j->start,
		    j->end);
	sb_step_lost_hint(err, &j->diag);
	return -1;
}

/*
 * Read the chunk up to the next cut, or the tail to the entry's end;
 * spooled into j unless NULL. Its SHA-256 is proven at the end.
 */
static int
spool(struct csv_load *l, struct sb_job *j, unsigned char md[SB_SHA256_LEN],
    struct sb_err *err)
{
	bool tail = l->ci == l->cuts->n;
	uint64_t end = tail ? UINT64_MAX : l->cuts->v[l->ci].end;
	int rc;

	while (l->offset < end) {
		const char *p;
		size_t k;

		if (l->plen == 0 && (rc = fill(l, err)) != 1) {
			if (rc == 0 && tail)
				break;
			if (rc == 0)
				sb_err_set(err, SB_EINVALID, "revision \"%s\": "
				    "%s ended before byte %" PRIu64, rev_id(l),
				    l->e->path, end);
			return -1;
		}
		k = until_cut(l, l->plen);
		p = l->p;
		take(l, k);
		if (j != NULL && sb_write_all(j->fd, p, k) == -1) {
			/* No spool: the caller loads the rest serially. */
			snprintf(l->spool_err, sizeof(l->spool_err), "%s",
			    strerror(errno));
			l->spool_job = j;
			l->pend = p;
			l->pendlen = k;
			return 1;
		}
		if (j != NULL)
			j->len += k;
	}
	if (!tail) {
		memcpy(md, l->cuts->v[l->ci].sha, SB_SHA256_LEN);
		return check_cut(l, err);
	}
	/* The tail: proven with the whole entry. */
	sb_sha256_final(l->c->chunk_sha, md);
	return sb_bundle_entry_end(l->c->run->bundle, err);
}

/* The committed tail an earlier run recorded, if any: its row. */
static ssize_t
done_tail(const struct csv_load *l, const struct sb_rows *done)
{
	const struct sb_chunks *k = l->cuts;
	const char *v;

	if (done->nrows == 0 ||
	    (v = sb_rows_get(done, done->nrows - 1, 0)) == NULL ||
	    strtoull(v, NULL, 10) <= k->v[k->n - 1].end)
		return -1;
	return (ssize_t)done->nrows - 1;
}

/* Whether the next chunk (or the tail) is committed already. */
static bool
is_done(const struct csv_load *l, const struct sb_rows *done)
{
	if (l->ci == l->cuts->n)
		return done_tail(l, done) != -1;
	for (size_t r = 0; r < done->nrows; r++) {
		const char *v = sb_rows_get(done, r, 0);

		if (v != NULL && strtoull(v, NULL, 10) == l->cuts->v[l->ci].end)
			return true;
	}
	return false;
}

/* The tail an earlier run committed must be this file's. */
static int
check_tail(struct csv_load *l, const struct sb_rows *done,
    const unsigned char md[SB_SHA256_LEN], struct sb_err *err)
{
	size_t r = (size_t)done_tail(l, done);
	const char *sha = sb_rows_get(done, r, 1);
	unsigned long long e = strtoull(sb_rows_get(done, r, 0), NULL, 10);
	char hex[SB_SHA256_HEX];

	sb_hex(md, SB_SHA256_LEN, hex);
	if (e != l->offset || sha == NULL || strcmp(sha, hex) != 0)
		return not_ours(l, e, err);
	return 0;
}

/* The next chunk: skipped if committed, else spooled, proven, started. */
static int
next_chunk(struct csv_load *l, const struct sb_rows *done,
    struct sb_err *err)
{
	struct sb_step_ctx *c = l->c;
	struct sb_book_step bs = sb_step_book(c, l->si);
	unsigned char md[SB_SHA256_LEN];
	bool tail = l->ci == l->cuts->n, skip = is_done(l, done);
	struct sb_job *j = NULL;
	int rc;

	/* Interrupted: drain() lets the started chunks commit. */
	if (sb_progress_check(c->run->progress, err) == -1)
		return -1;
	if (!skip) {
		if ((j = sb_jobs_idle(c->jobs, err)) == NULL ||
		    reap(l, j, err) == -1)
			return -1;
		j->len = 0;
		j->start = l->offset;
		j->line0 = l->scan.line;
	}
	if ((rc = spool(l, j, md, err)) != 0)
		return rc;
	if (skip && tail)
		return check_tail(l, done, md, err);
	if (!tail)
		sb_csv_chunk(&l->scan);
	if (j == NULL)
		return 0;
	j->end = l->offset;
	j->line1 = l->scan.line;
	j->copy_sql = l->sql;
	j->row_q = sb_state_chunk_row(&j->row, &bs, l->j, l->offset, md);
	sb_jobs_start(c->jobs, j);
	return 0;
}

/*
 * Wait for the workers and take their outcomes; unless ret already
 * failed, the failure of the earliest chunk in the file is the error.
 */
static int
drain(struct csv_load *l, int ret, struct sb_err *err)
{
	struct sb_jobs *p = l->c->jobs;
	struct sb_job *first = NULL;
	struct sb_err ignored;

	sb_jobs_drain(p);
	for (unsigned i = 0; i < sb_jobs_count(p); i++) {
		struct sb_job *j = sb_jobs_job(p, i);

		if (j->done && j->rc != 0 && !j->held && (first == NULL ||
		    j->start < first->start))
			first = j;
	}
	if (first == NULL && ret == 0 && sb_jobs_halted(p))
		ret = sb_err_set(err, SB_EDB, "revision \"%s\": %s: a chunk "
		    "failed", rev_id(l), l->e->path);
	for (unsigned i = 0; i < sb_jobs_count(p); i++) {
		struct sb_job *j = sb_jobs_job(p, i);

		if (j != first)
			(void)reap(l, j, &ignored);
	}
	if (first != NULL && reap(l, first, ret == 0 ? err : &ignored) == -1)
		ret = -1;
	return ret;
}

/*
 * A spool file could not be written (a full $TMPDIR): the chunks handed
 * over have committed, and this connection loads the rest, serially,
 * from the chunk whose spooling failed: its bytes in the spool file, the
 * ones taken but not written, then the stream.
 */
static int
take_over(struct csv_load *l, struct sb_err *err)
{
	struct sb_step_ctx *c = l->c;
	struct sb_job *j = l->spool_job;
	struct sb_db_diag diag;
	char *buf;
	uint64_t off;
	ssize_t r;

	sb_progress_info(c->run->progress, "%s: spool file: %s; loading the "
	    "rest serially from byte %" PRIu64, l->e->path, l->spool_err,
	    j->start);
	if (copy_begin(l, err) == -1)
		return -1;
	buf = sb_malloc(SB_STEP_BUF);
	for (off = 0; off < j->len; off += (uint64_t)r) {
		size_t want = j->len - off < SB_STEP_BUF ?
		    (size_t)(j->len - off) : SB_STEP_BUF;

		if ((r = pread(j->fd, buf, want, (off_t)off)) <= 0) {
			free(buf);
			sb_err_set(err, SB_EIO, "spool file of %s: %s",
			    l->e->path, r == 0 ? "short read" :
			    strerror(errno));
			return -1;
		}
		if (sb_db_copy_put(c->run->db, buf, (size_t)r, &diag,
		    err) == -1) {
			free(buf);
			return copy_fail(l, &diag, err);
		}
		sb_progress_seed(c->run->progress, (uint64_t)r);
	}
	free(buf);
	if (sb_db_copy_put(c->run->db, l->pend, l->pendlen, &diag,
	    err) == -1)
		return copy_fail(l, &diag, err);
	sb_progress_seed(c->run->progress, l->pendlen);
	if (at_cut(l) && commit_cut(l, err) == -1)
		return -1;
	return stream_rest(l, err);
}

/* The first chunk on this connection, committed at its cut. */
static int
first_chunk(struct csv_load *l, struct sb_err *err)
{
	struct sb_step_ctx *c = l->c;
	struct sb_db_diag diag;
	int rc;

	if (copy_begin(l, err) == -1)
		return -1;
	while (!at_cut(l)) {
		size_t k;
		const char *p;

		if (l->plen == 0 && (rc = fill(l, err)) != 1) {
			if (rc == 0)
				sb_err_set(err, SB_EINVALID, "revision \"%s\": "
				    "%s ended before its first cut", rev_id(l),
				    l->e->path);
			return -1;
		}
		k = until_cut(l, l->plen);
		p = l->p;
		take(l, k);
		if (sb_db_copy_put(c->run->db, p, k, &diag, err) == -1)
			return copy_fail(l, &diag, err);
		sb_progress_seed(c->run->progress, k);
	}
	if (check_cut(l, err) == -1)
		return -1;
	l->copying = false;
	if (sb_db_copy_end(c->run->db, &diag, err) == -1)
		return copy_fail(l, &diag, err);
	if (sb_load_commit(c, l->si, l->j, l->offset, l->scan.line,
	    l->e->path, err) == -1)
		return -1;
	sb_csv_chunk(&l->scan);
	return 0;
}

static int
stream_parallel(struct csv_load *l, const struct sb_rows *done,
    struct sb_err *err)
{
	struct sb_step_ctx *c = l->c;
	struct sb_book_step bs = sb_step_book(c, l->si);
	struct sb_book_at at = { c->scripts[l->si].n, l->j, 0, 0 };
	struct sb_db_diag diag;
	bool spooled;
	int ret = 0;

	sb_progress_info(c->run->progress, "%s: %zu chunks on %u "
	    "connections", l->e->path, l->cuts->n + 1,
	    sb_jobs_count(c->jobs));
	l->hash_tail = true;
	sb_jobs_reset(c->jobs);
	/*
	 * The workers must see the table and the seeds before this one. The
	 * first chunk commits with them, as a serial load commits it: a
	 * failure in it leaves nothing of the step behind.
	 */
	if (l->ci == 0 && done->nrows == 0) {
		if (first_chunk(l, err) == -1)
			return -1;
	} else {
		if (l->ci > 0) {	/* resumed at a cut */
			at.seed_offset = l->offset;
			at.seed_line = l->scan.line;
		}
		if (commit_at(c, l->si, &at, l->e->path, err) == -1)
			return -1;
	}
	while (ret == 0 && l->ci < l->cuts->n && !sb_jobs_halted(c->jobs))
		ret = next_chunk(l, done, err);
	if (ret == 0 && !sb_jobs_halted(c->jobs))
		ret = next_chunk(l, done, err);		/* the tail */
	spooled = ret == 1;
	if ((ret = drain(l, spooled ? 0 : ret, err)) == -1)
		return -1;
	if (spooled && take_over(l, err) == -1)
		return -1;
	if (sb_state_chunks_clear(c->run->db, &bs, &diag, err) == -1) {
		sb_err_prefix(err, "revision \"%s\": could not record the "
		    "chunks of %s", rev_id(l), l->e->path);
		sb_step_lost_hint(err, &diag);
		return -1;
	}
	return 0;
}

int
sb_load_csv(struct sb_step_ctx *c, size_t si, size_t j, size_t idx,
    uint64_t skip_to, uint64_t line0, struct sb_err *err)
{
	static const struct sb_chunks none = { NULL, 0, NULL, 0, 0 };
	const struct sb_chunk_plan *plan = c->run->chunks;
	struct csv_load l = {
		.c = c, .si = si, .j = j, .e = &c->run->m->entries[idx],
		.cuts = plan != NULL && idx < plan->nentries ?
		    &plan->entries[idx] : &none,
	};
	struct sb_rows done = SB_ROWS_INIT;
	unsigned char scratch[SB_SHA256_LEN];
	int ret = -1, par = 0;

	/* Reset: the first chunk starts at the entry's first byte. */
	sb_sha256_final(c->chunk_sha, scratch);
	if (read_header(&l, err) == -1)
		goto out;
	if (skip_to == 0)
		sb_progress_seed(c->run->progress, l.offset);	/* the header */
	if (skip_to > 0 && skip_committed(&l, skip_to, line0, err) == -1)
		goto out;
	if (l.ci < l.cuts->n && (par = choose(&l, &done, err)) == 1)
		par = pool(c, done.nrows > 0, err);
	if (par == -1)
		goto out;
	if ((par == 1 ? stream_parallel(&l, &done, err) :
	    stream(&l, err)) == -1)
		goto out;
	ret = 0;
out:
	if (l.copying)
		sb_db_copy_abort(c->run->db);
	if (ret == -1)
		sb_db_rollback(c->run->db);
	sb_rows_release(&done);
	sb_csv_scan_release(&l.scan);
	sb_csv_cols_free(l.cols, l.ncols);
	free(l.sql);
	return ret;
}

int
sb_load_sql(struct sb_step_ctx *c, size_t si, size_t idx, struct sb_err *err)
{
	const struct sb_manifest_entry *e = &c->run->m->entries[idx];
	struct sb_script s = { 0 };
	int ret;

	if (sb_step_read(c, e->path, SB_SQL_SEED_MAX, &s, err) == -1) {
		sb_db_rollback(c->run->db);
		return -1;
	}
	ret = sb_step_statements(c, si, &s, e->path, 1, false, err);
	c->since_commit += s.len;
	sb_progress_seed(c->run->progress, s.len);
	sb_step_script_free(&s);
	return ret;
}
