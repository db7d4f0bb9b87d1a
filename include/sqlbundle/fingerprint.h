/*
 * Schema fingerprints (docs/DESIGN.md, "Schema fingerprints"): the one
 * canonical description of a database's user schemas that HQ records
 * after every revision and every store compares its database with.
 *
 * A description is a sorted set of lines, one per object:
 *
 *   kind TAB name TAB value
 *
 *   column	pos.sale.discount	numeric(8,2) NOT NULL DEFAULT 0
 *   index	inv.item_sku_idx	CREATE UNIQUE INDEX item_sku_idx ON ...
 *   function	acct.post(integer)	CREATE OR REPLACE FUNCTION acct.post(...
 *
 * Fields are escaped (\\ \t \n \r, other control bytes \xNN), so a line
 * never holds a newline; "kind TAB name" is the object's key. Lines are
 * sorted in byte order and the description's text is every line followed
 * by "\n". Its digest is the SHA-256 of that text: the same as
 * `sqlbundle-apply fingerprint | sha256sum`.
 *
 * The catalog query (sb_fp_query) is part of the definition: it returns
 * rows of (kind, schema, object, name, value), the applier runs it with
 * search_path '' and feeds each row to sb_fp_add_row(), which leaves out
 * excluded objects. libpq stays in src/apply/db.c.
 */
#ifndef SQLBUNDLE_FINGERPRINT_H
#define SQLBUNDLE_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/limits.h"

/* The project file (next to revisions/CHECKSUMS) and the bundle member. */
#define SB_FP_FILE		"FINGERPRINTS"
/* Its path in a bundle and in MANIFEST's entry list. */
#define SB_FP_MEMBER		"FINGERPRINTS"
/* First line of the file. */
#define SB_FP_FORMAT		"sqlbundle-fingerprints-1"
/* The id of the schema before the first revision (MANIFEST's From). */
#define SB_FP_BASE		"base"
/* A whole file, read into memory by both programs. */
#define SB_FP_FILE_MAX		((size_t)256 * 1024 * 1024)
/*
 * Description lines of all records together (each record points at the
 * lines it shares with the one before: 8 bytes a line), so a file of
 * many records over a large schema cannot exhaust a store's memory.
 */
#define SB_FP_LINES_MAX		((size_t)32 * 1024 * 1024)
/* An Exclude pattern. */
#define SB_FP_PATTERN_MAX	256
/* The applier's bookkeeping schema: never part of a fingerprint. */
#define SB_FP_STATE_SCHEMA	"sqlbundle"

/* Object kinds: the first field of a line. */
#define SB_FP_KINDS	"schema table column constraint index view " \
			"matview sequence function aggregate trigger enum " \
			"domain type extension grant"

/*
 * What a fingerprint leaves out: sqlbundle.conf's `fingerprint-exclude`
 * patterns, the same in the FINGERPRINTS header, plus the bookkeeping the
 * applier adds at run time (never written to the file).
 *
 * A pattern is "schema" (the whole schema) or "schema.object" (a table,
 * view, sequence, type or function of that name, with its columns,
 * constraints, indexes, triggers, owned sequences and grants); each part
 * is an fnmatch(3) pattern ("pos_app", "pos.legacy_*").
 */
struct sb_fp_excl {
	char	**pat;		/* as written */
	bool	 *literal;	/* compared as is, not as a pattern */
	size_t	  n;
};

#define SB_FP_EXCL_INIT { NULL, NULL, 0 }

/* Add a pattern; -1 and err (naming it) if it is not valid. */
int	sb_fp_excl_add(struct sb_fp_excl *x, const char *pat,
	    struct sb_err *err);
/* Add an exact schema[.object] (object NULL: the whole schema). */
void	sb_fp_excl_add_literal(struct sb_fp_excl *x, const char *schema,
	    const char *object);
/*
 * The applier's own tables: SB_FP_STATE_SCHEMA and the version table
 * "schema.table" (NULL for none).
 */
void	sb_fp_excl_add_bookkeeping(struct sb_fp_excl *x,
	    const char *version_table);
/* True when an object of schema (and object, NULL for the schema) is left out. */
bool	sb_fp_excluded(const struct sb_fp_excl *x, const char *schema,
	    const char *object);
/* Copy the patterns (not the literals) of src onto dst. */
void	sb_fp_excl_copy(struct sb_fp_excl *dst, const struct sb_fp_excl *src);
void	sb_fp_excl_release(struct sb_fp_excl *x);

/* A description: sorted, unique lines once sb_fp_finish() has run. */
struct sb_fp {
	char	**lines;	/* escaped, without "\n" */
	size_t	  n, cap;
	bool	  borrowed;	/* lines owned by a sb_fp_file, not freed */
};

#define SB_FP_INIT { NULL, 0, 0, false }

/*
 * Run on the session before sb_fp_query(), in a transaction or
 * savepoint that is rolled back afterwards (SET LOCAL): the settings
 * that change what the pg_get_*def functions print.
 */
const char *sb_fp_setup_sql(void);
/*
 * The catalog query: one row per object, columns kind, schema, object
 * (the name exclusion patterns match; NULL for a schema), name (as the
 * line shows it) and value. Order of rows does not matter.
 */
const char *sb_fp_query(void);
/*
 * Add one row of sb_fp_query(); nothing when x excludes it. NULL value
 * is "". -1 and err for an unknown kind or a NULL name.
 */
int	sb_fp_add_row(struct sb_fp *fp, const struct sb_fp_excl *x,
	    const char *kind, const char *schema, const char *object,
	    const char *name, const char *value, struct sb_err *err);
/* Add an already escaped line (as a file or `fingerprint` output holds it). */
void	sb_fp_add_line(struct sb_fp *fp, const char *line);
/* Sort; -1 and err if two lines share a key ("kind TAB name"). */
int	sb_fp_finish(struct sb_fp *fp, struct sb_err *err);
/* The description text (every line and "\n"), malloc'd. */
char	*sb_fp_text(const struct sb_fp *fp, size_t *len);
/* SHA-256 of the text, 64 hex digits. */
void	sb_fp_digest(const struct sb_fp *fp, char hex[SB_SHA256_HEX]);
/*
 * Read a description text (`sqlbundle-apply fingerprint` output): every
 * line well formed, sorted and unique. Errors name name and the line.
 */
int	sb_fp_parse_text(struct sb_fp *fp, const char *name, const char *buf,
	    size_t len, struct sb_err *err);
void	sb_fp_release(struct sb_fp *fp);

/* How an object differs. */
enum sb_fp_how {
	SB_FP_EXTRA,		/* in the database, not in the expected schema */
	SB_FP_MISSING,		/* expected, not in the database */
	SB_FP_CHANGED		/* in both, with another definition */
};

struct sb_fp_item {
	enum sb_fp_how	how;
	char	*kind, *name;		/* unescaped */
	char	*expected, *found;	/* unescaped values; NULL when absent */
	/* "column pos.sale.discount: not in the expected schema", escaped */
	char	*text;
};

struct sb_fp_diff {
	struct sb_fp_item *items;	/* in key order */
	size_t	 n;
};

#define SB_FP_DIFF_INIT { NULL, 0 }

/*
 * Compare two finished descriptions. Each item's text names the object
 * and how it differs: "...: not in the expected schema", "...: missing",
 * "function acct.post(): body differs", "column x.y.z: definition
 * differs (expected "integer", found "bigint")".
 */
void	sb_fp_diff(const struct sb_fp *expected, const struct sb_fp *live,
	    struct sb_fp_diff *d);
/* "extra", "missing" or "changed": the JSON word. */
const char *sb_fp_how_name(enum sb_fp_how how);
void	sb_fp_diff_release(struct sb_fp_diff *d);

/*
 * FINGERPRINTS: the expected schema after every revision.
 *
 *   Format: sqlbundle-fingerprints-1
 *   Exclude: pos_app                      (0 or more, in order)
 *   Revisions: 3
 *   <blank line>
 *   Revision: base <digest> upgrade=-
 *   +schema	public	
 *   Revision: 000000000001 <digest> upgrade=<sha256 of its upgrade script>
 *   +table	pos.sale	
 *   -...
 *
 * Each record's lines are the description's delta against the record
 * before (the first: against the empty description), "-" removals and
 * "+" additions in line order; the digest is checked on reading.
 */
struct sb_fp_rev {
	char	 id[SB_ID_MAX + 1];	/* a revision id or SB_FP_BASE */
	char	 digest[SB_SHA256_HEX];
	char	 upgrade[SB_SHA256_HEX];	/* "" for "-" */
	struct sb_fp fp;		/* the whole description */
};

struct sb_fp_file {
	struct sb_fp_excl excl;
	struct sb_fp_rev *revs;		/* in apply order */
	size_t	 n;
	char	**pool;			/* parsed: the lines the records share */
	size_t	  npool, lines;		/* lines: of all records together */
};

#define SB_FP_FILE_INIT { SB_FP_EXCL_INIT, NULL, 0, NULL, 0, 0 }

/* Parse and validate; errors name `name` and the line. */
int	sb_fp_file_parse(struct sb_fp_file *f, const char *name,
	    const char *buf, size_t len, struct sb_err *err);
/* Read and parse a file; a missing one is SB_EIO with errno ENOENT. */
int	sb_fp_file_load(struct sb_fp_file *f, const char *path,
	    struct sb_err *err);
/*
 * Append a revision's description (taken over: *fp is left empty and
 * must be finished). upgrade NULL or "" for none. -1 and err for a bad
 * or repeated id.
 */
int	sb_fp_file_add(struct sb_fp_file *f, const char *id,
	    const char *upgrade, struct sb_fp *fp, struct sb_err *err);
/* The file's text, malloc'd. */
char	*sb_fp_file_format(const struct sb_fp_file *f, size_t *len);
/* Write the file durably (temp + fsync + rename). */
int	sb_fp_file_write(const struct sb_fp_file *f, const char *path,
	    struct sb_err *err);
struct sb_manifest;
/*
 * Check f against a bundle's manifest: a record of one of its revisions
 * must carry that revision's upgrade digest (else the rehearsal ran
 * another script). -1 and err naming the revision.
 */
int	sb_fp_file_check(const struct sb_fp_file *f,
	    const struct sb_manifest *m, struct sb_err *err);
/* The record of revision id (or SB_FP_BASE), or NULL. */
const struct sb_fp_rev *sb_fp_file_find(const struct sb_fp_file *f,
	    const char *id);
void	sb_fp_file_release(struct sb_fp_file *f);

#endif
