/*
 * Escaping names read from an archive before they reach a message (bsdtar's
 * safe_fprintf idea). Implemented in src/common/archive.c, where such names
 * come in; private to src/common.
 */
#ifndef SQLBUNDLE_COMMON_ESCAPE_H
#define SQLBUNDLE_COMMON_ESCAPE_H

#include <stddef.h>

/* Room for an escaped name: longer names are cut and end in "...". */
#define SB_ESCAPED_MAX	256

/*
 * Copy name into out (cap bytes, NUL-terminated): printable ASCII stays,
 * '\\' and '"' get a backslash, any other byte becomes \xNN.
 */
void	sb_escape_name(const char *name, char *out, size_t cap);

#endif
