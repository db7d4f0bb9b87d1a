/*
 * A throwaway PostgreSQL server: initdb in a temporary folder, a unix
 * socket in that folder and no TCP, stopped and removed when done.
 */
#ifndef SQLBUNDLE_PACK_PGTMP_H
#define SQLBUNDLE_PACK_PGTMP_H

#include "sqlbundle/err.h"

struct sb_pgtmp {
	char	*bin;		/* folder of initdb and pg_ctl */
	char	*dir;		/* temporary folder: data/, socket, logs */
	char	*conninfo;	/* libpq connection string of "postgres" */
	int	 running;
};

#define SB_PGTMP_INIT { NULL, NULL, NULL, 0 }

/*
 * Find the server programs: pgbin if not NULL, else $PGBIN, else the
 * newest /usr/lib/postgresql/N/bin, else the folder of initdb on PATH.
 * Start a server of them in a new folder under $TMPDIR (default /tmp):
 * trust authentication, user postgres, UTF8, no durability (fsync off).
 * As root the server runs as the "postgres" user (initdb refuses root).
 * Fills pg->conninfo. On failure nothing is left running or on disk,
 * and err quotes the server's own message.
 */
int	sb_pgtmp_start(struct sb_pgtmp *pg, const char *pgbin,
	    struct sb_err *err);
/* Stop the server (immediately: nothing in it is kept) and remove it. */
void	sb_pgtmp_stop(struct sb_pgtmp *pg);

#endif
