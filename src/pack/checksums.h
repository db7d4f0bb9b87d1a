/* revisions/CHECKSUMS: landed revisions never change (SPEC section 1). */
#ifndef SQLBUNDLE_PACK_CHECKSUMS_H
#define SQLBUNDLE_PACK_CHECKSUMS_H

#include "sqlbundle/chain.h"
#include "sqlbundle/err.h"

/*
 * Compare each revision of chain with <dir>/revisions/CHECKSUMS
 * (sha256sum format: "<hex>  <file name>"). A recorded file whose SHA-256
 * differs is an error naming it (SB_EINVALID); a recorded file that no
 * longer exists, likewise. Missing CHECKSUMS: nothing has landed.
 */
int	sb_checksums_verify(const char *dir, const struct sb_chain *chain,
	    struct sb_err *err);
/* Record every revision of chain (durably, sorted by file name). */
int	sb_checksums_record(const char *dir, const struct sb_chain *chain,
	    struct sb_err *err);

#endif
