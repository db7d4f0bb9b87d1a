/*
 * A concurrent index build interrupted by a crash leaves its index
 * invalid: PostgreSQL never uses it, pg_dump leaves it out, and the
 * build's IF NOT EXISTS skips it on a second run. REINDEX CONCURRENTLY
 * leaves *_ccnew (the copy being built) or *_ccold (the old index,
 * swapped out). The catalog tells which of these a statement left.
 */
#include <stdio.h>
#include <stdlib.h>

#include "index.h"

/* The invalid indexes of b's scope; the parameters are b's. */
#define INVALID_SELECT \
	"SELECT format('%%I.%%I', n.nspname, c.relname) " \
	"FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid " \
	"JOIN pg_namespace n ON n.oid = c.relnamespace " \
	"JOIN pg_class t ON t.oid = i.indrelid " \
	"WHERE NOT i.indisvalid AND c.relkind = 'i' AND %s%s ORDER BY 1"

/* Nobody builds it now (a build holds a lock on its index). */
#define UNLOCKED \
	" AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE " \
	"l.relation = c.oid AND l.pid <> pg_backend_pid())"

/* Leftovers of REINDEX CONCURRENTLY. */
#define CC "c.relname ~ '_cc(new|old)[0-9]*$' AND "

static const char *
scope_sql(const struct sb_ibuild *b, int *nparams)
{
	*nparams = 1;
	if (b->kind == SB_IBUILD_CREATE) {
		*nparams = 2;
		return "i.indrelid = to_regclass($1) AND c.relname = $2";
	}
	switch (b->scope) {
	case SB_IBUILD_INDEX:
		return CC "i.indrelid = (SELECT x.indrelid FROM pg_index x "
		    "WHERE x.indexrelid = to_regclass($1))";
	case SB_IBUILD_TABLE:
		return CC "(t.oid = to_regclass($1) OR t.oid = (SELECT "
		    "reltoastrelid FROM pg_class WHERE oid = to_regclass($1)))";
	case SB_IBUILD_SCHEMA:
		return CC "(t.relnamespace = to_regnamespace($1) OR t.oid IN "
		    "(SELECT reltoastrelid FROM pg_class "
		    "WHERE relnamespace = to_regnamespace($1)))";
	case SB_IBUILD_DATABASE:
		break;
	}
	*nparams = 0;
	return CC "true";
}

/* The invalid indexes b names (only those nobody builds if unlocked). */
static int
invalid(struct sb_db *db, const struct sb_ibuild *b, bool unlocked,
    struct sb_rows *rows, struct sb_db_diag *diag, struct sb_err *err)
{
	const char *params[2] = { b->target, b->name };
	char sql[2048];
	int nparams;
	const char *scope = scope_sql(b, &nparams);

	snprintf(sql, sizeof(sql), INVALID_SELECT, scope,
	    unlocked ? UNLOCKED : "");
	return sb_db_query(db, sql, nparams, params, rows, diag, err);
}

/* Whether the statement says enough to find its index. */
static bool
known(const struct sb_ibuild *b)
{
	if (b->kind == SB_IBUILD_CREATE)
		return b->name[0] != '\0' && b->target[0] != '\0';
	return b->kind == SB_IBUILD_REINDEX &&
	    (b->target[0] != '\0' || b->scope == SB_IBUILD_DATABASE);
}

int
sb_index_repair(struct sb_db *db, const struct sb_ibuild *b,
    struct sb_progress *p, struct sb_db_diag *diag, struct sb_err *err)
{
	struct sb_rows rows = SB_ROWS_INIT;
	char sql[256];
	int ret = -1;

	if (!known(b))
		return 0;
	if (invalid(db, b, true, &rows, diag, err) == -1)
		return -1;
	for (size_t r = 0; r < rows.nrows; r++) {
		const char *name = sb_rows_get(&rows, r, 0);

		sb_progress_info(p, "dropping invalid index %s, left by an "
		    "interrupted build, to build it again", name);
		snprintf(sql, sizeof(sql), "DROP INDEX CONCURRENTLY IF EXISTS "
		    "%s", name);
		if (sb_db_exec(db, sql, diag, err) == -1)
			goto out;
	}
	ret = 0;
out:
	sb_rows_release(&rows);
	return ret;
}

int
sb_index_verify(struct sb_db *db, const struct sb_ibuild *b,
    struct sb_db_diag *diag, struct sb_err *err)
{
	struct sb_rows rows = SB_ROWS_INIT;
	int ret = 0;

	if (!known(b))
		return 0;
	if (invalid(db, b, false, &rows, diag, err) == -1)
		return -1;
	if (rows.nrows > 0) {
		ret = sb_err_set(err, SB_EDB, "index %s is invalid after the "
		    "statement", sb_rows_get(&rows, 0, 0));
		sb_err_detail(err, "An interrupted %s left it; PostgreSQL "
		    "does not use an invalid index.", b->kind ==
		    SB_IBUILD_CREATE ? "CREATE INDEX CONCURRENTLY" :
		    "REINDEX CONCURRENTLY");
		sb_err_hint(err, "run the same command again: it drops the "
		    "index and builds it again");
	}
	sb_rows_release(&rows);
	return ret;
}
