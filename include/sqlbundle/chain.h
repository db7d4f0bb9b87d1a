/* The revision chain: load every file of a folder, validate, order. */
#ifndef SQLBUNDLE_CHAIN_H
#define SQLBUNDLE_CHAIN_H

#include <stddef.h>
#include <sys/types.h>

#include "sqlbundle/revision.h"

struct sb_chain {
	struct sb_revision	*revs;	/* apply order: parents first */
	size_t			 n;
	size_t			*by_id;	/* positions sorted by id, for lookups;
					   NULL: sb_chain_find scans */
};

#define SB_CHAIN_INIT { NULL, 0, NULL }

/*
 * Load revisions/ *.sql of dir, refuse duplicate ids, unknown parents,
 * cycles, several bases, several heads (naming them and their files),
 * header errors, ids that do not match the file name. Orders as
 * Alembic's `upgrade head` does (parents first; the branches of a merge
 * from its last parent's to its first's, which runs right before it), so
 * the order depends only on each file's down_revision. Every error names
 * the file and line. An empty folder is a valid, empty chain.
 */
int	sb_chain_load(struct sb_chain *chain, const char *dir,
	    struct sb_err *err);
/*
 * The same checks and order for n revisions already parsed (any order):
 * revs and down (the line of each down_revision key, for messages) are
 * malloc'd and taken over, on success and on failure alike.
 */
int	sb_chain_build(struct sb_chain *chain, struct sb_revision *revs,
	    unsigned *down, size_t n, struct sb_err *err);
/* Index of id in apply order, or -1. */
ssize_t	sb_chain_find(const struct sb_chain *chain, const char *id);
/*
 * Resolve a --from/--to pair to the half-open slice (*first, *last] of
 * apply order: revisions after `from` up to and including `to`. from is
 * NULL or "base" for the start, to NULL or "head" for the end. *first is
 * -1 for base. Errors: unknown id, to not after from.
 */
int	sb_chain_range(const struct sb_chain *chain, const char *from,
	    const char *to, ssize_t *first, ssize_t *last, struct sb_err *err);
void	sb_chain_release(struct sb_chain *chain);

#endif
