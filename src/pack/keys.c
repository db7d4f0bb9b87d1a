/*
 * Ed25519 key generation, private-key loading and signing: the only code
 * that touches a private key (OpenSSL, kept apart from the applier).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sqlbundle/fs.h"
#include "cmd.h"
#include "hygiene.h"
#include "keys.h"
#include "pkcs11.h"
#include "opts.h"

/* A PEM Ed25519 key is about 120 bytes; anything huge is not a key. */
#define KEY_FILE_MAX	(64 * 1024)

struct sb_privkey {
	EVP_PKEY	*pkey;
	struct sb_p11	*p11;		/* a key on a token, or NULL */
	unsigned char	 pub[SB_PUBKEY_LEN];
	char		 id[SB_KEYID_HEX];
};

/* Fill err from OpenSSL's error queue, which is emptied. */
static int
ossl_err(struct sb_err *err, int code, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	sb_err_set(err, code, "%s%s%s", what, reason ? ": " : "",
	    reason ? reason : "");
	ERR_clear_error();
	return -1;
}

bool
sb_key_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SB_KEY_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z') &&
		    !(name[i] >= 'A' && name[i] <= 'Z') &&
		    !(name[i] >= '0' && name[i] <= '9') && name[i] != '.' &&
		    name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

static int
refuse_existing(const char *path, struct sb_err *err)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return sb_err_set(err, SB_EINVALID,
		    "\"%s\" already exists; refusing to overwrite it", path);
	if (errno != ENOENT)
		return sb_err_sys(err, "could not stat \"%s\"", path);
	return 0;
}

int
sb_keygen(const char *keydir, const char *name, char id[SB_KEYID_HEX],
    struct sb_err *err)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *kbio = NULL, *pbio = NULL;
	char *keypath = NULL, *pubpath = NULL, *kpem = NULL, *ppem = NULL;
	unsigned char pub[SB_PUBKEY_LEN];
	size_t publen = sizeof(pub);
	long klen = 0, plen;
	int ret = -1, key_written = 0;

	if (!sb_key_name_valid(name)) {
		sb_err_set(err, SB_EUSAGE, "invalid key name \"%s\"", name);
		sb_err_hint(err, "use 1 to %d characters of [A-Za-z0-9._-], "
		    "not starting with a dot", SB_KEY_NAME_MAX);
		return -1;
	}
	keypath = sb_printf("%s/%s.key", keydir, name);
	pubpath = sb_printf("%s/%s.pub", keydir, name);
	if (refuse_existing(keypath, err) == -1 ||
	    refuse_existing(pubpath, err) == -1)
		goto out;
	if (mkdir(keydir, 0755) == -1 && errno != EEXIST) {
		sb_err_sys(err, "could not create folder \"%s\"", keydir);
		goto out;
	}

	if ((pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(pctx) != 1 ||
	    EVP_PKEY_keygen(pctx, &pkey) != 1) {
		ossl_err(err, SB_EIO, "could not generate an Ed25519 key");
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 ||
	    publen != SB_PUBKEY_LEN) {
		ossl_err(err, SB_EIO, "could not read the public key");
		goto out;
	}
	/* Secure heap for the private PEM, cleansed when freed. */
	if ((kbio = BIO_new(BIO_s_secmem())) == NULL ||
	    (pbio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(kbio, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || PEM_write_bio_PUBKEY(pbio, pkey) != 1) {
		ossl_err(err, SB_EIO, "could not encode the key pair");
		goto out;
	}
	klen = BIO_get_mem_data(kbio, &kpem);
	plen = BIO_get_mem_data(pbio, &ppem);
	if (klen <= 0 || plen <= 0) {
		ossl_err(err, SB_EIO, "could not encode the key pair");
		goto out;
	}
	if (sb_create_durable(keypath, kpem, (size_t)klen, 0600, err) == -1)
		goto out;
	key_written = 1;
	if (sb_create_durable(pubpath, ppem, (size_t)plen, 0644, err) == -1)
		goto out;
	sb_key_id(pub, id);
	ret = 0;
out:
	if (ret == -1 && key_written) {
		unlink(keypath);
		unlink(pubpath);
	}
	if (kpem != NULL && klen > 0)
		OPENSSL_cleanse(kpem, (size_t)klen);
	BIO_free(kbio);
	BIO_free(pbio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(pctx);
	free(keypath);
	free(pubpath);
	return ret;
}

/* Never prompt: an encrypted key is refused, and we learn that it was. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)u = 1;
	return -1;
}

static int
refuse_encrypted(const char *path, struct sb_err *err)
{
	sb_err_set(err, SB_EINVALID, "private key \"%s\" is encrypted; "
	    "sqlbundle never asks for a password", path);
	sb_err_hint(err, "sign with an unencrypted key kept on a protected "
	    "machine (openssl pkey -in ENCRYPTED -out PLAIN; chmod 600 PLAIN)");
	return -1;
}

static int
refuse_symlink(const char *path, struct sb_err *err)
{
	return sb_err_set(err, SB_EINVALID, "private key \"%s\" is a symbolic "
	    "link; refusing it (give the key file itself)", path);
}

/* A key on a token: only its handle and public half come here. */
static int
p11_load(struct sb_privkey **keyp, const char *uri, struct sb_err *err)
{
	struct sb_privkey *key = sb_calloc(1, sizeof(*key));

	if (sb_p11_open(&key->p11, uri, key->pub, err) == -1) {
		free(key);
		return -1;
	}
	sb_key_id(key->pub, key->id);
	*keyp = key;
	return 0;
}

int
sb_privkey_load(struct sb_privkey **keyp, const char *path,
    struct sb_err *err)
{
	struct sb_privkey *key = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0, publen = SB_PUBKEY_LEN;
	ssize_t r;
	BIO *bio = NULL;
	int fd = -1, asked = 0, ret = -1;

	*keyp = NULL;
	if (sb_p11_is_uri(path))
		return p11_load(keyp, path, err);
	if (lstat(path, &st) == -1)
		return sb_err_sys(err, "could not open private key \"%s\"",
		    path);
	if (S_ISLNK(st.st_mode))
		return refuse_symlink(path, err);
	/* O_NOFOLLOW closes the race with lstat; O_NONBLOCK spares a FIFO. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			return refuse_symlink(path, err);
		return sb_err_sys(err, "could not open private key \"%s\"",
		    path);
	}
	if (fstat(fd, &st) == -1) {
		sb_err_sys(err, "could not stat private key \"%s\"", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		sb_err_set(err, SB_EINVALID,
		    "private key \"%s\" is not a regular file", path);
		goto out;
	}
	if (sb_hygiene_is_pubkey(fd)) {
		sb_err_set(err, SB_EINVALID, "\"%s\" is a public key; --key "
		    "takes the private key (NAME.key) it belongs to", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		sb_err_set(err, SB_EINVALID, "private key \"%s\" is accessible "
		    "by other users (mode %04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > KEY_FILE_MAX) {
		sb_err_set(err, SB_EINVALID, "private key \"%s\" is too large "
		    "to be a PEM key (%lld bytes)", path,
		    (long long)st.st_size);
		goto out;
	}
	cap = (size_t)st.st_size + 2;
	buf = sb_calloc(1, cap);
	if ((r = sb_read_full(fd, buf, cap - 1)) == -1) {
		sb_err_sys(err, "could not read private key \"%s\"", path);
		goto out;
	}
	len = (size_t)r;
	if (len + 1 >= cap) {
		sb_err_set(err, SB_EIO, "private key \"%s\" grew while being "
		    "read", path);
		goto out;
	}
	if (strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
	    strstr(buf, "Proc-Type: 4,ENCRYPTED") != NULL) {
		refuse_encrypted(path, err);
		goto out;
	}
	key = sb_calloc(1, sizeof(*key));
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		ossl_err(err, SB_EIO, "could not read private key");
		goto out;
	}
	key->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, &asked);
	if (key->pkey == NULL) {
		if (asked) {
			ERR_clear_error();
			refuse_encrypted(path, err);
		} else {
			char *what = sb_printf("private key \"%s\" could not "
			    "be read", path);

			ossl_err(err, SB_EINVALID, what);
			free(what);
			sb_err_hint(err, "expected an Ed25519 key in PEM, as "
			    "\"sqlbundle keygen\" writes");
		}
		goto out;
	}
	if (EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_ED25519) {
		const char *type = EVP_PKEY_get0_type_name(key->pkey);

		sb_err_set(err, SB_EINVALID, "private key \"%s\" is not an "
		    "Ed25519 key (it is %s)", path, type ? type : "unknown");
		goto out;
	}
	if (EVP_PKEY_get_raw_public_key(key->pkey, key->pub, &publen) != 1 ||
	    publen != SB_PUBKEY_LEN) {
		char *what = sb_printf("private key \"%s\": could not derive "
		    "its public key", path);

		ossl_err(err, SB_EINVALID, what);
		free(what);
		goto out;
	}
	sb_key_id(key->pub, key->id);
	*keyp = key;
	key = NULL;
	ret = 0;
out:
	sb_privkey_free(key);
	BIO_free(bio);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, cap);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return ret;
}

const char *
sb_privkey_id(const struct sb_privkey *key)
{
	return key->id;
}

const unsigned char *
sb_privkey_public(const struct sb_privkey *key)
{
	return key->pub;
}

int
sb_privkey_sign(const struct sb_privkey *key, const void *msg, size_t len,
    unsigned char sig[SB_SIG_LEN], struct sb_err *err)
{
	EVP_MD_CTX *md = NULL;
	size_t siglen = SB_SIG_LEN;
	int ret = -1;

	if (key->p11 != NULL)
		return sb_p11_sign(key->p11, msg, len, sig, err);
	/* Ed25519 hashes internally: no digest is named. */
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, NULL, NULL, key->pkey) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, msg, len) != 1 ||
	    siglen != SB_SIG_LEN) {
		ossl_err(err, SB_EIO, "could not sign the manifest");
		goto out;
	}
	ret = 0;
out:
	EVP_MD_CTX_free(md);
	return ret;
}

void
sb_privkey_free(struct sb_privkey *key)
{
	if (key == NULL)
		return;
	/* EVP_PKEY_free cleanses the private scalar. */
	EVP_PKEY_free(key->pkey);
	sb_p11_close(key->p11);
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
}

static void
keygen_usage(FILE *fp)
{
	fputs("Usage: sqlbundle keygen NAME\n"
	    "\n"
	    "Generate an Ed25519 signing key pair in the project's keys/ "
	    "folder:\n"
	    "  keys/NAME.key  private key (PKCS#8 PEM, mode 0600; keep it out "
	    "of git)\n"
	    "  keys/NAME.pub  public key (SubjectPublicKeyInfo PEM), for "
	    "--trust\n"
	    "and print the key id. Existing files are never overwritten.\n"
	    "NAME: 1-64 characters of [A-Za-z0-9._-].\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help   show this help and exit\n", fp);
}

int
sb_cmd_keygen(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char id[SB_KEYID_HEX], *keydir = NULL;
	int c, ret = -1;
	bool wrote;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			keygen_usage(stdout);
			return 0;
		default:
			return sb_cli_opt_error("keygen", c, argv, err);
		}
	}
	if (argc - optind != 1)
		return sb_err_set(err, SB_EUSAGE, "keygen: %s",
		    argc - optind == 0 ? "missing key NAME" :
		    "too many arguments");
	keydir = sb_ctx_path(ctx, "keys");
	if (sb_keygen(keydir, argv[optind], id, err) == 0) {
		printf("private key: %s/%s.key\n", keydir, argv[optind]);
		printf("public key:  %s/%s.pub\n", keydir, argv[optind]);
		printf("key id:      %s\n", id);
		ret = 0;
	}
	if (ret == 0 && (ret = sb_hygiene_gitignore(ctx->dir, keydir,
	    argv[optind], &wrote, err)) == 0 && wrote)
		printf("git ignores: %s/.gitignore (*.key)\n", keydir);
	free(keydir);
	return ret;
}
