/*
 * Unit tests for src/common/bundle.c: real bundles written with libarchive
 * and signed with OpenSSL here, then every refusal of SPEC section 5.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "sqlbundle/bundle.h"
#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "tar_build.h"
#include "tmpdir.h"

#define NAME	"b.tar.zst"

static char *file;
static EVP_PKEY *hq, *other;
static char hq_id[17], other_id[17];
static char *hq_pub, *other_pub;
static struct sb_trust trust_hq = SB_TRUST_INIT, trust_other = SB_TRUST_INIT;

/* The payload of the test project, in archive order. */
static const struct tb_entry payload[] = {
	{ "upgrade/0001_aaa.sql", "CREATE TABLE a (x int);\n", 24 },
	{ "upgrade/0002_bbb.sql", "CREATE TABLE b (y int);\n", 24 },
	{ "downgrade/0001_aaa.sql", "DROP TABLE a;\n", 14 },
	{ "seeds/0002_bbb/01-core.org.csv", "id,name\n1,x\n", 12 },
	{ "seeds/0002_bbb/02-extra.sql", "INSERT INTO b VALUES (1);\n", 26 },
};
#define NPAYLOAD	(sizeof(payload) / sizeof(payload[0]))
#define PAYLOAD_SIZE	(24 + 24 + 14 + 12 + 26)

static void
sha_hex(const void *buf, size_t len, char hex[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(buf, len, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void
key_id(EVP_PKEY *k, char id[17])
{
	unsigned char raw[32];
	char hex[65];
	size_t len = sizeof(raw);

	assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &len), 1);
	sha_hex(raw, 32, hex);
	memcpy(id, hex, 16);
	id[16] = '\0';
}

static EVP_PKEY *
new_key(const char *path)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f = fopen(path, "w");

	assert_non_null(k);
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	assert_int_equal(fclose(f), 0);
	return k;
}

static void
sign(EVP_PKEY *k, const void *msg, size_t len, unsigned char sig[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 64;

	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, msg, len), 1);
	assert_int_equal(siglen, 64);
	EVP_MD_CTX_free(ctx);
}

/* The manifest of p (laid out as payload), key id and Unpacked-Size. */
static char *
manifest_of(const struct tb_entry *p, const char *id,
    unsigned long long unpacked)
{
	char h[NPAYLOAD][65];

	for (size_t i = 0; i < NPAYLOAD; i++)
		sha_hex(p[i].data, p[i].len, h[i]);
	return sb_printf(
	    "Format: sqlbundle-1\n"
	    "Project: demo\n"
	    "Created: 2023-11-14T22:13:20Z\n"
	    "From: base\n"
	    "To: bbb\n"
	    "Key-Id: %s\n"
	    "Entries: 5\n"
	    "Unpacked-Size: %llu\n"
	    "Revision: 0001 aaa parents=- transactional=true file=aaa_a.sql "
	    "upgrade-line=5 downgrade-line=8 upgrade=%s downgrade=%s "
	    "message=first\n"
	    "Revision: 0002 bbb parents=aaa transactional=true file=bbb_b.sql "
	    "upgrade-line=5 downgrade-line=0 upgrade=%s downgrade=- "
	    "message=second\n"
	    "\n"
	    "%s  %s\n%s  %s\n%s  %s\n%s  %s\n%s  %s\n",
	    id, unpacked, h[0], h[2], h[1],
	    h[0], payload[0].path, h[1], payload[1].path, h[2], payload[2].path,
	    h[3], payload[3].path, h[4], payload[4].path);
}

static char *
manifest(const char *id, unsigned long long unpacked)
{
	return manifest_of(payload, id, unpacked);
}

/*
 * A bundle under construction: the archive entries, in order, starting
 * with MANIFEST and MANIFEST.sig, which tests then rearrange.
 */
struct spec {
	char		*text;
	unsigned char	 sig[64];
	struct tb_entry	 ents[16];
	size_t		 n;
};

static void
spec_init(struct spec *s, EVP_PKEY *signer, const char *id,
    unsigned long long unpacked)
{
	s->text = manifest(id, unpacked);
	sign(signer, s->text, strlen(s->text), s->sig);
	s->ents[0] = (struct tb_entry){ "MANIFEST", s->text, strlen(s->text) };
	s->ents[1] = (struct tb_entry){ "MANIFEST.sig", s->sig, 64 };
	for (size_t i = 0; i < NPAYLOAD; i++)
		s->ents[2 + i] = payload[i];
	s->n = 2 + NPAYLOAD;
}

static void
spec_good(struct spec *s)
{
	spec_init(s, hq, hq_id, PAYLOAD_SIZE);
}

static void
spec_insert(struct spec *s, size_t at, struct tb_entry e)
{
	memmove(&s->ents[at + 1], &s->ents[at], (s->n - at) * sizeof(e));
	s->ents[at] = e;
	s->n++;
}

static void
spec_remove(struct spec *s, size_t at)
{
	memmove(&s->ents[at], &s->ents[at + 1], (s->n - at - 1) *
	    sizeof(s->ents[0]));
	s->n--;
}

static void
spec_write(struct spec *s, enum tb_compress c)
{
	assert_int_equal(tb_write_tar(file, s->ents, s->n, c), 0);
}

static int
verify(struct sb_trust *trust, char id[SB_SHA256_HEX],
    struct sb_err *err)
{
	int fd = open(file, O_RDONLY), rc;

	assert_true(fd >= 0);
	rc = sb_bundle_verify(fd, NAME, trust, id, err);
	close(fd);
	return rc;
}

static void
expect_refused(struct sb_trust *trust, const char *msg)
{
	struct sb_err err = SB_ERR_INIT;

	if (verify(trust, NULL, &err) != -1) {
		fprintf(stderr, "accepted, expected: %s\n", msg);
		fail();
	}
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, msg);
}

static int
setup(void **state)
{
	struct sb_err err = SB_ERR_INIT;

	(void)state;
	if (tmpdir_make("bundle") == -1)
		return -1;
	file = sb_printf("%s/b.tar.zst", tmpdir);
	hq_pub = sb_printf("%s/hq.pub", tmpdir);
	other_pub = sb_printf("%s/other.pub", tmpdir);
	hq = new_key(hq_pub);
	other = new_key(other_pub);
	key_id(hq, hq_id);
	key_id(other, other_id);
	if (sb_trust_load(&trust_hq, hq_pub, &err) == -1 ||
	    sb_trust_load(&trust_other, other_pub, &err) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_remove();
	sb_trust_release(&trust_hq);
	sb_trust_release(&trust_other);
	EVP_PKEY_free(hq);
	EVP_PKEY_free(other);
	free(file);
	free(hq_pub);
	free(other_pub);
	return 0;
}

static void
test_good_bundle(void **state)
{
	static const enum tb_compress cs[] = { TB_ZSTD, TB_GZIP, TB_NONE };
	struct sb_err err = SB_ERR_INIT;
	struct sb_trust both = SB_TRUST_INIT;
	struct spec s;
	char id[SB_SHA256_HEX], want[65];

	(void)state;
	spec_good(&s);
	sha_hex(s.text, strlen(s.text), want);
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		spec_write(&s, cs[i]);
		memset(id, 0, sizeof(id));
		assert_int_equal(verify(&trust_hq, id, &err), 0);
		assert_string_equal(id, want);
	}
	/* A trust folder holding the signer among others. */
	assert_int_equal(sb_trust_load(&both, tmpdir, &err), 0);
	assert_int_equal(both.n, 2);
	assert_int_equal(verify(&both, NULL, &err), 0);
	sb_trust_release(&both);
	free(s.text);
}

static void
test_streaming_pass(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_bundle *b = NULL;
	const struct sb_manifest *m;
	struct spec s;
	char buf[7], got[64], want[65];
	size_t idx, len, total = 0, glen;
	ssize_t n;
	int fd;

	(void)state;
	spec_good(&s);
	spec_write(&s, TB_ZSTD);
	sha_hex(s.text, strlen(s.text), want);
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(sb_bundle_open(&b, fd, NAME, &trust_hq, want, &err),
	    0);
	assert_string_equal(sb_bundle_id(b), want);
	assert_string_equal(sb_bundle_key(b)->id, hq_id);
	assert_string_equal(sb_bundle_key(b)->path, hq_pub);
	assert_string_equal(sb_bundle_manifest_text(b, &len), s.text);
	assert_int_equal(len, strlen(s.text));
	m = sb_bundle_manifest(b);
	assert_int_equal(m->nentries, NPAYLOAD);
	assert_int_equal(m->nrevs, 2);
	assert_string_equal(m->key_id, hq_id);
	for (size_t i = 0; i < NPAYLOAD; i++) {
		assert_int_equal(sb_bundle_next(b, &idx, &err), 1);
		assert_int_equal(idx, i);
		/* Small reads; the bytes are the entry's, and no more. */
		glen = 0;
		while ((n = sb_bundle_read(b, buf, sizeof(buf), &err)) > 0) {
			memcpy(got + glen, buf, (size_t)n);
			glen += (size_t)n;
		}
		assert_int_equal(n, 0);
		assert_int_equal(glen, payload[i].len);
		assert_memory_equal(got, payload[i].data, glen);
		total += glen;
		assert_int_equal(sb_bundle_entry_end(b, &err), 0);
		/* Twice is harmless. */
		assert_int_equal(sb_bundle_entry_end(b, &err), 0);
	}
	assert_int_equal(sb_bundle_next(b, &idx, &err), 0);
	assert_int_equal(sb_bundle_next(b, &idx, &err), 0);
	/* Bytes counted while reading add up to Unpacked-Size. */
	assert_int_equal(total, m->unpacked_size);
	sb_bundle_close(b);

	/* Unverified open (inspect): no key, manifest still parsed. */
	assert_int_equal(sb_bundle_open(&b, fd, NAME, NULL, NULL, &err), 0);
	assert_null(sb_bundle_key(b));
	assert_string_equal(sb_bundle_manifest(b)->project, "demo");
	/* The next entry is drained and checked by sb_bundle_next itself. */
	assert_int_equal(sb_bundle_next(b, &idx, &err), 1);
	assert_int_equal(sb_bundle_next(b, &idx, &err), 1);
	assert_int_equal(idx, 1);
	sb_bundle_close(b);

	/* A second pass expecting another id: the file changed. */
	want[0] = want[0] == '0' ? '1' : '0';
	assert_int_equal(sb_bundle_open(&b, fd, NAME, &trust_hq, want, &err),
	    -1);
	assert_null(b);
	assert_string_equal(err.msg, NAME ": bundle changed since it was "
	    "verified");
	close(fd);
	free(s.text);
}

static void
test_untrusted_key(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct spec s;
	char *want;

	(void)state;
	spec_good(&s);
	spec_write(&s, TB_ZSTD);
	want = sb_printf(NAME ": bundle signed by untrusted key %s", hq_id);
	assert_int_equal(verify(&trust_other, NULL, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, want);
	free(want);
	want = sb_printf("trusted keys: %s (%s)", other_id, other_pub);
	assert_string_equal(err.detail, want);
	free(want);
	free(s.text);
}

static void
test_bad_signature(void **state)
{
	struct spec s;
	char *at;

	(void)state;
	/* The right key signed other bytes. */
	spec_good(&s);
	sign(hq, "something else", 14, s.sig);
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": bad signature");
	free(s.text);

	/* The manifest changed after signing. */
	spec_good(&s);
	at = strstr(s.text, "demo");
	at[0] = 'D';
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": bad signature");
	free(s.text);

	/* Another key signed a manifest naming the trusted key. */
	spec_init(&s, other, hq_id, PAYLOAD_SIZE);
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": bad signature");
	free(s.text);
}

static void
test_head_refusals(void **state)
{
	struct spec s;
	struct tb t = { 0 };
	char *big;

	(void)state;
	spec_good(&s);
	spec_remove(&s, 0);
	spec_remove(&s, 0);
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": first entry is "
	    "\"upgrade/0001_aaa.sql\", expected MANIFEST");
	free(s.text);

	spec_good(&s);
	spec_remove(&s, 1);
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": second entry is "
	    "\"upgrade/0001_aaa.sql\", expected MANIFEST.sig");
	s.n = 1;
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": no MANIFEST.sig after MANIFEST");
	s.n = 0;
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": empty archive (no MANIFEST)");
	free(s.text);

	spec_good(&s);
	s.ents[1].len = 63;
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": MANIFEST.sig is 63 bytes, "
	    "expected 64");
	free(s.text);

	/* Over 1 MiB, with the bytes there. */
	spec_good(&s);
	big = sb_malloc(SB_MANIFEST_MAX + 1);
	memset(big, '\n', SB_MANIFEST_MAX + 1);
	s.ents[0] = (struct tb_entry){ "MANIFEST", big, SB_MANIFEST_MAX + 1 };
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": MANIFEST is too large (1048577 "
	    "bytes, at most 1048576)");
	free(big);
	free(s.text);

	/* Refused from the header alone: the data is not even there. */
	tb_header(&t, "MANIFEST", '0', (uint64_t)8 << 30 >> 1, NULL, TB_USTAR);
	assert_int_equal(tb_save(file, t.p, t.len, TB_ZSTD), 0);
	expect_refused(&trust_hq, NAME ": MANIFEST is too large (4294967296 "
	    "bytes, at most 1048576)");
	free(t.p);
}

/*
 * Write the good bundle with payload entry i's bytes replaced by data
 * (same length), listed in a manifest signed again: what a careless HQ
 * could ship.
 */
static void
signed_with(size_t i, const char *data)
{
	struct tb_entry p[NPAYLOAD];
	struct spec s;

	memcpy(p, payload, sizeof(p));
	p[i].data = data;
	spec_good(&s);
	free(s.text);
	s.text = manifest_of(p, hq_id, PAYLOAD_SIZE);
	sign(hq, s.text, strlen(s.text), s.sig);
	s.ents[0].data = s.text;
	s.ents[2 + i] = p[i];
	spec_write(&s, TB_ZSTD);
	free(s.text);
}

/*
 * What the applier would refuse half-way is refused by the verifying
 * pass, naming the entry and line; a tampered entry reads as tampered
 * whatever its contents.
 */
static void
test_content_refusals(void **state)
{
	struct spec s;

	(void)state;
	spec_good(&s);
	s.ents[5].data = "id,\"n\"x\n1,x\n";
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": tampered entry "
	    "\"seeds/0002_bbb/01-core.org.csv\": SHA-256 mismatch");
	free(s.text);

	/* Signed as it is: the header is what is wrong. */
	signed_with(3, "id,\"id\"\n1,x\n");
	expect_refused(&trust_hq, NAME ": seeds/0002_bbb/01-core.org.csv:1: "
	    "column \"id\" named twice in the CSV header (columns 1 and 2)");
	signed_with(4, "INSERT INTO b VALUES ('1);\n");
	expect_refused(&trust_hq, NAME ": seeds/0002_bbb/02-extra.sql:1: "
	    "unterminated quoted string");
}

static void
test_entry_refusals(void **state)
{
	struct spec s;
	char tampered[24];

	(void)state;
	spec_good(&s);
	memcpy(tampered, payload[1].data, 24);
	tampered[7] = 't';
	s.ents[3].data = tampered;
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": tampered entry "
	    "\"upgrade/0002_bbb.sql\": SHA-256 mismatch");
	free(s.text);

	spec_good(&s);
	spec_insert(&s, 4, (struct tb_entry){ "upgrade/0003_ccc.sql", "x", 1 });
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": unlisted entry "
	    "\"upgrade/0003_ccc.sql\"");
	free(s.text);

	/* After the last listed entry. */
	spec_good(&s);
	spec_insert(&s, s.n, (struct tb_entry){ "zzz", "x", 1 });
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": unlisted entry \"zzz\"");
	free(s.text);

	spec_good(&s);
	s.ents[2] = payload[1];
	s.ents[3] = payload[0];
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": entry \"upgrade/0002_bbb.sql\" out "
	    "of order");
	free(s.text);

	spec_good(&s);
	spec_insert(&s, 3, payload[0]);
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": duplicate entry "
	    "\"upgrade/0001_aaa.sql\"");
	free(s.text);

	spec_good(&s);
	spec_insert(&s, s.n, payload[NPAYLOAD - 1]);
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": duplicate entry "
	    "\"seeds/0002_bbb/02-extra.sql\"");
	spec_remove(&s, s.n - 1);
	spec_insert(&s, s.n, s.ents[0]);
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": duplicate entry \"MANIFEST\"");
	free(s.text);

	spec_good(&s);
	spec_remove(&s, s.n - 1);
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": missing entry "
	    "\"seeds/0002_bbb/02-extra.sql\"");
	free(s.text);

	/* Libarchive-level refusals come through with the entry named. */
	{
		struct tb t = { 0 };

		spec_good(&s);
		for (size_t i = 0; i < 3; i++)
			tb_file(&t, s.ents[i].path, s.ents[i].data,
			    s.ents[i].len);
		tb_header(&t, "upgrade/0002_bbb.sql", '2', 0, "/etc/passwd",
		    TB_USTAR);
		tb_end(&t);
		assert_int_equal(tb_save(file, t.p, t.len, TB_ZSTD), 0);
		expect_refused(&trust_hq, NAME ": entry "
		    "\"upgrade/0002_bbb.sql\": not a regular file (symlink)");
		free(t.p);
		free(s.text);
	}
}

static void
test_unpacked_size(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct spec s;
	struct tb t = { 0 };

	(void)state;
	/* The last entry takes the sum one byte past Unpacked-Size. */
	spec_init(&s, hq, hq_id, PAYLOAD_SIZE - 1);
	spec_write(&s, TB_ZSTD);
	assert_int_equal(verify(&trust_hq, NULL, &err), -1);
	assert_string_equal(err.msg, NAME ": entry "
	    "\"seeds/0002_bbb/02-extra.sql\": size exceeds Unpacked-Size");
	assert_string_equal(err.detail, "26 bytes declared, 25 left of "
	    "Unpacked-Size 99");
	free(s.text);

	/* Entries hold less than declared. */
	spec_init(&s, hq, hq_id, PAYLOAD_SIZE + 1);
	spec_write(&s, TB_ZSTD);
	expect_refused(&trust_hq, NAME ": entries hold 100 bytes but "
	    "Unpacked-Size is 101");
	free(s.text);

	/*
	 * A header declaring 4 GiB with no data behind it: refused from the
	 * header, before any byte is read (else: truncated archive).
	 */
	spec_good(&s);
	for (size_t i = 0; i < 2; i++)
		tb_file(&t, s.ents[i].path, s.ents[i].data, s.ents[i].len);
	tb_header(&t, "upgrade/0001_aaa.sql", '0', (uint64_t)4 << 30, NULL,
	    TB_USTAR);
	tb_zeros(&t, 4096);
	assert_int_equal(tb_save(file, t.p, t.len, TB_ZSTD), 0);
	expect_refused(&trust_hq, NAME ": entry \"upgrade/0001_aaa.sql\": "
	    "size exceeds Unpacked-Size");
	free(t.p);
	free(s.text);
}

static void
test_stops_after_error(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_bundle *b = NULL;
	struct spec s;
	size_t idx;
	char buf[8];
	int fd;

	(void)state;
	spec_good(&s);
	spec_remove(&s, 2);
	spec_write(&s, TB_ZSTD);
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(sb_bundle_open(&b, fd, NAME, &trust_hq, NULL, &err),
	    0);
	assert_int_equal(sb_bundle_next(b, &idx, &err), -1);
	assert_string_equal(err.msg, NAME ": entry \"upgrade/0002_bbb.sql\" "
	    "out of order");
	assert_string_equal(err.detail, "expected \"upgrade/0001_aaa.sql\" "
	    "(MANIFEST entry 1)");
	assert_int_equal(sb_bundle_next(b, &idx, &err), -1);
	assert_string_equal(err.msg, NAME ": verification stopped at an "
	    "earlier error");
	assert_int_equal(sb_bundle_read(b, buf, sizeof(buf), &err), -1);
	assert_int_equal(sb_bundle_entry_end(b, &err), -1);
	sb_bundle_close(b);
	close(fd);
	free(s.text);
}

/* Peak resident set size of this process, in KiB. */
static long
max_rss(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/*
 * 256 MiB of CSV seed in one entry, written in pieces so the test itself
 * stays small: the pass reads it all, hashes it, records its chunk cuts
 * (asked for 1-byte chunks, it keeps at most SB_CHUNKS_MAX), and the peak
 * memory barely moves.
 */
static void
test_flat_memory(void **state)
{
	static const char script[] = "SELECT 1;\n";
	const size_t piece = 1 << 20, npieces = 256;
	struct sb_err err = SB_ERR_INIT;
	struct sb_chunk_plan plan = SB_CHUNK_PLAN_INIT;
	struct archive *a;
	struct archive_entry *e;
	unsigned char *rows = malloc(piece), md[32], sig[64];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	char hex[65], shex[65], *text;
	long before, after;
	int fd;

	(void)state;
	for (size_t i = 0; i < piece; i += 2)
		memcpy(rows + i, "0\n", 2);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	for (size_t i = 0; i < npieces; i++) {
		rows[0] = i == 0 ? 'a' : '0';	/* the header: column a */
		assert_int_equal(EVP_DigestUpdate(c, rows, piece), 1);
	}
	assert_int_equal(EVP_DigestFinal_ex(c, md, NULL), 1);
	EVP_MD_CTX_free(c);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	sha_hex(script, strlen(script), shex);
	text = sb_printf("Format: sqlbundle-1\nProject: demo\n"
	    "Created: 2023-11-14T22:13:20Z\nFrom: base\nTo: aaa\n"
	    "Key-Id: %s\nEntries: 2\nUnpacked-Size: %zu\n"
	    "Revision: 0001 aaa parents=- transactional=true file=aaa_a.sql "
	    "upgrade-line=1 downgrade-line=0 upgrade=%s downgrade=- "
	    "message=big\n\n%s  upgrade/0001_aaa.sql\n"
	    "%s  seeds/0001_aaa/public.t.csv\n", hq_id,
	    strlen(script) + piece * npieces, shex, shex, hex);
	sign(hq, text, strlen(text), sig);

	a = tb_writer(TB_ZSTD);
	assert_int_equal(archive_write_set_format_ustar(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, file), ARCHIVE_OK);
	e = archive_entry_new();
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_pathname(e, "MANIFEST");
	archive_entry_set_size(e, (la_int64_t)strlen(text));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_write_data(a, text, strlen(text));
	archive_entry_set_pathname(e, "MANIFEST.sig");
	archive_entry_set_size(e, 64);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_write_data(a, sig, 64);
	archive_entry_set_pathname(e, "upgrade/0001_aaa.sql");
	archive_entry_set_size(e, (la_int64_t)strlen(script));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_write_data(a, script, strlen(script));
	archive_entry_set_pathname(e, "seeds/0001_aaa/public.t.csv");
	archive_entry_set_size(e, (la_int64_t)(piece * npieces));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	for (size_t i = 0; i < npieces; i++) {
		rows[0] = i == 0 ? 'a' : '0';
		assert_int_equal(archive_write_data(a, rows, piece),
		    (la_ssize_t)piece);
	}
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	free(rows);

	before = max_rss();
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	if (sb_bundle_verify_chunks(fd, NAME, &trust_hq, 1, &plan, NULL,
	    &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		fail();
	}
	close(fd);
	after = max_rss();
	/* Buffers of a few MiB at most, never the entry. */
	if (after - before > 32 * 1024) {
		fprintf(stderr, "peak RSS grew by %ld KiB\n", after - before);
		fail();
	}
	assert_int_equal(plan.nentries, 2);
	assert_int_equal(plan.entries[0].n, 0);
	assert_true(plan.entries[1].n <= SB_CHUNKS_MAX);
	assert_true(plan.entries[1].n > SB_CHUNKS_MAX / 100 * 99);
	assert_int_equal(plan.size, sb_chunk_size(1, strlen(script) +
	    piece * npieces));
	sb_chunk_plan_release(&plan);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_bundle),
		cmocka_unit_test(test_streaming_pass),
		cmocka_unit_test(test_untrusted_key),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_head_refusals),
		cmocka_unit_test(test_entry_refusals),
		cmocka_unit_test(test_content_refusals),
		cmocka_unit_test(test_unpacked_size),
		cmocka_unit_test(test_stops_after_error),
		cmocka_unit_test(test_flat_memory),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
