/*
 * The command line, the same in both programs: usage errors, the exit
 * status after writing results, option values. Called from main() and
 * the option parsers only (the one place that prints errors).
 */
#ifndef SQLBUNDLE_CLI_H
#define SQLBUNDLE_CLI_H

#include <stddef.h>

#include "sqlbundle/err.h"

/*
 * Turn getopt_long's '?' or ':' into a usage error (SB_EUSAGE):
 * "[cmd: ]unknown option \"-x\"" or "[cmd: ]option \"--key\" needs a
 * value". cmd may be NULL. Callers set opterr = 0 and start optstring
 * with ':'. Returns -1.
 */
int	sb_cli_opt_error(const char *cmd, int c, char **argv,
	    struct sb_err *err);
/*
 * Print a failed command's error as "prog: message" (with DETAIL and
 * HINT lines); a usage error adds "Try \"prog[ cmd] --help\" for more
 * information." Returns the exit status: err->code, or SB_EIO when the
 * code was left unset (a failure never exits 0).
 */
int	sb_cli_fail(const char *prog, const char *cmd, const struct sb_err *err);
/*
 * The exit status once a command is done: status, unless standard output
 * could not be written (full disk, closed pipe), which is reported as
 * "prog: could not write to standard output: ..." and gives SB_EIO.
 */
int	sb_cli_exit(const char *prog, int status);
/* Decimal digits only (no sign, no space), at least one, at most max. */
int	sb_parse_number(const char *s, unsigned long long max,
	    unsigned long long *out);
/*
 * BYTES with an optional K, M or G suffix (binary; "KiB", "KB" also
 * read), at least 1 and fitting a size_t.
 */
int	sb_parse_size(const char *s, size_t *out);
/*
 * A duration as PostgreSQL writes one: digits and a unit (ms, s, min,
 * h, d; none means ms, as for lock_timeout), at most a day, in ms.
 */
int	sb_parse_duration(const char *s, unsigned long *ms);
/* ms written the way PostgreSQL shows it: the largest exact unit. */
void	sb_format_duration(unsigned long ms, char *buf, size_t cap);

#endif
