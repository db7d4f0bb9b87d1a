/*
 * Test helpers that build tar streams: byte by byte for hostile headers
 * libarchive would never write, and through libarchive's writer for real
 * bundles. Shared by test_archive.c and test_bundle.c.
 */
#ifndef SQLBUNDLE_TEST_TAR_BUILD_H
#define SQLBUNDLE_TEST_TAR_BUILD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

enum tb_flavor {
	TB_USTAR,	/* "ustar\0" "00" */
	TB_GNU,		/* "ustar  \0" */
	TB_V7		/* no magic */
};

enum tb_compress {
	TB_NONE,
	TB_ZSTD,
	TB_GZIP,
	TB_ZSTD_GZIP	/* zstd, then gzip around it */
};

/* A growing byte buffer holding a raw tar stream. */
struct tb {
	unsigned char	*p;
	size_t		 len, cap;
};

static inline void
tb_put(struct tb *t, const void *d, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 4096;
		t->p = realloc(t->p, t->cap);
		if (t->p == NULL)
			abort();
	}
	if (n > 0)
		memcpy(t->p + t->len, d, n);
	t->len += n;
}

static inline void
tb_zeros(struct tb *t, size_t n)
{
	static const unsigned char z[512];

	while (n > 0) {
		size_t k = n < sizeof(z) ? n : sizeof(z);

		tb_put(t, z, k);
		n -= k;
	}
}

/* One 512-byte header; name and link under 100 bytes. */
static inline void
tb_header(struct tb *t, const char *name, char type, uint64_t size,
    const char *link, enum tb_flavor flavor)
{
	unsigned char h[512];
	unsigned sum = 0;

	memset(h, 0, sizeof(h));
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011o", 1700000000u);
	h[156] = (unsigned char)type;
	if (link != NULL)
		memcpy(h + 157, link, strlen(link) < 100 ? strlen(link) : 100);
	if (flavor == TB_USTAR) {
		memcpy(h + 257, "ustar", 6);
		memcpy(h + 263, "00", 2);
	} else if (flavor == TB_GNU) {
		memcpy(h + 257, "ustar  ", 8);
	}
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	tb_put(t, h, sizeof(h));
}

/* Entry data, padded to the block size. */
static inline void
tb_data(struct tb *t, const void *d, size_t n)
{
	tb_put(t, d, n);
	tb_zeros(t, (512 - n % 512) % 512);
}

/* A ustar regular file: header and data. */
static inline void
tb_file(struct tb *t, const char *name, const void *d, size_t n)
{
	tb_header(t, name, '0', n, NULL, TB_USTAR);
	tb_data(t, d, n);
}

/* The end-of-archive marker: two zero blocks. */
static inline void
tb_end(struct tb *t)
{
	tb_zeros(t, 1024);
}

static inline struct archive *
tb_writer(enum tb_compress c)
{
	struct archive *a = archive_write_new();

	if (a == NULL)
		abort();
	switch (c) {
	case TB_NONE:
		break;
	case TB_ZSTD:
		archive_write_add_filter_zstd(a);
		break;
	case TB_GZIP:
		archive_write_add_filter_gzip(a);
		break;
	case TB_ZSTD_GZIP:
		archive_write_add_filter_zstd(a);
		archive_write_add_filter_gzip(a);
		break;
	}
	return a;
}

/* Write a raw stream to path, under the given compression. */
static inline int
tb_save(const char *path, const void *buf, size_t len, enum tb_compress c)
{
	struct archive *a;
	struct archive_entry *e;
	FILE *f;
	int ok;

	if (c == TB_NONE) {
		if ((f = fopen(path, "wb")) == NULL)
			return -1;
		ok = fwrite(buf, 1, len, f) == len;
		return fclose(f) == 0 && ok ? 0 : -1;
	}
	/* libarchive's raw format: the bytes as they are, compressed. */
	a = tb_writer(c);
	e = archive_entry_new();
	archive_entry_set_pathname(e, "raw");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	ok = archive_write_set_format_raw(a) == ARCHIVE_OK &&
	    archive_write_open_filename(a, path) == ARCHIVE_OK &&
	    archive_write_header(a, e) == ARCHIVE_OK &&
	    (len == 0 || archive_write_data(a, buf, len) == (la_ssize_t)len) &&
	    archive_write_close(a) == ARCHIVE_OK;
	archive_entry_free(e);
	archive_write_free(a);
	return ok ? 0 : -1;
}

/* A regular file for tb_write_tar. */
struct tb_entry {
	const char	*path;
	const void	*data;
	size_t		 len;
};

/* A real ustar archive written by libarchive, as the packer writes one. */
static inline int
tb_write_tar(const char *path, const struct tb_entry *ents, size_t n,
    enum tb_compress c)
{
	struct archive *a = tb_writer(c);
	struct archive_entry *e;
	int ok;

	ok = archive_write_set_format_ustar(a) == ARCHIVE_OK &&
	    archive_write_open_filename(a, path) == ARCHIVE_OK;
	for (size_t i = 0; ok && i < n; i++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_entry_set_size(e, (la_int64_t)ents[i].len);
		ok = archive_write_header(a, e) == ARCHIVE_OK &&
		    (ents[i].len == 0 ||
		    archive_write_data(a, ents[i].data, ents[i].len) ==
		    (la_ssize_t)ents[i].len);
		archive_entry_free(e);
	}
	ok = ok && archive_write_close(a) == ARCHIVE_OK;
	archive_write_free(a);
	return ok ? 0 : -1;
}

#endif
