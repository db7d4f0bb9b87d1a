/*
 * `sqlbundle test`: rehearse the chain as a store would run it. The
 * project is packed into a bundle signed with a key made for the run, and
 * sqlbundle-apply itself takes a throwaway database up to the head, down
 * as far as the chain is reversible, and up again: three runs, each
 * recording the schema after every step on its own connection
 * (--fingerprints) and telling each step's time in its --json events.
 * The schema after every revision goes to revisions/FINGERPRINTS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/crypto.h"
#include "sqlbundle/fingerprint.h"
#include "sqlbundle/fs.h"
#include "cmd.h"
#include "conf.h"
#include "keys.h"
#include "opts.h"
#include "pack.h"
#include "pgtmp.h"
#include "proc.h"

#define APPLIER		"sqlbundle-apply"
#define ERR_MAX		((size_t)1 << 20)	/* the applier's stderr */
#define DIFF_SHOWN	20		/* differing objects listed per warning */

struct test_opts {
	const char	*scratch;
	const char	*pgbin;
	const char	*applier;
};

/* One rehearsal: everything it holds, released in one place. */
struct rehearsal {
	struct sb_conf	 conf;
	struct sb_chain	 chain;
	struct sb_pgtmp	 pg;
	struct sb_fp_file file;		/* the fingerprints being recorded */
	char		*work;		/* temporary folder: key, bundle, output */
	char		*applier;
	const char	*conninfo;
	char		*bundle;
	char		*trust;
	char		*out, *errf;	/* the applier's stdout and stderr */
	char		*recs;		/* the applier's --fingerprints file */
	size_t		 warnings;
	struct sb_fp_diff prev;		/* what the last comparison found */
	double		 fp_secs;	/* spent in fingerprints */
	size_t		 fp_count;
	bool		 tty;		/* progress on stderr */
	double		 shown_at;	/* when progress was last shown */
	const char	*phase;		/* "up", "down", or NULL: none shown */
	/* the slowest step */
	double		 largest;
	const char	*largest_what;
	size_t		 largest_rev;
};

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

static void
test_usage(void)
{
	fputs("Usage: sqlbundle test [--scratch CONNINFO] [--pgbin DIR] "
	    "[--applier PATH]\n"
	    "\n"
	    "Rehearse the chain as a store runs it: pack it into a bundle "
	    "signed with a\n"
	    "key made for the run, then with sqlbundle-apply take an empty "
	    "database up\n"
	    "revision by revision (seeds included), down as far as the "
	    "revisions are\n"
	    "reversible, and up again. The first failure stops it, naming the "
	    "revision\n"
	    "file and line, PostgreSQL's message and SQLSTATE. A downgrade "
	    "that does not\n"
	    "give back the schema its upgrade started from is a warning "
	    "naming the objects\n"
	    "that differ. On success the schema fingerprint after every "
	    "revision is\n"
	    "written to revisions/FINGERPRINTS (commit it; pack signs it into "
	    "the bundle).\n"
	    "\n"
	    "Options:\n"
	    "      --scratch CONNINFO  rehearse in this database, which must "
	    "be empty\n"
	    "                          (default: a throwaway server in a "
	    "temporary folder)\n"
	    "      --pgbin DIR         PostgreSQL server programs for the "
	    "throwaway server\n"
	    "                          (default: $PGBIN, else the newest "
	    "installed)\n"
	    "      --applier PATH      the sqlbundle-apply to drive "
	    "(default:\n"
	    "                          $SQLBUNDLE_APPLY, else the one beside "
	    "sqlbundle,\n"
	    "                          else on PATH)\n"
	    "  -h, --help              show this help and exit\n"
	    "\n"
	    "Exit status: 0 success (warnings included), 1 the chain or a "
	    "fingerprint is\n"
	    "not valid, 2 usage error, 3 a statement or the connection "
	    "failed, 4 I/O error.\n", stdout);
}

static int
test_parse(int argc, char **argv, struct test_opts *o, int *help,
    struct sb_err *err)
{
	static const struct option longopts[] = {
		{ "scratch", required_argument, NULL, 's' },
		{ "pgbin", required_argument, NULL, 'p' },
		{ "applier", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	*help = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->scratch = optarg;
			break;
		case 'p':
			o->pgbin = optarg;
			break;
		case 'a':
			o->applier = optarg;
			break;
		case 'h':
			*help = 1;
			return 0;
		default:
			return sb_cli_opt_error("test", c, argv, err);
		}
	}
	if (optind < argc)
		return sb_err_set(err, SB_EUSAGE, "test: unexpected argument "
		    "\"%s\"", argv[optind]);
	if (o->scratch != NULL && o->pgbin != NULL)
		return sb_err_set(err, SB_EUSAGE, "test: --pgbin is for the "
		    "throwaway server, not --scratch");
	return 0;
}

/*
 * The applier: --applier, $SQLBUNDLE_APPLY, the program beside this one
 * (a build tree or an install), else sqlbundle-apply on PATH.
 */
static char *
applier_path(const char *given)
{
	const char *env = getenv("SQLBUNDLE_APPLY");
	char exe[PATH_MAX], *p;
	ssize_t n;

	if (given != NULL)
		return sb_strdup(given);
	if (env != NULL && env[0] != '\0')
		return sb_strdup(env);
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if ((p = strrchr(exe, '/')) != NULL) {
			*p = '\0';
			p = sb_printf("%s/" APPLIER, exe);
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return sb_strdup(APPLIER);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The error the applier printed last ("sqlbundle-apply: MESSAGE", then
 * DETAIL:, HINT:, SQLSTATE: lines) as ours, with its exit status.
 */
static int
applier_error(struct rehearsal *t, int status, const char *what,
    struct sb_err *err)
{
	struct sb_err ignored = SB_ERR_INIT;
	static const char prefix[] = APPLIER ": ";
	char *buf = NULL, *line, *save = NULL, *last = NULL;
	size_t len = 0;

	sb_err_set(err, status >= 1 && status <= 6 ? status : SB_EIO,
	    "%s: %s failed (exit status %d)", what, APPLIER, status);
	if (sb_read_file(t->errf, ERR_MAX, &buf, &len, &ignored) == -1)
		goto out;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, prefix, sizeof(prefix) - 1) == 0)
			last = line;
	if (last == NULL) {
		/* Not the applier's own words: quote them as they came. */
		if (len > 0)
			sb_err_detail(err, "%.900s", buf);
		goto out;
	}
	if (status == SB_EUSAGE) {
		/* Our own call was refused: an applier of another version. */
		sb_err_set(err, SB_EIO, "%s: %s", t->applier, last +
		    sizeof(prefix) - 1);
		sb_err_hint(err, "use the %s of this sqlbundle's version "
		    "(--applier PATH)", APPLIER);
		goto out;
	}
	sb_err_set(err, err->code, "%s", last + sizeof(prefix) - 1);
	for (line = last + strlen(last) + 1; line < buf + len;
	    line += strlen(line) + 1) {
		if (strncmp(line, "DETAIL: ", 8) == 0)
			sb_err_detail(err, "%s", line + 8);
		else if (strncmp(line, "HINT: ", 6) == 0)
			sb_err_hint(err, "%s", line + 6);
		else if (strncmp(line, "SQLSTATE: ", 10) == 0)
			snprintf(err->sqlstate, sizeof(err->sqlstate), "%s",
			    line + 10);
	}
out:
	free(buf);
	return -1;
}

/*
 * The value of member key in a JSON line of the applier (this version's
 * writer: no spaces; a quote inside a string is escaped, so "key": is
 * found only as a member), or NULL.
 */
static const char *
member(const char *line, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	return (p = strstr(line, pat)) != NULL ? p + strlen(pat) : NULL;
}

/* A string member's value into buf (ids and directions: no escapes). */
static bool
member_str(const char *line, const char *key, char *buf, size_t cap)
{
	const char *v = member(line, key);
	size_t n;

	if (v == NULL || *v != '"')
		return false;
	n = strcspn(++v, "\"\\");
	if (v[n] != '"' || n >= cap)
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return true;
}

/* The line is an event of this kind. */
static bool
is_event(const char *line, const char *kind)
{
	char pat[64];
	int n = snprintf(pat, sizeof(pat), "{\"event\":\"%s\",", kind);

	return strncmp(line, pat, (size_t)n) == 0;
}

static double
member_num(const char *line, const char *key)
{
	const char *v = member(line, key);

	return v != NULL ? strtod(v, NULL) : 0;
}

static void progress(struct rehearsal *t, const char *phase, size_t i,
    size_t n, bool done);

/* A step of the chain's revision id, by its id. */
static bool
rev_index(const struct rehearsal *t, const char *id, size_t *k)
{
	for (size_t i = 0; i < t->chain.n; i++)
		if (strcmp(t->chain.revs[i].id, id) == 0) {
			*k = i;
			return true;
		}
	return false;
}

/*
 * An event of the applier's --json output: a step's time (the largest
 * is the summary's), a fingerprint's, progress on a terminal.
 */
static void
on_event(void *arg, char *line)
{
	struct rehearsal *t = arg;
	char rev[SB_ID_MAX + 1], dir[16];
	size_t k;
	double secs;

	if (is_event(line, "step_done")) {
		secs = member_num(line, "seconds");
		if (member_str(line, "revision", rev, sizeof(rev)) &&
		    member_str(line, "direction", dir, sizeof(dir)) &&
		    rev_index(t, rev, &k) && secs > t->largest) {
			t->largest = secs;
			t->largest_what = strcmp(dir, "downgrade") == 0 ?
			    "downgrade" : "upgrade";
			t->largest_rev = k;
		}
		if (t->phase != NULL)
			progress(t, t->phase, (size_t)member_num(line, "index"),
			    (size_t)member_num(line, "step_count"), false);
	} else if (is_event(line, "fingerprint_recorded")) {
		t->fp_secs += member_num(line, "seconds");
		t->fp_count++;
	}
}

/*
 * Run the applier on argv (after the program and connection options):
 * with events, following its --json events; else quiet, its output in
 * t->out.
 */
static int
run_applier(struct rehearsal *t, const char *const *args, bool events,
    const char *what, struct sb_err *err)
{
	const char **argv;
	size_t n = 0, nargs = 0;
	int status, ret;

	while (args[nargs] != NULL)
		nargs++;
	argv = sb_calloc(nargs + 7, sizeof(*argv));
	argv[n++] = t->applier;
	argv[n++] = events ? "--json" : "-q";
	argv[n++] = "-d";
	argv[n++] = t->conninfo;
	argv[n++] = "--trust";
	argv[n++] = t->trust;
	for (size_t i = 0; i < nargs; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (events)
		ret = sb_proc_run_lines((char *const *)argv, t->errf,
		    on_event, t, &status, err);
	else
		ret = sb_proc_run((char *const *)argv, t->out, t->errf, false,
		    &status, err);
	free(argv);
	if (ret == -1)
		return -1;
	if (interrupted)
		return sb_err_set(err, SB_EIO, "interrupted by signal %d",
		    (int)interrupted);
	if (status != 0)
		return applier_error(t, status, what, err);
	return 0;
}

/* "up 12/300" on a terminal, at most once a second; done clears it. */
static void
progress(struct rehearsal *t, const char *phase, size_t i, size_t n,
    bool done)
{
	double at = now();

	if (!t->tty)
		return;
	if (done) {
		fprintf(stderr, "\r%40s\r", "");
	} else if (at - t->shown_at >= 1.0) {
		fprintf(stderr, "\r%s %zu/%zu ", phase, i, n);
		t->shown_at = at;
	}
	fflush(stderr);
}

static const char *
rev_name(const struct rehearsal *t, size_t k)
{
	return k == 0 ? SB_FP_BASE : t->chain.revs[k - 1].id;
}

static bool
known(const struct sb_fp_diff *prev, const struct sb_fp_item *it)
{
	for (size_t i = 0; i < prev->n; i++)
		if (strcmp(prev->items[i].text, it->text) == 0)
			return true;
	return false;
}

/*
 * A warning when the database's schema is not the one recorded after
 * revision k (0: before any): what happened (msg), then each differing
 * object. Differences the previous comparison found already (an object
 * an earlier downgrade left behind) are not reported again.
 */
static void
compare(struct rehearsal *t, size_t k, const struct sb_fp *live, char *msg)
{
	struct sb_fp_diff d = SB_FP_DIFF_INIT;
	size_t fresh = 0, shown = 0;

	sb_fp_diff(&t->file.revs[k].fp, live, &d);
	for (size_t i = 0; i < d.n; i++)
		fresh += !known(&t->prev, &d.items[i]);
	if (fresh > 0) {
		progress(t, NULL, 0, 0, true);
		t->warnings++;
		fprintf(stderr, "sqlbundle: warning: %s (%zu object%s "
		    "differ%s)\n", msg, fresh, fresh == 1 ? "" : "s",
		    fresh == 1 ? "s" : "");
		for (size_t i = 0; i < d.n && shown < DIFF_SHOWN; i++)
			if (!known(&t->prev, &d.items[i])) {
				fprintf(stderr, "  %s\n", d.items[i].text);
				shown++;
			}
		if (fresh > shown)
			fprintf(stderr, "  ... and %zu more\n", fresh - shown);
	}
	sb_fp_diff_release(&t->prev);
	t->prev = d;
	free(msg);
}

/*
 * An applier run of the bundle: verb to target (NULL: the head), the
 * schema before it and after each step recorded in *f.
 */
static int
run_recorded(struct rehearsal *t, const char *verb, const char *target,
    const char *what, struct sb_fp_file *f, struct sb_err *err)
{
	const char **args = sb_calloc(2 * t->conf.exclude.n + 6, sizeof(*args));
	struct sb_err e2 = SB_ERR_INIT;
	size_t n = 0;
	int ret;

	args[n++] = verb;
	args[n++] = t->bundle;
	if (target != NULL)
		args[n++] = target;
	args[n++] = "--fingerprints";
	args[n++] = t->recs;
	for (size_t i = 0; i < t->conf.exclude.n; i++) {
		args[n++] = "--exclude";
		args[n++] = t->conf.exclude.pat[i];
	}
	args[n] = NULL;
	unlink(t->recs);
	ret = run_applier(t, args, true, what, err);
	free(args);
	progress(t, NULL, 0, 0, true);
	/* After a failure: the records of the steps that committed. */
	if (sb_fp_file_load(f, t->recs, ret == 0 ? err : &e2) == -1 &&
	    ret == 0)
		return -1;
	return ret;
}

/*
 * The database's fingerprint in a run of its own (after a run that needs
 * only its last schema: one cold query beats one warm query a step).
 */
static int
fingerprint(struct rehearsal *t, struct sb_fp *fp, struct sb_err *err)
{
	const char **args = sb_calloc(2 * t->conf.exclude.n + 2, sizeof(*args));
	char *buf = NULL;
	size_t len = 0, n = 0;
	double t0;
	int ret;

	args[n++] = "fingerprint";
	for (size_t i = 0; i < t->conf.exclude.n; i++) {
		args[n++] = "--exclude";
		args[n++] = t->conf.exclude.pat[i];
	}
	args[n] = NULL;
	t0 = now();
	ret = run_applier(t, args, false, "fingerprint", err);
	t->fp_secs += now() - t0;
	t->fp_count++;
	free(args);
	if (ret == -1)
		return -1;
	if (sb_read_file(t->out, SB_FP_FILE_MAX, &buf, &len, err) == -1)
		return -1;
	ret = sb_fp_parse_text(fp, APPLIER " fingerprint", buf, len, err);
	free(buf);
	return ret;
}

/* Up to the head in one run, recording the schema after each revision. */
static int
phase_up(struct rehearsal *t, struct sb_err *err)
{
	t->phase = "up";
	sb_fp_file_release(&t->file);
	if (run_recorded(t, "upgrade", NULL, "upgrade to head", &t->file,
	    err) == -1)
		return -1;
	/* base, then every revision in apply order */
	if (t->file.n != t->chain.n + 1)
		return sb_err_set(err, SB_EIO, "%s recorded %zu schemas of "
		    "%zu revisions and base", APPLIER, t->file.n, t->chain.n);
	for (size_t k = 0; k <= t->chain.n; k++)
		if (strcmp(t->file.revs[k].id, rev_name(t, k)) != 0)
			return sb_err_set(err, SB_EIO, "%s recorded revision "
			    "\"%s\" where \"%s\" was expected", APPLIER,
			    t->file.revs[k].id, rev_name(t, k));
	return 0;
}

/*
 * Down from the head while the revisions are reversible, in one run,
 * each downgrade compared with the schema its upgrade started from.
 * *downs counts them.
 */
static int
phase_down(struct rehearsal *t, size_t *downs, struct sb_err *err)
{
	struct sb_fp_file f = SB_FP_FILE_INIT;
	size_t want = 0, j;
	int ret;

	while (want < t->chain.n &&
	    t->chain.revs[t->chain.n - want - 1].downgrade != NULL)
		want++;
	*downs = 0;
	if (want == 0)
		return 0;
	t->phase = "down";
	ret = run_recorded(t, "downgrade", rev_name(t, t->chain.n - want),
	    "downgrade", &f, err);
	if (ret == -1)
		sb_err_prefix(err, "downgrading");
	/* The first record is the head the run started from. */
	for (j = 1; j < f.n && j <= want; j++) {
		size_t k = t->chain.n - j + 1;	/* the revision undone */
		const struct sb_revision *r = &t->chain.revs[k - 1];

		if (strcmp(f.revs[j].id, rev_name(t, k - 1)) != 0) {
			if (ret == 0)
				ret = sb_err_set(err, SB_EIO, "%s recorded "
				    "revision \"%s\" where \"%s\" was "
				    "expected", APPLIER, f.revs[j].id,
				    rev_name(t, k - 1));
			break;
		}
		compare(t, k - 1, &f.revs[j].fp, sb_printf("the downgrade of "
		    "%s (%s) does not give back the schema %s", r->id, r->file,
		    k == 1 ? "of an empty database" : "its upgrade started "
		    "from"));
		(*downs)++;
	}
	if (ret == 0 && *downs != want)
		ret = sb_err_set(err, SB_EIO, "%s recorded %zu downgrades of "
		    "%zu", APPLIER, *downs, want);
	sb_fp_file_release(&f);
	return ret;
}

/*
 * Up again to the head in one run, as a store catching up does; only the
 * head's schema is compared, so it is taken once, after the run.
 */
static int
phase_again(struct rehearsal *t, size_t downs, struct sb_err *err)
{
	struct sb_fp fp = SB_FP_INIT;
	const char *args[] = { "upgrade", t->bundle, NULL };
	int ret = -1;

	if (downs == 0)
		return 0;
	t->phase = NULL;
	if (run_applier(t, args, true, "upgrade again to head", err) == -1) {
		sb_err_prefix(err, "upgrading again after %zu downgrade%s",
		    downs, downs == 1 ? "" : "s");
		goto out;
	}
	if (fingerprint(t, &fp, err) == -1)
		goto out;
	/* Another finding than the downgrades': report all of it. */
	sb_fp_diff_release(&t->prev);
	compare(t, t->chain.n, &fp, sb_printf("upgrading again from %s "
	    "gives another schema than the first upgrade to %s",
	    rev_name(t, t->chain.n - downs), rev_name(t, t->chain.n)));
	ret = 0;
out:
	sb_fp_release(&fp);
	return ret;
}

/*
 * The applier must run and be of this version: the rehearsal is worth
 * what the stores will run.
 */
static int
check_applier(struct rehearsal *t, struct sb_err *err)
{
	char *argv[] = { t->applier, "--version", NULL };
	char *buf = NULL;
	size_t len = 0;
	int status, ret = -1;

	if (sb_proc_run(argv, t->out, t->errf, false, &status, err) == -1)
		return -1;
	if (status != 0) {
		sb_err_set(err, SB_EIO, "could not run \"%s\" (exit status "
		    "%d)", t->applier, status);
		sb_err_hint(err, "install " APPLIER " beside sqlbundle or on "
		    "PATH, or name it with --applier PATH");
		return -1;
	}
	if (sb_read_file(t->out, 4096, &buf, &len, err) == -1)
		return -1;
	if (strcmp(buf, APPLIER " " SB_VERSION "\n") != 0) {
		buf[strcspn(buf, "\n")] = '\0';
		sb_err_set(err, SB_EIO, "\"%s\" is \"%.64s\", not this "
		    "sqlbundle's version " SB_VERSION, t->applier, buf);
		sb_err_hint(err, "name the " APPLIER " of version " SB_VERSION
		    " with --applier PATH");
		goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

/* The key, the bundle and the server of the run. */
static int
prepare(struct rehearsal *t, struct sb_ctx *ctx, const struct test_opts *o,
    struct sb_err *err)
{
	const char *tmp = getenv("TMPDIR");
	struct sb_pack_req req;
	struct sb_pack_res res;
	char id[SB_KEYID_HEX], *key = NULL;
	int ret = -1;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	t->work = sb_printf("%s/sqlbundle-rehearsal.XXXXXX", tmp);
	if (mkdtemp(t->work) == NULL) {
		sb_err_sys(err, "could not create a folder in \"%s\"", tmp);
		free(t->work);
		t->work = NULL;
		return -1;
	}
	t->out = sb_printf("%s/out", t->work);
	t->errf = sb_printf("%s/err", t->work);
	t->recs = sb_printf("%s/fingerprints", t->work);
	t->applier = applier_path(o->applier);
	if (check_applier(t, err) == -1)
		goto out;
	t->bundle = sb_printf("%s/rehearsal.tar.zst", t->work);
	t->trust = sb_printf("%s/rehearsal.pub", t->work);
	key = sb_printf("%s/rehearsal.key", t->work);
	if (sb_keygen(t->work, "rehearsal", id, err) == -1)
		goto out;
	memset(&req, 0, sizeof(req));
	req.keys[0] = key;
	req.nkeys = 1;
	req.out = t->bundle;
	req.comp = SB_COMPRESS_ZSTD;
	req.level = 1;		/* read once per step: speed over size */
	req.rehearsal = true;
	if (sb_pack(ctx, &req, &res, err) == -1) {
		sb_pack_res_release(&res);
		goto out;
	}
	sb_pack_res_release(&res);
	if (o->scratch != NULL) {
		t->conninfo = o->scratch;
	} else {
		if (sb_pgtmp_start(&t->pg, o->pgbin, err) == -1)
			goto out;
		t->conninfo = t->pg.conninfo;
	}
	ret = 0;
out:
	free(key);
	return ret;
}

static void
rehearsal_release(struct rehearsal *t)
{
	sb_pgtmp_stop(&t->pg);
	if (t->work != NULL)
		sb_proc_rmtree(t->work);
	free(t->work);
	free(t->applier);
	free(t->bundle);
	free(t->trust);
	free(t->out);
	free(t->errf);
	free(t->recs);
	sb_fp_diff_release(&t->prev);
	sb_fp_file_release(&t->file);
	sb_chain_release(&t->chain);
	sb_conf_release(&t->conf);
}

static void
summary(const struct rehearsal *t, size_t downs, double secs)
{
	const struct sb_revision *big = &t->chain.revs[t->largest_rev];

	printf("rehearsed %zu revision%s in %.1f s: up %zu, down %zu, up "
	    "again %zu\n", t->chain.n, t->chain.n == 1 ? "" : "s", secs,
	    t->chain.n, downs, downs);
	if (downs < t->chain.n)
		printf("  down stopped at %s (%s): irreversible\n",
		    t->chain.revs[t->chain.n - downs - 1].id,
		    t->chain.revs[t->chain.n - downs - 1].file);
	if (t->largest_what != NULL)
		printf("  largest step: %s %s (%s) in %.2f s\n",
		    t->largest_what, big->id, big->file, t->largest);
	printf("  fingerprints: %zu in %.1f s\n", t->fp_count, t->fp_secs);
	if (t->warnings > 0)
		printf("  %zu warning%s (see above)\n", t->warnings,
		    t->warnings == 1 ? "" : "s");
}

int
sb_cmd_test(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	struct rehearsal t;
	struct test_opts o;
	struct sigaction sa, old[3];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	char *path = NULL;
	size_t downs = 0;
	double t0;
	int help, ret = -1;

	if (test_parse(argc, argv, &o, &help, err) == -1)
		return -1;
	if (help) {
		test_usage();
		return 0;
	}
	memset(&t, 0, sizeof(t));
	t.tty = isatty(STDERR_FILENO);
	/* Stop between steps on a signal, leaving nothing behind. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	if (sb_conf_load(&t.conf, ctx->dir, err) == -1 ||
	    sb_chain_load(&t.chain, ctx->dir, err) == -1)
		goto out;
	if (t.chain.n == 0) {
		sb_err_set(err, SB_EINVALID, "no revisions to rehearse in "
		    "\"%s/revisions\"", ctx->dir);
		goto out;
	}
	t0 = now();
	if (prepare(&t, ctx, &o, err) == -1 ||
	    phase_up(&t, err) == -1 ||
	    phase_down(&t, &downs, err) == -1 ||
	    phase_again(&t, downs, err) == -1)
		goto out;
	path = sb_printf("%s/revisions/" SB_FP_FILE, ctx->dir);
	if (sb_fp_file_write(&t.file, path, err) == -1)
		goto out;
	summary(&t, downs, now() - t0);
	printf("  fingerprints of %zu revisions written to revisions/"
	    SB_FP_FILE " (commit it)\n", t.chain.n);
	ret = 0;
out:
	free(path);
	rehearsal_release(&t);
	for (size_t i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	return ret;
}
