/*
 * libFuzzer target: arbitrary bytes as a root file. The strict parser,
 * then the signature count against the root's own keys.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_root r;
	char *text;

	if (size > SB_ROOT_MAX)
		return 0;
	text = sb_malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (sb_root_parse(&r, text, size, "fuzz", &err) == 0) {
		(void)sb_root_verify(&r, &err);
		sb_root_release(&r);
	}
	return 0;
}
