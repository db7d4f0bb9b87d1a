/*
 * `sqlbundle-apply trust update ROOT...`: provision or rotate the trust
 * root of the store's trust folder. The rules are common (trust.c):
 * each root must follow the one in force, signed by a threshold of its
 * keys and of its own; the first one of a folder needs only its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/json.h"
#include "sqlbundle/open.h"
#include "sqlbundle/trust.h"
#include "apply.h"

static int
update(struct sb_trust *t, int argc, char **argv, struct sb_err *err)
{
	struct sb_root r;
	bool tofu;

	for (int i = 0; i < argc; i++) {
		if (sb_root_load(&r, argv[i], err) == -1)
			return -1;
		/* Provisioning: a folder with no root takes the first. */
		tofu = t->root == NULL;
		if (sb_trust_accept(t, &r, tofu, err) == -1) {
			sb_root_release(&r);
			return -1;
		}
		sb_root_release(&r);
	}
	if (t->root->expires <= t->now)
		return sb_err_set(err, SB_EINVALID, "root \"%s\" (version "
		    "%llu) expired at %s", argv[argc - 1], t->root->version,
		    t->root->expires_text);
	return 0;
}

int
sb_apply_trust(const struct sb_apply_opts *o, int argc, char **argv,
    struct sb_err *err)
{
	struct sb_trust t = SB_TRUST_INIT;
	struct sb_json j;
	const char *from, *dir = sb_open_trust_path(o->trust, &from);
	unsigned long long was;
	int ret = -1;

	if (argc < 2 || strcmp(argv[0], "update") != 0)
		return sb_err_set(err, SB_EUSAGE, "usage: trust update "
		    "ROOT... [--trust DIR]");
	if (sb_trust_load_dir(&t, dir, err) == -1) {
		if (from != NULL && err->detail[0] == '\0')
			sb_err_detail(err, "trust folder from %s", from);
		goto out;
	}
	was = t.root != NULL ? t.root->version : 0;
	if (update(&t, argc - 1, argv + 1, err) == -1 ||
	    sb_trust_store(&t, err) == -1)
		goto out;
	if (o->json) {
		sb_json_begin(&j, stdout, "trust");
		sb_json_str(&j, "trust", dir);
		if (was > 0)
			sb_json_uint(&j, "previous_version", was);
		else
			sb_json_str(&j, "previous_version", NULL);
		sb_json_uint(&j, "version", t.root->version);
		sb_json_uint(&j, "threshold", t.threshold);
		sb_json_uint(&j, "key_count", t.n);
		sb_json_str(&j, "expires", t.root->expires_text);
		sb_json_end(&j);
	} else if (!o->quiet) {
		char prev[48] = "no root";

		if (was > 0)
			snprintf(prev, sizeof(prev), "version %llu", was);
		printf("trust %s: root version %llu in force (was %s), %u of "
		    "%zu keys, expires %s\n", dir, t.root->version, prev,
		    t.threshold, t.n, t.root->expires_text);
	}
	ret = 0;
out:
	sb_trust_release(&t);
	return ret;
}
