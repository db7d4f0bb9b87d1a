/*
 * Writing a bundle's archive: plain ustar under one compression layer,
 * reproducible (fixed mode, owner and mtime; no names or times in the
 * compression header). libarchive lives behind this header and writer.c.
 */
#ifndef SQLBUNDLE_PACK_WRITER_H
#define SQLBUNDLE_PACK_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "sqlbundle/err.h"

enum sb_compress {
	SB_COMPRESS_ZSTD,	/* level 1-19, default 3; never long mode */
	SB_COMPRESS_GZIP	/* level 1-9, default 6 */
};

#define SB_ZSTD_LEVEL_DEFAULT	3
#define SB_ZSTD_LEVEL_MAX	19
#define SB_GZIP_LEVEL_DEFAULT	6
#define SB_GZIP_LEVEL_MAX	9

struct sb_writer;

/*
 * Create path (O_EXCL, mode 0644 less the umask) and start an archive in
 * it. level 0 means the default. Every entry gets this mtime. On failure
 * nothing is left behind (a file that already existed is not touched).
 */
int	sb_writer_open(struct sb_writer **w, const char *path,
	    enum sb_compress comp, int level, int64_t mtime,
	    struct sb_err *err);
/*
 * Start a regular-file entry of exactly size bytes (the previous entry
 * must be complete). path must fit ustar (at most 255 bytes, split at a
 * slash, a name part of at most 100).
 */
int	sb_writer_add(struct sb_writer *w, const char *path, uint64_t size,
	    struct sb_err *err);
/* Append data to the current entry; more than its declared size fails. */
int	sb_writer_write(struct sb_writer *w, const void *buf, size_t len,
	    struct sb_err *err);
/*
 * Finish the archive, fsync and close the file. *size (may be NULL) is
 * the file's size in bytes. The path stays in place: renaming it, or
 * unlinking it on a later failure, is the caller's.
 */
int	sb_writer_close(struct sb_writer *w, uint64_t *size,
	    struct sb_err *err);
/* Release w (after close, or to abandon it); the file is not removed. */
void	sb_writer_free(struct sb_writer *w);

#endif
