/*
 * One verified pass over a bundle (SPEC section 5). sb_bundle_open()
 * reads MANIFEST and MANIFEST.sig and checks the signature; each entry is
 * then hashed as it is read and checked against the manifest when the
 * next one starts (or by sb_bundle_entry_end()); the end checks that
 * every listed entry came exactly once. Nothing is written to disk.
 */
#ifndef SQLBUNDLE_BUNDLE_H
#define SQLBUNDLE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sqlbundle/contents.h"
#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/manifest.h"
#include "sqlbundle/trust.h"

/*
 * Members outside the manifest, right after MANIFEST.sig: more
 * signatures of MANIFEST (MANIFEST.sig.KEYID, 64 bytes each), then
 * roots (ROOT.N, in version order). Each authenticates itself.
 */
#define SB_SIG_MEMBER	"MANIFEST.sig"
#define SB_ROOT_MEMBER	"ROOT"

struct sb_bundle;

/*
 * Open a pass over fd (rewound to 0). trust NULL means unverified (for
 * `inspect`): the signatures are not checked. Otherwise the roots the
 * bundle carries are applied to trust first (sb_trust_accept: in
 * memory; sb_trust_store writes them), then the signatures must meet
 * its threshold. expect_id, when not NULL, is
 * the bundle id of an earlier pass: a different MANIFEST is refused.
 */
int	sb_bundle_open(struct sb_bundle **b, int fd, const char *name,
	    struct sb_trust *trust, const char *expect_id,
	    struct sb_err *err);
const struct sb_manifest *sb_bundle_manifest(const struct sb_bundle *b);
/* SHA-256 of the MANIFEST bytes, 64 hex digits. */
const char *sb_bundle_id(const struct sb_bundle *b);
/* The trusted key that signed it (NULL when opened without trust). */
const struct sb_pubkey *sb_bundle_key(const struct sb_bundle *b);
/*
 * Every signature, MANIFEST.sig first, and (once checked, else NULL)
 * how each one counted.
 */
const struct sb_sig *sb_bundle_sigs(const struct sb_bundle *b, size_t *n,
	    const enum sb_sig_status **status);
/* The trust that verified it, NULL when opened without. */
const struct sb_trust *sb_bundle_trust(const struct sb_bundle *b);
/* The MANIFEST bytes. */
const char *sb_bundle_manifest_text(const struct sb_bundle *b, size_t *len);

/*
 * Advance to the next entry: 1 with *idx its manifest index, 0 at the end
 * (all entries seen), -1 on error. The previous entry is drained and
 * checked first.
 */
int	sb_bundle_next(struct sb_bundle *b, size_t *idx, struct sb_err *err);
/* Read the current entry: bytes, 0 at its end, -1 on error. */
ssize_t	sb_bundle_read(struct sb_bundle *b, void *buf, size_t cap,
	    struct sb_err *err);
/* Drain the current entry and check its SHA-256 now. */
int	sb_bundle_entry_end(struct sb_bundle *b, struct sb_err *err);
void	sb_bundle_close(struct sb_bundle *b);

/*
 * A whole verifying pass; fills id (may be NULL). Every entry's contents
 * are checked as well (contents.h): what the applier would refuse
 * half-way is refused here, naming the entry and line.
 */
int	sb_bundle_verify(int fd, const char *name, struct sb_trust *trust,
	    char id[SB_SHA256_HEX], struct sb_err *err);
/*
 * sb_bundle_verify that also records, in *plan (release with
 * sb_chunk_plan_release), where a chunked load of each CSV seed commits
 * and the SHA-256 of each chunk: chunks of at least `chunk` bytes
 * (sb_chunk_size may raise it).
 */
int	sb_bundle_verify_chunks(int fd, const char *name,
	    struct sb_trust *trust, uint64_t chunk,
	    struct sb_chunk_plan *plan, char id[SB_SHA256_HEX],
	    struct sb_err *err);

#endif
