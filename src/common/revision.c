/*
 * Parse one revision file: "-- key: value" header, "-- +upgrade" and
 * "-- +downgrade" sections kept byte-exact (SPEC section 1).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/revision.h"
#include "sqlbundle/text.h"
#include "sqlbundle/sqlsplit.h"
#include "revision_priv.h"
#include "sqlsplit_priv.h"

/* Values quoted in messages are cut to this many bytes. */
#define QUOTE_MAX	64

enum key { K_REVISION, K_DOWN, K_MESSAGE, K_TRANSACTIONAL, K_COUNT, K_NONE };

static const char *const key_names[K_COUNT] = {
	"revision", "down_revision", "message", "transactional"
};

enum marker { M_NONE, M_UPGRADE, M_DOWNGRADE };

struct parser {
	struct sb_revision	*rev;
	const char		*path;
	struct sb_err		*err;
	unsigned		 key_line[K_COUNT];
};

static bool
id_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
id_valid_n(const char *s, size_t n)
{
	if (n == 0 || n > SB_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!id_char((unsigned char)s[i]))
			return false;
	return true;
}

bool
sb_revision_id_valid(const char *s)
{
	return id_valid_n(s, strlen(s));
}

static int
quote_len(size_t n)
{
	return n > QUOTE_MAX ? QUOTE_MAX : (int)n;
}

/* Files are UTF-8 text: no NUL byte, no invalid sequence. */
static int
check_text(const char *path, const char *buf, size_t len, struct sb_err *err)
{
	const unsigned char *p = (const unsigned char *)buf;
	unsigned line = 1;
	size_t i = 0, k;

	while (i < len) {
		unsigned char c = p[i];

		if (c >= 0x01 && c < 0x80) {
			if (c == '\n')
				line++;
			i++;
		} else if (c == 0) {
			return sb_err_set(err, SB_EINVALID,
			    "%s:%u: NUL byte in revision file", path, line);
		} else if ((k = sb_utf8_len(p + i, len - i, NULL)) == 0) {
			return sb_err_set(err, SB_EINVALID,
			    "%s:%u: invalid UTF-8", path, line);
		} else {
			i += k;
		}
	}
	return 0;
}

/* A marker line, trailing spaces and CR already cut. */
static enum marker
marker(const char *l, size_t n)
{
	if (n == 11 && memcmp(l, "-- +upgrade", 11) == 0)
		return M_UPGRADE;
	if (n == 13 && memcmp(l, "-- +downgrade", 13) == 0)
		return M_DOWNGRADE;
	return M_NONE;
}

static bool
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * "-- word: value" (l starts with "--", trailing blanks cut): true with
 * the key and the value (leading blanks cut).
 */
static bool
key_line(const char *l, size_t n, const char **key, size_t *klen,
    const char **val, size_t *vlen)
{
	size_t i = 2, k;

	while (i < n && blank(l[i]))
		i++;
	k = i;
	if (i >= n || !((l[i] >= 'a' && l[i] <= 'z') ||
	    (l[i] >= 'A' && l[i] <= 'Z') || l[i] == '_'))
		return false;
	while (i < n && (id_char((unsigned char)l[i]) || l[i] == '-'))
		i++;
	*key = l + k;
	*klen = i - k;
	while (i < n && blank(l[i]))
		i++;
	if (i >= n || l[i] != ':')
		return false;
	i++;
	while (i < n && blank(l[i]))
		i++;
	*val = l + i;
	*vlen = n - i;
	return true;
}

static enum key
key_lookup(const char *k, size_t n)
{
	for (int i = 0; i < K_COUNT; i++)
		if (strlen(key_names[i]) == n && memcmp(key_names[i], k, n) == 0)
			return (enum key)i;
	return K_NONE;
}

static char *
dup_n(const char *s, size_t n)
{
	char *d = sb_malloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "none", or ids separated by commas (spaces allowed). */
static int
set_parents(struct parser *ps, unsigned line, const char *v, size_t n)
{
	struct sb_revision *rev = ps->rev;
	char **sorted = NULL;
	size_t count = 1, i, start;
	int ret = -1;

	if (n == 0)
		return sb_err_set(ps->err, SB_EINVALID,
		    "%s:%u: empty down_revision (write \"none\" for a base "
		    "revision)", ps->path, line);
	if (n == 4 && strncasecmp(v, "none", 4) == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (v[i] == ',')
			count++;
	rev->parents = sb_calloc(count, sizeof(*rev->parents));
	for (i = 0, start = 0; i <= n; i++) {
		size_t a = start, b = i;

		if (i < n && v[i] != ',')
			continue;
		start = i + 1;
		while (a < b && blank(v[a]))
			a++;
		while (b > a && blank(v[b - 1]))
			b--;
		if (a == b) {
			sb_err_set(ps->err, SB_EINVALID,
			    "%s:%u: empty id in down_revision", ps->path, line);
			goto out;
		}
		if (!id_valid_n(v + a, b - a)) {
			sb_err_set(ps->err, SB_EINVALID,
			    "%s:%u: invalid down_revision id \"%.*s\" (ids are "
			    "1-32 characters of [0-9A-Za-z_])", ps->path, line,
			    quote_len(b - a), v + a);
			goto out;
		}
		rev->parents[rev->nparents++] = dup_n(v + a, b - a);
	}
	/* a parent listed twice would make a merge of one */
	sorted = sb_malloc(count * sizeof(*sorted));
	memcpy(sorted, rev->parents, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), cmp_str);
	for (i = 1; i < count; i++) {
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			sb_err_set(ps->err, SB_EINVALID,
			    "%s:%u: down_revision lists \"%s\" twice",
			    ps->path, line, sorted[i]);
			goto out;
		}
	}
	ret = 0;
out:
	free(sorted);
	return ret;
}

static int
set_key(struct parser *ps, unsigned line, enum key k, const char *v, size_t n)
{
	struct sb_revision *rev = ps->rev;

	if (ps->key_line[k] != 0)
		return sb_err_set(ps->err, SB_EINVALID,
		    "%s:%u: duplicate header key \"%s\" (first at line %u)",
		    ps->path, line, key_names[k], ps->key_line[k]);
	ps->key_line[k] = line;
	switch (k) {
	case K_REVISION:
		if (!id_valid_n(v, n))
			return sb_err_set(ps->err, SB_EINVALID,
			    "%s:%u: invalid revision id \"%.*s\" (ids are 1-32 "
			    "characters of [0-9A-Za-z_])", ps->path, line,
			    quote_len(n), v);
		memcpy(rev->id, v, n);
		rev->id[n] = '\0';
		rev->header_line = line;
		return 0;
	case K_DOWN:
		return set_parents(ps, line, v, n);
	case K_MESSAGE:
		rev->message = dup_n(v, n);
		return 0;
	case K_TRANSACTIONAL:
		if (n == 4 && memcmp(v, "true", 4) == 0)
			rev->transactional = true;
		else if (n == 5 && memcmp(v, "false", 5) == 0)
			rev->transactional = false;
		else
			return sb_err_set(ps->err, SB_EINVALID,
			    "%s:%u: transactional must be true or false, not "
			    "\"%.*s\"", ps->path, line, quote_len(n), v);
		return 0;
	default:
		return 0;
	}
}

/* A line before the first marker (trailing blanks cut). */
static int
header_line(struct parser *ps, unsigned line, const char *l, size_t n)
{
	const char *key, *val;
	size_t klen, vlen;
	enum key k;

	while (n > 0 && blank(*l)) {
		l++;
		n--;
	}
	if (n == 0)
		return 0;
	if (n < 2 || l[0] != '-' || l[1] != '-')
		return sb_err_set(ps->err, SB_EINVALID,
		    "%s:%u: SQL before the \"-- +upgrade\" marker", ps->path,
		    line);
	if (!key_line(l, n, &key, &klen, &val, &vlen))
		return 0;		/* a comment */
	if ((k = key_lookup(key, klen)) == K_NONE)
		return sb_err_set(ps->err, SB_EINVALID,
		    "%s:%u: unknown header key \"%.*s\" (known: revision, "
		    "down_revision, message, transactional)", ps->path, line,
		    quote_len(klen), key);
	return set_key(ps, line, k, val, vlen);
}

static char *
copy_body(const char *a, const char *b, size_t *len)
{
	*len = (size_t)(b - a);
	return dup_n(a, *len);
}

/* The file name is <id>_<slug>.sql or <id>.sql. */
static bool
name_matches(const char *file, const char *id)
{
	size_t idlen = strlen(id), flen = strlen(file);

	if (strncmp(file, id, idlen) != 0 || flen < idlen + 4 ||
	    strcmp(file + flen - 4, ".sql") != 0)
		return false;
	return flen == idlen + 4 || file[idlen] == '_';
}

/*
 * Lines of each section must split into statements. A section with none
 * is a no-op step that only moves the version (a merge revision), as
 * Alembic runs such revisions.
 */
static int
check_bodies(struct parser *ps)
{
	struct sb_revision *rev = ps->rev;
	struct sb_stmt *st = NULL;
	size_t n = 0;

	if (sb_sql_split_at(rev->upgrade, rev->upgrade_len, ps->path,
	    rev->upgrade_line, &st, &n, ps->err) == -1)
		return -1;
	free(st);
	if (rev->downgrade != NULL) {
		if (sb_sql_split_at(rev->downgrade, rev->downgrade_len,
		    ps->path, rev->downgrade_line, &st, &n, ps->err) == -1)
			return -1;
		free(st);
	}
	return 0;
}

static int
parse(struct sb_revision *rev, const char *path, const char *buf, size_t len,
    unsigned *down_line, struct sb_err *err)
{
	struct parser ps;
	const char *p = buf, *end = buf + len, *slash;
	const char *up_start = NULL, *up_end = NULL, *down_start = NULL;
	unsigned line, last = 1, up_marker = 0, down_marker = 0;
	int ret = -1;

	memset(rev, 0, sizeof(*rev));
	rev->transactional = true;
	rev->path = sb_strdup(path);
	slash = strrchr(path, '/');
	rev->file = sb_strdup(slash ? slash + 1 : path);
	memset(&ps, 0, sizeof(ps));
	ps.rev = rev;
	ps.path = path;
	ps.err = err;

	if (check_text(path, buf, len, err) == -1)
		goto out;
	sb_sha256_hex(buf, len, rev->sha256);
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		p += 3;

	for (line = 1; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		size_t n = (size_t)((nl ? nl : end) - p);
		const char *key, *val;
		size_t klen, vlen;
		enum marker m;

		last = line;
		while (n > 0 && blank(p[n - 1]))
			n--;
		m = marker(p, n);
		if (m == M_UPGRADE) {
			if (up_marker != 0) {
				sb_err_set(err, SB_EINVALID, "%s:%u: duplicate "
				    "\"-- +upgrade\" marker (first at line %u)",
				    path, line, up_marker);
				goto out;
			}
			up_marker = line;
			up_start = next;
		} else if (m == M_DOWNGRADE) {
			if (up_marker == 0) {
				sb_err_set(err, SB_EINVALID, "%s:%u: "
				    "\"-- +downgrade\" before \"-- +upgrade\"",
				    path, line);
				goto out;
			}
			if (down_marker != 0) {
				sb_err_set(err, SB_EINVALID, "%s:%u: duplicate "
				    "\"-- +downgrade\" marker (first at line "
				    "%u)", path, line, down_marker);
				goto out;
			}
			down_marker = line;
			up_end = p;
			down_start = next;
		} else if (up_marker == 0) {
			if (header_line(&ps, line, p, n) == -1)
				goto out;
		} else if (n > 2 && p[0] == '-' && p[1] == '-' &&
		    key_line(p, n, &key, &klen, &val, &vlen) &&
		    key_lookup(key, klen) != K_NONE) {
			/* it would be silently ignored */
			sb_err_set(err, SB_EINVALID, "%s:%u: header key \"%.*s\" "
			    "after the first marker", path, line, (int)klen,
			    key);
			goto out;
		}
		p = next;
	}

	if (up_marker == 0) {
		sb_err_set(err, SB_EINVALID,
		    "%s:%u: missing \"-- +upgrade\" marker", path, last);
		goto out;
	}
	if (ps.key_line[K_REVISION] == 0) {
		sb_err_set(err, SB_EINVALID,
		    "%s:%u: missing \"-- revision:\" header before the "
		    "\"-- +upgrade\" marker", path, up_marker);
		goto out;
	}
	if (!name_matches(rev->file, rev->id)) {
		sb_err_set(err, SB_EINVALID, "%s:%u: revision \"%s\" does not "
		    "match the file name \"%s\"", path, rev->header_line,
		    rev->id, rev->file);
		sb_err_hint(err, "name the file %s_<slug>.sql", rev->id);
		goto out;
	}
	if (rev->message == NULL)
		rev->message = sb_strdup("");
	rev->upgrade = copy_body(up_start, up_end ? up_end : end,
	    &rev->upgrade_len);
	rev->upgrade_line = up_marker + 1;
	if (down_start != NULL) {
		rev->downgrade = copy_body(down_start, end,
		    &rev->downgrade_len);
		rev->downgrade_line = down_marker + 1;
	}
	if (check_bodies(&ps) == -1)
		goto out;
	if (down_line != NULL)
		*down_line = ps.key_line[K_DOWN];
	ret = 0;
out:
	if (ret == -1)
		sb_revision_release(rev);
	return ret;
}

int
sb_revision_parse(struct sb_revision *rev, const char *path, const char *buf,
    size_t len, struct sb_err *err)
{
	return parse(rev, path, buf, len, NULL, err);
}

int
sb_revision_load_at(struct sb_revision *rev, const char *path,
    unsigned *down_line, struct sb_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	memset(rev, 0, sizeof(*rev));
	rev->transactional = true;
	if (sb_read_file(path, SB_SCRIPT_MAX, &buf, &len, err) == -1)
		return -1;
	ret = parse(rev, path, buf, len, down_line, err);
	free(buf);
	return ret;
}

int
sb_revision_load(struct sb_revision *rev, const char *path,
    struct sb_err *err)
{
	return sb_revision_load_at(rev, path, NULL, err);
}

void
sb_revision_release(struct sb_revision *rev)
{
	for (size_t i = 0; i < rev->nparents; i++)
		free(rev->parents[i]);
	free(rev->parents);
	free(rev->message);
	free(rev->path);
	free(rev->file);
	free(rev->upgrade);
	free(rev->downgrade);
	memset(rev, 0, sizeof(*rev));
	rev->transactional = true;
}
