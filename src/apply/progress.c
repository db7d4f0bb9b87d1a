/* Progress line, log lines and JSON events of sqlbundle-apply. */
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sqlbundle/json.h"
#include "sqlbundle/text.h"

#include "progress.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The signal caught (SIGINT, SIGTERM), 0 while none. */
static volatile sig_atomic_t caught;

static void
on_signal(int sig)
{
	caught = sig;
}

void
sb_progress_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* Reads restart; the second signal takes the default action. */
	sa.sa_flags = SA_RESTART | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
sb_progress_check(struct sb_progress *p, struct sb_err *err)
{
	int sig = caught;
	char where[512];

	if (sig == 0)
		return 0;
	if (p->in_step && p->chunks > 0)
		snprintf(where, sizeof(where), "%s %zu/%zu of revision %s, "
		    "after %llu committed chunk%s of %s", p->dir, p->index,
		    p->total, p->rev, (unsigned long long)p->chunks,
		    p->chunks == 1 ? "" : "s", p->seed_file);
	else if (p->in_step)
		snprintf(where, sizeof(where), "%s %zu/%zu of revision %s",
		    p->dir, p->index, p->total, p->rev);
	else if (p->steps_done > 0)
		snprintf(where, sizeof(where), "%s, after step %zu/%zu "
		    "(revision %s)", p->dir, p->steps_done, p->total, p->rev);
	else
		snprintf(where, sizeof(where), "%s, before its first step",
		    p->dir);
	sb_err_set(err, 128 + sig, "interrupted during %s; nothing is "
	    "half-done; run the same command to resume", where);
	sb_err_detail(err, "caught %s; stopped at the next commit",
	    sig == SIGINT ? "SIGINT" : "SIGTERM");
	return -1;
}

void
sb_progress_init(struct sb_progress *p, bool json, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->out = stdout;
	p->log = stderr;
	p->dir = "upgrade";
	p->interval = SB_PROGRESS_INTERVAL;
	p->run_start = now();
	if (json)
		p->mode = SB_PROGRESS_JSON;
	else if (quiet)
		p->mode = SB_PROGRESS_QUIET;
	else if (isatty(STDERR_FILENO))
		p->mode = SB_PROGRESS_TTY;
	else
		p->mode = SB_PROGRESS_LOG;
}

void
sb_progress_flush(struct sb_progress *p)
{
	if (p->line_open) {
		fputc('\n', p->log);
		p->line_open = false;
		p->last_len = 0;
	}
	fflush(p->log);
}

static void
human_size(uint64_t b, char *buf, size_t cap)
{
	if (b < 1024)
		snprintf(buf, cap, "%llu B", (unsigned long long)b);
	else if (b < 1024 * 1024)
		snprintf(buf, cap, "%.1f KiB", (double)b / 1024);
	else if (b < 1024ull * 1024 * 1024)
		snprintf(buf, cap, "%.1f MiB", (double)b / (1024 * 1024));
	else
		snprintf(buf, cap, "%.1f GiB",
		    (double)b / (1024.0 * 1024 * 1024));
}

/* 83 s as "1:23", an hour and more as "1:02:03". */
static void
clock_words(double secs, char *buf, size_t cap)
{
	unsigned long s = secs > 0 ? (unsigned long)(secs + 0.5) : 0;

	if (s >= 3600)
		snprintf(buf, cap, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60,
		    s % 60);
	else
		snprintf(buf, cap, "%lu:%02lu", s / 60, s % 60);
}

void
sb_progress_sizes(uint64_t done, uint64_t total, const char *sep, char *buf,
    size_t cap)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB" };
	double div = 1;
	int u = 0;

	while (u < 3 && total >= 1024 * div) {
		div *= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%llu%s%llu B", (unsigned long long)done,
		    sep, (unsigned long long)total);
	else
		snprintf(buf, cap, "%.1f%s%.1f %s", (double)done / div, sep,
		    (double)total / div, unit[u]);
}

/*
 * Where the run stands: step, revision, seed bytes done of the step's
 * total, percent, rate and time left, time since the run began. On a
 * terminal columns, else a sentence.
 */
static void
words(struct sb_progress *p, bool tty, char *buf, size_t cap)
{
	double t = now(), secs = t - p->step_start;
	double rate = secs > 0 ? (double)(p->done - p->rate_base) / secs : 0;
	char sz[64], r[32], eta[32], el[32];
	int n;

	clock_words(t - p->run_start, el, sizeof(el));
	n = snprintf(buf, cap, "%s %zu/%zu %s", p->dir, p->index, p->total,
	    p->rev);
	if (n < 0 || (size_t)n >= cap)
		return;
	if (p->step_total == 0) {
		snprintf(buf + n, cap - (size_t)n, tty ? "  elapsed %s" :
		    ": elapsed %s", el);
		return;
	}
	sb_progress_sizes(p->done, p->step_total, tty ? "/" : " of ", sz,
	    sizeof(sz));
	if (rate >= 1 && p->done > p->rate_base) {
		human_size((uint64_t)rate, r, sizeof(r));
		clock_words((double)(p->step_total - p->done) / rate, eta,
		    sizeof(eta));
	} else {
		snprintf(r, sizeof(r), "-");
		snprintf(eta, sizeof(eta), "-:--");
	}
	snprintf(buf + n, cap - (size_t)n, tty ?
	    "  seed %s  %3.0f%%  %s/s  ETA %s  elapsed %s" :
	    ": seed %s (%.0f%%), %s/s, ETA %s, elapsed %s", sz,
	    100.0 * (double)p->done / (double)p->step_total, r, eta, el);
}

/* Redraw the terminal line, at most once a second unless forced. */
static void
draw(struct sb_progress *p, bool force)
{
	char line[256];
	size_t len;

	if (!force && p->line_open && now() - p->last_draw < 1.0)
		return;
	words(p, true, line, sizeof(line));
	len = strlen(line);
	/* Blank what a longer line before left. */
	fprintf(p->log, "\r%s%*s", line, p->last_len > len ?
	    (int)(p->last_len - len) : 0, "");
	fflush(p->log);
	p->last_len = len;
	p->line_open = true;
	p->last_draw = now();
}

/* Off a terminal: a plain line, at most every p->interval seconds. */
static void
log_line(struct sb_progress *p)
{
	char line[256];
	double t = now();

	if (t - p->last_log < p->interval)
		return;
	words(p, false, line, sizeof(line));
	fprintf(p->log, "%s\n", line);
	fflush(p->log);
	p->last_log = t;
}

/* A change the terminal line or the log should show. */
static void
moved(struct sb_progress *p)
{
	if (p->mode == SB_PROGRESS_TTY)
		draw(p, false);
	else if (p->mode == SB_PROGRESS_LOG)
		log_line(p);
}

void
sb_progress_plan(struct sb_progress *p, const struct sb_manifest *m,
    const struct sb_plan *plan, const struct sb_chunk_plan *cuts,
    uint64_t resumed, uint64_t resumed_chunks)
{
	p->m = m;
	p->plan = plan;
	p->cuts = cuts;
	p->resumed = resumed;
	p->resumed_chunks = resumed_chunks;
}

/* Seed bytes of step index (from 1), from pass 1's entry sizes. */
static uint64_t
step_seed_bytes(const struct sb_progress *p, size_t index)
{
	const struct sb_step *st;
	const struct sb_manifest_rev *r;
	uint64_t sum = 0;

	if (p->plan == NULL || p->cuts == NULL || p->cuts->entries == NULL ||
	    index == 0 || index > p->plan->nsteps)
		return 0;
	st = &p->plan->steps[index - 1];
	r = &p->m->revs[st->rev];
	for (size_t k = 0; st->dir == SB_DIR_UP && k < r->nseeds; k++)
		sum += p->cuts->entries[r->first_seed + k].size;
	return sum;
}

void
sb_progress_start(struct sb_progress *p, const char *direction,
    const struct sb_open *bo, const char *database, char *const *from,
    size_t nfrom, const char *target, size_t nsteps)
{
	struct sb_json j;

	p->dir = direction;
	p->total = nsteps;
	if (p->mode != SB_PROGRESS_JSON)
		return;
	sb_json_begin(&j, p->out, "start");
	sb_json_str(&j, "direction", p->dir);
	sb_open_json(bo, &j);
	sb_json_str(&j, "database", database);
	sb_json_strs(&j, "revisions", from, nfrom);
	sb_json_str(&j, "target", target);
	sb_json_uint(&j, "step_count", nsteps);
	sb_json_end(&j);
}

/* The members every step event starts with. */
static void
step_json(struct sb_progress *p, struct sb_json *j, const char *event)
{
	sb_json_begin(j, p->out, event);
	sb_json_str(j, "direction", p->dir);
	sb_json_str(j, "revision", p->rev);
}

void
sb_progress_step_begin(struct sb_progress *p, const char *dir,
    const char *rev, size_t index, size_t total)
{
	struct sb_json j;

	p->dir = dir;
	snprintf(p->rev, sizeof(p->rev), "%s", rev);
	p->index = index;
	p->total = total;
	p->seed_bytes = 0;
	p->in_step = true;
	p->chunks = index == 1 ? p->resumed_chunks : 0;
	p->seed_file[0] = '\0';
	p->step_start = now();
	p->last_log = p->step_start;
	p->step_total = step_seed_bytes(p, index);
	p->done = p->rate_base = index == 1 ? p->resumed : 0;
	if (p->hook != NULL)
		p->hook(p->hook_arg, p, false);
	switch (p->mode) {
	case SB_PROGRESS_JSON:
		step_json(p, &j, "step_begin");
		sb_json_uint(&j, "index", index);
		sb_json_uint(&j, "step_count", total);
		sb_json_end(&j);
		break;
	case SB_PROGRESS_TTY:
		/* A seeded step is long: shown at once. */
		draw(p, p->step_total > 0);
		break;
	default:
		break;
	}
}

void
sb_progress_resume(struct sb_progress *p, const char *what)
{
	struct sb_json j;
	char msg[768], sz[64];

	/* What earlier runs committed, and that the count goes on from it. */
	if (p->step_total > 0 && p->done > 0) {
		sb_progress_sizes(p->done, p->step_total, " of ", sz,
		    sizeof(sz));
		snprintf(msg, sizeof(msg), "%s; %s committed (%llu chunk%s), "
		    "loading on from there", what, sz,
		    (unsigned long long)p->chunks, p->chunks == 1 ? "" : "s");
	} else {
		snprintf(msg, sizeof(msg), "%s", what);
	}
	switch (p->mode) {
	case SB_PROGRESS_JSON:
		step_json(p, &j, "resume");
		sb_json_str(&j, "message", msg);
		if (p->step_total > 0) {
			sb_json_uint(&j, "bytes_done", p->done);
			sb_json_uint(&j, "bytes_total", p->step_total);
		}
		sb_json_end(&j);
		break;
	case SB_PROGRESS_TTY:
	case SB_PROGRESS_LOG:
		sb_progress_flush(p);
		fprintf(p->log, "resuming %s %s: %s\n", p->dir, p->rev, msg);
		fflush(p->log);
		break;
	default:
		break;
	}
}

void
sb_progress_seed(struct sb_progress *p, uint64_t bytes)
{
	p->seed_bytes += bytes;
	p->done += bytes;
	/* A resumed parallel load counts its first chunk's header twice. */
	if (p->step_total > 0 && p->done > p->step_total)
		p->done = p->step_total;
	moved(p);
}

void
sb_progress_commit(struct sb_progress *p)
{
	if (p->hook != NULL)
		p->hook(p->hook_arg, p, true);
}

void
sb_progress_chunk(struct sb_progress *p, const char *entry, uint64_t offset,
    uint64_t line)
{
	struct sb_json j;

	p->chunks++;
	snprintf(p->seed_file, sizeof(p->seed_file), "%s", entry);
	if (p->hook != NULL)
		p->hook(p->hook_arg, p, false);
	if (p->mode != SB_PROGRESS_JSON)
		return;
	step_json(p, &j, "chunk");
	sb_json_str(&j, "seed_file", entry);
	sb_json_uint(&j, "seed_offset", offset);
	sb_json_uint(&j, "seed_line", line);
	sb_json_uint(&j, "bytes_done", p->done);
	sb_json_uint(&j, "bytes_total", p->step_total);
	sb_json_end(&j);
}

void
sb_progress_step_done(struct sb_progress *p)
{
	double secs = now() - p->step_start;
	struct sb_json j;
	char size[32];

	p->in_step = false;
	p->steps_done++;
	switch (p->mode) {
	case SB_PROGRESS_JSON:
		step_json(p, &j, "step_done");
		sb_json_uint(&j, "index", p->index);
		sb_json_uint(&j, "step_count", p->total);
		sb_json_secs(&j, "seconds", secs);
		sb_json_uint(&j, "seed_bytes", p->seed_bytes);
		sb_json_end(&j);
		break;
	case SB_PROGRESS_TTY:
		/* The last step's line stays on screen. */
		draw(p, p->index == p->total);
		break;
	case SB_PROGRESS_LOG:
		fprintf(p->log, "%sd %s (%zu/%zu) in %.2f s", p->dir, p->rev,
		    p->index, p->total, secs);
		if (p->seed_bytes > 0) {
			human_size(p->seed_bytes, size, sizeof(size));
			fprintf(p->log, ", seed %s", size);
		}
		fputc('\n', p->log);
		fflush(p->log);
		break;
	default:
		break;
	}
}

void
sb_progress_fingerprint(struct sb_progress *p, const char *rev,
    const char *digest, size_t objects, double secs)
{
	struct sb_json j;

	if (p->mode != SB_PROGRESS_JSON)
		return;
	sb_json_begin(&j, p->out, "fingerprint_recorded");
	sb_json_str(&j, "revision", rev);
	sb_json_str(&j, "digest", digest);
	sb_json_uint(&j, "objects", objects);
	sb_json_secs(&j, "seconds", secs);
	sb_json_end(&j);
}

void
sb_progress_done(struct sb_progress *p, const char *command, const char *at,
    size_t nsteps)
{
	struct sb_json j;

	switch (p->mode) {
	case SB_PROGRESS_JSON:
		sb_json_begin(&j, p->out, "done");
		sb_json_str(&j, "direction", command);
		sb_json_str(&j, "target", at);
		sb_json_uint(&j, "step_count", nsteps);
		sb_json_end(&j);
		break;
	case SB_PROGRESS_TTY:
	case SB_PROGRESS_LOG:
		sb_progress_flush(p);
		if (nsteps == 0)
			fprintf(p->out, "database already at %s, nothing to "
			    "do\n", at);
		else
			fprintf(p->out, "database at %s after %zu %s%s\n", at,
			    nsteps, command, nsteps == 1 ? "" : "s");
		fflush(p->out);
		break;
	default:
		break;
	}
}

void
sb_progress_error(struct sb_progress *p, const struct sb_err *err)
{
	if (p->mode != SB_PROGRESS_JSON) {
		sb_progress_flush(p);
		return;
	}
	sb_json_error(p->out, err);
}

/* A line of text: an event of its own in JSON, a log line otherwise. */
static void
emit_text(struct sb_progress *p, const char *event, const char *msg)
{
	struct sb_json j;

	switch (p->mode) {
	case SB_PROGRESS_JSON:
		sb_json_begin(&j, p->out, event);
		sb_json_str(&j, "message", msg);
		sb_json_end(&j);
		break;
	case SB_PROGRESS_TTY:
	case SB_PROGRESS_LOG:
		/* Server notices and names from the bundle: escaped. */
		sb_progress_flush(p);
		sb_put_text(p->log, msg);
		fputc('\n', p->log);
		fflush(p->log);
		break;
	default:
		break;
	}
}

void
sb_progress_info(struct sb_progress *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit_text(p, "info", msg);
}

void
sb_progress_notice(void *arg, const char *message)
{
	struct sb_progress *p = arg;
	char msg[2048];
	size_t n;

	snprintf(msg, sizeof(msg), "%s", message);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	emit_text(p, "notice", msg);
}
