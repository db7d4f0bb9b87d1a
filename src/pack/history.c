/* sqlbundle history: the revisions in apply order, one line each. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/fs.h"
#include "cmd.h"
#include "opts.h"

/* Parents wider than this are not padded (a merge of many heads). */
#define PARENTS_PAD	40

static void
usage(void)
{
	fputs("Usage: sqlbundle history\n"
	    "\n"
	    "List the revisions in apply order: position, id, parents, "
	    "message, file, and\n"
	    "flags (merge), (irreversible), (non-transactional).\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help  show this help and exit\n", stdout);
}

/* "a, b" or "base", malloc'd. */
static char *
parents(const struct sb_revision *r)
{
	size_t len = 0, i;
	char *s;

	if (r->nparents == 0)
		return sb_strdup("base");
	for (i = 0; i < r->nparents; i++)
		len += strlen(r->parents[i]) + 2;
	s = sb_malloc(len + 1);
	s[0] = '\0';
	for (i = 0, len = 0; i < r->nparents; i++) {
		if (i > 0) {
			memcpy(s + len, ", ", 2);
			len += 2;
		}
		memcpy(s + len, r->parents[i], strlen(r->parents[i]) + 1);
		len += strlen(r->parents[i]);
	}
	return s;
}

/* Messages go to a terminal: control characters become '?'. */
static void
put_safe(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

int
sb_cmd_history(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sb_chain chain = SB_CHAIN_INIT;
	int c, idw = 0, pw = 0;
	char *p;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return 0;
		}
		return sb_cli_opt_error("history", c, argv, err);
	}
	if (optind < argc)
		return sb_err_set(err, SB_EUSAGE, "history: unexpected "
		    "argument \"%s\"", argv[optind]);
	if (sb_chain_load(&chain, ctx->dir, err) == -1)
		return -1;
	for (size_t i = 0; i < chain.n; i++) {
		int n = (int)strlen(chain.revs[i].id);

		if (n > idw)
			idw = n;
		p = parents(&chain.revs[i]);
		n = (int)strlen(p);
		if (n > pw && n <= PARENTS_PAD)
			pw = n;
		free(p);
	}
	for (size_t i = 0; i < chain.n; i++) {
		const struct sb_revision *r = &chain.revs[i];

		p = parents(r);
		printf("%04zu  %-*s  <- %-*s  ", i + 1, idw, r->id, pw, p);
		free(p);
		put_safe(r->message[0] ? r->message : "(no message)");
		printf("  (%s)%s%s%s\n", r->file,
		    r->nparents > 1 ? " (merge)" : "",
		    r->downgrade == NULL ? " (irreversible)" : "",
		    r->transactional ? "" : " (non-transactional)");
	}
	sb_chain_release(&chain);
	return 0;
}
