/*
 * Keeping keys and bundles safe from everyday mistakes: a private key
 * staged in git, a public key given to sign with, a bundle overwritten
 * by another, a pack whose bytes depend on the clock.
 */
#ifndef SQLBUNDLE_PACK_HYGIENE_H
#define SQLBUNDLE_PACK_HYGIENE_H

#include <stdbool.h>

#include "sqlbundle/err.h"

/*
 * Unless keydir/.gitignore or the project's .gitignore (dir) already
 * ignores keydir/name.key, add "*.key" to keydir/.gitignore. *wrote is
 * true when the file was written.
 */
int	sb_hygiene_gitignore(const char *dir, const char *keydir,
	    const char *name, bool *wrote, struct sb_err *err);

/* The file open on fd (any offset) is a PEM public key. */
bool	sb_hygiene_is_pubkey(int fd);

/*
 * Before a bundle of id is renamed to path: an existing file there that
 * is not the same bundle is refused (SB_EINVALID) unless force.
 */
int	sb_hygiene_overwrite(const char *path, const char *id, bool force,
	    struct sb_err *err);

/*
 * The creation time of a pack of the project in dir when
 * SOURCE_DATE_EPOCH is not set: the committer time of the last git
 * commit touching revisions/ or seeds/, else 0. *how says which.
 */
long long sb_hygiene_epoch(const char *dir, const char **how);

#endif
