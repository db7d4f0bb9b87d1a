/*
 * Questions sqlbundle-apply asks of the catalog about the tables it
 * loads (the bookkeeping's own tables are state.c's).
 */
#ifndef SQLBUNDLE_APPLY_CATALOG_H
#define SQLBUNDLE_APPLY_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/err.h"

#include "db.h"

/*
 * Why rows loaded into schema.table with columns cols[0..n) must be
 * loaded in file order, or NULL when order cannot matter (a malloc'd
 * sentence). Anywhere in the table's partition tree (its parents, the
 * table, its partitions): a user trigger, a foreign key within the
 * tree; and an omitted column filled by an identity, or by a default
 * of its own or of its domain that calls a volatile function (a
 * sequence). *missing: the table does not exist (yet).
 */
int	sb_catalog_load_order(struct sb_db *db, const char *schema,
	    const char *table, char *const *cols, size_t n, char **why,
	    bool *missing, struct sb_err *err);

#endif
