/* Mender inventory lines from the store's state (inventory.h). */
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "inventory.h"

static void
put_value(FILE *fp, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", fp);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(fp, "\\x%02x", *p);
		else
			fputc(*p, fp);
	}
}

static void
line(FILE *fp, const char *key, const char *val)
{
	fprintf(fp, "sqlbundle_%s=", key);
	put_value(fp, val != NULL ? val : "");
	fputc('\n', fp);
}

void
sb_inventory_print(FILE *fp, const char *project, char *const *heads,
    size_t nheads, const struct sb_rows *hist)
{
	/* Key names by history column, in the order they are printed. */
	static const struct { size_t col; const char *key; } last[] = {
		{ 2, "last_revision" }, { 1, "last_direction" },
		{ 3, "last_bundle_id" }, { 4, "last_key_id" },
		{ 0, "last_applied_at" }
	};

	line(fp, "status", "ok");
	if (project != NULL)
		line(fp, "project", project);
	/* One line per head (Mender makes repeated keys a list). */
	for (size_t i = 0; i < nheads; i++)
		line(fp, "revision", heads[i]);
	if (nheads == 0)
		line(fp, "revision", "base");
	if (hist->nrows == 0)
		return;
	for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++)
		line(fp, last[i].key, sb_rows_get(hist, 0, last[i].col));
	fflush(fp);
}

void
sb_inventory_state(FILE *fp, const struct sb_rows *drift,
    const struct sb_rows *failed, const struct sb_rows *live)
{
	static const struct { size_t col; const char *key; } fail[] = {
		{ 2, "failed_revision" }, { 1, "failed_direction" },
		{ 0, "failed_at" }, { 4, "failed_sqlstate" },
		{ 5, "failed_message" }
	};
	const char *outcome, *n;

	if (drift->nrows == 0) {
		line(fp, "drift", "unchecked");
	} else {
		outcome = sb_rows_get(drift, 0, 4);
		n = sb_rows_get(drift, 0, 3);
		if (outcome != NULL && strcmp(outcome, "unchecked") == 0)
			line(fp, "drift", "unchecked");
		else if (n == NULL || strcmp(n, "0") == 0)
			line(fp, "drift", "none");
		else
			line(fp, "drift", n);
		line(fp, "drift_checked_at", sb_rows_get(drift, 0, 0));
	}
	for (size_t i = 0; failed->nrows > 0 &&
	    i < sizeof(fail) / sizeof(fail[0]); i++) {
		const char *v = sb_rows_get(failed, 0, fail[i].col);

		if (v != NULL && v[0] != '\0')
			line(fp, fail[i].key, v);
	}
	if (live->nrows > 0)
		line(fp, "running_pid", sb_rows_get(live, 0, 0));
	fflush(fp);
}

void
sb_inventory_error(FILE *fp, const struct sb_err *err)
{
	char msg[sizeof(err->msg) + 32];

	snprintf(msg, sizeof(msg), SB_APPLY_PROG ": %s", err->msg);
	line(fp, "status", "error");
	line(fp, "error", msg);
	fflush(fp);
}
