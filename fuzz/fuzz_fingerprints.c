/*
 * libFuzzer target: FINGERPRINTS parsing (the bundle's first entry, read
 * by every store before anything runs), and what parsed written back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fingerprint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_fp_file f = SB_FP_FILE_INIT, g = SB_FP_FILE_INIT;
	struct sb_fp_diff d = SB_FP_DIFF_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *text, *again;
	size_t len, len2;

	if (sb_fp_file_parse(&f, "FINGERPRINTS", (const char *)data, size,
	    &err) != 0)
		return 0;
	/* What parsed writes back in the canonical form, which parses. */
	text = sb_fp_file_format(&f, &len);
	if (sb_fp_file_parse(&g, "FINGERPRINTS", text, len, &err) != 0)
		abort();
	if (g.n != f.n)
		abort();
	for (size_t i = 0; i < f.n; i++) {
		if (strcmp(f.revs[i].digest, g.revs[i].digest) != 0)
			abort();
		if (i > 0) {
			sb_fp_diff(&f.revs[i - 1].fp, &f.revs[i].fp, &d);
			sb_fp_diff_release(&d);
		}
	}
	again = sb_fp_file_format(&g, &len2);
	if (len != len2 || memcmp(text, again, len) != 0)
		abort();
	free(again);
	free(text);
	sb_fp_file_release(&g);
	sb_fp_file_release(&f);
	return 0;
}
