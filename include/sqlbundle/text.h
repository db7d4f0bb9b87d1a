/*
 * Text that crosses a trust boundary: UTF-8 validation, and escaping of
 * names and text read from a bundle before they reach a terminal, a
 * message or a JSON document.
 */
#ifndef SQLBUNDLE_TEXT_H
#define SQLBUNDLE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Length of the valid UTF-8 sequence at s (n > 0 bytes left), 0 if it is
 * not one (overlong forms, surrogates and values above U+10FFFF are not).
 * Stores the code point in *cp when cp is not NULL.
 */
size_t	sb_utf8_len(const unsigned char *s, size_t n, uint32_t *cp);

/* Room for an escaped name: longer names are cut and end in "...". */
#define SB_ESCAPED_MAX	256

/*
 * Copy name into out (cap bytes, NUL-terminated): printable ASCII stays,
 * '\\' and '"' get a backslash, any other byte becomes \xNN.
 */
void	sb_escape_name(const char *name, char *out, size_t cap);

/*
 * Write len bytes of text so that it cannot drive a terminal: printable
 * ASCII, tab (if keep_tab) and valid UTF-8 other than C1 controls pass,
 * backslash is doubled, any other byte is written as \xNN.
 */
void	sb_put_safe(FILE *fp, const char *text, size_t len, bool keep_tab);

/*
 * Text for a person, possibly several lines: each line as sb_put_safe
 * writes it (tabs kept) but with backslashes as they are (messages quote
 * names escaped already), line breaks kept; a carriage return, an escape
 * sequence or any other control becomes visible \xNN.
 */
void	sb_put_text(FILE *fp, const char *text);

/* A JSON string literal; bytes that are not valid UTF-8 become U+FFFD. */
void	sb_put_json(FILE *fp, const char *str);

#endif
