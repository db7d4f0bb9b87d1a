/*
 * Trust: which keys may sign, and how many must. A trust folder holds
 * either a signed root (a threshold of keys, a version and an expiry,
 * rotated by signed successors) or only .pub files (any one key signs).
 * Every rule both programs must agree on lives here and in root.c.
 */
#ifndef SQLBUNDLE_TRUST_H
#define SQLBUNDLE_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/err.h"

#define SB_ROOT_FILE	"root"		/* the root in force, in a folder */
#define SB_ROOT_HISTORY	"roots"		/* every accepted root, N.root */
#define SB_ROOT_MAX	(64 * 1024)	/* a root file is at most this */
#define SB_ROOT_KEYS_MAX 64
#define SB_SIGS_MAX	32		/* signatures on one bundle or root */

/* One signature over a message, named by the key id that made it. */
struct sb_sig {
	char		id[SB_KEYID_HEX];
	unsigned char	sig[SB_SIG_LEN];
};

/* How one signature counted. */
enum sb_sig_status {
	SB_SIG_GOOD,		/* by a trusted key, verifies: counts */
	SB_SIG_REPEAT,		/* a key that already counted */
	SB_SIG_UNKNOWN		/* by a key outside the policy: ignored */
};

/*
 * A root (docs/DESIGN.md "Trust roots"): text lines "Name: value",
 * then a blank line, then "Signature: KEYID BASE64" lines. The bytes
 * before the blank line are what is signed.
 */
struct sb_root {
	unsigned long long version;
	long long	 expires;		/* seconds since 1970, UTC */
	char		 expires_text[32];	/* YYYY-MM-DDTHH:MM:SSZ */
	unsigned	 threshold;
	struct sb_pubkey *keys;			/* path: the root's file */
	size_t		 nkeys;
	struct sb_sig	*sigs;
	size_t		 nsigs;
	char		*text;			/* the whole file */
	size_t		 len;
	size_t		 signed_len;		/* text[0, signed_len) */
	char		*path;			/* for messages */
};

#define SB_ROOT_INIT { 0, 0, "", 0, NULL, 0, NULL, 0, NULL, 0, 0, NULL }

/*
 * Parse a root file's bytes (taken over: text is the root's on success
 * and freed on failure). name is used in messages. Nothing is verified.
 */
int	sb_root_parse(struct sb_root *r, char *text, size_t len,
	    const char *name, struct sb_err *err);
/* Read and parse the root file at path (at most SB_ROOT_MAX bytes). */
int	sb_root_load(struct sb_root *r, const char *path, struct sb_err *err);
/* True if the bytes start like a root file (not a .pub). */
bool	sb_root_sniff(const char *text, size_t len);
/*
 * The text of an unsigned root: keys (no duplicates, 1 to
 * SB_ROOT_KEYS_MAX), 1 <= threshold <= nkeys, version >= 1. Malloc'd.
 */
int	sb_root_format(unsigned long long version, long long expires,
	    unsigned threshold, const struct sb_pubkey *keys, size_t nkeys,
	    char **text, size_t *len, struct sb_err *err);
/*
 * Append a signature line to r->text (r->sigs grows too). A key that
 * already signed is refused.
 */
int	sb_root_add_sig(struct sb_root *r, const struct sb_sig *sig,
	    struct sb_err *err);
/*
 * Check that r is signed by a threshold of its own keys (each key once;
 * a bad signature by one of them is refused). Expiry is not checked.
 */
int	sb_root_verify(const struct sb_root *r, struct sb_err *err);
#define SB_SPKI_B64_LEN	60
/*
 * The base64 of the DER SubjectPublicKeyInfo of an Ed25519 key: a root's
 * Key value, and the one line between the PEM lines of its .pub.
 */
void	sb_pubkey_spki_b64(const unsigned char raw[SB_PUBKEY_LEN],
	    char out[SB_SPKI_B64_LEN + 1]);
/* Parse "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
int	sb_time_parse(const char *s, long long *t);
void	sb_time_format(long long t, char out[32]);
void	sb_root_release(struct sb_root *r);

/*
 * The policy in force: keys and how many distinct ones must sign. With
 * a root, its keys and threshold; without one, every .pub file of the
 * folder (or the one file named) and a threshold of 1.
 */
struct sb_trust {
	struct sb_pubkey	*keys;
	size_t			 n;
	unsigned		 threshold;
	struct sb_root		*root;		/* in force, or NULL */
	char			*dir;		/* the trust folder, or NULL */
	char			*path;		/* what was loaded */
	long long		 now;		/* fixed once, at load */
	struct sb_root		*pending;	/* accepted, not yet stored */
	size_t			 npending;
};

#define SB_TRUST_INIT { NULL, 0, 1, NULL, NULL, NULL, 0, NULL, 0 }

/*
 * Load the policy from path: a folder (its root file when there is one,
 * else its .pub files), a root file, or one .pub file. A folder and
 * what it holds must pass the ownership and mode rules (trust_check).
 */
int	sb_trust_load(struct sb_trust *trust, const char *path,
	    struct sb_err *err);
/*
 * A folder for `trust update`: like sb_trust_load, but a folder that
 * holds no key yet is fine (provisioning).
 */
int	sb_trust_load_dir(struct sb_trust *trust, const char *dir,
	    struct sb_err *err);
/*
 * The ownership and mode rules (OpenSSH StrictModes): path is not a
 * symbolic link, is a folder (dir) or a regular file, is owned by root
 * or by the effective user, and is not writable by group or others.
 */
int	sb_trust_strict(const char *path, bool dir, struct sb_err *err);
/* The key with this id, or NULL. */
const struct sb_pubkey *sb_trust_find(const struct sb_trust *trust,
	    const char *key_id);
/*
 * Count the signatures of msg: each key of the policy counts once.
 * status (n entries, may be NULL) says how each one counted. A
 * signature by a key of the policy that does not verify is refused
 * ("WHAT: bad signature"); so is a count below the threshold ("WHAT:
 * NOUN signed by ..."), and a root in force that has expired. what
 * names the file, noun the message ("bundle").
 */
int	sb_trust_check(const struct sb_trust *trust, const char *what,
	    const char *noun, const void *msg, size_t len, const struct sb_sig *sigs, size_t n,
	    enum sb_sig_status *status, struct sb_err *err);
/*
 * Accept root r (taken over on success) as the next policy: its version
 * exactly one above the root in force, signed by a threshold of the
 * keys in force and a threshold of its own. With no root in force, a
 * first root is accepted when signed to its own threshold and, if the
 * policy has keys (.pub files) and tofu is false, by one of them.
 * Expiry is not checked here (a store long offline walks expired
 * intermediate roots); sb_trust_check checks the one in force.
 */
int	sb_trust_accept(struct sb_trust *trust, struct sb_root *r, bool tofu,
	    struct sb_err *err);
/*
 * Write the roots accepted since load into the trust folder: each as
 * roots/N.root, then the last as the root file, each durably (temp,
 * fsync, rename, fsync of the folder). Nothing to do without any, or
 * when the trust is a file; versions not above the root file on disk
 * now (another run stored a newer one) are not written.
 */
int	sb_trust_store(struct sb_trust *trust, struct sb_err *err);
/* One line describing the policy in force ("root version 3: 2 of ..."). */
char	*sb_trust_describe(const struct sb_trust *trust);
/* "good", "repeat" (counted once already) or "unknown" (not counted). */
const char *sb_sig_status_word(enum sb_sig_status st);
void	sb_trust_release(struct sb_trust *trust);

#endif
