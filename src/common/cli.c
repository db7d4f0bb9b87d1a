/* Command-line conventions both programs share (include/sqlbundle/cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/cli.h"

int
sb_cli_opt_error(const char *cmd, int c, char **argv, struct sb_err *err)
{
	const char *word = argv[optind - 1], *sep = cmd != NULL ? ": " : "";
	char opt[3] = { '-', (char)optopt, '\0' };

	if (cmd == NULL)
		cmd = "";
	/* A short option may share its word with others ("-qx"). */
	if (strncmp(word, "--", 2) != 0 && optopt > 0 && optopt < 256)
		word = opt;
	if (c == ':')
		return sb_err_set(err, SB_EUSAGE, "%s%soption \"%s\" needs a "
		    "value", cmd, sep, word);
	return sb_err_set(err, SB_EUSAGE, "%s%sunknown option \"%s\"", cmd,
	    sep, word);
}

int
sb_cli_fail(const char *prog, const char *cmd, const struct sb_err *err)
{
	sb_err_print(prog, err);
	if (err->code == SB_EUSAGE)
		fprintf(stderr, "Try \"%s%s%s --help\" for more information.\n",
		    prog, cmd != NULL ? " " : "", cmd != NULL ? cmd : "");
	return err->code != SB_OK ? err->code : SB_EIO;
}

int
sb_cli_exit(const char *prog, int status)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return status;
	fprintf(stderr, "%s: could not write to standard output: %s\n", prog,
	    strerror(errno));
	return status != 0 ? status : SB_EIO;
}

/* The decimal digits s starts with (no sign, no space); *end after them. */
static int
leading_number(const char *s, unsigned long long *v, char **end)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, end, 10);
	return errno != 0 ? -1 : 0;
}

int
sb_parse_number(const char *s, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (leading_number(s, &v, &end) == -1 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

int
sb_parse_size(const char *s, size_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (leading_number(s, &v, &end) == -1)
		return -1;
	switch (*end) {
	case 'k': case 'K':
		mul = 1024;
		break;
	case 'm': case 'M':
		mul = 1024 * 1024;
		break;
	case 'g': case 'G':
		mul = 1024ull * 1024 * 1024;
		break;
	}
	end += mul > 1;
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end != '\0' || v == 0 || v > (unsigned long long)SIZE_MAX / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

static const struct {
	const char	*unit;
	unsigned long	 ms;
} units[] = {
	{ "d", 86400000ul }, { "h", 3600000ul }, { "min", 60000ul },
	{ "s", 1000ul }, { "ms", 1ul }, { "", 1ul }
};

int
sb_parse_duration(const char *s, unsigned long *ms)
{
	unsigned long long v;
	char *end;

	if (leading_number(s, &v, &end) == -1)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (v > 86400000ull / units[i].ms)
			return -1;
		*ms = (unsigned long)(v * units[i].ms);
		return 0;
	}
	return -1;
}

void
sb_format_duration(unsigned long ms, char *buf, size_t cap)
{
	size_t i = 0;

	while (ms != 0 && ms % units[i].ms != 0)
		i++;
	snprintf(buf, cap, "%lu%s", ms / units[i].ms, ms == 0 ? "" :
	    units[i].unit);
}
