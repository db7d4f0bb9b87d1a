/*
 * sqlbundle check: validate chain, seeds and CHECKSUMS; warn about statements
 * that break a step's transaction or are unsafe to run twice.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/fingerprint.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/sqlindex.h"
#include "sqlbundle/sqlsplit.h"
#include "checksums.h"
#include "fprec.h"
#include "cmd.h"
#include "opts.h"
#include "seedcsv.h"
#include "seeds.h"
#include "txrule.h"

/*
 * Just enough of PostgreSQL's lexer to see the words of a statement that
 * sb_sql_split() already delimited: quoted text is skipped, never a word.
 */
struct lexer {
	const char	*s;
	size_t		 len, i;
};

/* Next word of the statement: true with *w, *n; false at its end. */
static bool
next_word(struct lexer *lx, const char **w, size_t *n)
{
	return sb_sql_next_word(lx->s, lx->len, &lx->i, w, n);
}

/* Short for the rules below. */
static bool
is(const struct sb_words *ws, size_t i, const char *kw)
{
	return sb_words_is(ws, i, kw);
}

/* Words i.. are IF [NOT] EXISTS. */
static bool
if_exists(const struct sb_words *ws, size_t i, bool not)
{
	if (!is(ws, i, "IF"))
		return false;
	if (not)
		return is(ws, i + 1, "NOT") && is(ws, i + 2, "EXISTS");
	return is(ws, i + 1, "EXISTS");
}

/* INSERT: does ON CONFLICT appear anywhere in it? */
static bool
has_on_conflict(struct lexer *lx)
{
	const char *w;
	size_t n;
	bool on = false;

	while (next_word(lx, &w, &n)) {
		if (on && n == 8 && strncasecmp(w, "CONFLICT", 8) == 0)
			return true;
		on = n == 2 && strncasecmp(w, "ON", 2) == 0;
	}
	return false;
}

/*
 * A statement of a transactional: false revision: is it safe to run a
 * second time (the one in flight at a crash does)? Writes a warning.
 */
static bool
idempotent(const struct sb_words *ws, struct lexer *rest, char *msg, size_t cap)
{
	static const char *const lead[] = {
		"UNIQUE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL"
	};
	char kind[SB_WORDS_MAX * 25];
	struct sb_ibuild b;
	size_t i = 1, k;

	if (sb_sql_index_build(rest->s, rest->len, &b) &&
	    b.kind == SB_IBUILD_CREATE && b.name[0] == '\0') {
		snprintf(msg, cap, "CREATE INDEX CONCURRENTLY without a name "
		    "cannot be repaired: an interrupted build leaves an "
		    "invalid index, which sqlbundle-apply drops and builds "
		    "again only if the statement names it");
		return false;
	}
	if (is(ws, 0, "CREATE")) {
		if (is(ws, 1, "OR") && is(ws, 2, "REPLACE"))
			return true;
		snprintf(kind, sizeof(kind), "CREATE");
		for (;;) {
			for (k = 0; k < sizeof(lead) / sizeof(lead[0]); k++)
				if (is(ws, i, lead[k]))
					break;
			if (k == sizeof(lead) / sizeof(lead[0]))
				break;
			i++;
		}
		if (is(ws, i, "MATERIALIZED") && is(ws, i + 1, "VIEW")) {
			i += 2;
			snprintf(kind, sizeof(kind), "CREATE MATERIALIZED VIEW");
		} else if (is(ws, i, "TABLE") || is(ws, i, "SCHEMA") ||
		    is(ws, i, "SEQUENCE") || is(ws, i, "EXTENSION") ||
		    is(ws, i, "INDEX")) {
			snprintf(kind, sizeof(kind), "CREATE %s%s", ws->w[i],
			    is(ws, i, "INDEX") && is(ws, i + 1, "CONCURRENTLY") ?
			    " CONCURRENTLY" : "");
			if (is(ws, i, "INDEX") && is(ws, i + 1, "CONCURRENTLY"))
				i++;
			i++;
		} else if (is(ws, i, "VIEW") || is(ws, i, "FUNCTION") ||
		    is(ws, i, "PROCEDURE") || is(ws, i, "TRIGGER")) {
			snprintf(msg, cap, "CREATE %s without OR REPLACE is not "
			    "idempotent: in a transactional: false revision, "
			    "the statement running at a crash runs again",
			    ws->w[i]);
			return false;
		} else {
			return true;
		}
		if (if_exists(ws, i, true))
			return true;
		snprintf(msg, cap, "%s without IF NOT EXISTS is not idempotent: "
		    "in a transactional: false revision, the statement "
		    "running at a crash runs again", kind);
		return false;
	}
	if (is(ws, 0, "DROP")) {
		if (is(ws, 1, "OWNED"))
			return true;
		for (i = 1; i < SB_WORDS_MAX - 1; i++)
			if (if_exists(ws, i, false))
				return true;
		/* two-word kinds: MATERIALIZED VIEW, FOREIGN TABLE, ... */
		i = is(ws, 1, "MATERIALIZED") || is(ws, 1, "FOREIGN") ||
		    is(ws, 1, "EVENT") || is(ws, 1, "ACCESS") ? 2 : 1;
		if (is(ws, i + 1, "CONCURRENTLY"))
			i++;
		snprintf(msg, cap, "%s without IF EXISTS is not idempotent: "
		    "in a transactional: false revision, the statement "
		    "running at a crash runs again", sb_words_join(ws, i, kind,
		    sizeof(kind)));
		return false;
	}
	if (is(ws, 0, "INSERT")) {
		rest->i = 0;
		if (has_on_conflict(rest))
			return true;
		snprintf(msg, cap, "INSERT without ON CONFLICT is not "
		    "idempotent: in a transactional: false revision, the "
		    "statement running at a crash runs again");
		return false;
	}
	return true;
}

/*
 * A statement of a transactional revision (or of its SQL seeds): it must
 * neither end the step's transaction nor need to run outside one.
 */
static bool
fits_transaction(const char *sql, size_t len, char *msg, size_t cap)
{
	char what[SB_WORDS_MAX * 25];

	switch (sb_tx_need(sql, len, what, sizeof(what))) {
	case SB_TX_CONTROL:
		snprintf(msg, cap, "%s in a transactional revision: each "
		    "step runs in one transaction, which this would break",
		    what);
		return false;
	case SB_TX_OUTSIDE:
		snprintf(msg, cap, "%s cannot run inside a transaction block: "
		    "set \"transactional: false\" for this revision", what);
		return false;
	default:
		return true;
	}
}

/* Warn about the statements of one script; returns the warning count. */
static unsigned
check_script(const char *path, const char *sql, size_t len,
    unsigned first_line, bool transactional)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_stmt *st = NULL;
	size_t n = 0;
	unsigned warnings = 0;
	char msg[512];

	if (sb_sql_split(sql, len, &st, &n, &err) == -1)
		return 0;	/* the chain loader has refused it already */
	for (size_t i = 0; i < n; i++) {
		struct lexer lx = { sql + st[i].off, st[i].len, 0 };
		struct sb_words ws;
		bool ok;

		sb_words_read(lx.s, lx.len, &lx.i, &ws);
		if (transactional)
			ok = fits_transaction(lx.s, lx.len, msg,
			    sizeof(msg));
		else
			ok = idempotent(&ws, &lx, msg, sizeof(msg));
		if (!ok) {
			fprintf(stderr, "sqlbundle: warning: %s:%u: %s\n", path,
			    first_line + st[i].line - 1, msg);
			warnings++;
		}
	}
	free(st);
	return warnings;
}

/*
 * An upgrade section with nothing at all in it is a valid no-op step, but
 * outside a merge it is more often a revision not written yet: a comment
 * in the section says the no-op is meant.
 */
static unsigned
check_empty(const struct sb_revision *r)
{
	if (r->nparents > 1 || r->upgrade_len != strspn(r->upgrade,
	    " \t\r\n"))
		return 0;
	fprintf(stderr, "sqlbundle: warning: %s:%u: the upgrade section is "
	    "empty: a no-op step that only moves the version (write a comment "
	    "in it if that is meant)\n", r->path, r->upgrade_line - 1);
	return 1;
}

/* CSV seeds need a header; SQL seeds must split into statements. */
static int
check_seed(const struct sb_seed_file *f, bool transactional,
    unsigned *warnings, struct sb_err *err)
{
	char **cols = NULL, *buf = NULL;
	size_t ncols = 0, hlen, len, n;
	struct sb_stmt *st = NULL;
	int ret = -1;

	if (f->kind == SB_ENTRY_SEED_CSV) {
		if (sb_seed_csv_header(f->path, &cols, &ncols, &hlen, err) == -1)
			return -1;
		sb_names_free(cols, ncols);
		return 0;
	}
	if (sb_read_file(f->path, SB_SQL_SEED_MAX, &buf, &len, err) == -1)
		return -1;
	if (sb_sql_split(buf, len, &st, &n, err) == -1) {
		sb_err_prefix(err, "%s", f->path);
		goto out;
	}
	if (transactional)
		*warnings += check_script(f->path, buf, len, 1, true);
	ret = 0;
out:
	free(st);
	free(buf);
	return ret;
}

static void
usage(void)
{
	fputs("Usage: sqlbundle check [-q]\n"
	    "\n"
	    "Validate revisions/ (headers, ids, the chain: one base, one head, "
	    "no cycle),\n"
	    "seeds/ and revisions/CHECKSUMS; warn about statements that break "
	    "a step's\n"
	    "transaction, or that are not idempotent in a transactional: false "
	    "revision.\n"
	    "An index build (CREATE INDEX or REINDEX CONCURRENTLY) that a "
	    "crash interrupts\n"
	    "leaves an invalid index: sqlbundle-apply drops and builds it again "
	    "when it\n"
	    "resumes, and stops rather than succeed with one.\n"
	    "\n"
	    "Options:\n"
	    "  -q, --quiet  print no summary, only warnings and errors\n"
	    "  -h, --help   show this help and exit\n"
	    "\n"
	    "Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage "
	    "error, 4 I/O error.\n", stdout);
}

int
sb_cmd_check(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sb_chain chain = SB_CHAIN_INIT;
	struct sb_seeds seeds = SB_SEEDS_INIT;
	struct sb_fprec fprec = SB_FPREC_INIT;
	unsigned warnings = 0;
	bool quiet = false;
	int c, ret = -1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return sb_cli_opt_error("check", c, argv, err);
		}
	}
	if (optind < argc)
		return sb_err_set(err, SB_EUSAGE, "check: unexpected argument "
		    "\"%s\"", argv[optind]);

	if (sb_chain_load(&chain, ctx->dir, err) == -1 ||
	    sb_seeds_load(&seeds, ctx->dir, &chain, err) == -1 ||
	    sb_checksums_verify(ctx->dir, &chain, err) == -1)
		goto out;
	for (size_t i = 0; i < chain.n; i++) {
		const struct sb_revision *r = &chain.revs[i];

		for (size_t j = 0; j < seeds.nfiles[i]; j++)
			if (check_seed(&seeds.files[i][j], r->transactional,
			    &warnings, err) == -1)
				goto out;
		warnings += check_script(r->path, r->upgrade, r->upgrade_len,
		    r->upgrade_line, r->transactional);
		warnings += check_empty(r);
		if (r->downgrade != NULL)
			warnings += check_script(r->path, r->downgrade,
			    r->downgrade_len, r->downgrade_line,
			    r->transactional);
	}
	if (sb_fprec_load(&fprec, ctx->dir, &chain, -1, (ssize_t)chain.n - 1,
	    err) == -1)
		goto out;
	/* A project never rehearsed says so once, below; a gap, per revision. */
	if (fprec.present) {
		for (size_t i = 0; i < fprec.nmissing; i++)
			fprintf(stderr, "sqlbundle: warning: revision \"%s\" "
			    "(%s): no recorded schema fingerprint (run "
			    "\"sqlbundle test\")\n",
			    chain.revs[fprec.missing[i]].id,
			    chain.revs[fprec.missing[i]].path);
		warnings += (unsigned)fprec.nmissing;
	}
	if (!quiet) {
		if (chain.n == 0)
			printf("0 revisions\n");
		else
			printf("%zu revision%s, base %s, head %s\n", chain.n,
			    chain.n == 1 ? "" : "s", chain.revs[0].id,
			    chain.revs[chain.n - 1].id);
		if (chain.n > 0 && !fprec.present)
			printf("no schema fingerprints recorded (revisions/"
			    SB_FP_FILE "): run \"sqlbundle test\"\n");
		else if (chain.n > 0)
			printf("schema fingerprints of %zu of the %zu "
			    "revisions (revisions/" SB_FP_FILE ")\n",
			    chain.n - fprec.nmissing, chain.n);
	}
	ret = 0;
out:
	sb_fprec_release(&fprec);
	sb_seeds_release(&seeds);
	sb_chain_release(&chain);
	return ret;
}
