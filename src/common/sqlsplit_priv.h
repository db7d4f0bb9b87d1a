/* Statement splitting with file line numbers (src/common only). */
#ifndef SQLBUNDLE_SQLSPLIT_PRIV_H
#define SQLBUNDLE_SQLSPLIT_PRIV_H

#include <stddef.h>

#include "sqlbundle/err.h"
#include "sqlbundle/sqlsplit.h"

/*
 * sb_sql_split() for a script that starts at line first_line of a file:
 * statement lines are file lines, and errors read "name:line: ..." (or
 * "line N: ..." when name is NULL).
 */
int	sb_sql_split_at(const char *sql, size_t len, const char *name,
	    unsigned first_line, struct sb_stmt **out, size_t *n,
	    struct sb_err *err);

#endif
