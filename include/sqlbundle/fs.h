/* File helpers: whole small files, durable replace, folder listings. */
#ifndef SQLBUNDLE_FS_H
#define SQLBUNDLE_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "sqlbundle/err.h"

/*
 * Read a whole regular file of at most max bytes into a malloc'd,
 * NUL-terminated buffer.
 */
int	sb_read_file(const char *path, size_t max, char **buf, size_t *len,
	    struct sb_err *err);
/*
 * Read up to len bytes from fd, retrying interrupted and short reads:
 * fewer than len only at end of file. -1 with errno on error.
 */
ssize_t	sb_read_full(int fd, void *buf, size_t len);
/* Write all len bytes to fd, retrying as above. -1 with errno on error. */
int	sb_write_all(int fd, const void *buf, size_t len);
/*
 * Create path holding buf, durably (fsync, fsync of its folder), with
 * exactly mode. An existing path (links included) is refused and kept:
 * "already exists; refusing to overwrite it" (SB_EINVALID). On any other
 * failure nothing is left behind.
 */
int	sb_create_durable(const char *path, const void *buf, size_t len,
	    int mode, struct sb_err *err);
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
