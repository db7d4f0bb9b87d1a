/*
 * sqlbundle render: the script psql -v ON_ERROR_STOP=1 -1 -f would run over a
 * range, version-table statements included, as Alembic's --sql mode writes it.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/sqlsplit.h"
#include "cmd.h"
#include "opts.h"
#include "seedcsv.h"
#include "seeds.h"

#define COPY_BUF	(256 * 1024)

struct render {
	const struct sb_chain	*chain;
	const struct sb_seeds	*seeds;
	char			*vt;	/* "schema"."table", quoted */
	char			*pkc;	/* "table_pkc", quoted */
	bool			*heads;	/* by apply position */
};

/* A quoted identifier: "name", embedded quotes doubled. Malloc'd. */
static char *
quote_ident(const char *s, size_t n)
{
	char *q = sb_malloc(2 * n + 3), *d = q;

	*d++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			*d++ = '"';
		*d++ = s[i];
	}
	*d++ = '"';
	*d = '\0';
	return q;
}

/* A quoted literal: 'text', embedded quotes doubled. */
static void
put_literal(const char *s)
{
	putchar('\'');
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			putchar('\'');
		putchar(*s);
	}
	putchar('\'');
}

/* SCHEMA.TABLE, or TABLE in schema public. */
static int
version_table(struct render *rd, const char *arg, struct sb_err *err)
{
	const char *dot = strchr(arg, '.'), *table = dot ? dot + 1 : arg;
	char *s, *t, *pk;

	if ((dot != NULL && (dot == arg || strchr(table, '.') != NULL)) ||
	    *table == '\0')
		return sb_err_set(err, SB_EUSAGE, "render: invalid "
		    "--version-table \"%s\" (expected SCHEMA.TABLE)", arg);
	s = dot ? quote_ident(arg, (size_t)(dot - arg)) :
	    quote_ident("public", 6);
	t = quote_ident(table, strlen(table));
	rd->vt = sb_printf("%s.%s", s, t);
	pk = sb_printf("%s_pkc", table);
	rd->pkc = quote_ident(pk, strlen(pk));
	free(pk);
	free(s);
	free(t);
	return 0;
}

/*
 * Print a script so that whatever follows starts a new statement on a
 * new line: a final statement without ';' gets one (on a line of its
 * own, in case the script ends in a -- comment).
 */
static int
put_script(const char *sql, size_t len, const char *name, struct sb_err *err)
{
	struct sb_stmt *st = NULL;
	size_t n = 0, end;

	if (sb_sql_split(sql, len, &st, &n, err) == -1)
		return sb_err_prefix(err, "%s", name);
	fwrite(sql, 1, len, stdout);
	if (len > 0 && sql[len - 1] != '\n')
		putchar('\n');
	if (n > 0) {
		end = st[n - 1].off + st[n - 1].len;
		if (end >= len || sql[end] != ';')
			puts(";");
	}
	free(st);
	return 0;
}

/* COPY ... FROM STDIN with the CSV rows inline, ended by \. */
static int
put_csv(const struct sb_seed_file *f, struct sb_err *err)
{
	char **cols = NULL, *buf = NULL, *s = NULL, *t = NULL, last = '\n';
	size_t ncols = 0, hlen = 0, r;
	FILE *in = NULL;
	int ret = -1;

	if (sb_seed_csv_header(f->path, &cols, &ncols, &hlen, err) == -1)
		return -1;
	if ((in = fopen(f->path, "rb")) == NULL ||
	    fseek(in, (long)hlen, SEEK_SET) == -1) {
		sb_err_sys(err, "could not read \"%s\"", f->path);
		goto out;
	}
	s = quote_ident(f->schema, strlen(f->schema));
	t = quote_ident(f->table, strlen(f->table));
	printf("COPY %s.%s (", s, t);
	for (size_t i = 0; i < ncols; i++) {
		char *c = quote_ident(cols[i], strlen(cols[i]));

		printf("%s%s", i ? ", " : "", c);
		free(c);
	}
	printf(") FROM STDIN (FORMAT csv);\n");
	buf = sb_malloc(COPY_BUF);
	while ((r = fread(buf, 1, COPY_BUF, in)) > 0) {
		fwrite(buf, 1, r, stdout);
		last = buf[r - 1];
	}
	if (ferror(in)) {
		sb_err_sys(err, "could not read \"%s\"", f->path);
		goto out;
	}
	if (last != '\n')
		putchar('\n');
	printf("\\.\n");
	ret = 0;
out:
	if (in != NULL)
		fclose(in);
	free(buf);
	free(s);
	free(t);
	sb_names_free(cols, ncols);
	return ret;
}

static int
put_seeds(const struct render *rd, size_t k, struct sb_err *err)
{
	for (size_t j = 0; j < rd->seeds->nfiles[k]; j++) {
		const struct sb_seed_file *f = &rd->seeds->files[k][j];
		char *buf = NULL;
		size_t len = 0;
		int r;

		printf("\n-- seed data: %s\n", f->name);
		if (f->kind == SB_ENTRY_SEED_CSV) {
			if (put_csv(f, err) == -1)
				return -1;
			continue;
		}
		if (sb_read_file(f->path, SB_SQL_SEED_MAX, &buf, &len, err) == -1)
			return -1;
		r = put_script(buf, len, f->path, err);
		free(buf);
		if (r == -1)
			return -1;
	}
	return 0;
}

/*
 * Read every seed of revisions (first, last] as put_seeds will, so that a
 * bad one is refused before anything is printed: a partial script run by
 * `psql -1` would commit a step without its version-table row.
 */
static int
check_seeds(const struct render *rd, ssize_t first, ssize_t last,
    struct sb_err *err)
{
	for (ssize_t k = first + 1; k <= last; k++) {
		for (size_t j = 0; j < rd->seeds->nfiles[k]; j++) {
			const struct sb_seed_file *f = &rd->seeds->files[k][j];
			struct sb_stmt *st = NULL;
			char **cols = NULL, *buf = NULL;
			size_t n = 0, len = 0;
			int r;

			if (f->kind == SB_ENTRY_SEED_CSV) {
				if (sb_seed_csv_header(f->path, &cols, &n, &len,
				    err) == -1)
					return -1;
				sb_names_free(cols, n);
				continue;
			}
			if (sb_read_file(f->path, SB_SQL_SEED_MAX, &buf, &len,
			    err) == -1)
				return -1;
			r = sb_sql_split(buf, len, &st, &n, err);
			free(st);
			free(buf);
			if (r == -1)
				return sb_err_prefix(err, "%s", f->path);
		}
	}
	return 0;
}

/* Its statements may not run in a transaction block: say so twice. */
static void
non_transactional(const struct sb_revision *r)
{
	printf("-- transactional: false: run this script without psql's -1 "
	    "(--single-transaction)\n");
	fprintf(stderr, "sqlbundle: warning: revision \"%s\" (%s) is "
	    "transactional: false: run the script without psql's -1\n",
	    r->id, r->path);
}

/* Parents of revision k that are heads now, in the order written. */
static size_t
head_parents(const struct render *rd, size_t k, size_t *out)
{
	const struct sb_revision *r = &rd->chain->revs[k];
	size_t n = 0;

	for (size_t i = 0; i < r->nparents; i++) {
		ssize_t p = sb_chain_find(rd->chain, r->parents[i]);

		if (p >= 0 && rd->heads[p])
			out[n++] = (size_t)p;
	}
	return n;
}

/* Step k forward on the heads; P, the parents it replaces, into out. */
static size_t
advance(struct render *rd, size_t k, size_t *out)
{
	size_t n = head_parents(rd, k, out);

	for (size_t i = 0; i < n; i++)
		rd->heads[out[i]] = false;
	rd->heads[k] = true;
	return n;
}

static void
put_parents(const struct sb_revision *r)
{
	for (size_t i = 0; i < r->nparents; i++)
		printf("%s%s", i ? ", " : "", r->parents[i]);
}

static int
upgrade(struct render *rd, ssize_t first, ssize_t last, struct sb_err *err)
{
	const struct sb_chain *chain = rd->chain;
	size_t *p = NULL, np, k;
	int ret = -1;

	for (k = 0; (ssize_t)k <= first; k++) {
		const struct sb_revision *r = &chain->revs[k];

		p = sb_realloc(p, (r->nparents + 1) * sizeof(*p));
		advance(rd, k, p);
	}
	if (first == -1)
		printf("\nCREATE TABLE IF NOT EXISTS %s (version_num VARCHAR(32) "
		    "NOT NULL, CONSTRAINT %s PRIMARY KEY (version_num));\n",
		    rd->vt, rd->pkc);
	for (k = (size_t)(first + 1); (ssize_t)k <= last; k++) {
		const struct sb_revision *r = &chain->revs[k];

		p = sb_realloc(p, (r->nparents + 1) * sizeof(*p));
		printf("\n-- Running upgrade ");
		put_parents(r);
		printf(" -> %s\n", r->id);
		if (!r->transactional)
			non_transactional(r);
		putchar('\n');
		if (put_script(r->upgrade, r->upgrade_len, r->path, err) == -1 ||
		    put_seeds(rd, k, err) == -1)
			goto out;
		putchar('\n');
		np = advance(rd, k, p);
		if (np == 0) {
			printf("INSERT INTO %s (version_num) VALUES (", rd->vt);
			put_literal(r->id);
			printf(");\n");
			continue;
		}
		for (size_t i = 1; i < np; i++) {
			printf("DELETE FROM %s WHERE version_num = ", rd->vt);
			put_literal(chain->revs[p[i]].id);
			printf(";\n");
		}
		printf("UPDATE %s SET version_num = ", rd->vt);
		put_literal(r->id);
		printf(" WHERE version_num = ");
		put_literal(chain->revs[p[0]].id);
		printf(";\n");
	}
	ret = 0;
out:
	free(p);
	return ret;
}

/*
 * Revert (target, start] newest first. The heads before step k are the
 * heads after it, less k, plus the parents k replaced going up: replay
 * the chain once to learn those.
 */
static int
downgrade(struct render *rd, ssize_t target, ssize_t start,
    struct sb_err *err)
{
	const struct sb_chain *chain = rd->chain;
	size_t **repl = NULL, *nrepl = NULL, k, cnt = (size_t)(start - target);
	int ret = -1;

	repl = sb_calloc(cnt, sizeof(*repl));
	nrepl = sb_calloc(cnt, sizeof(*nrepl));
	for (k = 0; (ssize_t)k <= start; k++) {
		const struct sb_revision *r = &chain->revs[k];
		size_t *p = sb_malloc((r->nparents + 1) * sizeof(*p)), n;

		n = advance(rd, k, p);
		if ((ssize_t)k > target) {
			repl[k - (size_t)(target + 1)] = p;
			nrepl[k - (size_t)(target + 1)] = n;
		} else {
			free(p);
		}
	}
	for (k = (size_t)start + 1; (ssize_t)--k > target;) {
		const struct sb_revision *r = &chain->revs[k];
		size_t *p = repl[k - (size_t)(target + 1)];
		size_t np = nrepl[k - (size_t)(target + 1)];

		printf("\n-- Running downgrade %s -> ", r->id);
		put_parents(r);
		printf("\n");
		if (!r->transactional)
			non_transactional(r);
		putchar('\n');
		if (put_script(r->downgrade, r->downgrade_len, r->path,
		    err) == -1)
			goto out;
		putchar('\n');
		if (np == 0) {
			printf("DELETE FROM %s WHERE version_num = ", rd->vt);
			put_literal(r->id);
			printf(";\n");
			continue;
		}
		printf("UPDATE %s SET version_num = ", rd->vt);
		put_literal(chain->revs[p[0]].id);
		printf(" WHERE version_num = ");
		put_literal(r->id);
		printf(";\n");
		for (size_t i = 1; i < np; i++) {
			printf("INSERT INTO %s (version_num) VALUES (", rd->vt);
			put_literal(chain->revs[p[i]].id);
			printf(");\n");
		}
	}
	ret = 0;
out:
	for (k = 0; k < cnt; k++)
		free(repl[k]);
	free(repl);
	free(nrepl);
	return ret;
}

static int
irreversible(const struct sb_chain *chain, ssize_t target, ssize_t start,
    struct sb_err *err)
{
	for (ssize_t k = start; k > target; k--) {
		const struct sb_revision *r = &chain->revs[k];

		if (r->downgrade == NULL)
			return sb_err_set(err, SB_EINVALID, "revision \"%s\" "
			    "(%s) is irreversible: it has no \"-- +downgrade\" "
			    "section", r->id, r->path);
	}
	return 0;
}

static void
header(const char *what, const char *from, const char *to)
{
	printf("-- sqlbundle render: %s %s -> %s\n"
	    "-- run with: psql -v ON_ERROR_STOP=1 -1 -f FILE\n", what, from,
	    to);
}

/* Position of a --from/--to value: -1 for base, n-1 for head. */
static int
resolve(const struct sb_chain *chain, const char *opt, const char *v,
    ssize_t *pos, struct sb_err *err)
{
	if (strcmp(v, "base") == 0)
		*pos = -1;
	else if (strcmp(v, "head") == 0)
		*pos = (ssize_t)chain->n - 1;
	else if ((*pos = sb_chain_find(chain, v)) == -1)
		return sb_err_set(err, SB_EINVALID, "unknown revision \"%s\" "
		    "(%s)", v, opt);
	return 0;
}

static void
usage(void)
{
	fputs("Usage: sqlbundle render [--from REV|base] [--to REV|head] "
	    "[--downgrade]\n"
	    "                        [--version-table SCHEMA.TABLE]\n"
	    "\n"
	    "Print the script that psql -v ON_ERROR_STOP=1 -1 -f would run to "
	    "move a\n"
	    "database over a range: each revision's section, its seed data "
	    "(CSV as inline\n"
	    "COPY), and the version-table statements, as Alembic's --sql mode "
	    "writes them.\n"
	    "\n"
	    "Options:\n"
	    "  --from REV|base             start (default: base; head with "
	    "--downgrade)\n"
	    "  --to REV|head               end (default: head; base with "
	    "--downgrade)\n"
	    "  --downgrade                 revert from --from down to --to\n"
	    "  --version-table SCHEMA.TABLE  default public.alembic_version\n"
	    "  -h, --help                  show this help and exit\n", stdout);
}

int
sb_cmd_render(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	enum { OPT_FROM = 256, OPT_TO, OPT_DOWN, OPT_VT };
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "downgrade", no_argument, NULL, OPT_DOWN },
		{ "version-table", required_argument, NULL, OPT_VT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sb_chain chain = SB_CHAIN_INIT;
	struct sb_seeds seeds = SB_SEEDS_INIT;
	struct render rd;
	const char *from = NULL, *to = NULL, *vt = "public.alembic_version";
	bool down = false;
	ssize_t first, last;
	int c, ret = -1;

	memset(&rd, 0, sizeof(rd));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_DOWN:
			down = true;
			break;
		case OPT_VT:
			vt = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return sb_cli_opt_error("render", c, argv, err);
		}
	}
	if (optind < argc)
		return sb_err_set(err, SB_EUSAGE, "render: unexpected argument "
		    "\"%s\"", argv[optind]);
	if (version_table(&rd, vt, err) == -1)
		return -1;
	if (sb_chain_load(&chain, ctx->dir, err) == -1 ||
	    sb_seeds_load(&seeds, ctx->dir, &chain, err) == -1)
		goto out;
	rd.chain = &chain;
	rd.seeds = &seeds;
	rd.heads = sb_calloc(chain.n + 1, sizeof(*rd.heads));
	if (!down) {
		if (sb_chain_range(&chain, from, to, &first, &last, err) == -1 ||
		    check_seeds(&rd, first, last, err) == -1)
			goto out;
		header("upgrade", first >= 0 ? chain.revs[first].id : "base",
		    chain.revs[last].id);
		ret = upgrade(&rd, first, last, err);
	} else {
		if (resolve(&chain, "--from", from ? from : "head", &last,
		    err) == -1 ||
		    resolve(&chain, "--to", to ? to : "base", &first, err) == -1)
			goto out;
		if (first >= last) {
			sb_err_set(err, SB_EINVALID, "nothing to downgrade: "
			    "\"%s\" is not before \"%s\" in apply order",
			    first >= 0 ? chain.revs[first].id : "base",
			    last >= 0 ? chain.revs[last].id : "base");
			goto out;
		}
		/* refuse an irreversible revision before printing anything */
		if (irreversible(&chain, first, last, err) == -1)
			goto out;
		header("downgrade", chain.revs[last].id,
		    first >= 0 ? chain.revs[first].id : "base");
		ret = downgrade(&rd, first, last, err);
	}
	if (ret == 0 && (fflush(stdout) == EOF || ferror(stdout)))
		ret = sb_err_sys(err, "could not write the script");
out:
	free(rd.heads);
	free(rd.vt);
	free(rd.pkc);
	sb_seeds_release(&seeds);
	sb_chain_release(&chain);
	return ret;
}
