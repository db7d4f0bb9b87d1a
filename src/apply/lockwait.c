/*
 * Lock timeouts and retries (lockwait.h). The pauses between attempts
 * grow from 100 ms to 10 s (GitLab's with_lock_retries grows its own);
 * lock_timeout itself stays short, since it bounds how long the tills
 * queue behind a waiting statement.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlbundle/cli.h"

#include "lockwait.h"

#define PAUSE_FIRST_MS	100ul
#define PAUSE_MAX_MS	10000ul

/* lock_not_available: lock_timeout ran out (or NOWAIT). */
#define SQLSTATE_LOCK	"55P03"

/* The oldest transaction among the sessions blocking $1. */
#define BLOCKER_SQL \
	"SELECT a.pid, coalesce(a.application_name, ''), " \
	"coalesce(a.state, ''), " \
	"floor(extract(epoch FROM now() - a.xact_start) * 1000)::bigint, " \
	"coalesce(left(regexp_replace(a.query, '\\s+', ' ', 'g'), 200), '') " \
	"FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1)) " \
	"ORDER BY a.xact_start NULLS LAST, a.pid LIMIT 1"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
pause_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
	    (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Our session has waited a while: note who blocks it. */
static void
observe(void *arg)
{
	struct sb_lockwait *lw = arg;
	struct sb_err err = SB_ERR_INIT;
	struct sb_rows rows = SB_ROWS_INIT;
	char pid[16], age[64];
	const char *params[1] = { pid };
	unsigned long ms;

	if (lw->observer == NULL && !lw->observer_failed &&
	    sb_db_connect(&lw->observer, lw->conninfo, NULL, NULL, &err) == -1)
		lw->observer_failed = true;
	if (lw->observer == NULL)
		return;
	snprintf(pid, sizeof(pid), "%d", sb_db_pid(lw->db));
	if (sb_db_query(lw->observer, BLOCKER_SQL, 1, params, &rows, NULL,
	    &err) == 0 && rows.nrows == 1) {
		snprintf(age, sizeof(age), "no transaction open");
		if (sb_rows_get(&rows, 0, 3) != NULL) {
			ms = strtoul(sb_rows_get(&rows, 0, 3), NULL, 10);
			memcpy(age, "transaction open for ", 22);
			sb_format_duration(ms < 1000 ? ms : ms / 1000 * 1000,
			    age + 21, sizeof(age) - 21);
		}
		snprintf(lw->blocker, sizeof(lw->blocker), "pid %s "
		    "(application_name \"%s\", state \"%s\", %s): %s",
		    sb_rows_get(&rows, 0, 0), sb_rows_get(&rows, 0, 1),
		    sb_rows_get(&rows, 0, 2), age, sb_rows_get(&rows, 0, 4));
	}
	sb_rows_release(&rows);
}

void
sb_lockwait_init(struct sb_lockwait *lw, unsigned long timeout_ms,
    unsigned long wait_max_ms, const char *conninfo, struct sb_db *db,
    struct sb_progress *progress)
{
	char d[32];

	memset(lw, 0, sizeof(*lw));
	lw->timeout_ms = timeout_ms;
	lw->wait_max_ms = wait_max_ms;
	lw->conninfo = conninfo;
	lw->db = db;
	lw->progress = progress;
	sb_format_duration(timeout_ms, d, sizeof(d));
	snprintf(lw->set_sql, sizeof(lw->set_sql), "SET lock_timeout = '%s'",
	    d);
	snprintf(lw->local_sql, sizeof(lw->local_sql),
	    "SET LOCAL lock_timeout = '%s'", d);
	/* Before the lock times out, while the blocker is there to see. */
	if (timeout_ms > 0)
		sb_db_watch(db, timeout_ms / 2, observe, lw);
}

void
sb_lockwait_release(struct sb_lockwait *lw)
{
	if (lw->db != NULL)
		sb_db_watch(lw->db, 0, NULL, NULL);
	sb_db_close(lw->observer);
	lw->observer = NULL;
}

void
sb_lockwait_begin(struct sb_lockwait *lw)
{
	lw->start = now();
	lw->attempts = 0;
	lw->blocker[0] = '\0';
}

bool
sb_lockwait_retry(struct sb_lockwait *lw, const char *what,
    struct sb_err *err)
{
	unsigned long pause = PAUSE_FIRST_MS, waited;
	char d[32], max[32];

	if (lw->timeout_ms == 0 || strcmp(err->sqlstate, SQLSTATE_LOCK) != 0)
		return false;
	for (unsigned i = 0; i < lw->attempts && pause < PAUSE_MAX_MS; i++)
		pause *= 2;
	if (pause > PAUSE_MAX_MS)
		pause = PAUSE_MAX_MS;
	waited = (unsigned long)((now() - lw->start) * 1000);
	lw->attempts++;
	if (waited + pause + lw->timeout_ms <= lw->wait_max_ms) {
		sb_format_duration(pause, d, sizeof(d));
		sb_progress_info(lw->progress, "%s: lock not available, "
		    "trying again in %s%s%s", what, d, lw->blocker[0] ?
		    "; held by " : "", lw->blocker);
		sb_err_clear(err);
		pause_ms(pause);
		return true;
	}
	sb_format_duration(lw->wait_max_ms, max, sizeof(max));
	sb_format_duration(lw->timeout_ms, d, sizeof(d));
	sb_err_set(err, SB_EDB, "lock not available after %u attempts in "
	    "%s (--lock-wait-max): blocked by %s", lw->attempts, max,
	    lw->blocker[0] ? lw->blocker : "a session that has ended");
	memcpy(err->sqlstate, SQLSTATE_LOCK, sizeof(err->sqlstate));
	sb_err_detail(err, "Each attempt waited at most %s (--lock-timeout) "
	    "and was rolled back.", d);
	sb_err_hint(err, "end that session, or run the same command again "
	    "to try again");
	return false;
}
