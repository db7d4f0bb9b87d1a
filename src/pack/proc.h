/* Child programs of sqlbundle: run one, wait for it, keep its output. */
#ifndef SQLBUNDLE_PACK_PROC_H
#define SQLBUNDLE_PACK_PROC_H

#include <stdbool.h>

#include "sqlbundle/err.h"

/*
 * Run argv (argv[0] looked up on PATH) with stdin from /dev/null and
 * stdout and stderr written to the files out and errpath (created or
 * truncated, mode 0600; NULL: inherited). new_session puts the child in
 * a session of its own, out of reach of the terminal's Ctrl-C (a server
 * the caller stops itself). Waits for it; *status is its exit status, or
 * 128 + the signal that killed it. Returns -1 with err (SB_EIO) only when
 * it could not be started.
 */
int	sb_proc_run(char *const argv[], const char *out, const char *errpath,
	    bool new_session, int *status, struct sb_err *err);

/*
 * As sb_proc_run, but the child's stdout comes through a pipe: each line
 * (without its newline, NUL-terminated; a longer one than 64 KiB in
 * pieces) goes to on_line as it is written, so the caller can follow a
 * long run.
 */
int	sb_proc_run_lines(char *const argv[], const char *errpath,
	    void (*on_line)(void *arg, char *line), void *arg, int *status,
	    struct sb_err *err);

/* Remove path and everything under it; a missing path is fine. */
void	sb_proc_rmtree(const char *path);

#endif
