/*
 * SHA-256, Ed25519 signature verification and trusted public keys: the one
 * common module that talks to OpenSSL (public keys only, nothing secret).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/fs.h"

/* A PEM public key is a few hundred bytes; anything larger is not one. */
#define PUBKEY_FILE_MAX	(64 * 1024)
#define HASH_BUF	(256 * 1024)

struct sb_sha256 {
	EVP_MD_CTX	*ctx;
};

/* OpenSSL reports through a thread-local queue: take its last reason. */
static void
openssl_detail(struct sb_err *err)
{
	unsigned long e, last = 0;
	char buf[256];

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last != 0) {
		ERR_error_string_n(last, buf, sizeof(buf));
		sb_err_detail(err, "%s", buf);
	}
}

/* The digest functions cannot fail for SHA-256 short of a broken library. */
static void
sha_abort(const char *what)
{
	fprintf(stderr, "sqlbundle: OpenSSL %s failed\n", what);
	abort();
}

struct sb_sha256 *
sb_sha256_new(void)
{
	struct sb_sha256 *s = sb_malloc(sizeof(*s));

	if ((s->ctx = EVP_MD_CTX_new()) == NULL) {
		free(s);
		return NULL;
	}
	if (EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1)
		sha_abort("SHA-256 init");
	return s;
}

void
sb_sha256_update(struct sb_sha256 *s, const void *buf, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(s->ctx, buf, len) != 1)
		sha_abort("SHA-256 update");
}

void
sb_sha256_final(struct sb_sha256 *s, unsigned char md[SB_SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(s->ctx, md, &n) != 1 || n != SB_SHA256_LEN)
		sha_abort("SHA-256 final");
	if (EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1)
		sha_abort("SHA-256 init");
}

void
sb_sha256_final_hex(struct sb_sha256 *s, char hex[SB_SHA256_HEX])
{
	unsigned char md[SB_SHA256_LEN];

	sb_sha256_final(s, md);
	sb_hex(md, SB_SHA256_LEN, hex);
}

void
sb_sha256_free(struct sb_sha256 *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->ctx);
	free(s);
}

void
sb_sha256_hex(const void *buf, size_t len, char hex[SB_SHA256_HEX])
{
	unsigned char md[SB_SHA256_LEN];

	if (EVP_Digest(buf, len, md, NULL, EVP_sha256(), NULL) != 1)
		sha_abort("SHA-256");
	sb_hex(md, SB_SHA256_LEN, hex);
}

int
sb_sha256_file(const char *path, char hex[SB_SHA256_HEX],
    unsigned long long *size, struct sb_err *err)
{
	struct sb_sha256 *s = NULL;
	unsigned char *buf = NULL;
	unsigned long long total = 0;
	ssize_t r;
	int fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return sb_err_sys(err, "could not open \"%s\"", path);
	if ((s = sb_sha256_new()) == NULL) {
		sb_err_set(err, SB_EIO, "out of memory hashing \"%s\"", path);
		goto out;
	}
	buf = sb_malloc(HASH_BUF);
	for (;;) {
		if ((r = sb_read_full(fd, buf, HASH_BUF)) == -1) {
			sb_err_sys(err, "could not read \"%s\"", path);
			goto out;
		}
		if (r == 0)
			break;
		sb_sha256_update(s, buf, (size_t)r);
		total += (unsigned long long)r;
	}
	sb_sha256_final_hex(s, hex);
	if (size != NULL)
		*size = total;
	ret = 0;
out:
	free(buf);
	sb_sha256_free(s);
	close(fd);
	return ret;
}

void
sb_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void
sb_key_id(const unsigned char raw[SB_PUBKEY_LEN], char id[SB_KEYID_HEX])
{
	char hex[SB_SHA256_HEX];

	sb_sha256_hex(raw, SB_PUBKEY_LEN, hex);
	memcpy(id, hex, SB_KEYID_HEX - 1);
	id[SB_KEYID_HEX - 1] = '\0';
}

int
sb_pubkey_load(struct sb_pubkey *key, const char *path, struct sb_err *err)
{
	char *text = NULL;
	size_t len = 0, rawlen = SB_PUBKEY_LEN;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int ret = -1;

	memset(key, 0, sizeof(*key));
	if (sb_read_file(path, PUBKEY_FILE_MAX, &text, &len, err) == -1)
		return -1;
	ERR_clear_error();
	if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL) {
		sb_err_set(err, SB_EIO, "out of memory reading \"%s\"", path);
		goto out;
	}
	if ((pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		sb_err_set(err, SB_EINVALID,
		    "\"%s\" is not a PEM public key", path);
		openssl_detail(err);
		sb_err_hint(err, "expected the output of "
		    "\"openssl pkey -pubout\" for an Ed25519 key");
		goto out;
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		sb_err_set(err, SB_EINVALID,
		    "\"%s\" is not an Ed25519 public key (found %s)", path,
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(pkey, key->raw, &rawlen) != 1 ||
	    rawlen != SB_PUBKEY_LEN) {
		sb_err_set(err, SB_EINVALID,
		    "could not read the public key bytes of \"%s\"", path);
		openssl_detail(err);
		goto out;
	}
	sb_key_id(key->raw, key->id);
	key->path = sb_strdup(path);
	ret = 0;
out:
	if (ret == -1)
		memset(key, 0, sizeof(*key));
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	free(text);
	return ret;
}

void
sb_pubkey_release(struct sb_pubkey *key)
{
	if (key == NULL)
		return;
	free(key->path);
	memset(key, 0, sizeof(*key));
}

int
sb_sig_verify(const struct sb_pubkey *key, const void *msg, size_t len,
    const unsigned char sig[SB_SIG_LEN])
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	int ret = -1;

	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->raw,
	    SB_PUBKEY_LEN);
	if (pkey == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* Ed25519 is one-shot: no digest, the whole message at once. */
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
		goto out;
	if (EVP_DigestVerify(ctx, sig, SB_SIG_LEN, msg, len) == 1)
		ret = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ret;
}
