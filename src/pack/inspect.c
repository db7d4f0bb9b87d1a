/*
 * `sqlbundle verify` and `sqlbundle inspect`: check a bundle against
 * trusted keys, or show its manifest (marked unverified without a key).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/bundle.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/json.h"
#include "sqlbundle/manifest.h"
#include "sqlbundle/open.h"
#include "sqlbundle/text.h"
#include "cmd.h"
#include "opts.h"

static void
puts_safe(FILE *fp, const char *s)
{
	sb_put_safe(fp, s, strlen(s), false);
}

struct view_opts {
	const char	*bundle;
	const char	*trust;
	bool		 json, shell;
};

static int
view_parse(const char *cmd, bool allow_json, int argc, char **argv,
    struct view_opts *o, int *help, struct sb_err *err)
{
	static const struct option longopts[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "shell", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	*help = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->trust = optarg;
			break;
		case 'j':
			if (!allow_json)
				return sb_err_set(err, SB_EUSAGE, "%s: unknown "
				    "option \"--json\"", cmd);
			o->json = true;
			break;
		case 's':
			if (allow_json)
				return sb_err_set(err, SB_EUSAGE, "%s: unknown "
				    "option \"--shell\"", cmd);
			o->shell = true;
			break;
		case 'h':
			*help = 1;
			return 0;
		default:
			return sb_cli_opt_error(cmd, c, argv, err);
		}
	}
	if (argc - optind != 1)
		return sb_err_set(err, SB_EUSAGE, "%s: %s", cmd,
		    argc - optind == 0 ? "missing BUNDLE" :
		    "too many arguments");
	o->bundle = argv[optind];
	return 0;
}

/*
 * Open the bundle through the one common path (sqlbundle/open.h):
 * verifying, trust is --trust (relative to -C), else $SQLBUNDLE_TRUST,
 * else the system folder, as for sqlbundle-apply.
 */
static int
view_open(struct sb_ctx *ctx, const struct view_opts *o, bool verify,
    struct sb_open *v, struct sb_err *err)
{
	char *path = sb_ctx_path(ctx, o->bundle);
	char *trust = o->trust != NULL && o->trust[0] != '\0' ?
	    sb_ctx_path(ctx, o->trust) : NULL;
	int ret;

	ret = sb_open_bundle(v, path, trust, verify, 0, err);
	free(trust);
	free(path);
	return ret;
}

static void
verify_usage(FILE *fp)
{
	fputs("Usage: sqlbundle verify BUNDLE [--trust KEY.pub|DIR] [--json]\n"
	    "\n"
	    "Check a bundle without unpacking it: the signature of MANIFEST "
	    "under a\n"
	    "trusted key, then every entry against the manifest (SHA-256, "
	    "order, size,\n"
	    "plain regular files with safe paths). Nothing is written to "
	    "disk.\n"
	    "\n"
	    "Options:\n"
	    "      --trust PATH   a public key (.pub) or a folder of them "
	    "(default:\n"
	    "                     $SQLBUNDLE_TRUST, else " SB_TRUST_DEFAULT ")\n"
	    "      --json         print the result as one JSON object\n"
	    "  -h, --help         show this help and exit\n"
	    "\n"
	    "Exit status: 0 the bundle is good, 1 it was refused, 2 usage, "
	    "4 I/O error.\n", fp);
}

int
sb_cmd_verify(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	struct sb_open v = SB_OPEN_INIT;
	struct view_opts o;
	struct sb_json j;
	const struct sb_manifest *m;
	int help, ret = -1;

	if (view_parse("verify", true, argc, argv, &o, &help, err) == -1)
		return -1;
	if (help) {
		verify_usage(stdout);
		return 0;
	}
	if (view_open(ctx, &o, true, &v, err) == -1) {
		if (o.json)
			sb_json_error(stdout, err);
		goto out;
	}
	if (o.json) {
		sb_json_begin(&j, stdout, "verify");
		sb_open_json(&v, &j);
		sb_json_end(&j);
	} else {
		m = sb_bundle_manifest(v.b);
		fputs("bundle OK: ", stdout);
		puts_safe(stdout, v.path);
		printf("\n  id        %s\n", sb_bundle_id(v.b));
		sb_open_print_sigs(&v, stdout, "  trust     ",
		    "  signed by key ");
		fputs("  project   ", stdout);
		puts_safe(stdout, m->project);
		fputs("\n  from      ", stdout);
		puts_safe(stdout, m->from);
		fputs("\n  to        ", stdout);
		puts_safe(stdout, m->to);
		printf("\n  revisions %zu\n  entries   %zu\n", m->nrevs,
		    m->nentries);
	}
	ret = 0;
out:
	sb_open_release(&v);
	return ret;
}

/* 'value' for sh: a quote inside becomes '\'' (nothing else is special). */
static void
put_shell(FILE *fp, const char *name, const char *val)
{
	fprintf(fp, "%s='", name);
	for (const char *p = val != NULL ? val : ""; *p; p++)
		if (*p == '\'')
			fputs("'\\''", fp);
		else
			fputc(*p, fp);
	fputs("'\n", fp);
}

/*
 * inspect --shell: the facts scripts need, as NAME='value' lines that
 * eval can read: nothing to parse.
 */
static void
inspect_shell(const struct sb_open *v)
{
	const struct sb_manifest *m = sb_bundle_manifest(v->b);
	const struct sb_sig *sigs;
	char *list = sb_strdup(""), *t;
	size_t n;

	put_shell(stdout, "verified", v->verified ? "yes" : "no");
	put_shell(stdout, "bundle_id", sb_bundle_id(v->b));
	put_shell(stdout, "project", m->project);
	put_shell(stdout, "created", m->created);
	put_shell(stdout, "from", m->from);
	put_shell(stdout, "to", m->to);
	put_shell(stdout, "key_id", m->key_id);
	sigs = sb_bundle_sigs(v->b, &n, NULL);
	for (size_t i = 0; i < n; i++) {
		t = sb_printf("%s%s%s", list, i ? " " : "", sigs[i].id);
		free(list);
		list = t;
	}
	put_shell(stdout, "signatures", list);
	free(list);
	list = sb_strdup("");
	for (size_t i = 0; i < m->nrevs; i++) {
		if (m->revs[i].downgrade_entry != -1)
			continue;
		t = sb_printf("%s%s%s", list, list[0] ? " " : "",
		    m->revs[i].id);
		free(list);
		list = t;
	}
	put_shell(stdout, "irreversible", list);
	free(list);
	printf("revision_count=%zu\nentry_count=%zu\n", m->nrevs,
	    m->nentries);
}

static void
inspect_usage(FILE *fp)
{
	fputs("Usage: sqlbundle inspect BUNDLE [--trust KEY.pub|ROOT|DIR] "
	    "[--shell]\n"
	    "\n"
	    "Print a bundle's manifest: its header, revisions and entries. "
	    "Without\n"
	    "--trust only MANIFEST and MANIFEST.sig are read and the output "
	    "is marked\n"
	    "UNVERIFIED; with --trust the whole bundle is verified first, as "
	    "by\n"
	    "\"sqlbundle verify\".\n"
	    "\n"
	    "Options:\n"
	    "      --trust PATH   a public key (.pub), a root, or a trust "
	    "folder\n"
	    "      --shell        print NAME='value' lines for sh's eval "
	    "(verified,\n"
	    "                     bundle_id, project, created, from, to, "
	    "key_id,\n"
	    "                     signatures, irreversible, revision_count, "
	    "entry_count)\n"
	    "  -h, --help         show this help and exit\n", fp);
}

int
sb_cmd_inspect(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	struct sb_open v = SB_OPEN_INIT;
	struct view_opts o;
	const struct sb_manifest *m;
	const struct sb_pubkey *k;
	const char *text;
	size_t len;
	int help, ret = -1;

	if (view_parse("inspect", false, argc, argv, &o, &help, err) == -1)
		return -1;
	if (help) {
		inspect_usage(stdout);
		return 0;
	}
	if (view_open(ctx, &o, o.trust != NULL, &v, err) == -1)
		goto out;
	if (o.shell) {
		inspect_shell(&v);
		ret = 0;
		goto out;
	}
	m = sb_bundle_manifest(v.b);
	k = sb_bundle_key(v.b);
	if (o.trust == NULL) {
		printf("UNVERIFIED: no --trust given; the signature and the "
		    "entries were not checked\n");
	} else {
		printf("verified: signed by key %s (", m->key_id);
		puts_safe(stdout, k != NULL && k->path ? k->path : "?");
		fputs("), every entry matches\n", stdout);
	}
	fputs("bundle: ", stdout);
	puts_safe(stdout, v.path);
	printf("\nid:     %s\n\n", sb_bundle_id(v.b));
	/* The signed text itself, so what is shown is what was signed. */
	text = sb_bundle_manifest_text(v.b, &len);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (text + i)) : len - i;

		sb_put_safe(stdout, text + i, n, true);
		fputc('\n', stdout);
		i += n + 1;
	}
	ret = 0;
out:
	sb_open_release(&v);
	return ret;
}
