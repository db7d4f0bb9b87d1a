/*
 * Split a SQL script into statements as PostgreSQL's lexer sees them, in
 * one linear pass; BEGIN ATOMIC bodies are kept whole the way psql does.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/sqlsplit.h"
#include "sqlsplit_priv.h"

struct splitter {
	const char	*s;
	size_t		 len;
	size_t		 i;		/* next byte to look at */
	unsigned	 line;		/* line of s[i] */
	const char	*name;		/* for messages, may be NULL */
	struct sb_err	*err;

	/* the statement being read */
	bool		 started;
	size_t		 st_off;
	unsigned	 st_line;
	size_t		 last_end;	/* end of its last token */
	int		 paren;
	int		 atomic;	/* BEGIN ATOMIC ... END nesting */
	bool		 begin_seen;	/* last token was BEGIN */
	unsigned	 nwords;
	char		 words[4];	/* CREATE [OR REPLACE] FUNCTION? */

	struct sb_stmt	*v;
	size_t		 n, cap;
};

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static bool
is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c >= 0x80;
}

/* Identifiers may hold '$' (PostgreSQL's ident_cont); dollar tags may not. */
static bool
is_ident_cont(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool
is_tag_cont(unsigned char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int
unterminated(struct splitter *sp, const char *what, unsigned line)
{
	if (sp->name != NULL)
		return sb_err_set(sp->err, SB_EINVALID, "%s:%u: unterminated %s",
		    sp->name, line, what);
	return sb_err_set(sp->err, SB_EINVALID, "line %u: unterminated %s",
	    line, what);
}

static void
emit(struct splitter *sp, size_t end)
{
	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 16;
		sp->v = sb_realloc(sp->v, sp->cap * sizeof(*sp->v));
	}
	sp->v[sp->n].off = sp->st_off;
	sp->v[sp->n].len = end - sp->st_off;
	sp->v[sp->n].line = sp->st_line;
	sp->n++;
	sp->started = false;
}

/* Skip from s[i] (just past the opening quote) to past the closing quote. */
static int
skip_quoted(struct splitter *sp, char q, bool backslash, const char *what)
{
	unsigned start = sp->line;
	const char *s = sp->s;
	size_t i = sp->i;

	while (i < sp->len) {
		char c = s[i];

		if (c == '\n') {
			sp->line++;
			i++;
		} else if (backslash && c == '\\' && i + 1 < sp->len) {
			if (s[i + 1] == '\n')
				sp->line++;
			i += 2;
		} else if (c == q) {
			if (i + 1 < sp->len && s[i + 1] == q) {
				i += 2;
				continue;
			}
			sp->i = i + 1;
			return 0;
		} else {
			i++;
		}
	}
	return unterminated(sp, what, start);
}

/*
 * After an E'' string: PostgreSQL continues it across whitespace holding
 * a newline ('a'\n'b'), and the continuation keeps backslash escapes.
 * Returns true with sp->i just past the next opening quote.
 */
static bool
string_continues(struct splitter *sp)
{
	const char *s = sp->s;
	size_t i = sp->i;
	unsigned lines = 0;

	while (i < sp->len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\f'))
		i++;
	if (i >= sp->len || (s[i] != '\n' && s[i] != '\r'))
		return false;
	while (i < sp->len) {
		if (s[i] == '\n') {
			lines++;
			i++;
		} else if (is_space((unsigned char)s[i])) {
			i++;
		} else if (s[i] == '-' && i + 1 < sp->len && s[i + 1] == '-') {
			while (i < sp->len && s[i] != '\n')
				i++;
		} else {
			break;
		}
	}
	if (i >= sp->len || s[i] != '\'')
		return false;
	sp->line += lines;
	sp->i = i + 1;
	return true;
}

static int
skip_block_comment(struct splitter *sp)
{
	unsigned start = sp->line;
	const char *s = sp->s;
	size_t i = sp->i + 2;
	int depth = 1;

	while (i < sp->len) {
		if (s[i] == '\n') {
			sp->line++;
			i++;
		} else if (s[i] == '/' && i + 1 < sp->len && s[i + 1] == '*') {
			depth++;
			i += 2;
		} else if (s[i] == '*' && i + 1 < sp->len && s[i + 1] == '/') {
			i += 2;
			if (--depth == 0) {
				sp->i = i;
				return 0;
			}
		} else {
			i++;
		}
	}
	return unterminated(sp, "/* comment", start);
}

/*
 * At a '$' that is not a parameter: if a dollar-quote delimiter $tag$
 * starts here, skip the whole quoted string (1), else leave sp alone (0).
 * The closing search is linear: a tag holds no '$', so each comparison
 * stops before the next '$'.
 */
static int
skip_dollar(struct splitter *sp, int *skipped)
{
	const char *s = sp->s;
	size_t i = sp->i + 1, tag, taglen, j;
	unsigned start = sp->line;

	*skipped = 0;
	tag = sp->i;
	if (i < sp->len && is_ident_start((unsigned char)s[i])) {
		i++;
		while (i < sp->len && is_tag_cont((unsigned char)s[i]))
			i++;
	}
	if (i >= sp->len || s[i] != '$')
		return 0;
	taglen = i + 1 - tag;		/* "$tag$" */
	for (j = i + 1; j < sp->len; j++) {
		if (s[j] == '\n') {
			sp->line++;
		} else if (s[j] == '$' && sp->len - j >= taglen &&
		    memcmp(s + j, s + tag, taglen) == 0) {
			sp->i = j + taglen;
			*skipped = 1;
			return 0;
		}
	}
	return unterminated(sp, "dollar-quoted string", start);
}

/* psql's test for CREATE [OR REPLACE] FUNCTION|PROCEDURE. */
static bool
in_routine(const struct splitter *sp)
{
	const char *w = sp->words;

	return w[0] == 'c' && (w[1] == 'f' || w[1] == 'p' ||
	    (w[1] == 'o' && w[2] == 'r' && (w[3] == 'f' || w[3] == 'p')));
}

static bool
word_is(const char *s, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(s, kw, n) == 0;
}

/*
 * A bare word: track what psql tracks so that semicolons inside
 * CREATE FUNCTION ... BEGIN ATOMIC ... END do not end the statement.
 */
static void
word(struct splitter *sp, const char *w, size_t n)
{
	bool begin = false;
	char tag = 0;

	if (word_is(w, n, "create"))
		tag = 'c';
	else if (word_is(w, n, "function"))
		tag = 'f';
	else if (word_is(w, n, "procedure"))
		tag = 'p';
	else if (word_is(w, n, "or"))
		tag = 'o';
	else if (word_is(w, n, "replace"))
		tag = 'r';
	if (sp->nwords < sizeof(sp->words))
		sp->words[sp->nwords] = tag;
	sp->nwords++;

	if (in_routine(sp) && sp->paren == 0) {
		if (word_is(w, n, "begin")) {
			if (sp->atomic > 0)
				sp->atomic++;
			else
				begin = true;
		} else if (word_is(w, n, "atomic") && sp->begin_seen) {
			sp->atomic++;
		} else if (word_is(w, n, "case")) {
			/* CASE also ends with END; only inside a body */
			if (sp->atomic > 0)
				sp->atomic++;
		} else if (word_is(w, n, "end")) {
			if (sp->atomic > 0)
				sp->atomic--;
		}
	}
	sp->begin_seen = begin;
}

static void
start_statement(struct splitter *sp, size_t off, unsigned line)
{
	sp->started = true;
	sp->st_off = off;
	sp->st_line = line;
	sp->paren = 0;
	sp->atomic = 0;
	sp->begin_seen = false;
	sp->nwords = 0;
	memset(sp->words, 0, sizeof(sp->words));
}

enum token { TOK_ERROR, TOK_SPACE, TOK_SEMI, TOK_WORD, TOK_OTHER };

/*
 * Step over the token at sp->i (sp->i < sp->len): white space and
 * comments, a quoted string, identifier or dollar quote, a word, a
 * number, or one other character. The one lexer of SQL text: statement
 * splitting and sb_sql_next_word both read through it.
 */
static enum token
next_token(struct splitter *sp)
{
	const char *s = sp->s;
	unsigned char c = (unsigned char)s[sp->i];
	size_t w = sp->i;
	int skipped;

	if (c == '\n' || is_space(c)) {
		sp->line += c == '\n';
		sp->i++;
		return TOK_SPACE;
	}
	if (c == '-' && sp->i + 1 < sp->len && s[sp->i + 1] == '-') {
		while (sp->i < sp->len && s[sp->i] != '\n')
			sp->i++;
		return TOK_SPACE;
	}
	if (c == '/' && sp->i + 1 < sp->len && s[sp->i + 1] == '*')
		return skip_block_comment(sp) == -1 ? TOK_ERROR : TOK_SPACE;
	sp->i++;
	if (c == ';')
		return TOK_SEMI;
	if (c == '\'' || c == '"')
		return skip_quoted(sp, (char)c, false, c == '"' ?
		    "quoted identifier" : "quoted string") == -1 ? TOK_ERROR :
		    TOK_OTHER;
	if (c == '$' && sp->i < sp->len && s[sp->i] >= '0' && s[sp->i] <= '9') {
		/* $1: a parameter */
		while (sp->i < sp->len && s[sp->i] >= '0' && s[sp->i] <= '9')
			sp->i++;
		return TOK_OTHER;
	}
	if (c == '$') {
		sp->i--;
		if (skip_dollar(sp, &skipped) == -1)
			return TOK_ERROR;
		sp->i += !skipped;
		return TOK_OTHER;
	}
	if (is_ident_start(c)) {
		while (sp->i < sp->len && is_ident_cont((unsigned char)s[sp->i]))
			sp->i++;
		if (sp->i - w != 1 || (c != 'e' && c != 'E') ||
		    sp->i >= sp->len || s[sp->i] != '\'')
			return TOK_WORD;
		/* E'...': backslash escapes */
		sp->i++;
		do {
			if (skip_quoted(sp, '\'', true, "quoted string") == -1)
				return TOK_ERROR;
		} while (string_continues(sp));
		return TOK_OTHER;
	}
	if (c >= '0' && c <= '9') {
		/* a number, with any trailing letters (1e5, 0x1F) */
		while (sp->i < sp->len && (is_tag_cont((unsigned char)s[sp->i]) ||
		    s[sp->i] == '.'))
			sp->i++;
	}
	return TOK_OTHER;
}

static int
split(struct splitter *sp)
{
	while (sp->i < sp->len) {
		size_t start = sp->i;
		unsigned line = sp->line;
		enum token t = next_token(sp);
		char c = sp->s[start];

		if (t == TOK_ERROR)
			return -1;
		if (t == TOK_SPACE || (t == TOK_SEMI && !sp->started))
			continue;	/* an empty statement too */
		if (t == TOK_SEMI && sp->atomic == 0) {
			emit(sp, start);
			continue;
		}
		if (!sp->started)
			start_statement(sp, start, line);
		if (t == TOK_WORD)
			word(sp, sp->s + start, sp->i - start);
		else if (c == '(' && t == TOK_OTHER)
			sp->paren++;
		else if (c == ')' && t == TOK_OTHER && sp->paren > 0)
			sp->paren--;
		if (t != TOK_WORD)
			sp->begin_seen = false;
		sp->last_end = sp->i;
	}
	if (sp->started)
		emit(sp, sp->last_end);
	return 0;
}

bool
sb_sql_next_token(const char *sql, size_t len, size_t *pos, const char **t,
    size_t *n, bool *word)
{
	struct sb_err ignored = SB_ERR_INIT;
	struct splitter sp;

	memset(&sp, 0, sizeof(sp));
	sp.s = sql;
	sp.len = len;
	sp.i = *pos;
	sp.line = 1;
	sp.err = &ignored;
	while (sp.i < sp.len) {
		size_t start = sp.i;
		enum token k = next_token(&sp);

		if (k == TOK_ERROR)
			break;		/* unterminated: nothing after it */
		if (k != TOK_SPACE) {
			*t = sql + start;
			*n = sp.i - start;
			*word = k == TOK_WORD;
			*pos = sp.i;
			return true;
		}
	}
	*pos = len;
	return false;
}

bool
sb_sql_next_word(const char *sql, size_t len, size_t *pos, const char **w,
    size_t *n)
{
	bool word;

	while (sb_sql_next_token(sql, len, pos, w, n, &word))
		if (word)
			return true;
	return false;
}

int
sb_sql_split_at(const char *sql, size_t len, const char *name,
    unsigned first_line, struct sb_stmt **out, size_t *n, struct sb_err *err)
{
	struct splitter sp;

	memset(&sp, 0, sizeof(sp));
	sp.s = sql;
	sp.len = len;
	sp.line = first_line;
	sp.name = name;
	sp.err = err;
	*out = NULL;
	*n = 0;
	if (split(&sp) == -1) {
		free(sp.v);
		return -1;
	}
	*out = sp.v;
	*n = sp.n;
	return 0;
}

int
sb_sql_split(const char *sql, size_t len, struct sb_stmt **out, size_t *n,
    struct sb_err *err)
{
	return sb_sql_split_at(sql, len, NULL, 1, out, n, err);
}
