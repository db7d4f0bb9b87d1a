/*
 * Limits both programs must agree on: what HQ packs, every store must
 * accept. Each is defined here once; nothing else may restate one.
 */
#ifndef SQLBUNDLE_LIMITS_H
#define SQLBUNDLE_LIMITS_H

/* Revision ids: varchar(32) in alembic_version. */
#define SB_ID_MAX		32
/* Project names in sqlbundle.conf and in MANIFEST's Project line. */
#define SB_PROJECT_MAX		64
/*
 * A revision file at HQ, and so each upgrade or downgrade script in a
 * bundle: both are held whole in memory and split into statements.
 */
#define SB_SCRIPT_MAX		((size_t)64 * 1024 * 1024)
/* A *.sql seed file: held whole in memory and split, as scripts are. */
#define SB_SQL_SEED_MAX		((size_t)64 * 1024 * 1024)
/*
 * The header record of a CSV seed, BOM and line end included, must be
 * complete within this many bytes (include/sqlbundle/csv.h).
 */
#define SB_CSV_HEADER_MAX	(1024 * 1024)
/*
 * A CSV column name: PostgreSQL truncates identifiers to NAMEDATALEN - 1
 * bytes, so a longer name would not name the column it spells.
 */
#define SB_CSV_NAME_MAX		63
/*
 * Columns in a CSV header: a PostgreSQL table has at most 1600
 * (MaxHeapAttributeNumber); the bound also keeps the duplicate check
 * cheap on hostile input.
 */
#define SB_CSV_COLUMNS_MAX	1600
/*
 * Chunk cuts the verifying pass records for one bundle (40 bytes each,
 * 2.5 MiB): larger bundles get larger chunks (include/sqlbundle/contents.h).
 */
#define SB_CHUNKS_MAX		65536
/* MANIFEST, read whole before anything else of a bundle. */
#define SB_MANIFEST_MAX		(1024 * 1024)

#endif
