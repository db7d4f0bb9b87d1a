/* sqlbundle.conf: the project's settings, read by the HQ commands. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"
#include "sqlbundle/limits.h"
#include "sqlbundle/manifest.h"
#include "conf.h"

#define CONF_NAME	"sqlbundle.conf"
#define CONF_MAX	(64 * 1024)

static char *
trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/* fingerprint-exclude = PATTERN[, PATTERN...] */
static int
parse_exclude(struct sb_conf *conf, const char *path, unsigned lineno,
    char *val, struct sb_err *err)
{
	char *pat, *save = NULL;

	if (*val == '\0')
		return sb_err_set(err, SB_EINVALID, "%s:%u: "
		    "fingerprint-exclude without a pattern", path, lineno);
	for (pat = strtok_r(val, " \t,", &save); pat != NULL;
	    pat = strtok_r(NULL, " \t,", &save)) {
		if (sb_fp_excl_add(&conf->exclude, pat, err) == -1) {
			sb_err_prefix(err, "%s:%u", path, lineno);
			sb_err_hint(err, "a pattern is \"schema\" or "
			    "\"schema.object\", with * ? [...] as in a shell");
			return -1;
		}
	}
	return 0;
}

/*
 * One "key = value" line (already NUL-terminated, without its newline).
 * Returns -1 with err naming path:line.
 */
static int
parse_line(struct sb_conf *conf, const char *path, unsigned lineno,
    char *line, struct sb_err *err)
{
	char *eq, *key, *val;

	key = trim(line, line + strlen(line));
	if (*key == '\0' || *key == '#')
		return 0;
	if ((eq = strchr(key, '=')) == NULL)
		return sb_err_set(err, SB_EINVALID,
		    "%s:%u: expected \"key = value\"", path, lineno);
	val = trim(eq + 1, eq + 1 + strlen(eq + 1));
	key = trim(key, eq);
	if (strcmp(key, "project") == 0) {
		if (conf->project != NULL)
			return sb_err_set(err, SB_EINVALID,
			    "%s:%u: key \"project\" is set twice", path,
			    lineno);
		if (!sb_project_valid(val)) {
			sb_err_set(err, SB_EINVALID,
			    "%s:%u: invalid project name \"%s\"", path,
			    lineno, val);
			sb_err_hint(err, "use 1 to %d characters of "
			    "[A-Za-z0-9._-], not starting with a dot",
			    SB_PROJECT_MAX);
			return -1;
		}
		conf->project = sb_strdup(val);
		return 0;
	}
	if (strcmp(key, "fingerprint-exclude") == 0)
		return parse_exclude(conf, path, lineno, val, err);
	/* A typo must not be silently ignored. */
	return sb_err_set(err, SB_EINVALID, "%s:%u: unknown key \"%s\"", path,
	    lineno, key);
}

int
sb_conf_load(struct sb_conf *conf, const char *dir, struct sb_err *err)
{
	char *path, *buf = NULL, *line, *nl;
	size_t len;
	unsigned lineno = 0;
	int ret = -1;

	conf->project = NULL;
	conf->exclude = (struct sb_fp_excl)SB_FP_EXCL_INIT;
	path = strcmp(dir, ".") == 0 ? sb_strdup(CONF_NAME) :
	    sb_printf("%s/%s", dir, CONF_NAME);
	errno = 0;
	if (sb_read_file(path, CONF_MAX, &buf, &len, err) == -1) {
		if (errno == ENOENT) {
			sb_err_set(err, SB_EINVALID,
			    "\"%s\" not found: not a sqlbundle project", path);
			sb_err_hint(err, "create it with a line "
			    "\"project = NAME\", or point at the project "
			    "with -C DIR");
		}
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		sb_err_set(err, SB_EINVALID, "%s: holds a NUL byte", path);
		goto out;
	}
	for (line = buf; *line != '\0'; line = nl + 1) {
		lineno++;
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line) - 1;
		else
			*nl = '\0';
		if (parse_line(conf, path, lineno, line, err) == -1)
			goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		sb_conf_release(conf);
	free(buf);
	free(path);
	return ret;
}

void
sb_conf_release(struct sb_conf *conf)
{
	free(conf->project);
	conf->project = NULL;
	sb_fp_excl_release(&conf->exclude);
}
