/*
 * Schema drift at the store: run the fingerprint query of
 * src/common/fingerprint.c on the database, compare with the bundle's
 * FINGERPRINTS, report, record in sqlbundle.drift and decide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/json.h"
#include "sqlbundle/text.h"

#include "drift.h"

#define SAVEPOINT	"sqlbundle_fingerprint"

int
sb_drift_live(struct sb_db *db, const struct sb_fp_excl *x, struct sb_fp *fp,
    struct sb_err *err)
{
	struct sb_rows rows = SB_ROWS_INIT;
	struct sb_err e2 = SB_ERR_INIT;
	bool nested = sb_db_in_transaction(db);
	int ret = -1;

	/*
	 * SET LOCAL inside a transaction (or a savepoint of the caller's)
	 * that is rolled back: the session's own settings come back.
	 */
	if (sb_db_exec(db, nested ? "SAVEPOINT " SAVEPOINT :
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL,
	    err) == -1)
		return sb_err_prefix(err, "could not fingerprint the schema");
	if (sb_db_exec(db, sb_fp_setup_sql(), NULL, err) == -1 ||
	    sb_db_query(db, sb_fp_query(), 0, NULL, &rows, NULL, err) == -1) {
		sb_err_prefix(err, "could not fingerprint the schema");
		goto out;
	}
	for (size_t r = 0; r < rows.nrows; r++)
		if (sb_fp_add_row(fp, x, sb_rows_get(&rows, r, 0),
		    sb_rows_get(&rows, r, 1), sb_rows_get(&rows, r, 2),
		    sb_rows_get(&rows, r, 3), sb_rows_get(&rows, r, 4),
		    err) == -1)
			goto out;
	if (sb_fp_finish(fp, err) == -1)
		goto out;
	ret = 0;
out:
	sb_rows_release(&rows);
	if (sb_db_exec(db, nested ? "ROLLBACK TO SAVEPOINT " SAVEPOINT "; "
	    "RELEASE SAVEPOINT " SAVEPOINT : "ROLLBACK", NULL, &e2) == -1 &&
	    ret == 0) {
		*err = e2;
		ret = -1;
	}
	if (ret == -1)
		sb_fp_release(fp);
	return ret;
}

int
sb_drift_load(struct sb_drift *d, struct sb_bundle *b,
    const struct sb_manifest *m, const char *vtable, struct sb_err *err)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, idx;
	ssize_t r;
	int ret = -1;

	sb_fp_excl_add_bookkeeping(&d->excl, vtable);
	if (!m->fingerprints)
		return 0;
	if (sb_bundle_next(b, &idx, err) != 1 || idx != 0) {
		if (err->code == 0)
			sb_err_set(err, SB_EINVALID, "%s: not the bundle's "
			    "first entry", SB_FP_MEMBER);
		return -1;
	}
	for (;;) {
		if (len + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 1024 * 1024;
			buf = sb_realloc(buf, cap);
		}
		if ((r = sb_bundle_read(b, buf + len, cap - len - 1, err)) == -1)
			goto out;
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > SB_FP_FILE_MAX) {
			sb_err_set(err, SB_EINVALID, "%s: larger than %zu "
			    "bytes", SB_FP_MEMBER, SB_FP_FILE_MAX);
			goto out;
		}
	}
	if (sb_bundle_entry_end(b, err) == -1 ||
	    sb_fp_file_parse(&d->file, SB_FP_MEMBER, buf, len, err) == -1 ||
	    sb_fp_file_check(&d->file, m, err) == -1)
		goto out;
	sb_fp_excl_copy(&d->excl, &d->file.excl);
	d->have = true;
	ret = 0;
out:
	free(buf);
	return ret;
}

int
sb_drift_compare(const struct sb_drift *d, struct sb_db *db, const char *at,
    const struct sb_fp *live, struct sb_drift_result *res,
    struct sb_err *err)
{
	struct sb_fp own = SB_FP_INIT;

	res->revision = at;
	res->expected = sb_fp_file_find(&d->file, at);
	if (live == NULL) {
		if (sb_drift_live(db, &d->excl, &own, err) == -1)
			return -1;
		live = &own;
	}
	sb_fp_digest(live, res->found);
	if (res->expected != NULL &&
	    strcmp(res->expected->digest, res->found) != 0)
		sb_fp_diff(&res->expected->fp, live, &res->diff);
	sb_fp_release(&own);
	return 0;
}

void
sb_drift_result_release(struct sb_drift_result *res)
{
	sb_fp_diff_release(&res->diff);
}

static void
print_json(const struct sb_drift_result *res, const char *when, bool allowed,
    FILE *fp)
{
	struct sb_json j;

	sb_json_begin(&j, fp, "drift");
	sb_json_str(&j, "when", when);
	sb_json_str(&j, "revision", res->revision);
	sb_json_bool(&j, "checked", res->expected != NULL);
	sb_json_str(&j, "expected", res->expected != NULL ?
	    res->expected->digest : NULL);
	sb_json_str(&j, "found", res->found);
	sb_json_uint(&j, "objects", res->diff.n);
	sb_json_bool(&j, "allowed", allowed);
	sb_json_array(&j, "differences");
	for (size_t i = 0; i < res->diff.n; i++) {
		const struct sb_fp_item *it = &res->diff.items[i];

		sb_json_object(&j, NULL);
		sb_json_str(&j, "kind", it->kind);
		sb_json_str(&j, "name", it->name);
		sb_json_str(&j, "how", sb_fp_how_name(it->how));
		sb_json_str(&j, "expected", it->expected);
		sb_json_str(&j, "found", it->found);
		sb_json_str(&j, "text", it->text);
		sb_json_close(&j);
	}
	sb_json_end(&j);
}

void
sb_drift_print(const struct sb_drift *d, const struct sb_drift_result *res,
    const char *when, bool allowed, FILE *fp)
{
	const struct sb_progress *p = d->progress;
	bool json = p != NULL && p->mode == SB_PROGRESS_JSON;

	if (json) {
		print_json(res, when, allowed, fp != NULL ? fp : p->out);
		return;
	}
	if (fp == NULL) {
		if (p == NULL || p->mode == SB_PROGRESS_QUIET)
			return;
		fp = p->log;
	}
	if (!d->have)
		fprintf(fp, "drift: not checked: the bundle carries no "
		    "expected schema (it was packed without a rehearsal)\n");
	else if (res->expected == NULL)
		fprintf(fp, "drift: not checked: the bundle records no "
		    "expected schema at revision \"%s\"\n", res->revision);
	else if (res->diff.n == 0)
		fprintf(fp, "drift: none at revision \"%s\" (schema %.12s)\n",
		    res->revision, res->found);
	else {
		fprintf(fp, "drift at revision \"%s\"%s: %zu object%s "
		    "differ%s from the expected schema%s\n", res->revision,
		    strcmp(when, "after") == 0 ? " after its step" : "",
		    res->diff.n, res->diff.n == 1 ? "" : "s",
		    res->diff.n == 1 ? "s" : "",
		    allowed ? " (allowed by --allow-drift)" : "");
		for (size_t i = 0; i < res->diff.n; i++) {
			fputs("  ", fp);
			sb_put_safe(fp, res->diff.items[i].text,
			    strlen(res->diff.items[i].text), false);
			fputc('\n', fp);
		}
	}
	fflush(fp);
}

int
sb_drift_record(const struct sb_drift *d, struct sb_db *db,
    const struct sb_drift_result *res, const char *outcome,
    struct sb_err *err)
{
	char objects[32];
	char *report = sb_strdup("");
	const char *params[9];
	int ret;

	if (!d->record)
		return 0;
	for (size_t i = 0; i < res->diff.n; i++) {
		char *r = sb_printf("%s%s\n", report, res->diff.items[i].text);

		free(report);
		report = r;
	}
	snprintf(objects, sizeof(objects), "%zu", res->diff.n);
	params[0] = d->command;
	params[1] = res->revision;
	params[2] = d->bundle_id != NULL ? d->bundle_id : "";
	params[3] = res->expected != NULL ? res->expected->digest : NULL;
	params[4] = res->found;
	params[5] = objects;
	params[6] = outcome;
	params[7] = report;
	params[8] = "sqlbundle-apply " SB_VERSION;
	ret = sb_db_query(db, "INSERT INTO sqlbundle.drift (command, revision, "
	    "bundle_id, expected, found, objects, outcome, report, "
	    "applier_version) VALUES ($1, $2, $3, $4, $5, $6::integer, $7, "
	    "$8, $9)", 9, params, NULL, NULL, err);
	free(report);
	if (ret == -1)
		sb_err_prefix(err, "could not record the drift check");
	return ret;
}

/* Record now, or keep for sb_drift_flush when the table is not there. */
static int
record(struct sb_drift *d, struct sb_db *db, struct sb_drift_result *res,
    const char *outcome, struct sb_err *err)
{
	if (d->record)
		return sb_drift_record(d, db, res, outcome, err);
	if (d->pending != NULL) {
		sb_drift_result_release(d->pending);
		free(d->pending);
	}
	d->pending = sb_malloc(sizeof(*d->pending));
	*d->pending = *res;
	res->diff = (struct sb_fp_diff)SB_FP_DIFF_INIT;
	d->pending_outcome = outcome;
	return 0;
}

int
sb_drift_flush(struct sb_drift *d, struct sb_db *db, struct sb_err *err)
{
	int ret = 0;

	d->record = true;
	if (d->pending == NULL)
		return 0;
	ret = sb_drift_record(d, db, d->pending, d->pending_outcome, err);
	sb_drift_result_release(d->pending);
	free(d->pending);
	d->pending = NULL;
	return ret;
}

/* The first objects that differ, for the error's DETAIL. */
static void
detail(struct sb_err *err, const struct sb_fp_diff *diff)
{
	char buf[sizeof(err->detail)] = "";
	size_t n = 0, i;

	for (i = 0; i < diff->n; i++) {
		size_t l = strlen(diff->items[i].text);

		if (n + l + 2 + 32 >= sizeof(buf))
			break;
		memcpy(buf + n, diff->items[i].text, l);
		n += l;
		buf[n++] = i + 1 < diff->n ? '\n' : '\0';
		buf[n] = '\0';
	}
	if (i < diff->n)
		snprintf(buf + n, sizeof(buf) - n, "and %zu more", diff->n - i);
	sb_err_detail(err, "%s", buf);
}

/* The same exclusions: one description serves the check and the record. */
static bool
same_excl(const struct sb_fp_excl *a, const struct sb_fp_excl *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->literal[i] != b->literal[i] ||
		    strcmp(a->pat[i], b->pat[i]) != 0)
			return false;
	return true;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The live description for d->rec, its query timed for the event. */
static int
rec_live(struct sb_drift *d, struct sb_db *db, struct sb_fp *fp,
    double *secs, struct sb_err *err)
{
	double t0 = now();

	if (sb_drift_live(db, &d->rec_excl, fp, err) == -1)
		return -1;
	*secs = now() - t0;
	return 0;
}

/* Append the schema at `at` to d->rec (taking fp over), say so. */
static int
rec_add(struct sb_drift *d, const char *at, const char *upgrade,
    struct sb_fp *fp, double secs, struct sb_err *err)
{
	char digest[SB_SHA256_HEX];
	size_t n = fp->n;

	sb_fp_digest(fp, digest);
	if (sb_fp_file_add(d->rec, at, upgrade, fp, err) == -1)
		return -1;
	if (d->progress != NULL)
		sb_progress_fingerprint(d->progress, at, digest, n, secs);
	return 0;
}

/* The comparison itself; live: the description when the caller has it. */
static int
check_live(struct sb_drift *d, struct sb_db *db, const char *at,
    const char *when, const struct sb_fp *live, struct sb_err *err)
{
	struct sb_drift_result res = SB_DRIFT_RESULT_INIT;
	bool after = strcmp(when, "after") == 0;
	int ret = -1;

	if (!d->have)
		return 0;
	if (sb_drift_compare(d, db, at, live, &res, err) == -1)
		goto out;
	if (res.expected == NULL || res.diff.n == 0) {
		if (res.expected == NULL || !after)
			sb_drift_print(d, &res, when, false, NULL);
		ret = record(d, db, &res, res.expected == NULL ?
		    "unchecked" : "none", err);
		goto out;
	}
	sb_drift_print(d, &res, when, d->allow, NULL);
	if (record(d, db, &res, d->allow ? "allowed" : "refused", err) == -1)
		goto out;
	if (d->allow) {
		ret = 0;
		goto out;
	}
	sb_err_set(err, SB_EDRIFT, "schema drift at revision \"%s\"%s: %zu "
	    "object%s differ%s from the schema the bundle expects", at,
	    after ? " after its step" : "", res.diff.n,
	    res.diff.n == 1 ? "" : "s", res.diff.n == 1 ? "s" : "");
	/* The list is on stderr already, unless -q or --json kept it off. */
	if (d->progress == NULL || d->progress->mode == SB_PROGRESS_QUIET ||
	    d->progress->mode == SB_PROGRESS_JSON)
		detail(err, &res.diff);
	if (after)
		sb_err_hint(err, "the step of revision \"%s\" is committed; "
		    "the run stopped before the next one. Compare the "
		    "database with `sqlbundle-apply drift`; run again with "
		    "--allow-drift to go on anyway", at);
	else
		sb_err_hint(err, "nothing was run. Repair the database, or "
		    "run again with --allow-drift to apply anyway (the "
		    "choice is recorded in sqlbundle.drift)");
out:
	sb_drift_result_release(&res);
	return ret;
}

int
sb_drift_check(struct sb_drift *d, struct sb_db *db, const char *at,
    const char *upgrade, const char *when, bool check, struct sb_err *err)
{
	struct sb_fp fp = SB_FP_INIT;
	struct sb_err ignored = SB_ERR_INIT;
	double secs = 0;
	int ret;

	if (d->rec == NULL)
		return check ? check_live(d, db, at, when, NULL, err) : 0;
	if (rec_live(d, db, &fp, &secs, err) == -1)
		return -1;
	ret = check ? check_live(d, db, at, when, same_excl(&d->excl,
	    &d->rec_excl) ? &fp : NULL, err) : 0;
	/* A step that drifted is committed all the same: record it. */
	if (rec_add(d, at, upgrade, &fp, secs, ret == -1 ? &ignored :
	    err) == -1 && ret == 0)
		ret = -1;
	sb_fp_release(&fp);
	return ret;
}

void
sb_drift_release(struct sb_drift *d)
{
	if (d->pending != NULL) {
		sb_drift_result_release(d->pending);
		free(d->pending);
		d->pending = NULL;
	}
	sb_fp_file_release(&d->file);
	sb_fp_excl_release(&d->excl);
	sb_fp_excl_release(&d->rec_excl);
	d->have = false;
}
