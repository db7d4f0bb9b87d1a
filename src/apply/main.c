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

#include "sqlbundle/cli.h"
#include "sqlbundle/err.h"

#include "apply.h"
#include "jobs.h"
#include "lockwait.h"
#include "run.h"
#include "service.h"

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
	{ "drift", sb_apply_drift, "compare the schema with the one the "
	    "bundle expects" },
	{ "fingerprint", sb_apply_fingerprint, "print the schema's "
	    "canonical description" },
	{ "trust", sb_apply_trust, "trust update ROOT...: install or rotate "
	    "the trust root" },
};

enum {
	OPT_TRUST = 256,
	OPT_JSON,
	OPT_WAIT,
	OPT_VTABLE,
	OPT_CHUNK,
	OPT_JOBS,
	OPT_ALLOW_DRIFT,
	OPT_EXCLUDE,
	OPT_LOCK_TIMEOUT,
	OPT_LOCK_WAIT_MAX,
	OPT_INTERVAL,
	OPT_INVENTORY,
	OPT_FINGERPRINTS
};

static const struct option options[] = {
	{ "dbname", required_argument, NULL, 'd' },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "version-table", required_argument, NULL, OPT_VTABLE },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK },
	{ "jobs", required_argument, NULL, 'j' },
	{ "allow-drift", no_argument, NULL, OPT_ALLOW_DRIFT },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
	{ "lock-wait-max", required_argument, NULL, OPT_LOCK_WAIT_MAX },
	{ "progress-interval", required_argument, NULL, OPT_INTERVAL },
	{ "inventory", no_argument, NULL, OPT_INVENTORY },
	{ "fingerprints", required_argument, NULL, OPT_FINGERPRINTS },
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
	    "  sqlbundle-apply [OPTION]... status\n"
	    "  sqlbundle-apply [OPTION]... drift BUNDLE\n"
	    "  sqlbundle-apply [OPTION]... fingerprint\n"
	    "  sqlbundle-apply [OPTION]... trust update ROOT...\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\nTargets: head (default), base, a revision id, +N (up N "
	    "revisions), -N (down N).\n\n"
	    "Options (before or after the command):\n"
	    "  -d, --dbname=CONNINFO      connection string or URI (PG* "
	    "variables apply)\n"
	    "      --trust=KEY.pub|ROOT|DIR\n"
	    "                             trust: a key, a root, or a folder "
	    "(default\n"
	    "                             $SQLBUNDLE_TRUST, else "
	    SB_TRUST_DEFAULT ")\n"
	    "      --json                 machine-readable output, one JSON "
	    "object a line\n"
	    "  -q, --quiet                print errors only\n"
	    "      --wait                 wait for another applier instead "
	    "of exiting\n"
	    "      --version-table=SCHEMA.TABLE\n"
	    "                             Alembic version table (default "
	    SB_VTABLE_DEFAULT ")\n"
	    "      --chunk-size=BYTES     CSV seed bytes per commit (default "
	    "2M; K, M, G)\n"
	    "  -j, --jobs=N               connections loading a large CSV "
	    "seed at once\n"
	    "                             (default: cores, at most 4)\n"
	    "      --allow-drift          apply although the schema differs "
	    "from the expected\n"
	    "                             one (recorded in sqlbundle.drift)\n"
	    "      --fingerprints=FILE    upgrade, downgrade: write the schema "
	    "before the run\n"
	    "                             and after each step to FILE\n"
	    "      --exclude=PATTERN      fingerprint, --fingerprints: leave "
	    "out a schema or\n"
	    "                             schema.object\n"
	    "      --lock-timeout=DURATION  give up a lock wait after this "
	    "(default 500ms;\n"
	    "                             0: wait as long as it takes), roll "
	    "back, retry\n"
	    "      --lock-wait-max=DURATION  stop retrying after this "
	    "(default 5min)\n"
	    "      --progress-interval=SECONDS\n"
	    "                             off a terminal, a progress line at "
	    "most this\n"
	    "                             often (default 10; 0: at every "
	    "change)\n"
	    "      --inventory            status: Mender inventory lines "
	    "(sqlbundle_KEY=value)\n"
	    "  -h, --help                 show this help, then exit\n"
	    "  -V, --version              show the version, then exit\n\n"
	    "Exit status: 0 ok, 1 bundle verification failed, 2 usage, "
	    "3 database error,\n"
	    "4 I/O error, 5 another applier holds the database, 6 refused "
	    "(database does\nnot fit the bundle), 7 schema drift, 130/143 "
	    "interrupted by\nSIGINT/SIGTERM at a commit.\n");
}

/* A usage error of the whole command line. */
static int
bad_usage(struct sb_err *err)
{
	return sb_cli_fail(SB_APPLY_PROG, NULL, err);
}

static int
parse_jobs(const char *s, unsigned *jobs, struct sb_err *err)
{
	unsigned long long v;

	if (sb_parse_number(s, SB_JOBS_MAX, &v) == -1 || v == 0)
		return sb_err_set(err, SB_EUSAGE, "invalid --jobs \"%s\": "
		    "expected 1 to %d", s, SB_JOBS_MAX);
	*jobs = (unsigned)v;
	return 0;
}

static int
parse_duration(const char *opt, const char *s, unsigned long *ms,
    struct sb_err *err)
{
	if (sb_parse_duration(s, ms) == -1)
		return sb_err_set(err, SB_EUSAGE, "invalid %s \"%s\": "
		    "expected a duration such as 500ms, 30s or 5min (at most "
		    "1d)", opt, s);
	return 0;
}

static int
parse_interval(const char *s, double *secs, struct sb_err *err)
{
	unsigned long long v;

	if (sb_parse_number(s, 86400, &v) == -1)
		return sb_err_set(err, SB_EUSAGE, "invalid --progress-interval "
		    "\"%s\": expected whole seconds, 0 to 86400", s);
	*secs = (double)v;
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
		.jobs = sb_jobs_default(),
		.lock_timeout = SB_LOCK_TIMEOUT_DEFAULT,
		.lock_wait_max = SB_LOCK_WAIT_MAX_DEFAULT,
		.progress_interval = SB_PROGRESS_INTERVAL,
	};
	struct sb_err err = SB_ERR_INIT;
	char **pos;
	int npos = 0, c, rc;
	bool dashdash = false;
	const struct command *cmd = NULL;

	/* The second half holds the --exclude values. */
	pos = calloc(2 * ((size_t)argc + 1), sizeof(*pos));
	if (pos == NULL) {
		fputs(SB_APPLY_PROG ": out of memory\n", stderr);
		return SB_EIO;
	}
	o.exclude = (const char **)(pos + argc + 1);
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
		c = getopt_long(argc, argv, "+:d:j:qhV", options, NULL);
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
		case OPT_INVENTORY:
			o.inventory = true;
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
			if (sb_parse_size(optarg, &o.chunk_size) == -1) {
				free(pos);
				sb_err_set(&err, SB_EUSAGE, "invalid --chunk-size "
				    "\"%s\"", optarg);
				return bad_usage(&err);
			}
			break;
		case OPT_INTERVAL:
			if (parse_interval(optarg, &o.progress_interval,
			    &err) == -1) {
				free(pos);
				return bad_usage(&err);
			}
			break;
		case 'j':
			if (parse_jobs(optarg, &o.jobs, &err) == -1) {
				free(pos);
				return bad_usage(&err);
			}
			break;
		case OPT_ALLOW_DRIFT:
			o.allow_drift = true;
			break;
		case OPT_EXCLUDE:
			o.exclude[o.nexclude++] = optarg;
			break;
		case OPT_LOCK_TIMEOUT:
		case OPT_LOCK_WAIT_MAX:
			if (parse_duration(c == OPT_LOCK_TIMEOUT ?
			    "--lock-timeout" : "--lock-wait-max", optarg,
			    c == OPT_LOCK_TIMEOUT ? &o.lock_timeout :
			    &o.lock_wait_max, &err) == -1) {
				free(pos);
				return bad_usage(&err);
			}
			break;
		case OPT_FINGERPRINTS:
			o.fingerprints = optarg;
			break;
		case 'h':
			usage();
			free(pos);
			return sb_cli_exit(SB_APPLY_PROG, 0);
		case 'V':
			printf(SB_APPLY_PROG " " SB_VERSION "\n");
			free(pos);
			return sb_cli_exit(SB_APPLY_PROG, 0);
		default:
			free(pos);
			sb_cli_opt_error(NULL, c, argv, &err);
			return bad_usage(&err);
		}
	}
	if (npos == 0) {
		free(pos);
		sb_err_set(&err, SB_EUSAGE, "no command given");
		return bad_usage(&err);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(pos[0], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		sb_err_set(&err, SB_EUSAGE, "unknown command \"%s\"", pos[0]);
		free(pos);
		return bad_usage(&err);
	}
	if (o.fingerprints != NULL && cmd->fn != sb_apply_upgrade &&
	    cmd->fn != sb_apply_downgrade) {
		sb_err_set(&err, SB_EUSAGE, "--fingerprints is for upgrade "
		    "and downgrade, not %s", cmd->name);
		free(pos);
		return bad_usage(&err);
	}
	o.conninfo = sb_service_resolve(o.conninfo);
	rc = cmd->fn(&o, npos - 1, pos + 1, &err);
	free(pos);
	if (rc == -1)
		return sb_cli_exit(SB_APPLY_PROG, sb_cli_fail(SB_APPLY_PROG,
		    NULL, &err));
	return sb_cli_exit(SB_APPLY_PROG, 0);
}
