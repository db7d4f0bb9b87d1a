/*
 * MANIFEST parsing and formatting: the text is signed, so the parser accepts
 * exactly one spelling of each manifest, the one the formatter writes.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sqlbundle/fingerprint.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/manifest.h"
#include "sqlbundle/text.h"

/* Header keys in the only order they may appear; Revision repeats. */
static const char *const header_keys[] = {
	"Format", "Project", "Created", "From", "To", "Key-Id", "Entries",
	"Unpacked-Size", "Revision"
};
#define NKEYS		(sizeof(header_keys) / sizeof(header_keys[0]))
#define KEY_REVISION	(NKEYS - 1)

/* Parser state: the text, the line at hand, the result being built. */
struct parser {
	const char	*buf;
	size_t		 len, off;
	unsigned	 line;		/* number of the current line */
	struct sb_manifest *m;
	size_t		 entries_cap;
	unsigned	*rev_lines;	/* line of each Revision */
	unsigned	 entries_line, to_line, from_line;
	size_t		 declared_entries;
	struct sb_err	*err;
};

static int
perr(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An error at the current line. */
static int
perr(struct parser *p, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return sb_err_set(p->err, SB_EINVALID, "MANIFEST line %u: %s", p->line,
	    what);
}

static bool
is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
sha_valid(const char *s)
{
	return strlen(s) == SB_SHA256_HEX - 1 && is_lower_hex(s, SB_SHA256_HEX - 1);
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
	    c == '.' || c == '_' || c == '-';
}

/* Decimal without sign or leading zeros, at most max. */
static bool
parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s != '\0'; s++) {
		if (!is_digit(*s))
			return false;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

bool
sb_path_safe(const char *path)
{
	const char *c;

	if (path == NULL || path[0] == '\0' || path[0] == '/')
		return false;
	if (strstr(path, "..") != NULL || strstr(path, "//") != NULL)
		return false;
	for (c = path; *c != '\0'; c++)
		if (!is_name_char(*c) && *c != '/')
			return false;
	if (c[-1] == '/')
		return false;
	/* No "." component: "./x", "x/./y", "x/." */
	for (c = path; *c != '\0'; c++)
		if (*c == '.' && (c == path || c[-1] == '/') &&
		    (c[1] == '/' || c[1] == '\0'))
			return false;
	return true;
}

static bool
has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n > k && memcmp(s + n - k, suffix, k) == 0;
}

int
sb_seed_name_parse(const char *name, enum sb_entry_kind *kind, char **schema,
    char **table, struct sb_err *err)
{
	size_t n = strlen(name);
	const char *s, *dot;

	if (schema != NULL)
		*schema = NULL;
	if (table != NULL)
		*table = NULL;
	if (strchr(name, '/') != NULL)
		goto bad;
	if (has_suffix(name, n, ".sql")) {
		*kind = SB_ENTRY_SEED_SQL;
		return 0;
	}
	if (!has_suffix(name, n, ".csv"))
		goto bad;
	/* Optional ordering prefix: digits then '-'. */
	s = name;
	while (is_digit(*s))
		s++;
	if (s > name && *s == '-')
		s++;
	else
		s = name;
	dot = strchr(s, '.');
	/* schema: before the first dot; table: up to ".csv"; both non-empty. */
	if (dot == s || dot >= name + n - 4 - 1)
		goto bad;
	*kind = SB_ENTRY_SEED_CSV;
	if (schema != NULL)
		*schema = sb_printf("%.*s", (int)(dot - s), s);
	if (table != NULL)
		*table = sb_printf("%.*s", (int)(name + n - 4 - (dot + 1)),
		    dot + 1);
	return 0;
bad:
	return sb_err_set(err, SB_EINVALID,
	    "seed file \"%s\": name is neither \"[NN-]schema.table.csv\" "
	    "nor \"*.sql\"", name);
}

/*
 * Whole-text checks first, so field parsers see clean lines: UTF-8, no
 * NUL, no CR, no control character but tab, a final newline.
 */
static int
check_bytes(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->buf;
	size_t i = 0, k;

	p->line = 1;
	while (i < p->len) {
		if (s[i] == '\n') {
			p->line++;
			i++;
			continue;
		}
		if (s[i] == '\0')
			return perr(p, "NUL byte");
		if (s[i] == '\r')
			return perr(p, "carriage return (lines end with LF only)");
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return perr(p, "control character 0x%02x", s[i]);
		if ((k = sb_utf8_len(s + i, p->len - i, NULL)) == 0)
			return perr(p, "invalid UTF-8");
		i += k;
	}
	if (p->len == 0 || s[p->len - 1] != '\n') {
		if (p->len == 0)
			p->line = 1;
		return perr(p, "missing newline at end of file");
	}
	return 0;
}

/*
 * The next line as a NUL-terminated copy in *out (caller frees), or
 * NULL at the end of the text.
 */
static char *
next_line(struct parser *p)
{
	const char *nl;
	char *line;

	if (p->off >= p->len)
		return NULL;
	nl = memchr(p->buf + p->off, '\n', p->len - p->off);
	line = sb_printf("%.*s", (int)(nl - (p->buf + p->off)),
	    p->buf + p->off);
	p->off = (size_t)(nl - p->buf) + 1;
	p->line++;
	return line;
}

static ssize_t
key_index(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(key, header_keys[i]) == 0)
			return (ssize_t)i;
	return -1;
}

static bool
created_valid(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i])
			return false;
	return true;
}

bool
sb_project_valid(const char *s)
{
	size_t n = strlen(s);

	/* "." and ".." would make odd bundle names; a leading dot hides it. */
	if (n == 0 || n > SB_PROJECT_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

/*
 * Take "name=" at *cur and return its value up to the next space (or the
 * end), advancing *cur past the space.
 */
static char *
field(struct parser *p, char **cur, const char *name, bool last)
{
	size_t n = strlen(name);
	char *v, *sp;

	if (strncmp(*cur, name, n) != 0 || (*cur)[n] != '=') {
		perr(p, "expected \"%s=\"", name);
		return NULL;
	}
	v = *cur + n + 1;
	if (last) {
		*cur = v + strlen(v);
		return v;
	}
	if ((sp = strchr(v, ' ')) == NULL) {
		perr(p, "expected a space after \"%s=\"", name);
		return NULL;
	}
	*sp = '\0';
	*cur = sp + 1;
	return v;
}

static int
parse_line_number(struct parser *p, const char *name, const char *v,
    unsigned *out)
{
	uint64_t n;

	if (!parse_decimal(v, UINT_MAX, &n))
		return perr(p, "%s \"%s\" is not a line number", name, v);
	*out = (unsigned)n;
	return 0;
}

static int
parse_parents(struct parser *p, struct sb_manifest_rev *r, char *v)
{
	char *tok, *save = NULL;

	if (strcmp(v, "-") == 0)
		return 0;
	if (v[0] == '\0' || v[0] == ',' || v[strlen(v) - 1] == ',' ||
	    strstr(v, ",,") != NULL)
		return perr(p, "parents \"%s\" is not \"-\" or a list of ids", v);
	for (tok = strtok_r(v, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (!sb_revision_id_valid(tok))
			return perr(p, "invalid parent id \"%s\"", tok);
		if (strcmp(tok, r->id) == 0)
			return perr(p, "revision \"%s\" is its own parent",
			    r->id);
		for (size_t i = 0; i < r->nparents; i++)
			if (strcmp(r->parents[i], tok) == 0)
				return perr(p, "duplicate parent \"%s\"", tok);
		r->parents = sb_realloc(r->parents,
		    (r->nparents + 1) * sizeof(*r->parents));
		r->parents[r->nparents++] = sb_strdup(tok);
	}
	return 0;
}

/*
 * "Revision: 0001 <id> parents=<ids|-> transactional=<bool> file=<name>
 * upgrade-line=<n> downgrade-line=<n> upgrade=<sha> downgrade=<sha|->
 * message=<rest of line>"
 */
static int
parse_revision(struct parser *p, char *v)
{
	struct sb_manifest *m = p->m;
	struct sb_manifest_rev *r;
	char want[16], *cur = v, *sp, *f;

	m->revs = sb_realloc(m->revs, (m->nrevs + 1) * sizeof(*m->revs));
	p->rev_lines = sb_realloc(p->rev_lines,
	    (m->nrevs + 1) * sizeof(*p->rev_lines));
	r = &m->revs[m->nrevs];
	memset(r, 0, sizeof(*r));
	r->downgrade_entry = -1;
	p->rev_lines[m->nrevs] = p->line;
	m->nrevs++;
	r->pos = (unsigned)m->nrevs;

	snprintf(want, sizeof(want), "%04u", r->pos);
	if ((sp = strchr(cur, ' ')) == NULL)
		return perr(p, "expected \"Revision: %s <id> ...\"", want);
	*sp = '\0';
	if (strcmp(cur, want) != 0)
		return perr(p, "revision position \"%s\", expected \"%s\"",
		    cur, want);
	cur = sp + 1;
	if ((sp = strchr(cur, ' ')) == NULL)
		return perr(p, "expected \"parents=\"");
	*sp = '\0';
	if (!sb_revision_id_valid(cur))
		return perr(p, "invalid revision id \"%s\"", cur);
	for (size_t i = 0; i + 1 < m->nrevs; i++)
		if (strcmp(m->revs[i].id, cur) == 0)
			return perr(p, "duplicate revision \"%s\"", cur);
	strcpy(r->id, cur);
	cur = sp + 1;

	if ((f = field(p, &cur, "parents", false)) == NULL ||
	    parse_parents(p, r, f) == -1)
		return -1;
	if ((f = field(p, &cur, "transactional", false)) == NULL)
		return -1;
	if (strcmp(f, "true") == 0)
		r->transactional = true;
	else if (strcmp(f, "false") != 0)
		return perr(p, "transactional \"%s\" is not true or false", f);
	if ((f = field(p, &cur, "file", false)) == NULL)
		return -1;
	if (!sb_path_safe(f) || strchr(f, '/') != NULL)
		return perr(p, "invalid file name \"%s\"", f);
	r->file = sb_strdup(f);
	if ((f = field(p, &cur, "upgrade-line", false)) == NULL ||
	    parse_line_number(p, "upgrade-line", f, &r->upgrade_line) == -1)
		return -1;
	if (r->upgrade_line == 0)
		return perr(p, "upgrade-line must be at least 1");
	if ((f = field(p, &cur, "downgrade-line", false)) == NULL ||
	    parse_line_number(p, "downgrade-line", f, &r->downgrade_line) == -1)
		return -1;
	if ((f = field(p, &cur, "upgrade", false)) == NULL)
		return -1;
	if (!sha_valid(f))
		return perr(p, "upgrade SHA-256 \"%s\" is not 64 lowercase hex "
		    "digits", f);
	strcpy(r->upgrade_sha, f);
	if ((f = field(p, &cur, "downgrade", false)) == NULL)
		return -1;
	if (strcmp(f, "-") == 0) {
		if (r->downgrade_line != 0)
			return perr(p, "downgrade-line must be 0 for an "
			    "irreversible revision");
	} else if (!sha_valid(f)) {
		return perr(p, "downgrade SHA-256 \"%s\" is not 64 lowercase "
		    "hex digits or \"-\"", f);
	} else {
		if (r->downgrade_line == 0)
			return perr(p, "downgrade-line must be at least 1");
		strcpy(r->downgrade_sha, f);
	}
	if ((f = field(p, &cur, "message", true)) == NULL)
		return -1;
	r->message = sb_strdup(f);
	return 0;
}

static int
parse_header_value(struct parser *p, size_t k, char *v)
{
	struct sb_manifest *m = p->m;
	uint64_t n;

	switch (k) {
	case 0:
		if (strcmp(v, SB_FORMAT) != 0)
			return perr(p, "unsupported format \"%s\" (expected "
			    "\"%s\")", v, SB_FORMAT);
		return 0;
	case 1:
		if (!sb_project_valid(v))
			return perr(p, "invalid project name \"%s\"", v);
		m->project = sb_strdup(v);
		return 0;
	case 2:
		if (!created_valid(v))
			return perr(p, "Created \"%s\" is not "
			    "YYYY-MM-DDTHH:MM:SSZ", v);
		m->created = sb_strdup(v);
		return 0;
	case 3:
		if (strcmp(v, "base") != 0 && !sb_revision_id_valid(v))
			return perr(p, "From \"%s\" is not \"base\" or a "
			    "revision id", v);
		m->from = sb_strdup(v);
		p->from_line = p->line;
		return 0;
	case 4:
		if (!sb_revision_id_valid(v))
			return perr(p, "To \"%s\" is not a revision id", v);
		m->to = sb_strdup(v);
		p->to_line = p->line;
		return 0;
	case 5:
		if (strlen(v) != SB_KEYID_HEX - 1 ||
		    !is_lower_hex(v, SB_KEYID_HEX - 1))
			return perr(p, "Key-Id \"%s\" is not 16 lowercase hex "
			    "digits", v);
		strcpy(m->key_id, v);
		return 0;
	case 6:
		if (!parse_decimal(v, SIZE_MAX / 2, &n))
			return perr(p, "Entries \"%s\" is not a number", v);
		p->declared_entries = (size_t)n;
		p->entries_line = p->line;
		return 0;
	case 7:
		if (!parse_decimal(v, UINT64_MAX, &n))
			return perr(p, "Unpacked-Size \"%s\" is not a number", v);
		m->unpacked_size = n;
		return 0;
	default:
		return parse_revision(p, v);
	}
}

/* Header lines up to the blank line. */
static int
parse_header(struct parser *p)
{
	size_t next = 0;	/* index of the key expected next */
	char *line = NULL, *colon;
	ssize_t k;
	int ret = -1;

	for (;;) {
		free(line);
		if ((line = next_line(p)) == NULL) {
			p->line++;
			perr(p, "unexpected end of file in the header");
			goto out;
		}
		if (line[0] == '\0')
			break;
		if ((colon = strstr(line, ": ")) == NULL) {
			perr(p, "expected \"Key: value\"");
			goto out;
		}
		*colon = '\0';
		if ((k = key_index(line)) == -1) {
			perr(p, "unknown key \"%s\"", line);
			goto out;
		}
		if ((size_t)k != next && !(k == (ssize_t)KEY_REVISION &&
		    next == NKEYS)) {
			if ((size_t)k < next && k != (ssize_t)KEY_REVISION)
				perr(p, "duplicate key \"%s\"", line);
			else
				perr(p, "key \"%s\" out of order (expected "
				    "\"%s\")", line, header_keys[next]);
			goto out;
		}
		if (parse_header_value(p, (size_t)k, colon + 2) == -1)
			goto out;
		if (next < NKEYS)
			next++;
	}
	if (next < NKEYS) {
		perr(p, "missing key \"%s\" before the blank line",
		    header_keys[next]);
		goto out;
	}
	ret = 0;
out:
	free(line);
	return ret;
}

static struct sb_manifest_entry *
add_entry(struct parser *p, const char *path, const char *sha,
    enum sb_entry_kind kind, size_t rev)
{
	struct sb_manifest *m = p->m;
	struct sb_manifest_entry *e;

	if (m->nentries == p->entries_cap) {
		p->entries_cap = p->entries_cap ? p->entries_cap * 2 : 16;
		m->entries = sb_realloc(m->entries,
		    p->entries_cap * sizeof(*m->entries));
	}
	e = &m->entries[m->nentries++];
	memset(e, 0, sizeof(*e));
	e->path = sb_strdup(path);
	strcpy(e->sha, sha);
	e->kind = kind;
	e->rev = rev;
	return e;
}

/*
 * The index of the revision a seed path "seeds/NNNN_<id>/<name>" belongs
 * to, with *name pointing at <name>; -1 if the folder names no revision.
 */
static ssize_t
seed_rev(const struct sb_manifest *m, const char *path, const char **name)
{
	const char *slash;
	char dir[64];

	if (strncmp(path, "seeds/", 6) != 0)
		return -1;
	path += 6;
	if ((slash = strchr(path, '/')) == NULL || strchr(slash + 1, '/'))
		return -1;
	for (size_t i = 0; i < m->nrevs; i++) {
		snprintf(dir, sizeof(dir), "%04u_%s", m->revs[i].pos,
		    m->revs[i].id);
		if (strlen(dir) == (size_t)(slash - path) &&
		    memcmp(dir, path, (size_t)(slash - path)) == 0) {
			*name = slash + 1;
			return (ssize_t)i;
		}
	}
	return -1;
}

/*
 * The entry lines, checked against the expected sequence: upgrades, then
 * downgrades of reversible revisions, then seeds by revision and name.
 */
static int
parse_entries(struct parser *p)
{
	struct sb_manifest *m = p->m;
	struct sb_manifest_rev *r;
	struct sb_manifest_entry *e;
	size_t up = 0, down = 0, seed_rev_at = 0;
	const char *path, *name, *prev_name = NULL;
	char *line = NULL, *want = NULL;
	enum sb_entry_kind kind;
	ssize_t ri;
	int ret = -1;

	/* Downgrades are listed for reversible revisions only. */
	while (down < m->nrevs && m->revs[down].downgrade_sha[0] == '\0')
		down++;
	while ((line = next_line(p)) != NULL) {
		if (strlen(line) < SB_SHA256_HEX + 1 ||
		    !is_lower_hex(line, SB_SHA256_HEX - 1) ||
		    line[SB_SHA256_HEX - 1] != ' ' || line[SB_SHA256_HEX] != ' ') {
			perr(p, "expected \"<sha256>  <path>\"");
			goto out;
		}
		line[SB_SHA256_HEX - 1] = '\0';
		path = line + SB_SHA256_HEX + 1;
		if (!sb_path_safe(path)) {
			perr(p, "unsafe path \"%s\"", path);
			goto out;
		}
		free(want);
		want = NULL;
		if (m->nentries == 0 && strcmp(path, SB_FP_MEMBER) == 0) {
			/* The expected schemas come first, before any script. */
			add_entry(p, path, line, SB_ENTRY_FINGERPRINTS, 0);
			m->fingerprints = true;
		} else if (up < m->nrevs) {
			r = &m->revs[up];
			want = sb_printf("upgrade/%04u_%s.sql", r->pos, r->id);
			if (strcmp(path, want) != 0) {
				perr(p, "expected entry \"%s\", found \"%s\"",
				    want, path);
				goto out;
			}
			if (strcmp(line, r->upgrade_sha) != 0) {
				perr(p, "SHA-256 of \"%s\" differs from its "
				    "Revision line", path);
				goto out;
			}
			r->upgrade_entry = m->nentries;
			add_entry(p, path, line, SB_ENTRY_UPGRADE, up);
			up++;
		} else if (down < m->nrevs) {
			r = &m->revs[down];
			want = sb_printf("downgrade/%04u_%s.sql", r->pos, r->id);
			if (strcmp(path, want) != 0) {
				perr(p, "expected entry \"%s\", found \"%s\"",
				    want, path);
				goto out;
			}
			if (strcmp(line, r->downgrade_sha) != 0) {
				perr(p, "SHA-256 of \"%s\" differs from its "
				    "Revision line", path);
				goto out;
			}
			r->downgrade_entry = (ssize_t)m->nentries;
			add_entry(p, path, line, SB_ENTRY_DOWNGRADE, down);
			do
				down++;
			while (down < m->nrevs &&
			    m->revs[down].downgrade_sha[0] == '\0');
		} else {
			if ((ri = seed_rev(m, path, &name)) == -1) {
				perr(p, "unexpected entry \"%s\" (expected a "
				    "seed file seeds/NNNN_<revision>/<name>)",
				    path);
				goto out;
			}
			if ((size_t)ri < seed_rev_at) {
				perr(p, "seed entry \"%s\" out of revision "
				    "order", path);
				goto out;
			}
			if ((size_t)ri == seed_rev_at && prev_name != NULL &&
			    strcmp(prev_name, name) >= 0) {
				perr(p, "seed entry \"%s\" out of name order",
				    path);
				goto out;
			}
			if (sb_seed_name_parse(name, &kind, NULL, NULL,
			    p->err) == -1) {
				sb_err_prefix(p->err, "MANIFEST line %u",
				    p->line);
				goto out;
			}
			e = add_entry(p, path, line, kind, (size_t)ri);
			if (kind == SB_ENTRY_SEED_CSV)
				sb_seed_name_parse(name, &kind, &e->schema,
				    &e->table, p->err);
			seed_rev_at = (size_t)ri;
			prev_name = e->path + (name - path);
		}
		free(line);
		line = NULL;
	}
	if (up < m->nrevs || down < m->nrevs) {
		r = &m->revs[up < m->nrevs ? up : down];
		p->line++;
		perr(p, "missing entry \"%s/%04u_%s.sql\"",
		    up < m->nrevs ? "upgrade" : "downgrade", r->pos, r->id);
		goto out;
	}
	if (m->nentries != p->declared_entries) {
		p->line = p->entries_line;
		perr(p, "Entries is %zu but %zu entry lines follow",
		    p->declared_entries, m->nentries);
		goto out;
	}
	ret = 0;
out:
	free(want);
	free(line);
	return ret;
}

/* Rules between lines: parents in apply order, From and To, seed groups. */
static int
check_consistency(struct parser *p)
{
	struct sb_manifest *m = p->m;
	size_t k;

	for (size_t i = 0; i < m->nrevs; i++) {
		for (size_t j = 0; j < m->revs[i].nparents; j++)
			for (size_t l = i; l < m->nrevs; l++)
				if (strcmp(m->revs[i].parents[j],
				    m->revs[l].id) == 0) {
					p->line = p->rev_lines[i];
					return perr(p, "parent \"%s\" does not "
					    "come before revision \"%s\"",
					    m->revs[l].id, m->revs[i].id);
				}
		if (strcmp(m->revs[i].id, m->from) == 0) {
			p->line = p->from_line;
			return perr(p, "From \"%s\" is a revision of the "
			    "bundle", m->from);
		}
	}
	if (strcmp(m->to, m->revs[m->nrevs - 1].id) != 0) {
		p->line = p->to_line;
		return perr(p, "To \"%s\" is not the last revision \"%s\"",
		    m->to, m->revs[m->nrevs - 1].id);
	}
	/* Seeds are contiguous per revision, in revision order. */
	for (k = 0; k < m->nentries && (m->entries[k].kind == SB_ENTRY_UPGRADE ||
	    m->entries[k].kind == SB_ENTRY_DOWNGRADE ||
	    m->entries[k].kind == SB_ENTRY_FINGERPRINTS); k++)
		;
	for (size_t i = 0; i < m->nrevs; i++) {
		m->revs[i].first_seed = k;
		while (k < m->nentries && m->entries[k].rev == i)
			k++;
		m->revs[i].nseeds = k - m->revs[i].first_seed;
	}
	return 0;
}

int
sb_manifest_parse(struct sb_manifest *m, const char *buf, size_t len,
    struct sb_err *err)
{
	struct parser p;
	int ret = -1;

	memset(m, 0, sizeof(*m));
	memset(&p, 0, sizeof(p));
	p.buf = buf;
	p.len = len;
	p.m = m;
	p.err = err;
	if (len > SB_MANIFEST_MAX) {
		sb_err_set(err, SB_EINVALID, "MANIFEST is too large (%zu "
		    "bytes, at most %d)", len, SB_MANIFEST_MAX);
		goto out;
	}
	if (check_bytes(&p) == -1)
		goto out;
	p.line = 0;
	if (parse_header(&p) == -1 || parse_entries(&p) == -1 ||
	    check_consistency(&p) == -1)
		goto out;
	ret = 0;
out:
	free(p.rev_lines);
	if (ret == -1)
		sb_manifest_release(m);
	return ret;
}

/* A growing text buffer for the formatter. */
struct text {
	char	*s;
	size_t	 len, cap;
};

static void
text_add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("sqlbundle: formatting failed\n", stderr);
		abort();
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->s = sb_realloc(t->s, t->cap);
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

int
sb_manifest_format(const struct sb_manifest *m, char **bufp, size_t *lenp,
    struct sb_err *err)
{
	struct sb_manifest check = SB_MANIFEST_INIT;
	struct text t = { NULL, 0, 0 };
	const struct sb_manifest_rev *r;

	*bufp = NULL;
	*lenp = 0;
	text_add(&t, "Format: %s\nProject: %s\nCreated: %s\nFrom: %s\n"
	    "To: %s\nKey-Id: %s\nEntries: %zu\nUnpacked-Size: %" PRIu64 "\n",
	    SB_FORMAT, m->project ? m->project : "",
	    m->created ? m->created : "", m->from ? m->from : "",
	    m->to ? m->to : "", m->key_id, m->nentries, m->unpacked_size);
	for (size_t i = 0; i < m->nrevs; i++) {
		r = &m->revs[i];
		text_add(&t, "Revision: %04u %s parents=", r->pos, r->id);
		if (r->nparents == 0)
			text_add(&t, "-");
		for (size_t j = 0; j < r->nparents; j++)
			text_add(&t, "%s%s", j ? "," : "", r->parents[j]);
		text_add(&t, " transactional=%s file=%s upgrade-line=%u "
		    "downgrade-line=%u upgrade=%s downgrade=%s message=%s\n",
		    r->transactional ? "true" : "false",
		    r->file ? r->file : "", r->upgrade_line, r->downgrade_line,
		    r->upgrade_sha,
		    r->downgrade_sha[0] ? r->downgrade_sha : "-",
		    r->message ? r->message : "");
	}
	text_add(&t, "\n");
	for (size_t i = 0; i < m->nentries; i++)
		text_add(&t, "%s  %s\n", m->entries[i].sha,
		    m->entries[i].path ? m->entries[i].path : "");
	/* What we sign must be what every verifier accepts. */
	if (sb_manifest_parse(&check, t.s, t.len, err) == -1) {
		sb_err_prefix(err, "invalid manifest");
		free(t.s);
		*lenp = t.len;	/* so a caller can tell one too large */
		return -1;
	}
	sb_manifest_release(&check);
	*bufp = t.s;
	*lenp = t.len;
	return 0;
}

void
sb_manifest_release(struct sb_manifest *m)
{
	if (m == NULL)
		return;
	free(m->project);
	free(m->created);
	free(m->from);
	free(m->to);
	for (size_t i = 0; i < m->nrevs; i++) {
		for (size_t j = 0; j < m->revs[i].nparents; j++)
			free(m->revs[i].parents[j]);
		free(m->revs[i].parents);
		free(m->revs[i].file);
		free(m->revs[i].message);
	}
	free(m->revs);
	for (size_t i = 0; i < m->nentries; i++) {
		free(m->entries[i].path);
		free(m->entries[i].schema);
		free(m->entries[i].table);
	}
	free(m->entries);
	memset(m, 0, sizeof(*m));
}
