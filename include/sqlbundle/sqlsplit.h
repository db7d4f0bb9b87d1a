/*
 * Split a SQL script into top-level statements, the way the server's
 * lexer sees them: quotes, E'' strings, "identifiers", dollar quotes,
 * -- and nested block comments are skipped over untouched.
 */
#ifndef SQLBUNDLE_SQLSPLIT_H
#define SQLBUNDLE_SQLSPLIT_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/err.h"

struct sb_stmt {
	size_t		off;	/* first byte of the statement's first token */
	size_t		len;	/* up to and excluding the ';' */
	unsigned	line;	/* 1-based line of off within the script */
};

/*
 * Fill *out (malloc'd, caller frees) with the non-empty statements of sql.
 * A statement that only holds comments is dropped. An unterminated quote,
 * dollar quote or comment is an error naming its line.
 */
int	sb_sql_split(const char *sql, size_t len, struct sb_stmt **out,
	    size_t *n, struct sb_err *err);
/*
 * The next word (keyword or unquoted identifier) of sql from *pos on,
 * lexed as sb_sql_split lexes: quoted text, dollar quotes, comments and
 * numbers are stepped over. true with *w, *n and *pos past the word;
 * false at the end (or at an unterminated quote).
 */
bool	sb_sql_next_word(const char *sql, size_t len, size_t *pos,
	    const char **w, size_t *n);
/*
 * The next token of sql from *pos on, lexed likewise: a word, a quoted
 * string or identifier, a dollar quote, a number, ';' or any other one
 * character. White space and comments are stepped over.
 */
bool	sb_sql_next_token(const char *sql, size_t len, size_t *pos,
	    const char **t, size_t *n);

#endif
