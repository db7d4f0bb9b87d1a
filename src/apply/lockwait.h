/*
 * The lock-retry policy. A statement that waits for a lock makes every
 * later query of the table wait behind it (an ALTER TABLE behind a
 * till's open transaction freezes the tills), so it gives up after
 * --lock-timeout; its step is rolled back and tried again after a
 * growing pause, until --lock-wait-max has passed. Then the run stops
 * with an error naming the session that held the lock.
 */
#ifndef SQLBUNDLE_APPLY_LOCKWAIT_H
#define SQLBUNDLE_APPLY_LOCKWAIT_H

#include <stdbool.h>

#include "sqlbundle/err.h"

#include "db.h"
#include "progress.h"

/* Defaults: pgroll's 500 ms; five minutes of retries. */
#define SB_LOCK_TIMEOUT_DEFAULT		500ul
#define SB_LOCK_WAIT_MAX_DEFAULT	(5ul * 60 * 1000)

struct sb_lockwait {
	unsigned long	 timeout_ms;	/* 0: wait as long as it takes */
	unsigned long	 wait_max_ms;
	const char	*conninfo;	/* for the observer session */
	struct sb_db	*db;		/* the session whose waits count */
	struct sb_progress *progress;
	struct sb_db	*observer;	/* opened at the first long wait */
	bool		 observer_failed;
	char		 set_sql[64];	/* SET lock_timeout = '...' */
	char		 local_sql[64];	/* SET LOCAL lock_timeout = '...' */
	/* The current operation. */
	double		 start;
	unsigned	 attempts;
	char		 blocker[1536];	/* the last session seen blocking */
};

/* Watch db's waits (when timeout_ms is set). */
void	sb_lockwait_init(struct sb_lockwait *lw, unsigned long timeout_ms,
	    unsigned long wait_max_ms, const char *conninfo, struct sb_db *db,
	    struct sb_progress *progress);
void	sb_lockwait_release(struct sb_lockwait *lw);
/* An operation (a step's transaction, a statement) begins. */
void	sb_lockwait_begin(struct sb_lockwait *lw);
/*
 * The operation failed with err (rolled back): true after a pause if it
 * ran out of lock_timeout and may run again (err cleared); false if not,
 * err made final (a lock timeout names the blocker). what names the
 * operation in the info line.
 */
bool	sb_lockwait_retry(struct sb_lockwait *lw, const char *what,
	    struct sb_err *err);

#endif
