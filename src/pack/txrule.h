/*
 * What a statement needs of a step's transaction: the one rule that
 * `check` warns with and `import` decides with.
 */
#ifndef SQLBUNDLE_PACK_TXRULE_H
#define SQLBUNDLE_PACK_TXRULE_H

#include <stdbool.h>
#include <stddef.h>

/* Words of a statement looked at for its kind. */
#define SB_WORDS_MAX	8

/* The first words of a statement, upper-cased ("" past its end). */
struct sb_words {
	char	w[SB_WORDS_MAX][24];
	size_t	n;
};

/*
 * Read the next SB_WORDS_MAX words of sql from *pos on (quoted text is
 * never a word; a word too long for a keyword reads as "").
 */
void		sb_words_read(const char *sql, size_t len, size_t *pos,
		    struct sb_words *ws);
/* Word i is kw. */
bool		sb_words_is(const struct sb_words *ws, size_t i,
		    const char *kw);
/* Words 0..last joined by spaces, into buf; returns buf. */
const char	*sb_words_join(const struct sb_words *ws, size_t last,
		    char *buf, size_t cap);

enum sb_tx_need {
	SB_TX_ANY,		/* runs inside the step's transaction */
	SB_TX_CONTROL,		/* BEGIN, COMMIT, ...: would end it */
	SB_TX_OUTSIDE		/* cannot run inside a transaction block */
};

/*
 * Classify the statement sql[0..len) (as sb_sql_split delimits it). what
 * gets its kind, upper-cased ("COMMIT", "CREATE INDEX CONCURRENTLY").
 */
enum sb_tx_need	sb_tx_need(const char *sql, size_t len, char *what,
		    size_t cap);
/* True if word (an unquoted identifier) is a word of sql, in any case. */
bool		sb_tx_names(const char *sql, size_t len, const char *word);

#endif
