/*
 * MANIFEST: the signed table of contents of a bundle (SPEC section 4).
 *
 *   Format: sqlbundle-1
 *   Project: arcoirispos
 *   Created: 2026-11-25T00:00:00Z
 *   From: base
 *   To: 2864583ca021
 *   Key-Id: 0123456789abcdef
 *   Entries: 9
 *   Unpacked-Size: 123456
 *   Revision: 0001 000000000001 parents=- transactional=true
 *     file=000000000001_baseline.sql upgrade-line=7 downgrade-line=300
 *     upgrade=<sha256> downgrade=<sha256|-> message=<rest of line>
 *   (one Revision line per revision, in apply order, on one line)
 *   <blank line>
 *   <sha256>  upgrade/0001_000000000001.sql
 *   ...
 *
 * Keys come in this order, each once (Revision once per revision). Entry
 * lines are exactly sha256sum's format, in archive order: FINGERPRINTS
 * (the expected schemas, fingerprint.h) when the chain was rehearsed,
 * every upgrade script, then every downgrade script (none for an irreversible revision),
 * then the seed files of each revision, in revision order and byte order
 * of file name.
 */
#ifndef SQLBUNDLE_MANIFEST_H
#define SQLBUNDLE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/limits.h"
#include "sqlbundle/revision.h"

#define SB_FORMAT		"sqlbundle-1"

enum sb_entry_kind {
	SB_ENTRY_UPGRADE,
	SB_ENTRY_DOWNGRADE,
	SB_ENTRY_SEED_CSV,
	SB_ENTRY_SEED_SQL,
	SB_ENTRY_FINGERPRINTS	/* SB_FP_MEMBER (fingerprint.h), entry 0 */
};

struct sb_manifest_rev {
	unsigned pos;			/* 1-based position in apply order */
	char	 id[SB_ID_MAX + 1];
	char	**parents;
	size_t	 nparents;
	bool	 transactional;
	char	*file;			/* source file name, for messages */
	unsigned upgrade_line, downgrade_line;
	char	 upgrade_sha[SB_SHA256_HEX];
	char	 downgrade_sha[SB_SHA256_HEX];	/* "" when irreversible */
	char	*message;
	size_t	 upgrade_entry;		/* index into entries */
	ssize_t	 downgrade_entry;	/* -1 when irreversible */
	size_t	 first_seed, nseeds;	/* seed entries, contiguous */
};

struct sb_manifest_entry {
	char	*path;
	char	 sha[SB_SHA256_HEX];
	enum sb_entry_kind kind;
	size_t	 rev;			/* index into revs */
	char	*schema, *table;	/* SB_ENTRY_SEED_CSV only */
};

struct sb_manifest {
	char	*project;
	char	*created;
	char	*from;			/* "base" or a revision id */
	char	*to;
	char	 key_id[SB_KEYID_HEX];
	uint64_t unpacked_size;		/* sum of entry sizes, not MANIFEST* */
	struct sb_manifest_rev	 *revs;
	size_t			  nrevs;
	struct sb_manifest_entry *entries;
	size_t			  nentries;
	bool			  fingerprints;	/* entry 0 is FINGERPRINTS */
};

#define SB_MANIFEST_INIT { 0 }

/*
 * Parse and validate: every rule above, paths only [A-Za-z0-9._/-], no
 * "..", entries consistent with the Revision lines. Errors name the line.
 */
int	sb_manifest_parse(struct sb_manifest *m, const char *buf, size_t len,
	    struct sb_err *err);
/*
 * Serialize m into a malloc'd buffer (*buf, *len). On failure *buf is
 * NULL and *len the length the text would have had (over
 * SB_MANIFEST_MAX: too large).
 */
int	sb_manifest_format(const struct sb_manifest *m, char **buf,
	    size_t *len, struct sb_err *err);
void	sb_manifest_release(struct sb_manifest *m);

/*
 * Seed file names: "[NN-]schema.table.csv" or "*.sql". Fills the
 * malloc'd schema and table for a CSV. -1 with err for anything else.
 */
int	sb_seed_name_parse(const char *name, enum sb_entry_kind *kind,
	    char **schema, char **table, struct sb_err *err);
/* True if every byte of path is in [A-Za-z0-9._/-], no "..", not rooted. */
bool	sb_path_safe(const char *path);
/*
 * A project name as sqlbundle.conf and MANIFEST's Project line hold it:
 * 1 to SB_PROJECT_MAX bytes of [A-Za-z0-9._-], not starting with a dot.
 */
bool	sb_project_valid(const char *name);

#endif
