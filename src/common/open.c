/*
 * Open a bundle and resolve its trusted keys: the one path from a file
 * name to a verified bundle, for `sqlbundle verify/inspect` and every
 * command of sqlbundle-apply (include/sqlbundle/open.h).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/open.h"
#include "sqlbundle/text.h"

const char *
sb_open_trust_path(const char *opt, const char **from)
{
	const char *env = getenv(SB_TRUST_ENV), *path = opt;

	*from = NULL;
	if (path == NULL || path[0] == '\0') {
		path = env;
		*from = "$" SB_TRUST_ENV;
	}
	if (path == NULL || path[0] == '\0') {
		path = SB_TRUST_DEFAULT;
		*from = "the default trust folder (no --trust given, $"
		    SB_TRUST_ENV " not set)";
	}
	return path;
}

/* An untrusted key: say where a trusted key goes. */
static void
untrusted_hint(const char *opt, struct sb_err *err)
{
	const char *from, *path = sb_open_trust_path(opt, &from);
	struct stat st;

	if (err->hint[0] != '\0' || strstr(err->msg, "untrusted key") == NULL)
		return;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		sb_err_hint(err, "to trust it, put the signer's public key "
		    "(the NAME.pub of \"sqlbundle keygen\" at HQ) in %s; "
		    "without a root there, every *.pub is trusted", path);
	else
		sb_err_hint(err, "the trusted key is %s alone; give the "
		    "signer's public key (NAME.pub) with --trust, or a folder "
		    "of them", path);
}

int
sb_open_trust(struct sb_trust *trust, const char *opt, struct sb_err *err)
{
	const char *from, *path = sb_open_trust_path(opt, &from);

	if (sb_trust_load(trust, path, err) == -1) {
		/* Say where a path nobody typed came from. */
		if (from != NULL && err->detail[0] == '\0')
			sb_err_detail(err, "trusted keys from %s", from);
		return -1;
	}
	return 0;
}

int
sb_open_bundle(struct sb_open *o, const char *path, const char *trust,
    bool verify, uint64_t chunk, struct sb_err *err)
{
	struct stat st;

	*o = (struct sb_open)SB_OPEN_INIT;
	o->path = sb_strdup(path);
	if (verify && sb_open_trust(&o->trust, trust, err) == -1)
		return -1;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	if ((o->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return sb_err_sys(err, "could not open bundle \"%s\"", path);
	if (fstat(o->fd, &st) == -1)
		return sb_err_sys(err, "could not stat bundle \"%s\"", path);
	/* Both passes read the same bytes: a pipe could not be read twice. */
	if (!S_ISREG(st.st_mode))
		return sb_err_set(err, SB_EINVALID,
		    "bundle \"%s\" is not a regular file", path);
	if (fcntl(o->fd, F_SETFL, 0) == -1)
		return sb_err_sys(err, "could not read bundle \"%s\"", path);
	if (!verify)
		return sb_bundle_open(&o->b, o->fd, path, NULL, NULL, err);
	if (sb_bundle_verify_chunks(o->fd, path, &o->trust, chunk,
	    chunk > 0 ? &o->chunks : NULL, o->id, err) == -1) {
		untrusted_hint(trust, err);
		return -1;
	}
	if (sb_bundle_open(&o->b, o->fd, path, &o->trust, o->id, err) == -1)
		return -1;
	o->verified = true;
	return 0;
}

void
sb_open_release(struct sb_open *o)
{
	sb_bundle_close(o->b);
	o->b = NULL;
	if (o->fd != -1)
		close(o->fd);
	o->fd = -1;
	sb_trust_release(&o->trust);
	sb_chunk_plan_release(&o->chunks);
	free(o->path);
	o->path = NULL;
}

void
sb_open_json(const struct sb_open *o, struct sb_json *j)
{
	const struct sb_manifest *m = sb_bundle_manifest(o->b);
	const struct sb_pubkey *k = sb_bundle_key(o->b);

	sb_json_str(j, "bundle", o->path);
	sb_json_str(j, "bundle_id", sb_bundle_id(o->b));
	sb_json_str(j, "key_id", m->key_id);
	sb_json_str(j, "key_file", k != NULL ? k->path : NULL);
	sb_json_str(j, "project", m->project);
	sb_json_str(j, "created", m->created);
	sb_json_str(j, "from", m->from);
	sb_json_str(j, "to", m->to);
	sb_json_uint(j, "revision_count", m->nrevs);
	sb_json_uint(j, "entry_count", m->nentries);
	sb_open_json_sigs(o, j);
}

void
sb_open_json_sigs(const struct sb_open *o, struct sb_json *j)
{
	const struct sb_trust *t = sb_bundle_trust(o->b);
	const enum sb_sig_status *st;
	const struct sb_pubkey *k;
	const struct sb_sig *sigs;
	size_t n;

	sigs = sb_bundle_sigs(o->b, &n, &st);
	if (t == NULL || st == NULL)
		return;
	sb_json_uint(j, "threshold", t->threshold);
	if (t->root != NULL)
		sb_json_uint(j, "root_version", t->root->version);
	else
		sb_json_str(j, "root_version", NULL);
	sb_json_array(j, "signatures");
	for (size_t i = 0; i < n; i++) {
		k = st[i] == SB_SIG_UNKNOWN ? NULL : sb_trust_find(t,
		    sigs[i].id);
		sb_json_object(j, NULL);
		sb_json_str(j, "key_id", sigs[i].id);
		sb_json_str(j, "key_file", k != NULL ? k->path : NULL);
		sb_json_str(j, "status", sb_sig_status_word(st[i]));
		sb_json_close(j);
	}
	sb_json_close(j);
}

void
sb_open_print_sigs(const struct sb_open *o, FILE *fp, const char *trust,
    const char *signer)
{
	const struct sb_trust *t = sb_bundle_trust(o->b);
	const enum sb_sig_status *st;
	const struct sb_pubkey *k;
	const struct sb_sig *sigs;
	char *desc;
	size_t n;

	sigs = sb_bundle_sigs(o->b, &n, &st);
	if (t == NULL || st == NULL)
		return;
	desc = sb_trust_describe(t);
	fputs(trust, fp);
	sb_put_safe(fp, desc, strlen(desc), false);
	fputc('\n', fp);
	free(desc);
	for (size_t i = 0; i < n; i++) {
		fprintf(fp, "%s%s (", signer, sigs[i].id);
		k = sb_trust_find(t, sigs[i].id);
		if (st[i] == SB_SIG_GOOD && k != NULL)
			sb_put_safe(fp, k->path, strlen(k->path), false);
		else if (st[i] == SB_SIG_REPEAT)
			fputs("again: counted once", fp);
		else
			fputs("not a trusted key: not counted", fp);
		fputs(")\n", fp);
	}
}
