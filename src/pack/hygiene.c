/* Key and bundle hygiene of sqlbundle (hygiene.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sqlbundle/bundle.h"
#include "sqlbundle/fs.h"

#include "hygiene.h"

#define IGNORE_MAX	(64 * 1024)

/* A .gitignore line that ignores a key file named name in keys/. */
static bool
ignores(const char *line, size_t n, const char *name, bool in_keys)
{
	static const char *const root[] = { "*.key", "keys/", "keys",
	    "/keys/", "/keys", "keys/*", "/keys/*", "keys/*.key",
	    "/keys/*.key", "**/*.key", NULL };
	char buf[256];

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, line, n);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (in_keys)
		return strcmp(buf, "*.key") == 0 || strcmp(buf, "*") == 0 ||
		    strcmp(buf, "/*.key") == 0 || strcmp(buf, name) == 0;
	for (size_t i = 0; root[i] != NULL; i++)
		if (strcmp(buf, root[i]) == 0)
			return true;
	return false;
}

/* path exists and one of its lines ignores the key. */
static bool
file_ignores(const char *path, const char *keyfile, bool in_keys)
{
	struct sb_err err = SB_ERR_INIT;
	char *buf = NULL, *p, *nl;
	size_t len;
	bool yes = false;

	if (sb_read_file(path, IGNORE_MAX, &buf, &len, &err) == -1)
		return false;
	for (p = buf; !yes && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p) - 1;
		yes = ignores(p, (size_t)(nl - p) + (nl[0] != '\n'), keyfile,
		    in_keys);
	}
	free(buf);
	return yes;
}

int
sb_hygiene_gitignore(const char *dir, const char *keydir, const char *name,
    bool *wrote, struct sb_err *err)
{
	char *keyfile = sb_printf("%s.key", name);
	char *path = sb_printf("%s/.gitignore", keydir);
	char *top = sb_printf("%s/.gitignore", dir);
	char *text = NULL, *old = NULL;
	size_t len = 0;
	int ret = -1;

	*wrote = false;
	if (file_ignores(path, keyfile, true) ||
	    file_ignores(top, keyfile, false)) {
		ret = 0;
		goto out;
	}
	if (sb_read_file(path, IGNORE_MAX, &old, &len, err) == -1) {
		if (access(path, F_OK) == 0)
			goto out;
		sb_err_clear(err);
	}
	text = sb_printf("%s%s# Private signing keys never go into "
	    "git.\n*.key\n", old != NULL ? old : "",
	    len > 0 && old[len - 1] != '\n' ? "\n" : "");
	if (sb_write_file_atomic(path, text, strlen(text), 0644, err) == -1)
		goto out;
	*wrote = true;
	ret = 0;
out:
	free(keyfile);
	free(path);
	free(top);
	free(text);
	free(old);
	return ret;
}

bool
sb_hygiene_is_pubkey(int fd)
{
	static const char tag[] = "-----BEGIN PUBLIC KEY-----";
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, tag) != NULL;
}

int
sb_hygiene_overwrite(const char *path, const char *id, bool force,
    struct sb_err *err)
{
	struct sb_bundle *b = NULL;
	struct sb_err ignored = SB_ERR_INIT;
	char old[80] = "";
	int fd;

	if (force)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		return sb_err_sys(err, "could not open \"%s\"", path);
	}
	if (sb_bundle_open(&b, fd, path, NULL, NULL, &ignored) == 0) {
		snprintf(old, sizeof(old), "%s", sb_bundle_id(b));
		sb_bundle_close(b);
	}
	close(fd);
	if (strcmp(old, id) == 0)
		return 0;
	if (old[0] == '\0')
		sb_err_set(err, SB_EINVALID, "\"%s\" exists and is not a "
		    "bundle; refusing to overwrite it", path);
	else
		sb_err_set(err, SB_EINVALID, "\"%s\" is another bundle (id "
		    "%.12s; this one is %.12s); refusing to overwrite it", path,
		    old, id);
	sb_err_hint(err, "pass --force to replace it, or -o to write "
	    "elsewhere");
	return -1;
}

long long
sb_hygiene_epoch(const char *dir, const char **how)
{
	char buf[64];
	ssize_t n = 0, r;
	int fds[2], status, devnull;
	pid_t pid;
	long long t;
	char *end;

	*how = "fixed: 1970-01-01, no git history of revisions/ or seeds/";
	if (pipe(fds) == -1)
		return 0;
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDERR_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		execlp("git", "git", "-C", dir, "log", "-1", "--format=%ct",
		    "--", "revisions", "seeds", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (n < (ssize_t)sizeof(buf) - 1 &&
	    (r = read(fds[0], buf + n, sizeof(buf) - 1 - (size_t)n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		n += r;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	buf[n] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0)
		return 0;
	errno = 0;
	t = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    t < 0)
		return 0;
	*how = "the last git commit of revisions/ or seeds/";
	return t;
}
