/*
 * Reading a bundle's tar stream, for both programs. libarchive has two
 * seams: reading here (src/common/archive.c) and writing in
 * src/pack/writer.c, which only sqlbundle links; no other file includes
 * archive.h (scripts/archcheck.sh). Only plain ustar regular files with
 * safe relative paths get through; anything else is refused with the
 * entry named.
 */
#ifndef SQLBUNDLE_ARCHIVE_H
#define SQLBUNDLE_ARCHIVE_H

#include <stdint.h>
#include <sys/types.h>

#include "sqlbundle/err.h"

struct sb_reader;

struct sb_entry_info {
	const char	*path;	/* valid until the next sb_reader_next() */
	uint64_t	 size;	/* declared in the header */
};

/*
 * Start reading the archive at offset 0 of fd (the fd stays the caller's;
 * it is rewound). name is used in messages.
 */
int	sb_reader_open(struct sb_reader **r, int fd, const char *name,
	    struct sb_err *err);
/* 1 with info filled, 0 at the end of the archive, -1 on error. */
int	sb_reader_next(struct sb_reader *r, struct sb_entry_info *info,
	    struct sb_err *err);
/*
 * Read up to cap bytes of the current entry: bytes read, 0 at its end,
 * -1 on error. Reading past the declared size is an error.
 */
ssize_t	sb_reader_read(struct sb_reader *r, void *buf, size_t cap,
	    struct sb_err *err);
void	sb_reader_close(struct sb_reader *r);

#endif
