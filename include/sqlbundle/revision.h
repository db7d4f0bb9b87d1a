/* One revision file: revisions/<id>_<slug>.sql (SPEC section 1). */
#ifndef SQLBUNDLE_REVISION_H
#define SQLBUNDLE_REVISION_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/limits.h"


struct sb_revision {
	char	 id[SB_ID_MAX + 1];
	char	**parents;		/* down_revision ids, as written */
	size_t	 nparents;		/* 0 for the base */
	char	*message;		/* "" when absent */
	bool	 transactional;		/* default true */
	char	*path;			/* as opened, e.g. revisions/x_y.sql */
	char	*file;			/* basename of path */
	unsigned header_line;		/* line of the "-- revision:" key */
	char	*upgrade;		/* body after "-- +upgrade", NUL-ended */
	size_t	 upgrade_len;
	unsigned upgrade_line;		/* file line of the body's first line */
	char	*downgrade;		/* NULL when irreversible */
	size_t	 downgrade_len;
	unsigned downgrade_line;
	char	 sha256[SB_SHA256_HEX];	/* of the whole file (CHECKSUMS) */
};

/*
 * Parse buf (the whole file; need not be NUL-terminated). path is kept for
 * messages and to check that the id matches the file name. Errors name
 * path:line. On failure rev is released.
 */
int	sb_revision_parse(struct sb_revision *rev, const char *path,
	    const char *buf, size_t len, struct sb_err *err);
/* Read path and parse it. */
int	sb_revision_load(struct sb_revision *rev, const char *path,
	    struct sb_err *err);
void	sb_revision_release(struct sb_revision *rev);

/* True if s is a valid revision id: 1-32 of [0-9A-Za-z_]. */
bool	sb_revision_id_valid(const char *s);

#endif
