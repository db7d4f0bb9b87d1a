/* sqlbundle subcommands: one function per command, dispatched by main.c. */
#ifndef SQLBUNDLE_PACK_CMD_H
#define SQLBUNDLE_PACK_CMD_H

#include "sqlbundle/err.h"

struct sb_ctx {
	const char	*dir;		/* project folder: -C DIR, else "." */
	const char	*prog;		/* "sqlbundle", for messages */
};

/*
 * Each command parses its own options (getopt_long, optind reset by the
 * caller; argv[0] is the command name), prints its results on stdout,
 * and returns 0, or -1 with err filled (err->code is the exit status).
 * "--help" prints usage to stdout and returns 0.
 */
int	sb_cmd_new(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_check(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_history(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_render(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_keygen(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_pack(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_pubkey(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_sign(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_trust(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_verify(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_inspect(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_test(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);
int	sb_cmd_import(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err);

#define SB_SLUG_MAX	40
/*
 * The file-name slug of a message: lower-case letters and digits, other
 * runs as '_', at most SB_SLUG_MAX bytes (new and import name files alike).
 */
void	sb_slugify(const char *msg, char slug[SB_SLUG_MAX + 1]);

#endif
