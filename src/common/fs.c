/* File helpers shared by both programs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlbundle/fs.h"

/* Out of memory is not recoverable in a command-line tool. */
static void
oom(void)
{
	fputs("sqlbundle: out of memory\n", stderr);
	abort();
}

void *
sb_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
sb_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
sb_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
sb_strdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		oom();
	return p;
}

char *
sb_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return s;
}

ssize_t
sb_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		r = read(fd, (char *)buf + done, len - done);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int
sb_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write, fsync and close fd (closed whatever happens). */
static int
finish_file(int fd, const char *path, const void *buf, size_t len,
    struct sb_err *err)
{
	if (sb_write_all(fd, buf, len) == -1) {
		sb_err_sys(err, "could not write \"%s\"", path);
		close(fd);
		return -1;
	}
	if (fsync(fd) == -1) {
		sb_err_sys(err, "could not fsync \"%s\"", path);
		close(fd);
		return -1;
	}
	if (close(fd) == -1)
		return sb_err_sys(err, "could not write \"%s\"", path);
	return 0;
}

int
sb_create_durable(const char *path, const void *buf, size_t len, int mode,
    struct sb_err *err)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		if (errno == EEXIST)
			return sb_err_set(err, SB_EINVALID, "\"%s\" already "
			    "exists; refusing to overwrite it", path);
		return sb_err_sys(err, "could not create \"%s\"", path);
	}
	/* The umask may only take bits away; the mode must be exact. */
	if (fchmod(fd, (mode_t)mode) == -1) {
		sb_err_sys(err, "could not chmod \"%s\"", path);
		close(fd);
		goto fail;
	}
	if (finish_file(fd, path, buf, len, err) == -1 ||
	    sb_fsync_parent(path, err) == -1)
		goto fail;
	return 0;
fail:
	unlink(path);
	return -1;
}

int
sb_read_file(const char *path, size_t max, char **bufp, size_t *lenp,
    struct sb_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	ssize_t r;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return sb_err_sys(err, "could not open \"%s\"", path);
	if (fstat(fd, &st) == -1) {
		sb_err_sys(err, "could not stat \"%s\"", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		sb_err_set(err, SB_EINVALID, "\"%s\" is not a regular file",
		    path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		sb_err_set(err, SB_EINVALID,
		    "\"%s\" is too large (%lld bytes, at most %zu)", path,
		    (long long)st.st_size, max);
		goto out;
	}
	/* Reading max + 1 bytes shows a file that grew past max. */
	cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
	buf = sb_malloc(cap + 1);
	for (;;) {
		if ((r = sb_read_full(fd, buf + len, cap - len)) == -1) {
			sb_err_sys(err, "could not read \"%s\"", path);
			goto out;
		}
		len += (size_t)r;
		if (len < cap || cap == max + 1)
			break;
		cap = cap > max / 2 ? max + 1 : cap * 2;
		buf = sb_realloc(buf, cap + 1);
	}
	if (len > max) {
		sb_err_set(err, SB_EINVALID,
		    "\"%s\" is too large (at most %zu bytes)", path, max);
		goto out;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int
sb_fsync_parent(const char *path, struct sb_err *err)
{
	char *copy = sb_strdup(path), *dir;
	int fd, ret = 0;

	dir = dirname(copy);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		ret = sb_err_sys(err, "could not open folder \"%s\"", dir);
	} else {
		if (fsync(fd) == -1 && errno != EINVAL)
			ret = sb_err_sys(err, "could not fsync \"%s\"", dir);
		close(fd);
	}
	free(copy);
	return ret;
}

int
sb_write_file_atomic(const char *path, const void *buf, size_t len, int mode,
    struct sb_err *err)
{
	char *tmp = sb_printf("%s.tmp.%ld", path, (long)getpid());
	int fd, ret = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd == -1) {
		sb_err_sys(err, "could not create \"%s\"", tmp);
		free(tmp);
		return -1;
	}
	if (finish_file(fd, tmp, buf, len, err) == -1)
		goto out;
	if (rename(tmp, path) == -1) {
		sb_err_sys(err, "could not rename \"%s\" to \"%s\"", tmp, path);
		goto out;
	}
	ret = sb_fsync_parent(path, err);
out:
	if (ret == -1)
		unlink(tmp);
	free(tmp);
	return ret;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
sb_list_dir(const char *dir, int missing_ok, char ***namesp, size_t *np,
    struct sb_err *err)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	*namesp = NULL;
	*np = 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return sb_err_sys(err, "could not open folder \"%s\"", dir);
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = sb_realloc(names, cap * sizeof(*names));
		}
		names[n++] = sb_strdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	*namesp = names;
	*np = n;
	return 0;
}

void
sb_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
