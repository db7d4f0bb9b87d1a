/*
 * sqlbundle import alembic: turn an Alembic project's revisions into
 * revisions/<id>_<slug>.sql. The Python helper (share/sqlbundle/
 * alembic_import.py) renders the SQL; this side validates, composes and
 * parses each file, reports drift, and writes all new files or none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/cli.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/revision.h"
#include "sqlbundle/text.h"
#include "cmd.h"
#include "opts.h"

#ifndef SB_DATADIR
#define SB_DATADIR	"/usr/local/share/sqlbundle"
#endif
#define HELPER		"alembic_import.py"
#define RECORD_MAX	((size_t)1 << 30)	/* one revision's SQL */

struct imp_opts {
	const char	*config;
	const char	*to;
	const char	*scratch;
	const char	*python;
	bool		 offline;
	bool		 dry_run;
	bool		 check;
};

/* One revision as the helper sent it, then as composed here. */
struct imp_rev {
	char	*id;
	char	*parents;
	char	*message;
	char	*source;
	char	*upgrade;
	char	*downgrade;		/* NULL: irreversible */
	bool	 transactional;
	char	*path;			/* revisions/<id>_<slug>.sql */
	char	*text;			/* the file's bytes */
};

struct imp_run {
	struct imp_rev	*revs;		/* new revisions, to write */
	size_t		 nrevs;
	size_t		 present;	/* already in revisions/, same bytes */
	size_t		 drift;		/* already there, different bytes */
	size_t		 warnings;
};

static void
usage(void)
{
	fputs("Usage: sqlbundle import alembic [--config FILE] [--to REV] "
	    "[--offline]\n"
	    "                               [--scratch CONNINFO] [--python "
	    "PATH]\n"
	    "                               [--dry-run | --check]\n"
	    "\n"
	    "Write revisions/<id>_<slug>.sql for every revision of the Alembic "
	    "project that\n"
	    "is not in revisions/ yet: same id, parents and message, the "
	    "upgrade and\n"
	    "downgrade SQL. The project's env.py is not run. All new files are "
	    "written,\n"
	    "or none. A revision already in revisions/ whose fresh import "
	    "differs is\n"
	    "reported as drift and left as it is.\n"
	    "\n"
	    "Options:\n"
	    "      --config FILE       the Alembic configuration (default: "
	    "alembic.ini)\n"
	    "      --to REV            stop at REV (default: the head)\n"
	    "      --offline           render with Alembic's as_sql mode, no "
	    "server; refuses\n"
	    "                          what it cannot render faithfully\n"
	    "      --scratch CONNINFO  capture on this server, in a scratch "
	    "database created\n"
	    "                          and dropped by the import (default: a "
	    "private\n"
	    "                          throwaway server in a temporary folder)\n"
	    "      --python PATH       the Python interpreter (default: the one "
	    "of \"alembic\"\n"
	    "                          on PATH, else python3)\n"
	    "      --dry-run           print what would be written, write "
	    "nothing\n"
	    "      --check             write nothing; exit 1 on drift or on a "
	    "revision not\n"
	    "                          imported yet\n"
	    "  -h, --help              show this help and exit\n", stdout);
}

static void
rev_release(struct imp_rev *r)
{
	free(r->id);
	free(r->parents);
	free(r->message);
	free(r->source);
	free(r->upgrade);
	free(r->downgrade);
	free(r->path);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

static void
run_release(struct imp_run *run)
{
	for (size_t i = 0; i < run->nrevs; i++)
		rev_release(&run->revs[i]);
	free(run->revs);
	run->revs = NULL;
	run->nrevs = 0;
}

/*
 * The helper script: $SQLBUNDLE_ALEMBIC_HELPER, else beside the program
 * (<bin>/../share/sqlbundle, a build tree or any install prefix), else
 * the compiled-in data folder.
 */
static char *
helper_path(void)
{
	const char *env = getenv("SQLBUNDLE_ALEMBIC_HELPER");
	char exe[PATH_MAX], *p;
	ssize_t n;

	if (env != NULL && env[0] != '\0')
		return sb_strdup(env);
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if ((p = strrchr(exe, '/')) != NULL) {
			*p = '\0';
			p = sb_printf("%s/../share/sqlbundle/" HELPER, exe);
			if (access(p, R_OK) == 0)
				return p;
			free(p);
		}
	}
	return sb_strdup(SB_DATADIR "/" HELPER);
}

/*
 * The interpreter of the "alembic" command on PATH (its "#!" line), so a
 * virtualenv's alembic brings its own Python; else python3.
 */
static char *
default_python(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL, line[PATH_MAX];
	FILE *fp;

	if (path == NULL)
		return sb_strdup("python3");
	copy = sb_strdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && found == NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		char *cand = sb_printf("%s/alembic", dir);

		if (access(cand, X_OK) == 0 && (fp = fopen(cand, "r")) != NULL) {
			if (fgets(line, sizeof(line), fp) != NULL &&
			    strncmp(line, "#!", 2) == 0) {
				char *s = line + 2, *e;

				s += strspn(s, " \t");
				e = s + strcspn(s, " \t\r\n");
				*e = '\0';
				/* "#!/usr/bin/env python3": PATH decides */
				if (strcmp(s, "/usr/bin/env") != 0 && s[0] != '\0')
					found = sb_strdup(s);
			}
			fclose(fp);
			free(cand);
			break;
		}
		free(cand);
	}
	free(copy);
	return found != NULL ? found : sb_strdup("python3");
}

/* Start the helper with its stdout on a pipe; *fp reads it. */
static int
spawn_helper(const struct imp_opts *o, const char *python,
    const char *helper, const char *config, pid_t *pid, FILE **fp,
    struct sb_err *err)
{
	const char *argv[12];
	int fds[2], n = 0;

	argv[n++] = python;
	argv[n++] = helper;
	argv[n++] = "--config";
	argv[n++] = config;
	if (o->to != NULL) {
		argv[n++] = "--to";
		argv[n++] = o->to;
	}
	if (o->offline)
		argv[n++] = "--offline";
	if (o->scratch != NULL) {
		argv[n++] = "--scratch";
		argv[n++] = o->scratch;
	}
	argv[n] = NULL;
	if (pipe2(fds, O_CLOEXEC) == -1)
		return sb_err_sys(err, "could not create a pipe");
	fflush(NULL);
	if ((*pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return sb_err_sys(err, "could not fork");
	}
	if (*pid == 0) {
		dup2(fds[1], 1);
		execvp(python, (char *const *)argv);
		fprintf(stderr, "sqlbundle: could not run \"%s\": %s\n", python,
		    strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	if ((*fp = fdopen(fds[0], "r")) == NULL) {
		close(fds[0]);
		return sb_err_sys(err, "could not read from the helper");
	}
	return 0;
}

/*
 * One record: "<tag> <len>\n<len bytes>\n". Returns 1 with *tag and
 * *val (malloc'd, NUL-terminated), 0 at the end of the stream, -1 on a
 * malformed stream.
 */
static int
read_record(FILE *fp, char tag[16], char **val, struct sb_err *err)
{
	char head[64];
	unsigned long long len;
	char *end, *sp, *buf;

	*val = NULL;
	if (fgets(head, sizeof(head), fp) == NULL)
		return 0;
	if ((sp = strchr(head, ' ')) == NULL || sp - head >= 16)
		goto bad;
	*sp = '\0';
	errno = 0;
	len = strtoull(sp + 1, &end, 10);
	if (errno != 0 || *end != '\n' || len > RECORD_MAX)
		goto bad;
	snprintf(tag, 16, "%s", head);
	buf = sb_malloc((size_t)len + 1);
	if (fread(buf, 1, (size_t)len, fp) != (size_t)len ||
	    fgetc(fp) != '\n') {
		free(buf);
		goto bad;
	}
	buf[len] = '\0';
	if (strlen(buf) != (size_t)len) {
		free(buf);
		return sb_err_set(err, SB_EINVALID, "the Alembic helper sent a "
		    "NUL byte in a \"%s\" record", tag);
	}
	*val = buf;
	return 1;
bad:
	return sb_err_set(err, SB_EINVALID, "the Alembic helper's output is "
	    "malformed (near \"%.20s\")", head);
}

/* The file's bytes: the header, then the sections as rendered. */
static char *
compose(const struct imp_rev *r)
{
	char *parents = NULL, *text;
	size_t n = 0;

	/* "a,b" as "a, b", the way a merge is written by hand */
	parents = sb_malloc(2 * strlen(r->parents) + 1);
	for (const char *p = r->parents; *p != '\0'; p++) {
		parents[n++] = *p;
		if (*p == ',')
			parents[n++] = ' ';
	}
	parents[n] = '\0';
	text = sb_printf("-- revision: %s\n"
	    "-- down_revision: %s\n"
	    "-- message: %s\n"
	    "-- transactional: %s\n"
	    "-- imported from Alembic %s by sqlbundle import alembic\n"
	    "\n"
	    "-- +upgrade\n"
	    "%s%s%s", r->id, n ? parents : "none", r->message,
	    r->transactional ? "true" : "false", r->source, r->upgrade,
	    r->downgrade ? "\n-- +downgrade\n" : "",
	    r->downgrade ? r->downgrade : "");
	free(parents);
	return text;
}

/* Ids and header values the file format can hold, naming the source. */
static int
validate(const struct imp_rev *r, struct sb_err *err)
{
	char *copy, *p, *save = NULL;
	int ret = 0;

	if (!sb_revision_id_valid(r->id))
		return sb_err_set(err, SB_EINVALID, "%s: revision id \"%.64s\" "
		    "cannot be kept: sqlbundle ids are 1-32 characters of "
		    "[0-9A-Za-z_] (alembic_version.version_num is "
		    "varchar(32))", r->source, r->id);
	copy = sb_strdup(r->parents);
	for (p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save))
		if (!sb_revision_id_valid(p)) {
			ret = sb_err_set(err, SB_EINVALID, "%s: down_revision "
			    "\"%.64s\" cannot be kept: sqlbundle ids are 1-32 "
			    "characters of [0-9A-Za-z_]", r->source, p);
			break;
		}
	free(copy);
	if (ret == 0 && strpbrk(r->message, "\r\n") != NULL)
		ret = sb_err_set(err, SB_EINVALID, "%s: the message must be "
		    "one line", r->source);
	return ret;
}

/*
 * Compose r's file and parse it with the parser `check` uses; the parsed
 * sections must be what was rendered (a line of SQL such as
 * "-- +downgrade" would otherwise move a section boundary).
 */
static int
finish(struct imp_rev *r, const char *revdir, struct sb_err *err)
{
	struct sb_revision rev = { 0 };
	char slug[SB_SLUG_MAX + 1];
	int ret = -1;

	if (validate(r, err) == -1)
		return -1;
	sb_slugify(r->message, slug);
	r->path = slug[0] ? sb_printf("%s/%s_%s.sql", revdir, r->id, slug) :
	    sb_printf("%s/%s.sql", revdir, r->id);
	r->text = compose(r);
	if (sb_revision_parse(&rev, r->path, r->text, strlen(r->text),
	    err) == -1) {
		sb_err_prefix(err, "%s: the imported revision does not parse",
		    r->source);
		return -1;
	}
	if ((rev.downgrade != NULL) != (r->downgrade != NULL) ||
	    strstr(rev.upgrade, r->upgrade) != rev.upgrade ||
	    rev.transactional != r->transactional) {
		sb_err_set(err, SB_EINVALID, "%s: a line of its SQL reads as a "
		    "revision-file marker (\"-- +upgrade\" or \"-- +downgrade\")",
		    r->source);
		goto out;
	}
	ret = 0;
out:
	sb_revision_release(&rev);
	return ret;
}

/* A complete revision: new (kept to write), present, or drifted. */
static int
take(struct imp_run *run, struct imp_rev *r, const struct sb_chain *chain,
    const char *revdir, struct sb_err *err)
{
	char *old = NULL;
	size_t len;
	ssize_t at;
	int ret = -1;

	if (r->id == NULL || r->parents == NULL || r->message == NULL ||
	    r->source == NULL || r->upgrade == NULL)
		return sb_err_set(err, SB_EINVALID, "the Alembic helper sent an "
		    "incomplete revision");
	if (finish(r, revdir, err) == -1)
		return -1;
	if ((at = sb_chain_find(chain, r->id)) == -1) {
		run->revs = sb_realloc(run->revs, (run->nrevs + 1) *
		    sizeof(*run->revs));
		run->revs[run->nrevs++] = *r;
		memset(r, 0, sizeof(*r));
		return 0;
	}
	if (sb_read_file(chain->revs[at].path, RECORD_MAX, &old, &len,
	    err) == -1)
		goto out;
	if (len == strlen(r->text) && memcmp(old, r->text, len) == 0) {
		run->present++;
	} else {
		run->drift++;
		char *msg = sb_printf("drift: revision \"%s\" (%s) differs "
		    "from a fresh import of %s; left as it is", r->id,
		    chain->revs[at].path, r->source);

		fputs("sqlbundle: ", stderr);
		sb_put_text(stderr, msg);
		fputc('\n', stderr);
		free(msg);
	}
	rev_release(r);
	ret = 0;
out:
	free(old);
	return ret;
}

/* Read every record of the helper. */
static int
read_stream(FILE *fp, struct imp_run *run, const struct sb_chain *chain,
    const char *revdir, bool *done, struct sb_err *err)
{
	struct imp_rev cur = { 0 };
	char tag[16], *val;
	int r, ret = -1;

	*done = false;
	while ((r = read_record(fp, tag, &val, err)) == 1) {
		char **slot = NULL;

		if (strcmp(tag, "error") == 0) {
			sb_err_set(err, SB_EINVALID, "%s", val);
			free(val);
			goto out;
		} else if (strcmp(tag, "warn") == 0) {
			fputs("sqlbundle: warning: ", stderr);
			sb_put_text(stderr, val);
			fputc('\n', stderr);
			run->warnings++;
		} else if (strcmp(tag, "rev") == 0) {
			rev_release(&cur);
			cur.transactional = true;
			slot = &cur.id;
		} else if (strcmp(tag, "parents") == 0) {
			slot = &cur.parents;
		} else if (strcmp(tag, "message") == 0) {
			slot = &cur.message;
		} else if (strcmp(tag, "source") == 0) {
			slot = &cur.source;
		} else if (strcmp(tag, "upgrade") == 0) {
			slot = &cur.upgrade;
		} else if (strcmp(tag, "downgrade") == 0) {
			slot = &cur.downgrade;
		} else if (strcmp(tag, "transactional") == 0) {
			cur.transactional = strcmp(val, "false") != 0;
		} else if (strcmp(tag, "end") == 0) {
			if (take(run, &cur, chain, revdir, err) == -1) {
				free(val);
				goto out;
			}
		} else if (strcmp(tag, "done") == 0) {
			*done = true;
		}
		if (slot != NULL) {
			free(*slot);
			*slot = val;
		} else {
			free(val);
		}
	}
	ret = r;
out:
	rev_release(&cur);
	return ret;
}

/* Wait for the helper; a failure without an error record is one here. */
static int
reap(pid_t pid, const char *python, bool done, int prior,
    struct sb_err *err)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return prior == 0 ? sb_err_sys(err, "waitpid") : -1;
	if (prior == -1)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && done)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		sb_err_set(err, SB_EINVALID, "could not run the Alembic helper "
		    "with \"%s\"", python);
		sb_err_hint(err, "name the Python that has alembic and "
		    "SQLAlchemy with --python PATH");
		return -1;
	}
	if (WIFSIGNALED(status))
		return sb_err_set(err, SB_EINVALID, "the Alembic helper (%s) was "
		    "killed by signal %d", python, WTERMSIG(status));
	return sb_err_set(err, SB_EINVALID, "the Alembic helper (%s) failed "
	    "(exit status %d); nothing was written", python,
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/*
 * All or nothing: every file goes to a durable temp name first; only when
 * all are written is each linked to its final name (link refuses to
 * replace a file), and on any failure the ones linked are removed again.
 */
static int
write_all(struct imp_run *run, const char *revdir, struct sb_err *err)
{
	char **tmps = sb_calloc(run->nrevs, sizeof(*tmps));
	size_t i, linked = 0;
	int ret = -1;

	for (i = 0; i < run->nrevs; i++) {
		const char *base = strrchr(run->revs[i].path, '/') + 1;

		tmps[i] = sb_printf("%s/.%s.import.%ld", revdir, base,
		    (long)getpid());
		if (sb_write_file_atomic(tmps[i], run->revs[i].text,
		    strlen(run->revs[i].text), 0644, err) == -1) {
			free(tmps[i]);
			tmps[i] = NULL;
			goto out;
		}
	}
	for (linked = 0; linked < run->nrevs; linked++)
		if (link(tmps[linked], run->revs[linked].path) == -1) {
			sb_err_sys(err, "could not create \"%s\"",
			    run->revs[linked].path);
			goto out;
		}
	ret = sb_fsync_parent(run->revs[0].path, err);
out:
	if (ret == -1)
		for (i = 0; i < linked; i++)
			unlink(run->revs[i].path);
	for (i = 0; i < run->nrevs; i++) {
		if (tmps[i] != NULL)
			unlink(tmps[i]);
		free(tmps[i]);
	}
	free(tmps);
	return ret;
}

static int
parse_opts(struct imp_opts *o, int argc, char **argv, bool *help,
    struct sb_err *err)
{
	enum { OPT_CONFIG = 256, OPT_TO, OPT_OFFLINE, OPT_SCRATCH,
		OPT_PYTHON, OPT_DRY, OPT_CHECK };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "to", required_argument, NULL, OPT_TO },
		{ "offline", no_argument, NULL, OPT_OFFLINE },
		{ "scratch", required_argument, NULL, OPT_SCRATCH },
		{ "python", required_argument, NULL, OPT_PYTHON },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*help = false;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_TO:
			o->to = optarg;
			break;
		case OPT_OFFLINE:
			o->offline = true;
			break;
		case OPT_SCRATCH:
			o->scratch = optarg;
			break;
		case OPT_PYTHON:
			o->python = optarg;
			break;
		case OPT_DRY:
			o->dry_run = true;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case 'h':
			*help = true;
			return 0;
		default:
			return sb_cli_opt_error("import", c, argv, err);
		}
	}
	if (optind < argc)
		return sb_err_set(err, SB_EUSAGE, "import: unexpected argument "
		    "\"%s\"", argv[optind]);
	if (o->offline && o->scratch != NULL)
		return sb_err_set(err, SB_EUSAGE, "import: --offline and "
		    "--scratch exclude each other");
	if (o->dry_run && o->check)
		return sb_err_set(err, SB_EUSAGE, "import: --dry-run and --check "
		    "exclude each other");
	return 0;
}

/* Tell what was found; --check turns new revisions and drift into 1. */
static int
report(const struct imp_opts *o, struct imp_run *run, const char *revdir,
    struct sb_err *err)
{
	for (size_t i = 0; i < run->nrevs; i++) {
		char *line = sb_printf("%s %s (from %s)", o->check ?
		    "not imported yet:" : o->dry_run ? "would write" : "wrote",
		    run->revs[i].path, run->revs[i].source);

		/* Names of the user's files: escaped on a terminal. */
		sb_put_text(stdout, line);
		putchar('\n');
		free(line);
	}
	if (!o->check && !o->dry_run && run->nrevs > 0 &&
	    write_all(run, revdir, err) == -1)
		return -1;
	printf("%zu new, %zu unchanged, %zu drifted\n", run->nrevs,
	    run->present, run->drift);
	if (o->check && (run->nrevs > 0 || run->drift > 0))
		return sb_err_set(err, SB_EINVALID, "import --check: %zu "
		    "revision%s not imported, %zu drifted", run->nrevs,
		    run->nrevs == 1 ? "" : "s", run->drift);
	return 0;
}

int
sb_cmd_import(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	struct imp_opts o = { 0 };
	struct imp_run run = { 0 };
	struct sb_chain chain = SB_CHAIN_INIT;
	char *config = NULL, *revdir = NULL, *python = NULL, *helper = NULL;
	FILE *fp = NULL;
	pid_t pid = -1;
	struct stat st;
	bool help, done = false;
	int ret = -1, rr;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		if (argc >= 2) {
			usage();
			return 0;
		}
		return sb_err_set(err, SB_EUSAGE, "import: name the source "
		    "(\"alembic\")");
	}
	if (strcmp(argv[1], "alembic") != 0)
		return sb_err_set(err, SB_EUSAGE, "import: unknown source "
		    "\"%s\" (known: alembic)", argv[1]);
	if (parse_opts(&o, argc - 1, argv + 1, &help, err) == -1)
		return -1;
	if (help) {
		usage();
		return 0;
	}
	config = sb_ctx_path(ctx, o.config ? o.config : "alembic.ini");
	revdir = sb_ctx_path(ctx, "revisions");
	if (access(config, R_OK) == -1) {
		sb_err_sys(err, "could not read the Alembic configuration "
		    "\"%s\"", config);
		sb_err_hint(err, "name it with --config FILE");
		goto out;
	}
	if (stat(revdir, &st) == 0) {
		if (sb_chain_load(&chain, ctx->dir, err) == -1) {
			sb_err_hint(err, "fix the chain before importing");
			goto out;
		}
	} else if (errno != ENOENT || (!o.check && !o.dry_run &&
	    mkdir(revdir, 0755) == -1)) {
		sb_err_sys(err, "could not create \"%s\"", revdir);
		goto out;
	}
	python = o.python ? sb_strdup(o.python) : default_python();
	helper = helper_path();
	if (access(helper, R_OK) == -1) {
		sb_err_sys(err, "could not find the Alembic helper \"%s\"",
		    helper);
		sb_err_hint(err, "install sqlbundle with \"make install\", or "
		    "set SQLBUNDLE_ALEMBIC_HELPER");
		goto out;
	}
	if (spawn_helper(&o, python, helper, config, &pid, &fp, err) == -1)
		goto out;
	rr = read_stream(fp, &run, &chain, revdir, &done, err);
	/* on an early stop, the helper's next write fails and it cleans up */
	fclose(fp);
	fp = NULL;
	if (reap(pid, python, done, rr, err) == -1)
		goto out;
	ret = report(&o, &run, revdir, err);
out:
	if (fp != NULL)
		fclose(fp);
	run_release(&run);
	sb_chain_release(&chain);
	free(helper);
	free(python);
	free(revdir);
	free(config);
	return ret;
}
