/* Seed data of a project: seeds/<revision-id>/ folders (SPEC section 2). */
#ifndef SQLBUNDLE_PACK_SEEDS_H
#define SQLBUNDLE_PACK_SEEDS_H

#include <stddef.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/err.h"
#include "sqlbundle/manifest.h"

struct sb_seed_file {
	char			*path;	/* <dir>/seeds/<id>/<name>, to open */
	char			*name;	/* file name, for the entry path */
	enum sb_entry_kind	 kind;	/* SB_ENTRY_SEED_CSV or _SQL */
	char			*schema, *table;	/* CSV only */
};

struct sb_seeds {
	/* files[i], nfiles[i]: seeds of chain->revs[i], byte order of name */
	struct sb_seed_file	**files;
	size_t			 *nfiles;
	size_t			  nrevs;
};

#define SB_SEEDS_INIT { NULL, NULL, 0 }

/*
 * Scan <dir>/seeds/ for chain's revisions. A folder naming no revision of
 * the chain, a file that is neither CSV nor SQL by its name, a
 * subfolder, a link, or a name with bytes outside [A-Za-z0-9._-] is an
 * error naming it. A missing seeds/ folder is no seeds.
 */
int	sb_seeds_load(struct sb_seeds *seeds, const char *dir,
	    const struct sb_chain *chain, struct sb_err *err);
void	sb_seeds_release(struct sb_seeds *seeds);

#endif
