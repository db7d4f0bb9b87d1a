/*
 * revisions/FINGERPRINTS against the chain: recorded by `sqlbundle test`,
 * reported by `check`, signed into bundles by `pack`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/fingerprint.h"
#include "sqlbundle/fs.h"
#include "fprec.h"

int
sb_fprec_load(struct sb_fprec *r, const char *dir,
    const struct sb_chain *chain, ssize_t first, ssize_t last,
    struct sb_err *err)
{
	struct sb_fp_file f = SB_FP_FILE_INIT;
	char *path = sb_printf("%s/revisions/" SB_FP_FILE, dir);
	char sha[SB_SHA256_HEX];
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->missing = sb_calloc((size_t)(last - first) + 1, sizeof(*r->missing));
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		for (ssize_t i = first + 1; i <= last; i++)
			r->missing[r->nmissing++] = (size_t)i;
		ret = 0;
		goto out;
	}
	r->present = true;
	if (sb_read_file(path, SB_FP_FILE_MAX, &r->text, &r->len, err) == -1 ||
	    sb_fp_file_parse(&f, path, r->text, r->len, err) == -1)
		goto out;
	for (ssize_t i = first + 1; i <= last; i++) {
		const struct sb_revision *rev = &chain->revs[i];
		const struct sb_fp_rev *fr = sb_fp_file_find(&f, rev->id);

		if (fr == NULL) {
			r->missing[r->nmissing++] = (size_t)i;
			continue;
		}
		sb_sha256_hex(rev->upgrade, rev->upgrade_len, sha);
		if (strcmp(fr->upgrade, sha) != 0) {
			sb_err_set(err, SB_EINVALID, "revision \"%s\" (%s) "
			    "changed after its fingerprint was recorded in "
			    "%s", rev->id, rev->path, path);
			sb_err_hint(err, "run \"sqlbundle test\" again");
			goto out;
		}
	}
	ret = 0;
out:
	sb_fp_file_release(&f);
	free(path);
	return ret;
}

void
sb_fprec_release(struct sb_fprec *r)
{
	free(r->text);
	free(r->missing);
	memset(r, 0, sizeof(*r));
}
