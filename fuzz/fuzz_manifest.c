/* libFuzzer target: MANIFEST parsing, and formatting what parsed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_manifest m = SB_MANIFEST_INIT, again = SB_MANIFEST_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *buf = NULL;
	size_t len;

	if (sb_manifest_parse(&m, (const char *)data, size, &err) == 0) {
		/* What parses must format back to the same bytes. */
		if (sb_manifest_format(&m, &buf, &len, &err) != 0)
			abort();
		if (len != size || memcmp(buf, data, size) != 0)
			abort();
		if (sb_manifest_parse(&again, buf, len, &err) != 0)
			abort();
		sb_manifest_release(&again);
		free(buf);
	}
	sb_manifest_release(&m);
	return 0;
}
