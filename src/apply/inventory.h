/*
 * `status --inventory`: the store's state as Mender inventory lines,
 * "sqlbundle_KEY=value", one a line. Values from the database are printed
 * as they are, except that a control byte or a backslash is written as
 * \xHH or \\: no value can end its line, so none can add a key.
 */
#ifndef SQLBUNDLE_APPLY_INVENTORY_H
#define SQLBUNDLE_APPLY_INVENTORY_H

#include <stdio.h>

#include "sqlbundle/err.h"
#include "db.h"

/*
 * sqlbundle_status=ok, sqlbundle_project (when bound), one
 * sqlbundle_revision per head ("base" when none), and the latest
 * history row's sqlbundle_last_{revision,direction,bundle_id,key_id,
 * applied_at}. hist holds history rows, latest first, with the columns
 * finished_at, direction, revision, bundle_id, key_id.
 */
void	sb_inventory_print(FILE *fp, const char *project, char *const *heads,
	    size_t nheads, const struct sb_rows *hist);
/*
 * After sb_inventory_print: sqlbundle_drift (none, the number of objects
 * that differed, or unchecked) and sqlbundle_drift_checked_at from the last
 * drift check (rows of sb_state_last_drift); the failed attempt no step
 * has completed since, sqlbundle_failed_{revision,direction,at,sqlstate,
 * message} (sb_state_last_failure); sqlbundle_running_pid while an applier
 * runs (sb_state_live).
 */
void	sb_inventory_state(FILE *fp, const struct sb_rows *drift,
	    const struct sb_rows *failed, const struct sb_rows *live);
/* sqlbundle_status=error and sqlbundle_error=PROG: message. */
void	sb_inventory_error(FILE *fp, const struct sb_err *err);

#endif
