/*
 * The members between MANIFEST and the payload (include/sqlbundle/
 * bundle.h): signatures, then roots. pack and sign write them alike.
 */
#ifndef SQLBUNDLE_PACK_ENVELOPE_H
#define SQLBUNDLE_PACK_ENVELOPE_H

#include <stddef.h>

#include "sqlbundle/err.h"
#include "sqlbundle/trust.h"
#include "writer.h"

/*
 * Write MANIFEST.sig (sigs[0], the Key-Id of MANIFEST), then the other
 * signatures as MANIFEST.sig.KEYID in key-id order, then each root as
 * ROOT.N (the root file's bytes), in the order given.
 */
int	sb_write_envelope(struct sb_writer *w, const struct sb_sig *sigs,
	    size_t nsigs, const struct sb_root *roots, size_t nroots,
	    struct sb_err *err);

#endif
