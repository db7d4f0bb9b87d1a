/*
 * The trust policy both programs apply: load it (a root, or .pub files),
 * count signatures against its threshold, accept a rotated root, and
 * store accepted roots durably.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/trust.h"

static bool
has_pub_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".pub") == 0;
}

/*
 * OpenSSH StrictModes for trust: no symbolic link, owned by root or by
 * the user running us, writable by nobody else. A file anyone else can
 * write could name a key of theirs.
 */
int
sb_trust_strict(const char *path, bool dir, struct sb_err *err)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return sb_err_sys(err, "could not read trust \"%s\"", path);
	if (S_ISLNK(st.st_mode))
		return sb_err_set(err, SB_EINVALID, "trust \"%s\" is a "
		    "symbolic link; refusing it", path);
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return sb_err_set(err, SB_EINVALID, "trust \"%s\" is not a "
		    "%s", path, dir ? "folder" : "regular file");
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		sb_err_set(err, SB_EINVALID, "trust \"%s\" is owned by uid "
		    "%ld, neither root nor this user (uid %ld)", path,
		    (long)st.st_uid, (long)geteuid());
		sb_err_hint(err, "chown root \"%s\"", path);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		sb_err_set(err, SB_EINVALID, "trust \"%s\" is writable by "
		    "%s (mode %04o)", path, (st.st_mode & S_IWOTH) ? "others" :
		    "its group", (unsigned)(st.st_mode & 07777));
		sb_err_hint(err, "chmod go-w \"%s\"", path);
		return -1;
	}
	return 0;
}

static int count(const struct sb_trust *, const char *, const char *,
    const char *, const void *, size_t, const struct sb_sig *, size_t,
    enum sb_sig_status *, bool, struct sb_err *);

static void
add_key(struct sb_trust *t, const struct sb_pubkey *k, const char *path)
{
	struct sb_pubkey *d;

	t->keys = sb_realloc(t->keys, (t->n + 1) * sizeof(*t->keys));
	d = &t->keys[t->n++];
	*d = *k;
	d->path = sb_strdup(path != NULL ? path : k->path);
}

/* Make root r (owned by t from now on) the policy in force. */
static void
set_root(struct sb_trust *t, struct sb_root *r)
{
	for (size_t i = 0; i < t->n; i++)
		sb_pubkey_release(&t->keys[i]);
	free(t->keys);
	t->keys = NULL;
	t->n = 0;
	for (size_t i = 0; i < r->nkeys; i++)
		add_key(t, &r->keys[i], NULL);
	t->threshold = r->threshold;
	if (t->root == NULL)
		t->root = sb_calloc(1, sizeof(*t->root));
	else
		sb_root_release(t->root);
	*t->root = *r;
	*r = (struct sb_root)SB_ROOT_INIT;
}

/* A root in force must at least meet its own threshold. */
static int
load_root(struct sb_trust *t, const char *path, struct sb_err *err)
{
	struct sb_root r;

	if (sb_trust_strict(path, false, err) == -1 ||
	    sb_root_load(&r, path, err) == -1)
		return -1;
	set_root(t, &r);
	/* Expiry waits for the check of a bundle: a newer root may come. */
	if (count(t, path, "root", "its own keys", t->root->text,
	    t->root->signed_len, t->root->sigs, t->root->nsigs, NULL, false,
	    err) == -1)
		return -1;
	return 0;
}

static int
load_pub(struct sb_trust *t, const char *path, struct sb_err *err)
{
	struct sb_pubkey key;

	if (sb_trust_strict(path, false, err) == -1 ||
	    sb_pubkey_load(&key, path, err) == -1)
		return -1;
	add_key(t, &key, NULL);
	sb_pubkey_release(&key);
	return 0;
}

static int
load_dir(struct sb_trust *t, const char *path, bool empty_ok,
    struct sb_err *err)
{
	char **names = NULL, *file = NULL;
	size_t n = 0;
	struct stat st;
	int ret = -1;

	t->dir = sb_strdup(path);
	if (sb_trust_strict(path, true, err) == -1)
		return -1;
	file = sb_printf("%s/%s", path, SB_ROOT_FILE);
	if (lstat(file, &st) == 0) {
		ret = load_root(t, file, err);
		free(file);
		return ret;
	}
	if (errno != ENOENT) {
		sb_err_sys(err, "could not read trust \"%s\"", file);
		goto out;
	}
	if (sb_list_dir(path, 0, &names, &n, err) == -1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!has_pub_suffix(names[i]))
			continue;
		free(file);
		file = sb_printf("%s/%s", path, names[i]);
		if (load_pub(t, file, err) == -1)
			goto out;
	}
	if (t->n == 0 && !empty_ok) {
		sb_err_set(err, SB_EINVALID, "no trusted keys in \"%s\"",
		    path);
		sb_err_hint(err, "trusted keys are files named *.pub");
		sb_err_detail(err, "or a root file named \"%s\"",
		    SB_ROOT_FILE);
		goto out;
	}
	ret = 0;
out:
	free(file);
	sb_names_free(names, n);
	return ret;
}

static int
trust_load(struct sb_trust *t, const char *path, bool empty_ok,
    struct sb_err *err)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int ret;

	*t = (struct sb_trust)SB_TRUST_INIT;
	t->path = sb_strdup(path);
	/* Fixed once: every expiry of this run is compared with it. */
	t->now = (long long)time(NULL);
	if (stat(path, &st) == -1) {
		sb_err_sys(err, "could not read trusted keys \"%s\"", path);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = load_dir(t, path, empty_ok, err);
	} else {
		/* A file named explicitly: a root, else one public key. */
		if (sb_read_file(path, SB_ROOT_MAX, &text, &len, err) == -1)
			goto fail;
		ret = sb_root_sniff(text, len) ? load_root(t, path, err) :
		    load_pub(t, path, err);
		free(text);
	}
	if (ret == 0)
		return 0;
fail:
	sb_trust_release(t);
	return -1;
}

int
sb_trust_load(struct sb_trust *trust, const char *path, struct sb_err *err)
{
	return trust_load(trust, path, false, err);
}

int
sb_trust_load_dir(struct sb_trust *trust, const char *dir, struct sb_err *err)
{
	struct stat st;

	if (lstat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return sb_err_set(err, SB_EUSAGE, "trust \"%s\" is not a "
		    "folder", dir);
	return trust_load(trust, dir, true, err);
}

const struct sb_pubkey *
sb_trust_find(const struct sb_trust *trust, const char *key_id)
{
	if (trust == NULL || key_id == NULL)
		return NULL;
	for (size_t i = 0; i < trust->n; i++)
		if (strcmp(trust->keys[i].id, key_id) == 0)
			return &trust->keys[i];
	return NULL;
}

static void
list_keys(const struct sb_trust *t, struct sb_err *err)
{
	size_t off = 0;

	for (size_t i = 0; i < t->n && off < sizeof(err->detail); i++)
		off += (size_t)snprintf(err->detail + off,
		    sizeof(err->detail) - off, "%s%s (%s)",
		    i ? ", " : "trusted keys: ", t->keys[i].id,
		    t->keys[i].path);
}

static int
count(const struct sb_trust *t, const char *what, const char *noun,
    const char *whose, const void *msg, size_t len, const struct sb_sig *sigs,
    size_t n, enum sb_sig_status *status, bool expiry, struct sb_err *err)
{
	const struct sb_pubkey *k;
	bool *counted;
	size_t good = 0, unknown = 0;

	if (expiry && t->root != NULL && t->root->expires <= t->now)
		return sb_err_set(err, SB_EINVALID, "%s: trust root version "
		    "%llu (%s) expired at %s", what, t->root->version,
		    t->root->path, t->root->expires_text);
	counted = sb_calloc(t->n + 1, sizeof(*counted));
	for (size_t i = 0; i < n; i++) {
		enum sb_sig_status st = SB_SIG_UNKNOWN;

		if ((k = sb_trust_find(t, sigs[i].id)) != NULL) {
			size_t ki = (size_t)(k - t->keys);

			if (sb_sig_verify(k, msg, len, sigs[i].sig) == -1) {
				sb_err_set(err, SB_EINVALID, "%s: bad "
				    "signature", what);
				sb_err_detail(err, "signature %zu does not "
				    "verify under key %s (%s)", i + 1, k->id,
				    k->path);
				free(counted);
				return -1;
			}
			/* Each key counts once, however often it signed. */
			st = counted[ki] ? SB_SIG_REPEAT : SB_SIG_GOOD;
			if (st == SB_SIG_GOOD)
				good++;
			counted[ki] = true;
		} else {
			unknown++;
		}
		if (status != NULL)
			status[i] = st;
	}
	free(counted);
	if (good >= t->threshold)
		return 0;
	if (good == 0 && n == 1 && t->root == NULL) {
		sb_err_set(err, SB_EINVALID, "%s: %s signed by untrusted key "
		    "%s", what, noun, sigs[0].id);
		list_keys(t, err);
		return -1;
	}
	if (whose != NULL)
		sb_err_set(err, SB_EINVALID, "%s: %s signed by %zu of %s, %u "
		    "needed", what, noun, good, whose, t->threshold);
	else
		sb_err_set(err, SB_EINVALID, "%s: %s signed by %zu trusted "
		    "key%s, %u needed", what, noun, good, good == 1 ? "" : "s",
		    t->threshold);
	if (n > good)
		sb_err_detail(err, "%zu signature%s in all: %zu by keys "
		    "outside %s, %zu by a key that already counted (each key "
		    "counts once)", n, n == 1 ? "" : "s", unknown,
		    t->root != NULL ? "the root" : "the trusted keys",
		    n - good - unknown);
	return -1;
}

int
sb_trust_check(const struct sb_trust *t, const char *what, const char *noun,
    const void *msg, size_t len, const struct sb_sig *sigs, size_t n,
    enum sb_sig_status *status, struct sb_err *err)
{
	return count(t, what, noun, NULL, msg, len, sigs, n, status, true,
	    err);
}

/* Root r's signatures counted against t, whose expiry does not matter. */
static int
check_root(const struct sb_trust *t, const char *what, const struct sb_root *r,
    const char *whose, struct sb_err *err)
{
	char *w = sb_printf("version %llu", r->version);
	int ret;

	ret = count(t, what, w, whose, r->text, r->signed_len, r->sigs,
	    r->nsigs, NULL, false, err);
	free(w);
	return ret;
}

/* A trust made of one root's keys, to count signatures against it. */
static void
trust_of(struct sb_trust *t, const struct sb_root *r, long long now)
{
	*t = (struct sb_trust)SB_TRUST_INIT;
	for (size_t i = 0; i < r->nkeys; i++)
		add_key(t, &r->keys[i], NULL);
	t->threshold = r->threshold;
	t->now = now;
}

int
sb_root_verify(const struct sb_root *r, struct sb_err *err)
{
	struct sb_trust own;
	int ret;

	trust_of(&own, r, 0);
	ret = check_root(&own, r->path, r, "its own keys", err);
	sb_trust_release(&own);
	return ret;
}

int
sb_trust_accept(struct sb_trust *t, struct sb_root *r, bool tofu,
    struct sb_err *err)
{
	struct sb_trust own;
	char *what;
	int ret = -1;

	what = sb_printf("root \"%s\"", r->path);
	if (t->root != NULL && r->version <= t->root->version) {
		sb_err_set(err, SB_EINVALID, "%s: version %llu is not newer "
		    "than the root in force (version %llu); refusing a "
		    "rollback", what, r->version, t->root->version);
		goto out;
	}
	if (t->root != NULL && r->version != t->root->version + 1) {
		sb_err_set(err, SB_EINVALID, "%s: version %llu does not "
		    "follow the root in force (version %llu)", what,
		    r->version, t->root->version);
		sb_err_hint(err, "give every version from %llu to %llu, in "
		    "order", t->root->version + 1, r->version);
		goto out;
	}
	/* The keys in force vouch for the change ... */
	if ((t->root != NULL || (t->n > 0 && !tofu)) &&
	    check_root(t, what, r, "the keys in force", err) == -1)
		goto out;
	/* ... and the new keys accept it. */
	trust_of(&own, r, t->now);
	ret = check_root(&own, what, r, "its own keys", err);
	sb_trust_release(&own);
	if (ret == -1)
		goto out;
	t->pending = sb_realloc(t->pending, (t->npending + 1) *
	    sizeof(*t->pending));
	t->pending[t->npending] = (struct sb_root)SB_ROOT_INIT;
	/* The stored copy keeps its text; the one in force its keys. */
	t->pending[t->npending].version = r->version;
	t->pending[t->npending].text = sb_malloc(r->len);
	memcpy(t->pending[t->npending].text, r->text, r->len);
	t->pending[t->npending].len = r->len;
	t->npending++;
	set_root(t, r);
	ret = 0;
out:
	free(what);
	return ret;
}

/* The version of the root file in force on disk now, 0 when none. */
static int
disk_version(const char *file, unsigned long long *v, struct sb_err *err)
{
	struct sb_root r;
	struct stat st;

	*v = 0;
	if (lstat(file, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return sb_err_sys(err, "could not read trust \"%s\"", file);
	}
	if (sb_trust_strict(file, false, err) == -1 ||
	    sb_root_load(&r, file, err) == -1)
		return -1;
	*v = r.version;
	sb_root_release(&r);
	return 0;
}

int
sb_trust_store(struct sb_trust *t, struct sb_err *err)
{
	char *hist = NULL, *file = NULL, *root = NULL;
	unsigned long long have;
	const struct sb_root *last;
	int ret = -1;

	/* A --trust file is read, never written. */
	if (t->npending == 0 || t->dir == NULL)
		return 0;
	last = &t->pending[t->npending - 1];
	root = sb_printf("%s/%s", t->dir, SB_ROOT_FILE);
	/* Another run may have stored a newer one since: never go back. */
	if (disk_version(root, &have, err) == -1)
		goto out;
	if (last->version <= have) {
		ret = 0;
		goto out;
	}
	hist = sb_printf("%s/%s", t->dir, SB_ROOT_HISTORY);
	if (mkdir(hist, 0755) == -1 && errno != EEXIST) {
		sb_err_sys(err, "could not create folder \"%s\"", hist);
		goto out;
	}
	if (sb_trust_strict(hist, true, err) == -1)
		goto out;
	/* History first: the file in force never names a missing version. */
	for (size_t i = 0; i < t->npending; i++) {
		if (t->pending[i].version <= have)
			continue;
		free(file);
		file = sb_printf("%s/%llu.root", hist, t->pending[i].version);
		if (sb_write_file_atomic(file, t->pending[i].text,
		    t->pending[i].len, 0644, err) == -1)
			goto out;
	}
	if (sb_write_file_atomic(root, last->text, last->len, 0644, err) == -1)
		goto out;
	for (size_t i = 0; i < t->npending; i++)
		sb_root_release(&t->pending[i]);
	free(t->pending);
	t->pending = NULL;
	t->npending = 0;
	ret = 0;
out:
	free(root);
	free(file);
	free(hist);
	return ret;
}

char *
sb_trust_describe(const struct sb_trust *t)
{
	if (t->root != NULL)
		return sb_printf("root version %llu (%s): %u of %zu keys, "
		    "expires %s", t->root->version, t->root->path,
		    t->threshold, t->n, t->root->expires_text);
	if (t->dir != NULL)
		return sb_printf("no root: any one of %zu key%s (the .pub "
		    "files in %s)", t->n, t->n == 1 ? "" : "s", t->path);
	return sb_printf("no root: the one key %s", t->path);
}

const char *
sb_sig_status_word(enum sb_sig_status st)
{
	switch (st) {
	case SB_SIG_GOOD:
		return "good";
	case SB_SIG_REPEAT:
		return "repeat";
	case SB_SIG_UNKNOWN:
		break;
	}
	return "unknown";
}

void
sb_trust_release(struct sb_trust *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		sb_pubkey_release(&t->keys[i]);
	free(t->keys);
	if (t->root != NULL)
		sb_root_release(t->root);
	free(t->root);
	for (size_t i = 0; i < t->npending; i++)
		sb_root_release(&t->pending[i]);
	free(t->pending);
	free(t->dir);
	free(t->path);
	*t = (struct sb_trust)SB_TRUST_INIT;
}
