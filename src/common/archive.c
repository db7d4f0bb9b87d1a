/*
 * Reading a bundle's tar stream through libarchive: plain ustar regular
 * files only, one compression layer at most, any status but OK refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "sqlbundle/text.h"
#include "sqlbundle/archive.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/manifest.h"

/* Read block handed to libarchive: memory stays flat whatever the size. */
#define READ_BLOCK	(1024 * 1024)
#define TAR_BLOCK	512

struct sb_reader {
	struct archive		*a;
	char			*name;		/* bundle, for messages */
	char			 path[SB_ESCAPED_MAX];	/* entry, escaped */
	char			*raw_path;	/* entry, as read */
	uint64_t		 size, done;	/* declared, read so far */
	bool			 in_entry;
	unsigned long		 nentries;
};

/* How libarchive's readers and filters word a stream that ends early. */
static bool
says_truncated(const char *msg)
{
	static const char *const words[] = {
		"truncated", "premature end", "unexpected end"
	};
	size_t n;

	for (const char *p = msg; *p != '\0'; p++)
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			n = strlen(words[i]);
			if (strncasecmp(p, words[i], n) == 0)
				return true;
		}
	return false;
}

/* Translate libarchive's last error into err. */
static int
lib_err(struct sb_reader *r, struct sb_err *err)
{
	const char *msg = archive_error_string(r->a);
	char esc[SB_ESCAPED_MAX];

	if (msg == NULL)
		msg = "unknown libarchive error";
	if (says_truncated(msg)) {
		sb_err_set(err, SB_EINVALID, "%s: truncated archive", r->name);
		if (r->in_entry)
			sb_err_detail(err, "%s (in entry \"%s\")", msg,
			    r->path);
		else
			sb_err_detail(err, "%s", msg);
		return -1;
	}
	/* The message may quote bytes of the archive. */
	sb_escape_name(msg, esc, sizeof(esc));
	return sb_err_set(err, SB_EINVALID, "%s: not a bundle: %s", r->name,
	    esc);
}

static int
entry_err(struct sb_reader *r, struct sb_err *err, const char *what)
{
	return sb_err_set(err, SB_EINVALID, "%s: entry \"%s\": %s", r->name,
	    r->path, what);
}

int
sb_reader_open(struct sb_reader **rp, int fd, const char *name,
    struct sb_err *err)
{
	struct sb_reader *r;
	int ret = -1;

	*rp = NULL;
	if (lseek(fd, 0, SEEK_SET) == (off_t)-1)
		return sb_err_sys(err, "could not rewind \"%s\"", name);
	r = sb_calloc(1, sizeof(*r));
	r->name = sb_strdup(name);
	if ((r->a = archive_read_new()) == NULL) {
		sb_err_set(err, SB_EIO, "out of memory opening \"%s\"", name);
		goto out;
	}
	if (archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(r->a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(r->a) != ARCHIVE_OK ||
	    archive_read_support_filter_none(r->a) != ARCHIVE_OK) {
		sb_err_set(err, SB_EIO, "libarchive lacks tar, zstd or gzip "
		    "support: %s", archive_error_string(r->a));
		goto out;
	}
	if (archive_read_open_fd(r->a, fd, READ_BLOCK) != ARCHIVE_OK) {
		lib_err(r, err);
		goto out;
	}
	/* Filters were chosen at open; the last one is the raw file. */
	if (archive_filter_count(r->a) > 2) {
		sb_err_set(err, SB_EINVALID,
		    "%s: more than one compression layer (%s inside %s)",
		    name, archive_filter_name(r->a, 0),
		    archive_filter_name(r->a, 1));
		goto out;
	}
	*rp = r;
	r = NULL;
	ret = 0;
out:
	sb_reader_close(r);
	return ret;
}

static const char *
type_name(mode_t type)
{
	switch (type) {
	case AE_IFLNK:	return "symlink";
	case AE_IFDIR:	return "directory";
	case AE_IFIFO:	return "fifo";
	case AE_IFCHR:	return "character device";
	case AE_IFBLK:	return "block device";
	case AE_IFSOCK:	return "socket";
	default:	return "unknown type";
	}
}

/* Every rule an entry header must meet before its data is touched. */
static int
check_entry(struct sb_reader *r, struct archive_entry *e, struct sb_err *err)
{
	int format = archive_format(r->a);
	int64_t hdr = archive_read_header_position(r->a);
	int64_t data = archive_filter_bytes(r->a, 0);
	char what[128];

	switch (format) {
	case ARCHIVE_FORMAT_TAR_USTAR:
		break;
	case ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE:
	case ARCHIVE_FORMAT_TAR_PAX_RESTRICTED:
		return entry_err(r, err, "pax extended header not allowed");
	case ARCHIVE_FORMAT_TAR_GNUTAR:
		return entry_err(r, err, "GNU tar header not allowed");
	default:
		snprintf(what, sizeof(what), "not a ustar header (%s)",
		    archive_format_name(r->a));
		return entry_err(r, err, what);
	}
	/*
	 * One 512-byte header per entry: GNU long-name, long-link and volume
	 * headers can precede a ustar one without changing the format.
	 */
	if (data - hdr != TAR_BLOCK)
		return entry_err(r, err, "extension header not allowed");
	if (archive_entry_hardlink(e) != NULL)
		return entry_err(r, err, "not a regular file (hardlink)");
	if (archive_entry_symlink(e) != NULL)
		return entry_err(r, err, "not a regular file (symlink)");
	if (archive_entry_filetype(e) != AE_IFREG) {
		snprintf(what, sizeof(what), "not a regular file (%s)",
		    type_name(archive_entry_filetype(e)));
		return entry_err(r, err, what);
	}
	if (archive_entry_sparse_count(e) > 0)
		return entry_err(r, err, "sparse file not allowed");
	if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
		return entry_err(r, err, "size unknown");
	if (!sb_path_safe(r->raw_path))
		return entry_err(r, err, "unsafe path");
	return 0;
}

int
sb_reader_next(struct sb_reader *r, struct sb_entry_info *info,
    struct sb_err *err)
{
	struct archive_entry *e = NULL;
	const char *path;
	int rc;

	r->in_entry = false;
	free(r->raw_path);
	r->raw_path = NULL;
	r->path[0] = '\0';
	rc = archive_read_next_header(r->a, &e);
	if (rc == ARCHIVE_EOF) {
		/*
		 * libarchive takes a stream cut at a block boundary for the
		 * end; a real end has the zero blocks of the end marker.
		 */
		if (archive_filter_bytes(r->a, 0) <=
		    archive_read_header_position(r->a))
			return sb_err_set(err, SB_EINVALID,
			    "%s: truncated archive", r->name);
		if (r->nentries > 0 &&
		    archive_format(r->a) != ARCHIVE_FORMAT_TAR_USTAR)
			return sb_err_set(err, SB_EINVALID, "%s: %s header "
			    "not allowed at the end of the archive", r->name,
			    archive_format_name(r->a));
		return 0;
	}
	if (rc != ARCHIVE_OK)
		return lib_err(r, err);
	r->nentries++;
	if ((path = archive_entry_pathname(e)) == NULL)
		return sb_err_set(err, SB_EINVALID, "%s: entry %lu: "
		    "unreadable name", r->name, r->nentries);
	r->raw_path = sb_strdup(path);
	sb_escape_name(path, r->path, sizeof(r->path));
	if (check_entry(r, e, err) == -1)
		return -1;
	r->size = (uint64_t)archive_entry_size(e);
	r->done = 0;
	r->in_entry = true;
	info->path = r->raw_path;
	info->size = r->size;
	return 1;
}

ssize_t
sb_reader_read(struct sb_reader *r, void *buf, size_t cap,
    struct sb_err *err)
{
	la_ssize_t n;

	if (!r->in_entry || cap == 0)
		return 0;
	if ((n = archive_read_data(r->a, buf, cap)) < 0)
		return lib_err(r, err);
	if (n == 0) {
		if (r->done != r->size)
			return sb_err_set(err, SB_EINVALID,
			    "%s: truncated archive", r->name);
		return 0;
	}
	if ((uint64_t)n > r->size - r->done)
		return entry_err(r, err, "more data than its declared size");
	r->done += (uint64_t)n;
	return (ssize_t)n;
}

void
sb_reader_close(struct sb_reader *r)
{
	if (r == NULL)
		return;
	if (r->a != NULL)
		archive_read_free(r->a);
	free(r->raw_path);
	free(r->name);
	free(r);
}
