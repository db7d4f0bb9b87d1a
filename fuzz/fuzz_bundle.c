/*
 * libFuzzer target: arbitrary bytes as a bundle. An unverified pass walks
 * every entry (archive reading, manifest, entry checks); a verifying pass
 * with a fixed trusted key exercises the signature path.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sqlbundle/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sb_trust trust = SB_TRUST_INIT;
static int loaded;

static void
load_trust(void)
{
	const char *path = getenv("SB_FUZZ_TRUST");
	struct sb_err err = SB_ERR_INIT;

	loaded = 1;
	if (path != NULL && sb_trust_load(&trust, path, &err) != 0)
		fprintf(stderr, "fuzz_bundle: %s\n", err.msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_bundle *b = NULL;
	char buf[4096];
	size_t idx;
	int fd, r;

	if (!loaded)
		load_trust();
	if ((fd = memfd_create("bundle", 0)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	if (sb_bundle_open(&b, fd, "fuzz", NULL, NULL, &err) == 0) {
		while ((r = sb_bundle_next(b, &idx, &err)) == 1)
			while (sb_bundle_read(b, buf, sizeof(buf), &err) > 0)
				;
		sb_bundle_close(b);
	}
	if (trust.n > 0)
		(void)sb_bundle_verify(fd, "fuzz", &trust, NULL, &err);
	close(fd);
	return 0;
}
