/* The header line of a CSV seed file: its column names (src/pack only). */
#ifndef SQLBUNDLE_PACK_SEEDCSV_H
#define SQLBUNDLE_PACK_SEEDCSV_H

#include <stddef.h>

#include "sqlbundle/err.h"

/*
 * Read the first line of the CSV file at path (a leading UTF-8 BOM is
 * skipped; quoted names may hold commas, "" and newlines, as COPY reads
 * them). Fills the malloc'd column names and *hlen, the bytes of the
 * header including its line end. An empty header, an empty name or an
 * unterminated quote is an error naming path:1.
 */
int	sb_seed_csv_header(const char *path, char ***cols, size_t *ncols,
	    size_t *hlen, struct sb_err *err);

#endif
