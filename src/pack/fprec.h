/*
 * revisions/FINGERPRINTS against the chain: what `check` reports and what
 * `pack` signs into a bundle (the file itself is fingerprint.h's).
 */
#ifndef SQLBUNDLE_PACK_FPREC_H
#define SQLBUNDLE_PACK_FPREC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/err.h"

struct sb_fprec {
	bool	 present;	/* revisions/FINGERPRINTS exists */
	char	*text;		/* its bytes, as they go into a bundle */
	size_t	 len;
	size_t	*missing;	/* chain positions it has no record of */
	size_t	 nmissing;
};

#define SB_FPREC_INIT { false, NULL, 0, NULL, 0 }

/*
 * Read <dir>/revisions/FINGERPRINTS, if there is one, and hold it against
 * the revisions (first, last] of chain: it must parse, and each record
 * must be of the upgrade script as it is now (SB_EINVALID naming the
 * revision otherwise: it changed after `sqlbundle test`). Revisions
 * without a record are listed in missing (all of them without a file).
 */
int	sb_fprec_load(struct sb_fprec *r, const char *dir,
	    const struct sb_chain *chain, ssize_t first, ssize_t last,
	    struct sb_err *err);
void	sb_fprec_release(struct sb_fprec *r);

#endif
