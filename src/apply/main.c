/*
 * sqlbundle-apply: verify a signed bundle and apply it to a PostgreSQL
 * database. Options, the command table and exit statuses live here.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/err.h"

#include "apply.h"
#include "run.h"

struct command {
	const char	*name;
	sb_apply_fn	 fn;
	const char	*summary;
};

static const struct command commands[] = {
	{ "verify", sb_apply_verify, "check a bundle's signature and "
	    "contents, touch nothing" },
	{ "plan", sb_apply_plan, "show the steps an upgrade or downgrade "
	    "would run" },
	{ "upgrade", sb_apply_upgrade, "apply revisions up to TARGET "
	    "(head, an id, +N)" },
	{ "downgrade", sb_apply_downgrade, "revert revisions down to TARGET "
	    "(base, an id, -N)" },
	{ "status", sb_apply_status, "show the database's revision and "
	    "history" },
};

enum {
	OPT_TRUST = 256,
	OPT_JSON,
	OPT_WAIT,
	OPT_VTABLE,
	OPT_CHUNK
};

static const struct option options[] = {
	{ "dbname", required_argument, NULL, 'd' },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "version-table", required_argument, NULL, OPT_VTABLE },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void
usage(void)
{
	printf("sqlbundle-apply verifies a signed sqlbundle and applies it to "
	    "a PostgreSQL database.\n\n"
	    "Usage:\n"
	    "  sqlbundle-apply [OPTION]... verify BUNDLE\n"
	    "  sqlbundle-apply [OPTION]... plan BUNDLE [TARGET]\n"
	    "  sqlbundle-apply [OPTION]... upgrade BUNDLE [TARGET]\n"
	    "  sqlbundle-apply [OPTION]... downgrade BUNDLE TARGET\n"
	    "  sqlbundle-apply [OPTION]... status\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\nTargets: head (default), base, a revision id, +N (up N "
	    "revisions), -N (down N).\n\n"
	    "Options (before or after the command):\n"
	    "  -d, --dbname=CONNINFO      connection string or URI (PG* "
	    "variables apply)\n"
	    "      --trust=KEY.pub|DIR    trusted public key(s) (default "
	    "$SQLBUNDLE_TRUST,\n"
	    "                             else " SB_TRUST_DEFAULT ")\n"
	    "      --json                 machine-readable output, one JSON "
	    "object a line\n"
	    "  -q, --quiet                print errors only\n"
	    "      --wait                 wait for another applier instead "
	    "of exiting\n"
	    "      --version-table=SCHEMA.TABLE\n"
	    "                             Alembic version table (default "
	    SB_VTABLE_DEFAULT ")\n"
	    "      --chunk-size=BYTES     CSV seed bytes per commit (default "
	    "64M; K, M, G)\n"
	    "  -h, --help                 show this help, then exit\n"
	    "  -V, --version              show the version, then exit\n\n"
	    "Exit status: 0 ok, 1 bundle verification failed, 2 usage, "
	    "3 database error,\n"
	    "4 I/O error, 5 another applier holds the database, 6 refused "
	    "(database does\nnot fit the bundle).\n");
}

static int
bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, SB_APPLY_PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry \"" SB_APPLY_PROG " --help\" for more "
	    "information.\n");
	return SB_EUSAGE;
}

/* BYTES with an optional K, M or G (binary) suffix; at least 1. */
static int
parse_size(const char *s, size_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1024;
		end++;
		break;
	case 'm': case 'M':
		mul = 1024 * 1024;
		end++;
		break;
	case 'g': case 'G':
		mul = 1024ull * 1024 * 1024;
		end++;
		break;
	default:
		return -1;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end != '\0' || v == 0 || v > (unsigned long long)SIZE_MAX / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

/* "-1", "-20": a downgrade target, not an option. */
static int
is_relative(const char *a)
{
	if (a[0] != '-' || a[1] == '\0')
		return 0;
	for (const char *p = a + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	return 1;
}

int
main(int argc, char **argv)
{
	struct sb_apply_opts o = {
		.vtable = SB_VTABLE_DEFAULT,
		.chunk_size = SB_CHUNK_DEFAULT,
	};
	struct sb_err err = SB_ERR_INIT;
	char **pos;
	int npos = 0, c;
	bool dashdash = false;
	const struct command *cmd = NULL;

	pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (pos == NULL) {
		fputs(SB_APPLY_PROG ": out of memory\n", stderr);
		return SB_EIO;
	}
	opterr = 0;
	optind = 1;
	/*
	 * Options may come before or after the command and its arguments;
	 * "-N" is always a target. getopt_long stops at each non-option
	 * ("+"), which is collected and skipped.
	 */
	while (optind < argc) {
		const char *a = argv[optind];

		if (dashdash || is_relative(a) || a[0] != '-' || a[1] == '\0') {
			pos[npos++] = argv[optind++];
			continue;
		}
		c = getopt_long(argc, argv, "+:d:qhV", options, NULL);
		if (c == -1) {		/* "--" */
			dashdash = true;
			continue;
		}
		switch (c) {
		case 'd':
			o.conninfo = optarg;
			break;
		case OPT_TRUST:
			o.trust = optarg;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case OPT_WAIT:
			o.wait = true;
			break;
		case OPT_VTABLE:
			o.vtable = optarg;
			break;
		case OPT_CHUNK:
			if (parse_size(optarg, &o.chunk_size) == -1) {
				free(pos);
				return bad_usage("invalid --chunk-size \"%s\"",
				    optarg);
			}
			break;
		case 'h':
			usage();
			free(pos);
			return 0;
		case 'V':
			printf(SB_APPLY_PROG " " SB_VERSION "\n");
			free(pos);
			return 0;
		case ':':
			free(pos);
			return bad_usage("option \"%s\" needs an argument",
			    argv[optind - 1]);
		default:
			free(pos);
			if (optopt != 0 && optopt < 256 && optopt != '?') {
				char opt[3] = { '-', (char)optopt, '\0' };

				return bad_usage("unknown option \"%s\"", opt);
			}
			return bad_usage("unknown option \"%s\"",
			    argv[optind - 1]);
		}
	}
	if (npos == 0) {
		free(pos);
		return bad_usage("%s", "no command given");
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(pos[0], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		int rc = bad_usage("unknown command \"%s\"", pos[0]);

		free(pos);
		return rc;
	}
	if (cmd->fn(&o, npos - 1, pos + 1, &err) == -1) {
		free(pos);
		sb_err_print(SB_APPLY_PROG, &err);
		if (err.code == SB_EUSAGE)
			fprintf(stderr, "Try \"" SB_APPLY_PROG " --help\" for "
			    "more information.\n");
		return err.code != SB_OK ? err.code : SB_EIO;
	}
	free(pos);
	return 0;
}
