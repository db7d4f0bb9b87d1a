/* Unit tests for src/common/crypto.c: digests, keys, signatures, trust. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/trust.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "tmpdir.h"

/* RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2. */
static const char rfc_pub1[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc_sig1[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
static const char rfc_pub2[] =
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
static const char rfc_sig2[] =
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

static void
unhex(const char *hex, unsigned char *out)
{
	for (size_t i = 0; hex[2 * i] != '\0'; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

static int
setup(void **state)
{
	(void)state;
	return tmpdir_make("crypto");
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_remove();
	return 0;
}

static char *
tmp_path(const char *name)
{
	return sb_printf("%s/%s", tmpdir, name);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Generate a key of the given OpenSSL type; write its public PEM to path. */
static EVP_PKEY *
gen_key(const char *type, const char *path)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, type);
	FILE *f;

	assert_non_null(pkey);
	if (path != NULL) {
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
		assert_int_equal(fclose(f), 0);
	}
	return pkey;
}

/* The key id computed independently: SHA256(raw)[:16] in hex. */
static void
expected_id(EVP_PKEY *pkey, unsigned char raw[32], char id[17])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t len = 32;

	assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, raw, &len), 1);
	assert_int_equal(len, 32);
	SHA256(raw, 32, md);
	for (int i = 0; i < 8; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
}

static void
test_sha256_vectors(void **state)
{
	char hex[SB_SHA256_HEX];
	struct sb_sha256 *s;
	const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	(void)state;
	sb_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	sb_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	/* Streaming in uneven pieces gives the one-shot digest. */
	s = sb_sha256_new();
	assert_non_null(s);
	sb_sha256_update(s, msg, 5);
	sb_sha256_update(s, msg + 5, 0);
	sb_sha256_update(s, msg + 5, strlen(msg) - 5);
	sb_sha256_final_hex(s, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
	/* final resets the context. */
	sb_sha256_update(s, "abc", 3);
	sb_sha256_final_hex(s, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	sb_sha256_free(s);
	sb_sha256_free(NULL);
}

static void
test_sha256_file(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	char hex[SB_SHA256_HEX], want[SB_SHA256_HEX];
	unsigned long long size = 0;
	char *path = tmp_path("big"), *missing = tmp_path("missing");
	unsigned char *buf = malloc(1000003);
	FILE *f;

	(void)state;
	/* Larger than the read buffer, not a multiple of it. */
	for (size_t i = 0; i < 1000003; i++)
		buf[i] = (unsigned char)(i * 7);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, 1000003, f), 1000003);
	assert_int_equal(fclose(f), 0);
	sb_sha256_hex(buf, 1000003, want);
	assert_int_equal(sb_sha256_file(path, hex, &size, &err), 0);
	assert_string_equal(hex, want);
	assert_int_equal(size, 1000003);

	assert_int_equal(sb_sha256_file(missing, hex, NULL, &err), -1);
	assert_int_equal(err.code, SB_EIO);
	free(path);
	path = sb_printf("could not open \"%s\": No such file or directory",
	    missing);
	assert_string_equal(err.msg, path);
	free(path);
	free(missing);
	free(buf);
}

static void
test_hex(void **state)
{
	const unsigned char in[] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[9];

	(void)state;
	sb_hex(in, sizeof(in), out);
	assert_string_equal(out, "000fa5ff");
}

static void
test_sig_verify_rfc8032(void **state)
{
	struct sb_pubkey key;
	unsigned char sig[64];
	const unsigned char msg2[] = { 0x72 };

	(void)state;
	memset(&key, 0, sizeof(key));
	unhex(rfc_pub1, key.raw);
	unhex(rfc_sig1, sig);
	assert_int_equal(sb_sig_verify(&key, "", 0, sig), 0);
	/* One flipped bit in the signature, or another message, fails. */
	sig[10] ^= 0x01;
	assert_int_equal(sb_sig_verify(&key, "", 0, sig), -1);
	sig[10] ^= 0x01;
	assert_int_equal(sb_sig_verify(&key, "x", 1, sig), -1);

	unhex(rfc_pub2, key.raw);
	unhex(rfc_sig2, sig);
	assert_int_equal(sb_sig_verify(&key, msg2, 1, sig), 0);
	/* The right signature under the wrong key fails. */
	unhex(rfc_pub1, key.raw);
	assert_int_equal(sb_sig_verify(&key, msg2, 1, sig), -1);
}

static void
test_key_id(void **state)
{
	unsigned char raw[32], md[SHA256_DIGEST_LENGTH];
	char id[SB_KEYID_HEX], want[17];

	(void)state;
	unhex(rfc_pub1, raw);
	SHA256(raw, 32, md);
	for (int i = 0; i < 8; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	sb_key_id(raw, id);
	assert_string_equal(id, want);
	assert_int_equal(strlen(id), 16);
}

static void
test_pubkey_load(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_pubkey key;
	unsigned char raw[32], sig[64];
	char id[17];
	char *path = tmp_path("hq.pub");
	EVP_PKEY *pkey = gen_key("ED25519", path);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = sizeof(sig);

	(void)state;
	expected_id(pkey, raw, id);
	assert_int_equal(sb_pubkey_load(&key, path, &err), 0);
	assert_memory_equal(key.raw, raw, 32);
	assert_string_equal(key.id, id);
	assert_string_equal(key.path, path);

	/* A signature made by OpenSSL with the private half verifies. */
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen,
	    (const unsigned char *)"manifest", 8), 1);
	assert_int_equal(siglen, 64);
	assert_int_equal(sb_sig_verify(&key, "manifest", 8, sig), 0);
	assert_int_equal(sb_sig_verify(&key, "manifesT", 8, sig), -1);
	sb_pubkey_release(&key);
	assert_null(key.path);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	free(path);
}

static void
test_pubkey_refusals(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_pubkey key;
	char *x = tmp_path("x25519.pub"), *junk = tmp_path("junk.pub");
	char *priv = tmp_path("priv.pub"), *missing = tmp_path("none.pub");
	char *want;
	EVP_PKEY *pkey;
	FILE *f;

	(void)state;
	/* Another key type, with a well-formed PEM. */
	pkey = gen_key("X25519", x);
	EVP_PKEY_free(pkey);
	assert_int_equal(sb_pubkey_load(&key, x, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	want = sb_printf("\"%s\" is not an Ed25519 public key (found X25519)",
	    x);
	assert_string_equal(err.msg, want);
	free(want);

	write_text(junk, "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n"
	    "-----END PUBLIC KEY-----\n");
	assert_int_equal(sb_pubkey_load(&key, junk, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	want = sb_printf("\"%s\" is not a PEM public key", junk);
	assert_string_equal(err.msg, want);
	free(want);

	/* A private key where a public one belongs is not read as one. */
	pkey = gen_key("ED25519", NULL);
	f = fopen(priv, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL,
	    NULL), 1);
	assert_int_equal(fclose(f), 0);
	EVP_PKEY_free(pkey);
	assert_int_equal(sb_pubkey_load(&key, priv, &err), -1);
	want = sb_printf("\"%s\" is not a PEM public key", priv);
	assert_string_equal(err.msg, want);
	free(want);

	assert_int_equal(sb_pubkey_load(&key, missing, &err), -1);
	assert_int_equal(err.code, SB_EIO);
	want = sb_printf("could not open \"%s\": No such file or directory",
	    missing);
	assert_string_equal(err.msg, want);
	free(want);
	free(x);
	free(junk);
	free(priv);
	free(missing);
}

static void
test_trust_file_and_folder(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_trust trust = SB_TRUST_INIT;
	unsigned char raw[32];
	char id_a[17], id_b[17];
	char *dir = tmp_path("trusted.d"), *a, *b, *other;
	EVP_PKEY *ka, *kb;

	(void)state;
	assert_int_equal(mkdir(dir, 0755), 0);
	a = sb_printf("%s/a.pub", dir);
	b = sb_printf("%s/b.pub", dir);
	ka = gen_key("ED25519", a);
	kb = gen_key("ED25519", b);
	expected_id(ka, raw, id_a);
	expected_id(kb, raw, id_b);
	/* Files that are not *.pub are ignored, even if not keys. */
	other = sb_printf("%s/README", dir);
	write_text(other, "not a key\n");
	free(other);
	other = sb_printf("%s/c.pub.bak", dir);
	write_text(other, "not a key\n");
	free(other);

	assert_int_equal(sb_trust_load(&trust, dir, &err), 0);
	assert_int_equal(trust.n, 2);
	assert_non_null(sb_trust_find(&trust, id_a));
	assert_string_equal(sb_trust_find(&trust, id_a)->path, a);
	assert_string_equal(sb_trust_find(&trust, id_b)->path, b);
	assert_null(sb_trust_find(&trust, "0000000000000000"));
	sb_trust_release(&trust);
	assert_int_equal(trust.n, 0);

	/* One file, named explicitly. */
	assert_int_equal(sb_trust_load(&trust, b, &err), 0);
	assert_int_equal(trust.n, 1);
	assert_null(sb_trust_find(&trust, id_a));
	assert_non_null(sb_trust_find(&trust, id_b));
	sb_trust_release(&trust);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	free(a);
	free(b);
	free(dir);
}

static void
test_trust_refusals(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_trust trust = SB_TRUST_INIT;
	char *empty = tmp_path("empty.d"), *nopub = tmp_path("nopub.d");
	char *bad = tmp_path("bad.d"), *missing = tmp_path("missing.d");
	char *f, *want;
	EVP_PKEY *k;

	(void)state;
	assert_int_equal(mkdir(empty, 0755), 0);
	assert_int_equal(sb_trust_load(&trust, empty, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	want = sb_printf("no trusted keys in \"%s\"", empty);
	assert_string_equal(err.msg, want);
	free(want);

	assert_int_equal(mkdir(nopub, 0755), 0);
	f = sb_printf("%s/hq.key", nopub);
	write_text(f, "whatever\n");
	free(f);
	assert_int_equal(sb_trust_load(&trust, nopub, &err), -1);
	want = sb_printf("no trusted keys in \"%s\"", nopub);
	assert_string_equal(err.msg, want);
	free(want);

	/* One good key and one bad .pub: the bad one is named, nothing kept. */
	assert_int_equal(mkdir(bad, 0755), 0);
	f = sb_printf("%s/a.pub", bad);
	k = gen_key("ED25519", f);
	EVP_PKEY_free(k);
	free(f);
	f = sb_printf("%s/b.pub", bad);
	write_text(f, "garbage\n");
	assert_int_equal(sb_trust_load(&trust, bad, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	want = sb_printf("\"%s\" is not a PEM public key", f);
	assert_string_equal(err.msg, want);
	assert_null(trust.keys);
	assert_int_equal(trust.n, 0);
	free(want);
	free(f);

	assert_int_equal(sb_trust_load(&trust, missing, &err), -1);
	assert_int_equal(err.code, SB_EIO);
	want = sb_printf("could not read trusted keys \"%s\": No such file or "
	    "directory", missing);
	assert_string_equal(err.msg, want);
	free(want);
	free(empty);
	free(nopub);
	free(bad);
	free(missing);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_file),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_sig_verify_rfc8032),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_pubkey_load),
		cmocka_unit_test(test_pubkey_refusals),
		cmocka_unit_test(test_trust_file_and_folder),
		cmocka_unit_test(test_trust_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
