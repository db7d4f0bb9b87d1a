/*
 * A PKCS#11 Ed25519 signer (pkcs11.h): RFC 7512 URI parsing, then the
 * module's own functions, C_Initialize to C_Sign with CKM_EDDSA. Only
 * sqlbundle links this file; p11-kit's pkcs11.h gives the declarations.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <p11-kit/pkcs11.h>

#include "sqlbundle/fs.h"
#include "pkcs11.h"

#define ATTR_MAX	1024
#define PIN_MAX		256
#define IDS_MAX		256

struct p11_uri {
	char		*token, *object, *type, *module, *pin_value, *pin_source;
	unsigned char	 id[IDS_MAX];
	size_t		 idlen;
	bool		 has_id;
};

struct sb_p11 {
	void			*dl;
	CK_FUNCTION_LIST_PTR	 f;
	CK_SESSION_HANDLE	 session;
	CK_OBJECT_HANDLE	 key;
	bool			 initialized, open, logged_in;
	unsigned char		 pub[SB_PUBKEY_LEN];
	char			*name;		/* URI without the PIN */
};

bool
sb_p11_is_uri(const char *ref)
{
	return strncmp(ref, SB_P11_SCHEME, strlen(SB_P11_SCHEME)) == 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0, n) into out (cap bytes); -1 on a bad escape. */
static ssize_t
pct_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n ||
			    (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (o == cap)
			return -1;
		out[o++] = (unsigned char)c;
	}
	return (ssize_t)o;
}

/* A text attribute: decoded, NUL-ended, no NUL inside. */
static int
text_attr(const char *v, size_t n, char **out, const char *name,
    struct sb_err *err)
{
	unsigned char buf[ATTR_MAX];
	ssize_t len = pct_decode(v, n, buf, sizeof(buf) - 1);

	if (len < 0 || memchr(buf, '\0', (size_t)len) != NULL)
		return sb_err_set(err, SB_EUSAGE, "pkcs11 URI: bad value of "
		    "\"%s\"", name);
	if (*out != NULL)
		return sb_err_set(err, SB_EUSAGE, "pkcs11 URI: \"%s\" given "
		    "twice", name);
	buf[len] = '\0';
	*out = sb_strdup((char *)buf);
	return 0;
}

static int
uri_attr(struct p11_uri *u, const char *a, size_t n, bool query,
    struct sb_err *err)
{
	const char *eq = memchr(a, '=', n);
	size_t k, vn;
	ssize_t len;

	if (n == 0)
		return 0;
	if (eq == NULL)
		return sb_err_set(err, SB_EUSAGE, "pkcs11 URI: attribute "
		    "\"%.*s\" has no value", (int)(n > 64 ? 64 : n), a);
	k = (size_t)(eq - a);
	vn = n - k - 1;
#define IS(name) (k == strlen(name) && memcmp(a, name, k) == 0)
	if (!query && IS("token"))
		return text_attr(eq + 1, vn, &u->token, "token", err);
	if (!query && IS("object"))
		return text_attr(eq + 1, vn, &u->object, "object", err);
	if (!query && IS("type"))
		return text_attr(eq + 1, vn, &u->type, "type", err);
	if (!query && IS("id")) {
		len = pct_decode(eq + 1, vn, u->id, sizeof(u->id));
		if (len < 0 || u->has_id)
			return sb_err_set(err, SB_EUSAGE, "pkcs11 URI: bad "
			    "value of \"id\"");
		u->idlen = (size_t)len;
		u->has_id = true;
		return 0;
	}
	if (query && IS("module-path"))
		return text_attr(eq + 1, vn, &u->module, "module-path", err);
	if (query && IS("pin-value"))
		return text_attr(eq + 1, vn, &u->pin_value, "pin-value", err);
	if (query && IS("pin-source"))
		return text_attr(eq + 1, vn, &u->pin_source, "pin-source", err);
#undef IS
	/* RFC 7512: unknown attributes make the URI match nothing. */
	return sb_err_set(err, SB_EUSAGE, "pkcs11 URI: unsupported attribute "
	    "\"%.*s\"", (int)(k > 64 ? 64 : k), a);
}

static void
uri_release(struct p11_uri *u)
{
	free(u->token);
	free(u->object);
	free(u->type);
	free(u->module);
	if (u->pin_value != NULL) {
		memset(u->pin_value, 0, strlen(u->pin_value));
		free(u->pin_value);
	}
	free(u->pin_source);
	memset(u, 0, sizeof(*u));
}

static int
uri_parse(struct p11_uri *u, const char *uri, struct sb_err *err)
{
	const char *p = uri + strlen(SB_P11_SCHEME), *end;
	bool query = false;

	memset(u, 0, sizeof(*u));
	while (*p != '\0') {
		end = p + strcspn(p, query ? "&" : ";?");
		if (uri_attr(u, p, (size_t)(end - p), query, err) == -1)
			return -1;
		if (*end == '?') {
			if (query)
				return sb_err_set(err, SB_EUSAGE, "pkcs11 "
				    "URI: two '?'");
			query = true;
		}
		p = *end != '\0' ? end + 1 : end;
	}
	if (u->module == NULL) {
		sb_err_set(err, SB_EUSAGE, "pkcs11 URI: no module-path");
		sb_err_hint(err, "add ?module-path=/usr/lib/softhsm/"
		    "libsofthsm2.so (the token's PKCS#11 module)");
		return -1;
	}
	if (u->object == NULL && !u->has_id)
		return sb_err_set(err, SB_EUSAGE, "pkcs11 URI: name the key "
		    "with object= or id=");
	if (u->type != NULL && strcmp(u->type, "private") != 0)
		return sb_err_set(err, SB_EUSAGE, "pkcs11 URI: type=%s cannot "
		    "sign (type=private)", u->type);
	if (u->pin_value != NULL && u->pin_source != NULL)
		return sb_err_set(err, SB_EUSAGE, "pkcs11 URI: pin-value and "
		    "pin-source both given");
	return 0;
}

/* The URI as shown in messages: everything but the query. */
static char *
uri_name(const char *uri)
{
	return sb_printf("%.*s", (int)strcspn(uri, "?"), uri);
}

static int
ck_err(struct sb_p11 *p, CK_RV rv, const char *what, struct sb_err *err)
{
	sb_err_set(err, SB_EINVALID, "%s: %s failed (PKCS#11 error 0x%lx)",
	    p->name, what, (unsigned long)rv);
	if (rv == CKR_PIN_INCORRECT)
		sb_err_detail(err, "the PIN is wrong");
	else if (rv == CKR_PIN_LOCKED)
		sb_err_detail(err, "the PIN is locked");
	return -1;
}

/* The PIN: pin-value, else the first line of pin-source, else none. */
static int
read_pin(const struct p11_uri *u, char pin[PIN_MAX], struct sb_err *err)
{
	const char *path = u->pin_source;
	char *text = NULL;
	size_t len = 0;

	pin[0] = '\0';
	if (u->pin_value != NULL) {
		if (strlen(u->pin_value) >= PIN_MAX)
			return sb_err_set(err, SB_EUSAGE, "pkcs11 URI: PIN "
			    "too long");
		strcpy(pin, u->pin_value);
		return 0;
	}
	if (path == NULL)
		return 0;
	if (strncmp(path, "file:", 5) == 0)
		path += 5;
	if (sb_read_file(path, PIN_MAX - 1, &text, &len, err) == -1)
		return sb_err_prefix(err, "pkcs11 pin-source");
	len = strcspn(text, "\r\n");
	memcpy(pin, text, len);
	pin[len] = '\0';
	memset(text, 0, strlen(text));
	free(text);
	return 0;
}

/* PKCS#11 pads labels with spaces to 32 bytes. */
static bool
label_is(const unsigned char *field, size_t size, const char *want)
{
	size_t n = strlen(want);

	if (n > size || memcmp(field, want, n) != 0)
		return false;
	for (size_t i = n; i < size; i++)
		if (field[i] != ' ')
			return false;
	return true;
}

static int
find_slot(struct sb_p11 *p, const struct p11_uri *u, CK_SLOT_ID *slot,
    struct sb_err *err)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_TOKEN_INFO ti;
	CK_RV rv;
	size_t found = 0;

	if ((rv = p->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return ck_err(p, rv, "C_GetSlotList", err);
	for (CK_ULONG i = 0; i < n; i++) {
		if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (u->token != NULL && !label_is(ti.label, sizeof(ti.label),
		    u->token))
			continue;
		if (found++ == 0)
			*slot = slots[i];
	}
	if (found == 0)
		return sb_err_set(err, SB_EINVALID, "%s: no token%s%s%s",
		    p->name, u->token ? " labelled \"" : "",
		    u->token ? u->token : "", u->token ? "\"" : "");
	if (found > 1)
		return sb_err_set(err, SB_EINVALID, "%s: %zu tokens match; "
		    "name one with token=", p->name, found);
	return 0;
}

/* The one object of class cls matching the URI's label and id. */
static int
find_object(struct sb_p11 *p, const struct p11_uri *u, CK_OBJECT_CLASS cls,
    CK_OBJECT_HANDLE *obj, struct sb_err *err)
{
	CK_KEY_TYPE kt = CKK_EC_EDWARDS;
	CK_ATTRIBUTE t[4];
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0, nt = 0;
	CK_RV rv;
	const char *what = cls == CKO_PRIVATE_KEY ? "private" : "public";

	t[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[nt++] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
	if (u->object != NULL)
		t[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, u->object,
		    strlen(u->object) };
	if (u->has_id)
		t[nt++] = (CK_ATTRIBUTE){ CKA_ID, (void *)u->id, u->idlen };
	if ((rv = p->f->C_FindObjectsInit(p->session, t, nt)) != CKR_OK)
		return ck_err(p, rv, "C_FindObjectsInit", err);
	rv = p->f->C_FindObjects(p->session, found, 2, &n);
	p->f->C_FindObjectsFinal(p->session);
	if (rv != CKR_OK)
		return ck_err(p, rv, "C_FindObjects", err);
	if (n == 0) {
		sb_err_set(err, SB_EINVALID, "%s: no Ed25519 %s key matches",
		    p->name, what);
		sb_err_hint(err, "list the token's objects with \"pkcs11-tool "
		    "--module MODULE --login --list-objects\"");
		if (!p->logged_in && cls == CKO_PRIVATE_KEY)
			sb_err_detail(err, "no PIN given (pin-value or "
			    "pin-source): a token shows its private keys only "
			    "after login");
		return -1;
	}
	if (n > 1)
		return sb_err_set(err, SB_EINVALID, "%s: several Ed25519 %s "
		    "keys match; add id= or object=", p->name, what);
	*obj = found[0];
	return 0;
}

/* CKA_EC_POINT of an Ed25519 key: 32 bytes, or a DER OCTET STRING of them. */
static int
read_public(struct sb_p11 *p, CK_OBJECT_HANDLE pub, struct sb_err *err)
{
	unsigned char buf[64];
	CK_ATTRIBUTE a = { CKA_EC_POINT, buf, sizeof(buf) };
	CK_RV rv;

	if ((rv = p->f->C_GetAttributeValue(p->session, pub, &a, 1)) != CKR_OK)
		return ck_err(p, rv, "C_GetAttributeValue(CKA_EC_POINT)", err);
	if (a.ulValueLen == SB_PUBKEY_LEN)
		memcpy(p->pub, buf, SB_PUBKEY_LEN);
	else if (a.ulValueLen == SB_PUBKEY_LEN + 2 && buf[0] == 0x04 &&
	    buf[1] == SB_PUBKEY_LEN)
		memcpy(p->pub, buf + 2, SB_PUBKEY_LEN);
	else
		return sb_err_set(err, SB_EINVALID, "%s: the public key is not "
		    "an Ed25519 point (%lu bytes)", p->name,
		    (unsigned long)a.ulValueLen);
	return 0;
}

static int
load_module(struct sb_p11 *p, const char *module, struct sb_err *err)
{
	CK_C_GetFunctionList get;
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	/* NODELETE: a module may keep state past C_Finalize (SoftHSM does). */
	if ((p->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) ==
	    NULL) {
		sb_err_set(err, SB_EINVALID, "%s: could not load PKCS#11 "
		    "module \"%s\"", p->name, module);
		sb_err_detail(err, "%s", dlerror());
		return -1;
	}
	*(void **)&get = dlsym(p->dl, "C_GetFunctionList");
	if (get == NULL)
		return sb_err_set(err, SB_EINVALID, "%s: \"%s\" is not a "
		    "PKCS#11 module (no C_GetFunctionList)", p->name, module);
	if ((rv = get(&p->f)) != CKR_OK)
		return ck_err(p, rv, "C_GetFunctionList", err);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	if ((rv = p->f->C_Initialize(&args)) != CKR_OK)
		return ck_err(p, rv, "C_Initialize", err);
	p->initialized = true;
	return 0;
}

int
sb_p11_open(struct sb_p11 **pp, const char *uri,
    unsigned char raw[SB_PUBKEY_LEN], struct sb_err *err)
{
	struct sb_p11 *p = sb_calloc(1, sizeof(*p));
	struct p11_uri u;
	CK_OBJECT_HANDLE pub;
	CK_SLOT_ID slot = 0;
	CK_RV rv;
	char pin[PIN_MAX];
	int ret = -1;

	*pp = NULL;
	p->name = uri_name(uri);
	pin[0] = '\0';
	if (uri_parse(&u, uri, err) == -1 || read_pin(&u, pin, err) == -1 ||
	    load_module(p, u.module, err) == -1 ||
	    find_slot(p, &u, &slot, err) == -1)
		goto out;
	if ((rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &p->session)) != CKR_OK) {
		ck_err(p, rv, "C_OpenSession", err);
		goto out;
	}
	p->open = true;
	if (pin[0] != '\0') {
		rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR)pin,
		    strlen(pin));
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
			ck_err(p, rv, "C_Login", err);
			goto out;
		}
		p->logged_in = rv == CKR_OK;
	}
	if (find_object(p, &u, CKO_PRIVATE_KEY, &p->key, err) == -1 ||
	    find_object(p, &u, CKO_PUBLIC_KEY, &pub, err) == -1 ||
	    read_public(p, pub, err) == -1)
		goto out;
	memcpy(raw, p->pub, SB_PUBKEY_LEN);
	*pp = p;
	p = NULL;
	ret = 0;
out:
	memset(pin, 0, sizeof(pin));
	uri_release(&u);
	sb_p11_close(p);
	return ret;
}

int
sb_p11_sign(struct sb_p11 *p, const void *msg, size_t len,
    unsigned char sig[SB_SIG_LEN], struct sb_err *err)
{
	CK_MECHANISM mech = { CKM_EDDSA, NULL, 0 };
	CK_ULONG siglen = SB_SIG_LEN;
	struct sb_pubkey key;
	CK_RV rv;

	if ((rv = p->f->C_SignInit(p->session, &mech, p->key)) != CKR_OK)
		return ck_err(p, rv, "C_SignInit(CKM_EDDSA)", err);
	rv = p->f->C_Sign(p->session, (CK_BYTE_PTR)msg, len, sig, &siglen);
	if (rv != CKR_OK)
		return ck_err(p, rv, "C_Sign", err);
	if (siglen != SB_SIG_LEN)
		return sb_err_set(err, SB_EINVALID, "%s: signature of %lu "
		    "bytes, expected %d", p->name, (unsigned long)siglen,
		    SB_SIG_LEN);
	/* The token's public key must verify what its private key made. */
	memset(&key, 0, sizeof(key));
	memcpy(key.raw, p->pub, SB_PUBKEY_LEN);
	if (sb_sig_verify(&key, msg, len, sig) == -1)
		return sb_err_set(err, SB_EINVALID, "%s: the token's signature "
		    "does not verify under its public key", p->name);
	return 0;
}

void
sb_p11_close(struct sb_p11 *p)
{
	if (p == NULL)
		return;
	if (p->logged_in)
		p->f->C_Logout(p->session);
	if (p->open)
		p->f->C_CloseSession(p->session);
	if (p->initialized)
		p->f->C_Finalize(NULL);
	if (p->dl != NULL)
		dlclose(p->dl);
	free(p->name);
	free(p);
}
