/*
 * A throwaway PostgreSQL server for `sqlbundle test`: initdb and pg_ctl in
 * a temporary folder, reachable only on a unix socket inside it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sqlbundle/fs.h"
#include "pgtmp.h"
#include "proc.h"

#define PG_LIBDIR	"/usr/lib/postgresql"
#define PG_PORT		"5432"		/* the socket's name; no TCP */
#define SOCKET_NAME	"/.s.PGSQL." PG_PORT
#define LOG_TAIL	600		/* bytes of a log quoted in an error */

static int
has_programs(const char *dir)
{
	char *a = sb_printf("%s/initdb", dir), *b = sb_printf("%s/pg_ctl", dir);
	int ok = access(a, X_OK) == 0 && access(b, X_OK) == 0;

	free(a);
	free(b);
	return ok;
}

/* The newest /usr/lib/postgresql/N/bin with the server programs. */
static char *
newest_libdir(void)
{
	DIR *d;
	struct dirent *de;
	char *best = NULL, *cand;
	long best_v = -1, v;

	if ((d = opendir(PG_LIBDIR)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		char *end;

		v = strtol(de->d_name, &end, 10);
		if (end == de->d_name || *end != '\0' || v <= best_v)
			continue;
		cand = sb_printf(PG_LIBDIR "/%s/bin", de->d_name);
		if (has_programs(cand)) {
			free(best);
			best = cand;
			best_v = v;
		} else {
			free(cand);
		}
	}
	closedir(d);
	return best;
}

static char *
on_path(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (path == NULL)
		return NULL;
	copy = sb_strdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && found == NULL;
	    dir = strtok_r(NULL, ":", &save))
		if (dir[0] != '\0' && has_programs(dir))
			found = sb_strdup(dir);
	free(copy);
	return found;
}

static int
find_bin(struct sb_pgtmp *pg, const char *pgbin, struct sb_err *err)
{
	const char *env = getenv("PGBIN");
	const char *given = pgbin != NULL ? pgbin :
	    (env != NULL && env[0] != '\0') ? env : NULL;

	if (given != NULL) {
		if (!has_programs(given))
			return sb_err_set(err, SB_EUSAGE, "no PostgreSQL server "
			    "programs (initdb, pg_ctl) in \"%s\"%s", given,
			    pgbin != NULL ? "" : " ($PGBIN)");
		pg->bin = sb_strdup(given);
		return 0;
	}
	if ((pg->bin = newest_libdir()) == NULL && (pg->bin = on_path()) == NULL) {
		sb_err_set(err, SB_EIO, "no PostgreSQL server programs (initdb, "
		    "pg_ctl) found for a throwaway server");
		sb_err_hint(err, "install postgresql, name their folder with "
		    "--pgbin, or give a database with --scratch CONNINFO");
		return -1;
	}
	return 0;
}

/* argv run as the "postgres" user when we are root. */
static int
run_owner(struct sb_pgtmp *pg, char **argv, const char *log, int *status,
    struct sb_err *err)
{
	char *full[16];
	int n = 0;

	if (geteuid() == 0) {
		full[n++] = "runuser";
		full[n++] = "-u";
		full[n++] = "postgres";
		full[n++] = "--";
	}
	for (int i = 0; argv[i] != NULL && n < 15; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	(void)pg;
	return sb_proc_run(full, log, log, true, status, err);
}

/* The end of a log, for an error's detail. */
static void
log_detail(struct sb_err *err, const char *log)
{
	struct sb_err ignored = SB_ERR_INIT;
	char *buf = NULL;
	size_t len = 0, from;

	if (sb_read_file(log, 1 << 20, &buf, &len, &ignored) == -1 ||
	    len == 0) {
		free(buf);
		return;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	from = len > LOG_TAIL ? len - LOG_TAIL : 0;
	/* Whole lines only. */
	while (from > 0 && from < len && buf[from - 1] != '\n')
		from++;
	sb_err_detail(err, "%s", buf + from);
	free(buf);
}

/* Can the user pw search every folder down to path? */
static bool
reachable(const char *path, const struct passwd *pw)
{
	char *copy = sb_strdup(path), *p = copy;
	struct stat st;
	bool ok = true;

	do {
		p = strchr(p + 1, '/');
		if (p != NULL)
			*p = '\0';
		if (stat(copy[0] ? copy : "/", &st) == -1 ||
		    !(st.st_uid == pw->pw_uid ? (st.st_mode & S_IXUSR) :
		    st.st_gid == pw->pw_gid ? (st.st_mode & S_IXGRP) :
		    (st.st_mode & S_IXOTH)))
			ok = false;
		if (p != NULL)
			*p = '/';
	} while (ok && p != NULL);
	free(copy);
	return ok;
}

static int
make_dir(struct sb_pgtmp *pg, struct sb_err *err)
{
	const char *tmp = getenv("TMPDIR");
	char *tmpl;
	struct passwd *pw;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	tmpl = sb_printf("%s/sqlbundle-test.XXXXXX", tmp);
	if (strlen(tmpl) + strlen(SOCKET_NAME) >=
	    sizeof(((struct sockaddr_un *)0)->sun_path)) {
		sb_err_set(err, SB_EUSAGE, "the temporary folder \"%s\" is too "
		    "long for a unix socket path", tmp);
		sb_err_hint(err, "set TMPDIR to a shorter folder");
		free(tmpl);
		return -1;
	}
	if (mkdtemp(tmpl) == NULL) {
		sb_err_sys(err, "could not create a folder in \"%s\"", tmp);
		free(tmpl);
		return -1;
	}
	pg->dir = tmpl;
	if (geteuid() == 0) {
		if ((pw = getpwnam("postgres")) == NULL)
			return sb_err_set(err, SB_EIO, "running as root, and no "
			    "\"postgres\" user to run a throwaway server as");
		if (!reachable(tmp, pw)) {
			sb_err_set(err, SB_EIO, "the postgres user, which runs "
			    "the throwaway server, cannot reach \"%s\"", tmp);
			sb_err_hint(err, "set TMPDIR to a folder it can reach");
			return -1;
		}
		if (chown(pg->dir, pw->pw_uid, pw->pw_gid) == -1)
			return sb_err_sys(err, "could not hand \"%s\" to the "
			    "postgres user", pg->dir);
	}
	return 0;
}

int
sb_pgtmp_start(struct sb_pgtmp *pg, const char *pgbin, struct sb_err *err)
{
	char *initdb = NULL, *pgctl = NULL, *data = NULL, *log = NULL;
	char *ilog = NULL, *opts = NULL;
	int status = 0, ret = -1;

	if (find_bin(pg, pgbin, err) == -1 || make_dir(pg, err) == -1)
		goto out;
	initdb = sb_printf("%s/initdb", pg->bin);
	pgctl = sb_printf("%s/pg_ctl", pg->bin);
	data = sb_printf("%s/data", pg->dir);
	log = sb_printf("%s/server.log", pg->dir);
	ilog = sb_printf("%s/initdb.log", pg->dir);
	{
		char *argv[] = { initdb, "-D", data, "-U", "postgres",
		    "--auth=trust", "--encoding=UTF8", "--no-locale",
		    "--no-sync", NULL };

		if (run_owner(pg, argv, ilog, &status, err) == -1)
			goto out;
		if (status != 0) {
			sb_err_set(err, SB_EIO, "initdb of a throwaway server "
			    "failed (%s, exit %d)", initdb, status);
			log_detail(err, ilog);
			goto out;
		}
	}
	opts = sb_printf("-c listen_addresses='' "
	    "-c unix_socket_directories='%s' -c port=" PG_PORT " "
	    "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
	    "-c wal_level=minimal -c max_wal_senders=0 -c autovacuum=off",
	    pg->dir);
	{
		char *argv[] = { pgctl, "-D", data, "-l", log, "-o", opts, "-w",
		    "-t", "600", "start", NULL };

		if (run_owner(pg, argv, ilog, &status, err) == -1)
			goto out;
		pg->running = 1;
		if (status != 0) {
			sb_err_set(err, SB_EIO, "the throwaway server did not "
			    "start (pg_ctl exit %d)", status);
			log_detail(err, log);
			goto out;
		}
	}
	pg->conninfo = sb_printf("host=%s port=" PG_PORT " user=postgres "
	    "dbname=postgres", pg->dir);
	ret = 0;
out:
	if (ret == -1)
		sb_pgtmp_stop(pg);
	free(initdb);
	free(pgctl);
	free(data);
	free(log);
	free(ilog);
	free(opts);
	return ret;
}

void
sb_pgtmp_stop(struct sb_pgtmp *pg)
{
	struct sb_err ignored = SB_ERR_INIT;
	int status;

	if (pg->running) {
		char *pgctl = sb_printf("%s/pg_ctl", pg->bin);
		char *data = sb_printf("%s/data", pg->dir);
		char *argv[] = { pgctl, "-D", data, "-m", "immediate", "-w",
		    "stop", NULL };

		/* The log is the only output: nothing of it matters now. */
		run_owner(pg, argv, "/dev/null", &status, &ignored);
		free(pgctl);
		free(data);
	}
	if (pg->dir != NULL)
		sb_proc_rmtree(pg->dir);
	free(pg->bin);
	free(pg->dir);
	free(pg->conninfo);
	memset(pg, 0, sizeof(*pg));
}
