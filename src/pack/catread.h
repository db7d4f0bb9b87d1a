/*
 * Statements that only read the catalog: the rule `import alembic` drops
 * them with (a revision must not freeze what the scratch database held).
 */
#ifndef SQLBUNDLE_PACK_CATREAD_H
#define SQLBUNDLE_PACK_CATREAD_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True if sql[0..len) (one statement, as sb_sql_split delimits it) is a
 * plain SELECT, or WITH ... SELECT, without INTO, FOR UPDATE/SHARE or a
 * data-modifying WITH, whose relations are all in pg_catalog or
 * information_schema (or pg_* named unqualified) and whose functions are
 * all on a list of catalog and introspection functions without side
 * effects. Anything it cannot read that way is not a catalog read.
 */
bool	sb_catread(const char *sql, size_t len);

#endif
