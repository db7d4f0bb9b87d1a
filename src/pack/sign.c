/*
 * `sqlbundle sign`: one more signature of an existing bundle's MANIFEST.
 * MANIFEST is not touched, so the bundle id stays; the archive is copied
 * member by member with the new MANIFEST.sig.KEYID in its place.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sqlbundle/archive.h"
#include "sqlbundle/bundle.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/trust.h"
#include "cmd.h"
#include "keys.h"
#include "opts.h"
#include "writer.h"

#define COPY_BUF	(256 * 1024)

struct sign_opts {
	const char	*bundle, *out;
	const char	*keys[SB_SIGS_MAX];
	size_t		 nkeys;
};

static void
sign_usage(FILE *fp)
{
	fputs("Usage: sqlbundle sign BUNDLE --key KEYFILE... [-o FILE]\n"
	    "\n"
	    "Add a signature of the bundle's MANIFEST by each key. MANIFEST is "
	    "unchanged,\n"
	    "so the bundle id stays the same: officers can sign one after the "
	    "other, on\n"
	    "machines of their own. Every entry is checked against the "
	    "manifest first.\n"
	    "\n"
	    "Options:\n"
	    "  -k, --key FILE     Ed25519 private key (repeatable)\n"
	    "  -o, --output FILE  write the signed bundle to FILE (default: "
	    "replace BUNDLE)\n"
	    "  -h, --help         show this help and exit\n", fp);
}

static int
sign_parse(int argc, char **argv, struct sign_opts *o, int *help,
    struct sb_err *err)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	*help = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (o->nkeys == SB_SIGS_MAX)
				return sb_err_set(err, SB_EUSAGE, "sign: at "
				    "most %d --key", SB_SIGS_MAX);
			o->keys[o->nkeys++] = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'h':
			*help = 1;
			return 0;
		default:
			return sb_cli_opt_error("sign", c, argv, err);
		}
	}
	if (argc - optind != 1)
		return sb_err_set(err, SB_EUSAGE, "sign: %s",
		    argc - optind == 0 ? "missing BUNDLE" : "too many arguments");
	o->bundle = argv[optind];
	if (o->nkeys == 0)
		return sb_err_set(err, SB_EUSAGE, "sign: --key FILE is "
		    "required");
	return 0;
}

/* The same compression as the bundle: zstd or gzip, from its magic. */
static int
sniff_compress(int fd, const char *path, enum sb_compress *comp,
    struct sb_err *err)
{
	static const unsigned char zstd[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	unsigned char m[4];

	if (pread(fd, m, sizeof(m), 0) != (ssize_t)sizeof(m))
		return sb_err_set(err, SB_EINVALID, "%s: not a bundle (too "
		    "short)", path);
	if (memcmp(m, zstd, 4) == 0)
		*comp = SB_COMPRESS_ZSTD;
	else if (m[0] == 0x1f && m[1] == 0x8b)
		*comp = SB_COMPRESS_GZIP;
	else
		return sb_err_set(err, SB_EINVALID, "%s: neither zstd nor "
		    "gzip", path);
	return 0;
}

/*
 * Check the bundle whole (every entry against MANIFEST: a signer signs
 * nothing it has not seen intact) and keep its MANIFEST and signatures.
 */
static int
read_bundle(int fd, const char *path, char **text, size_t *len,
    struct sb_sig *sigs, size_t *nsigs, long long *created,
    struct sb_err *err)
{
	struct sb_bundle *b = NULL;
	const struct sb_sig *s;
	const char *t;
	size_t idx;
	int rc, ret = -1;

	if (sb_bundle_open(&b, fd, path, NULL, NULL, err) == -1)
		goto out;
	while ((rc = sb_bundle_next(b, &idx, err)) == 1)
		;
	if (rc == -1)
		goto out;
	t = sb_bundle_manifest_text(b, len);
	*text = sb_malloc(*len + 1);
	memcpy(*text, t, *len + 1);
	s = sb_bundle_sigs(b, nsigs, NULL);
	memcpy(sigs, s, *nsigs * sizeof(*s));
	if (sb_time_parse(sb_bundle_manifest(b)->created, created) == -1) {
		sb_err_set(err, SB_EINVALID, "%s: Created is not a time",
		    path);
		goto out;
	}
	ret = 0;
out:
	sb_bundle_close(b);
	return ret;
}

static int
copy_member(struct sb_reader *r, struct sb_writer *w,
    const struct sb_entry_info *info, unsigned char *buf, struct sb_err *err)
{
	ssize_t n;

	if (sb_writer_add(w, info->path, info->size, err) == -1)
		return -1;
	while ((n = sb_reader_read(r, buf, COPY_BUF, err)) > 0)
		if (sb_writer_write(w, buf, (size_t)n, err) == -1)
			return -1;
	return n < 0 ? -1 : 0;
}

/*
 * Copy the archive, the new signatures (sorted) placed among the
 * MANIFEST.sig.KEYID members in key-id order.
 */
static int
rewrite(int fd, const char *path, const char *tmp, enum sb_compress comp,
    long long mtime, const struct sb_sig *add, size_t nadd,
    struct sb_err *err)
{
	struct sb_reader *r = NULL;
	struct sb_writer *w = NULL;
	struct sb_entry_info info;
	unsigned char *buf = sb_malloc(COPY_BUF);
	static const char pre[] = SB_SIG_MEMBER ".";
	char name[64];
	size_t next = 0, member = 0;
	int rc, ret = -1;

	if (sb_reader_open(&r, fd, path, err) == -1 ||
	    sb_writer_open(&w, tmp, comp, 0, (int64_t)mtime, err) == -1)
		goto out;
	while ((rc = sb_reader_next(r, &info, err)) == 1) {
		bool sig = strncmp(info.path, pre, sizeof(pre) - 1) == 0;

		/* After MANIFEST and MANIFEST.sig, in key-id order. */
		while (member >= 2 && next < nadd && (!sig ||
		    strcmp(info.path + sizeof(pre) - 1, add[next].id) > 0)) {
			snprintf(name, sizeof(name), "%s%s", pre, add[next].id);
			if (sb_writer_add(w, name, SB_SIG_LEN, err) == -1 ||
			    sb_writer_write(w, add[next].sig, SB_SIG_LEN,
			    err) == -1)
				goto out;
			next++;
		}
		if (copy_member(r, w, &info, buf, err) == -1)
			goto out;
		member++;
	}
	if (rc == -1)
		goto out;
	for (; next < nadd; next++) {
		snprintf(name, sizeof(name), "%s%s", pre, add[next].id);
		if (sb_writer_add(w, name, SB_SIG_LEN, err) == -1 ||
		    sb_writer_write(w, add[next].sig, SB_SIG_LEN, err) == -1)
			goto out;
	}
	if (sb_writer_close(w, NULL, err) == -1)
		goto out;
	ret = 0;
out:
	sb_writer_free(w);
	sb_reader_close(r);
	free(buf);
	return ret;
}

static int
cmp_sig(const void *a, const void *b)
{
	return strcmp(((const struct sb_sig *)a)->id,
	    ((const struct sb_sig *)b)->id);
}

/* Sign text with each key; a key that already signed is refused. */
static int
make_sigs(struct sb_ctx *ctx, const struct sign_opts *o, const char *text,
    size_t len, const struct sb_sig *have, size_t nhave, struct sb_sig *add,
    struct sb_err *err)
{
	struct sb_privkey *key = NULL;
	char *path;
	int ret = -1;

	if (nhave + o->nkeys > SB_SIGS_MAX)
		return sb_err_set(err, SB_EINVALID, "%s: at most %d "
		    "signatures", o->bundle, SB_SIGS_MAX);
	for (size_t i = 0; i < o->nkeys; i++) {
		path = sb_ctx_keyref(ctx, o->keys[i]);
		ret = sb_privkey_load(&key, path, err);
		free(path);
		if (ret == -1)
			return -1;
		ret = -1;
		memcpy(add[i].id, sb_privkey_id(key), SB_KEYID_HEX);
		for (size_t j = 0; j < nhave + i; j++)
			if (strcmp(j < nhave ? have[j].id : add[j - nhave].id,
			    add[i].id) == 0) {
				sb_err_set(err, SB_EINVALID, "%s is already "
				    "signed by key %s", o->bundle, add[i].id);
				goto out;
			}
		if (sb_privkey_sign(key, text, len, add[i].sig, err) == -1)
			goto out;
		sb_privkey_free(key);
		key = NULL;
	}
	qsort(add, o->nkeys, sizeof(*add), cmp_sig);
	ret = 0;
out:
	sb_privkey_free(key);
	return ret;
}

int
sb_cmd_sign(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	struct sign_opts o;
	struct sb_sig have[SB_SIGS_MAX], add[SB_SIGS_MAX];
	enum sb_compress comp = SB_COMPRESS_ZSTD;
	char *path = NULL, *target = NULL, *tmp = NULL, *text = NULL;
	char id[SB_SHA256_HEX];
	size_t len = 0, nhave = 0;
	long long created = 0;
	int help, fd = -1, ret = -1;

	if (sign_parse(argc, argv, &o, &help, err) == -1)
		return -1;
	if (help) {
		sign_usage(stdout);
		return 0;
	}
	path = sb_ctx_path(ctx, o.bundle);
	target = o.out != NULL ? sb_ctx_path(ctx, o.out) : sb_strdup(path);
	tmp = sb_printf("%s.tmp.%ld", target, (long)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		sb_err_sys(err, "could not open bundle \"%s\"", path);
		goto out;
	}
	if (sniff_compress(fd, path, &comp, err) == -1 ||
	    read_bundle(fd, path, &text, &len, have, &nhave, &created,
	    err) == -1 ||
	    make_sigs(ctx, &o, text, len, have, nhave, add, err) == -1)
		goto out;
	if (rewrite(fd, path, tmp, comp, created, add, o.nkeys, err) == -1) {
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, target) == -1) {
		sb_err_sys(err, "could not rename \"%s\" to \"%s\"", tmp,
		    target);
		unlink(tmp);
		goto out;
	}
	if (sb_fsync_parent(target, err) == -1)
		goto out;
	sb_sha256_hex(text, len, id);
	printf("bundle %s\n  id        %s\n", target, id);
	for (size_t i = 0; i < o.nkeys; i++)
		printf("  signed by key %s\n", add[i].id);
	printf("  signatures %zu\n", nhave + o.nkeys);
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	free(text);
	free(tmp);
	free(target);
	free(path);
	return ret;
}
