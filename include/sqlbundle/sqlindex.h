/*
 * Statements that build an index concurrently: CREATE INDEX
 * CONCURRENTLY and REINDEX ... CONCURRENTLY. One interrupted by a crash
 * leaves an invalid index behind (or REINDEX's *_ccnew / *_ccold), which
 * a second run of the statement does not repair. What both programs
 * need to know of such a statement: `check` warns about the ones that
 * cannot be repaired, the applier repairs the others when it resumes.
 */
#ifndef SQLBUNDLE_SQLINDEX_H
#define SQLBUNDLE_SQLINDEX_H

#include <stdbool.h>
#include <stddef.h>

enum sb_ibuild_kind {
	SB_IBUILD_NONE,		/* not a concurrent index build */
	SB_IBUILD_CREATE,	/* CREATE [UNIQUE] INDEX CONCURRENTLY */
	SB_IBUILD_REINDEX	/* REINDEX ... CONCURRENTLY */
};

/* What a REINDEX names. */
enum sb_ibuild_scope {
	SB_IBUILD_INDEX,
	SB_IBUILD_TABLE,
	SB_IBUILD_SCHEMA,
	SB_IBUILD_DATABASE
};

/* PostgreSQL's NAMEDATALEN: longer names are truncated to 63 bytes. */
#define SB_IBUILD_NAME_MAX	64
#define SB_IBUILD_TARGET_MAX	512

struct sb_ibuild {
	enum sb_ibuild_kind	kind;
	enum sb_ibuild_scope	scope;		/* of a REINDEX */
	/* CREATE: the index's name as the catalog holds it, "" if unnamed */
	char			name[SB_IBUILD_NAME_MAX];
	/*
	 * CREATE: its table; REINDEX: the object named. As written
	 * (qualified, quoted), "" if none or too long.
	 */
	char			target[SB_IBUILD_TARGET_MAX];
};

/*
 * Read statement stmt[0..len) (one statement, as sb_sql_split delimits
 * it). True with *b filled if it builds an index concurrently.
 */
bool	sb_sql_index_build(const char *stmt, size_t len, struct sb_ibuild *b);

#endif
