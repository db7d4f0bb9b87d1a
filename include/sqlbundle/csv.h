/*
 * CSV seed files: the header record (column names for COPY) and a record
 * boundary scanner, so a large file can be loaded in committed chunks.
 */
#ifndef SQLBUNDLE_CSV_H
#define SQLBUNDLE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sqlbundle/err.h"
#include "sqlbundle/limits.h"

/*
 * The header grammar: the one rule for HQ (sqlbundle check, render,
 * pack read seed files through it) and stores (sqlbundle-apply reads the
 * archive stream through it), decided as the first line PostgreSQL's
 * COPY ... (FORMAT csv, HEADER MATCH) reads as column names:
 *
 * - An optional UTF-8 BOM (EF BB BF) is skipped (COPY would take it as
 *   part of the first name; spreadsheets write it).
 * - Fields are separated by ','. A '"' outside quotes opens quotes
 *   anywhere in a field; inside quotes '""' is one literal quote and a
 *   lone '"' closes them. Quoted and unquoted parts of a field join:
 *   `id,"name"x` names the columns `id` and `namex`, `a"b"c` is `abc`.
 *   Quoted commas, CRs and LFs are part of the name.
 * - The record ends at the first LF, CRLF or CR outside quotes, or at the
 *   end of the file.
 * - Refused (SB_EINVALID, the message names the column where there is
 *   one): an empty file or first line ("no column name"), an empty
 *   name (`a,,b`, `a,`, `""`), a name longer than SB_CSV_NAME_MAX bytes, more than
 *   SB_CSV_COLUMNS_MAX names
 *   (PostgreSQL would truncate it), a name that is not valid UTF-8, the
 *   same name twice (exact bytes: quoted identifiers), a NUL byte, an
 *   unterminated quote, a first line "\." (COPY's end-of-data marker),
 *   and a header not complete within its first SB_CSV_HEADER_MAX bytes
 *   (BOM and line end included; a CR in the last of those bytes is
 *   refused too, since CRLF cannot be told from CR there).
 *
 * Data rows are not checked here: COPY checks them.
 */

/*
 * Parse the header record at the start of a CSV file (buf holds its
 * first len bytes, eof: nothing follows them). Returns 1 with *cols
 * (malloc'd names, free with sb_csv_cols_free), *ncols, *used (bytes of
 * BOM, header and line end) and *lines (LFs consumed, counting the line
 * end as one); 0 when buf does not hold the whole header yet (only when
 * !eof and len < SB_CSV_HEADER_MAX); -1 with err as above. The answer
 * depends only on the file: a caller that feeds a growing prefix until
 * the answer is not 0 gets what a caller with the whole file gets.
 */
int	sb_csv_header(const char *buf, size_t len, bool eof, char ***cols,
	    size_t *ncols, size_t *used, uint64_t *lines, struct sb_err *err);
void	sb_csv_cols_free(char **cols, size_t ncols);

/* A record in a chunk that spans several lines (quoted line breaks). */
struct sb_csv_multi {
	uint64_t	record;		/* 1-based within the chunk */
	uint64_t	extra;		/* line breaks inside its quotes */
};

/* Cap on remembered multi-line records per chunk (memory stays flat). */
#define SB_CSV_MULTI_MAX	65536

/*
 * Scanner state over the data part of a CSV file. Only an LF outside
 * quotes ends a record (files with bare CR line ends have no boundary
 * and load in one piece).
 */
struct sb_csv_scan {
	bool		 quoted;	/* inside a quoted field */
	uint64_t	 line;		/* LFs seen since the start of the file */
	uint64_t	 chunk_line;	/* `line` when the chunk began */
	uint64_t	 records;	/* records ended in this chunk */
	uint64_t	 extra;		/* quoted LFs in the current record */
	struct sb_csv_multi *multi;
	size_t		 nmulti, cap;
	uint64_t	 lost_from;	/* first multi-line record not kept */
};

/* Start scanning at a record boundary after `line` line breaks. */
void	sb_csv_scan_init(struct sb_csv_scan *s, uint64_t line);
/* A new chunk starts here (a record boundary): record numbers restart. */
void	sb_csv_chunk(struct sb_csv_scan *s);
/*
 * Scan len bytes of buf. With stop, return right after the first record
 * boundary (the LF that ends a record) and set *hit; otherwise, or when
 * there is none, consume all of buf (*hit false unless the last byte
 * ends a record). Returns the bytes consumed.
 */
size_t	sb_csv_scan(struct sb_csv_scan *s, const char *buf, size_t len,
	    bool stop, bool *hit);
/*
 * File line (1-based) where record `record` (1-based within the chunk,
 * as COPY's CONTEXT counts) begins; 0 if unknown (too many multi-line
 * records to remember).
 */
uint64_t sb_csv_record_line(const struct sb_csv_scan *s, uint64_t record);
/*
 * The record (1-based within the chunk) that COPY's CONTEXT "line N"
 * names, or 0 if unknown. COPY counts line breaks, quoted ones too,
 * except inside the first record of its input (before any line end it
 * does not know which character ends lines), and names a record by its
 * last line.
 */
uint64_t sb_csv_copy_record(const struct sb_csv_scan *s, uint64_t copy_line);
void	sb_csv_scan_release(struct sb_csv_scan *s);

#endif
