/* File helpers: whole small files, durable replace, folder listings. */
#ifndef SQLBUNDLE_FS_H
#define SQLBUNDLE_FS_H

#include <stddef.h>

#include "sqlbundle/err.h"

/*
 * Read a whole regular file of at most max bytes into a malloc'd,
 * NUL-terminated buffer.
 */
int	sb_read_file(const char *path, size_t max, char **buf, size_t *len,
	    struct sb_err *err);
/* Write buf to path durably: temp file beside it, fsync, rename, fsync dir. */
int	sb_write_file_atomic(const char *path, const void *buf, size_t len,
	    int mode, struct sb_err *err);
/* fsync the folder holding path. */
int	sb_fsync_parent(const char *path, struct sb_err *err);
/*
 * Names in dir (no "." or ".."), sorted in byte order, malloc'd; free
 * with sb_names_free. A missing folder gives 0 names when missing_ok.
 */
int	sb_list_dir(const char *dir, int missing_ok, char ***names, size_t *n,
	    struct sb_err *err);
void	sb_names_free(char **names, size_t n);
/* asprintf that aborts on allocation failure. */
char	*sb_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char	*sb_strdup(const char *s);
void	*sb_malloc(size_t n);
void	*sb_calloc(size_t n, size_t size);
void	*sb_realloc(void *p, size_t n);

#endif
