/* Revision parsing details the chain needs for its messages (src/common only). */
#ifndef SQLBUNDLE_REVISION_PRIV_H
#define SQLBUNDLE_REVISION_PRIV_H

#include "sqlbundle/err.h"
#include "sqlbundle/revision.h"

/*
 * sb_revision_load() that also gives the line of the "-- down_revision:"
 * key (0 when absent), so a chain error can point at it.
 */
int	sb_revision_load_at(struct sb_revision *rev, const char *path,
	    unsigned *down_line, struct sb_err *err);

#endif
