/* Unit tests for src/common/archive.c: what gets through, what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlbundle/text.h"
#include "sqlbundle/archive.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "tar_build.h"
#include "tmpdir.h"

static char *file;		/* the archive under test */

static int
setup(void **state)
{
	(void)state;
	if (tmpdir_make("archive") == -1)
		return -1;
	file = sb_printf("%s/b.tar", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_remove();
	free(file);
	return 0;
}

/*
 * Read the whole archive in `file` (named "b.tar" in messages), reading
 * each entry in chunks of `chunk` bytes. Fills listing with
 * "path:size:sum," per entry (sum of the bytes read, to check content).
 */
static int
scan(size_t chunk, char *listing, size_t cap, struct sb_err *err)
{
	struct sb_reader *r = NULL;
	struct sb_entry_info info;
	unsigned char *buf = malloc(chunk);
	unsigned long long sum, total;
	ssize_t n;
	int fd, rc = -1;

	listing[0] = '\0';
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	if (sb_reader_open(&r, fd, "b.tar", err) == -1)
		goto out;
	while ((rc = sb_reader_next(r, &info, err)) == 1) {
		sum = total = 0;
		while ((n = sb_reader_read(r, buf, chunk, err)) > 0) {
			for (ssize_t i = 0; i < n; i++)
				sum += buf[i];
			total += (unsigned long long)n;
		}
		if (n < 0) {
			rc = -1;
			break;
		}
		assert_int_equal(total, info.size);
		snprintf(listing + strlen(listing), cap - strlen(listing),
		    "%s:%llu:%llu,", info.path,
		    (unsigned long long)info.size, sum);
	}
out:
	sb_reader_close(r);
	close(fd);
	free(buf);
	return rc;
}

/* The raw stream t, saved under compression c, is refused with msg. */
static void
expect_refused(const struct tb *t, enum tb_compress c, const char *msg)
{
	struct sb_err err = SB_ERR_INIT;
	char listing[4096];

	assert_int_equal(tb_save(file, t->p, t->len, c), 0);
	if (scan(4096, listing, sizeof(listing), &err) != -1) {
		fprintf(stderr, "accepted (%s), expected: %s\n", listing, msg);
		fail();
	}
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, msg);
}

static void
test_good_archives(void **state)
{
	static const enum tb_compress cs[] = { TB_NONE, TB_ZSTD, TB_GZIP };
	struct sb_err err = SB_ERR_INIT;
	struct tb_entry ents[4];
	unsigned char *big = malloc(1536 * 1024 + 7);
	unsigned long long bigsum = 0;
	char listing[4096], *want;

	(void)state;
	/* Larger than libarchive's read block, not block-aligned. */
	for (size_t i = 0; i < 1536 * 1024 + 7; i++) {
		big[i] = (unsigned char)(i * 31 + (i >> 9));
		bigsum += big[i];
	}
	ents[0] = (struct tb_entry){ "MANIFEST", "abc", 3 };
	ents[1] = (struct tb_entry){ "empty", "", 0 };
	ents[2] = (struct tb_entry){ "upgrade/0001_a.sql", big,
	    1536 * 1024 + 7 };
	ents[3] = (struct tb_entry){ "seeds/0001_a/01-x.y.csv", "a,b\n", 4 };
	want = sb_printf("MANIFEST:3:294,empty:0:0,upgrade/0001_a.sql:%d:%llu,"
	    "seeds/0001_a/01-x.y.csv:4:249,", 1536 * 1024 + 7, bigsum);
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		assert_int_equal(tb_write_tar(file, ents, 4, cs[i]), 0);
		/* Small reads and reads larger than any entry agree. */
		assert_int_equal(scan(1000, listing, sizeof(listing), &err), 0);
		assert_string_equal(listing, want);
		assert_int_equal(scan(4 << 20, listing, sizeof(listing), &err),
		    0);
		assert_string_equal(listing, want);
	}
	free(want);
	free(big);
}

/* The reader rewinds the fd, leaves it open, and skips unread data. */
static void
test_rewind_and_skip(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_reader *r = NULL;
	struct sb_entry_info info;
	struct tb_entry ents[2] = {
		{ "a", "0123456789", 10 }, { "b", "xyz", 3 }
	};
	char buf[16];
	int fd;

	(void)state;
	assert_int_equal(tb_write_tar(file, ents, 2, TB_ZSTD), 0);
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(lseek(fd, 100, SEEK_SET), 100);
		assert_int_equal(sb_reader_open(&r, fd, "b.tar", &err), 0);
		/* Nothing to read before the first entry. */
		assert_int_equal(sb_reader_read(r, buf, sizeof(buf), &err), 0);
		assert_int_equal(sb_reader_next(r, &info, &err), 1);
		assert_string_equal(info.path, "a");
		assert_int_equal(info.size, 10);
		assert_int_equal(sb_reader_read(r, buf, 4, &err), 4);
		assert_memory_equal(buf, "0123", 4);
		/* The rest of "a" is skipped. */
		assert_int_equal(sb_reader_next(r, &info, &err), 1);
		assert_string_equal(info.path, "b");
		/* A zero-byte read is not the end of the entry. */
		assert_int_equal(sb_reader_read(r, buf, 0, &err), 0);
		assert_int_equal(sb_reader_read(r, buf, sizeof(buf), &err), 3);
		assert_memory_equal(buf, "xyz", 3);
		assert_int_equal(sb_reader_read(r, buf, sizeof(buf), &err), 0);
		assert_int_equal(sb_reader_next(r, &info, &err), 0);
		sb_reader_close(r);
		assert_int_not_equal(fcntl(fd, F_GETFD), -1);
	}
	close(fd);
}

static void
test_not_a_bundle(void **state)
{
	struct tb t = { 0 };
	unsigned char junk[2000];

	(void)state;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 13 + 7);
	tb_put(&t, junk, sizeof(junk));
	expect_refused(&t, TB_NONE,
	    "b.tar: not a bundle: Unrecognized archive format");
	t.len = 0;
	expect_refused(&t, TB_NONE,
	    "b.tar: not a bundle: Unrecognized archive format");
	/* A compressed stream of garbage is not a tar either. */
	tb_put(&t, junk, sizeof(junk));
	expect_refused(&t, TB_ZSTD,
	    "b.tar: not a bundle: Unrecognized archive format");
	free(t.p);
}

static void
test_two_compression_layers(void **state)
{
	struct tb t = { 0 };

	(void)state;
	tb_file(&t, "MANIFEST", "abc", 3);
	tb_end(&t);
	expect_refused(&t, TB_ZSTD_GZIP, "b.tar: more than one compression "
	    "layer (zstd inside gzip)");
	free(t.p);
}

static void
test_truncated(void **state)
{
	struct tb t = { 0 };
	unsigned char data[3000];
	size_t whole;

	(void)state;
	memset(data, 'x', sizeof(data));
	tb_file(&t, "MANIFEST", "abc", 3);
	tb_file(&t, "upgrade/0001_a.sql", data, sizeof(data));
	tb_end(&t);
	whole = t.len;
	/* In the middle of an entry's data. */
	t.len = 512 * 3 + 100;
	expect_refused(&t, TB_NONE, "b.tar: truncated archive");
	expect_refused(&t, TB_ZSTD, "b.tar: truncated archive");
	expect_refused(&t, TB_GZIP, "b.tar: truncated archive");
	/* In the middle of a header. */
	t.len = 512 * 2 + 300;
	expect_refused(&t, TB_NONE, "b.tar: truncated archive");
	/* At a block boundary, end marker gone: libarchive would call it
	 * the end. */
	t.len = 512 * 2;
	expect_refused(&t, TB_NONE, "b.tar: truncated archive");
	t.len = whole - 1024;
	expect_refused(&t, TB_NONE, "b.tar: truncated archive");
	expect_refused(&t, TB_ZSTD, "b.tar: truncated archive");
	/* The compressed file itself cut short. */
	{
		struct sb_err err = SB_ERR_INIT;
		char listing[256];
		struct stat st;

		t.len = whole;
		assert_int_equal(tb_save(file, t.p, t.len, TB_GZIP), 0);
		assert_int_equal(stat(file, &st), 0);
		assert_int_equal(truncate(file, st.st_size - 12), 0);
		assert_int_equal(scan(4096, listing, sizeof(listing), &err), -1);
		assert_string_equal(err.msg, "b.tar: truncated archive");
		assert_int_equal(tb_save(file, t.p, t.len, TB_ZSTD), 0);
		assert_int_equal(stat(file, &st), 0);
		assert_int_equal(truncate(file, st.st_size - 5), 0);
		assert_int_equal(scan(4096, listing, sizeof(listing), &err), -1);
		assert_string_equal(err.msg, "b.tar: truncated archive");
	}
	free(t.p);
}

static void
test_damaged_header(void **state)
{
	struct tb t = { 0 };

	(void)state;
	tb_file(&t, "MANIFEST", "abc", 3);
	tb_file(&t, "b", "abc", 3);
	tb_end(&t);
	t.p[1024 + 10] ^= 0x01;	/* name byte of "b": checksum fails */
	expect_refused(&t, TB_NONE, "b.tar: not a bundle: Damaged tar archive");
	free(t.p);
}

static void
test_extension_headers(void **state)
{
	struct tb t = { 0 };
	static const char pax[] = "27 path=upgrade/0001_a.sql\n";
	static const char gpax[] = "15 comment=hey\n";
	static const char longname[] = "upgrade/0001_a.sql";

	(void)state;
	/* pax header overriding the name of a harmless ustar entry. */
	tb_header(&t, "PaxHeaders/x", 'x', strlen(pax), NULL, TB_USTAR);
	tb_data(&t, pax, strlen(pax));
	tb_file(&t, "x", "abc", 3);
	tb_end(&t);
	expect_refused(&t, TB_NONE, "b.tar: entry \"upgrade/0001_a.sql\": pax "
	    "extended header not allowed");
	expect_refused(&t, TB_ZSTD, "b.tar: entry \"upgrade/0001_a.sql\": pax "
	    "extended header not allowed");

	/* A global pax header before an entry, and after the last one. */
	t.len = 0;
	tb_header(&t, "pax_global_header", 'g', strlen(gpax), NULL, TB_USTAR);
	tb_data(&t, gpax, strlen(gpax));
	tb_file(&t, "MANIFEST", "abc", 3);
	tb_end(&t);
	expect_refused(&t, TB_NONE, "b.tar: entry \"MANIFEST\": pax extended "
	    "header not allowed");
	t.len = 0;
	tb_file(&t, "MANIFEST", "abc", 3);
	tb_header(&t, "pax_global_header", 'g', strlen(gpax), NULL, TB_USTAR);
	tb_data(&t, gpax, strlen(gpax));
	tb_end(&t);
	expect_refused(&t, TB_NONE, "b.tar: POSIX pax interchange format "
	    "header not allowed at the end of the archive");

	/* GNU and pre-POSIX headers. */
	t.len = 0;
	tb_header(&t, "MANIFEST", '0', 3, NULL, TB_GNU);
	tb_data(&t, "abc", 3);
	tb_end(&t);
	expect_refused(&t, TB_NONE, "b.tar: entry \"MANIFEST\": GNU tar "
	    "header not allowed");
	t.len = 0;
	tb_file(&t, "MANIFEST", "abc", 3);
	tb_header(&t, "b", '0', 3, NULL, TB_V7);
	tb_data(&t, "abc", 3);
	tb_end(&t);
	expect_refused(&t, TB_NONE, "b.tar: entry \"b\": not a ustar header "
	    "(tar (non-POSIX))");

	/* A GNU long-name header in front of a ustar header. */
	t.len = 0;
	tb_header(&t, "././@LongLink", 'L', sizeof(longname), NULL, TB_USTAR);
	tb_data(&t, longname, sizeof(longname));
	tb_file(&t, "x", "abc", 3);
	tb_end(&t);
	expect_refused(&t, TB_NONE, "b.tar: entry \"upgrade/0001_a.sql\": "
	    "extension header not allowed");
	free(t.p);
}

/* pax and GNU archives as libarchive itself writes them. */
static void
test_writer_formats(void **state)
{
	static const struct {
		int (*set)(struct archive *);
		const char *msg;
	} fmts[] = {
		{ archive_write_set_format_pax, "b.tar: entry \"MANIFEST\": pax "
		    "extended header not allowed" },
		{ archive_write_set_format_gnutar, "b.tar: entry \"MANIFEST\": "
		    "GNU tar header not allowed" },
		{ archive_write_set_format_v7tar, "b.tar: entry \"MANIFEST\": "
		    "not a ustar header (tar (non-POSIX))" },
	};
	struct sb_err err = SB_ERR_INIT;
	struct archive *a;
	struct archive_entry *e;
	char listing[256];

	(void)state;
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		a = archive_write_new();
		assert_int_equal(fmts[i].set(a), ARCHIVE_OK);
		assert_int_equal(archive_write_open_filename(a, file),
		    ARCHIVE_OK);
		e = archive_entry_new();
		archive_entry_set_pathname(e, "MANIFEST");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 3);
		/* A uid too large for ustar needs a pax attribute. */
		if (i == 0)
			archive_entry_set_uid(e, 10000000);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, "abc", 3), 3);
		archive_entry_free(e);
		assert_int_equal(archive_write_close(a), ARCHIVE_OK);
		archive_write_free(a);
		assert_int_equal(scan(4096, listing, sizeof(listing), &err), -1);
		assert_string_equal(err.msg, fmts[i].msg);
	}
}

static void
test_entry_types(void **state)
{
	static const struct {
		const char *name;
		char type;
		const char *link, *msg;
	} types[] = {
		{ "upgrade/0001_a.sql", '2', "/etc/passwd",
		    "b.tar: entry \"upgrade/0001_a.sql\": not a regular file "
		    "(symlink)" },
		{ "upgrade/0001_a.sql", '1', "MANIFEST",
		    "b.tar: entry \"upgrade/0001_a.sql\": not a regular file "
		    "(hardlink)" },
		{ "upgrade", '5', NULL,
		    "b.tar: entry \"upgrade\": not a regular file (directory)" },
		{ "upgrade/", '0', NULL,
		    "b.tar: entry \"upgrade/\": not a regular file "
		    "(directory)" },
		{ "fifo", '6', NULL,
		    "b.tar: entry \"fifo\": not a regular file (fifo)" },
		{ "tty", '3', NULL, "b.tar: entry \"tty\": not a regular file "
		    "(character device)" },
		{ "sda", '4', NULL, "b.tar: entry \"sda\": not a regular file "
		    "(block device)" },
	};
	struct tb t = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		t.len = 0;
		tb_file(&t, "MANIFEST", "abc", 3);
		tb_header(&t, types[i].name, types[i].type, 0, types[i].link,
		    TB_USTAR);
		tb_end(&t);
		expect_refused(&t, TB_NONE, types[i].msg);
	}
	free(t.p);
}

static void
test_unsafe_paths(void **state)
{
	static const struct {
		const char *name, *msg;
	} paths[] = {
		{ "../x.sql", "b.tar: entry \"../x.sql\": unsafe path" },
		{ "upgrade/../../x", "b.tar: entry \"upgrade/../../x\": unsafe "
		    "path" },
		{ "/etc/cron.d/x", "b.tar: entry \"/etc/cron.d/x\": unsafe "
		    "path" },
		{ "a//b", "b.tar: entry \"a//b\": unsafe path" },
		{ "./MANIFEST", "b.tar: entry \"./MANIFEST\": unsafe path" },
		{ "a b", "b.tar: entry \"a b\": unsafe path" },
		/* Terminal escapes and quotes come out escaped. */
		{ "a\x1b[2Jb\"\\\xff", "b.tar: entry "
		    "\"a\\x1b[2Jb\\\"\\\\\\xff\": unsafe path" },
	};
	struct tb t = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		t.len = 0;
		tb_file(&t, paths[i].name, "abc", 3);
		tb_end(&t);
		expect_refused(&t, TB_NONE, paths[i].msg);
	}
	free(t.p);
}

static void
test_escape_name(void **state)
{
	char out[SB_ESCAPED_MAX], small[12];
	char *longname = malloc(1001);

	(void)state;
	sb_escape_name("plain/path.sql", out, sizeof(out));
	assert_string_equal(out, "plain/path.sql");
	sb_escape_name("\t\n\x7f\x80\"\\", out, sizeof(out));
	assert_string_equal(out, "\\x09\\x0a\\x7f\\x80\\\"\\\\");
	memset(longname, 'a', 1000);
	longname[1000] = '\0';
	sb_escape_name(longname, out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	assert_true(strlen(out) > 200);
	assert_string_equal(out + strlen(out) - 3, "...");
	/* A cut never splits an escape. */
	memset(longname, '\x01', 1000);
	sb_escape_name(longname, small, sizeof(small));
	assert_string_equal(small, "\\x01\\x01...");
	free(longname);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_archives),
		cmocka_unit_test(test_rewind_and_skip),
		cmocka_unit_test(test_not_a_bundle),
		cmocka_unit_test(test_two_compression_layers),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_damaged_header),
		cmocka_unit_test(test_extension_headers),
		cmocka_unit_test(test_writer_formats),
		cmocka_unit_test(test_entry_types),
		cmocka_unit_test(test_unsafe_paths),
		cmocka_unit_test(test_escape_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
