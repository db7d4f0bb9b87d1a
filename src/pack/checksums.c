/*
 * revisions/CHECKSUMS: the SHA-256 of every revision file that went into a
 * bundle, in sha256sum format, so that an edit after landing is refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"
#include "checksums.h"

#define CHECKSUMS_MAX	(16 * 1024 * 1024)

struct sum {
	char	 sha[SB_SHA256_HEX];
	char	*file;
	unsigned line;
};

struct sums {
	struct sum	*v;
	size_t		 n;
	char		*path;		/* <dir>/revisions/CHECKSUMS */
	char		*text;		/* the file as read, NULL if missing */
	size_t		 len;
};

static void
sums_release(struct sums *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].file);
	free(s->v);
	free(s->path);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

static bool
is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A recorded name is a plain file name of revisions/, nothing else. */
static bool
file_name_ok(const char *s)
{
	if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s != '\0'; s++)
		if (*s == '/' || *s == '\\' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

static int
cmp_sum(const void *a, const void *b)
{
	return strcmp(((const struct sum *)a)->file,
	    ((const struct sum *)b)->file);
}

/* Read and parse <dir>/revisions/CHECKSUMS; missing is empty. */
static int
sums_load(struct sums *s, const char *dir, struct sb_err *err)
{
	char *buf = NULL, *line, *nl;
	size_t cap = 0;
	unsigned lineno = 0;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	s->path = strcmp(dir, ".") == 0 ? sb_strdup("revisions/CHECKSUMS") :
	    sb_printf("%s/revisions/CHECKSUMS", dir);
	errno = 0;
	if (sb_read_file(s->path, CHECKSUMS_MAX, &s->text, &s->len, err) ==
	    -1) {
		if (errno == ENOENT) {
			sb_err_clear(err);
			return 0;
		}
		return -1;
	}
	/* Parse a copy: s->text stays as read, to skip identical rewrites. */
	buf = sb_malloc(s->len + 1);
	memcpy(buf, s->text, s->len + 1);
	for (line = buf; *line != '\0'; line = nl + 1) {
		lineno++;
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line) - 1;
		else
			*nl = '\0';
		if (*line == '\0')
			continue;
		if (strlen(line) < 67 || !is_hex64(line) ||
		    line[64] != ' ' || line[65] != ' ' ||
		    !file_name_ok(line + 66)) {
			sb_err_set(err, SB_EINVALID,
			    "%s:%u: malformed line (expected \"<sha256>  "
			    "<file name>\")", s->path, lineno);
			goto out;
		}
		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->v[i].file, line + 66) == 0) {
				sb_err_set(err, SB_EINVALID,
				    "%s:%u: \"%s\" is listed twice (first "
				    "at line %u)", s->path, lineno, line + 66,
				    s->v[i].line);
				goto out;
			}
		if (s->n == cap) {
			cap = cap ? cap * 2 : 16;
			s->v = sb_realloc(s->v, cap * sizeof(*s->v));
		}
		memcpy(s->v[s->n].sha, line, 64);
		s->v[s->n].sha[64] = '\0';
		s->v[s->n].file = sb_strdup(line + 66);
		s->v[s->n].line = lineno;
		s->n++;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

int
sb_checksums_verify(const char *dir, const struct sb_chain *chain,
    struct sb_err *err)
{
	struct sums s;
	int ret = -1;

	if (sums_load(&s, dir, err) == -1)
		goto out;
	for (size_t i = 0; i < s.n; i++) {
		const struct sb_revision *rev = NULL;

		for (size_t j = 0; j < chain->n; j++)
			if (strcmp(chain->revs[j].file, s.v[i].file) == 0) {
				rev = &chain->revs[j];
				break;
			}
		if (rev == NULL) {
			/* s.path ends in "CHECKSUMS": name its sibling. */
			sb_err_set(err, SB_EINVALID,
			    "revision file \"%.*s%s\" was packed (%s:%u) but "
			    "no longer exists", (int)(strlen(s.path) - 9),
			    s.path, s.v[i].file, s.path, s.v[i].line);
			sb_err_hint(err, "landed revisions never change: "
			    "restore the file");
			goto out;
		}
		if (strcmp(rev->sha256, s.v[i].sha) != 0) {
			sb_err_set(err, SB_EINVALID,
			    "revision file \"%s\" was edited after it was "
			    "packed", rev->path);
			sb_err_detail(err, "%s:%u records sha256 %s, the file "
			    "now has %s", s.path, s.v[i].line, s.v[i].sha,
			    rev->sha256);
			sb_err_hint(err, "landed revisions never change: "
			    "restore the file and make the change in a new "
			    "revision");
			goto out;
		}
	}
	ret = 0;
out:
	sums_release(&s);
	return ret;
}

int
sb_checksums_record(const char *dir, const struct sb_chain *chain,
    struct sb_err *err)
{
	struct sums s;
	char *text = NULL;
	size_t len = 0, cap;
	int ret = -1;

	if (sums_load(&s, dir, err) == -1)
		goto out;
	/* Keep what earlier packs recorded; add or update chain's files. */
	s.v = sb_realloc(s.v, (s.n + chain->n) * sizeof(*s.v));
	for (size_t j = 0; j < chain->n; j++) {
		const struct sb_revision *rev = &chain->revs[j];
		size_t i;

		for (i = 0; i < s.n; i++)
			if (strcmp(s.v[i].file, rev->file) == 0)
				break;
		if (i == s.n) {
			s.v[s.n].file = sb_strdup(rev->file);
			s.v[s.n++].line = 0;
		}
		memcpy(s.v[i].sha, rev->sha256, SB_SHA256_HEX);
	}
	if (s.n > 1)
		qsort(s.v, s.n, sizeof(*s.v), cmp_sum);
	cap = 1;
	for (size_t i = 0; i < s.n; i++)
		cap += 64 + 2 + strlen(s.v[i].file) + 1;
	text = sb_malloc(cap);
	for (size_t i = 0; i < s.n; i++) {
		size_t fl = strlen(s.v[i].file);

		memcpy(text + len, s.v[i].sha, 64);
		memcpy(text + len + 64, "  ", 2);
		memcpy(text + len + 66, s.v[i].file, fl);
		text[len + 66 + fl] = '\n';
		len += 66 + fl + 1;
	}
	text[len] = '\0';
	if (s.text != NULL && s.len == len && memcmp(s.text, text, len) == 0) {
		ret = 0;
		goto out;
	}
	ret = sb_write_file_atomic(s.path, text, len, 0644, err);
out:
	free(text);
	sums_release(&s);
	return ret;
}
