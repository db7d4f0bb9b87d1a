/*
 * `sqlbundle pack`: hash every input, sign the manifest, then stream the
 * bundle into a temporary file that is renamed into place only when whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/crypto.h"
#include "sqlbundle/fingerprint.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/manifest.h"
#include "checksums.h"
#include "cmd.h"
#include "conf.h"
#include "fprec.h"
#include "hygiene.h"
#include "envelope.h"
#include "keys.h"
#include "sqlbundle/trust.h"
#include "opts.h"
#include "pack.h"
#include "seedcsv.h"
#include "seeds.h"
#include "writer.h"

#define CHUNK		(1024 * 1024)	/* seed files stream through this */
#define USTAR_NAME_MAX	100
#define USTAR_PATH_MAX	255
#define TMP_PATH_MAX	4096
/* ustar's 11 octal digits of mtime. */
#define MTIME_MAX	INT64_C(077777777777)


/* Where the bytes of each manifest entry come from. */
struct source {
	const char	*data;		/* script body in memory, or NULL */
	const char	*path;		/* seed file to stream */
	uint64_t	 size;
};

/* One pack run: everything it holds, released in one place. */
struct pack_run {
	struct sb_conf		 conf;
	struct sb_chain		 chain;
	struct sb_seeds		 seeds;
	struct sb_fprec		 fprec;		/* revisions/FINGERPRINTS */
	struct sb_privkey	*key;
	struct sb_sig		 sigs[SB_SIGS_MAX];	/* sigs[0]: Key-Id */
	size_t			 nsigs;
	struct sb_root		 roots[SB_SIGS_MAX];
	size_t			 nroots;
	struct sb_manifest	 m;
	struct source		*src;	/* parallel to m.entries */
	char			*text;	/* MANIFEST bytes */
	size_t			 len;
	char			 id[SB_SHA256_HEX];
	char			*keypath, *target, *tmp;
	struct sb_writer	*w;
	unsigned char		*buf;
	ssize_t			 first, last;	/* range (first, last] */
};

/*
 * A signal must not leave a half-written bundle behind: the handler
 * removes the temporary file (unlink is async-signal-safe) and dies of
 * the same signal.
 */
static volatile sig_atomic_t tmp_armed;
static char tmp_path[TMP_PATH_MAX];
static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NSIGNALS	(sizeof(fatal_signals) / sizeof(fatal_signals[0]))

static void
on_fatal_signal(int sig)
{
	if (tmp_armed)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

struct saved_signals {
	struct sigaction	old[NSIGNALS];
	struct sigaction	old_xfsz;
};

static void
signals_install(struct saved_signals *saved)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaddset(&sa.sa_mask, fatal_signals[i]);
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(fatal_signals[i], &sa, &saved->old[i]);
	/* Past a file-size limit, write(2) must fail, not kill us. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGXFSZ, &sa, &saved->old_xfsz);
}

static void
signals_restore(const struct saved_signals *saved)
{
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(fatal_signals[i], &saved->old[i], NULL);
	sigaction(SIGXFSZ, &saved->old_xfsz, NULL);
}

static void
signals_block(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaddset(&set, fatal_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void
pack_usage(FILE *fp)
{
	fputs("Usage: sqlbundle pack --key KEYFILE... [OPTIONS]\n"
	    "\n"
	    "Pack the revisions after FROM up to TO, their downgrades and "
	    "seed data\n"
	    "into a signed bundle, by default "
	    "bundles/<project>-<from>-<to>.tar.zst,\n"
	    "and record the packed revisions in revisions/CHECKSUMS.\n"
	    "\n"
	    "Options:\n"
	    "      --from REV|base     start after REV (default: base)\n"
	    "      --to REV|head       last revision to pack (default: head)\n"
	    "  -k, --key FILE          Ed25519 private key (keys/NAME.key, "
	    "mode 0600);\n"
	    "                          again for more signatures (the first "
	    "is Key-Id)\n"
	    "      --root FILE         carry a signed trust root, applied by "
	    "stores\n"
	    "                          before they check the signatures "
	    "(repeatable,\n"
	    "                          in version order)\n"
	    "  -o, --output FILE       write the bundle to FILE\n"
	    "      --force             replace a different bundle already "
	    "there\n"
	    "      --compress zstd|gzip\n"
	    "                          compression (default: zstd)\n"
	    "      --level N           compression level (zstd 1-19, "
	    "default 3;\n"
	    "                          gzip 1-9, default 6)\n"
	    "  -h, --help              show this help and exit\n"
	    "\n"
	    "Relative paths are taken from the project folder (-C DIR).\n"
	    "The creation time written into the bundle is SOURCE_DATE_EPOCH "
	    "when set,\n"
	    "else the time of the last git commit touching revisions/ or "
	    "seeds/,\n"
	    "else 1970-01-01: the same inputs and key give a byte-identical "
	    "bundle.\n", fp);
}

static int
parse_level(const char *s, int *level, struct sb_err *err)
{
	unsigned long long v;

	if (sb_parse_number(s, 99, &v) == -1 || v < 1)
		return sb_err_set(err, SB_EUSAGE, "pack: invalid --level "
		    "\"%s\"", s);
	*level = (int)v;
	return 0;
}

static int
pack_parse(int argc, char **argv, struct sb_pack_req *o, int *help,
    struct sb_err *err)
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "root", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "compress", required_argument, NULL, 'z' },
		{ "level", required_argument, NULL, 'l' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c, max;

	memset(o, 0, sizeof(*o));
	o->comp = SB_COMPRESS_ZSTD;
	*help = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->from = optarg;
			break;
		case 't':
			o->to = optarg;
			break;
		case 'k':
			if (o->nkeys == SB_SIGS_MAX)
				return sb_err_set(err, SB_EUSAGE, "pack: at "
				    "most %d --key", SB_SIGS_MAX);
			o->keys[o->nkeys++] = optarg;
			break;
		case 'r':
			if (o->nroots == SB_SIGS_MAX)
				return sb_err_set(err, SB_EUSAGE, "pack: at "
				    "most %d --root", SB_SIGS_MAX);
			o->roots[o->nroots++] = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'z':
			if (strcmp(optarg, "zstd") == 0)
				o->comp = SB_COMPRESS_ZSTD;
			else if (strcmp(optarg, "gzip") == 0)
				o->comp = SB_COMPRESS_GZIP;
			else
				return sb_err_set(err, SB_EUSAGE, "pack: "
				    "unknown compression \"%s\" (zstd or "
				    "gzip)", optarg);
			break;
		case 'l':
			if (parse_level(optarg, &o->level, err) == -1)
				return -1;
			break;
		case 'F':
			o->force = true;
			break;
		case 'h':
			*help = 1;
			return 0;
		default:
			return sb_cli_opt_error("pack", c, argv, err);
		}
	}
	if (optind < argc)
		return sb_err_set(err, SB_EUSAGE, "pack: unexpected argument "
		    "\"%s\"", argv[optind]);
	if (o->nkeys == 0)
		return sb_err_set(err, SB_EUSAGE, "pack: --key FILE is "
		    "required");
	max = o->comp == SB_COMPRESS_GZIP ? SB_GZIP_LEVEL_MAX :
	    SB_ZSTD_LEVEL_MAX;
	if (o->level > max)
		return sb_err_set(err, SB_EUSAGE, "pack: --level %d is out of "
		    "range for %s (1-%d)", o->level,
		    o->comp == SB_COMPRESS_GZIP ? "gzip" : "zstd", max);
	return 0;
}

/* SOURCE_DATE_EPOCH, else a time of the project's history (hygiene.c). */
static int
pack_time(const char *dir, int64_t *t, char created[32], const char **how,
    struct sb_err *err)
{
	const char *env = getenv("SOURCE_DATE_EPOCH");
	struct tm tm;
	time_t tt;
	char *end;
	long long v;

	if (env != NULL && env[0] != '\0') {
		errno = 0;
		v = strtoll(env, &end, 10);
		if (errno != 0 || end == env || *end != '\0' || v < 0 ||
		    v > MTIME_MAX || env[0] == '-' || env[0] == '+')
			return sb_err_set(err, SB_EINVALID, "SOURCE_DATE_EPOCH "
			    "\"%s\" is not a number of seconds since 1970",
			    env);
		tt = (time_t)v;
		*how = "SOURCE_DATE_EPOCH";
	} else {
		tt = (time_t)sb_hygiene_epoch(dir, how);
	}
	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    strftime(created, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return sb_err_set(err, SB_EINVALID, "time %lld cannot be written "
		    "in a bundle", (long long)tt);
	*t = (int64_t)tt;
	return 0;
}

/* The entry path of a seed: ustar splits it at a slash, name <= 100. */
static int
seed_entry_path(const struct sb_manifest_rev *r, const struct sb_seed_file *f,
    char **out, struct sb_err *err)
{
	if (strlen(f->name) > USTAR_NAME_MAX)
		return sb_err_set(err, SB_EINVALID, "seed file \"%s\": name "
		    "longer than %d bytes, which a tar entry cannot hold",
		    f->path, USTAR_NAME_MAX);
	*out = sb_printf("seeds/%04u_%s/%s", r->pos, r->id, f->name);
	if (strlen(*out) > USTAR_PATH_MAX || !sb_path_safe(*out)) {
		sb_err_set(err, SB_EINVALID, "seed file \"%s\": cannot be "
		    "stored as entry \"%s\"", f->path, *out);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static struct sb_manifest_entry *
add_entry(struct pack_run *run, char *path, enum sb_entry_kind kind,
    size_t rev)
{
	struct sb_manifest_entry *e = &run->m.entries[run->m.nentries];

	memset(e, 0, sizeof(*e));
	memset(&run->src[run->m.nentries], 0, sizeof(run->src[0]));
	e->path = path;
	e->kind = kind;
	e->rev = rev;
	run->m.nentries++;
	return e;
}

/*
 * Fill the manifest: one Revision per revision of the range, entries in
 * archive order, every SHA-256 computed now (seed files streamed).
 */
static int
build_manifest(struct pack_run *run, struct sb_err *err)
{
	struct sb_manifest *m = &run->m;
	size_t nrevs = (size_t)(run->last - run->first), nent = 0;
	struct sb_manifest_entry *e;
	unsigned long long size;

	for (size_t k = 0; k < nrevs; k++) {
		size_t ci = (size_t)run->first + 1 + k;

		nent += 1 + (run->chain.revs[ci].downgrade != NULL) +
		    run->seeds.nfiles[ci];
	}
	m->revs = sb_calloc(nrevs, sizeof(*m->revs));
	m->nrevs = nrevs;
	nent += run->fprec.present;
	m->entries = sb_calloc(nent, sizeof(*m->entries));
	run->src = sb_calloc(nent, sizeof(*run->src));
	if (run->fprec.present) {
		/* The expected schemas come first: read before any script. */
		e = add_entry(run, sb_strdup(SB_FP_MEMBER),
		    SB_ENTRY_FINGERPRINTS, 0);
		sb_sha256_hex(run->fprec.text, run->fprec.len, e->sha);
		run->src[0].data = run->fprec.text;
		run->src[0].size = run->fprec.len;
		m->fingerprints = true;
	}

	for (size_t k = 0; k < nrevs; k++) {
		const struct sb_revision *rev =
		    &run->chain.revs[(size_t)run->first + 1 + k];
		struct sb_manifest_rev *r = &m->revs[k];

		r->pos = (unsigned)(k + 1);
		memcpy(r->id, rev->id, sizeof(r->id));
		r->parents = sb_calloc(rev->nparents, sizeof(*r->parents));
		for (size_t j = 0; j < rev->nparents; j++)
			r->parents[j] = sb_strdup(rev->parents[j]);
		r->nparents = rev->nparents;
		r->transactional = rev->transactional;
		r->file = sb_strdup(rev->file);
		r->message = sb_strdup(rev->message ? rev->message : "");
		r->upgrade_line = rev->upgrade_line;
		r->downgrade_entry = -1;
		sb_sha256_hex(rev->upgrade, rev->upgrade_len, r->upgrade_sha);
		r->upgrade_entry = m->nentries;
		e = add_entry(run, sb_printf("upgrade/%04u_%s.sql", r->pos,
		    r->id), SB_ENTRY_UPGRADE, k);
		memcpy(e->sha, r->upgrade_sha, SB_SHA256_HEX);
		run->src[r->upgrade_entry].data = rev->upgrade;
		run->src[r->upgrade_entry].size = rev->upgrade_len;
	}
	for (size_t k = 0; k < nrevs; k++) {
		const struct sb_revision *rev =
		    &run->chain.revs[(size_t)run->first + 1 + k];
		struct sb_manifest_rev *r = &m->revs[k];

		if (rev->downgrade == NULL)
			continue;
		r->downgrade_line = rev->downgrade_line;
		sb_sha256_hex(rev->downgrade, rev->downgrade_len,
		    r->downgrade_sha);
		r->downgrade_entry = (ssize_t)m->nentries;
		e = add_entry(run, sb_printf("downgrade/%04u_%s.sql", r->pos,
		    r->id), SB_ENTRY_DOWNGRADE, k);
		memcpy(e->sha, r->downgrade_sha, SB_SHA256_HEX);
		run->src[r->downgrade_entry].data = rev->downgrade;
		run->src[r->downgrade_entry].size = rev->downgrade_len;
	}
	for (size_t k = 0; k < nrevs; k++) {
		size_t ci = (size_t)run->first + 1 + k;
		struct sb_manifest_rev *r = &m->revs[k];

		r->first_seed = m->nentries;
		r->nseeds = run->seeds.nfiles[ci];
		for (size_t j = 0; j < run->seeds.nfiles[ci]; j++) {
			const struct sb_seed_file *f = &run->seeds.files[ci][j];
			struct source *s = &run->src[m->nentries];
			char *path = NULL;

			if (seed_entry_path(r, f, &path, err) == -1)
				return -1;
			e = add_entry(run, path, f->kind, k);
			if (f->kind == SB_ENTRY_SEED_CSV) {
				e->schema = sb_strdup(f->schema);
				e->table = sb_strdup(f->table);
			}
			if (sb_sha256_file(f->path, e->sha, &size, err) == -1)
				return -1;
			/* As check and render do: no bundle that cannot load. */
			if (f->kind == SB_ENTRY_SEED_CSV) {
				char **cols = NULL;
				size_t ncols = 0, hlen;

				if (sb_seed_csv_header(f->path, &cols, &ncols,
				    &hlen, err) == -1)
					return -1;
				sb_names_free(cols, ncols);
			}
			s->path = f->path;
			s->size = size;
		}
	}
	for (size_t i = 0; i < m->nentries; i++) {
		if (m->unpacked_size + run->src[i].size < m->unpacked_size)
			return sb_err_set(err, SB_EINVALID, "bundle too large");
		m->unpacked_size += run->src[i].size;
	}
	return 0;
}

/* Stream one seed file into the current entry, hashing it again. */
static int
write_seed(struct pack_run *run, const struct sb_manifest_entry *e,
    const struct source *s, struct sb_err *err)
{
	struct sb_sha256 *h = NULL;
	char hex[SB_SHA256_HEX];
	struct stat st;
	uint64_t done = 0;
	ssize_t r;
	int fd, ret = -1;

	if ((fd = open(s->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return sb_err_sys(err, "could not open seed file \"%s\"",
		    s->path);
	if (fstat(fd, &st) == -1) {
		sb_err_sys(err, "could not stat seed file \"%s\"", s->path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != s->size)
		goto changed;
	if ((h = sb_sha256_new()) == NULL) {
		sb_err_set(err, SB_EIO, "out of memory");
		goto out;
	}
	for (;;) {
		/* One byte more than expected shows a file that grew. */
		size_t want = s->size - done < CHUNK ?
		    (size_t)(s->size - done) + 1 : CHUNK;

		if ((r = sb_read_full(fd, run->buf, want)) == -1) {
			sb_err_sys(err, "could not read seed file \"%s\"",
			    s->path);
			goto out;
		}
		if (r == 0)
			break;
		if ((uint64_t)r > s->size - done)
			goto changed;
		sb_sha256_update(h, run->buf, (size_t)r);
		if (sb_writer_write(run->w, run->buf, (size_t)r, err) == -1)
			goto out;
		done += (uint64_t)r;
	}
	if (done != s->size)
		goto changed;
	sb_sha256_final_hex(h, hex);
	if (strcmp(hex, e->sha) != 0)
		goto changed;
	ret = 0;
	goto out;
changed:
	sb_err_set(err, SB_EIO, "seed file \"%s\" changed while it was being "
	    "packed", s->path);
	sb_err_hint(err, "pack again once nothing writes to seeds/");
out:
	sb_sha256_free(h);
	close(fd);
	return ret;
}

static int
write_bundle(struct pack_run *run, const struct sb_pack_req *o, int64_t mtime,
    uint64_t *size, struct sb_err *err)
{
	sigset_t old;
	int r;

	/* Armed only once the file is ours, so no one else's is removed. */
	signals_block(&old);
	r = sb_writer_open(&run->w, run->tmp, o->comp, o->level, mtime, err);
	if (r == 0) {
		memcpy(tmp_path, run->tmp, strlen(run->tmp) + 1);
		tmp_armed = 1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r == -1)
		return -1;

	if (sb_writer_add(run->w, "MANIFEST", run->len, err) == -1 ||
	    sb_writer_write(run->w, run->text, run->len, err) == -1 ||
	    sb_write_envelope(run->w, run->sigs, run->nsigs, run->roots,
	    run->nroots, err) == -1)
		return -1;
	run->buf = sb_malloc(CHUNK);
	for (size_t i = 0; i < run->m.nentries; i++) {
		const struct sb_manifest_entry *e = &run->m.entries[i];
		const struct source *s = &run->src[i];

		if (sb_writer_add(run->w, e->path, s->size, err) == -1)
			return -1;
		if (s->data != NULL) {
			if (sb_writer_write(run->w, s->data, s->size, err) == -1)
				return -1;
		} else if (write_seed(run, e, s, err) == -1) {
			return -1;
		}
	}
	return sb_writer_close(run->w, size, err);
}

static int
load_key(struct pack_run *run, struct sb_ctx *ctx, const char *key,
    struct sb_err *err)
{
	sb_privkey_free(run->key);
	run->key = NULL;
	free(run->keypath);
	run->keypath = sb_ctx_keyref(ctx, key);
	return sb_privkey_load(&run->key, run->keypath, err);
}

/* One more signature of MANIFEST; the key is wiped at once. */
static int
sign_with(struct pack_run *run, struct sb_err *err)
{
	struct sb_sig *s = &run->sigs[run->nsigs];

	memcpy(s->id, sb_privkey_id(run->key), SB_KEYID_HEX);
	for (size_t i = 0; i < run->nsigs; i++)
		if (strcmp(run->sigs[i].id, s->id) == 0)
			return sb_err_set(err, SB_EUSAGE, "pack: key %s "
			    "(\"%s\") is given twice", s->id, run->keypath);
	if (sb_privkey_sign(run->key, run->text, run->len, s->sig, err) == -1)
		return -1;
	run->nsigs++;
	sb_privkey_free(run->key);
	run->key = NULL;
	return 0;
}

/* Each --root must meet its own threshold and follow the one before. */
static int
load_roots(struct pack_run *run, struct sb_ctx *ctx,
    const struct sb_pack_req *o, struct sb_err *err)
{
	char *path;
	int rc;

	for (size_t i = 0; i < o->nroots; i++) {
		path = sb_ctx_path(ctx, o->roots[i]);
		rc = sb_root_load(&run->roots[i], path, err);
		free(path);
		if (rc == -1)
			return -1;
		run->nroots++;
		if (sb_root_verify(&run->roots[i], err) == -1)
			return -1;
		if (i > 0 && run->roots[i].version !=
		    run->roots[i - 1].version + 1)
			return sb_err_set(err, SB_EUSAGE, "pack: root \"%s\" "
			    "is version %llu, expected %llu after \"%s\"",
			    run->roots[i].path, run->roots[i].version,
			    run->roots[i - 1].version + 1,
			    run->roots[i - 1].path);
	}
	return 0;
}

static int
make_target(struct pack_run *run, struct sb_ctx *ctx, const struct sb_pack_req *o,
    struct sb_err *err)
{
	char *dir;

	if (o->out != NULL) {
		run->target = sb_ctx_path(ctx, o->out);
	} else {
		dir = sb_ctx_path(ctx, "bundles");
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			sb_err_sys(err, "could not create folder \"%s\"", dir);
			free(dir);
			return -1;
		}
		run->target = sb_printf("%s/%s-%s-%s.tar.%s", dir,
		    run->m.project, run->m.from, run->m.to,
		    o->comp == SB_COMPRESS_GZIP ? "gz" : "zst");
		free(dir);
	}
	run->tmp = sb_printf("%s.tmp.%ld", run->target, (long)getpid());
	if (strlen(run->tmp) >= TMP_PATH_MAX)
		return sb_err_set(err, SB_EUSAGE, "output path \"%s\" is too "
		    "long", run->target);
	return 0;
}

static void
pack_release(struct pack_run *run)
{
	sb_writer_free(run->w);
	run->w = NULL;
	free(run->buf);
	free(run->src);
	free(run->text);
	sb_fprec_release(&run->fprec);
	free(run->keypath);
	for (size_t i = 0; i < run->nroots; i++)
		sb_root_release(&run->roots[i]);
	free(run->target);
	free(run->tmp);
	sb_manifest_release(&run->m);
	sb_privkey_free(run->key);
	sb_seeds_release(&run->seeds);
	sb_chain_release(&run->chain);
	sb_conf_release(&run->conf);
}

int
sb_pack(struct sb_ctx *ctx, const struct sb_pack_req *o,
    struct sb_pack_res *res, struct sb_err *err)
{
	struct pack_run run;
	struct saved_signals saved;
	struct sb_chain landed;
	char created[32];
	const char *how = NULL;
	int64_t mtime = 0;
	uint64_t size = 0;
	sigset_t old;
	int signals_set = 0, ret = -1;

	memset(&run, 0, sizeof(run));
	memset(res, 0, sizeof(*res));
	if (pack_time(ctx->dir, &mtime, created, &how, err) == -1)
		return -1;
	if (sb_conf_load(&run.conf, ctx->dir, err) == -1)
		goto out;
	if (run.conf.project == NULL) {
		sb_err_set(err, SB_EINVALID, "sqlbundle.conf of \"%s\" names "
		    "no project", ctx->dir);
		sb_err_hint(err, "add a line \"project = NAME\"");
		goto out;
	}
	if (sb_chain_load(&run.chain, ctx->dir, err) == -1 ||
	    sb_checksums_verify(ctx->dir, &run.chain, err) == -1 ||
	    sb_seeds_load(&run.seeds, ctx->dir, &run.chain, err) == -1)
		goto out;
	if (run.chain.n == 0) {
		sb_err_set(err, SB_EINVALID, "no revisions to pack in "
		    "\"%s/revisions\"", ctx->dir);
		goto out;
	}
	if (sb_chain_range(&run.chain, o->from, o->to, &run.first, &run.last,
	    err) == -1)
		goto out;
	if (run.last <= run.first) {
		sb_err_set(err, SB_EINVALID, "no revisions between \"%s\" and "
		    "\"%s\"", o->from ? o->from : "base", o->to ? o->to : "head");
		goto out;
	}

	if (!o->rehearsal) {
		if (sb_fprec_load(&run.fprec, ctx->dir, &run.chain, run.first,
		    run.last, err) == -1)
			goto out;
		if (run.fprec.present && run.fprec.nmissing > 0)
			fprintf(stderr, "sqlbundle: warning: %zu of the %zd "
			    "revisions have no recorded fingerprint: stores "
			    "cannot check drift after them (run \"sqlbundle "
			    "test\")\n", run.fprec.nmissing,
			    run.last - run.first);
	}
	if (load_roots(&run, ctx, o, err) == -1 ||
	    load_key(&run, ctx, o->keys[0], err) == -1)
		goto out;

	run.m.project = sb_strdup(run.conf.project);
	run.m.created = sb_strdup(created);
	run.m.from = sb_strdup(run.first < 0 ? "base" :
	    run.chain.revs[run.first].id);
	run.m.to = sb_strdup(run.chain.revs[run.last].id);
	memcpy(run.m.key_id, sb_privkey_id(run.key), SB_KEYID_HEX);
	if (build_manifest(&run, err) == -1 ||
	    sb_manifest_format(&run.m, &run.text, &run.len, err) == -1) {
		if (run.m.nrevs > 1 && run.len > SB_MANIFEST_MAX)
			sb_err_hint(err, "pack the chain as several bundles "
			    "with --from and --to (%zu revisions here)",
			    run.m.nrevs);
		goto out;
	}
	for (size_t i = 0; i < o->nkeys; i++) {
		if (i > 0 && load_key(&run, ctx, o->keys[i], err) == -1)
			goto out;
		if (sign_with(&run, err) == -1)
			goto out;
	}
	sb_sha256_hex(run.text, run.len, run.id);

	if (make_target(&run, ctx, o, err) == -1 ||
	    sb_hygiene_overwrite(run.target, run.id, o->force, err) == -1)
		goto out;
	signals_install(&saved);
	signals_set = 1;
	if (write_bundle(&run, o, mtime, &size, err) == -1)
		goto out;
	/*
	 * Record before the rename: a bundle that exists always has its
	 * revisions in CHECKSUMS.
	 */
	landed.revs = run.chain.revs + run.first + 1;
	landed.n = (size_t)(run.last - run.first);
	if (!o->rehearsal && sb_checksums_record(ctx->dir, &landed, err) == -1)
		goto out;
	signals_block(&old);
	if (rename(run.tmp, run.target) == -1) {
		sb_err_sys(err, "could not rename \"%s\" to \"%s\"", run.tmp,
		    run.target);
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	tmp_armed = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (sb_fsync_parent(run.target, err) == -1)
		goto out;

	res->path = sb_strdup(run.target);
	memcpy(res->id, run.id, sizeof(res->id));
	res->size = size;
	res->nrevs = run.m.nrevs;
	res->from = sb_strdup(run.m.from);
	res->to = sb_strdup(run.m.to);
	for (size_t i = 0; i < run.nsigs; i++)
		memcpy(res->key_ids[i], run.sigs[i].id, SB_KEYID_HEX);
	res->nkeys = run.nsigs;
	for (size_t i = 0; i < run.nroots; i++)
		res->root_versions[i] = run.roots[i].version;
	res->nroots = run.nroots;
	res->fingerprints = run.m.fingerprints;
	memcpy(res->created, created, sizeof(res->created));
	res->created_how = how;
	ret = 0;
out:
	if (tmp_armed) {
		signals_block(&old);
		unlink(run.tmp);
		tmp_armed = 0;
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	if (signals_set)
		signals_restore(&saved);
	pack_release(&run);
	return ret;
}

void
sb_pack_res_release(struct sb_pack_res *res)
{
	free(res->path);
	free(res->from);
	free(res->to);
	memset(res, 0, sizeof(*res));
}

int
sb_cmd_pack(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	struct sb_pack_req o;
	struct sb_pack_res res;
	int help, ret = -1;

	if (pack_parse(argc, argv, &o, &help, err) == -1)
		return -1;
	if (help) {
		pack_usage(stdout);
		return 0;
	}
	if (sb_pack(ctx, &o, &res, err) == 0) {
		printf("bundle %s\n", res.path);
		printf("  id        %s\n", res.id);
		printf("  size      %" PRIu64 " bytes\n", res.size);
		printf("  revisions %zu (%s to %s)\n", res.nrevs, res.from,
		    res.to);
		for (size_t i = 0; i < res.nkeys; i++)
			printf("  key       %s\n", res.key_ids[i]);
		for (size_t i = 0; i < res.nroots; i++)
			printf("  root      version %llu\n",
			    res.root_versions[i]);
		printf("  created   %s (%s)\n", res.created, res.created_how);
		printf("  schema    %s\n", res.fingerprints ?
		    "fingerprints included (" SB_FP_MEMBER ")" :
		    "no fingerprints: drift cannot be checked");
		ret = 0;
	}
	sb_pack_res_release(&res);
	return ret;
}
