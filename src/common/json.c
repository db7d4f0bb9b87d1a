/* The JSON line writer of both programs (include/sqlbundle/json.h). */
#include <assert.h>

#include "sqlbundle/json.h"
#include "sqlbundle/text.h"

/* The separator and the name before a member's value. */
static void
member(struct sb_json *j, const char *key)
{
	int d = j->depth - 1;

	assert(d >= 0);
	assert((key != NULL) == (j->close[d] == '}'));
	if (j->comma[d])
		fputc(',', j->fp);
	j->comma[d] = true;
	if (key != NULL) {
		sb_put_json(j->fp, key);
		fputc(':', j->fp);
	}
}

static void
open_level(struct sb_json *j, char open, char close)
{
	/* Deeper documents are a bug in the caller, not input. */
	assert(j->depth < SB_JSON_DEPTH);
	fputc(open, j->fp);
	j->close[j->depth] = close;
	j->comma[j->depth] = false;
	j->depth++;
}

void
sb_json_begin(struct sb_json *j, FILE *fp, const char *event)
{
	j->fp = fp;
	j->depth = 0;
	open_level(j, '{', '}');
	sb_json_str(j, "event", event);
}

void
sb_json_str(struct sb_json *j, const char *key, const char *val)
{
	member(j, key);
	if (val == NULL)
		fputs("null", j->fp);
	else
		sb_put_json(j->fp, val);
}

void
sb_json_int(struct sb_json *j, const char *key, long long val)
{
	member(j, key);
	fprintf(j->fp, "%lld", val);
}

void
sb_json_uint(struct sb_json *j, const char *key, unsigned long long val)
{
	member(j, key);
	fprintf(j->fp, "%llu", val);
}

void
sb_json_secs(struct sb_json *j, const char *key, double val)
{
	member(j, key);
	/* The programs never call setlocale(): the point is a '.'. */
	fprintf(j->fp, "%.3f", val >= 0 ? val : 0.0);
}

void
sb_json_bool(struct sb_json *j, const char *key, bool val)
{
	member(j, key);
	fputs(val ? "true" : "false", j->fp);
}

void
sb_json_strs(struct sb_json *j, const char *key, char *const *val, size_t n)
{
	sb_json_array(j, key);
	for (size_t i = 0; i < n; i++)
		sb_json_str(j, NULL, val[i]);
	sb_json_close(j);
}

void
sb_json_object(struct sb_json *j, const char *key)
{
	member(j, key);
	open_level(j, '{', '}');
}

void
sb_json_array(struct sb_json *j, const char *key)
{
	member(j, key);
	open_level(j, '[', ']');
}

void
sb_json_close(struct sb_json *j)
{
	assert(j->depth > 0);
	j->depth--;
	fputc(j->close[j->depth], j->fp);
}

void
sb_json_end(struct sb_json *j)
{
	while (j->depth > 0)
		sb_json_close(j);
	fputc('\n', j->fp);
	fflush(j->fp);
}

void
sb_json_error(FILE *fp, const struct sb_err *err)
{
	struct sb_json j;

	sb_json_begin(&j, fp, "error");
	/* As main() exits: a failure is never status 0. */
	sb_json_int(&j, "code", err->code != SB_OK ? err->code : SB_EIO);
	sb_json_str(&j, "message", err->msg);
	if (err->detail[0] != '\0')
		sb_json_str(&j, "detail", err->detail);
	if (err->hint[0] != '\0')
		sb_json_str(&j, "hint", err->hint);
	if (err->sqlstate[0] != '\0')
		sb_json_str(&j, "sqlstate", err->sqlstate);
	sb_json_end(&j);
}
