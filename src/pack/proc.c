/*
 * Child programs: the PostgreSQL server programs of a throwaway server and
 * the applier a rehearsal drives. Output goes to files the caller reads,
 * or line by line to the caller.
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

/* Wait for pid (a signal to the caller reaches the child too). */
static int
reap(pid_t pid, const char *name, int *status, struct sb_err *err)
{
	pid_t r;
	int st;

	while ((r = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
		;
	if (r == -1)
		return sb_err_sys(err, "could not wait for \"%s\"", name);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

#define LINE_MAX_READ	(64 * 1024)

int
sb_proc_run_lines(char *const argv[], const char *errpath,
    void (*on_line)(void *arg, char *line), void *arg, int *status,
    struct sb_err *err)
{
	char *buf = malloc(LINE_MAX_READ + 1), *nl;
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int fds[2];

	if (buf == NULL)
		return sb_err_set(err, SB_EIO, "out of memory");
	fflush(NULL);
	if (pipe2(fds, O_CLOEXEC) == -1) {
		free(buf);
		return sb_err_sys(err, "could not start \"%s\"", argv[0]);
	}
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		free(buf);
		return sb_err_sys(err, "could not start \"%s\"", argv[0]);
	}
	if (pid == 0) {
		if (redirect(0, "/dev/null", O_RDONLY) == -1 ||
		    dup2(fds[1], 1) == -1 ||
		    redirect(2, errpath, O_WRONLY | O_CREAT | O_TRUNC) == -1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "could not run \"%s\": %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		n = read(fds[0], buf + len, LINE_MAX_READ - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			on_line(arg, buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
			buf[len] = '\0';
		}
		if (len == LINE_MAX_READ) {
			on_line(arg, buf);
			len = 0;
		}
	}
	if (len > 0) {
		buf[len] = '\0';
		on_line(arg, buf);
	}
	close(fds[0]);
	free(buf);
	return reap(pid, argv[0], status, err);
}

int
sb_proc_run(char *const argv[], const char *out, const char *errpath,
    bool new_session, int *status, struct sb_err *err)
{
	pid_t pid;

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
	return reap(pid, argv[0], status, err);
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
