/*
 * Opening a bundle the one way both programs do it: resolve the trusted
 * keys (--trust, else $SQLBUNDLE_TRUST, else SB_TRUST_DEFAULT), open the
 * file once, verify it whole (pass 1), then open the same descriptor
 * again bound to the bundle id of that pass (pass 2), so a file swapped
 * in between is refused.
 */
#ifndef SQLBUNDLE_OPEN_H
#define SQLBUNDLE_OPEN_H

#include <stdbool.h>
#include <stdio.h>

#include "sqlbundle/bundle.h"
#include "sqlbundle/contents.h"
#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/json.h"

#define SB_TRUST_DEFAULT	"/etc/sqlbundle/trusted.d"
#define SB_TRUST_ENV		"SQLBUNDLE_TRUST"

struct sb_open {
	char		*path;		/* the bundle, as opened */
	struct sb_trust	 trust;		/* empty when unverified */
	int		 fd;
	char		 id[SB_SHA256_HEX];
	struct sb_bundle *b;		/* pass 2, positioned after MANIFEST.sig */
	bool		 verified;
	struct sb_chunk_plan chunks;	/* pass 1's cuts, when asked for */
};

#define SB_OPEN_INIT { NULL, SB_TRUST_INIT, -1, "", NULL, false, \
	SB_CHUNK_PLAN_INIT }

/*
 * Load the trusted keys: opt (a --trust value, already made absolute or
 * relative by the caller) when not NULL or empty, else $SQLBUNDLE_TRUST
 * when set and not empty, else SB_TRUST_DEFAULT. Errors say which of the
 * three the path came from.
 */
int	sb_open_trust(struct sb_trust *trust, const char *opt,
	    struct sb_err *err);
/*
 * The trust path sb_open_trust would load; *from says where it came
 * from when not from opt (NULL then), for messages.
 */
const char *sb_open_trust_path(const char *opt, const char **from);

/*
 * Open the bundle at path. verify: load the trust as sb_open_trust()
 * does, make a whole verifying pass, then open pass 2 bound to its id.
 * Otherwise (`inspect` without --trust) only MANIFEST and MANIFEST.sig
 * are read and nothing is checked. With chunk > 0 (a verifying open for
 * an apply), pass 1 also records in o->chunks where a chunked load of
 * each CSV seed commits and the SHA-256 of each chunk (contents.h). path
 * must name a regular file. On error o is still released by
 * sb_open_release().
 */
int	sb_open_bundle(struct sb_open *o, const char *path, const char *trust,
	    bool verify, uint64_t chunk, struct sb_err *err);
void	sb_open_release(struct sb_open *o);

/*
 * The members that describe an opened bundle, the same in every JSON line
 * that names one ("verify", "plan", "start"): bundle, bundle_id, key_id,
 * key_file, project, created, from, to, revision_count, entry_count.
 */
void	sb_open_json(const struct sb_open *o, struct sb_json *j);
/*
 * The policy and signatures of a verified bundle (nothing otherwise):
 * threshold, root_version (null without a root) and signatures, an
 * array of {key_id, key_file, status}; sb_open_json writes them too.
 */
void	sb_open_json_sigs(const struct sb_open *o, struct sb_json *j);
/*
 * The same as text: a line "<trust><policy>", then one line per
 * signature "<signer>KEYID (key file | why it did not count)".
 */
void	sb_open_print_sigs(const struct sb_open *o, FILE *fp,
	    const char *trust, const char *signer);

#endif
