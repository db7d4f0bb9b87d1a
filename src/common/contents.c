/*
 * Content checks of bundle entries (scripts split, CSV headers parsed)
 * and the chunk cuts of CSV seeds, run by the verifying pass.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fingerprint.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/sqlsplit.h"

#include "sqlbundle/contents.h"
#include "sqlsplit_priv.h"

uint64_t
sb_chunk_size(uint64_t want, uint64_t unpacked)
{
	uint64_t least = unpacked / SB_CHUNKS_MAX + 1;

	return want > least ? want : least;
}

void
sb_chunk_plan_release(struct sb_chunk_plan *p)
{
	for (size_t i = 0; i < p->nentries; i++) {
		free(p->entries[i].v);
		sb_csv_cols_free(p->entries[i].cols, p->entries[i].ncols);
	}
	free(p->entries);
	memset(p, 0, sizeof(*p));
}

static bool
whole(const struct sb_contents *c)
{
	return c->e->kind != SB_ENTRY_SEED_CSV;
}

/* Scripts and SQL seeds are held whole by the applier: each has a limit. */
static size_t
whole_max(const struct sb_contents *c)
{
	if (c->e->kind == SB_ENTRY_FINGERPRINTS)
		return SB_FP_FILE_MAX;
	return c->e->kind == SB_ENTRY_SEED_SQL ? SB_SQL_SEED_MAX :
	    SB_SCRIPT_MAX;
}

static const char *
whole_what(const struct sb_contents *c)
{
	if (c->e->kind == SB_ENTRY_FINGERPRINTS)
		return "fingerprint file";
	return c->e->kind == SB_ENTRY_SEED_SQL ? "SQL seed" : "script";
}

int
sb_contents_begin(struct sb_contents *c, const struct sb_manifest_entry *e,
    uint64_t size, uint64_t chunk, struct sb_err *err)
{
	memset(c, 0, sizeof(*c));
	c->e = e;
	c->size = size;
	if (whole(c) && size > whole_max(c))
		return sb_err_set(err, SB_EINVALID, "%s: %llu bytes, larger "
		    "than the %zu bytes a %s may hold", e->path,
		    (unsigned long long)size, whole_max(c), whole_what(c));
	if (e->kind == SB_ENTRY_SEED_CSV && chunk > 0) {
		c->chunk = chunk;
		if ((c->sha = sb_sha256_new()) == NULL)
			return sb_err_set(err, SB_EIO, "out of memory");
	}
	return 0;
}

static void
append(struct sb_contents *c, const char *p, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		c->cap = c->cap ? c->cap : 64 * 1024;
		while (c->len + n + 1 > c->cap)
			c->cap *= 2;
		c->buf = sb_realloc(c->buf, c->cap);
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static void
add_cut(struct sb_contents *c)
{
	struct sb_chunks *k = &c->cuts;

	if (k->n == c->cuts_cap) {
		c->cuts_cap = c->cuts_cap ? c->cuts_cap * 2 : 64;
		k->v = sb_realloc(k->v, c->cuts_cap * sizeof(*k->v));
	}
	k->v[k->n].end = c->off;
	sb_sha256_final(c->sha, k->v[k->n].sha);
	k->n++;
	c->due = c->off + c->chunk;
}

/* CSV data bytes at c->off: find the cuts, as pass 2 will commit them. */
static void
cut_data(struct sb_contents *c, const char *p, size_t n)
{
	while (n > 0) {
		size_t k;
		bool hit;

		/* No cut can follow (none at the end): nothing to look for. */
		if (c->due >= c->size) {
			c->off += n;
			return;
		}
		if (c->off < c->due) {
			k = n;
			if (k > c->due - c->off)
				k = (size_t)(c->due - c->off);
			sb_csv_scan(&c->scan, p, k, false, &hit);
			/* A record that ends right at `due` is a cut too. */
			hit = hit && c->off + k == c->due;
		} else {
			k = sb_csv_scan(&c->scan, p, n, true, &hit);
		}
		sb_sha256_update(c->sha, p, k);
		c->off += k;
		p += k;
		n -= k;
		if (hit && c->off < c->size)
			add_cut(c);
	}
}

/* Parse the header once it is whole; 1 when it is, 0 not yet, -1 bad. */
static int
header(struct sb_contents *c, bool eof, struct sb_err *err)
{
	char **cols = NULL;
	size_t ncols = 0, used = 0;
	uint64_t lines = 0;
	int h;

	h = sb_csv_header(c->buf, c->len, eof, &cols, &ncols, &used, &lines,
	    err);
	if (h == 1 && c->chunk > 0) {
		c->cuts.cols = cols;
		c->cuts.ncols = ncols;
	} else {
		sb_csv_cols_free(cols, ncols);
	}
	if (h == -1)
		return sb_err_prefix(err, "%s:1", c->e->path);
	if (h == 0) {
		if (c->len >= SB_CSV_HEADER_MAX)
			return sb_err_set(err, SB_EINVALID, "%s:1: CSV header "
			    "longer than %d bytes", c->e->path,
			    SB_CSV_HEADER_MAX);
		return 0;
	}
	c->header_done = true;
	if (c->chunk > 0) {
		sb_csv_scan_init(&c->scan, lines);
		sb_sha256_update(c->sha, c->buf, used);
		c->off = used;
		c->due = used + c->chunk;
		cut_data(c, c->buf + used, c->len - used);
	}
	return 1;
}

int
sb_contents_feed(struct sb_contents *c, const void *buf, size_t len,
    struct sb_err *err)
{
	const char *p = buf;
	int h;

	if (whole(c)) {
		if (c->len + len > whole_max(c))
			return sb_err_set(err, SB_EINVALID, "%s: larger than "
			    "%zu bytes", c->e->path, whole_max(c));
		append(c, p, len);
		return 1;
	}
	if (c->header_done) {
		cut_data(c, p, len);
		return 1;
	}
	append(c, p, len);
	if ((h = header(c, false, err)) == -1)
		return -1;
	return h == 1 && c->chunk == 0 ? 0 : 1;
}

/* FINGERPRINTS: what the applier reads before it runs anything. */
static int
check_fingerprints(struct sb_contents *c, struct sb_err *err)
{
	struct sb_fp_file f = SB_FP_FILE_INIT;

	if (sb_fp_file_parse(&f, c->e->path, c->buf, c->len, err) == -1)
		return -1;
	sb_fp_file_release(&f);
	return 0;
}

/* Scripts and SQL seeds: what the applier splits, before it runs any. */
static int
check_script(struct sb_contents *c, struct sb_err *err)
{
	struct sb_stmt *stmts = NULL;
	const char *nul;
	size_t n = 0;
	unsigned line = 1;

	if ((nul = memchr(c->buf, '\0', c->len)) != NULL) {
		for (const char *q = c->buf; q < nul; q++)
			line += *q == '\n';
		return sb_err_set(err, SB_EINVALID, "%s:%u: NUL byte",
		    c->e->path, line);
	}
	if (sb_sql_split_at(c->buf, c->len, c->e->path, 1, &stmts, &n,
	    err) == -1)
		return -1;
	free(stmts);
	return 0;
}

int
sb_contents_end(struct sb_contents *c, struct sb_chunks *out,
    struct sb_err *err)
{
	if (whole(c)) {
		if (c->buf == NULL)
			append(c, "", 0);
		if ((c->e->kind == SB_ENTRY_FINGERPRINTS ?
		    check_fingerprints(c, err) : check_script(c, err)) == -1)
			return -1;
	} else if (!c->header_done && header(c, true, err) == -1) {
		return -1;
	}
	if (c->cuts.n == 0) {
		/* Loaded whole: nobody asks for its columns. */
		sb_csv_cols_free(c->cuts.cols, c->cuts.ncols);
		c->cuts.cols = NULL;
		c->cuts.ncols = 0;
	}
	if (out != NULL) {
		*out = c->cuts;
		memset(&c->cuts, 0, sizeof(c->cuts));
		c->cuts_cap = 0;
	}
	return 0;
}

void
sb_contents_release(struct sb_contents *c)
{
	free(c->buf);
	free(c->cuts.v);
	sb_csv_cols_free(c->cuts.cols, c->cuts.ncols);
	sb_sha256_free(c->sha);
	sb_csv_scan_release(&c->scan);
	memset(c, 0, sizeof(*c));
}
