/*
 * One verified streaming pass over a bundle: MANIFEST and its signature
 * first, then every entry checked against the manifest as it streams by.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sqlbundle/text.h"
#include "sqlbundle/archive.h"
#include "sqlbundle/bundle.h"
#include "sqlbundle/contents.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/trust.h"

/* Drain buffer for entries the caller does not read itself. */
#define DRAIN_BUF	(256 * 1024)

struct sb_bundle {
	struct sb_reader	*r;
	char			*name;
	char			*text;		/* MANIFEST bytes, NUL-ended */
	size_t			 textlen;
	struct sb_manifest	 m;
	char			 id[SB_SHA256_HEX];
	const struct sb_pubkey	*key;		/* first that counted */
	const struct sb_trust	*trust;		/* that verified it */
	struct sb_sig		 sigs[SB_SIGS_MAX];
	size_t			 nsigs;
	enum sb_sig_status	*status;	/* per signature, once checked */
	char			*pending;	/* first payload member, read */
	char			*path;		/* its name, once taken */
	uint64_t		 pending_size;
	struct sb_sha256	*sha;
	unsigned char		*buf;
	size_t			 next;		/* manifest index expected next */
	size_t			 cur;		/* manifest index being read */
	bool			 in_entry;	/* cur read, not yet checked */
	bool			 at_end;
	bool			 failed;	/* an error stopped the pass */
	uint64_t		 cur_size, cur_done;
	uint64_t		 declared;	/* declared sizes so far */
};

/* Read the whole current entry (size already bounded) into buf. */
static int
read_all(struct sb_bundle *b, void *buf, size_t size, struct sb_err *err)
{
	size_t done = 0;
	ssize_t n;

	while ((n = sb_reader_read(b->r, (char *)buf + done, size - done,
	    err)) > 0)
		done += (size_t)n;
	if (n < 0)
		return -1;
	if (done != size)
		return sb_err_set(err, SB_EINVALID, "%s: truncated archive",
		    b->name);
	return 0;
}

/*
 * The Key-Id of the header, found before the manifest is parsed: nothing
 * but the signature check runs on bytes not yet authenticated.
 */
static bool
find_key_id(const char *text, size_t len, char id[SB_KEYID_HEX])
{
	static const char key[] = "Key-Id: ";
	const size_t klen = sizeof(key) - 1, idlen = SB_KEYID_HEX - 1;
	size_t off = 0, n, i;
	const char *line, *nl;

	while (off < len) {
		line = text + off;
		nl = memchr(line, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - line) : len - off;
		if (n == 0)
			break;
		if (n == klen + idlen && memcmp(line, key, klen) == 0) {
			for (i = 0; i < idlen; i++) {
				char c = line[klen + i];

				if (!((c >= '0' && c <= '9') ||
				    (c >= 'a' && c <= 'f')))
					return false;
			}
			memcpy(id, line + klen, idlen);
			id[idlen] = '\0';
			return true;
		}
		off += n + 1;
	}
	return false;
}

/* MANIFEST then MANIFEST.sig, the first two entries. */
static int
read_head(struct sb_bundle *b, struct sb_err *err)
{
	struct sb_entry_info info;
	char esc[SB_ESCAPED_MAX];
	int rc;

	if ((rc = sb_reader_next(b->r, &info, err)) == -1)
		return -1;
	if (rc == 0)
		return sb_err_set(err, SB_EINVALID, "%s: empty archive "
		    "(no MANIFEST)", b->name);
	if (strcmp(info.path, "MANIFEST") != 0) {
		sb_escape_name(info.path, esc, sizeof(esc));
		return sb_err_set(err, SB_EINVALID, "%s: first entry is "
		    "\"%s\", expected MANIFEST", b->name, esc);
	}
	if (info.size > SB_MANIFEST_MAX)
		return sb_err_set(err, SB_EINVALID, "%s: MANIFEST is too "
		    "large (%llu bytes, at most %d)", b->name,
		    (unsigned long long)info.size, SB_MANIFEST_MAX);
	b->textlen = (size_t)info.size;
	b->text = sb_malloc(b->textlen + 1);
	if (read_all(b, b->text, b->textlen, err) == -1)
		return -1;
	b->text[b->textlen] = '\0';

	if ((rc = sb_reader_next(b->r, &info, err)) == -1)
		return -1;
	if (rc == 0)
		return sb_err_set(err, SB_EINVALID, "%s: no MANIFEST.sig "
		    "after MANIFEST", b->name);
	if (strcmp(info.path, "MANIFEST.sig") != 0) {
		sb_escape_name(info.path, esc, sizeof(esc));
		return sb_err_set(err, SB_EINVALID, "%s: second entry is "
		    "\"%s\", expected MANIFEST.sig", b->name, esc);
	}
	if (info.size != SB_SIG_LEN)
		return sb_err_set(err, SB_EINVALID, "%s: MANIFEST.sig is "
		    "%llu bytes, expected %d", b->name,
		    (unsigned long long)info.size, SB_SIG_LEN);
	b->nsigs = 1;
	return read_all(b, b->sigs[0].sig, SB_SIG_LEN, err);
}


static bool
is_sig_name(const char *path, char id[SB_KEYID_HEX])
{
	static const char pre[] = SB_SIG_MEMBER ".";
	const size_t plen = sizeof(pre) - 1;

	if (strncmp(path, pre, plen) != 0 ||
	    strlen(path) != plen + SB_KEYID_HEX - 1)
		return false;
	for (size_t i = plen; path[i] != '\0'; i++)
		if (!((path[i] >= '0' && path[i] <= '9') ||
		    (path[i] >= 'a' && path[i] <= 'f')))
			return false;
	memcpy(id, path + plen, SB_KEYID_HEX);
	return true;
}

static bool
is_root_name(const char *path)
{
	static const char pre[] = SB_ROOT_MEMBER ".";
	const size_t plen = sizeof(pre) - 1;
	size_t n = strlen(path);

	if (strncmp(path, pre, plen) != 0 || n == plen || n > plen + 9 ||
	    path[plen] == '0')
		return false;
	for (size_t i = plen; i < n; i++)
		if (path[i] < '0' || path[i] > '9')
			return false;
	return true;
}

static int
check_signature(struct sb_bundle *b, struct sb_trust *trust,
    struct sb_err *err)
{
	int ret;

	if (!find_key_id(b->text, b->textlen, b->sigs[0].id)) {
		/* The strict parser says precisely what is wrong. */
		if (sb_manifest_parse(&b->m, b->text, b->textlen, err) == -1)
			return sb_err_prefix(err, "%s", b->name);
		return sb_err_set(err, SB_EINVALID, "%s: MANIFEST has no "
		    "Key-Id", b->name);
	}
	b->status = sb_calloc(b->nsigs, sizeof(*b->status));
	ret = sb_trust_check(trust, b->name, "bundle", b->text, b->textlen,
	    b->sigs, b->nsigs, b->status, err);
	if (ret == -1)
		return -1;
	/* MANIFEST.sig's key when it counted, else the first that did. */
	for (size_t i = 0; i < b->nsigs && b->key == NULL; i++)
		if (b->status[i] == SB_SIG_GOOD)
			b->key = sb_trust_find(trust, b->sigs[i].id);
	b->trust = trust;
	return 0;
}

/* A root carried by the bundle: applied when newer than the one in force. */
static int
read_root(struct sb_bundle *b, struct sb_trust *trust,
    const struct sb_entry_info *info, struct sb_err *err)
{
	struct sb_root r;
	char *text, *name;
	int ret;

	if (info->size > SB_ROOT_MAX)
		return sb_err_set(err, SB_EINVALID, "%s: %s is too large "
		    "(%llu bytes, at most %d)", b->name, info->path,
		    (unsigned long long)info->size, SB_ROOT_MAX);
	text = sb_malloc((size_t)info->size + 1);
	if (read_all(b, text, (size_t)info->size, err) == -1) {
		free(text);
		return -1;
	}
	text[info->size] = '\0';
	if (trust == NULL) {
		free(text);
		return 0;
	}
	name = sb_printf("%s:%s", b->name, info->path);
	ret = sb_root_parse(&r, text, (size_t)info->size, name, err);
	free(name);
	if (ret == -1)
		return -1;
	if (strtoull(info->path + sizeof(SB_ROOT_MEMBER), NULL, 10) !=
	    r.version) {
		sb_err_set(err, SB_EINVALID, "%s: %s holds root version %llu",
		    b->name, info->path, r.version);
		sb_root_release(&r);
		return -1;
	}
	/* A store already past this version has it: carry on. */
	if (trust->root != NULL && r.version <= trust->root->version) {
		sb_root_release(&r);
		return 0;
	}
	ret = sb_trust_accept(trust, &r, false, err);
	sb_root_release(&r);
	return ret;
}

/*
 * After MANIFEST.sig: the other signatures, then the roots. The first
 * member that is neither is kept for sb_bundle_next.
 */
static int
read_envelope(struct sb_bundle *b, struct sb_trust *trust,
    struct sb_err *err)
{
	struct sb_entry_info info;
	char id[SB_KEYID_HEX];
	bool roots = false;
	int rc;

	while ((rc = sb_reader_next(b->r, &info, err)) == 1) {
		if (!roots && is_sig_name(info.path, id)) {
			struct sb_sig *s;

			if (b->nsigs == SB_SIGS_MAX)
				return sb_err_set(err, SB_EINVALID, "%s: more "
				    "than %d signatures", b->name,
				    SB_SIGS_MAX);
			if (info.size != SB_SIG_LEN)
				return sb_err_set(err, SB_EINVALID, "%s: %s is "
				    "%llu bytes, expected %d", b->name,
				    info.path, (unsigned long long)info.size,
				    SB_SIG_LEN);
			s = &b->sigs[b->nsigs++];
			memcpy(s->id, id, SB_KEYID_HEX);
			if (read_all(b, s->sig, SB_SIG_LEN, err) == -1)
				return -1;
		} else if (is_root_name(info.path)) {
			roots = true;
			if (read_root(b, trust, &info, err) == -1)
				return -1;
		} else {
			b->pending = sb_strdup(info.path);
			b->pending_size = info.size;
			return 0;
		}
	}
	return rc;
}

int
sb_bundle_open(struct sb_bundle **bp, int fd, const char *name,
    struct sb_trust *trust, const char *expect_id, struct sb_err *err)
{
	struct sb_bundle *b;
	int ret = -1;

	*bp = NULL;
	b = sb_calloc(1, sizeof(*b));
	b->name = sb_strdup(name);
	if (sb_reader_open(&b->r, fd, name, err) == -1 ||
	    read_head(b, err) == -1 || read_envelope(b, trust, err) == -1)
		goto out;
	sb_sha256_hex(b->text, b->textlen, b->id);
	if (expect_id != NULL && strcmp(b->id, expect_id) != 0) {
		sb_err_set(err, SB_EINVALID,
		    "%s: bundle changed since it was verified", b->name);
		sb_err_detail(err, "bundle id was %s, is now %s", expect_id,
		    b->id);
		goto out;
	}
	if (trust != NULL && check_signature(b, trust, err) == -1)
		goto out;
	if (b->m.revs == NULL &&
	    sb_manifest_parse(&b->m, b->text, b->textlen, err) == -1) {
		sb_err_prefix(err, "%s", b->name);
		goto out;
	}
	/* Unverified, MANIFEST.sig is still named by the Key-Id. */
	if (b->sigs[0].id[0] == '\0')
		memcpy(b->sigs[0].id, b->m.key_id, SB_KEYID_HEX);
	if ((b->sha = sb_sha256_new()) == NULL) {
		sb_err_set(err, SB_EIO, "out of memory");
		goto out;
	}
	b->buf = sb_malloc(DRAIN_BUF);
	*bp = b;
	b = NULL;
	ret = 0;
out:
	sb_bundle_close(b);
	return ret;
}

const struct sb_manifest *
sb_bundle_manifest(const struct sb_bundle *b)
{
	return &b->m;
}

const char *
sb_bundle_id(const struct sb_bundle *b)
{
	return b->id;
}

const struct sb_pubkey *
sb_bundle_key(const struct sb_bundle *b)
{
	return b->key;
}

const struct sb_sig *
sb_bundle_sigs(const struct sb_bundle *b, size_t *n,
    const enum sb_sig_status **status)
{
	*n = b->nsigs;
	if (status != NULL)
		*status = b->status;
	return b->sigs;
}

const struct sb_trust *
sb_bundle_trust(const struct sb_bundle *b)
{
	return b->trust;
}

const char *
sb_bundle_manifest_text(const struct sb_bundle *b, size_t *len)
{
	if (len != NULL)
		*len = b->textlen;
	return b->text;
}

static int
stopped(struct sb_bundle *b, struct sb_err *err)
{
	return sb_err_set(err, SB_EINVALID, "%s: verification stopped at an "
	    "earlier error", b->name);
}

/* Mark the pass failed; err is already filled. */
static int
fail(struct sb_bundle *b)
{
	b->failed = true;
	return -1;
}

int
sb_bundle_entry_end(struct sb_bundle *b, struct sb_err *err)
{
	const struct sb_manifest_entry *e;
	char hex[SB_SHA256_HEX];
	ssize_t n;

	if (b->failed)
		return stopped(b, err);
	if (!b->in_entry)
		return 0;
	e = &b->m.entries[b->cur];
	while ((n = sb_reader_read(b->r, b->buf, DRAIN_BUF, err)) > 0) {
		sb_sha256_update(b->sha, b->buf, (size_t)n);
		b->cur_done += (uint64_t)n;
	}
	if (n < 0)
		return fail(b);
	b->in_entry = false;
	sb_sha256_final_hex(b->sha, hex);
	if (b->cur_done != b->cur_size) {
		sb_err_set(err, SB_EINVALID, "%s: truncated archive", b->name);
		return fail(b);
	}
	if (strcmp(hex, e->sha) != 0) {
		sb_err_set(err, SB_EINVALID,
		    "%s: tampered entry \"%s\": SHA-256 mismatch", b->name,
		    e->path);
		sb_err_detail(err, "MANIFEST lists %s, the archive holds %s",
		    e->sha, hex);
		return fail(b);
	}
	return 0;
}

/* Where path sits in the manifest, or -1 when it is not listed. */
static ssize_t
find_entry(const struct sb_manifest *m, const char *path)
{
	for (size_t i = 0; i < m->nentries; i++)
		if (strcmp(m->entries[i].path, path) == 0)
			return (ssize_t)i;
	return -1;
}

/* An entry that is not the one expected next: say how it is wrong. */
static int
wrong_entry(struct sb_bundle *b, const char *path, struct sb_err *err)
{
	char esc[SB_ESCAPED_MAX];
	ssize_t j = find_entry(&b->m, path);

	sb_escape_name(path, esc, sizeof(esc));
	if (j == -1 && strcmp(path, "MANIFEST") != 0 &&
	    strcmp(path, "MANIFEST.sig") != 0)
		sb_err_set(err, SB_EINVALID, "%s: unlisted entry \"%s\"",
		    b->name, esc);
	else if (j == -1 || (size_t)j < b->next)
		sb_err_set(err, SB_EINVALID, "%s: duplicate entry \"%s\"",
		    b->name, esc);
	else
		sb_err_set(err, SB_EINVALID, "%s: entry \"%s\" out of order",
		    b->name, esc);
	if (b->next < b->m.nentries)
		sb_err_detail(err, "expected \"%s\" (MANIFEST entry %zu)",
		    b->m.entries[b->next].path, b->next + 1);
	return fail(b);
}

int
sb_bundle_next(struct sb_bundle *b, size_t *idx, struct sb_err *err)
{
	struct sb_entry_info info;
	char esc[SB_ESCAPED_MAX];
	int rc;

	if (b->failed)
		return stopped(b, err);
	if (b->in_entry && sb_bundle_entry_end(b, err) == -1)
		return -1;
	if (b->at_end)
		return 0;
	if (b->pending != NULL) {
		/* The member that ended the envelope, its header read. */
		free(b->path);
		b->path = b->pending;
		b->pending = NULL;
		info.path = b->path;
		info.size = b->pending_size;
		rc = 1;
	} else if ((rc = sb_reader_next(b->r, &info, err)) == -1) {
		return fail(b);
	}
	if (rc == 0) {
		if (b->next < b->m.nentries) {
			sb_err_set(err, SB_EINVALID, "%s: missing entry "
			    "\"%s\"", b->name, b->m.entries[b->next].path);
			return fail(b);
		}
		if (b->declared != b->m.unpacked_size) {
			sb_err_set(err, SB_EINVALID, "%s: entries hold %llu "
			    "bytes but Unpacked-Size is %llu", b->name,
			    (unsigned long long)b->declared,
			    (unsigned long long)b->m.unpacked_size);
			return fail(b);
		}
		b->at_end = true;
		return 0;
	}
	if (b->next >= b->m.nentries ||
	    strcmp(info.path, b->m.entries[b->next].path) != 0)
		return wrong_entry(b, info.path, err);
	/* From the header, before any byte of the data is read. */
	if (info.size > b->m.unpacked_size - b->declared) {
		sb_escape_name(info.path, esc, sizeof(esc));
		sb_err_set(err, SB_EINVALID,
		    "%s: entry \"%s\": size exceeds Unpacked-Size", b->name,
		    esc);
		sb_err_detail(err, "%llu bytes declared, %llu left of "
		    "Unpacked-Size %llu", (unsigned long long)info.size,
		    (unsigned long long)(b->m.unpacked_size - b->declared),
		    (unsigned long long)b->m.unpacked_size);
		return fail(b);
	}
	b->declared += info.size;
	b->cur = b->next++;
	b->cur_size = info.size;
	b->cur_done = 0;
	b->in_entry = true;
	*idx = b->cur;
	return 1;
}

ssize_t
sb_bundle_read(struct sb_bundle *b, void *buf, size_t cap,
    struct sb_err *err)
{
	ssize_t n;

	if (b->failed)
		return stopped(b, err);
	if (!b->in_entry)
		return 0;
	if ((n = sb_reader_read(b->r, buf, cap, err)) < 0)
		return fail(b);
	sb_sha256_update(b->sha, buf, (size_t)n);
	b->cur_done += (uint64_t)n;
	return n;
}

void
sb_bundle_close(struct sb_bundle *b)
{
	if (b == NULL)
		return;
	sb_reader_close(b->r);
	sb_manifest_release(&b->m);
	sb_sha256_free(b->sha);
	free(b->buf);
	free(b->text);
	free(b->name);
	free(b->status);
	free(b->pending);
	free(b->path);
	free(b);
}

/*
 * Read the current entry (index idx) through the content check; the
 * SHA-256 is checked first, so a tampered entry reads as tampered.
 */
static int
verify_entry(struct sb_bundle *b, size_t idx, uint64_t chunk,
    struct sb_chunks *cuts, struct sb_err *err)
{
	struct sb_contents c;
	struct sb_err cerr = SB_ERR_INIT;
	ssize_t n = 0;
	int rc, ret = -1;

	rc = sb_contents_begin(&c, &b->m.entries[idx], b->cur_size, chunk,
	    &cerr);
	if (rc == -1) {
		/* From the header: refused before any byte is read. */
		*err = cerr;
		sb_err_prefix(err, "%s", b->name);
		fail(b);
		goto out;
	}
	rc = 1;
	while (rc == 1 && (n = sb_bundle_read(b, b->buf, DRAIN_BUF, err)) > 0)
		rc = sb_contents_feed(&c, b->buf, (size_t)n, &cerr);
	if (n < 0)
		goto out;
	if (rc == 1)
		rc = sb_contents_end(&c, cuts, &cerr);
	if (sb_bundle_entry_end(b, err) == -1)
		goto out;
	if (rc == -1) {
		*err = cerr;
		sb_err_prefix(err, "%s", b->name);
		fail(b);
		goto out;
	}
	ret = 0;
out:
	sb_contents_release(&c);
	return ret;
}

int
sb_bundle_verify_chunks(int fd, const char *name, struct sb_trust *trust,
    uint64_t chunk, struct sb_chunk_plan *plan, char id[SB_SHA256_HEX],
    struct sb_err *err)
{
	struct sb_bundle *b = NULL;
	struct sb_chunks *cuts = NULL;
	size_t idx;
	int rc, ret = -1;

	if (trust == NULL)
		return sb_err_set(err, SB_EUSAGE, "%s: no trusted keys to "
		    "verify against", name);
	if (sb_bundle_open(&b, fd, name, trust, NULL, err) == -1)
		goto out;
	if (plan != NULL) {
		chunk = sb_chunk_size(chunk, b->m.unpacked_size);
		cuts = sb_calloc(b->m.nentries + 1, sizeof(*cuts));
	}
	while ((rc = sb_bundle_next(b, &idx, err)) == 1) {
		if (verify_entry(b, idx, plan != NULL ? chunk : 0,
		    cuts != NULL ? &cuts[idx] : NULL, err) == -1)
			goto out;
		if (cuts != NULL)
			cuts[idx].size = b->cur_size;
	}
	if (rc == -1)
		goto out;
	if (id != NULL)
		memcpy(id, b->id, SB_SHA256_HEX);
	if (plan != NULL) {
		plan->size = chunk;
		plan->entries = cuts;
		plan->nentries = b->m.nentries;
		cuts = NULL;
	}
	ret = 0;
out:
	if (cuts != NULL) {
		for (size_t i = 0; i < b->m.nentries; i++)
			free(cuts[i].v);
		free(cuts);
	}
	sb_bundle_close(b);
	return ret;
}

int
sb_bundle_verify(int fd, const char *name, struct sb_trust *trust,
    char id[SB_SHA256_HEX], struct sb_err *err)
{
	return sb_bundle_verify_chunks(fd, name, trust, 0, NULL, id, err);
}
