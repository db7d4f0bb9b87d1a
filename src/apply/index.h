/*
 * Invalid indexes left by concurrent builds (sqlbundle/sqlindex.h): the
 * statement in flight at a crash is repaired before it runs again, and
 * no build may end with an invalid index.
 */
#ifndef SQLBUNDLE_APPLY_INDEX_H
#define SQLBUNDLE_APPLY_INDEX_H

#include "sqlbundle/err.h"
#include "sqlbundle/sqlindex.h"

#include "db.h"
#include "progress.h"

/*
 * Before b runs again: drop (DROP INDEX CONCURRENTLY) the invalid
 * indexes an interrupted run of it left, those no other session holds a
 * lock on, with an info line each. Outside any transaction.
 */
int	sb_index_repair(struct sb_db *db, const struct sb_ibuild *b,
	    struct sb_progress *p, struct sb_db_diag *diag,
	    struct sb_err *err);
/* After b ran: an error if an index it builds is invalid. */
int	sb_index_verify(struct sb_db *db, const struct sb_ibuild *b,
	    struct sb_db_diag *diag, struct sb_err *err);

#endif
