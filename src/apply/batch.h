/*
 * Small CSV seeds of a step sent together (batch.c): one query of COPY
 * statements, one round trip per file.
 */
#ifndef SQLBUNDLE_APPLY_BATCH_H
#define SQLBUNDLE_APPLY_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/err.h"

#include "step.h"

/* Whether entry idx is a CSV seed small enough to be held whole. */
bool	sb_batch_fits(const struct sb_step_ctx *c, size_t idx);
/*
 * Read the current entry (seed j of step si, entry idx) whole, prove it
 * and hold it for the next send; sends the batch first when it is full.
 */
int	sb_batch_add(struct sb_step_ctx *c, size_t si, size_t j, size_t idx,
	    struct sb_err *err);
/*
 * Load what the batch holds, in the step's open transaction. On failure
 * the transaction is rolled back and the error names the file and line.
 */
int	sb_batch_send(struct sb_step_ctx *c, size_t si, struct sb_err *err);
/* Forget what the batch holds (the step failed). */
void	sb_batch_drop(struct sb_step_ctx *c);
void	sb_batch_free(struct sb_batch *b);

#endif
