/*
 * sqlbundle new: write revisions/<id>_<slug>.sql after the current head,
 * with a random id unless one is given; never overwrites.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/crypto.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/revision.h"
#include "cmd.h"
#include "opts.h"

#define ID_BYTES	6	/* 12 hex digits, as Alembic's ids */

static void
usage(void)
{
	fputs("Usage: sqlbundle new -m MESSAGE [--id ID]\n"
	    "\n"
	    "Write revisions/<id>_<slug>.sql with down_revision set to the "
	    "current head,\n"
	    "empty -- +upgrade and -- +downgrade sections, and print its "
	    "path.\n"
	    "\n"
	    "Options:\n"
	    "  -m, --message MESSAGE  what the revision does (one line)\n"
	    "      --id ID            revision id, 1-32 of [0-9A-Za-z_] "
	    "(default: 12 random\n"
	    "                         hex digits)\n"
	    "  -h, --help             show this help and exit\n", stdout);
}

/* 12 lowercase hex digits from the kernel's random source. */
static int
random_id(char id[SB_ID_MAX + 1], struct sb_err *err)
{
	unsigned char raw[ID_BYTES];
	ssize_t r;
	int fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
		return sb_err_sys(err, "could not open \"/dev/urandom\"");
	r = sb_read_full(fd, raw, sizeof(raw));
	if (r >= 0 && (size_t)r < sizeof(raw))
		errno = EIO;
	close(fd);
	if (r < 0 || (size_t)r < sizeof(raw))
		return sb_err_sys(err, "could not read \"/dev/urandom\"");
	sb_hex(raw, sizeof(raw), id);
	return 0;
}

void
sb_slugify(const char *msg, char slug[SB_SLUG_MAX + 1])
{
	size_t n = 0;
	bool gap = false;

	for (const char *p = msg; *p != '\0' && n < SB_SLUG_MAX; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (gap && n > 0) {
				if (n + 2 > SB_SLUG_MAX)
					break;	/* no room for "_x" */
				slug[n++] = '_';
			}
			slug[n++] = c;
			gap = false;
		} else {
			gap = true;
		}
	}
	slug[n] = '\0';
}

/* A message is one header line: UTF-8, no control characters. */
static bool
message_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t len = *p < 0x80 ? 1 : *p >= 0xC2 && *p <= 0xDF ? 2 :
		    *p >= 0xE0 && *p <= 0xEF ? 3 : *p >= 0xF0 && *p <= 0xF4 ?
		    4 : 0;

		if (len == 0 || *p < 0x20 || *p == 0x7f)
			return false;
		for (size_t i = 1; i < len; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		/* overlong, surrogate and out-of-range forms */
		if ((p[0] == 0xE0 && p[1] < 0xA0) ||
		    (p[0] == 0xED && p[1] > 0x9F) ||
		    (p[0] == 0xF0 && p[1] < 0x90) ||
		    (p[0] == 0xF4 && p[1] > 0x8F))
			return false;
		p += len;
	}
	return true;
}


int
sb_cmd_new(struct sb_ctx *ctx, int argc, char **argv, struct sb_err *err)
{
	enum { OPT_ID = 256 };
	static const struct option longopts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "id", required_argument, NULL, OPT_ID },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sb_chain chain = SB_CHAIN_INIT;
	const char *message = NULL, *want_id = NULL;
	char id[SB_ID_MAX + 1], slug[SB_SLUG_MAX + 1];
	char *revdir = NULL, *path = NULL, *text = NULL;
	struct stat st;
	int c, ret = -1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			message = optarg;
			break;
		case OPT_ID:
			want_id = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return sb_cli_opt_error("new", c, argv, err);
		}
	}
	if (optind < argc)
		return sb_err_set(err, SB_EUSAGE, "new: unexpected argument "
		    "\"%s\"", argv[optind]);
	if (message == NULL || message[0] == '\0')
		return sb_err_set(err, SB_EUSAGE, "new: a message is required "
		    "(-m MESSAGE)");
	if (!message_ok(message))
		return sb_err_set(err, SB_EUSAGE, "new: the message must be "
		    "one line of UTF-8 without control characters");
	if (want_id != NULL && !sb_revision_id_valid(want_id))
		return sb_err_set(err, SB_EUSAGE, "new: invalid revision id "
		    "\"%s\" (1-32 characters of [0-9A-Za-z_])", want_id);

	/* a fresh project gets its revisions/ folder */
	revdir = sb_ctx_path(ctx, "revisions");
	if (stat(revdir, &st) == -1) {
		if (errno != ENOENT || mkdir(revdir, 0755) == -1) {
			sb_err_sys(err, "could not create \"%s\"", revdir);
			goto out;
		}
	}
	if (sb_chain_load(&chain, ctx->dir, err) == -1) {
		sb_err_hint(err, "fix the chain before adding a revision");
		goto out;
	}
	if (want_id != NULL) {
		if (sb_chain_find(&chain, want_id) != -1) {
			sb_err_set(err, SB_EINVALID, "revision \"%s\" already "
			    "exists (%s)", want_id,
			    chain.revs[sb_chain_find(&chain, want_id)].path);
			goto out;
		}
		snprintf(id, sizeof(id), "%s", want_id);
	} else {
		do {
			if (random_id(id, err) == -1)
				goto out;
		} while (sb_chain_find(&chain, id) != -1);
	}
	sb_slugify(message, slug);
	path = slug[0] ? sb_printf("%s/%s_%s.sql", revdir, id, slug) :
	    sb_printf("%s/%s.sql", revdir, id);
	text = sb_printf("-- revision: %s\n"
	    "-- down_revision: %s\n"
	    "-- message: %s\n"
	    "-- transactional: true\n"
	    "\n"
	    "-- +upgrade\n"
	    "\n"
	    "\n"
	    "-- +downgrade\n"
	    "\n", id, chain.n ? chain.revs[chain.n - 1].id : "none", message);
	if (sb_create_durable(path, text, strlen(text), 0644, err) == -1)
		goto out;
	printf("%s\n", path);
	ret = 0;
out:
	free(text);
	free(path);
	free(revdir);
	sb_chain_release(&chain);
	return ret;
}
