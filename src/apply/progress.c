/* Progress line, log lines and JSON events of sqlbundle-apply. */
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

void
sb_progress_init(struct sb_progress *p, bool json, bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->out = stdout;
	p->log = stderr;
	p->dir = "upgrade";
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

/* Redraw the terminal line, at most once a second unless forced. */
static void
draw(struct sb_progress *p, bool force)
{
	char line[160], size[32];
	int n;

	if (!force && p->line_open && now() - p->last_draw < 1.0)
		return;

	n = snprintf(line, sizeof(line), "%s %zu/%zu %s", p->dir, p->index,
	    p->total, p->rev);
	if (p->seed_bytes > 0 && n > 0 && (size_t)n < sizeof(line)) {
		human_size(p->seed_bytes, size, sizeof(size));
		snprintf(line + n, sizeof(line) - (size_t)n, "  seed %s", size);
	}
	fprintf(p->log, "\r%-60s", line);
	fflush(p->log);
	p->line_open = true;
	p->last_draw = now();
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
	p->step_start = now();
	switch (p->mode) {
	case SB_PROGRESS_JSON:
		step_json(p, &j, "step_begin");
		sb_json_uint(&j, "index", index);
		sb_json_uint(&j, "step_count", total);
		sb_json_end(&j);
		break;
	case SB_PROGRESS_TTY:
		draw(p, false);
		break;
	default:
		break;
	}
}

void
sb_progress_resume(struct sb_progress *p, const char *what)
{
	struct sb_json j;

	switch (p->mode) {
	case SB_PROGRESS_JSON:
		step_json(p, &j, "resume");
		sb_json_str(&j, "message", what);
		sb_json_end(&j);
		break;
	case SB_PROGRESS_TTY:
	case SB_PROGRESS_LOG:
		sb_progress_flush(p);
		fprintf(p->log, "resuming %s %s: %s\n", p->dir, p->rev, what);
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
	if (p->mode == SB_PROGRESS_TTY)
		draw(p, false);
}

void
sb_progress_chunk(struct sb_progress *p, const char *entry, uint64_t offset,
    uint64_t line)
{
	struct sb_json j;

	if (p->mode != SB_PROGRESS_JSON)
		return;
	step_json(p, &j, "chunk");
	sb_json_str(&j, "seed_file", entry);
	sb_json_uint(&j, "seed_offset", offset);
	sb_json_uint(&j, "seed_line", line);
	sb_json_end(&j);
}

void
sb_progress_step_done(struct sb_progress *p)
{
	double secs = now() - p->step_start;
	struct sb_json j;
	char size[32];

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
		sb_progress_flush(p);
		fprintf(p->log, "%s\n", msg);
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
