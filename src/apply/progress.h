/*
 * What sqlbundle-apply tells its user while it works: a progress line on
 * a terminal, one log line per step otherwise, JSON events with --json,
 * nothing but errors with -q. Server notices come through here too.
 */
#ifndef SQLBUNDLE_APPLY_PROGRESS_H
#define SQLBUNDLE_APPLY_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sqlbundle/contents.h"
#include "sqlbundle/err.h"
#include "sqlbundle/manifest.h"
#include "sqlbundle/open.h"

#include "plan.h"

/* Seconds between two plain progress lines by default. */
#define SB_PROGRESS_INTERVAL	10.0

struct sb_progress;
/*
 * Told of each step begun and chunk committed (status's running row);
 * commit: a serial chunk's transaction is open and about to commit.
 */
typedef void (*sb_progress_hook)(void *arg, const struct sb_progress *p,
    bool commit);

enum sb_progress_mode {
	SB_PROGRESS_LOG,	/* a line per step on stderr */
	SB_PROGRESS_TTY,	/* a \r line on stderr, at most once a second */
	SB_PROGRESS_JSON,	/* JSON objects, one a line, on stdout */
	SB_PROGRESS_QUIET	/* nothing */
};

struct sb_progress {
	enum sb_progress_mode mode;
	FILE		*out;		/* JSON events */
	FILE		*log;		/* human lines */
	const char	*dir;		/* "upgrade" or "downgrade" */
	char		 rev[64];
	size_t		 index, total;
	uint64_t	 seed_bytes;	/* loaded in this step */
	double		 step_start, last_draw;
	bool		 line_open;	/* a \r line is on the terminal */
	bool		 in_step;	/* between step_begin and step_done */
	size_t		 steps_done;
	char		 seed_file[256];	/* the last chunk's, or "" */
	uint64_t	 chunks;	/* committed in this step */
	double		 interval;	/* plain lines at most this often */
	double		 run_start, last_log;
	size_t		 last_len;	/* of the terminal line */
	/* What the run will do (sb_progress_plan), for totals. */
	const struct sb_manifest *m;
	const struct sb_plan	*plan;
	const struct sb_chunk_plan *cuts;
	uint64_t	 step_total;	/* seed bytes of the step */
	uint64_t	 done;		/* of them loaded, earlier runs' too */
	uint64_t	 rate_base;	/* done when this run began the step */
	uint64_t	 resumed, resumed_chunks;	/* by earlier runs */
	sb_progress_hook hook;
	void		*hook_arg;
};

/* Mode from the options: --json wins, then -q, then isatty(2). */
void	sb_progress_init(struct sb_progress *p, bool json, bool quiet);
/*
 * A run of bundle bo begins on database: nsteps steps in direction
 * ("upgrade" or "downgrade") from the version table's revisions from[]
 * to target.
 */
void	sb_progress_start(struct sb_progress *p, const char *direction,
	    const struct sb_open *bo,
	    const char *database, char *const *from, size_t nfrom,
	    const char *target, size_t nsteps);
/*
 * The run's plan and pass 1's entry sizes (cuts), for totals; resumed
 * bytes (in resumed_chunks chunks) of the first step were committed by
 * an earlier run.
 */
void	sb_progress_plan(struct sb_progress *p, const struct sb_manifest *m,
	    const struct sb_plan *plan, const struct sb_chunk_plan *cuts,
	    uint64_t resumed, uint64_t resumed_chunks);
/* Step index (1-based) of total begins: dir is "upgrade"/"downgrade". */
void	sb_progress_step_begin(struct sb_progress *p, const char *dir,
	    const char *rev, size_t index, size_t total);
/* Where an interrupted step resumes (a human sentence). */
void	sb_progress_resume(struct sb_progress *p, const char *what);
/* More seed bytes went to the server. */
void	sb_progress_seed(struct sb_progress *p, uint64_t bytes);
/* A serial chunk is about to commit: the hook's row goes with it. */
void	sb_progress_commit(struct sb_progress *p);
/* A seed chunk committed: entry, bytes and lines of it loaded so far. */
void	sb_progress_chunk(struct sb_progress *p, const char *entry,
	    uint64_t offset, uint64_t line);
void	sb_progress_step_done(struct sb_progress *p);
/*
 * --fingerprints recorded the schema at revision rev (digest, objects,
 * seconds its query took): an event of its own in JSON, nothing else.
 */
void	sb_progress_fingerprint(struct sb_progress *p, const char *rev,
	    const char *digest, size_t objects, double secs);
/* The run ended well: the database is at `at`. */
void	sb_progress_done(struct sb_progress *p, const char *command,
	    const char *at, size_t nsteps);
/* Error event (--json); the message itself is printed by main(). */
void	sb_progress_error(struct sb_progress *p, const struct sb_err *err);
/* A human line on stderr (waiting for the lock, ...); event "info". */
void	sb_progress_info(struct sb_progress *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A server notice (the text libpq formatted, newline-ended). */
void	sb_progress_notice(void *arg, const char *message);
/*
 * Catch SIGINT and SIGTERM: the run stops at its next safe point (a
 * commit), see sb_progress_check. A second signal ends the program.
 */
void	sb_progress_catch(void);
/*
 * At a safe point: after a caught signal, fill err (status 128 + the
 * signal) saying where the run stopped, and return -1.
 */
int	sb_progress_check(struct sb_progress *p, struct sb_err *err);
/* done and total in total's unit: "112.0/337.0 MiB" (sep "/" or " of "). */
void	sb_progress_sizes(uint64_t done, uint64_t total, const char *sep,
	    char *buf, size_t cap);
/* End any open terminal line before other output. */
void	sb_progress_flush(struct sb_progress *p);

#endif
