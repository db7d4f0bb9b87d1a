/*
 * `sqlbundle trust new|sign|show`: write an unsigned root, add one
 * signature to it, print it. The rules that judge a root are common
 * (src/common/trust.c); this file only writes and shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/json.h"
#include "sqlbundle/text.h"
#include "sqlbundle/trust.h"
#include "cmd.h"
#include "keys.h"
#include "opts.h"

#define DEFAULT_LIFE	(365LL * 86400)	/* a root expires in a year */

static void
trust_usage(FILE *fp)
{
	fputs("Usage: sqlbundle trust new -o FILE --threshold K "
	    "[--expires DATE] [--version N] KEY.pub...\n"
	    "       sqlbundle trust sign FILE --key KEYFILE\n"
	    "       sqlbundle trust show FILE [--json]\n"
	    "\n"
	    "A root is the trust policy of the stores: its keys, how many of "
	    "them must\n"
	    "sign a bundle (the threshold), a version and an expiry. It is "
	    "valid once a\n"
	    "threshold of its own keys signed it; version N+1 also needs a "
	    "threshold of\n"
	    "version N's keys.\n"
	    "\n"
	    "  new    write an unsigned root (version 1, expiring in a year, "
	    "unless told)\n"
	    "  sign   add one signature (a key of this root or of the one "
	    "before)\n"
	    "  show   print the root and whether its own threshold is met\n"
	    "\n"
	    "Options:\n"
	    "  -o, --output FILE   the root to write (new; never overwritten)\n"
	    "      --threshold K   distinct keys needed, 1 to the number of "
	    "keys\n"
	    "      --expires DATE  YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC\n"
	    "      --version N     the root's version (default 1)\n"
	    "  -k, --key FILE      the private key that signs (sign)\n"
	    "      --json          one JSON object (show)\n"
	    "  -h, --help          show this help and exit\n", fp);
}

struct trust_opts {
	const char	*out, *key;
	unsigned long long threshold, version;
	long long	 expires;
	bool		 has_expires, json;
};

static int
trust_parse(int argc, char **argv, struct trust_opts *o, int *help,
    struct sb_err *err)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "threshold", required_argument, NULL, 'T' },
		{ "expires", required_argument, NULL, 'e' },
		{ "version", required_argument, NULL, 'v' },
		{ "key", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->version = 1;
	*help = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'T':
			if (sb_parse_number(optarg, SB_ROOT_KEYS_MAX,
			    &o->threshold) == -1 || o->threshold < 1)
				return sb_err_set(err, SB_EUSAGE, "trust: "
				    "invalid --threshold \"%s\"", optarg);
			break;
		case 'e':
			if (sb_time_parse(optarg, &o->expires) == -1)
				return sb_err_set(err, SB_EUSAGE, "trust: "
				    "invalid --expires \"%s\" (YYYY-MM-DD or "
				    "YYYY-MM-DDTHH:MM:SSZ)", optarg);
			o->has_expires = true;
			break;
		case 'v':
			if (sb_parse_number(optarg, 999999999ULL,
			    &o->version) == -1 || o->version < 1)
				return sb_err_set(err, SB_EUSAGE, "trust: "
				    "invalid --version \"%s\"", optarg);
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			*help = 1;
			return 0;
		default:
			return sb_cli_opt_error("trust", c, argv, err);
		}
	}
	return 0;
}

static int
trust_new(struct sb_ctx *ctx, const struct trust_opts *o, int argc,
    char **argv, struct sb_err *err)
{
	struct sb_pubkey *keys;
	size_t n = 0;
	char *text = NULL, *path = NULL, *out = NULL;
	size_t len = 0;
	long long expires = o->expires;
	int ret = -1;

	if (o->out == NULL || o->threshold == 0 || argc == 0)
		return sb_err_set(err, SB_EUSAGE, "trust new: -o FILE, "
		    "--threshold K and at least one KEY.pub are required");
	if (!o->has_expires)
		expires = (long long)time(NULL) + DEFAULT_LIFE;
	keys = sb_calloc((size_t)argc, sizeof(*keys));
	for (; n < (size_t)argc; n++) {
		path = sb_ctx_path(ctx, argv[n]);
		ret = sb_pubkey_load(&keys[n], path, err);
		free(path);
		if (ret == -1)
			goto out;
	}
	ret = -1;
	if (sb_root_format(o->version, expires, (unsigned)o->threshold, keys,
	    n, &text, &len, err) == -1)
		goto out;
	out = sb_ctx_path(ctx, o->out);
	if (sb_create_durable(out, text, len, 0644, err) == -1)
		goto out;
	printf("root %s: version %llu, %llu of %zu keys, unsigned\n", out,
	    o->version, o->threshold, n);
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		sb_pubkey_release(&keys[i]);
	free(keys);
	free(text);
	free(out);
	return ret;
}

static int
trust_sign(struct sb_ctx *ctx, const struct trust_opts *o, int argc,
    char **argv, struct sb_err *err)
{
	struct sb_root r = SB_ROOT_INIT;
	struct sb_privkey *key = NULL;
	struct sb_sig sig;
	char *path = NULL, *keypath = NULL;
	bool own = false;
	int ret = -1;

	if (argc != 1 || o->key == NULL)
		return sb_err_set(err, SB_EUSAGE, "trust sign: FILE and --key "
		    "KEYFILE are required");
	path = sb_ctx_path(ctx, argv[0]);
	keypath = sb_ctx_keyref(ctx, o->key);
	if (sb_root_load(&r, path, err) == -1 ||
	    sb_privkey_load(&key, keypath, err) == -1)
		goto out;
	memcpy(sig.id, sb_privkey_id(key), SB_KEYID_HEX);
	if (sb_privkey_sign(key, r.text, r.signed_len, sig.sig, err) == -1 ||
	    sb_root_add_sig(&r, &sig, err) == -1 ||
	    sb_write_file_atomic(path, r.text, r.len, 0644, err) == -1)
		goto out;
	for (size_t i = 0; i < r.nkeys; i++)
		own = own || strcmp(r.keys[i].id, sig.id) == 0;
	printf("root %s: signed by key %s (%s), %zu signature%s\n", path,
	    sig.id, own ? "a key of this root" : "not a key of this root: "
	    "it counts for the rotation from an earlier root", r.nsigs,
	    r.nsigs == 1 ? "" : "s");
	ret = 0;
out:
	sb_privkey_free(key);
	sb_root_release(&r);
	free(keypath);
	free(path);
	return ret;
}

/* Which of its own keys made a good signature, each counted once. */
static const char *
sig_word(const struct sb_root *r, size_t i, bool *counted)
{
	for (size_t k = 0; k < r->nkeys; k++) {
		if (strcmp(r->keys[k].id, r->sigs[i].id) != 0)
			continue;
		if (sb_sig_verify(&r->keys[k], r->text, r->signed_len,
		    r->sigs[i].sig) == -1)
			return "bad";
		if (counted[k])
			return "repeat";
		counted[k] = true;
		return "good";
	}
	return "other";
}

static int
trust_show(struct sb_ctx *ctx, const struct trust_opts *o, int argc,
    char **argv, struct sb_err *err)
{
	struct sb_root r = SB_ROOT_INIT;
	struct sb_err verr = SB_ERR_INIT;
	struct sb_json j;
	bool counted[SB_ROOT_KEYS_MAX] = { false };
	const char *word[SB_SIGS_MAX];
	char *path;
	bool valid, expired;
	int ret;

	if (argc != 1)
		return sb_err_set(err, SB_EUSAGE, "trust show: FILE is "
		    "required");
	path = sb_ctx_path(ctx, argv[0]);
	ret = sb_root_load(&r, path, err);
	free(path);
	if (ret == -1)
		return -1;
	valid = sb_root_verify(&r, &verr) == 0;
	expired = r.expires <= (long long)time(NULL);
	for (size_t i = 0; i < r.nsigs; i++)
		word[i] = sig_word(&r, i, counted);
	if (o->json) {
		sb_json_begin(&j, stdout, "root");
		sb_json_str(&j, "file", r.path);
		sb_json_uint(&j, "version", r.version);
		sb_json_str(&j, "expires", r.expires_text);
		sb_json_bool(&j, "expired", expired);
		sb_json_uint(&j, "threshold", r.threshold);
		sb_json_array(&j, "keys");
		for (size_t i = 0; i < r.nkeys; i++)
			sb_json_str(&j, NULL, r.keys[i].id);
		sb_json_close(&j);
		sb_json_array(&j, "signatures");
		for (size_t i = 0; i < r.nsigs; i++) {
			sb_json_object(&j, NULL);
			sb_json_str(&j, "key_id", r.sigs[i].id);
			sb_json_str(&j, "status", word[i]);
			sb_json_close(&j);
		}
		sb_json_close(&j);
		sb_json_bool(&j, "self_signed", valid);
		sb_json_end(&j);
	} else {
		fputs("root ", stdout);
		sb_put_safe(stdout, r.path, strlen(r.path), false);
		printf("\n  version    %llu\n  expires    %s%s\n"
		    "  threshold  %u of %zu keys\n", r.version,
		    r.expires_text, expired ? " (expired)" : "", r.threshold,
		    r.nkeys);
		for (size_t i = 0; i < r.nkeys; i++)
			printf("  key        %s\n", r.keys[i].id);
		for (size_t i = 0; i < r.nsigs; i++)
			printf("  signature  %s %s\n", r.sigs[i].id, word[i]);
		if (valid)
			printf("  signed to its threshold: yes\n");
		else
			printf("  signed to its threshold: no (%s)\n",
			    verr.msg);
	}
	sb_root_release(&r);
	return 0;
}

int
sb_cmd_trust(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	struct trust_opts o;
	const char *sub;
	int help;

	if (argc < 2)
		return sb_err_set(err, SB_EUSAGE, "trust: missing new, sign or "
		    "show");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		trust_usage(stdout);
		return 0;
	}
	sub = argv[1];
	if (trust_parse(argc - 1, argv + 1, &o, &help, err) == -1)
		return -1;
	if (help) {
		trust_usage(stdout);
		return 0;
	}
	argc -= optind + 1;
	argv += optind + 1;
	if (strcmp(sub, "new") == 0)
		return trust_new(ctx, &o, argc, argv, err);
	if (strcmp(sub, "sign") == 0)
		return trust_sign(ctx, &o, argc, argv, err);
	if (strcmp(sub, "show") == 0)
		return trust_show(ctx, &o, argc, argv, err);
	return sb_err_set(err, SB_EUSAGE, "trust: unknown command \"%s\" "
	    "(new, sign or show)", sub);
}
