/*
 * Bundle archive writing through libarchive: ustar entries with fixed
 * metadata under zstd or gzip, so the same input gives the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "sqlbundle/fs.h"
#include "writer.h"

struct sb_writer {
	struct archive	*a;
	int		 fd;
	char		*path;
	int64_t		 mtime;
	char		*entry;		/* current entry, for messages */
	uint64_t	 remaining;	/* bytes it still expects */
	int		 write_errno;	/* errno of a failed write(2) */
	bool		 failed;	/* no further call can succeed */
	bool		 closed;
	bool		 discard;	/* abandoned: drop what comes */
};

/* libarchive hands us whole blocks; write(2) errors keep their errno. */
static la_ssize_t
write_cb(struct archive *a, void *data, const void *buf, size_t len)
{
	struct sb_writer *w = data;

	if (w->discard)
		return (la_ssize_t)len;
	if (sb_write_all(w->fd, buf, len) == -1) {
		w->write_errno = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

/* Translate a libarchive failure into err, naming the file. */
static int
arch_err(struct sb_writer *w, const char *what, struct sb_err *err)
{
	const char *msg = archive_error_string(w->a);

	w->failed = true;
	if (w->write_errno != 0)
		msg = strerror(w->write_errno);
	sb_err_set(err, SB_EIO, "could not write \"%s\"%s%s%s: %s", w->path,
	    what[0] ? " (" : "", what, what[0] ? ")" : "",
	    msg ? msg : "unknown libarchive error");
	return -1;
}

int
sb_writer_open(struct sb_writer **wp, const char *path, enum sb_compress comp,
    int level, int64_t mtime, struct sb_err *err)
{
	struct sb_writer *w;
	const char *filter;
	char lvl[16];
	int r;

	*wp = NULL;
	w = sb_calloc(1, sizeof(*w));
	w->fd = -1;
	w->path = sb_strdup(path);
	w->mtime = mtime;
	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (w->fd == -1) {
		sb_err_sys(err, "could not create \"%s\"", path);
		goto fail;
	}
	if ((w->a = archive_write_new()) == NULL) {
		sb_err_set(err, SB_EIO, "could not start an archive: out of "
		    "memory");
		goto fail;
	}
	if (comp == SB_COMPRESS_GZIP) {
		filter = "gzip";
		if (level == 0)
			level = SB_GZIP_LEVEL_DEFAULT;
		r = archive_write_add_filter_gzip(w->a);
	} else {
		filter = "zstd";
		if (level == 0)
			level = SB_ZSTD_LEVEL_DEFAULT;
		r = archive_write_add_filter_zstd(w->a);
	}
	snprintf(lvl, sizeof(lvl), "%d", level);
	/* ARCHIVE_WARN here would mean an external program: refuse it. */
	if (r != ARCHIVE_OK ||
	    archive_write_set_format_ustar(w->a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(w->a, filter, "compression-level",
	    lvl) != ARCHIVE_OK ||
	    /* gzip: no mtime in the header (libarchive writes no name). */
	    (comp == SB_COMPRESS_GZIP && archive_write_set_filter_option(w->a,
	    filter, "timestamp", NULL) != ARCHIVE_OK) ||
	    /* A regular file: no padding of the last block. */
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->a, w, NULL, write_cb, NULL, NULL) !=
	    ARCHIVE_OK) {
		arch_err(w, filter, err);
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	/* Only a file this call created is removed. */
	if (w->fd != -1)
		unlink(path);
	sb_writer_free(w);
	return -1;
}

/* Close the current entry, which must have received all its bytes. */
static int
end_entry(struct sb_writer *w, struct sb_err *err)
{
	if (w->entry == NULL)
		return 0;
	if (w->remaining != 0) {
		w->failed = true;
		return sb_err_set(err, SB_EIO, "entry \"%s\" of \"%s\" is %llu "
		    "bytes short of its declared size", w->entry, w->path,
		    (unsigned long long)w->remaining);
	}
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK)
		return arch_err(w, w->entry, err);
	free(w->entry);
	w->entry = NULL;
	return 0;
}

int
sb_writer_add(struct sb_writer *w, const char *path, uint64_t size,
    struct sb_err *err)
{
	struct archive_entry *e = NULL;
	int ret = -1;

	if (w->failed || w->closed)
		return sb_err_set(err, SB_EIO, "\"%s\": archive already "
		    "failed or closed", w->path);
	if (end_entry(w, err) == -1)
		return -1;
	if (size > INT64_MAX)
		return sb_err_set(err, SB_EIO, "entry \"%s\" is too large",
		    path);
	if ((e = archive_entry_new()) == NULL)
		return sb_err_set(err, SB_EIO, "out of memory");
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, (time_t)w->mtime, 0);
	/* No uname/gname: empty fields, the same on every host. */
	if (archive_write_header(w->a, e) != ARCHIVE_OK) {
		arch_err(w, path, err);
		goto out;
	}
	w->entry = sb_strdup(path);
	w->remaining = size;
	ret = 0;
out:
	archive_entry_free(e);
	return ret;
}

int
sb_writer_write(struct sb_writer *w, const void *buf, size_t len,
    struct sb_err *err)
{
	la_ssize_t r;

	if (w->failed || w->closed || w->entry == NULL)
		return sb_err_set(err, SB_EIO, "\"%s\": no entry to write to",
		    w->path);
	if (len > w->remaining) {
		w->failed = true;
		return sb_err_set(err, SB_EIO, "entry \"%s\" of \"%s\" is "
		    "longer than its declared size", w->entry, w->path);
	}
	while (len > 0) {
		r = archive_write_data(w->a, buf, len);
		if (r <= 0)
			return arch_err(w, w->entry, err);
		buf = (const char *)buf + r;
		len -= (size_t)r;
		w->remaining -= (uint64_t)r;
	}
	return 0;
}

int
sb_writer_close(struct sb_writer *w, uint64_t *size, struct sb_err *err)
{
	struct stat st;
	int fd, r;

	if (w->failed || w->closed)
		return sb_err_set(err, SB_EIO, "\"%s\": archive already "
		    "failed or closed", w->path);
	if (end_entry(w, err) == -1)
		return -1;
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return arch_err(w, "", err);
	w->closed = true;
	r = archive_write_free(w->a);
	w->a = NULL;
	if (r != ARCHIVE_OK)
		return sb_err_set(err, SB_EIO, "could not finish \"%s\"",
		    w->path);
	fd = w->fd;
	w->fd = -1;
	if (fsync(fd) == -1 || fstat(fd, &st) == -1) {
		sb_err_sys(err, "could not fsync \"%s\"", w->path);
		close(fd);
		return -1;
	}
	if (close(fd) == -1)
		return sb_err_sys(err, "could not write \"%s\"", w->path);
	if (size != NULL)
		*size = (uint64_t)st.st_size;
	return 0;
}

void
sb_writer_free(struct sb_writer *w)
{
	if (w == NULL)
		return;
	if (w->a != NULL) {
		/*
		 * Abandoned: close anyway, writing nowhere, since libarchive
		 * 3.6 frees its output buffer only on close (after
		 * archive_write_fail() it would leak).
		 */
		if (!w->closed) {
			w->discard = true;
			(void)archive_write_close(w->a);
		}
		(void)archive_write_free(w->a);
	}
	if (w->fd != -1)
		close(w->fd);
	free(w->entry);
	free(w->path);
	free(w);
}
