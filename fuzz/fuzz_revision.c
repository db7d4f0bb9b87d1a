/* libFuzzer target: the revision-file parser and the statement splitter. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sqlbundle/revision.h"
#include "sqlbundle/sqlsplit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_revision rev;
	struct sb_err err = SB_ERR_INIT;
	struct sb_stmt *stmts = NULL;
	size_t n = 0;

	if (sb_revision_parse(&rev, "revisions/abc_fuzz.sql", (const char *)data,
	    size, &err) == 0)
		sb_revision_release(&rev);
	if (sb_sql_split((const char *)data, size, &stmts, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			if (stmts[i].off + stmts[i].len > size)
				abort();
		free(stmts);
	}
	return 0;
}
