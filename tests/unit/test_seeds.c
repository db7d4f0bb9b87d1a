/* Unit tests of seed data discovery (src/pack/seeds.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/limits.h"
#include "pack/seedcsv.h"
#include "pack/seeds.h"

struct fixture {
	struct sb_chain	 chain;		/* fixture chain "linear" */
	char		*dir;		/* a temp project with seeds/ */
};

static int
setup(void **state)
{
	struct fixture *fx = sb_calloc(1, sizeof(*fx));
	const char *root = getenv("SB_ROOT");
	struct sb_err err = SB_ERR_INIT;
	char tmpl[] = "/tmp/sb-test-seeds-XXXXXX", *chain_dir;

	chain_dir = sb_printf("%s/tests/fixtures/chains/linear",
	    root ? root : ".");
	if (sb_chain_load(&fx->chain, chain_dir, &err) == -1) {
		print_error("%s\n", err.msg);
		free(chain_dir);
		free(fx);
		return -1;
	}
	free(chain_dir);
	if (mkdtemp(tmpl) == NULL)
		return -1;
	fx->dir = sb_strdup(tmpl);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char *cmd = sb_printf("rm -rf '%s'", fx->dir);
	int rc = system(cmd);

	free(cmd);
	sb_chain_release(&fx->chain);
	free(fx->dir);
	free(fx);
	return rc == 0 ? 0 : -1;
}

/* Create <dir>/<rel> as a file (or a folder when rel ends with '/'). */
static void
make(const struct fixture *fx, const char *rel)
{
	char *path = sb_printf("%s/%s", fx->dir, rel);
	size_t n = strlen(path);
	FILE *f;

	for (char *p = path + strlen(fx->dir) + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	if (path[n - 1] != '/') {
		assert_non_null(f = fopen(path, "w"));
		fputs("id,name\n1,x\n", f);
		assert_int_equal(fclose(f), 0);
	}
	free(path);
}

static void
expect_error(struct fixture *fx, const char *fmt)
{
	struct sb_seeds seeds = SB_SEEDS_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *want = sb_printf(fmt, fx->dir);

	assert_int_equal(sb_seeds_load(&seeds, fx->dir, &fx->chain, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, want);
	assert_null(seeds.files);
	assert_int_equal(seeds.nrevs, 0);
	free(want);
}

static void
test_no_seeds(void **state)
{
	struct fixture *fx = *state;
	struct sb_seeds seeds = SB_SEEDS_INIT;
	struct sb_err err = SB_ERR_INIT;

	assert_int_equal(sb_seeds_load(&seeds, fx->dir, &fx->chain, &err), 0);
	assert_int_equal(seeds.nrevs, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(seeds.nfiles[i], 0);
	sb_seeds_release(&seeds);
	assert_null(seeds.files);
}

static void
test_names(void **state)
{
	struct fixture *fx = *state;
	struct sb_seeds seeds = SB_SEEDS_INIT;
	struct sb_err err = SB_ERR_INIT;
	const struct sb_seed_file *f;
	char *path;

	make(fx, "seeds/100000000002/fx.price.csv");
	make(fx, "seeds/100000000002/20-more.sql");
	make(fx, "seeds/100000000002/10-fx.item.csv");
	make(fx, "seeds/100000000002/10-fx.Item_2.csv");
	make(fx, "seeds/100000000003/");	/* empty: no seeds */
	assert_int_equal(sb_seeds_load(&seeds, fx->dir, &fx->chain, &err), 0);
	assert_int_equal(seeds.nfiles[0], 0);
	assert_int_equal(seeds.nfiles[1], 4);
	assert_int_equal(seeds.nfiles[2], 0);
	f = seeds.files[1];
	/* byte order of names: digits, then upper case, then lower case */
	assert_string_equal(f[0].name, "10-fx.Item_2.csv");
	assert_string_equal(f[1].name, "10-fx.item.csv");
	assert_string_equal(f[2].name, "20-more.sql");
	assert_string_equal(f[3].name, "fx.price.csv");
	assert_int_equal(f[0].kind, SB_ENTRY_SEED_CSV);
	assert_string_equal(f[0].schema, "fx");
	assert_string_equal(f[0].table, "Item_2");
	assert_string_equal(f[1].table, "item");
	assert_int_equal(f[2].kind, SB_ENTRY_SEED_SQL);
	assert_null(f[2].schema);
	assert_null(f[2].table);
	assert_string_equal(f[3].schema, "fx");
	assert_string_equal(f[3].table, "price");
	path = sb_printf("%s/seeds/100000000002/20-more.sql", fx->dir);
	assert_string_equal(f[2].path, path);
	free(path);
	sb_seeds_release(&seeds);
}

static void
test_unknown_revision(void **state)
{
	struct fixture *fx = *state;

	make(fx, "seeds/100000000009/fx.item.csv");
	expect_error(fx, "%s/seeds/100000000009: no revision \"100000000009\" "
	    "in the chain");
}

static void
test_not_a_revision_name(void **state)
{
	struct fixture *fx = *state;

	make(fx, "seeds/.git-keep/");
	expect_error(fx, "%s/seeds/.git-keep: no revision \".git-keep\" in "
	    "the chain");
}

static void
test_file_in_seeds(void **state)
{
	struct fixture *fx = *state;

	make(fx, "seeds/README");
	expect_error(fx, "%s/seeds/README: not a folder (seeds/ holds one "
	    "folder per revision id)");
}

static void
test_bad_kind(void **state)
{
	struct fixture *fx = *state;

	make(fx, "seeds/100000000001/fx.item.txt");
	expect_error(fx, "%s/seeds/100000000001/fx.item.txt: not a seed file "
	    "(names are \"[NN-]schema.table.csv\" or \"*.sql\")");
}

static void
test_csv_without_table(void **state)
{
	struct fixture *fx = *state;

	make(fx, "seeds/100000000001/10-items.csv");
	expect_error(fx, "%s/seeds/100000000001/10-items.csv: not a seed file "
	    "(names are \"[NN-]schema.table.csv\" or \"*.sql\")");
}

static void
test_unsafe_name(void **state)
{
	struct fixture *fx = *state;

	make(fx, "seeds/100000000001/fx.my item.csv");
	expect_error(fx, "%s/seeds/100000000001/fx.my item.csv: seed file "
	    "names may only hold [A-Za-z0-9._-]");
}

static void
test_subfolder(void **state)
{
	struct fixture *fx = *state;

	make(fx, "seeds/100000000001/more.sql/");
	expect_error(fx, "%s/seeds/100000000001/more.sql: not a plain file "
	    "(a seed folder holds only CSV and SQL files)");
}

static void
test_links(void **state)
{
	struct fixture *fx = *state;
	char *link = sb_printf("%s/seeds/100000000001/b.sql", fx->dir);

	make(fx, "seeds/100000000001/a.sql");
	assert_int_equal(symlink("a.sql", link), 0);
	expect_error(fx, "%s/seeds/100000000001/b.sql: a link (seed data must "
	    "be plain files in plain folders)");
	free(link);
}

static void
test_linked_folder(void **state)
{
	struct fixture *fx = *state;
	char *link = sb_printf("%s/seeds/100000000002", fx->dir);

	make(fx, "seeds/100000000001/a.sql");
	assert_int_equal(symlink("100000000001", link), 0);
	expect_error(fx, "%s/seeds/100000000002: a link (seed data must be "
	    "plain files in plain folders)");
	free(link);
}

/* Write text (len bytes) to <dir>/h.csv and read its header. */
static int
header_of(const struct fixture *fx, const char *text, size_t len,
    char ***cols, size_t *ncols, size_t *hlen, struct sb_err *err)
{
	char *path = sb_printf("%s/h.csv", fx->dir);
	FILE *f = fopen(path, "wb");
	int r;

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	r = sb_seed_csv_header(path, cols, ncols, hlen, err);
	free(path);
	return r;
}

static void
expect_columns(const struct fixture *fx, const char *text, size_t want_hlen,
    const char *const *want, size_t nwant)
{
	struct sb_err err = SB_ERR_INIT;
	char **cols = NULL;
	size_t ncols = 0, hlen = 0;

	if (header_of(fx, text, strlen(text), &cols, &ncols, &hlen,
	    &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(ncols, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(cols[i], want[i]);
	assert_int_equal(hlen, want_hlen);
	sb_names_free(cols, ncols);
}

static void
expect_header_error(const struct fixture *fx, const char *text,
    const char *what)
{
	struct sb_err err = SB_ERR_INIT;
	char **cols = NULL;
	size_t ncols = 0, hlen = 0;
	char *want = sb_printf("%s/h.csv:1: %s", fx->dir, what);

	assert_int_equal(header_of(fx, text, strlen(text), &cols, &ncols,
	    &hlen, &err), -1);
	assert_string_equal(err.msg, want);
	assert_null(cols);
	free(want);
}

static void
test_csv_header(void **state)
{
	static const char *const plain[] = { "id", "name" };
	static const char *const quoted[] = { "a,b", "say \"hi\"", "x\ny", "Z" };
	struct fixture *fx = *state;

	expect_columns(fx, "id,name\n1,x\n", 8, plain, 2);
	expect_columns(fx, "id,name\r\n1,x\r\n", 9, plain, 2);
	expect_columns(fx, "\xEF\xBB\xBFid,name\n", 11, plain, 2);
	expect_columns(fx, "id,name", 7, plain, 2);	/* no rows, no newline */
	expect_columns(fx, "\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",Z\n1,2,3,4\n",
	    27, quoted, 4);
	expect_header_error(fx, "\n1,2\n", "no column name in the CSV header "
	    "(the first line names the columns)");
	expect_header_error(fx, "", "no column name in the CSV header (the "
	    "first line names the columns)");
	expect_header_error(fx, "id,,name\n", "empty column name in the CSV "
	    "header (column 2)");
	expect_header_error(fx, "id,\"\"\n", "empty column name in the CSV "
	    "header (column 2)");
	expect_header_error(fx, "id,\"name\n1,2\n", "unterminated quoted name "
	    "in the CSV header (column 2)");
	expect_header_error(fx, "id,name,id\n", "column \"id\" named twice in "
	    "the CSV header (columns 1 and 3)");
}

/* The wrapper feeds the first SB_CSV_HEADER_MAX bytes: a long one fails. */
static void
test_csv_header_long(void **state)
{
	struct fixture *fx = *state;
	size_t n = SB_CSV_HEADER_MAX + 100;
	char *text = sb_malloc(n + 1);
	struct sb_err err = SB_ERR_INIT;
	char **cols = NULL, *want;
	size_t ncols = 0, hlen = 0;

	memset(text, 'a', n);
	text[n] = '\0';
	assert_int_equal(header_of(fx, text, n, &cols, &ncols, &hlen, &err),
	    -1);
	want = sb_printf("%s/h.csv:1: CSV header longer than %d bytes",
	    fx->dir, SB_CSV_HEADER_MAX);
	assert_string_equal(err.msg, want);
	free(want);
	/* 1600 names of 63 bytes: the widest header, read whole. */
	for (size_t i = 0; i < SB_CSV_COLUMNS_MAX; i++) {
		snprintf(text + i * 64, 6, "c%04zu", i);
		text[i * 64 + 5] = 'a';
		text[i * 64 + 63] = ',';
	}
	text[SB_CSV_COLUMNS_MAX * 64 - 1] = '\n';
	assert_int_equal(header_of(fx, text, SB_CSV_COLUMNS_MAX * 64 + 4,
	    &cols, &ncols, &hlen, &err), 0);
	assert_int_equal(hlen, SB_CSV_COLUMNS_MAX * 64);
	assert_int_equal(ncols, SB_CSV_COLUMNS_MAX);
	sb_names_free(cols, ncols);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_seeds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_revision, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_a_revision_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_in_seeds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv_without_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_subfolder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linked_folder, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_csv_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_csv_header_long, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
