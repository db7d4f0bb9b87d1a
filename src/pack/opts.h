/* Command-line helpers shared by the sqlbundle subcommands. */
#ifndef SQLBUNDLE_PACK_OPTS_H
#define SQLBUNDLE_PACK_OPTS_H

#include <getopt.h>
#include <string.h>

#include "sqlbundle/cli.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "cmd.h"

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

/*
 * A key reference from the command line: a pkcs11: URI as it is, a file
 * as sb_ctx_path makes it. Malloc'd.
 */
static inline char *
sb_ctx_keyref(const struct sb_ctx *ctx, const char *ref)
{
	if (strncmp(ref, "pkcs11:", 7) == 0)
		return sb_strdup(ref);
	return sb_ctx_path(ctx, ref);
}

#endif
