/*
 * Statements that break a step's transaction, or cannot run in one
 * (PostgreSQL refuses them inside a transaction block).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sqlbundle/sqlsplit.h"
#include "txrule.h"

void
sb_words_read(const char *sql, size_t len, size_t *pos, struct sb_words *ws)
{
	const char *w;
	size_t n;

	memset(ws, 0, sizeof(*ws));
	while (ws->n < SB_WORDS_MAX &&
	    sb_sql_next_word(sql, len, pos, &w, &n)) {
		char *d = ws->w[ws->n++];

		if (n >= sizeof(ws->w[0]))
			continue;	/* too long for a keyword: "" */
		for (size_t i = 0; i < n; i++)
			d[i] = (char)(w[i] >= 'a' && w[i] <= 'z' ?
			    w[i] - 'a' + 'A' : w[i]);
	}
}

bool
sb_words_is(const struct sb_words *ws, size_t i, const char *kw)
{
	return i < SB_WORDS_MAX && strcmp(ws->w[i], kw) == 0;
}

const char *
sb_words_join(const struct sb_words *ws, size_t last, char *buf, size_t cap)
{
	size_t len = 0;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i <= last && i < SB_WORDS_MAX && len < cap; i++) {
		snprintf(buf + len, cap - len, "%s%s", i ? " " : "", ws->w[i]);
		len = strlen(buf);
	}
	return buf;
}

/* Short for the rules below. */
static bool
is(const struct sb_words *ws, size_t i, const char *kw)
{
	return sb_words_is(ws, i, kw);
}

enum sb_tx_need
sb_tx_need(const char *sql, size_t len, char *what, size_t cap)
{
	struct sb_words ws;
	size_t i, pos = 0;

	sb_words_read(sql, len, &pos, &ws);
	if (cap > 0)
		what[0] = '\0';
	if (is(&ws, 0, "BEGIN") || is(&ws, 0, "COMMIT") || is(&ws, 0, "END") ||
	    is(&ws, 0, "ABORT") || (is(&ws, 0, "START") &&
	    is(&ws, 1, "TRANSACTION")) || (is(&ws, 0, "ROLLBACK") &&
	    !is(&ws, 1, "TO") && !is(&ws, 2, "TO"))) {
		sb_words_join(&ws, is(&ws, 0, "START") ? 1 : 0, what, cap);
		return SB_TX_CONTROL;
	}
	for (i = 0; i < SB_WORDS_MAX; i++)
		if (is(&ws, i, "CONCURRENTLY"))
			break;
	if ((i < SB_WORDS_MAX && (is(&ws, 0, "CREATE") || is(&ws, 0, "DROP") ||
	    is(&ws, 0, "REINDEX"))) || is(&ws, 0, "VACUUM") ||
	    (is(&ws, 0, "ALTER") && is(&ws, 1, "SYSTEM")) ||
	    ((is(&ws, 0, "CREATE") || is(&ws, 0, "DROP")) &&
	    (is(&ws, 1, "DATABASE") || is(&ws, 1, "TABLESPACE")))) {
		sb_words_join(&ws, i < SB_WORDS_MAX ? i : 1, what, cap);
		return SB_TX_OUTSIDE;
	}
	return SB_TX_ANY;
}

bool
sb_tx_names(const char *sql, size_t len, const char *word)
{
	const char *w;
	size_t n, pos = 0, wl = strlen(word);

	while (sb_sql_next_word(sql, len, &pos, &w, &n))
		if (n == wl && strncasecmp(w, word, n) == 0)
			return true;
	return false;
}
