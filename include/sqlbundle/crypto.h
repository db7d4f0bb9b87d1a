/*
 * SHA-256 and Ed25519 signature *verification* (OpenSSL lives behind this
 * header and src/common/crypto.c only). Signing is in src/pack/keys.c, so
 * the applier cannot link code that touches a private key.
 */
#ifndef SQLBUNDLE_CRYPTO_H
#define SQLBUNDLE_CRYPTO_H

#include <stddef.h>

#include "sqlbundle/err.h"

#define SB_SHA256_LEN	32
#define SB_SHA256_HEX	65	/* 64 hex digits and a NUL */
#define SB_SIG_LEN	64
#define SB_PUBKEY_LEN	32
#define SB_KEYID_HEX	17	/* 16 hex digits and a NUL */

struct sb_sha256;		/* opaque streaming context */

/* Returns NULL only on allocation failure. */
struct sb_sha256 *sb_sha256_new(void);
void	sb_sha256_update(struct sb_sha256 *ctx, const void *buf, size_t len);
/* Writes the 32 digest bytes; the context is reset. */
void	sb_sha256_final(struct sb_sha256 *ctx, unsigned char md[SB_SHA256_LEN]);
/* Writes the digest as 64 lowercase hex digits; the context is reset. */
void	sb_sha256_final_hex(struct sb_sha256 *ctx, char hex[SB_SHA256_HEX]);
void	sb_sha256_free(struct sb_sha256 *ctx);
/* One-shot helpers. */
void	sb_sha256_hex(const void *buf, size_t len, char hex[SB_SHA256_HEX]);
/* Hash a whole file, streaming; -1 and err on I/O failure. */
int	sb_sha256_file(const char *path, char hex[SB_SHA256_HEX],
	    unsigned long long *size, struct sb_err *err);
void	sb_hex(const unsigned char *in, size_t len, char *out /* 2*len+1 */);

struct sb_pubkey {
	unsigned char	raw[SB_PUBKEY_LEN];
	char		id[SB_KEYID_HEX];	/* sha256(raw)[:16] */
	char		*path;			/* owned */
};

/* Load a PEM SubjectPublicKeyInfo Ed25519 key. */
int	sb_pubkey_load(struct sb_pubkey *key, const char *path,
	    struct sb_err *err);
void	sb_pubkey_release(struct sb_pubkey *key);
/* Key id of raw public-key bytes. */
void	sb_key_id(const unsigned char raw[SB_PUBKEY_LEN],
	    char id[SB_KEYID_HEX]);
/* 0 if sig is a valid signature of msg under key, -1 otherwise. */
int	sb_sig_verify(const struct sb_pubkey *key, const void *msg, size_t len,
	    const unsigned char sig[SB_SIG_LEN]);

#endif
