/* The store package's service file as the default connection. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "service.h"

/* What sb_service_resolve decided, for sb_service_hint. */
static char	file[512];
static bool	has_file, used_default;

static const char *
confdir(void)
{
	const char *d = getenv("SQLBUNDLE_CONFDIR");

	return d != NULL && d[0] != '\0' ? d : SB_SERVICE_DIR;
}

/* A libpq variable that says where to connect. */
static bool
pg_setting(void)
{
	static const char *const vars[] = { "PGSERVICE", "PGSERVICEFILE",
	    "PGDATABASE", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", NULL };

	for (size_t i = 0; vars[i] != NULL; i++)
		if (getenv(vars[i]) != NULL && getenv(vars[i])[0] != '\0')
			return true;
	return false;
}

const char *
sb_service_resolve(const char *conninfo)
{
	snprintf(file, sizeof(file), "%s/pg_service.conf", confdir());
	has_file = access(file, R_OK) == 0;
	if (!has_file || getenv("PGSYSCONFDIR") != NULL)
		return conninfo;
	/* libpq reads the system-wide service file from here. */
	setenv("PGSYSCONFDIR", confdir(), 1);
	if (conninfo != NULL || pg_setting())
		return conninfo;
	used_default = true;
	return "service=" SB_SERVICE_NAME;
}

void
sb_service_hint(struct sb_err *err)
{
	if (err->code != SB_EDB || err->hint[0] != '\0')
		return;
	if (used_default)
		sb_err_hint(err, "no -d or PG* variable was given: the "
		    "connection is service \"%s\" of %s; fix it there, or give "
		    "-d CONNINFO", SB_SERVICE_NAME, file);
	else if (has_file)
		sb_err_hint(err, "the connection came from -d or PG* "
		    "variables (service= names are looked up in "
		    "~/.pg_service.conf, then %s)", file);
	else
		sb_err_hint(err, "give -d CONNINFO or PG* variables, or name "
		    "the store database as service \"%s\" in %s (used when "
		    "neither is given)", SB_SERVICE_NAME, file);
}
