/*
 * A catalog read, decided conservatively on the tokens of a statement:
 * whatever the scan does not recognise keeps the statement.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/sqlsplit.h"
#include "catread.h"

#define MAXDEPTH	32

struct tok {
	const char	*s;
	size_t		 n;
};

/* Functions that read the catalog or compute, and change nothing. */
static const char *const funcs[] = {
	"array_agg", "array_length", "array_lower", "array_position",
	"array_to_string", "array_upper", "bool_and", "bool_or", "cardinality",
	"col_description", "concat", "count", "current_database",
	"current_schema", "current_schemas", "current_setting", "enum_first",
	"enum_last", "enum_range", "format_type", "generate_series",
	"generate_subscripts", "has_any_column_privilege",
	"has_column_privilege", "has_database_privilege",
	"has_function_privilege", "has_schema_privilege",
	"has_sequence_privilege", "has_table_privilege", "has_type_privilege",
	"json_agg", "jsonb_agg", "length", "lower", "max", "min",
	"obj_description", "pg_encoding_to_char", "pg_function_is_visible",
	"pg_get_constraintdef", "pg_get_expr", "pg_get_function_arguments",
	"pg_get_function_identity_arguments", "pg_get_function_result",
	"pg_get_functiondef", "pg_get_indexdef", "pg_get_keywords",
	"pg_get_partition_constraintdef", "pg_get_partkeydef",
	"pg_get_ruledef", "pg_get_serial_sequence", "pg_get_statisticsobjdef",
	"pg_get_triggerdef", "pg_get_userbyid", "pg_get_viewdef", "pg_has_role",
	"pg_index_column_has_property", "pg_table_is_visible",
	"pg_type_is_visible", "pg_typeof", "quote_ident", "quote_literal",
	"row_number", "shobj_description", "string_agg", "to_regclass",
	"to_regnamespace", "to_regproc", "to_regprocedure", "to_regrole",
	"to_regtype", "unnest", "upper", "version",
};

/* Keywords that may stand right before '(' . */
static const char *const paren_kw[] = {
	"ALL", "AND", "ANY", "ARRAY", "AS", "BETWEEN", "BY", "CASE", "CAST",
	"COALESCE", "DISTINCT", "ELSE", "EXCEPT", "EXISTS", "FILTER",
	"GREATEST", "GROUP", "HAVING", "IN", "INTERSECT", "IS", "LEAST",
	"LIKE", "ILIKE", "MATERIALIZED", "NOT", "NULLIF", "ON", "OR", "OVER",
	"ROW", "SELECT", "SOME", "THEN", "UNION", "USING", "VALUES", "WHEN",
	"WHERE",
};

/* Words that make a statement more than a read, wherever they stand. */
static const char *const deny_kw[] = {
	"CALL", "DELETE", "FOR", "INSERT", "INTO", "LOCK", "MERGE", "TABLE",
	"UPDATE",
};

/* Words that end a FROM list at their depth. */
static const char *const end_from[] = {
	"EXCEPT", "FETCH", "GROUP", "HAVING", "INTERSECT", "LIMIT", "OFFSET",
	"ORDER", "UNION", "WHERE", "WINDOW",
};

static bool
tok_is(const struct tok *t, const char *w)
{
	return t->n == strlen(w) && strncasecmp(t->s, w, t->n) == 0;
}

static bool
tok_ch(const struct tok *t, char c)
{
	return t->n == 1 && t->s[0] == c;
}

static bool
is_word(const struct tok *t)
{
	unsigned char c = (unsigned char)t->s[0];

	/* E'...' starts like a word but is a string */
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    c == '_' || c >= 0x80) && t->s[t->n - 1] != '\'';
}

static bool
in_list(const struct tok *t, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tok_is(t, l[i]))
			return true;
	return false;
}

#define IN(t, l)	in_list((t), (l), sizeof(l) / sizeof((l)[0]))

struct scan {
	struct tok	*v;
	size_t		 n;
};

static const struct tok *
at(const struct scan *sc, size_t i)
{
	static const struct tok none = { "", 0 };

	return i < sc->n ? &sc->v[i] : &none;
}

/* A name a WITH clause defines: "name AS (" or "name AS [NOT] MATERIALIZED". */
static bool
is_cte(const struct scan *sc, const struct tok *t)
{
	for (size_t i = 0; i + 2 < sc->n; i++)
		if (is_word(&sc->v[i]) && sc->v[i].n == t->n &&
		    strncasecmp(sc->v[i].s, t->s, t->n) == 0 &&
		    tok_is(&sc->v[i + 1], "AS") && (tok_ch(&sc->v[i + 2], '(') ||
		    tok_is(&sc->v[i + 2], "MATERIALIZED") ||
		    tok_is(&sc->v[i + 2], "NOT")))
			return true;
	return false;
}

/*
 * The dotted name starting at *i, of parts words; *i ends on its last
 * word. false if a part is not a plain word.
 */
static bool
dotted(const struct scan *sc, size_t *i, size_t *parts)
{
	*parts = 1;
	while (tok_ch(at(sc, *i + 1), '.')) {
		if (!is_word(at(sc, *i + 2)))
			return false;
		*i += 2;
		(*parts)++;
	}
	return true;
}

/* A call of the name ending at i, of parts words: a function we know. */
static bool
call_ok(const struct scan *sc, size_t i, size_t parts)
{
	if (parts > 2 || (parts == 2 && !tok_is(at(sc, i - 2), "pg_catalog")))
		return false;
	return IN(at(sc, i), funcs);
}

/* The relation named from first to last (parts words). */
static bool
relation_ok(const struct scan *sc, size_t first, size_t parts)
{
	const struct tok *t = at(sc, first);

	if (parts == 1)
		return (t->n > 3 && strncasecmp(t->s, "pg_", 3) == 0) ||
		    is_cte(sc, t);
	return parts == 2 && (tok_is(t, "pg_catalog") ||
	    tok_is(t, "information_schema"));
}

static bool
scan(const struct scan *sc)
{
	bool from[MAXDEPTH] = { false };
	bool expect = false;	/* the next item names a relation */
	size_t depth = 0, parts, first;

	if (!tok_is(at(sc, 0), "SELECT") && !tok_is(at(sc, 0), "WITH"))
		return false;
	for (size_t i = 0; i < sc->n; i++) {
		const struct tok *t = &sc->v[i];

		if (tok_ch(t, '(')) {
			if (++depth == MAXDEPTH)
				return false;
			from[depth] = expect = false;
		} else if (tok_ch(t, ')')) {
			if (depth == 0)
				return false;
			from[depth--] = false;
		} else if (tok_ch(t, ';')) {
			return false;
		} else if (tok_ch(t, ',')) {
			expect = from[depth];
		} else if (!is_word(t)) {
			/* a quoted identifier as a relation or a function */
			if (expect || (t->s[0] == '"' && tok_ch(at(sc, i + 1), '(')))
				return false;
		} else if (IN(t, deny_kw)) {
			return false;
		} else if (expect && (tok_is(t, "LATERAL") ||
		    tok_is(t, "ONLY"))) {
			continue;
		} else if (expect) {
			first = i;
			if (!dotted(sc, &i, &parts))
				return false;
			if (tok_ch(at(sc, i + 1), '(') ? !call_ok(sc, i, parts) :
			    !relation_ok(sc, first, parts))
				return false;
			expect = false;
		} else if (tok_is(t, "FROM") || tok_is(t, "JOIN")) {
			from[depth] = expect = true;
		} else {
			if (IN(t, end_from))
				from[depth] = false;
			if (!dotted(sc, &i, &parts))
				return false;
			if (tok_ch(at(sc, i + 1), '(') && !call_ok(sc, i, parts) &&
			    (parts > 1 || !IN(t, paren_kw)))
				return false;
		}
	}
	return depth == 0 && !expect;
}

bool
sb_catread(const char *sql, size_t len)
{
	struct sb_err err = SB_ERR_INIT;
	struct scan sc = { NULL, 0 };
	struct sb_stmt *st = NULL;
	size_t pos = 0, cap = 0;
	const char *s;
	size_t n;
	bool ret, word;

	/* one whole statement, every quote closed */
	ret = sb_sql_split(sql, len, &st, &n, &err) == 0 && n == 1;
	free(st);
	if (!ret)
		return false;
	while (sb_sql_next_token(sql, len, &pos, &s, &n, &word)) {
		if (sc.n == cap) {
			cap = cap ? cap * 2 : 64;
			sc.v = sb_realloc(sc.v, cap * sizeof(*sc.v));
		}
		sc.v[sc.n].s = s;
		sc.v[sc.n++].n = n;
	}
	ret = sc.n > 0 && scan(&sc);
	free(sc.v);
	return ret;
}
