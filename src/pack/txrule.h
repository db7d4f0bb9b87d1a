/*
 * What a statement needs of a step's transaction: the one rule that
 * `check` warns with and `import` decides with.
 */
#ifndef SQLBUNDLE_PACK_TXRULE_H
#define SQLBUNDLE_PACK_TXRULE_H

#include <stdbool.h>
#include <stddef.h>

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
