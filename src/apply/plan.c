/* Position of a database on a bundle's chain, targets and steps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/cli.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/revision.h"

#include "plan.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
in_set(char *const *set, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(set[i], id) == 0)
			return true;
	return false;
}

void
sb_heads_build(struct sb_heads *h, const struct sb_manifest *m)
{
	size_t n = m->nrevs;

	h->n = n;
	h->sets = sb_calloc(n + 1, sizeof(*h->sets));
	h->nsets = sb_calloc(n + 1, sizeof(*h->nsets));
	if (strcmp(m->from, "base") != 0) {
		h->sets[0] = sb_malloc(sizeof(char *));
		h->sets[0][0] = sb_strdup(m->from);
		h->nsets[0] = 1;
	}
	for (size_t k = 1; k <= n; k++) {
		const struct sb_manifest_rev *r = &m->revs[k - 1];
		char **prev = h->sets[k - 1], **set;
		size_t np = h->nsets[k - 1], ns = 0;

		set = sb_malloc((np + 1) * sizeof(*set));
		for (size_t i = 0; i < np; i++)
			if (!in_set(r->parents, r->nparents, prev[i]))
				set[ns++] = sb_strdup(prev[i]);
		set[ns++] = sb_strdup(r->id);
		qsort(set, ns, sizeof(*set), cmp_str);
		h->sets[k] = set;
		h->nsets[k] = ns;
	}
}

void
sb_heads_release(struct sb_heads *h)
{
	if (h->sets != NULL) {
		for (size_t k = 0; k <= h->n; k++) {
			for (size_t i = 0; i < h->nsets[k]; i++)
				free(h->sets[k][i]);
			free(h->sets[k]);
		}
	}
	free(h->sets);
	free(h->nsets);
	h->sets = NULL;
	h->nsets = NULL;
	h->n = 0;
}

char *
sb_ids_join(char *const *ids, size_t n)
{
	size_t len = 1;
	char *s;

	if (n == 0)
		return sb_strdup("base");
	for (size_t i = 0; i < n; i++)
		len += strlen(ids[i]) + 4;
	s = sb_malloc(len);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, ", ");
		strcat(s, "\"");
		strcat(s, ids[i]);
		strcat(s, "\"");
	}
	return s;
}

int
sb_plan_position(const struct sb_heads *h, const struct sb_manifest *m,
    char *const *db, size_t ndb, size_t *pos, struct sb_err *err)
{
	char **sorted = NULL, *names;

	if (ndb > 0) {
		sorted = sb_malloc(ndb * sizeof(*sorted));
		memcpy(sorted, db, ndb * sizeof(*sorted));
		qsort(sorted, ndb, sizeof(*sorted), cmp_str);
	}
	for (size_t k = 0; k <= h->n; k++) {
		size_t i;

		if (h->nsets[k] != ndb)
			continue;
		for (i = 0; i < ndb; i++)
			if (strcmp(h->sets[k][i], sorted[i]) != 0)
				break;
		if (i == ndb) {
			free(sorted);
			*pos = k;
			return 0;
		}
	}
	names = sb_ids_join(sorted, ndb);
	if (ndb == 0)
		sb_err_set(err, SB_EREFUSED,
		    "database has no revision (base), which is not on the "
		    "path of the bundle (%s..%s)", m->from, m->to);
	else
		sb_err_set(err, SB_EREFUSED,
		    "database is at revision%s %s, which %s not on the path "
		    "of the bundle (%s..%s)", ndb > 1 ? "s" : "", names,
		    ndb > 1 ? "are" : "is", m->from, m->to);
	sb_err_hint(err, "use a bundle whose range includes the "
	    "database's revision");
	free(names);
	free(sorted);
	return -1;
}

/* Name of position k: the From of the bundle or the k-th revision. */
static const char *
pos_name(const struct sb_manifest *m, size_t k)
{
	return k == 0 ? m->from : m->revs[k - 1].id;
}

/* Parse the N of "+N"/"-N": digits only, at least 1. */
static int
parse_count(const char *s, size_t *n)
{
	unsigned long long v;

	if (sb_parse_number(s, (size_t)-1 / 2, &v) == -1 || v == 0)
		return -1;
	*n = (size_t)v;
	return 0;
}

int
sb_plan_target_check(const char *target, enum sb_dir dir, struct sb_err *err)
{
	size_t cnt;

	if (target == NULL || strcmp(target, "head") == 0 ||
	    strcmp(target, "base") == 0)
		return 0;
	if (target[0] == '+' || target[0] == '-') {
		if (parse_count(target + 1, &cnt) == -1)
			return sb_err_set(err, SB_EUSAGE,
			    "invalid target \"%s\": expected %cN with N a "
			    "positive number", target, target[0]);
		if (target[0] == '+' && dir == SB_DIR_DOWN)
			return sb_err_set(err, SB_EUSAGE,
			    "downgrade target \"%s\": use -N, base or a "
			    "revision id", target);
		if (target[0] == '-' && dir == SB_DIR_UP)
			return sb_err_set(err, SB_EUSAGE,
			    "upgrade target \"%s\": use +N, head or a "
			    "revision id", target);
		return 0;
	}
	if (!sb_revision_id_valid(target))
		return sb_err_set(err, SB_EUSAGE, "invalid target \"%s\": "
		    "expected head, base, a revision id, +N or -N", target);
	return 0;
}

int
sb_plan_target(const struct sb_manifest *m, size_t pos, enum sb_dir dir,
    const char *target, size_t *tgt, enum sb_dir *dirp, struct sb_err *err)
{
	size_t n = m->nrevs, k = 0, cnt = 0;
	bool found = false;

	if (sb_plan_target_check(target, dir, err) == -1)
		return -1;
	if (target == NULL || strcmp(target, "head") == 0) {
		k = n;
	} else if (strcmp(target, "base") == 0) {
		if (strcmp(m->from, "base") != 0) {
			sb_err_set(err, SB_EREFUSED,
			    "target base is not in the bundle (%s..%s)",
			    m->from, m->to);
			sb_err_hint(err, "the bundle can go down to \"%s\"",
			    m->from);
			return -1;
		}
		k = 0;
	} else if (target[0] == '+' || target[0] == '-') {
		parse_count(target + 1, &cnt);
		if (target[0] == '+') {
			if (cnt > n - pos)
				return sb_err_set(err, SB_EREFUSED,
				    "target %s is beyond the bundle: the "
				    "database is at \"%s\", %zu revision%s "
				    "below the bundle's last (\"%s\")",
				    target, pos_name(m, pos), n - pos,
				    n - pos == 1 ? "" : "s", m->to);
			k = pos + cnt;
		} else {
			if (cnt > pos)
				return sb_err_set(err, SB_EREFUSED,
				    "target %s is beyond the bundle: the "
				    "database is at \"%s\", %zu revision%s "
				    "above the bundle's start (\"%s\")",
				    target, pos_name(m, pos), pos,
				    pos == 1 ? "" : "s", m->from);
			k = pos - cnt;
		}
	} else {
		if (strcmp(target, m->from) == 0) {
			k = 0;
			found = true;
		}
		for (size_t i = 0; i < n && !found; i++) {
			if (strcmp(m->revs[i].id, target) == 0) {
				k = i + 1;
				found = true;
			}
		}
		if (!found)
			return sb_err_set(err, SB_EREFUSED,
			    "target revision \"%s\" is not in the bundle "
			    "(%s..%s)", target, m->from, m->to);
	}
	if (dir == SB_DIR_UP && k < pos) {
		sb_err_set(err, SB_EREFUSED,
		    "target \"%s\" is below the database's revision \"%s\"",
		    pos_name(m, k), pos_name(m, pos));
		sb_err_hint(err, "use downgrade to go down");
		return -1;
	}
	if (dir == SB_DIR_DOWN && k > pos) {
		sb_err_set(err, SB_EREFUSED,
		    "target \"%s\" is above the database's revision \"%s\"",
		    pos_name(m, k), pos_name(m, pos));
		sb_err_hint(err, "use upgrade to go up");
		return -1;
	}
	*tgt = k;
	if (dir == SB_DIR_ANY)
		dir = k < pos ? SB_DIR_DOWN : SB_DIR_UP;
	*dirp = dir;
	return 0;
}

/* out = a \ b, pointers into a. */
static const char **
set_minus(char *const *a, size_t na, char *const *b, size_t nb, size_t *nout)
{
	const char **out = sb_malloc((na + 1) * sizeof(*out));
	size_t n = 0;

	for (size_t i = 0; i < na; i++)
		if (!in_set(b, nb, a[i]))
			out[n++] = a[i];
	*nout = n;
	return out;
}

int
sb_plan_make(struct sb_plan *plan, const struct sb_manifest *m,
    const struct sb_heads *h, size_t pos, size_t target, enum sb_dir dir,
    struct sb_err *err)
{
	size_t ns, i = 0;

	memset(plan, 0, sizeof(*plan));
	plan->dir = dir;
	plan->pos = pos;
	plan->target = target;
	if (dir == SB_DIR_DOWN) {
		/* Refuse before anything runs. */
		for (size_t k = pos; k > target; k--) {
			const struct sb_manifest_rev *r = &m->revs[k - 1];

			if (r->downgrade_entry < 0) {
				sb_err_set(err, SB_EREFUSED,
				    "revision \"%s\" (%s) is irreversible: it "
				    "has no -- +downgrade section, so the "
				    "database cannot go down to \"%s\"",
				    r->id, r->file, pos_name(m, target));
				return -1;
			}
		}
		ns = pos - target;
	} else {
		ns = target - pos;
	}
	plan->steps = sb_calloc(ns, sizeof(*plan->steps));
	plan->nsteps = ns;
	for (i = 0; i < ns; i++) {
		struct sb_step *s = &plan->steps[i];
		size_t before, after;

		if (dir == SB_DIR_DOWN) {
			before = pos - i;
			after = before - 1;
			s->rev = before - 1;
		} else {
			after = pos + i + 1;
			before = after - 1;
			s->rev = after - 1;
		}
		s->dir = dir;
		s->del = set_minus(h->sets[before], h->nsets[before],
		    h->sets[after], h->nsets[after], &s->ndel);
		s->ins = set_minus(h->sets[after], h->nsets[after],
		    h->sets[before], h->nsets[before], &s->nins);
	}
	return 0;
}

void
sb_plan_release(struct sb_plan *plan)
{
	for (size_t i = 0; i < plan->nsteps; i++) {
		free(plan->steps[i].del);
		free(plan->steps[i].ins);
	}
	free(plan->steps);
	plan->steps = NULL;
	plan->nsteps = 0;
}

bool
sb_plan_reversible(const struct sb_manifest *m, size_t k)
{
	return m->revs[k].downgrade_entry >= 0;
}

const struct sb_manifest_rev *
sb_plan_floor(const struct sb_plan *plan, const struct sb_manifest *m)
{
	const struct sb_manifest_rev *floor = NULL;

	for (size_t i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].dir == SB_DIR_UP &&
		    !sb_plan_reversible(m, plan->steps[i].rev))
			floor = &m->revs[plan->steps[i].rev];
	return floor;
}
