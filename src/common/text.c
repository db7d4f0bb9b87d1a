/* UTF-8 checks and escaping of untrusted text for terminals and JSON. */
#include <string.h>

#include "sqlbundle/text.h"

size_t
sb_utf8_len(const unsigned char *s, size_t n, uint32_t *cpp)
{
	uint32_t cp;
	size_t k;

	if (s[0] < 0x80) {
		k = 1;
		cp = s[0];
		goto done;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
done:
	if (cpp != NULL)
		*cpp = cp;
	return k;
}

void
sb_escape_name(const char *name, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)name;
	size_t o = 0, need = 0;
	bool cut;

	if (cap == 0)
		return;
	/* Only a name whose escape does not fit is cut. */
	for (const unsigned char *t = s; *t != '\0'; t++)
		need += *t == '\\' || *t == '"' ? 2 :
		    *t >= 0x20 && *t < 0x7f ? 1 : 4;
	cut = need >= cap;
	for (; *s != '\0'; s++) {
		/* Worst case a 4-byte escape, then "..." and the NUL. */
		if (cut && o + 4 + 4 > cap) {
			if (cap >= 4) {
				o = o > cap - 4 ? cap - 4 : o;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = (char)*s;
		} else if (*s >= 0x20 && *s < 0x7f) {
			out[o++] = (char)*s;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = digits[*s >> 4];
			out[o++] = digits[*s & 0xf];
		}
	}
	out[o] = '\0';
}

/* sb_put_safe; backslashes doubled unless plain (sb_put_text). */
static void
put_safe(FILE *fp, const char *text, size_t len, bool keep_tab, bool plain)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] == '\\' && !plain) {
			fputs("\\\\", fp);
			i++;
		} else if ((s[i] >= 0x20 && s[i] < 0x7f) ||
		    (keep_tab && s[i] == '\t')) {
			fputc(s[i], fp);
			i++;
		} else if (s[i] >= 0x80 &&
		    (k = sb_utf8_len(s + i, len - i, &cp)) > 0 &&
		    cp >= 0xa0) {
			/* C1 controls (U+0080-U+009F) can drive a terminal. */
			fwrite(s + i, 1, k, fp);
			i += k;
		} else {
			fprintf(fp, "\\x%02x", s[i]);
			i++;
		}
	}
}

void
sb_put_safe(FILE *fp, const char *text, size_t len, bool keep_tab)
{
	put_safe(fp, text, len, keep_tab, false);
}

void
sb_put_json(FILE *fp, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, k;

	fputc('"', fp);
	while (i < n) {
		if (s[i] == '"' || s[i] == '\\') {
			fprintf(fp, "\\%c", s[i]);
			i++;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			fprintf(fp, "\\u%04x", s[i]);
			i++;
		} else if (s[i] < 0x80) {
			fputc(s[i], fp);
			i++;
		} else if ((k = sb_utf8_len(s + i, n - i, NULL)) > 0) {
			fwrite(s + i, 1, k, fp);
			i += k;
		} else {
			fputs("\\ufffd", fp);
			i++;
		}
	}
	fputc('"', fp);
}

void
sb_put_text(FILE *fp, const char *text)
{
	const char *nl;

	/*
	 * Messages often quote names sb_escape_name escaped already: their
	 * backslashes stay single.
	 */
	while ((nl = strchr(text, '\n')) != NULL) {
		put_safe(fp, text, (size_t)(nl - text), true, true);
		fputc('\n', fp);
		text = nl + 1;
	}
	put_safe(fp, text, strlen(text), true, true);
}
