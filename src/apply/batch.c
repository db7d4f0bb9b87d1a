/*
 * Small CSV seeds of a step, sent together: each is read whole (and
 * proven by its SHA-256) as its entry comes, and the batch goes to the
 * server as one query of COPY statements, so that each file costs one
 * round trip instead of two. A batch never spans a commit: the caller
 * sends it before any other seed and before committing, so what commits
 * is what the file-by-file load commits.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/csv.h"
#include "sqlbundle/fs.h"

#include "batch.h"
#include "load.h"

/* A file is held whole up to this size; a batch up to SB_BATCH_MAX. */
#define SB_BATCH_FILE	(256u * 1024)
#define SB_BATCH_MAX	(1024u * 1024)

struct batch_file {
	size_t		 j, idx;	/* seed of the step, entry */
	char		*data;		/* the whole entry */
	size_t		 len, used;	/* its bytes; the header's */
	uint64_t	 hlines;	/* line breaks of the header */
	char		*sql;		/* its COPY */
};

struct sb_batch {
	struct batch_file	*v;
	size_t			 n, cap, bytes;
};

static void
clear(struct sb_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].data);
		free(b->v[i].sql);
	}
	b->n = 0;
	b->bytes = 0;
}

void
sb_batch_free(struct sb_batch *b)
{
	if (b == NULL)
		return;
	clear(b);
	free(b->v);
	free(b);
}

bool
sb_batch_fits(const struct sb_step_ctx *c, size_t idx)
{
	const struct sb_chunk_plan *plan = c->run->chunks;
	const struct sb_chunks *k;

	if (c->run->m->entries[idx].kind != SB_ENTRY_SEED_CSV ||
	    plan == NULL || idx >= plan->nentries)
		return false;
	k = &plan->entries[idx];
	return k->n == 0 && k->size <= SB_BATCH_FILE;
}

/* The current entry, whole, proven by its SHA-256. */
static int
read_whole(struct sb_step_ctx *c, size_t idx, struct batch_file *f,
    struct sb_err *err)
{
	size_t cap = (size_t)c->run->chunks->entries[idx].size;
	ssize_t r;

	f->data = sb_malloc(cap + 1);
	while (f->len < cap + 1) {
		r = sb_bundle_read(c->run->bundle, f->data + f->len,
		    cap + 1 - f->len, err);
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		f->len += (size_t)r;
	}
	/* More or fewer bytes than pass 1 saw: the entry's hash says so. */
	return sb_bundle_entry_end(c->run->bundle, err);
}

int
sb_batch_add(struct sb_step_ctx *c, size_t si, size_t j, size_t idx,
    struct sb_err *err)
{
	const struct sb_manifest_entry *e = &c->run->m->entries[idx];
	struct sb_batch *b;
	struct batch_file f = { .j = j, .idx = idx };
	char **cols = NULL;
	size_t ncols = 0;

	if (c->batch == NULL)
		c->batch = sb_calloc(1, sizeof(*c->batch));
	b = c->batch;
	if (b->bytes + c->run->chunks->entries[idx].size > SB_BATCH_MAX &&
	    sb_batch_send(c, si, err) == -1)
		return -1;
	if (read_whole(c, idx, &f, err) == -1)
		goto fail;
	if (sb_csv_header(f.data, f.len, true, &cols, &ncols, &f.used,
	    &f.hlines, err) == -1) {
		sb_err_prefix(err, "revision \"%s\": %s:1", sb_step_rev(c, si)->id,
		    e->path);
		goto fail;
	}
	f.sql = sb_load_copy_sql(c, e, cols, ncols, err);
	sb_csv_cols_free(cols, ncols);
	if (f.sql == NULL)
		goto fail;
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->v = sb_realloc(b->v, b->cap * sizeof(*b->v));
	}
	b->v[b->n++] = f;
	b->bytes += f.len;
	c->since_commit += f.len;
	return 0;
fail:
	free(f.data);
	free(f.sql);
	return -1;
}

/* The COPY statements of the batch as one query. */
static char *
query(const struct sb_batch *b)
{
	size_t len = 0, at = 0;
	char *q;

	for (size_t i = 0; i < b->n; i++)
		len += strlen(b->v[i].sql) + 2;
	q = sb_malloc(len + 1);
	for (size_t i = 0; i < b->n; i++) {
		size_t k = strlen(b->v[i].sql);

		memcpy(q + at, b->v[i].sql, k);
		memcpy(q + at + k, ";\n", 2);
		at += k + 2;
	}
	q[at] = '\0';
	return q;
}

/* The COPY of file f failed: its bytes are scanned to name the line. */
static int
failed(struct sb_step_ctx *c, size_t si, const struct batch_file *f,
    const struct sb_db_diag *diag, struct sb_err *err)
{
	struct sb_csv_scan scan;
	bool hit;

	sb_csv_scan_init(&scan, f->hlines);
	sb_csv_scan(&scan, f->data + f->used, f->len - f->used, false, &hit);
	sb_load_copy_failed(c, si, c->run->m->entries[f->idx].path, &scan,
	    diag, err);
	sb_csv_scan_release(&scan);
	return -1;
}

int
sb_batch_send(struct sb_step_ctx *c, size_t si, struct sb_err *err)
{
	struct sb_batch *b = c->batch;
	struct sb_db *db = c->run->db;
	struct sb_db_diag diag;
	bool next_failed;
	char *q;
	int rc = 1, ret = -1;
	size_t i;

	if (b == NULL || b->n == 0)
		return 0;
	q = query(b);
	if (sb_db_copy_begin(db, q, &diag, err) == -1) {
		ret = failed(c, si, &b->v[0], &diag, err);
		goto out;
	}
	for (i = 0; i < b->n && rc == 1; i++) {
		const struct batch_file *f = &b->v[i];

		if (sb_db_copy_put(db, f->data + f->used, f->len - f->used,
		    &diag, err) == -1) {
			sb_db_copy_abort(db);
			ret = failed(c, si, f, &diag, err);
			goto out;
		}
		rc = sb_db_copy_next(db, &next_failed, &diag, err);
		if (rc == -1) {
			ret = failed(c, si, next_failed && i + 1 < b->n ?
			    &b->v[i + 1] : f, &diag, err);
			goto out;
		}
		sb_progress_seed(c->run->progress, f->len);
	}
	if (rc != 0 || i != b->n) {
		/* A query the batch built always has one COPY per file. */
		sb_err_set(err, SB_EDB, "revision \"%s\": a batch of %zu seed "
		    "files ended after %zu", sb_step_rev(c, si)->id, b->n, i);
		sb_db_copy_abort(db);
		sb_db_rollback(db);
		goto out;
	}
	ret = 0;
out:
	free(q);
	clear(b);
	return ret;
}

void
sb_batch_drop(struct sb_step_ctx *c)
{
	if (c->batch != NULL)
		clear(c->batch);
}
