/* Root files and the trust rules of src/common/root.c and trust.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/trust.h"
#include "tmpdir.h"

#define NKEYS	6
#define FAR	4102444800LL	/* 2100-01-01 */

static EVP_PKEY *priv[NKEYS];
static struct sb_pubkey pub[NKEYS];

static int
setup(void **state)
{
	unsigned char seed[32];
	size_t len = SB_PUBKEY_LEN;

	(void)state;
	if (tmpdir_make("root") == -1)
		return -1;
	for (int i = 0; i < NKEYS; i++) {
		memset(seed, 'a' + i, sizeof(seed));
		priv[i] = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
		    seed, sizeof(seed));
		if (priv[i] == NULL || EVP_PKEY_get_raw_public_key(priv[i],
		    pub[i].raw, &len) != 1)
			return -1;
		sb_key_id(pub[i].raw, pub[i].id);
		pub[i].path = NULL;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NKEYS; i++)
		EVP_PKEY_free(priv[i]);
	tmpdir_remove();
	return 0;
}

static void
sign(int k, const void *msg, size_t len, struct sb_sig *sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = SB_SIG_LEN;

	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, priv[k]), 1);
	assert_int_equal(EVP_DigestSign(md, sig->sig, &n, msg, len), 1);
	EVP_MD_CTX_free(md);
	memcpy(sig->id, pub[k].id, SB_KEYID_HEX);
}

/*
 * A root of keys[] (indexes, -1 ends) signed by signers[] (-1 ends),
 * parsed back from its text.
 */
static void
make_root(struct sb_root *r, unsigned long long version, unsigned threshold,
    const int *keys, const int *signers)
{
	struct sb_pubkey ks[NKEYS];
	struct sb_err err = SB_ERR_INIT;
	struct sb_sig sig;
	char *text;
	size_t n = 0, len;

	for (; keys[n] != -1; n++)
		ks[n] = pub[keys[n]];
	assert_int_equal(sb_root_format(version, FAR, threshold, ks, n, &text,
	    &len, &err), 0);
	assert_int_equal(sb_root_parse(r, text, len, "r", &err), 0);
	for (size_t i = 0; signers[i] != -1; i++) {
		sign(signers[i], r->text, r->signed_len, &sig);
		if (sb_root_add_sig(r, &sig, &err) == -1) {
			/* A repeat: written by hand, as an attacker would. */
			text = sb_printf("%.*s%.*s", (int)r->len, r->text,
			    (int)(strchr(strstr(r->text, "Signature: "), '\n') -
			    strstr(r->text, "Signature: ") + 1),
			    strstr(r->text, "Signature: "));
			sb_root_release(r);
			assert_int_equal(sb_root_parse(r, text, strlen(text),
			    "r", &err), 0);
		}
	}
	text = sb_malloc(r->len + 1);
	memcpy(text, r->text, r->len + 1);
	len = r->len;
	sb_root_release(r);
	assert_int_equal(sb_root_parse(r, text, len, "r", &err), 0);
}

static void
test_format_and_parse(void **state)
{
	struct sb_root r;
	const int keys[] = { 0, 1, 2, -1 }, signers[] = { 0, 2, -1 };

	(void)state;
	make_root(&r, 7, 2, keys, signers);
	assert_int_equal(r.version, 7);
	assert_int_equal(r.threshold, 2);
	assert_int_equal(r.nkeys, 3);
	assert_int_equal(r.nsigs, 2);
	assert_string_equal(r.expires_text, "2100-01-01T00:00:00Z");
	assert_int_equal(r.expires, FAR);
	assert_memory_equal(r.keys[1].raw, pub[1].raw, SB_PUBKEY_LEN);
	assert_string_equal(r.sigs[1].id, pub[2].id);
	assert_true(strncmp(r.text, "Format: sqlbundle-root 1\nVersion: 7\n"
	    "Expires: 2100-01-01T00:00:00Z\nThreshold: 2\nKey: ", 79) == 0);
	assert_int_equal(r.text[r.signed_len], '\n');
	assert_int_equal(sb_root_verify(&r, &(struct sb_err)SB_ERR_INIT), 0);
	sb_root_release(&r);
}

static void
expect_parse_error(const char *text, const char *msg)
{
	struct sb_root r;
	struct sb_err err = SB_ERR_INIT;
	char *copy = sb_strdup(text);

	assert_int_equal(sb_root_parse(&r, copy, strlen(copy), "r", &err), -1);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err.msg, msg);
}

static void
test_parse_refusals(void **state)
{
	struct sb_root r;
	const int keys[] = { 0, -1 }, none[] = { -1 };
	char *good, *t;

	(void)state;
	make_root(&r, 1, 1, keys, none);
	good = sb_strdup(r.text);
	sb_root_release(&r);
	expect_parse_error("Format: sqlbundle-root 2\n", "line 1: expected "
	    "\"Format: sqlbundle-root 1\"");
	expect_parse_error("", "expected \"Format");
	t = sb_printf("%.*s", (int)strlen(good) - 1, good);
	expect_parse_error(t, "no blank line after the keys");
	free(t);
	expect_parse_error("Format: sqlbundle-root 1\nVersion: 01\n",
	    "line 2: expected \"Version: N\"");
	expect_parse_error("Format: sqlbundle-root 1\nVersion: 1\n"
	    "Expires: 2023-02-29T00:00:00Z\n", "line 3: expected \"Expires");
	expect_parse_error("Format: sqlbundle-root 1\nVersion: 1\n"
	    "Expires: 2030-01-01T00:00:00Z\nThreshold: 0\n",
	    "line 4: number out of range");
	expect_parse_error("Format: sqlbundle-root 1\r\n", "control character");
	/* Threshold above the keys; a key id that is not its key's. */
	t = sb_strdup(good);
	*strstr(t, "Threshold: 1") = '\0';
	{
		char *u = sb_printf("%sThreshold: 2%s", t, strstr(good,
		    "\nKey:"));

		expect_parse_error(u, "threshold 2 is more than its 1 keys");
		free(u);
	}
	free(t);
	t = sb_strdup(good);
	strstr(t, "Key: ")[5] = strstr(t, "Key: ")[5] == '0' ? '1' : '0';
	expect_parse_error(t, "key id does not match the key");
	free(t);
	/* Base64 with stray bits, and a duplicate key. */
	t = sb_strdup(good);
	{
		char *eq = strstr(t, "=\n");

		static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789+/";

		/* The last digit's low bits are padding: flip one. */
		eq[-1] = b64[(strchr(b64, eq[-1]) - b64) ^ 1];
		expect_parse_error(t, "not a base64 DER Ed25519 public key");
	}
	free(t);
	{
		char *k = strstr(good, "Key: "), *nl = strchr(k, '\n');
		char *u = sb_printf("%.*s%.*s\n", (int)(nl + 1 - good), good,
		    (int)(nl + 1 - k), k);

		expect_parse_error(u, "duplicate key");
		free(u);
	}
	t = sb_printf("%sSignature: %s AAAA\n", good, pub[0].id);
	expect_parse_error(t, "signature is not 64 bytes in base64");
	free(t);
	free(good);
}

static void
test_time_parse(void **state)
{
	long long t;

	(void)state;
	assert_int_equal(sb_time_parse("1970-01-01", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(sb_time_parse("2024-02-29T23:59:59Z", &t), 0);
	assert_int_equal(t, 1709251199LL);
	assert_int_equal(sb_time_parse("2023-02-29", &t), -1);
	assert_int_equal(sb_time_parse("2030-01-01T00:00:00", &t), -1);
	assert_int_equal(sb_time_parse("2030-1-01", &t), -1);
	assert_int_equal(sb_time_parse("2030-01-01T24:00:00Z", &t), -1);
	assert_int_equal(sb_time_parse("+030-01-01", &t), -1);
}

/* A trust holding root 1: keys 0, 1, 2, threshold 2. */
static void
trust_v1(struct sb_trust *t)
{
	struct sb_root r;
	struct sb_err err = SB_ERR_INIT;
	const int keys[] = { 0, 1, 2, -1 }, signers[] = { 0, 1, -1 };

	*t = (struct sb_trust)SB_TRUST_INIT;
	t->now = 1700000000;
	make_root(&r, 1, 2, keys, signers);
	assert_int_equal(sb_trust_accept(t, &r, true, &err), 0);
	sb_root_release(&r);
	assert_int_equal(t->threshold, 2);
	assert_int_equal(t->n, 3);
}

static void
expect_accept(struct sb_trust *t, const int *keys, const int *signers,
    unsigned long long version, const char *msg)
{
	struct sb_root r;
	struct sb_err err = SB_ERR_INIT;
	int rc;

	make_root(&r, version, 2, keys, signers);
	rc = sb_trust_accept(t, &r, false, &err);
	sb_root_release(&r);
	if (msg == NULL) {
		if (rc != 0)
			fail_msg("refused: %s", err.msg);
		return;
	}
	assert_int_equal(rc, -1);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err.msg, msg);
}

static void
test_rotation(void **state)
{
	struct sb_trust t;
	const int new_keys[] = { 3, 4, 5, -1 };
	const int only_new[] = { 3, 4, -1 }, only_old[] = { 0, 1, -1 };
	const int twice[] = { 0, 0, 3, 4, -1 }, both[] = { 0, 2, 3, 5, -1 };
	const int outside[] = { 0, 3, 4, -1 };

	(void)state;
	trust_v1(&t);
	expect_accept(&t, new_keys, only_new, 2,
	    "version 2 signed by 0 of the keys in force, 2 needed");
	expect_accept(&t, new_keys, only_old, 2,
	    "version 2 signed by 0 of its own keys, 2 needed");
	expect_accept(&t, new_keys, twice, 2,
	    "version 2 signed by 1 of the keys in force, 2 needed");
	/* Key 3 signs for the new root, not for the old one. */
	expect_accept(&t, new_keys, outside, 2,
	    "version 2 signed by 1 of the keys in force, 2 needed");
	expect_accept(&t, new_keys, both, 3, "version 3 does not follow");
	expect_accept(&t, new_keys, both, 2, NULL);
	assert_int_equal(t.root->version, 2);
	assert_non_null(sb_trust_find(&t, pub[5].id));
	assert_null(sb_trust_find(&t, pub[0].id));
	assert_int_equal(t.npending, 2);
	expect_accept(&t, new_keys, both, 1, "refusing a rollback");
	expect_accept(&t, new_keys, both, 2, "version 2 is not newer");
	sb_trust_release(&t);
}

static void
test_bundle_threshold_and_expiry(void **state)
{
	struct sb_trust t;
	struct sb_err err = SB_ERR_INIT;
	struct sb_sig s[3];
	enum sb_sig_status st[3];
	static const char msg[] = "MANIFEST bytes";

	(void)state;
	trust_v1(&t);
	sign(0, msg, sizeof(msg), &s[0]);
	sign(0, msg, sizeof(msg), &s[1]);
	sign(5, msg, sizeof(msg), &s[2]);
	assert_int_equal(sb_trust_check(&t, "b", "bundle", msg, sizeof(msg), s,
	    3, st, &err), -1);
	assert_string_equal(err.msg, "b: bundle signed by 1 trusted key, 2 "
	    "needed");
	assert_int_equal(st[0], SB_SIG_GOOD);
	assert_int_equal(st[1], SB_SIG_REPEAT);
	assert_int_equal(st[2], SB_SIG_UNKNOWN);
	sign(2, msg, sizeof(msg), &s[2]);
	assert_int_equal(sb_trust_check(&t, "b", "bundle", msg, sizeof(msg), s,
	    3, st, &err), 0);
	/* A bad signature by a key of the root is refused outright. */
	s[1].sig[0] ^= 1;
	assert_int_equal(sb_trust_check(&t, "b", "bundle", msg, sizeof(msg), s,
	    3, st, &err), -1);
	assert_string_equal(err.msg, "b: bad signature");
	s[1].sig[0] ^= 1;
	t.now = FAR;
	assert_int_equal(sb_trust_check(&t, "b", "bundle", msg, sizeof(msg), s,
	    3, st, &err), -1);
	assert_non_null(strstr(err.msg, "expired at 2100-01-01T00:00:00Z"));
	sb_trust_release(&t);
}

static void
write_root(const char *path, const struct sb_root *r)
{
	struct sb_err err = SB_ERR_INIT;

	unlink(path);
	assert_int_equal(sb_write_file_atomic(path, r->text, r->len, 0644,
	    &err), 0);
}

/* A run that loaded version 1 does not overwrite a version 3 on disk. */
static void
test_store_never_goes_back(void **state)
{
	struct sb_trust t;
	struct sb_root r1, r2, r3;
	struct sb_err err = SB_ERR_INIT;
	const int keys[] = { 0, 1, 2, -1 }, signers[] = { 0, 1, -1 };
	char *dir = sb_printf("%s/store", tmpdir), *file, *hist, *text;
	size_t len;

	(void)state;
	assert_int_equal(mkdir(dir, 0755), 0);
	file = sb_printf("%s/root", dir);
	hist = sb_printf("%s/roots/2.root", dir);
	make_root(&r1, 1, 2, keys, signers);
	make_root(&r2, 2, 2, keys, signers);
	make_root(&r3, 3, 2, keys, signers);
	write_root(file, &r1);
	assert_int_equal(sb_trust_load(&t, dir, &err), 0);
	assert_int_equal(sb_trust_accept(&t, &r2, false, &err), 0);
	write_root(file, &r3);
	assert_int_equal(sb_trust_store(&t, &err), 0);
	assert_int_equal(sb_read_file(file, SB_ROOT_MAX, &text, &len, &err), 0);
	assert_true(strstr(text, "Version: 3\n") != NULL);
	free(text);
	assert_int_equal(access(hist, F_OK), -1);
	/* Without the newer one on disk, version 2 lands, history first. */
	write_root(file, &r1);
	assert_int_equal(sb_trust_store(&t, &err), 0);
	assert_int_equal(sb_read_file(file, SB_ROOT_MAX, &text, &len, &err), 0);
	assert_true(strstr(text, "Version: 2\n") != NULL);
	free(text);
	assert_int_equal(access(hist, F_OK), 0);
	sb_trust_release(&t);
	sb_root_release(&r1);
	sb_root_release(&r2);
	sb_root_release(&r3);
	free(hist);
	free(file);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_parse),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_bundle_threshold_and_expiry),
		cmocka_unit_test(test_store_never_goes_back),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
