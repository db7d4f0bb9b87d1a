/*
 * Seed data: find seeds/<revision-id>/ folders and their files, refusing
 * anything that is not a plain CSV or SQL seed of a known revision.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "sqlbundle/csv.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/manifest.h"
#include "sqlbundle/revision.h"
#include "seedcsv.h"
#include "seeds.h"

/* Names end up in tar entry paths: keep to bytes every tool handles. */
static bool
name_safe(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* 0 if path is a plain folder (want_dir) or a plain file (!want_dir). */
static int
check_kind(const char *path, bool want_dir, struct sb_err *err)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return sb_err_sys(err, "could not stat \"%s\"", path);
	if (S_ISLNK(st.st_mode))
		return sb_err_set(err, SB_EINVALID, "%s: a link (seed data "
		    "must be plain files in plain folders)", path);
	if (want_dir && !S_ISDIR(st.st_mode))
		return sb_err_set(err, SB_EINVALID, "%s: not a folder "
		    "(seeds/ holds one folder per revision id)", path);
	if (!want_dir && !S_ISREG(st.st_mode))
		return sb_err_set(err, SB_EINVALID, "%s: not a plain file "
		    "(a seed folder holds only CSV and SQL files)", path);
	return 0;
}

/* The files of one seeds/<id>/ folder, in byte order of name. */
static int
load_folder(const char *path, struct sb_seed_file **filesp, size_t *np,
    struct sb_err *err)
{
	struct sb_seed_file *files = NULL;
	char **names = NULL;
	size_t nnames = 0, n = 0, i;
	int ret = -1;

	if (sb_list_dir(path, 0, &names, &nnames, err) == -1)
		return -1;
	if (nnames > 0)
		files = sb_calloc(nnames, sizeof(*files));
	for (i = 0; i < nnames; i++) {
		struct sb_seed_file *f = &files[n];
		struct sb_err perr = SB_ERR_INIT;

		f->path = sb_printf("%s/%s", path, names[i]);
		f->name = sb_strdup(names[i]);
		n++;
		if (!name_safe(names[i])) {
			sb_err_set(err, SB_EINVALID, "%s: seed file names may "
			    "only hold [A-Za-z0-9._-]", f->path);
			goto out;
		}
		if (check_kind(f->path, false, err) == -1)
			goto out;
		if (sb_seed_name_parse(names[i], &f->kind, &f->schema,
		    &f->table, &perr) == -1) {
			sb_err_set(err, SB_EINVALID, "%s: not a seed file "
			    "(names are \"[NN-]schema.table.csv\" or "
			    "\"*.sql\")", f->path);
			goto out;
		}
	}
	*filesp = files;
	*np = n;
	files = NULL;
	n = 0;
	ret = 0;
out:
	for (i = 0; i < n; i++) {
		free(files[i].path);
		free(files[i].name);
		free(files[i].schema);
		free(files[i].table);
	}
	free(files);
	sb_names_free(names, nnames);
	return ret;
}

int
sb_seeds_load(struct sb_seeds *seeds, const char *dir,
    const struct sb_chain *chain, struct sb_err *err)
{
	char *top = NULL, *path = NULL, **names = NULL;
	size_t nnames = 0, i;
	ssize_t r;
	int ret = -1;

	seeds->nrevs = chain->n;
	seeds->files = sb_calloc(chain->n, sizeof(*seeds->files));
	seeds->nfiles = sb_calloc(chain->n, sizeof(*seeds->nfiles));
	top = strcmp(dir, ".") == 0 ? sb_strdup("seeds") :
	    sb_printf("%s/seeds", dir);
	if (sb_list_dir(top, 1, &names, &nnames, err) == -1)
		goto out;
	for (i = 0; i < nnames; i++) {
		free(path);
		path = sb_printf("%s/%s", top, names[i]);
		if (check_kind(path, true, err) == -1)
			goto out;
		if (!sb_revision_id_valid(names[i]) ||
		    (r = sb_chain_find(chain, names[i])) == -1) {
			sb_err_set(err, SB_EINVALID, "%s: no revision \"%s\" "
			    "in the chain", path, names[i]);
			sb_err_hint(err, "seeds/ holds one folder per revision "
			    "id, named after it");
			goto out;
		}
		if (load_folder(path, &seeds->files[r], &seeds->nfiles[r],
		    err) == -1)
			goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		sb_seeds_release(seeds);
	sb_names_free(names, nnames);
	free(path);
	free(top);
	return ret;
}

void
sb_seeds_release(struct sb_seeds *seeds)
{
	for (size_t i = 0; i < seeds->nrevs; i++) {
		for (size_t j = 0; j < seeds->nfiles[i]; j++) {
			struct sb_seed_file *f = &seeds->files[i][j];

			free(f->path);
			free(f->name);
			free(f->schema);
			free(f->table);
		}
		free(seeds->files[i]);
	}
	free(seeds->files);
	free(seeds->nfiles);
	seeds->files = NULL;
	seeds->nfiles = NULL;
	seeds->nrevs = 0;
}

int
sb_seed_csv_header(const char *path, char ***cols, size_t *ncols,
    size_t *hlen, struct sb_err *err)
{
	char *buf = sb_malloc(SB_CSV_HEADER_MAX);
	uint64_t lines;
	ssize_t len;
	int fd, ret = -1;

	*cols = NULL;
	*ncols = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		sb_err_sys(err, "could not open \"%s\"", path);
		goto out;
	}
	if ((len = sb_read_full(fd, buf, SB_CSV_HEADER_MAX)) == -1) {
		sb_err_sys(err, "could not read \"%s\"", path);
		goto out;
	}
	/* A full buffer is all the grammar looks at: it always decides. */
	if (sb_csv_header(buf, (size_t)len, len < SB_CSV_HEADER_MAX, cols,
	    ncols, hlen, &lines, err) != 1) {
		sb_err_prefix(err, "%s:1", path);
		goto out;
	}
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	free(buf);
	return ret;
}
