/*
 * The root file: a small text document an auditor reads with stock
 * tools (sed, grep, base64, openssl). Parsing is strict: one layout,
 * every line named, nothing else accepted.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/trust.h"

#define ROOT_FORMAT	"sqlbundle-root 1"
#define VERSION_MAX	999999999ULL
/* DER SubjectPublicKeyInfo of an Ed25519 key, before the 32 raw bytes. */
static const unsigned char spki_prefix[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
};
#define SPKI_LEN	(sizeof(spki_prefix) + SB_PUBKEY_LEN)	/* 44 */
#define SPKI_B64	60	/* 4 * ceil(44 / 3) */
#define SIG_B64		88	/* 4 * ceil(64 / 3) */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
b64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

/* Decode exactly the canonical encoding of want bytes, or fail. */
static bool
b64_decode(const char *in, size_t inlen, unsigned char *out, size_t want)
{
	char again[SIG_B64 + 1];
	size_t o = 0;
	unsigned v = 0;
	int bits = 0;

	if (inlen != 4 * ((want + 2) / 3) || inlen > SIG_B64)
		return false;
	for (size_t i = 0; i < inlen && in[i] != '='; i++) {
		const char *p = memchr(b64, in[i], 64);

		if (p == NULL || in[i] == '\0')
			return false;
		v = (v << 6) | (unsigned)(p - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o < want)
				out[o] = (unsigned char)(v >> bits);
			o++;
		}
	}
	if (o != want)
		return false;
	/* One spelling per value: no stray bits, no odd padding. */
	b64_encode(out, want, again);
	return memcmp(again, in, inlen) == 0;
}

static bool
is_hex_id(const char *s, size_t n)
{
	if (n != SB_KEYID_HEX - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return false;
	return true;
}

static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

int
sb_time_parse(const char *s, long long *t)
{
	unsigned y, mo, d, h = 0, mi = 0, se = 0;
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	char tail;
	size_t n = strlen(s);

	if (n == 10) {
		if (sscanf(s, "%4u-%2u-%2u%c", &y, &mo, &d, &tail) != 3)
			return -1;
	} else if (n == 20) {
		if (sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2uZ%c", &y, &mo, &d, &h,
		    &mi, &se, &tail) != 6 || s[19] != 'Z')
			return -1;
	} else {
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && i != 4 && i != 7 &&
		    i != 10 && i != 13 && i != 16 && i != 19)
			return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || se > 59)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0)))
		return -1;
	*t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return 0;
}

void
sb_time_format(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "@%lld", t);
}

bool
sb_root_sniff(const char *text, size_t len)
{
	static const char head[] = "Format: sqlbundle-root ";

	return len >= sizeof(head) - 1 &&
	    memcmp(text, head, sizeof(head) - 1) == 0;
}

/* The parser's cursor: one line at a time, numbered for messages. */
struct rp {
	const char	*text, *name;
	size_t		 len, off, lineno;
	const char	*line;
	size_t		 n;
	struct sb_err	*err;
};

static int
rp_line(struct rp *p)
{
	const char *nl;

	if (p->off >= p->len)
		return 0;
	p->line = p->text + p->off;
	if ((nl = memchr(p->line, '\n', p->len - p->off)) == NULL)
		return sb_err_set(p->err, SB_EINVALID, "root \"%s\", line "
		    "%zu: no newline at the end", p->name, p->lineno + 1);
	p->n = (size_t)(nl - p->line);
	p->off += p->n + 1;
	p->lineno++;
	if (memchr(p->line, '\0', p->n) != NULL || memchr(p->line, '\r',
	    p->n) != NULL)
		return sb_err_set(p->err, SB_EINVALID, "root \"%s\", line "
		    "%zu: control character", p->name, p->lineno);
	return 1;
}

static int
rp_fail(struct rp *p, const char *what)
{
	return sb_err_set(p->err, SB_EINVALID, "root \"%s\", line %zu: %s",
	    p->name, p->lineno, what);
}

/* The value of "Name: value" in the current line, or NULL. */
static const char *
rp_field(struct rp *p, const char *name, size_t *vlen)
{
	size_t k = strlen(name);

	if (p->n < k + 2 || memcmp(p->line, name, k) != 0 ||
	    p->line[k] != ':' || p->line[k + 1] != ' ')
		return NULL;
	*vlen = p->n - k - 2;
	return p->line + k + 2;
}

static int
rp_number(struct rp *p, const char *name, unsigned long long max,
    unsigned long long *out)
{
	const char *v;
	size_t vlen;
	char what[128];

	snprintf(what, sizeof(what), "expected \"%s: N\"", name);
	if (rp_line(p) != 1)
		return p->err->msg[0] ? -1 : rp_fail(p, what);
	if ((v = rp_field(p, name, &vlen)) == NULL || vlen == 0 || vlen > 9 ||
	    (v[0] == '0' && vlen > 1))
		return rp_fail(p, what);
	*out = 0;
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return rp_fail(p, what);
		*out = *out * 10 + (unsigned long long)(v[i] - '0');
	}
	if (*out < 1 || *out > max)
		return rp_fail(p, "number out of range");
	return 0;
}

static int
rp_key(struct rp *p, struct sb_root *r, const char *v, size_t vlen)
{
	unsigned char der[SPKI_LEN];
	struct sb_pubkey *k;
	const char *sp = memchr(v, ' ', vlen);

	if (sp == NULL || !is_hex_id(v, (size_t)(sp - v)))
		return rp_fail(p, "expected \"Key: KEYID BASE64\"");
	if (!b64_decode(sp + 1, vlen - (size_t)(sp + 1 - v), der, SPKI_LEN) ||
	    memcmp(der, spki_prefix, sizeof(spki_prefix)) != 0)
		return rp_fail(p, "key is not a base64 DER Ed25519 public key");
	if (r->nkeys == SB_ROOT_KEYS_MAX)
		return rp_fail(p, "too many keys");
	r->keys = sb_realloc(r->keys, (r->nkeys + 1) * sizeof(*r->keys));
	k = &r->keys[r->nkeys];
	memset(k, 0, sizeof(*k));
	memcpy(k->raw, der + sizeof(spki_prefix), SB_PUBKEY_LEN);
	sb_key_id(k->raw, k->id);
	if (memcmp(k->id, v, SB_KEYID_HEX - 1) != 0)
		return rp_fail(p, "key id does not match the key");
	for (size_t i = 0; i < r->nkeys; i++)
		if (strcmp(r->keys[i].id, k->id) == 0)
			return rp_fail(p, "duplicate key");
	k->path = sb_strdup(p->name);
	r->nkeys++;
	return 0;
}

static int
rp_sig(struct rp *p, struct sb_root *r)
{
	const char *v, *sp;
	size_t vlen;
	struct sb_sig *s;

	if ((v = rp_field(p, "Signature", &vlen)) == NULL ||
	    (sp = memchr(v, ' ', vlen)) == NULL ||
	    !is_hex_id(v, (size_t)(sp - v)))
		return rp_fail(p, "expected \"Signature: KEYID BASE64\"");
	if (r->nsigs == SB_SIGS_MAX)
		return rp_fail(p, "too many signatures");
	r->sigs = sb_realloc(r->sigs, (r->nsigs + 1) * sizeof(*r->sigs));
	s = &r->sigs[r->nsigs];
	memcpy(s->id, v, SB_KEYID_HEX - 1);
	s->id[SB_KEYID_HEX - 1] = '\0';
	if (!b64_decode(sp + 1, vlen - (size_t)(sp + 1 - v), s->sig,
	    SB_SIG_LEN))
		return rp_fail(p, "signature is not 64 bytes in base64");
	r->nsigs++;
	return 0;
}

static int
root_parse(struct sb_root *r, struct rp *p)
{
	unsigned long long th;
	const char *v;
	size_t vlen;
	char exp[32];
	int rc;

	if (rp_line(p) != 1 || (v = rp_field(p, "Format", &vlen)) == NULL ||
	    vlen != strlen(ROOT_FORMAT) || memcmp(v, ROOT_FORMAT, vlen) != 0)
		return p->err->msg[0] ? -1 :
		    rp_fail(p, "expected \"Format: " ROOT_FORMAT "\"");
	if (rp_number(p, "Version", VERSION_MAX, &r->version) == -1)
		return -1;
	if (rp_line(p) != 1 || (v = rp_field(p, "Expires", &vlen)) == NULL ||
	    vlen != 20)
		return p->err->msg[0] ? -1 : rp_fail(p,
		    "expected \"Expires: YYYY-MM-DDTHH:MM:SSZ\"");
	memcpy(exp, v, vlen);
	exp[vlen] = '\0';
	if (sb_time_parse(exp, &r->expires) == -1)
		return rp_fail(p, "expected \"Expires: YYYY-MM-DDTHH:MM:SSZ\"");
	memcpy(r->expires_text, exp, vlen + 1);
	if (rp_number(p, "Threshold", SB_ROOT_KEYS_MAX, &th) == -1)
		return -1;
	r->threshold = (unsigned)th;
	for (;;) {
		if ((rc = rp_line(p)) == -1)
			return -1;
		if (rc == 0)
			return rp_fail(p, "no blank line after the keys");
		if (p->n == 0)
			break;
		if ((v = rp_field(p, "Key", &vlen)) == NULL)
			return rp_fail(p, "expected \"Key: KEYID BASE64\" or "
			    "a blank line");
		if (rp_key(p, r, v, vlen) == -1)
			return -1;
	}
	r->signed_len = p->off - 1;
	if (r->nkeys == 0)
		return rp_fail(p, "no keys");
	if (r->threshold > r->nkeys)
		return sb_err_set(p->err, SB_EINVALID, "root \"%s\": threshold "
		    "%u is more than its %zu keys", p->name, r->threshold,
		    r->nkeys);
	while ((rc = rp_line(p)) == 1)
		if (rp_sig(p, r) == -1)
			return -1;
	return rc;
}

int
sb_root_parse(struct sb_root *r, char *text, size_t len, const char *name,
    struct sb_err *err)
{
	struct rp p = { text, name, len, 0, 0, NULL, 0, err };

	*r = (struct sb_root)SB_ROOT_INIT;
	r->text = text;
	r->len = len;
	r->path = sb_strdup(name);
	err->msg[0] = '\0';
	if (root_parse(r, &p) == -1) {
		sb_root_release(r);
		return -1;
	}
	return 0;
}

int
sb_root_load(struct sb_root *r, const char *path, struct sb_err *err)
{
	char *text = NULL;
	size_t len = 0;

	*r = (struct sb_root)SB_ROOT_INIT;
	if (sb_read_file(path, SB_ROOT_MAX, &text, &len, err) == -1)
		return -1;
	return sb_root_parse(r, text, len, path, err);
}

void
sb_pubkey_spki_b64(const unsigned char raw[SB_PUBKEY_LEN],
    char out[SB_SPKI_B64_LEN + 1])
{
	unsigned char der[SPKI_LEN];

	memcpy(der, spki_prefix, sizeof(spki_prefix));
	memcpy(der + sizeof(spki_prefix), raw, SB_PUBKEY_LEN);
	b64_encode(der, SPKI_LEN, out);
}

int
sb_root_format(unsigned long long version, long long expires,
    unsigned threshold, const struct sb_pubkey *keys, size_t nkeys,
    char **text, size_t *len, struct sb_err *err)
{
	char exp[32], enc[SPKI_B64 + 1], *s, *t;

	*text = NULL;
	if (nkeys == 0 || nkeys > SB_ROOT_KEYS_MAX)
		return sb_err_set(err, SB_EUSAGE, "a root holds 1 to %d keys, "
		    "not %zu", SB_ROOT_KEYS_MAX, nkeys);
	if (threshold < 1 || threshold > nkeys)
		return sb_err_set(err, SB_EUSAGE, "threshold %u is not "
		    "between 1 and the %zu keys", threshold, nkeys);
	if (version < 1 || version > VERSION_MAX)
		return sb_err_set(err, SB_EUSAGE, "version %llu is not "
		    "between 1 and %llu", version, VERSION_MAX);
	for (size_t i = 0; i < nkeys; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(keys[i].id, keys[j].id) == 0)
				return sb_err_set(err, SB_EUSAGE, "key %s "
				    "(%s) is given twice", keys[i].id,
				    keys[i].path ? keys[i].path : "?");
	sb_time_format(expires, exp);
	s = sb_printf("Format: " ROOT_FORMAT "\nVersion: %llu\nExpires: %s\n"
	    "Threshold: %u\n", version, exp, threshold);
	for (size_t i = 0; i < nkeys; i++) {
		sb_pubkey_spki_b64(keys[i].raw, enc);
		t = sb_printf("%sKey: %s %s\n", s, keys[i].id, enc);
		free(s);
		s = t;
	}
	t = sb_printf("%s\n", s);
	free(s);
	*text = t;
	*len = strlen(t);
	return 0;
}

int
sb_root_add_sig(struct sb_root *r, const struct sb_sig *sig,
    struct sb_err *err)
{
	char enc[SIG_B64 + 1], *t;

	for (size_t i = 0; i < r->nsigs; i++)
		if (strcmp(r->sigs[i].id, sig->id) == 0)
			return sb_err_set(err, SB_EINVALID, "root \"%s\" is "
			    "already signed by key %s", r->path, sig->id);
	if (r->nsigs == SB_SIGS_MAX)
		return sb_err_set(err, SB_EINVALID, "root \"%s\" already has "
		    "%d signatures", r->path, SB_SIGS_MAX);
	b64_encode(sig->sig, SB_SIG_LEN, enc);
	t = sb_printf("%.*sSignature: %s %s\n", (int)r->len, r->text, sig->id,
	    enc);
	free(r->text);
	r->text = t;
	r->len = strlen(t);
	r->sigs = sb_realloc(r->sigs, (r->nsigs + 1) * sizeof(*r->sigs));
	r->sigs[r->nsigs++] = *sig;
	return 0;
}

void
sb_root_release(struct sb_root *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nkeys; i++)
		sb_pubkey_release(&r->keys[i]);
	free(r->keys);
	free(r->sigs);
	free(r->text);
	free(r->path);
	*r = (struct sb_root)SB_ROOT_INIT;
}
