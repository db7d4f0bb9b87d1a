/*
 * Where the applier's connection comes from when nothing names one: the
 * store package's service file (DESIGN.md "Connection settings").
 */
#ifndef SQLBUNDLE_APPLY_SERVICE_H
#define SQLBUNDLE_APPLY_SERVICE_H

#include "sqlbundle/err.h"

#define SB_SERVICE_DIR		"/etc/sqlbundle"
#define SB_SERVICE_NAME		"sqlbundle"

/*
 * The connection string to use for conninfo (-d, or NULL). When the
 * package's service file exists ($SQLBUNDLE_CONFDIR/pg_service.conf,
 * default SB_SERVICE_DIR) and PGSYSCONFDIR is unset, it becomes libpq's
 * system-wide service file; when, besides, neither -d nor any PG*
 * connection variable is set, the connection is service=sqlbundle.
 */
const char *sb_service_resolve(const char *conninfo);

/* Add to a failed connection's error where its settings came from. */
void	sb_service_hint(struct sb_err *err);

#endif
