/*
 * Child programs: the PostgreSQL server programs of a throwaway server and
 * the applier a rehearsal drives. Output goes to files the caller reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

/* In the child: fd becomes path (or stays as it is when path is NULL). */
static int
redirect(int fd, const char *path, int flags)
{
	int f;

	if (path == NULL)
		return 0;
	if ((f = open(path, flags | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (dup2(f, fd) == -1)
		return -1;
	close(f);
	return 0;
}

int
sb_proc_run(char *const argv[], const char *out, const char *errpath,
    bool new_session, int *status, struct sb_err *err)
{
	pid_t pid, r;
	int st;

	fflush(NULL);
	if ((pid = fork()) == -1)
		return sb_err_sys(err, "could not start \"%s\"", argv[0]);
	if (pid == 0) {
		if (new_session)
			setsid();
		if (redirect(0, "/dev/null", O_RDONLY) == -1 ||
		    redirect(1, out, O_WRONLY | O_CREAT | O_TRUNC) == -1 ||
		    redirect(2, errpath, O_WRONLY | O_CREAT | O_TRUNC) == -1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "could not run \"%s\": %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	/* A signal to the caller (Ctrl-C) reaches the child too: wait. */
	while ((r = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
		;
	if (r == -1)
		return sb_err_sys(err, "could not wait for \"%s\"", argv[0]);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void
sb_proc_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
