/* Unit tests for src/common/manifest.c: strict parsing, formatting, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/manifest.h"

#define R64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define U1 R64("1")
#define U2 R64("2")
#define U3 R64("3")
#define D1 R64("4")
#define D3 R64("5")
#define S0 R64("6")
#define S1 R64("7")
#define S2 R64("8")
#define S3 R64("9")

/*
 * Lines: 1-8 header keys, 9-11 revisions, 12 blank, 13-15 upgrades,
 * 16-17 downgrades (revision 2 is irreversible), 18-21 seeds.
 */
static const char good[] =
    "Format: sqlbundle-1\n"
    "Project: arcoirispos\n"
    "Created: 2023-11-14T22:13:20Z\n"
    "From: base\n"
    "To: 2864583ca021\n"
    "Key-Id: 0123456789abcdef\n"
    "Entries: 9\n"
    "Unpacked-Size: 12345\n"
    "Revision: 0001 000000000001 parents=- transactional=true "
    "file=000000000001_baseline_schema.sql upgrade-line=7 "
    "downgrade-line=300 upgrade=" U1 " downgrade=" D1
    " message=baseline schema collapse\n"
    "Revision: 0002 37a02ec8662a parents=000000000001 transactional=false "
    "file=37a02ec8662a_init_schema.sql upgrade-line=6 downgrade-line=0 "
    "upgrade=" U2 " downgrade=- message=init schema: a=b  c caf\xc3\xa9\n"
    "Revision: 0003 2864583ca021 parents=37a02ec8662a transactional=true "
    "file=2864583ca021_seed_initial_data.sql upgrade-line=6 "
    "downgrade-line=20 upgrade=" U3 " downgrade=" D3 " message=\n"
    "\n"
    U1 "  upgrade/0001_000000000001.sql\n"
    U2 "  upgrade/0002_37a02ec8662a.sql\n"
    U3 "  upgrade/0003_2864583ca021.sql\n"
    D1 "  downgrade/0001_000000000001.sql\n"
    D3 "  downgrade/0003_2864583ca021.sql\n"
    S0 "  seeds/0001_000000000001/core.x.csv\n"
    S1 "  seeds/0003_2864583ca021/01-core.organization.csv\n"
    S2 "  seeds/0003_2864583ca021/02-acct.chart.of.accounts.csv\n"
    S3 "  seeds/0003_2864583ca021/03-link.sql\n";

/* good with the single occurrence of old replaced by new. */
static char *
mutate(const char *old, const char *new)
{
	const char *at = strstr(good, old);

	if (at == NULL || strstr(at + 1, old) != NULL) {
		fprintf(stderr, "mutation \"%s\" does not match once\n", old);
		fail();
	}
	return sb_printf("%.*s%s%s", (int)(at - good), good, new,
	    at + strlen(old));
}

static void
expect_parse_error(const char *text, size_t len, const char *msg)
{
	struct sb_manifest m = SB_MANIFEST_INIT;
	struct sb_err err = SB_ERR_INIT;

	if (sb_manifest_parse(&m, text, len, &err) != -1) {
		fprintf(stderr, "accepted, expected: %s\n", msg);
		fail();
	}
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, msg);
	assert_null(m.revs);
	assert_null(m.entries);
	assert_null(m.project);
}

static void
test_parse_good(void **state)
{
	struct sb_manifest m = SB_MANIFEST_INIT;
	struct sb_err err = SB_ERR_INIT;
	const struct sb_manifest_rev *r;
	const struct sb_manifest_entry *e;

	(void)state;
	assert_int_equal(sb_manifest_parse(&m, good, strlen(good), &err), 0);
	assert_string_equal(m.project, "arcoirispos");
	assert_string_equal(m.created, "2023-11-14T22:13:20Z");
	assert_string_equal(m.from, "base");
	assert_string_equal(m.to, "2864583ca021");
	assert_string_equal(m.key_id, "0123456789abcdef");
	assert_int_equal(m.unpacked_size, 12345);
	assert_int_equal(m.nrevs, 3);
	assert_int_equal(m.nentries, 9);

	r = &m.revs[0];
	assert_int_equal(r->pos, 1);
	assert_string_equal(r->id, "000000000001");
	assert_int_equal(r->nparents, 0);
	assert_true(r->transactional);
	assert_string_equal(r->file, "000000000001_baseline_schema.sql");
	assert_int_equal(r->upgrade_line, 7);
	assert_int_equal(r->downgrade_line, 300);
	assert_string_equal(r->upgrade_sha, U1);
	assert_string_equal(r->downgrade_sha, D1);
	assert_string_equal(r->message, "baseline schema collapse");
	assert_int_equal(r->upgrade_entry, 0);
	assert_int_equal(r->downgrade_entry, 3);
	assert_int_equal(r->first_seed, 5);
	assert_int_equal(r->nseeds, 1);

	r = &m.revs[1];
	assert_int_equal(r->pos, 2);
	assert_int_equal(r->nparents, 1);
	assert_string_equal(r->parents[0], "000000000001");
	assert_false(r->transactional);
	assert_string_equal(r->downgrade_sha, "");
	assert_int_equal(r->downgrade_line, 0);
	assert_int_equal(r->downgrade_entry, -1);
	/* The message is the rest of the line, spaces and '=' included. */
	assert_string_equal(r->message, "init schema: a=b  c caf\xc3\xa9");
	assert_int_equal(r->upgrade_entry, 1);
	assert_int_equal(r->first_seed, 6);
	assert_int_equal(r->nseeds, 0);

	r = &m.revs[2];
	assert_string_equal(r->message, "");
	assert_int_equal(r->upgrade_entry, 2);
	assert_int_equal(r->downgrade_entry, 4);
	assert_int_equal(r->first_seed, 6);
	assert_int_equal(r->nseeds, 3);

	e = &m.entries[0];
	assert_string_equal(e->path, "upgrade/0001_000000000001.sql");
	assert_string_equal(e->sha, U1);
	assert_int_equal(e->kind, SB_ENTRY_UPGRADE);
	assert_int_equal(e->rev, 0);
	e = &m.entries[4];
	assert_string_equal(e->path, "downgrade/0003_2864583ca021.sql");
	assert_int_equal(e->kind, SB_ENTRY_DOWNGRADE);
	assert_int_equal(e->rev, 2);
	e = &m.entries[5];
	assert_int_equal(e->kind, SB_ENTRY_SEED_CSV);
	assert_int_equal(e->rev, 0);
	assert_string_equal(e->schema, "core");
	assert_string_equal(e->table, "x");
	e = &m.entries[7];
	assert_string_equal(e->path,
	    "seeds/0003_2864583ca021/02-acct.chart.of.accounts.csv");
	assert_string_equal(e->sha, S2);
	assert_int_equal(e->kind, SB_ENTRY_SEED_CSV);
	assert_int_equal(e->rev, 2);
	assert_string_equal(e->schema, "acct");
	assert_string_equal(e->table, "chart.of.accounts");
	e = &m.entries[8];
	assert_int_equal(e->kind, SB_ENTRY_SEED_SQL);
	assert_null(e->schema);
	assert_null(e->table);
	sb_manifest_release(&m);
	assert_null(m.revs);
	assert_int_equal(m.nentries, 0);
}

static void
test_round_trip(void **state)
{
	struct sb_manifest m = SB_MANIFEST_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(sb_manifest_parse(&m, good, strlen(good), &err), 0);
	assert_int_equal(sb_manifest_format(&m, &buf, &len, &err), 0);
	assert_int_equal(len, strlen(good));
	assert_memory_equal(buf, good, len);
	free(buf);
	sb_manifest_release(&m);
}

/* A manifest built field by field, with a merge revision, formats exactly. */
static void
test_format_built(void **state)
{
	struct sb_manifest m = SB_MANIFEST_INIT, back = SB_MANIFEST_INIT;
	struct sb_manifest_rev revs[3];
	struct sb_manifest_entry ents[4];
	char *pa[1] = { "a" }, *pb[1] = { "a" }, *pm[2] = { "b1", "b2" };
	struct sb_err err = SB_ERR_INIT;
	char *buf = NULL;
	size_t len = 0;
	const char *want =
	    "Format: sqlbundle-1\n"
	    "Project: p\n"
	    "Created: 2000-01-01T00:00:00Z\n"
	    "From: a\n"
	    "To: m\n"
	    "Key-Id: ffffffffffffffff\n"
	    "Entries: 4\n"
	    "Unpacked-Size: 0\n"
	    "Revision: 0001 b1 parents=a transactional=true file=b1_x.sql "
	    "upgrade-line=2 downgrade-line=0 upgrade=" U1 " downgrade=- "
	    "message=one\n"
	    "Revision: 0002 b2 parents=a transactional=true file=b2_x.sql "
	    "upgrade-line=2 downgrade-line=0 upgrade=" U2 " downgrade=- "
	    "message=two\n"
	    "Revision: 0003 m parents=b1,b2 transactional=false file=m_x.sql "
	    "upgrade-line=5 downgrade-line=9 upgrade=" U3 " downgrade=" D3
	    " message=merge\n"
	    "\n"
	    U1 "  upgrade/0001_b1.sql\n"
	    U2 "  upgrade/0002_b2.sql\n"
	    U3 "  upgrade/0003_m.sql\n"
	    D3 "  downgrade/0003_m.sql\n";

	(void)state;
	memset(revs, 0, sizeof(revs));
	memset(ents, 0, sizeof(ents));
	m.project = "p";
	m.created = "2000-01-01T00:00:00Z";
	m.from = "a";
	m.to = "m";
	strcpy(m.key_id, "ffffffffffffffff");
	m.revs = revs;
	m.nrevs = 3;
	m.entries = ents;
	m.nentries = 4;
	revs[0] = (struct sb_manifest_rev){ .pos = 1, .id = "b1",
	    .parents = pa, .nparents = 1, .transactional = true,
	    .file = "b1_x.sql", .upgrade_line = 2, .upgrade_sha = U1,
	    .message = "one" };
	revs[1] = (struct sb_manifest_rev){ .pos = 2, .id = "b2",
	    .parents = pb, .nparents = 1, .transactional = true,
	    .file = "b2_x.sql", .upgrade_line = 2, .upgrade_sha = U2,
	    .message = "two" };
	revs[2] = (struct sb_manifest_rev){ .pos = 3, .id = "m",
	    .parents = pm, .nparents = 2, .transactional = false,
	    .file = "m_x.sql", .upgrade_line = 5, .downgrade_line = 9,
	    .upgrade_sha = U3, .downgrade_sha = D3, .message = "merge" };
	ents[0] = (struct sb_manifest_entry){ .path = "upgrade/0001_b1.sql",
	    .sha = U1 };
	ents[1] = (struct sb_manifest_entry){ .path = "upgrade/0002_b2.sql",
	    .sha = U2 };
	ents[2] = (struct sb_manifest_entry){ .path = "upgrade/0003_m.sql",
	    .sha = U3 };
	ents[3] = (struct sb_manifest_entry){ .path = "downgrade/0003_m.sql",
	    .sha = D3 };
	assert_int_equal(sb_manifest_format(&m, &buf, &len, &err), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(buf, want);
	assert_int_equal(sb_manifest_parse(&back, buf, len, &err), 0);
	assert_int_equal(back.revs[2].nparents, 2);
	assert_string_equal(back.revs[2].parents[1], "b2");
	assert_int_equal(back.revs[2].downgrade_entry, 3);
	sb_manifest_release(&back);
	free(buf);

	/* The formatter refuses what no verifier would accept. */
	ents[3].path = "downgrade/../0003_m.sql";
	assert_int_equal(sb_manifest_format(&m, &buf, &len, &err), -1);
	assert_null(buf);
	assert_string_equal(err.msg, "invalid manifest: MANIFEST line 16: "
	    "unsafe path \"downgrade/../0003_m.sql\"");
	ents[3].path = "downgrade/0003_m.sql";
	revs[1].message = "two\nbogus";
	assert_int_equal(sb_manifest_format(&m, &buf, &len, &err), -1);
	assert_string_equal(err.msg, "invalid manifest: MANIFEST line 11: "
	    "expected \"Key: value\"");
}

struct mcase {
	const char *old, *new, *msg;
};

static const struct mcase cases[] = {
	{ "Project: arcoirispos\n", "Project: arcoirispos\nColor: blue\n",
	    "MANIFEST line 3: unknown key \"Color\"" },
	{ "Project: arcoirispos\nCreated: 2023-11-14T22:13:20Z\n",
	    "Created: 2023-11-14T22:13:20Z\nProject: arcoirispos\n",
	    "MANIFEST line 2: key \"Created\" out of order (expected "
	    "\"Project\")" },
	{ "Created: 2023-11-14T22:13:20Z\n",
	    "Created: 2023-11-14T22:13:20Z\nProject: other\n",
	    "MANIFEST line 4: duplicate key \"Project\"" },
	{ "Entries: 9\n", "Entries: 9\nEntries: 9\n",
	    "MANIFEST line 8: duplicate key \"Entries\"" },
	{ "\n\n" U1, "\nKey-Id: 0123456789abcdef\n\n" U1,
	    "MANIFEST line 12: duplicate key \"Key-Id\"" },
	{ "Unpacked-Size: 12345\n", "",
	    "MANIFEST line 8: key \"Revision\" out of order (expected "
	    "\"Unpacked-Size\")" },
	{ "Project: arcoirispos", "Project:arcoirispos",
	    "MANIFEST line 2: expected \"Key: value\"" },
	{ "Format: sqlbundle-1", "Format: sqlbundle-2",
	    "MANIFEST line 1: unsupported format \"sqlbundle-2\" (expected "
	    "\"sqlbundle-1\")" },
	{ "Project: arcoirispos", "Project: arcoiris pos",
	    "MANIFEST line 2: invalid project name \"arcoiris pos\"" },
	{ "Created: 2023-11-14T22:13:20Z", "Created: 2023-11-14 22:13:20",
	    "MANIFEST line 3: Created \"2023-11-14 22:13:20\" is not "
	    "YYYY-MM-DDTHH:MM:SSZ" },
	{ "From: base", "From: base!",
	    "MANIFEST line 4: From \"base!\" is not \"base\" or a revision "
	    "id" },
	{ "From: base", "From: 000000000001",
	    "MANIFEST line 4: From \"000000000001\" is a revision of the "
	    "bundle" },
	{ "To: 2864583ca021", "To: 37a02ec8662a",
	    "MANIFEST line 5: To \"37a02ec8662a\" is not the last revision "
	    "\"2864583ca021\"" },
	{ "Key-Id: 0123456789abcdef", "Key-Id: 0123456789ABCDEF",
	    "MANIFEST line 6: Key-Id \"0123456789ABCDEF\" is not 16 lowercase "
	    "hex digits" },
	{ "Key-Id: 0123456789abcdef", "Key-Id: 0123456789abcde",
	    "MANIFEST line 6: Key-Id \"0123456789abcde\" is not 16 lowercase "
	    "hex digits" },
	{ "Entries: 9", "Entries: 8",
	    "MANIFEST line 7: Entries is 8 but 9 entry lines follow" },
	{ "Entries: 9", "Entries: 10",
	    "MANIFEST line 7: Entries is 10 but 9 entry lines follow" },
	{ "Entries: 9", "Entries: 09",
	    "MANIFEST line 7: Entries \"09\" is not a number" },
	{ "Unpacked-Size: 12345", "Unpacked-Size: 012345",
	    "MANIFEST line 8: Unpacked-Size \"012345\" is not a number" },
	{ "Unpacked-Size: 12345", "Unpacked-Size: -1",
	    "MANIFEST line 8: Unpacked-Size \"-1\" is not a number" },
	{ "Unpacked-Size: 12345", "Unpacked-Size: 18446744073709551616",
	    "MANIFEST line 8: Unpacked-Size \"18446744073709551616\" is not a "
	    "number" },
	{ "Revision: 0001 ", "Revision: 1 ",
	    "MANIFEST line 9: revision position \"1\", expected \"0001\"" },
	{ "Revision: 0003 ", "Revision: 0004 ",
	    "MANIFEST line 11: revision position \"0004\", expected \"0003\"" },
	{ "0002 37a02ec8662a parents", "0002 37a02ec8662a-x parents",
	    "MANIFEST line 10: invalid revision id \"37a02ec8662a-x\"" },
	{ "0003 2864583ca021 parents", "0003 37a02ec8662a parents",
	    "MANIFEST line 11: duplicate revision \"37a02ec8662a\"" },
	{ "parents=000000000001 ", "parents=000000000001, ",
	    "MANIFEST line 10: parents \"000000000001,\" is not \"-\" or a "
	    "list of ids" },
	{ "parents=000000000001 ", "parents= ",
	    "MANIFEST line 10: parents \"\" is not \"-\" or a list of ids" },
	{ "parents=000000000001 ", "parents=000000000001,000000000001 ",
	    "MANIFEST line 10: duplicate parent \"000000000001\"" },
	{ "parents=000000000001 ", "parents=2864583ca021 ",
	    "MANIFEST line 10: parent \"2864583ca021\" does not come before "
	    "revision \"37a02ec8662a\"" },
	{ "parents=37a02ec8662a ", "parents=2864583ca021 ",
	    "MANIFEST line 11: revision \"2864583ca021\" is its own parent" },
	{ "transactional=false", "transactional=no",
	    "MANIFEST line 10: transactional \"no\" is not true or false" },
	{ "transactional=false file=37a02ec8662a_init_schema.sql",
	    "file=37a02ec8662a_init_schema.sql transactional=false",
	    "MANIFEST line 10: expected \"transactional=\"" },
	{ "file=000000000001_baseline_schema.sql", "file=../x.sql",
	    "MANIFEST line 9: invalid file name \"../x.sql\"" },
	{ "file=000000000001_baseline_schema.sql", "file=a/x.sql",
	    "MANIFEST line 9: invalid file name \"a/x.sql\"" },
	{ "upgrade-line=7", "upgrade-line=0",
	    "MANIFEST line 9: upgrade-line must be at least 1" },
	{ "upgrade-line=7", "upgrade-line=x",
	    "MANIFEST line 9: upgrade-line \"x\" is not a line number" },
	{ "downgrade-line=300", "downgrade-line=0",
	    "MANIFEST line 9: downgrade-line must be at least 1" },
	{ "downgrade-line=0", "downgrade-line=5",
	    "MANIFEST line 10: downgrade-line must be 0 for an irreversible "
	    "revision" },
	{ "upgrade=" U2, "upgrade=" R64("A"),
	    "MANIFEST line 10: upgrade SHA-256 \"" R64("A") "\" is not 64 "
	    "lowercase hex digits" },
	{ "downgrade=" D3, "downgrade=x",
	    "MANIFEST line 11: downgrade SHA-256 \"x\" is not 64 lowercase "
	    "hex digits or \"-\"" },
	{ " message=baseline schema collapse", "",
	    "MANIFEST line 9: expected a space after \"downgrade=\"" },
	{ "message=baseline", "msg=baseline",
	    "MANIFEST line 9: expected \"message=\"" },
	{ "message=init", "message=\x1binit",
	    "MANIFEST line 10: control character 0x1b" },
	{ "message=init", "message=\xffinit",
	    "MANIFEST line 10: invalid UTF-8" },
	{ "message=init", "message=\xc0\xafinit",
	    "MANIFEST line 10: invalid UTF-8" },
	{ "Project: arcoirispos\n", "Project: arcoirispos\r\n",
	    "MANIFEST line 2: carriage return (lines end with LF only)" },
	{ U1 "  upgrade", U1 " upgrade",
	    "MANIFEST line 13: expected \"<sha256>  <path>\"" },
	{ U1 "  upgrade", R64("G") "  upgrade",
	    "MANIFEST line 13: expected \"<sha256>  <path>\"" },
	{ "seeds/0003_2864583ca021/03-link.sql", "seeds/../03-link.sql",
	    "MANIFEST line 21: unsafe path \"seeds/../03-link.sql\"" },
	{ "seeds/0003_2864583ca021/03-link.sql", "/etc/passwd",
	    "MANIFEST line 21: unsafe path \"/etc/passwd\"" },
	{ U1 "  upgrade/0001_000000000001.sql\n"
	    U2 "  upgrade/0002_37a02ec8662a.sql\n",
	    U2 "  upgrade/0002_37a02ec8662a.sql\n"
	    U1 "  upgrade/0001_000000000001.sql\n",
	    "MANIFEST line 13: expected entry "
	    "\"upgrade/0001_000000000001.sql\", found "
	    "\"upgrade/0002_37a02ec8662a.sql\"" },
	{ U1 "  upgrade/0001", S3 "  upgrade/0001",
	    "MANIFEST line 13: SHA-256 of \"upgrade/0001_000000000001.sql\" "
	    "differs from its Revision line" },
	{ D3 "  downgrade/0003", S3 "  downgrade/0003",
	    "MANIFEST line 17: SHA-256 of \"downgrade/0003_2864583ca021.sql\" "
	    "differs from its Revision line" },
	{ D3 "  downgrade/0003_2864583ca021.sql\n", "",
	    "MANIFEST line 17: expected entry "
	    "\"downgrade/0003_2864583ca021.sql\", found "
	    "\"seeds/0001_000000000001/core.x.csv\"" },
	{ "  downgrade/0003_2864583ca021.sql\n", "  downgrade/0002_37a02ec8662a.sql\n",
	    "MANIFEST line 17: expected entry "
	    "\"downgrade/0003_2864583ca021.sql\", found "
	    "\"downgrade/0002_37a02ec8662a.sql\"" },
	{ S1 "  seeds/0003_2864583ca021/01-core.organization.csv\n"
	    S2 "  seeds/0003_2864583ca021/02-acct.chart.of.accounts.csv\n",
	    S2 "  seeds/0003_2864583ca021/02-acct.chart.of.accounts.csv\n"
	    S1 "  seeds/0003_2864583ca021/01-core.organization.csv\n",
	    "MANIFEST line 20: seed entry "
	    "\"seeds/0003_2864583ca021/01-core.organization.csv\" out of name "
	    "order" },
	{ S3 "  seeds/0003_2864583ca021/03-link.sql\n",
	    S3 "  seeds/0003_2864583ca021/03-link.sql\n"
	    S3 "  seeds/0003_2864583ca021/03-link.sql\n",
	    "MANIFEST line 22: seed entry "
	    "\"seeds/0003_2864583ca021/03-link.sql\" out of name order" },
	{ S3 "  seeds/0003_2864583ca021/03-link.sql\n",
	    S3 "  seeds/0003_2864583ca021/03-link.sql\n"
	    S0 "  seeds/0001_000000000001/core.y.csv\n",
	    "MANIFEST line 22: seed entry "
	    "\"seeds/0001_000000000001/core.y.csv\" out of revision order" },
	{ "03-link.sql", "03-link.txt",
	    "MANIFEST line 21: seed file \"03-link.txt\": name is neither "
	    "\"[NN-]schema.table.csv\" nor \"*.sql\"" },
	{ "seeds/0003_2864583ca021/03-link.sql",
	    "seeds/0002_2864583ca021/03-link.sql",
	    "MANIFEST line 21: unexpected entry "
	    "\"seeds/0002_2864583ca021/03-link.sql\" (expected a seed file "
	    "seeds/NNNN_<revision>/<name>)" },
	{ "seeds/0003_2864583ca021/03-link.sql",
	    "seeds/0003_2864583ca021/x/03-link.sql",
	    "MANIFEST line 21: unexpected entry "
	    "\"seeds/0003_2864583ca021/x/03-link.sql\" (expected a seed file "
	    "seeds/NNNN_<revision>/<name>)" },
};

static void
test_parse_refusals(void **state)
{
	char *text;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = mutate(cases[i].old, cases[i].new);
		expect_parse_error(text, strlen(text), cases[i].msg);
		free(text);
	}
}

/* Refusals that a single substitution cannot express. */
static void
test_parse_refusals_whole(void **state)
{
	char *text, *big;
	const char *blank = strstr(good, "\n\n");
	size_t n;

	(void)state;
	/* NUL inside the text. */
	text = sb_strdup(good);
	text[strstr(good, "arcoirispos") - good] = '\0';
	expect_parse_error(text, strlen(good), "MANIFEST line 2: NUL byte");
	free(text);

	expect_parse_error(good, strlen(good) - 1,
	    "MANIFEST line 21: missing newline at end of file");
	expect_parse_error("", 0, "MANIFEST line 1: missing newline at end "
	    "of file");

	/* The header alone, without its blank line. */
	expect_parse_error(good, (size_t)(blank - good) + 1,
	    "MANIFEST line 12: unexpected end of file in the header");

	/* No Revision line at all. */
	text = sb_printf("%.*s\n", (int)(strstr(good, "Revision:") - good),
	    good);
	expect_parse_error(text, strlen(text), "MANIFEST line 9: missing key "
	    "\"Revision\" before the blank line");
	free(text);

	/* Entry lines stop after the upgrades. */
	n = (size_t)(strstr(good, D1 "  downgrade") - good);
	text = sb_printf("%.*s", (int)n, good);
	expect_parse_error(text, strlen(text), "MANIFEST line 16: missing "
	    "entry \"downgrade/0001_000000000001.sql\"");
	free(text);
	n = (size_t)(strstr(good, U3 "  upgrade") - good);
	text = sb_printf("%.*s", (int)n, good);
	expect_parse_error(text, strlen(text), "MANIFEST line 15: missing "
	    "entry \"upgrade/0003_2864583ca021.sql\"");
	free(text);

	/* Over 1 MiB is refused before anything is read. */
	big = sb_malloc(SB_MANIFEST_MAX + 1);
	memset(big, 'x', SB_MANIFEST_MAX + 1);
	expect_parse_error(big, SB_MANIFEST_MAX + 1, "MANIFEST is too large "
	    "(1048577 bytes, at most 1048576)");
	free(big);
}

static void
test_seed_names(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	enum sb_entry_kind kind;
	char *schema = NULL, *table = NULL;
	static const struct {
		const char *name, *schema, *table;
	} csv[] = {
		{ "core.organization.csv", "core", "organization" },
		{ "01-core.organization.csv", "core", "organization" },
		{ "123-acct.chart.of.accounts.csv", "acct", "chart.of.accounts" },
		{ "1a-x.y.csv", "1a-x", "y" },
		{ "-a.b.csv", "-a", "b" },
	};
	static const char *const sql[] = { "x.sql", "01-data.sql", "a.b.sql" };
	static const char *const bad[] = {
		"core.csv", "01-core.csv", ".sql", "x.SQL", "README",
		"x.csv.bak", "01-.x.csv", ".x.csv", "a..csv", "a/b.sql",
		"01-a.csv", ""
	};
	char *want;

	(void)state;
	for (size_t i = 0; i < sizeof(csv) / sizeof(csv[0]); i++) {
		assert_int_equal(sb_seed_name_parse(csv[i].name, &kind, &schema,
		    &table, &err), 0);
		assert_int_equal(kind, SB_ENTRY_SEED_CSV);
		assert_string_equal(schema, csv[i].schema);
		assert_string_equal(table, csv[i].table);
		free(schema);
		free(table);
	}
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		assert_int_equal(sb_seed_name_parse(sql[i], &kind, &schema,
		    &table, &err), 0);
		assert_int_equal(kind, SB_ENTRY_SEED_SQL);
		assert_null(schema);
		assert_null(table);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sb_seed_name_parse(bad[i], &kind, &schema,
		    &table, &err), -1);
		assert_int_equal(err.code, SB_EINVALID);
		want = sb_printf("seed file \"%s\": name is neither "
		    "\"[NN-]schema.table.csv\" nor \"*.sql\"", bad[i]);
		assert_string_equal(err.msg, want);
		free(want);
		assert_null(schema);
		assert_null(table);
	}
	/* schema and table are optional outputs. */
	assert_int_equal(sb_seed_name_parse("a.b.csv", &kind, NULL, NULL,
	    &err), 0);
	assert_int_equal(kind, SB_ENTRY_SEED_CSV);
}

static void
test_path_safe(void **state)
{
	static const char *const ok[] = {
		"MANIFEST", "upgrade/0001_a.sql", "seeds/0001_x/01-a.b.csv",
		"a", "a.b", ".hidden", "a/.b", "-x"
	};
	static const char *const bad[] = {
		"", "/a", "a/../b", "..", "../a", "a/..", "a//b", "a/", "./a",
		"a/./b", "a/.", ".", "a b", "a\\b", "caf\xc3\xa9", "a..b",
		"a\nb", "a:b", "a*"
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!sb_path_safe(ok[i])) {
			fprintf(stderr, "refused \"%s\"\n", ok[i]);
			fail();
		}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sb_path_safe(bad[i])) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			fail();
		}
	assert_false(sb_path_safe(NULL));
}

/* FINGERPRINTS: the first entry when there is one, nowhere else. */
static void
test_fingerprints_entry(void **state)
{
	struct sb_manifest m = SB_MANIFEST_INIT;
	struct sb_err err = SB_ERR_INIT;
	char *t1 = mutate("Entries: 9", "Entries: 10"), *t2, *t3;

	(void)state;
	assert_int_equal(sb_manifest_parse(&m, good, strlen(good), &err), 0);
	assert_false(m.fingerprints);
	sb_manifest_release(&m);
	t2 = sb_printf("%.*s" S0 "  FINGERPRINTS\n%s",
	    (int)(strstr(t1, U1 "  upgrade/") - t1), t1,
	    strstr(t1, U1 "  upgrade/"));
	assert_int_equal(sb_manifest_parse(&m, t2, strlen(t2), &err), 0);
	assert_true(m.fingerprints);
	assert_int_equal(m.nentries, 10);
	assert_int_equal(m.entries[0].kind, SB_ENTRY_FINGERPRINTS);
	assert_string_equal(m.entries[0].path, "FINGERPRINTS");
	assert_int_equal(m.entries[1].kind, SB_ENTRY_UPGRADE);
	assert_int_equal(m.revs[0].upgrade_entry, 1);
	/* The seeds still belong to their revisions. */
	assert_int_equal(m.revs[0].nseeds, 1);
	assert_int_equal(m.revs[2].nseeds, 3);
	sb_manifest_release(&m);
	t3 = sb_printf("%.*s" S0 "  FINGERPRINTS\n%s",
	    (int)(strstr(t1, D1 "  downgrade/") - t1), t1,
	    strstr(t1, D1 "  downgrade/"));
	expect_parse_error(t3, strlen(t3), "MANIFEST line 16: expected entry "
	    "\"downgrade/0001_000000000001.sql\", found \"FINGERPRINTS\"");
	free(t3);
	free(t2);
	free(t1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_format_built),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_parse_refusals_whole),
		cmocka_unit_test(test_seed_names),
		cmocka_unit_test(test_path_safe),
		cmocka_unit_test(test_fingerprints_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
