/*
 * Ed25519 signing keys (SPEC section 3). keys.c is the only code that
 * touches a private key; the applier never links it.
 */
#ifndef SQLBUNDLE_PACK_KEYS_H
#define SQLBUNDLE_PACK_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"

#define SB_KEY_NAME_MAX	64

struct sb_privkey;		/* opaque; wiped when freed */

/* True if name is 1-64 bytes of [A-Za-z0-9._-], not starting with a dot. */
bool	sb_key_name_valid(const char *name);

/*
 * Generate a key pair: <keydir>/<name>.key (PKCS#8 PEM, created with
 * O_EXCL, mode 0600) and <keydir>/<name>.pub (SubjectPublicKeyInfo PEM,
 * mode 0644). keydir is created (0755) if missing. Refuses (SB_EINVALID)
 * when either file exists; leaves neither behind on failure. Fills the
 * key id.
 */
int	sb_keygen(const char *keydir, const char *name, char id[SB_KEYID_HEX],
	    struct sb_err *err);

/*
 * Load an unencrypted Ed25519 private key from a PEM file. Refuses
 * (SB_EINVALID) a symbolic link, anything but a regular file, a file
 * that group or others may read or write, an encrypted key (never
 * prompts), and any other key type. *key is NULL on failure.
 */
int	sb_privkey_load(struct sb_privkey **key, const char *path,
	    struct sb_err *err);
/* Key id of the key's public half (16 hex digits). */
const char *sb_privkey_id(const struct sb_privkey *key);
/* The raw public-key bytes. */
const unsigned char *sb_privkey_public(const struct sb_privkey *key);
/* Sign msg (pure Ed25519, no pre-hash): a 64-byte signature. */
int	sb_privkey_sign(const struct sb_privkey *key, const void *msg,
	    size_t len, unsigned char sig[SB_SIG_LEN], struct sb_err *err);
/* Wipe and free; NULL is fine. */
void	sb_privkey_free(struct sb_privkey *key);

#endif
