/* Unit tests for src/pack/keys.c: key generation, loading, signing. */
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

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"
#include "sqlbundle/fs.h"
#include "pack/keys.h"
#include "tmpdir.h"

/* A fixed test-only key, its key id and its signature of MSG (openssl). */
static const char ED_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIBFIL//Bu0k2IO23lNf4+5hRhMLL5qaaM+u5mwupFje+\n"
    "-----END PRIVATE KEY-----\n";
static const char ED_PUB[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAFxDY+SIRhNaDQNSmSCftYucrwr8TJS7++AV5YfRYc34=\n"
    "-----END PUBLIC KEY-----\n";
#define ED_ID	"64358e574458e2c7"
#define MSG	"hello manifest\n"
#define MSG_SIG	"9215166e99f4974f2a87a926b5fd16e74098a2d3ab7f260e8a504ef36434d2a6" \
		"0ee29f2e9b360cd025e8b1557fd9da214f864d28004c4fbe23b858b013ce900f"
/* openssl genpkey -algorithm ed25519 -aes256 -pass pass:x */
static const char ENC_KEY[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAja9DHg6/IfkwICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEHeoBjAgdXb5+so7UDjrVRgEQMGV\n"
    "WV7MyfS5ZNcOQ7EJn+cAM2VKDgQTCu1ukwvwfQeHrbDYth8EbsxKlZ26MIDHKwGR\n"
    "pIVHuLAxq7DzfWBPr/E=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";
/* openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 */
static const char EC_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdsNGPx6RfqktiXqv\n"
    "ZIr6tZLhXWeKjJEK0O+YmJfkGPChRANCAARt722secrhibIP4ZCAjUAsv5KHfLl6\n"
    "LtqeaeLa1XByt1iTHnlBndai1HbIxWg0z+aMZZhit2O1ZvQmZnGbZNta\n"
    "-----END PRIVATE KEY-----\n";

static int
setup(void **state)
{
	(void)state;
	umask(022);
	return tmpdir_make("keys");
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_remove();
	return 0;
}

/* Write a file of the given mode under tmpdir; returns its path. */
static char *
put(const char *name, const char *text, mode_t mode)
{
	struct sb_err err = SB_ERR_INIT;
	char *path = sb_printf("%s/%s", tmpdir, name);

	unlink(path);
	assert_int_equal(sb_write_file_atomic(path, text, strlen(text), 0600,
	    &err), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static char *
slurp(const char *path)
{
	struct sb_err err = SB_ERR_INIT;
	char *buf = NULL;
	size_t len;

	assert_int_equal(sb_read_file(path, 1 << 16, &buf, &len, &err), 0);
	return buf;
}

static void
unhex(const char *hex, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

/* Load path and expect a refusal whose message is want. */
static void
load_refused(const char *path, const char *want)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_privkey *key = (struct sb_privkey *)&err;

	assert_int_equal(sb_privkey_load(&key, path, &err), -1);
	assert_null(key);
	assert_int_equal(err.code, SB_EINVALID);
	assert_string_equal(err.msg, want);
}

static void
test_known_key_signs_like_openssl(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_privkey *key = NULL;
	unsigned char sig[SB_SIG_LEN], want[SB_SIG_LEN];
	char *path = put("fixed.key", ED_KEY, 0600);

	(void)state;
	assert_int_equal(sb_privkey_load(&key, path, &err), 0);
	assert_string_equal(sb_privkey_id(key), ED_ID);
	assert_int_equal(sb_privkey_sign(key, MSG, strlen(MSG), sig, &err), 0);
	unhex(MSG_SIG, want, SB_SIG_LEN);
	/* Ed25519 is deterministic: the very bytes openssl pkeyutl made. */
	assert_memory_equal(sig, want, SB_SIG_LEN);
	sb_privkey_free(key);
	/* Read-only for the owner is as private as 0600. */
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(sb_privkey_load(&key, path, &err), 0);
	sb_privkey_free(key);
	free(path);
}

static void
test_keygen_writes_pair(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_privkey *key = NULL;
	struct sb_pubkey pub;
	unsigned char sig[SB_SIG_LEN];
	char id[SB_KEYID_HEX], *keydir = sb_printf("%s/keys", tmpdir);
	char *keypath = sb_printf("%s/hq.key", keydir);
	char *pubpath = sb_printf("%s/hq.pub", keydir);
	char *text;
	struct stat st;

	(void)state;
	memset(&pub, 0, sizeof(pub));
	/* keys/ does not exist yet: created. */
	assert_int_equal(sb_keygen(keydir, "hq", id, &err), 0);
	assert_int_equal(strlen(id), 16);
	assert_int_equal(lstat(keypath, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(lstat(pubpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	text = slurp(keypath);
	assert_true(strncmp(text, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	free(text);
	text = slurp(pubpath);
	assert_true(strncmp(text, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
	free(text);

	/* The public half verifies what the private half signs. */
	assert_int_equal(sb_pubkey_load(&pub, pubpath, &err), 0);
	assert_string_equal(pub.id, id);
	assert_int_equal(sb_privkey_load(&key, keypath, &err), 0);
	assert_string_equal(sb_privkey_id(key), id);
	assert_memory_equal(sb_privkey_public(key), pub.raw, SB_PUBKEY_LEN);
	assert_int_equal(sb_privkey_sign(key, MSG, strlen(MSG), sig, &err), 0);
	assert_int_equal(sb_sig_verify(&pub, MSG, strlen(MSG), sig), 0);
	assert_int_equal(sb_sig_verify(&pub, "hello manifest!", 15, sig), -1);
	sb_privkey_free(key);
	sb_pubkey_release(&pub);
	free(keydir);
	free(keypath);
	free(pubpath);
}

static void
test_keygen_refuses_overwrite(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	char id[SB_KEYID_HEX], *keydir = sb_printf("%s/keys2", tmpdir);
	char *keypath = sb_printf("%s/a.key", keydir);
	char *pubpath = sb_printf("%s/a.pub", keydir), *before, *after, *want;
	struct stat st;

	(void)state;
	assert_int_equal(sb_keygen(keydir, "a", id, &err), 0);
	before = slurp(keypath);
	assert_int_equal(sb_keygen(keydir, "a", id, &err), -1);
	assert_int_equal(err.code, SB_EINVALID);
	want = sb_printf("\"%s\" already exists; refusing to overwrite it",
	    keypath);
	assert_string_equal(err.msg, want);
	free(want);
	after = slurp(keypath);
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* Only the .pub left: still refused, and no .key appears. */
	assert_int_equal(unlink(keypath), 0);
	assert_int_equal(sb_keygen(keydir, "a", id, &err), -1);
	want = sb_printf("\"%s\" already exists; refusing to overwrite it",
	    pubpath);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(lstat(keypath, &st), -1);
	free(keydir);
	free(keypath);
	free(pubpath);
}

static void
test_keygen_bad_names(void **state)
{
	static const char *bad[] = { "", "a/b", "../x", ".hidden", "a b",
	    "caf\xc3\xa9", "x\n" };
	struct sb_err err = SB_ERR_INIT;
	char id[SB_KEYID_HEX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sb_keygen(tmpdir, bad[i], id, &err), -1);
		assert_int_equal(err.code, SB_EUSAGE);
		assert_non_null(strstr(err.msg, "invalid key name"));
	}
	assert_true(sb_key_name_valid("hq-2025.v1_a"));
	assert_false(sb_key_name_valid("0123456789012345678901234567890123456789"
	    "012345678901234567890123456789"));
}

static void
test_refuses_open_modes(void **state)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0620, 0602, 0610 };
	char *path, *want;

	(void)state;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		path = put("open.key", ED_KEY, modes[i]);
		want = sb_printf("private key \"%s\" is accessible by other "
		    "users (mode %04o); chmod 600 it", path, (unsigned)modes[i]);
		load_refused(path, want);
		free(want);
		free(path);
	}
}

static void
test_refuses_symlink(void **state)
{
	char *path = put("real.key", ED_KEY, 0600);
	char *link = sb_printf("%s/link.key", tmpdir), *want;

	(void)state;
	assert_int_equal(symlink(path, link), 0);
	want = sb_printf("private key \"%s\" is a symbolic link; refusing it "
	    "(give the key file itself)", link);
	load_refused(link, want);
	free(want);
	free(link);
	free(path);
}

static void
test_refuses_encrypted(void **state)
{
	struct sb_err err = SB_ERR_INIT;
	struct sb_privkey *key = NULL;
	char *path = put("enc.key", ENC_KEY, 0600), *want;

	(void)state;
	want = sb_printf("private key \"%s\" is encrypted; sqlbundle never "
	    "asks for a password", path);
	load_refused(path, want);
	free(want);
	assert_int_equal(sb_privkey_load(&key, path, &err), -1);
	assert_non_null(strstr(err.hint, "openssl pkey"));
	free(path);
}

static void
test_refuses_other_types(void **state)
{
	char *path = put("ec.key", EC_KEY, 0600), *want;

	(void)state;
	want = sb_printf("private key \"%s\" is not an Ed25519 key (it is EC)",
	    path);
	load_refused(path, want);
	free(want);
	free(path);
	/* A public key is not a private key, and is named as such. */
	path = put("pub.key", ED_PUB, 0600);
	want = sb_printf("\"%s\" is a public key; --key takes the private "
	    "key (NAME.key) it belongs to", path);
	{
		struct sb_err err = SB_ERR_INIT;
		struct sb_privkey *key = NULL;

		assert_int_equal(sb_privkey_load(&key, path, &err), -1);
		assert_int_equal(err.code, SB_EINVALID);
		assert_string_equal(err.msg, want);
	}
	free(want);
	free(path);
}

static void
test_refuses_non_regular(void **state)
{
	char *dir = sb_printf("%s/dir.key", tmpdir);
	char *fifo = sb_printf("%s/fifo.key", tmpdir), *want;
	struct sb_err err = SB_ERR_INIT;
	struct sb_privkey *key = NULL;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	want = sb_printf("private key \"%s\" is not a regular file", dir);
	load_refused(dir, want);
	free(want);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* Must not block waiting for a writer. */
	want = sb_printf("private key \"%s\" is not a regular file", fifo);
	load_refused(fifo, want);
	free(want);
	assert_int_equal(sb_privkey_load(&key, "/nonexistent/x.key", &err),
	    -1);
	assert_int_equal(err.code, SB_EIO);
	assert_string_equal(err.msg, "could not open private key "
	    "\"/nonexistent/x.key\": No such file or directory");
	free(dir);
	free(fifo);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_key_signs_like_openssl),
		cmocka_unit_test(test_keygen_writes_pair),
		cmocka_unit_test(test_keygen_refuses_overwrite),
		cmocka_unit_test(test_keygen_bad_names),
		cmocka_unit_test(test_refuses_open_modes),
		cmocka_unit_test(test_refuses_symlink),
		cmocka_unit_test(test_refuses_encrypted),
		cmocka_unit_test(test_refuses_other_types),
		cmocka_unit_test(test_refuses_non_regular),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
