/*
 * libFuzzer target: the CSV header grammar, differential. The same bytes
 * go through HQ's path (sb_seed_csv_header reading a file) and the
 * store's (sb_csv_header fed a growing prefix, as the applier reads the
 * archive stream, in chunk sizes drawn from the input); any disagreement
 * (accept or refuse, message, names, bytes used, lines) aborts.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlbundle/csv.h"
#include "sqlbundle/fs.h"
#include "pack/seedcsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
	int	  rc;		/* 1 accepted, -1 refused */
	char	**cols;
	size_t	  ncols, used;
	uint64_t  lines;
	struct sb_err err;
};

static char *path;

/* The applier's way: read into one buffer, ask after every read. */
static void
store_side(const char *file, size_t len, uint32_t seed, struct result *r)
{
	char *buf = sb_malloc(SB_CSV_HEADER_MAX);
	size_t have = 0;
	bool eof = false;

	for (;;) {
		size_t want = 1 + seed % 97, room = SB_CSV_HEADER_MAX - have;

		/* xorshift: chunk sizes from 1 to 97 bytes, or all at once. */
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		if (seed % 7 == 0)
			want = room;
		if (want > room)
			want = room;
		if (want > len - have)
			want = len - have;
		if (want == 0)
			eof = true;
		memcpy(buf + have, file + have, want);
		have += want;
		r->rc = sb_csv_header(buf, have, eof, &r->cols, &r->ncols,
		    &r->used, &r->lines, &r->err);
		if (r->rc != 0)
			break;
		/* The parser decides once the buffer is full. */
		if (have == SB_CSV_HEADER_MAX || eof)
			abort();
	}
	free(buf);
}

/* HQ's way: the file wrapper of src/pack/seeds.c. */
static void
hq_side(const uint8_t *file, size_t len, struct result *r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t plen = strlen(path) + strlen(":1: ");

	if (fd == -1 || sb_write_all(fd, file, len) == -1 || close(fd) == -1)
		abort();
	r->rc = sb_seed_csv_header(path, &r->cols, &r->ncols, &r->used,
	    &r->err) == 0 ? 1 : -1;
	/* Its messages name the file: compare what follows "path:1: ". */
	if (r->rc == -1) {
		if (strncmp(r->err.msg, path, strlen(path)) != 0 ||
		    strlen(r->err.msg) < plen)
			abort();
		memmove(r->err.msg, r->err.msg + plen,
		    strlen(r->err.msg + plen) + 1);
	}
}

static void
same(const struct result *a, const struct result *b, bool lines)
{
	if (a->rc != b->rc)
		abort();
	if (a->rc == -1) {
		if (strcmp(a->err.msg, b->err.msg) != 0 ||
		    a->err.code != b->err.code)
			abort();
		return;
	}
	if (a->ncols != b->ncols || a->used != b->used ||
	    (lines && a->lines != b->lines))
		abort();
	for (size_t i = 0; i < a->ncols; i++)
		if (strcmp(a->cols[i], b->cols[i]) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result hq = { 0 }, store = { 0 }, whole = { 0 };
	uint32_t seed = 2463534242u;
	const char *file;
	size_t len;

	if (path == NULL)
		path = sb_printf("/tmp/fuzz_csv_header.%ld.csv",
		    (long)getpid());
	/* The first two bytes pick the chunking, the rest is the file. */
	if (size >= 2)
		seed ^= (uint32_t)data[0] << 8 | data[1];
	file = size >= 2 ? (const char *)data + 2 : "";
	len = size >= 2 ? size - 2 : 0;
	hq_side((const uint8_t *)file, len, &hq);
	store_side(file, len, seed, &store);
	whole.rc = sb_csv_header(file, len, true, &whole.cols, &whole.ncols,
	    &whole.used, &whole.lines, &whole.err);
	same(&hq, &store, false);
	same(&whole, &store, true);
	sb_csv_cols_free(hq.cols, hq.ncols);
	sb_csv_cols_free(store.cols, store.ncols);
	sb_csv_cols_free(whole.cols, whole.ncols);
	return 0;
}
