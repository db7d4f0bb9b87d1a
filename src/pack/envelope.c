/* Writing the signatures and roots of a bundle, for pack and sign. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/bundle.h"
#include "sqlbundle/fs.h"
#include "envelope.h"

static int
cmp_sig(const void *a, const void *b)
{
	return strcmp(((const struct sb_sig *)a)->id,
	    ((const struct sb_sig *)b)->id);
}

int
sb_write_envelope(struct sb_writer *w, const struct sb_sig *sigs,
    size_t nsigs, const struct sb_root *roots, size_t nroots,
    struct sb_err *err)
{
	struct sb_sig sorted[SB_SIGS_MAX];
	char name[64];

	if (nsigs == 0 || nsigs > SB_SIGS_MAX)
		return sb_err_set(err, SB_EINVALID, "%zu signatures: 1 to %d "
		    "expected", nsigs, SB_SIGS_MAX);
	if (sb_writer_add(w, SB_SIG_MEMBER, SB_SIG_LEN, err) == -1 ||
	    sb_writer_write(w, sigs[0].sig, SB_SIG_LEN, err) == -1)
		return -1;
	memcpy(sorted, sigs + 1, (nsigs - 1) * sizeof(*sigs));
	qsort(sorted, nsigs - 1, sizeof(*sorted), cmp_sig);
	for (size_t i = 0; i + 1 < nsigs; i++) {
		snprintf(name, sizeof(name), SB_SIG_MEMBER ".%s", sorted[i].id);
		if (sb_writer_add(w, name, SB_SIG_LEN, err) == -1 ||
		    sb_writer_write(w, sorted[i].sig, SB_SIG_LEN, err) == -1)
			return -1;
	}
	for (size_t i = 0; i < nroots; i++) {
		snprintf(name, sizeof(name), SB_ROOT_MEMBER ".%llu",
		    roots[i].version);
		if (sb_writer_add(w, name, roots[i].len, err) == -1 ||
		    sb_writer_write(w, roots[i].text, roots[i].len, err) == -1)
			return -1;
	}
	return 0;
}
