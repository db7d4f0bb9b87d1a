/*
 * What a bundle entry must hold for the applier to get through it. The
 * verifying pass (sb_bundle_verify) runs these checks on every entry, so
 * a bundle that the store would refuse half-way is refused whole, before
 * anything runs, at HQ (`sqlbundle verify`) and at the store alike. The
 * same pass records where a chunked CSV load will commit and the SHA-256
 * of each chunk, so that pass 2 commits only bytes that pass 1 verified.
 */
#ifndef SQLBUNDLE_CONTENTS_H
#define SQLBUNDLE_CONTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/csv.h"
#include "sqlbundle/err.h"
#include "sqlbundle/limits.h"
#include "sqlbundle/manifest.h"


/* A cut of a CSV seed where a chunked load commits: right after a record. */
struct sb_chunk {
	uint64_t	end;			/* entry offset of the cut */
	unsigned char	sha[SB_SHA256_LEN];	/* bytes since the last cut */
};

/*
 * The cuts of one entry: none for scripts, SQL seeds and small CSVs. A
 * CSV with cuts keeps its header's columns too (for `plan`).
 */
struct sb_chunks {
	struct sb_chunk	*v;
	size_t		 n;
	char		**cols;
	size_t		 ncols;
	uint64_t	 size;		/* the entry's bytes (every entry) */
};

/* The cuts of every entry of a bundle, by manifest index. */
struct sb_chunk_plan {
	uint64_t	  size;		/* bytes per chunk, at least */
	struct sb_chunks *entries;	/* nentries, or NULL */
	size_t		  nentries;
};

#define SB_CHUNK_PLAN_INIT { 0, NULL, 0 }

/*
 * Bytes per chunk for a bundle of `unpacked` bytes: want, or more when
 * SB_CHUNKS_MAX chunks of want bytes would not cover the bundle (memory
 * stays bounded whatever --chunk-size says).
 */
uint64_t sb_chunk_size(uint64_t want, uint64_t unpacked);
void	sb_chunk_plan_release(struct sb_chunk_plan *p);

/* The check of one entry, fed its bytes as they stream by. */
struct sb_contents {
	const struct sb_manifest_entry *e;
	uint64_t	 size;		/* declared size */
	uint64_t	 off;		/* bytes fed */
	uint64_t	 chunk;		/* 0: record no cut */
	char		*buf;		/* script text, or CSV header so far */
	size_t		 len, cap;
	bool		 header_done;	/* CSV: header parsed */
	struct sb_csv_scan scan;	/* CSV data, when recording cuts */
	struct sb_sha256 *sha;		/* bytes since the last cut */
	uint64_t	 due;		/* cut at the first record end from here */
	struct sb_chunks cuts;		/* with the header's columns */
	size_t		 cuts_cap;
};

/*
 * Start checking entry e of `size` bytes (from its archive header): a
 * script over SB_SCRIPT_MAX or an SQL seed over SB_SQL_SEED_MAX is
 * refused here, before any byte is read. With chunk > 0, a CSV seed's
 * cuts are recorded: the first record end at least chunk bytes after the
 * header or the previous cut, never the end of the entry.
 */
int	sb_contents_begin(struct sb_contents *c,
	    const struct sb_manifest_entry *e, uint64_t size, uint64_t chunk,
	    struct sb_err *err);
/*
 * Feed the next bytes: 1 to be fed more, 0 when the rest need not be
 * read (a CSV header checked, no cut to record), -1 with err naming the
 * entry and line when the contents are refused.
 */
int	sb_contents_feed(struct sb_contents *c, const void *buf, size_t len,
	    struct sb_err *err);
/*
 * The entry's end: scripts and SQL seeds must split into statements
 * (sqlsplit, no NUL byte), a CSV seed must have a header (csv.h). On
 * success the cuts move to *out (may be NULL). Errors name entry:line.
 */
int	sb_contents_end(struct sb_contents *c, struct sb_chunks *out,
	    struct sb_err *err);
void	sb_contents_release(struct sb_contents *c);

#endif
