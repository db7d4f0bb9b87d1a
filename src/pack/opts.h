/* Command-line helpers shared by the sqlbundle subcommands. */
#ifndef SQLBUNDLE_PACK_OPTS_H
#define SQLBUNDLE_PACK_OPTS_H

#include <getopt.h>
#include <string.h>

#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "cmd.h"

/*
 * Turn getopt_long's '?' or ':' into a usage error (SB_EUSAGE). Callers
 * set opterr = 0 and start optstring with ':'.
 */
static inline int
sb_opt_error(const char *cmd, int c, char **argv, struct sb_err *err)
{
	const char *word = argv[optind - 1];

	if (strncmp(word, "--", 2) != 0 && optopt != 0) {
		if (c == ':')
			return sb_err_set(err, SB_EUSAGE,
			    "%s: option \"-%c\" needs a value", cmd, optopt);
		return sb_err_set(err, SB_EUSAGE,
		    "%s: unknown option \"-%c\"", cmd, optopt);
	}
	if (c == ':')
		return sb_err_set(err, SB_EUSAGE,
		    "%s: option \"%s\" needs a value", cmd, word);
	return sb_err_set(err, SB_EUSAGE, "%s: unknown option \"%s\"", cmd,
	    word);
}

/*
 * A path given on the command line, taken from the project folder
 * (-C DIR) when relative, as `git -C` does. Malloc'd.
 */
static inline char *
sb_ctx_path(const struct sb_ctx *ctx, const char *path)
{
	if (path[0] == '/' || strcmp(ctx->dir, ".") == 0)
		return sb_strdup(path);
	return sb_printf("%s/%s", ctx->dir, path);
}

#endif
