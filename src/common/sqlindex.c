/*
 * Which index a concurrent build makes, read from its statement with the
 * splitter's lexer: just the words PostgreSQL's grammar puts before the
 * table's name.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "sqlbundle/sqlindex.h"
#include "sqlbundle/sqlsplit.h"

struct tok {
	const char	*s;
	size_t		 len, pos;
	const char	*t;	/* current token */
	size_t		 n;
	bool		 word;
	bool		 end;
};

static void
advance(struct tok *k)
{
	k->end = !sb_sql_next_token(k->s, k->len, &k->pos, &k->t, &k->n,
	    &k->word);
	if (k->end) {
		k->t = "";
		k->n = 0;
		k->word = false;
	}
}

/* The current token is keyword kw. */
static bool
is(const struct tok *k, const char *kw)
{
	return k->word && k->n == strlen(kw) && strncasecmp(k->t, kw, k->n) == 0;
}

/* Consume keyword kw if it is the current token. */
static bool
take(struct tok *k, const char *kw)
{
	if (!is(k, kw))
		return false;
	advance(k);
	return true;
}

/* Keep at most 63 bytes of name, cut at a character's start. */
static void
truncate_name(char *name, size_t len)
{
	if (len >= SB_IBUILD_NAME_MAX) {
		len = SB_IBUILD_NAME_MAX - 1;
		while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
			len--;
	}
	name[len] = '\0';
}

/* The current token as the catalog would name it: folded or unquoted. */
static bool
ident(const struct tok *k, char *out)
{
	char buf[4 * SB_IBUILD_NAME_MAX];
	size_t o = 0;

	if (k->word) {
		for (size_t i = 0; i < k->n && o < sizeof(buf) - 1; i++)
			buf[o++] = (char)(k->t[i] >= 'A' && k->t[i] <= 'Z' ?
			    k->t[i] - 'A' + 'a' : k->t[i]);
	} else if (k->n >= 2 && k->t[0] == '"') {
		for (size_t i = 1; i + 1 < k->n && o < sizeof(buf) - 1; i++) {
			buf[o++] = k->t[i];
			if (k->t[i] == '"')
				i++;	/* "" is one " */
		}
	} else {
		return false;
	}
	truncate_name(buf, o);
	memcpy(out, buf, strlen(buf) + 1);
	return true;
}

/* A name token: a word or a quoted identifier. */
static bool
name_token(const struct tok *k)
{
	return k->word || (k->n >= 2 && k->t[0] == '"');
}

/* A possibly qualified name, copied as written into out. */
static void
qualified(struct tok *k, char *out)
{
	const char *start = k->t;
	size_t end;

	out[0] = '\0';
	if (!name_token(k))
		return;
	end = (size_t)(k->t + k->n - start);
	advance(k);
	while (k->n == 1 && k->t[0] == '.') {
		advance(k);
		if (!name_token(k))
			return;
		end = (size_t)(k->t + k->n - start);
		advance(k);
	}
	if (end < SB_IBUILD_TARGET_MAX) {
		memcpy(out, start, end);
		out[end] = '\0';
	}
}

/* CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] [name] ON [ONLY] t */
static bool
create_index(struct tok *k, struct sb_ibuild *b)
{
	take(k, "UNIQUE");
	if (!take(k, "INDEX") || !take(k, "CONCURRENTLY"))
		return false;
	b->kind = SB_IBUILD_CREATE;
	if (take(k, "IF") && (!take(k, "NOT") || !take(k, "EXISTS")))
		return true;
	if (!is(k, "ON")) {
		if (!ident(k, b->name))
			return true;
		advance(k);
	}
	if (!take(k, "ON"))
		return true;
	take(k, "ONLY");
	qualified(k, b->target);
	return true;
}

/* Options of REINDEX ( ... ): is CONCURRENTLY among them, and on? */
static bool
concurrent_option(struct tok *k)
{
	bool on = false;

	advance(k);			/* ( */
	while (!k->end && !(k->n == 1 && k->t[0] == ')')) {
		if (take(k, "CONCURRENTLY")) {
			on = !(is(k, "FALSE") || is(k, "OFF") ||
			    (k->n == 1 && k->t[0] == '0'));
			continue;
		}
		advance(k);
	}
	advance(k);			/* ) */
	return on;
}

/* REINDEX [(options)] {INDEX|TABLE|SCHEMA|DATABASE} [CONCURRENTLY] name */
static bool
reindex(struct tok *k, struct sb_ibuild *b)
{
	static const struct {
		const char		*kw;
		enum sb_ibuild_scope	 scope;
	} kinds[] = {
		{ "INDEX", SB_IBUILD_INDEX }, { "TABLE", SB_IBUILD_TABLE },
		{ "SCHEMA", SB_IBUILD_SCHEMA },
		{ "DATABASE", SB_IBUILD_DATABASE }
	};
	bool conc = false;
	size_t i;

	if (k->n == 1 && k->t[0] == '(')
		conc = concurrent_option(k);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (take(k, kinds[i].kw))
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return false;
	if (take(k, "CONCURRENTLY"))
		conc = true;
	if (!conc)
		return false;
	b->kind = SB_IBUILD_REINDEX;
	b->scope = kinds[i].scope;
	qualified(k, b->target);
	return true;
}

bool
sb_sql_index_build(const char *stmt, size_t len, struct sb_ibuild *b)
{
	struct tok k = { stmt, len, 0, "", 0, false, false };

	memset(b, 0, sizeof(*b));
	advance(&k);
	if (take(&k, "CREATE") ? create_index(&k, b) :
	    take(&k, "REINDEX") ? reindex(&k, b) : false)
		return true;
	memset(b, 0, sizeof(*b));
	return false;
}
