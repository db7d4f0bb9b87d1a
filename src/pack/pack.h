/* Writing a signed bundle: `sqlbundle pack`, and the rehearsal's bundle. */
#ifndef SQLBUNDLE_PACK_PACK_H
#define SQLBUNDLE_PACK_PACK_H

#include <stdbool.h>
#include <stdint.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/trust.h"
#include "cmd.h"
#include "writer.h"

struct sb_pack_req {
	const char	*from, *to;	/* NULL: base, head */
	const char	*keys[SB_SIGS_MAX];	/* --key, in signing order */
	size_t		 nkeys;
	const char	*roots[SB_SIGS_MAX];	/* --root, in order */
	size_t		 nroots;
	const char	*out;		/* NULL: bundles/<project>-<from>-<to>... */
	enum sb_compress comp;
	int		 level;		/* 0: the default */
	/*
	 * A rehearsal bundle (`sqlbundle test`): revisions/CHECKSUMS is left
	 * as it is (nothing lands) and no FINGERPRINTS go in (it is what the
	 * rehearsal makes).
	 */
	bool		 rehearsal;
	bool		 force;		/* replace another bundle at the target */
};

struct sb_pack_res {
	char		*path;		/* the bundle written, malloc'd */
	char		 id[SB_SHA256_HEX];
	uint64_t	 size;
	size_t		 nrevs;
	char		*from, *to;	/* malloc'd */
	char		 key_ids[SB_SIGS_MAX][SB_KEYID_HEX];
	size_t		 nkeys;
	unsigned long long root_versions[SB_SIGS_MAX];
	size_t		 nroots;
	bool		 fingerprints;	/* FINGERPRINTS went in */
	char		 created[32];	/* the bundle's creation time */
	const char	*created_how;	/* where that time came from */
};

/*
 * Check the chain (and revisions/CHECKSUMS), sign and write the bundle
 * of req's range: into a temporary file renamed into place only when
 * whole. Relative paths are taken from ctx->dir. Fills res (release with
 * sb_pack_res_release, on failure too).
 */
int	sb_pack(struct sb_ctx *ctx, const struct sb_pack_req *req,
	    struct sb_pack_res *res, struct sb_err *err);
void	sb_pack_res_release(struct sb_pack_res *res);

#endif
