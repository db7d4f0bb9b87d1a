/* Error reports filled by library code and printed once by main(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sqlbundle/err.h"
#include "sqlbundle/text.h"

int
sb_err_set(struct sb_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->detail[0] = err->hint[0] = err->sqlstate[0] = '\0';
	return -1;
}

int
sb_err_sys(struct sb_err *err, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t n;

	err->code = SB_EIO;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(saved));
	err->detail[0] = err->hint[0] = err->sqlstate[0] = '\0';
	errno = saved;
	return -1;
}

void
sb_err_detail(struct sb_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void
sb_err_hint(struct sb_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

int
sb_err_prefix(struct sb_err *err, const char *fmt, ...)
{
	char pre[512], old[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", pre, old);
	return -1;
}

void
sb_err_clear(struct sb_err *err)
{
	err->code = SB_OK;
	err->msg[0] = err->detail[0] = err->hint[0] = err->sqlstate[0] = '\0';
}

void
sb_err_print(const char *prog, const struct sb_err *err)
{
	/* Messages quote bundles, databases and files: nothing raw. */
	fprintf(stderr, "%s: ", prog);
	sb_put_text(stderr, err->msg[0] ? err->msg : "unknown error");
	if (err->detail[0]) {
		fputs("\nDETAIL: ", stderr);
		sb_put_text(stderr, err->detail);
	}
	if (err->hint[0]) {
		fputs("\nHINT: ", stderr);
		sb_put_text(stderr, err->hint);
	}
	fputc('\n', stderr);
	if (err->sqlstate[0])
		fprintf(stderr, "SQLSTATE: %s\n", err->sqlstate);
}
