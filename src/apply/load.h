/*
 * Seed files of a step (load.c), in its open transaction: CSV streamed
 * into COPY, serially or on --jobs connections, committed at the cuts
 * pass 1 recorded; SQL seeds run as statements.
 */
#ifndef SQLBUNDLE_APPLY_LOAD_H
#define SQLBUNDLE_APPLY_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "sqlbundle/err.h"

#include "step.h"

struct sb_csv_scan;

/*
 * A CSV seed streams into COPY from the current entry (index idx, seed j of the step),
 * committing at the cuts pass 1 recorded once each chunk's SHA-256 is
 * proven; skip_to and line0 are where an earlier run's committed chunks
 * end (0: none). On failure the transaction is rolled back.
 */
int	sb_load_csv(struct sb_step_ctx *c, size_t si, size_t j, size_t idx,
	    uint64_t skip_to, uint64_t line0, struct sb_err *err);
int	sb_load_sql(struct sb_step_ctx *c, size_t si, size_t idx,
	    struct sb_err *err);
/* COPY schema.table (cols) FROM STDIN (FORMAT csv), quoted. */
char	*sb_load_copy_sql(struct sb_step_ctx *c,
	    const struct sb_manifest_entry *e, char **cols, size_t ncols,
	    struct sb_err *err);
/*
 * A COPY of path failed: roll back and name the file and the line where
 * the failing record begins (scan: of the bytes that COPY was sent).
 */
int	sb_load_copy_failed(struct sb_step_ctx *c, size_t si,
	    const char *path, const struct sb_csv_scan *scan,
	    const struct sb_db_diag *diag, struct sb_err *err);
/* Commit the open transaction with the position to resume from. */
int	sb_load_commit(struct sb_step_ctx *c, size_t si, size_t entry,
	    uint64_t offset, uint64_t line, const char *path,
	    struct sb_err *err);

#endif
