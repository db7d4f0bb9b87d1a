/* sqlbundle-apply: options shared by every command, and the commands. */
#ifndef SQLBUNDLE_APPLY_APPLY_H
#define SQLBUNDLE_APPLY_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/err.h"
#include "sqlbundle/open.h"		/* SB_TRUST_DEFAULT */

#define SB_APPLY_PROG		"sqlbundle-apply"
#define SB_VTABLE_DEFAULT	"public.alembic_version"

struct sb_apply_opts {
	const char	*conninfo;	/* -d, NULL for libpq defaults */
	const char	*trust;		/* --trust, NULL for the default */
	const char	*vtable;	/* --version-table */
	size_t		 chunk_size;	/* --chunk-size */
	unsigned	 jobs;		/* --jobs */
	unsigned long	 lock_timeout;	/* --lock-timeout, ms (0: none) */
	unsigned long	 lock_wait_max;	/* --lock-wait-max, ms */
	double		 progress_interval;	/* --progress-interval */
	bool		 json, quiet, wait;
	bool		 allow_drift;	/* --allow-drift */
	/* --exclude: for fingerprint and --fingerprints */
	const char	**exclude;
	size_t		 nexclude;
	bool		 inventory;	/* status --inventory */
	const char	*fingerprints;	/* --fingerprints FILE, or NULL */
};

/*
 * Each command gets the positional arguments after its name, prints its
 * results on stdout, and returns 0, or -1 with err filled (err->code is
 * the exit status).
 */
typedef int (*sb_apply_fn)(const struct sb_apply_opts *o, int argc,
    char **argv, struct sb_err *err);

int	sb_apply_verify(const struct sb_apply_opts *o, int argc, char **argv,
	    struct sb_err *err);
int	sb_apply_plan(const struct sb_apply_opts *o, int argc, char **argv,
	    struct sb_err *err);
int	sb_apply_upgrade(const struct sb_apply_opts *o, int argc, char **argv,
	    struct sb_err *err);
int	sb_apply_downgrade(const struct sb_apply_opts *o, int argc,
	    char **argv, struct sb_err *err);
int	sb_apply_fingerprint(const struct sb_apply_opts *o, int argc,
	    char **argv, struct sb_err *err);
int	sb_apply_drift(const struct sb_apply_opts *o, int argc, char **argv,
	    struct sb_err *err);
int	sb_apply_trust(const struct sb_apply_opts *o, int argc, char **argv,
	    struct sb_err *err);
int	sb_apply_status(const struct sb_apply_opts *o, int argc, char **argv,
	    struct sb_err *err);

#endif
