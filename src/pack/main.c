/*
 * sqlbundle: the HQ and auditor front end. Global options, then one
 * subcommand from a static table; errors are printed here and only here.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sqlbundle/cli.h"
#include "sqlbundle/err.h"
#include "cmd.h"

struct command {
	const char	*name;
	int		(*fn)(struct sb_ctx *, int, char **, struct sb_err *);
	const char	*summary;
};

static const struct command commands[] = {
	{ "new", sb_cmd_new, "create a revision file after the current head" },
	{ "check", sb_cmd_check, "validate the revision chain and seed data" },
	{ "history", sb_cmd_history, "list the revisions in apply order" },
	{ "render", sb_cmd_render, "print the SQL of a range, for offline "
	    "review" },
	{ "test", sb_cmd_test, "rehearse the chain on a throwaway database" },
	{ "keygen", sb_cmd_keygen, "generate an Ed25519 signing key pair" },
	{ "pubkey", sb_cmd_pubkey, "write the .pub of a key file or a "
	    "pkcs11: key" },
	{ "pack", sb_cmd_pack, "write a signed bundle of a range of "
	    "revisions" },
	{ "sign", sb_cmd_sign, "add a signature to a bundle (same bundle "
	    "id)" },
	{ "trust", sb_cmd_trust, "write, sign and show trust roots" },
	{ "verify", sb_cmd_verify, "check a bundle against trusted keys" },
	{ "inspect", sb_cmd_inspect, "print a bundle's manifest" },
	{ "import", sb_cmd_import, "write revisions from an Alembic project" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *fp)
{
	fputs("sqlbundle turns a chain of SQL revisions into a signed, "
	    "self-contained\n"
	    "bundle for sqlbundle-apply.\n"
	    "\n"
	    "Usage: sqlbundle [-C DIR] COMMAND [OPTIONS] [ARGS]\n"
	    "\n"
	    "Commands:\n", fp);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-9s %s\n", commands[i].name,
		    commands[i].summary);
	fputs("\n"
	    "Options:\n"
	    "  -C DIR         work on the project in DIR (default: the "
	    "current folder)\n"
	    "  -h, --help     show this help and exit\n"
	    "  -V, --version  show the version and exit\n"
	    "\n"
	    "\"sqlbundle help COMMAND\" or \"sqlbundle COMMAND --help\" shows "
	    "a command's\n"
	    "options.\n"
	    "\n"
	    "Exit status: 0 success, 1 validation or verification failed, "
	    "2 usage error,\n"
	    "4 I/O error.\n", fp);
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int
run(const struct command *cmd, struct sb_ctx *ctx, int argc, char **argv)
{
	struct sb_err err = SB_ERR_INIT;

	/* Each command parses its own options from a fresh getopt state. */
	optind = 0;
	if (cmd->fn(ctx, argc, argv, &err) == 0)
		return sb_cli_exit("sqlbundle", 0);
	return sb_cli_fail("sqlbundle", cmd->name, &err);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct sb_ctx ctx = { ".", "sqlbundle" };
	struct sb_err err = SB_ERR_INIT;
	const struct command *cmd;
	char *help_argv[3];
	int c;

	opterr = 0;
	/* "+": stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+:C:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			if (optarg[0] == '\0') {
				sb_err_set(&err, SB_EUSAGE,
				    "option \"-C\" needs a folder");
				return sb_cli_fail("sqlbundle", NULL, &err);
			}
			ctx.dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return sb_cli_exit("sqlbundle", 0);
		case 'V':
			puts("sqlbundle " SB_VERSION);
			return sb_cli_exit("sqlbundle", 0);
		default:
			sb_cli_opt_error(NULL, c, argv, &err);
			return sb_cli_fail("sqlbundle", NULL, &err);
		}
	}
	if (optind >= argc) {
		sb_err_set(&err, SB_EUSAGE, "no command given");
		return sb_cli_fail("sqlbundle", NULL, &err);
	}
	argc -= optind;
	argv += optind;

	if (strcmp(argv[0], "help") == 0) {
		if (argc == 1) {
			usage(stdout);
			return sb_cli_exit("sqlbundle", 0);
		}
		if (argc > 2) {
			sb_err_set(&err, SB_EUSAGE, "help: too many arguments");
			return sb_cli_fail("sqlbundle", NULL, &err);
		}
		if ((cmd = find_command(argv[1])) == NULL) {
			sb_err_set(&err, SB_EUSAGE, "unknown command \"%s\"",
			    argv[1]);
			return sb_cli_fail("sqlbundle", NULL, &err);
		}
		help_argv[0] = argv[1];
		help_argv[1] = "--help";
		help_argv[2] = NULL;
		return run(cmd, &ctx, 2, help_argv);
	}
	if ((cmd = find_command(argv[0])) == NULL) {
		sb_err_set(&err, SB_EUSAGE, "unknown command \"%s\"", argv[0]);
		return sb_cli_fail("sqlbundle", NULL, &err);
	}
	return run(cmd, &ctx, argc, argv);
}
