/*
 * sqlbundle import alembic: turn an Alembic project's revisions into
 * revisions/<id>_<slug>.sql. The Python helper (share/sqlbundle/
 * alembic_import.py) renders the SQL; this side validates, composes and
 * parses each file, reports drift, and writes all new files or none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
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
#include "catread.h"
#include "txrule.h"

#ifndef SB_DATADIR
#define SB_DATADIR	"/usr/local/share/sqlbundle"
#endif
#define HELPER		"alembic_import.py"
/* One record: a statement cannot be larger than a revision file. */
#define RECORD_MAX	SB_SCRIPT_MAX

struct imp_opts {
	const char	*config;
	const char	*to;
	const char	*scratch;
	const char	*python;
	bool		 offline;
	bool		 dry_run;
	bool		 check;
	bool		 empty_irreversible;	/* --empty-downgrade irreversible */
};

/* What the helper saw one call of upgrade() or downgrade() do. */
struct imp_phase {
	char	*sql;			/* kept statements, joined */
	size_t	 len, cap;
	bool	 seen;			/* the call was reported */
	bool	 missing;		/* no such function */
	bool	 autocommit;		/* committed, or an autocommit block */
	bool	 control;		/* a COMMIT or the like was dropped */
	char	*outside;		/* first statement that needs no block */
	bool	 refused;		/* PostgreSQL refused one in a block */
	char	*fail;			/* the call raised: file:line: message */
	char	*read;			/* it read query results: where */
	size_t	 catreads;		/* catalog reads left out */
	char	*volatile_what;		/* "uuid4() at line 20" */
};

/* One revision as the helper reported it, then as composed here. */
struct imp_rev {
	char	*id;
	char	*parents;
	char	*message;
	char	*source;
	unsigned line, downline;	/* of revision = and down_revision = */
	struct imp_phase up, down;
	bool	 transactional;
	bool	 reversible;
	bool	 isnew;			/* not in revisions/ yet: to write */
	char	*path;			/* revisions/<id>_<slug>.sql */
	char	*text;			/* the file's bytes */
};

struct imp_run {
	struct imp_rev	*revs;		/* the chain, in the helper's order */
	size_t		 nrevs;
	size_t		 fresh;		/* new revisions, to write */
	size_t		 present;	/* already in revisions/, same bytes */
	size_t		 drift;		/* already there, different bytes */
	size_t		 uncomparable;	/* differ, but render per run */
	size_t		 warnings;
	bool		 chained;	/* the chain was validated */
};

static void
usage(void)
{
	fputs("Usage: sqlbundle import alembic [--config FILE] [--to REV] "
	    "[--offline]\n"
	    "                               [--scratch CONNINFO] [--python "
	    "PATH]\n"
	    "                               [--empty-downgrade reversible|"
	    "irreversible]\n"
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
	    "      --empty-downgrade reversible|irreversible\n"
	    "                          a downgrade() that does nothing on "
	    "PostgreSQL: a no-op\n"
	    "                          step (default), or an irreversible "
	    "revision\n"
	    "      --python PATH       the Python interpreter (default: the one "
	    "of \"alembic\"\n"
	    "                          on PATH, else python3)\n"
	    "      --dry-run           print what would be written, write "
	    "nothing\n"
	    "      --check             write nothing; exit 1 on drift or on a "
	    "revision not\n"
	    "                          imported yet (one that renders "
	    "differently on every\n"
	    "                          run is said to be one that cannot be "
	    "compared)\n"
	    "  -h, --help              show this help and exit\n", stdout);
}

static void
phase_release(struct imp_phase *ph)
{
	free(ph->sql);
	free(ph->outside);
	free(ph->fail);
	free(ph->read);
	free(ph->volatile_what);
	memset(ph, 0, sizeof(*ph));
}

static void
rev_release(struct imp_rev *r)
{
	free(r->id);
	free(r->parents);
	free(r->message);
	free(r->source);
	phase_release(&r->up);
	phase_release(&r->down);
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
	if (errno != 0 || *end != '\n')
		goto bad;
	if (len > RECORD_MAX) {
		*sp = '\0';
		return sb_err_set(err, SB_EINVALID, "%s of %llu bytes, larger "
		    "than a revision file may be (%zu MiB)", strcmp(head,
		    "sql") == 0 ? "a statement" : "a record", len,
		    RECORD_MAX >> 20);
	}
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

/* What an empty section says: the no-op is meant (see `check`). */
#define NOTHING(fn)	"-- nothing: " fn "() sends no SQL to PostgreSQL\n"

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
	    r->transactional ? "true" : "false", r->source,
	    r->up.sql ? r->up.sql : NOTHING("upgrade"),
	    r->reversible ? "\n-- +downgrade\n" : "", !r->reversible ? "" :
	    r->down.sql ? r->down.sql : NOTHING("downgrade"));
	free(parents);
	return text;
}

/* Ids and header values the file format can hold, naming the source. */
static int
validate(const struct imp_rev *r, struct sb_err *err)
{
	char *copy, *p, *save = NULL;
	int ret = 0;

	if (r->id == NULL || r->parents == NULL || r->message == NULL ||
	    r->source == NULL)
		return sb_err_set(err, SB_EINVALID, "the Alembic helper sent an "
		    "incomplete revision");
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

static char *
rev_path(const struct imp_rev *r, const char *revdir)
{
	char slug[SB_SLUG_MAX + 1];

	sb_slugify(r->message, slug);
	return slug[0] ? sb_printf("%s/%s_%s.sql", revdir, r->id, slug) :
	    sb_printf("%s/%s.sql", revdir, r->id);
}

static void
warn(struct imp_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn(struct imp_run *run, const char *fmt, ...)
{
	va_list ap;
	char buf[4096];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Text from the user's files: escaped on a terminal. */
	fputs("sqlbundle: warning: ", stderr);
	sb_put_text(stderr, buf);
	fputc('\n', stderr);
	run->warnings++;
}

/*
 * The helper reports the chain in Alembic's upgrade order, the order the
 * capture runs it in. sqlbundle orders a merge's branches by id; where
 * the two orders differ, say so once: branches that change the same
 * objects (the order of columns, for one) can end differently.
 */
static void
compare_order(struct imp_run *run, const struct sb_chain *chain)
{
	for (size_t i = 0; i < run->nrevs && i < chain->n; i++) {
		const struct imp_rev *a = &run->revs[i];
		const struct sb_revision *b = &chain->revs[i];

		if (strcmp(a->id, b->id) == 0)
			continue;
		warn(run, "the branches of the Alembic chain run in another "
		    "order under sqlbundle than under Alembic: revision %zu is "
		    "%s (%s) for sqlbundle, %s (%s) for Alembic; where branches "
		    "change the same objects (the order of columns, for one), "
		    "the results can differ (sqlbundle history shows its "
		    "order)", i + 1, b->id, b->path, a->id, a->source);
		return;
	}
}

/*
 * The chain the helper reported, before anything is captured: ids the
 * format can hold, then the chain rules of `check` (known parents, no
 * cycle, one base, one head), naming the Alembic files.
 */
static int
check_chain(struct imp_run *run, const char *revdir, struct sb_err *err)
{
	struct sb_revision *revs = sb_calloc(run->nrevs + 1, sizeof(*revs));
	unsigned *down = sb_calloc(run->nrevs + 1, sizeof(*down));
	struct sb_chain chain = SB_CHAIN_INIT;
	size_t n = 0;
	int ret = -1;

	for (size_t i = 0; i < run->nrevs; i++) {
		struct imp_rev *r = &run->revs[i];
		char *path, *text;

		if (validate(r, err) == -1)
			goto fail;
		r->transactional = true;
		path = rev_path(r, revdir);
		text = compose(r);
		ret = sb_revision_parse(&revs[n], path, text, strlen(text), err);
		free(text);
		free(path);
		if (ret == -1) {
			sb_err_prefix(err, "%s", r->source);
			goto fail;
		}
		/* messages name the Alembic file and its lines */
		free(revs[n].path);
		revs[n].path = sb_strdup(r->source);
		revs[n].header_line = r->line;
		down[n++] = r->downline;
	}
	ret = sb_chain_build(&chain, revs, down, n, err);
	if (ret == 0)
		compare_order(run, &chain);
	if (ret == -1) {
		sb_err_prefix(err, "the Alembic chain");
		if (err->hint[0] != '\0')
			sb_err_hint(err, "merge the heads with \"alembic merge "
			    "heads\", then import again");
	}
	sb_chain_release(&chain);
	run->chained = ret == 0;
	return ret;
fail:
	for (size_t i = 0; i < n; i++)
		sb_revision_release(&revs[i]);
	free(revs);
	free(down);
	return -1;
}

static struct imp_rev *
rev_find(struct imp_run *run, const char *id)
{
	for (size_t i = 0; i < run->nrevs; i++)
		if (strcmp(run->revs[i].id, id) == 0)
			return &run->revs[i];
	return NULL;
}

/* The first line of a statement, cut to 60 bytes, for a message. */
static char *
first_line(const char *s)
{
	s += strspn(s, " \t\r\n");
	return sb_printf("%.*s", (int)(strcspn(s, "\r\n") > 60 ? 60 :
	    strcspn(s, "\r\n")), s);
}

/*
 * One statement of a call, as the helper saw it: the project's rules
 * decide here what is kept. A read of the catalog only is dropped (what
 * the scratch database held, OIDs included, never lands in a revision);
 * it is counted in the revision's warning. Transaction control is
 * dropped and makes the revision non-transactional; a statement on
 * Alembic's version table is dropped (sqlbundle-apply keeps that table);
 * the rest is appended, ended by ';' (on a line of its own after a --
 * comment), a blank line between.
 */
static int
add_sql(struct imp_run *run, struct imp_rev *r, struct imp_phase *ph,
    const char *stmt, struct sb_err *err)
{
	char what[256], *line;
	const char *s = stmt, *last;
	size_t n, need;

	while (*s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && strchr(" \t\r\n\f\v", s[n - 1]) != NULL)
		n--;
	if (n == 0)
		return 0;
	if (sb_catread(s, n)) {
		ph->catreads++;
		return 0;
	}
	switch (sb_tx_need(s, n, what, sizeof(what))) {
	case SB_TX_CONTROL:
		ph->control = true;
		return 0;
	case SB_TX_OUTSIDE:
		if (ph->outside == NULL)
			ph->outside = first_line(s);
		break;
	default:
		break;
	}
	if (sb_tx_names(s, n, "alembic_version")) {
		line = first_line(s);
		warn(run, "%s: a statement on alembic_version left out "
		    "(sqlbundle-apply keeps that table): %s", r->source, line);
		free(line);
		return 0;
	}
	need = ph->len + n + 4;
	if (need > SB_SCRIPT_MAX)
		return sb_err_set(err, SB_EINVALID, "%s: revision %s: its %s "
		    "SQL is larger than %zu MiB, the limit of a revision file",
		    r->source, r->id, ph == &r->up ? "upgrade" : "downgrade",
		    SB_SCRIPT_MAX >> 20);
	if (need + 1 > ph->cap) {
		ph->cap = need * 2 > 4096 ? need * 2 : 4096;
		ph->sql = sb_realloc(ph->sql, ph->cap);
	}
	if (ph->len > 0)
		ph->sql[ph->len++] = '\n';
	memcpy(ph->sql + ph->len, s, n);
	ph->len += n;
	if (s[n - 1] != ';') {
		for (last = s + n; last > s && last[-1] != '\n'; last--)
			;
		if (memmem(last, (size_t)(s + n - last), "--", 2) != NULL)
			ph->sql[ph->len++] = '\n';
		ph->sql[ph->len++] = ';';
	}
	ph->sql[ph->len++] = '\n';
	ph->sql[ph->len] = '\0';
	return 0;
}

/* "; 2 catalog reads left out" for the reads warning, or "". */
static const char *
catreads_note(size_t n, char *buf, size_t cap)
{
	if (n == 0)
		return "";
	snprintf(buf, cap, "; %zu catalog read%s left out of the revision", n,
	    n == 1 ? "" : "s");
	return buf;
}

#define FROZEN	"rendered for an empty database at import time; a signed " \
		"bundle freezes that choice"

/*
 * What the calls of r did decides its header and sections: whether it
 * is transactional, whether it is reversible; each choice is said.
 */
static void
decide(const struct imp_opts *o, struct imp_run *run, struct imp_rev *r)
{
	struct imp_phase *phs[2] = { &r->up, &r->down };
	char note[64];

	r->transactional = true;
	for (int i = 0; i < 2; i++) {
		struct imp_phase *ph = phs[i];

		if (ph->autocommit || ph->control || ph->refused ||
		    ph->outside != NULL)
			r->transactional = false;
		if (ph->outside != NULL && !ph->autocommit && !ph->control)
			warn(run, "%s: %s outside an autocommit_block(): the "
			    "revision is made transactional: false", r->source,
			    ph->outside);
		if (ph->volatile_what != NULL)
			warn(run, "%s: revision %s calls %s: " FROZEN
			    " (it cannot be compared with a later import)",
			    r->source, r->id, ph->volatile_what);
		if (ph->read != NULL || ph->catreads > 0)
			warn(run, "%s: revision %s reads the database (%s): "
			    FROZEN "%s", r->source, r->id, ph->read != NULL &&
			    ph->read[0] ? ph->read : "query results",
			    catreads_note(ph->catreads, note, sizeof(note)));
	}
	r->reversible = r->down.seen && !r->down.missing &&
	    r->down.fail == NULL;
	if (r->down.fail != NULL)
		warn(run, "%s: downgrade() raised: %s; the revision is "
		    "irreversible", r->source, r->down.fail);
	if (r->reversible && r->down.len == 0) {
		if (o->empty_irreversible) {
			r->reversible = false;
			warn(run, "%s: revision %s: downgrade() does nothing "
			    "on PostgreSQL: imported as irreversible "
			    "(--empty-downgrade irreversible)", r->source,
			    r->id);
		} else {
			warn(run, "%s: revision %s: downgrade() does nothing "
			    "on PostgreSQL: imported as a no-op downgrade, as "
			    "Alembic runs it", r->source, r->id);
		}
	}
}

/*
 * Compose r's file and parse it with the parser `check` uses; the parsed
 * sections must be what was rendered (a line of SQL such as
 * "-- +downgrade" would otherwise move a section boundary).
 */
static int
finish(const struct imp_opts *o, struct imp_run *run, struct imp_rev *r,
    const char *revdir, struct sb_err *err)
{
	struct sb_revision rev = { 0 };
	size_t len;
	int ret = -1;

	decide(o, run, r);
	r->path = rev_path(r, revdir);
	r->text = compose(r);
	len = strlen(r->text);
	if (len > SB_SCRIPT_MAX)
		return sb_err_set(err, SB_EINVALID, "%s: revision %s would be "
		    "a file of %zu bytes, over the limit of a revision file "
		    "(%zu MiB)", r->source, r->id, len, SB_SCRIPT_MAX >> 20);
	if (sb_revision_parse(&rev, r->path, r->text, len, err) == -1) {
		sb_err_prefix(err, "%s: the imported revision does not parse",
		    r->source);
		return -1;
	}
	if ((rev.downgrade != NULL) != r->reversible ||
	    strstr(rev.upgrade, r->up.sql ? r->up.sql : "") != rev.upgrade ||
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
    struct sb_err *err)
{
	char *old = NULL;
	size_t len;
	ssize_t at;

	if ((at = sb_chain_find(chain, r->id)) == -1) {
		r->isnew = true;
		run->fresh++;
		return 0;
	}
	if (sb_read_file(chain->revs[at].path, SB_SCRIPT_MAX, &old, &len,
	    err) == -1)
		return -1;
	if (len == strlen(r->text) && memcmp(old, r->text, len) == 0) {
		run->present++;
	} else if (r->up.volatile_what != NULL ||
	    r->down.volatile_what != NULL) {
		run->uncomparable++;
		fprintf(stderr, "sqlbundle: cannot be compared: revision \"%s\" "
		    "(%s) renders differently on every run (it calls %s); "
		    "left as it is\n", r->id, chain->revs[at].path,
		    r->up.volatile_what ? r->up.volatile_what :
		    r->down.volatile_what);
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
	free(old);
	return 0;
}

/* Sets *slot to val (taking it), refusing a second value. */
static int
set_once(char **slot, char *val, const char *tag, struct sb_err *err)
{
	if (*slot != NULL) {
		free(val);
		return sb_err_set(err, SB_EINVALID, "the Alembic helper sent "
		    "\"%s\" twice", tag);
	}
	*slot = val;
	return 0;
}

/* One record of the helper; *val is taken when used. */
static int
on_record(struct imp_run *run, const char *tag,
    char **val, struct imp_phase **ph, struct imp_rev **cur,
    const char *revdir, bool *done, struct sb_err *err)
{
	struct imp_rev *r = *cur;
	char *v = *val;

	if (strcmp(tag, "error") == 0)
		return sb_err_set(err, SB_EINVALID, "%s", v);
	if (strcmp(tag, "node") == 0) {
		if (run->chained)
			return sb_err_set(err, SB_EINVALID, "the Alembic helper "
			    "sent a revision after the chain");
		run->revs = sb_realloc(run->revs, (run->nrevs + 1) *
		    sizeof(*run->revs));
		r = *cur = &run->revs[run->nrevs++];
		memset(r, 0, sizeof(*r));
		r->id = v;
		*val = NULL;
		return 0;
	}
	if (strcmp(tag, "chain") == 0)
		return check_chain(run, revdir, err);
	if (strcmp(tag, "up") == 0 || strcmp(tag, "down") == 0) {
		if (!run->chained || (r = rev_find(run, v)) == NULL)
			return sb_err_set(err, SB_EINVALID, "the Alembic helper "
			    "sent the calls of unknown revision \"%.64s\"", v);
		*cur = r;
		*ph = tag[0] == 'u' ? &r->up : &r->down;
		if ((*ph)->seen)
			return sb_err_set(err, SB_EINVALID, "the Alembic helper "
			    "sent %s() of \"%s\" twice", tag, v);
		(*ph)->seen = true;
		return 0;
	}
	if (strcmp(tag, "note") == 0) {
		warn(run, "%s", v);
		return 0;
	}
	if (strcmp(tag, "done") == 0) {
		for (size_t i = 0; i < run->nrevs; i++)
			if (!run->revs[i].up.seen || !run->revs[i].down.seen)
				return sb_err_set(err, SB_EINVALID, "the Alembic "
				    "helper did not report every call of \"%s\"",
				    run->revs[i].id);
		*done = true;
		return 0;
	}
	if (r == NULL || (*ph == NULL && !run->chained))
		goto chain_rec;
	if (*ph == NULL)
		return sb_err_set(err, SB_EINVALID, "the Alembic helper sent "
		    "\"%s\" outside a call", tag);
	if (strcmp(tag, "sql") == 0)
		return add_sql(run, r, *ph, v, err);
	if (strcmp(tag, "autocommit") == 0)
		(*ph)->autocommit = true;
	else if (strcmp(tag, "refused") == 0)
		(*ph)->refused = true;
	else if (strcmp(tag, "missing") == 0)
		(*ph)->missing = true;
	else if (strcmp(tag, "fail") == 0 || strcmp(tag, "read") == 0 ||
	    strcmp(tag, "volatile") == 0) {
		*val = NULL;
		return set_once(tag[0] == 'f' ? &(*ph)->fail : tag[0] == 'r' ?
		    &(*ph)->read : &(*ph)->volatile_what, v, tag, err);
	}
	return 0;
chain_rec:
	if (r == NULL)
		return sb_err_set(err, SB_EINVALID, "the Alembic helper sent "
		    "\"%s\" before any revision", tag);
	*val = NULL;
	if (strcmp(tag, "parents") == 0)
		return set_once(&r->parents, v, tag, err);
	if (strcmp(tag, "message") == 0)
		return set_once(&r->message, v, tag, err);
	if (strcmp(tag, "source") == 0)
		return set_once(&r->source, v, tag, err);
	*val = v;
	if (strcmp(tag, "line") == 0)
		r->line = (unsigned)strtoul(v, NULL, 10);
	else if (strcmp(tag, "downline") == 0)
		r->downline = (unsigned)strtoul(v, NULL, 10);
	return 0;
}

/*
 * Read every record of the helper, then decide and compose each
 * revision. *ours: the stop is this side's decision (the helper must be
 * told to stop).
 */
static int
read_stream(const struct imp_opts *o, FILE *fp, struct imp_run *run,
    const struct sb_chain *chain, const char *revdir, bool *done,
    bool *ours, struct sb_err *err)
{
	struct imp_phase *ph = NULL;
	struct imp_rev *cur = NULL;
	char tag[16], *val;
	int r;

	*done = false;
	*ours = false;
	while ((r = read_record(fp, tag, &val, err)) == 1) {
		r = on_record(run, tag, &val, &ph, &cur, revdir, done, err);
		*ours = strcmp(tag, "error") != 0;
		free(val);
		if (r == -1)
			return -1;
	}
	if (r == -1) {
		/* this side stops reading: name the revision being read */
		*ours = true;
		if (cur != NULL)
			sb_err_prefix(err, "%s: revision %s", cur->source,
			    cur->id);
		return -1;
	}
	if (!*done)
		return 0;
	for (size_t i = 0; i < run->nrevs; i++)
		if (finish(o, run, &run->revs[i], revdir, err) == -1 ||
		    take(run, &run->revs[i], chain, err) == -1)
			return -1;
	return 0;
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
	struct imp_rev *last = NULL;
	size_t i, linked = 0;
	int ret = -1;

	for (i = 0; i < run->nrevs; i++) {
		const char *base = strrchr(run->revs[i].path, '/') + 1;

		if (!run->revs[i].isnew)
			continue;
		tmps[i] = sb_printf("%s/.%s.import.%ld", revdir, base,
		    (long)getpid());
		if (sb_write_file_atomic(tmps[i], run->revs[i].text,
		    strlen(run->revs[i].text), 0644, err) == -1) {
			free(tmps[i]);
			tmps[i] = NULL;
			goto out;
		}
	}
	for (linked = 0; linked < run->nrevs; linked++) {
		if (tmps[linked] == NULL)
			continue;
		if (link(tmps[linked], run->revs[linked].path) == -1) {
			sb_err_sys(err, "could not create \"%s\"",
			    run->revs[linked].path);
			goto out;
		}
		last = &run->revs[linked];
	}
	ret = last != NULL ? sb_fsync_parent(last->path, err) : 0;
out:
	if (ret == -1)
		for (i = 0; i < linked; i++)
			if (tmps[i] != NULL)
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
		OPT_PYTHON, OPT_DRY, OPT_CHECK, OPT_EMPTY };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "to", required_argument, NULL, OPT_TO },
		{ "offline", no_argument, NULL, OPT_OFFLINE },
		{ "scratch", required_argument, NULL, OPT_SCRATCH },
		{ "python", required_argument, NULL, OPT_PYTHON },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "empty-downgrade", required_argument, NULL, OPT_EMPTY },
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
		case OPT_EMPTY:
			if (strcmp(optarg, "irreversible") == 0)
				o->empty_irreversible = true;
			else if (strcmp(optarg, "reversible") != 0)
				return sb_err_set(err, SB_EUSAGE, "import: "
				    "--empty-downgrade is reversible or "
				    "irreversible, not \"%s\"", optarg);
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

/*
 * Tell what was found; --check turns new revisions and drift into 1. A
 * revision that renders differently on every run by design cannot be
 * compared: said, never counted as drift.
 */
static int
report(const struct imp_opts *o, struct imp_run *run, const char *revdir,
    struct sb_err *err)
{
	for (size_t i = 0; i < run->nrevs; i++) {
		char *line;

		if (!run->revs[i].isnew)
			continue;
		line = sb_printf("%s %s (from %s)", o->check ?
		    "not imported yet:" : o->dry_run ? "would write" : "wrote",
		    run->revs[i].path, run->revs[i].source);
		/* Names of the user's files: escaped on a terminal. */
		sb_put_text(stdout, line);
		putchar('\n');
		free(line);
	}
	if (!o->check && !o->dry_run && run->fresh > 0 &&
	    write_all(run, revdir, err) == -1)
		return -1;
	printf("%zu new, %zu unchanged, %zu drifted", run->fresh,
	    run->present, run->drift);
	if (run->uncomparable > 0)
		printf(", %zu cannot be compared", run->uncomparable);
	putchar('\n');
	if (o->check && (run->fresh > 0 || run->drift > 0))
		return sb_err_set(err, SB_EINVALID, "import --check: %zu "
		    "revision%s not imported, %zu drifted", run->fresh,
		    run->fresh == 1 ? "" : "s", run->drift);
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
	bool help, done = false, ours = false;
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
	rr = read_stream(&o, fp, &run, &chain, revdir, &done, &ours, err);
	/* stopped here: the helper drops its scratch database and exits */
	if (rr == -1 && ours)
		kill(pid, SIGTERM);
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
