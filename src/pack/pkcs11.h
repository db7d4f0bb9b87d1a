/*
 * Ed25519 signing through a PKCS#11 module (a token or an HSM), named by
 * an RFC 7512 URI: the private key never leaves the token. The module is
 * loaded with dlopen and called directly (C_Sign with CKM_EDDSA): the
 * OpenSSL engine of Debian 12 cannot use Ed25519 keys.
 */
#ifndef SQLBUNDLE_PACK_PKCS11_H
#define SQLBUNDLE_PACK_PKCS11_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"

#define SB_P11_SCHEME	"pkcs11:"

struct sb_p11;		/* an open session on the key's token */

/* True if ref is a pkcs11: URI rather than a file name. */
bool	sb_p11_is_uri(const char *ref);
/*
 * Open the key the URI names: path attributes token, object (label), id
 * (percent-encoded bytes), type (must be private when given); query
 * attributes module-path (required), pin-value or pin-source (a file,
 * "file:" prefix allowed, whose first line is the PIN). Exactly one
 * Ed25519 private key must match, with its public key beside it (same
 * label and id). Fills raw with the public key. Messages never show the
 * PIN.
 */
int	sb_p11_open(struct sb_p11 **p, const char *uri,
	    unsigned char raw[SB_PUBKEY_LEN], struct sb_err *err);
/* Sign msg in one call (Ed25519 signs in one shot). */
int	sb_p11_sign(struct sb_p11 *p, const void *msg, size_t len,
	    unsigned char sig[SB_SIG_LEN], struct sb_err *err);
/* Log out, close and unload; NULL is fine. */
void	sb_p11_close(struct sb_p11 *p);

#endif
