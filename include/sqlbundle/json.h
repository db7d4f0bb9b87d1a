/*
 * The one JSON writer of both programs: each --json line is one object,
 * written member by member and ended with a newline. The names and
 * objects are documented in docs/sqlbundle.schema.json (and the JSON
 * OUTPUT section of both man pages); every line starts with "event".
 */
#ifndef SQLBUNDLE_JSON_H
#define SQLBUNDLE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sqlbundle/err.h"

#define SB_JSON_DEPTH	8	/* nesting the writer tracks */

struct sb_json {
	FILE	*fp;
	int	 depth;			/* open objects and arrays */
	char	 close[SB_JSON_DEPTH];	/* '}' or ']' per level */
	bool	 comma[SB_JSON_DEPTH];	/* a member was written there */
};

/*
 * Begin a line on fp: '{"event":"<event>"'. Every other call adds to
 * it; sb_json_end() closes it. key is the member name inside an object
 * and must be NULL inside an array. Strings go through sb_put_json():
 * escaped, and bytes that are not UTF-8 become U+FFFD.
 */
void	sb_json_begin(struct sb_json *j, FILE *fp, const char *event);
/* A string member; NULL writes null. */
void	sb_json_str(struct sb_json *j, const char *key, const char *val);
void	sb_json_int(struct sb_json *j, const char *key, long long val);
void	sb_json_uint(struct sb_json *j, const char *key,
	    unsigned long long val);
/* A number with three decimals (seconds). */
void	sb_json_secs(struct sb_json *j, const char *key, double val);
void	sb_json_bool(struct sb_json *j, const char *key, bool val);
/* An array of n strings. */
void	sb_json_strs(struct sb_json *j, const char *key, char *const *val,
	    size_t n);
/* Open a nested object or array; sb_json_close() ends the innermost. */
void	sb_json_object(struct sb_json *j, const char *key);
void	sb_json_array(struct sb_json *j, const char *key);
void	sb_json_close(struct sb_json *j);
/* Close whatever is open, end the line and flush the stream. */
void	sb_json_end(struct sb_json *j);

/*
 * The "error" line of both programs: code (the exit status), message,
 * and detail, hint and sqlstate when the error has them.
 */
void	sb_json_error(FILE *fp, const struct sb_err *err);

#endif
