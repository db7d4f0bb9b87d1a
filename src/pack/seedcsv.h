/* The header line of a CSV seed file: its column names (src/pack only). */
#ifndef SQLBUNDLE_PACK_SEEDCSV_H
#define SQLBUNDLE_PACK_SEEDCSV_H

#include <stddef.h>

#include "sqlbundle/err.h"

/*
 * Read the header of the CSV seed file at path through the one grammar
 * both programs use (sb_csv_header, include/sqlbundle/csv.h), fed its
 * first SB_CSV_HEADER_MAX bytes. Fills the malloc'd column names (free
 * with sb_csv_cols_free) and *hlen, the bytes of BOM, header and line
 * end. A refused header is an error naming path:1.
 */
int	sb_seed_csv_header(const char *path, char ***cols, size_t *ncols,
	    size_t *hlen, struct sb_err *err);

#endif
