/*
 * Workers of a parallel seed load: one thread, one connection and one
 * spool file each. A worker only ever touches its own job; the pool's
 * mutex guards `busy` and `quit`, one condition variable wakes both
 * sides.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sqlbundle/fs.h"

#include "jobs.h"

/* Bytes read from a spool file at a time. */
#define SPOOL_BUF	(256 * 1024)

struct worker {
	struct sb_jobs	*pool;
	pthread_t	 th;
	bool		 started;	/* th is running */
	struct sb_db	*db;
	char		*buf;
	bool		 busy;		/* guarded by pool->mu */
	struct sb_job	 job;
};

struct sb_jobs {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	bool		 quit;		/* guarded by mu */
	/* Commit order, guarded by mu: the next job to commit, the next
	 * to start, and whether one failed. */
	uint64_t	 next, issued;
	bool		 halted;
	struct worker	*w;
	unsigned	 n;
};

unsigned
sb_jobs_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > SB_JOBS_DEFAULT_MAX ? SB_JOBS_DEFAULT_MAX : (unsigned)n;
}

/* Notices of a worker's connection, kept for the caller to show. */
static void
keep_notice(void *arg, const char *message)
{
	struct sb_job *j = arg;
	size_t len = strlen(message), room;

	room = sizeof(j->notices) - strlen(j->notices) - 1;
	if (len > room) {
		j->nnotices++;
		return;
	}
	strcat(j->notices, message);
}

/* Between a chunk's checks of whether it stands in another's way. */
#define TURN_POLL_MS	50

/* The chunk in the spool file into COPY, then its row; *open after. */
static int
copy_chunk(struct worker *w, bool *open)
{
	struct sb_job *j = &w->job;
	bool copying = false;
	size_t failed;
	uint64_t off;

	if (sb_db_exec(w->db, "BEGIN", &j->diag, &j->err) == -1 ||
	    sb_db_copy_begin(w->db, j->copy_sql, &j->diag, &j->err) == -1)
		goto fail;
	copying = true;
	for (off = 0; off < j->len;) {
		size_t want = j->len - off < SPOOL_BUF ?
		    (size_t)(j->len - off) : SPOOL_BUF;
		ssize_t r = pread(j->fd, w->buf, want, (off_t)off);

		if (r <= 0) {
			sb_err_set(&j->err, SB_EIO, "spool file: %s",
			    r == 0 ? "short read" : strerror(errno));
			goto fail;
		}
		if (sb_db_copy_put(w->db, w->buf, (size_t)r, &j->diag,
		    &j->err) == -1) {
			copying = false;
			goto fail;
		}
		off += (uint64_t)r;
	}
	copying = false;
	if (sb_db_copy_end(w->db, &j->diag, &j->err) == -1 ||
	    sb_db_pipeline(w->db, &j->row_q, 1, &failed, &j->diag,
	    &j->err) == -1)
		goto fail;
	*open = true;
	return 0;
fail:
	if (copying)
		sb_db_copy_abort(w->db);
	sb_db_rollback(w->db);
	*open = false;
	return -1;
}

/* Whether the worker's open transaction holds a lock someone waits for. */
static bool
in_the_way(struct worker *w)
{
	struct sb_rows rows = SB_ROWS_INIT;
	struct sb_err err = SB_ERR_INIT;
	const char *v;
	bool yes = false;

	if (sb_db_query(w->db, "SELECT EXISTS (SELECT 1 FROM pg_locks l "
	    "WHERE NOT l.granted AND pg_backend_pid() = ANY "
	    "(pg_blocking_pids(l.pid)))", 0, NULL, &rows, NULL, &err) == 0 &&
	    rows.nrows == 1 && (v = sb_rows_get(&rows, 0, 0)) != NULL)
		yes = strcmp(v, "t") == 0;
	sb_rows_release(&rows);
	return yes;
}

/*
 * Wait for the job's turn to commit: true then, false if an earlier job
 * failed. Meanwhile an open transaction that stands in an earlier
 * chunk's way (its COPY waits for a key this one inserted) is rolled
 * back: that chunk could never commit first otherwise.
 */
static bool
wait_turn(struct worker *w, bool *open)
{
	struct sb_jobs *p = w->pool;
	struct timespec ts;
	bool turn;

	pthread_mutex_lock(&p->mu);
	while (!p->halted && p->next != w->job.seq) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TURN_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (p->halted || p->next == w->job.seq || !*open)
			continue;
		pthread_mutex_unlock(&p->mu);
		if (in_the_way(w)) {
			sb_db_rollback(w->db);
			*open = false;
		}
		pthread_mutex_lock(&p->mu);
	}
	turn = !p->halted;
	pthread_mutex_unlock(&p->mu);
	return turn;
}

/* The job's turn is over: the next may commit, or none after a failure. */
static void
end_turn(struct sb_jobs *p, bool ok)
{
	pthread_mutex_lock(&p->mu);
	if (ok)
		p->next++;
	else
		p->halted = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/*
 * Load the chunk, then commit it with its chunk row in turn (file
 * order), loading it again if it had to step back.
 */
static int
load(struct worker *w)
{
	struct sb_job *j = &w->job;
	bool open = false;
	int rc = copy_chunk(w, &open);

	if (!wait_turn(w, &open)) {
		if (open)
			sb_db_rollback(w->db);
		if (rc == 0) {
			j->held = true;
			sb_err_set(&j->err, SB_EDB, "not committed: an "
			    "earlier chunk failed");
		}
		return -1;
	}
	if (rc == 0 && !open)
		rc = copy_chunk(w, &open);
	if (rc == 0 && sb_db_exec(w->db, "COMMIT", &j->diag, &j->err) == -1) {
		sb_db_rollback(w->db);
		rc = -1;
	}
	end_turn(w->pool, rc == 0);
	return rc;
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct sb_jobs *p = w->pool;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!w->busy && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!w->busy) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		pthread_mutex_unlock(&p->mu);
		w->job.rc = load(w);
		pthread_mutex_lock(&p->mu);
		w->busy = false;
		w->job.done = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* An unlinked temporary file in $TMPDIR, or /var/tmp (on disk). */
static int
spool_open(struct sb_err *err)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/var/tmp";
	path = sb_printf("%s/sqlbundle-apply.XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1)
		sb_err_set(err, SB_EIO, "could not create a spool file in %s: "
		    "%s", dir, strerror(errno));
	else
		unlink(path);
	free(path);
	return fd;
}

static int
worker_open(struct worker *w, const char *conninfo, struct sb_err *err)
{
	w->job.fd = -1;
	if (sb_db_connect(&w->db, conninfo, keep_notice, &w->job, err) == -1)
		return -1;
	if (sb_db_exec(w->db, "SET synchronous_commit = off", NULL,
	    err) == -1)
		return -1;
	if ((w->job.fd = spool_open(err)) == -1)
		return -1;
	w->buf = sb_malloc(SPOOL_BUF);
	if ((errno = pthread_create(&w->th, NULL, work, w)) != 0)
		return sb_err_set(err, SB_EIO, "could not start a loader "
		    "thread: %s", strerror(errno));
	w->started = true;
	return 0;
}

int
sb_jobs_open(struct sb_jobs **pp, unsigned n, const char *conninfo,
    struct sb_err *err)
{
	struct sb_jobs *p = sb_calloc(1, sizeof(*p));

	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->w = sb_calloc(n, sizeof(*p->w));
	for (p->n = 0; p->n < n; p->n++) {
		p->w[p->n].pool = p;
		if (worker_open(&p->w[p->n], conninfo, err) == -1) {
			p->n++;
			sb_err_prefix(err, "parallel load, connection %u",
			    p->n);
			sb_jobs_close(p);
			return -1;
		}
	}
	*pp = p;
	return 0;
}

void
sb_jobs_close(struct sb_jobs *p)
{
	if (p == NULL)
		return;
	sb_jobs_drain(p);
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];

		if (w->started)
			pthread_join(w->th, NULL);
		sb_db_close(w->db);
		if (w->job.fd != -1)
			close(w->job.fd);
		free(w->buf);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->w);
	free(p);
}

struct sb_job *
sb_jobs_idle(struct sb_jobs *p, struct sb_err *err)
{
	struct worker *w = NULL;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		/* Finished jobs first, so their outcome is seen at once. */
		for (unsigned i = 0; i < p->n && w == NULL; i++)
			if (!p->w[i].busy && p->w[i].job.done)
				w = &p->w[i];
		for (unsigned i = 0; i < p->n && w == NULL; i++)
			if (!p->w[i].busy)
				w = &p->w[i];
		if (w != NULL)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	if (ftruncate(w->job.fd, 0) == -1 ||
	    lseek(w->job.fd, 0, SEEK_SET) == -1) {
		sb_err_set(err, SB_EIO, "spool file: %s", strerror(errno));
		return NULL;
	}
	return &w->job;
}

void
sb_jobs_start(struct sb_jobs *p, struct sb_job *j)
{
	struct worker *w = (struct worker *)((char *)j -
	    offsetof(struct worker, job));

	j->done = false;
	j->held = false;
	j->rc = 0;
	sb_err_clear(&j->err);
	memset(&j->diag, 0, sizeof(j->diag));
	j->notices[0] = '\0';
	j->nnotices = 0;
	pthread_mutex_lock(&p->mu);
	j->seq = p->issued++;
	w->busy = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void
sb_jobs_reset(struct sb_jobs *p)
{
	pthread_mutex_lock(&p->mu);
	p->next = p->issued = 0;
	p->halted = false;
	pthread_mutex_unlock(&p->mu);
}

bool
sb_jobs_halted(struct sb_jobs *p)
{
	bool h;

	pthread_mutex_lock(&p->mu);
	h = p->halted;
	pthread_mutex_unlock(&p->mu);
	return h;
}

void
sb_jobs_drain(struct sb_jobs *p)
{
	bool busy = true;

	pthread_mutex_lock(&p->mu);
	while (busy) {
		busy = false;
		for (unsigned i = 0; i < p->n; i++)
			busy = busy || p->w[i].busy;
		if (busy)
			pthread_cond_wait(&p->cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

struct sb_job *
sb_jobs_job(struct sb_jobs *p, unsigned i)
{
	return &p->w[i].job;
}

unsigned
sb_jobs_count(const struct sb_jobs *p)
{
	return p->n;
}
