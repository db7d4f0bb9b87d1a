/*
 * The revision chain: load revisions/ *.sql, refuse broken graphs (Kahn's
 * algorithm finds cycles), then order as Alembic's `upgrade head` does.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sqlbundle/chain.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/revision.h"
#include "revision_priv.h"

/* Message lists of revisions stop after this many. */
#define LIST_MAX	20

struct id_ref {
	const char	*id;
	size_t		 i;
};


static int
cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct id_ref *)a)->id,
	    ((const struct id_ref *)b)->id);
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Sorted (id, index) pairs of revs. */
static struct id_ref *
sort_ids(const struct sb_revision *revs, size_t n)
{
	struct id_ref *refs = sb_calloc(n, sizeof(*refs));

	for (size_t i = 0; i < n; i++) {
		refs[i].id = revs[i].id;
		refs[i].i = i;
	}
	qsort(refs, n, sizeof(*refs), cmp_ref);
	return refs;
}

static ssize_t
lookup(const struct id_ref *refs, size_t n, const char *id)
{
	struct id_ref key = { id, 0 }, *hit;

	hit = bsearch(&key, refs, n, sizeof(*refs), cmp_ref);
	return hit ? (ssize_t)(hit - refs) : -1;
}

/* Min-heap of ranks (positions in id order): the ready set of Kahn. */
struct heap {
	size_t	*v;
	size_t	 n;
};

static void
heap_push(struct heap *h, size_t x)
{
	size_t i = h->n++;

	while (i > 0 && h->v[(i - 1) / 2] > x) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = x;
}

static size_t
heap_pop(struct heap *h)
{
	size_t top = h->v[0], x = h->v[--h->n], i = 0, c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && h->v[c + 1] < h->v[c])
			c++;
		if (h->v[c] >= x)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n > 0)
		h->v[i] = x;
	return top;
}

/* Append "id (path:line)" items to buf, at most LIST_MAX of them. */
static void
list_add(char *buf, size_t cap, size_t k, const struct sb_revision *r)
{
	size_t len = strlen(buf);

	if (k == LIST_MAX)
		snprintf(buf + len, cap - len, ", ...");
	else if (k < LIST_MAX)
		snprintf(buf + len, cap - len, "%s%s (%s:%u)", k ? ", " : "",
		    r->id, r->path, r->header_line);
}

/* Load every revisions/ *.sql file of dir, in name order. */
static int
load_files(const char *dir, struct sb_revision **revsp, unsigned **downp,
    size_t *np, struct sb_err *err)
{
	char *revdir = NULL, **names = NULL, *path = NULL;
	struct sb_revision *revs = NULL;
	unsigned *down = NULL;
	size_t nnames = 0, n = 0, i;
	struct stat st;
	int ret = -1;

	revdir = strcmp(dir, ".") == 0 ? sb_strdup("revisions") :
	    sb_printf("%s/revisions", dir);
	if (sb_list_dir(revdir, 0, &names, &nnames, err) == -1)
		goto out;
	revs = sb_calloc(nnames, sizeof(*revs));
	down = sb_calloc(nnames, sizeof(*down));
	for (i = 0; i < nnames; i++) {
		if (!has_suffix(names[i], ".sql"))
			continue;	/* CHECKSUMS, README, ... */
		free(path);
		path = sb_printf("%s/%s", revdir, names[i]);
		if (lstat(path, &st) == -1) {
			sb_err_sys(err, "could not stat \"%s\"", path);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			sb_err_set(err, SB_EINVALID, "%s: not a regular file "
			    "(revisions must be plain files, not %s)", path,
			    S_ISDIR(st.st_mode) ? "folders" :
			    S_ISLNK(st.st_mode) ? "links" : "special files");
			goto out;
		}
		if (sb_revision_load_at(&revs[n], path, &down[n], err) == -1)
			goto out;
		n++;
	}
	*revsp = revs;
	*downp = down;
	*np = n;
	revs = NULL;
	down = NULL;
	ret = 0;
out:
	if (revs != NULL) {
		for (i = 0; i < n; i++)
			sb_revision_release(&revs[i]);
		free(revs);
	}
	free(down);
	free(path);
	sb_names_free(names, nnames);
	free(revdir);
	return ret;
}

/*
 * Kahn stopped early: every revision left has a parent left. Walk up
 * such parents until one repeats; the walk from there is a cycle.
 */
static int
report_cycle(const struct sb_revision *revs, const unsigned *down, size_t n,
    const size_t *pstart, const size_t *pidx, const size_t *indeg,
    struct sb_err *err)
{
	size_t *seen = sb_calloc(n, sizeof(*seen));	/* walk step + 1 */
	size_t *walk = sb_calloc(n, sizeof(*walk));
	size_t u = 0, steps = 0, from, k;
	char list[768] = "";

	while (indeg[u] == 0)
		u++;
	while (seen[u] == 0) {
		seen[u] = ++steps;
		walk[steps - 1] = u;
		for (k = pstart[u]; k < pstart[u + 1]; k++)
			if (indeg[pidx[k]] > 0)
				break;
		u = pidx[k];
	}
	/*
	 * walk[from..steps) is the cycle, child to parent, walk[from] == u:
	 * print it parent to child, from u round to u
	 */
	from = seen[u] - 1;
	snprintf(list, sizeof(list), "%s", revs[u].id);
	for (k = steps; k > from; k--) {
		size_t len = strlen(list);

		snprintf(list + len, sizeof(list) - len, " -> %s",
		    revs[walk[k - 1]].id);
	}
	sb_err_set(err, SB_EINVALID, "%s:%u: revision \"%s\" is in a cycle: %s",
	    revs[u].path, down[u], revs[u].id, list);
	list[0] = '\0';
	for (k = from; k < steps; k++)
		list_add(list, sizeof(list), k - from, &revs[walk[k]]);
	sb_err_detail(err, "revisions in the cycle: %s", list);
	free(seen);
	free(walk);
	return -1;
}

/* The chain as a graph while it is checked: files, id index, edges. */
struct graph {
	struct sb_revision *revs;	/* file order */
	unsigned	*down;		/* line of each down_revision key */
	size_t		 n;
	struct id_ref	*refs;		/* ids sorted */
	size_t		*rank;		/* place of each revision in refs */
	size_t		*pstart, *pidx;	/* parents, compressed rows */
	size_t		*kstart, *kids;	/* children, compressed rows */
	size_t		*order;		/* apply order */
};

static void
graph_release(struct graph *g)
{
	if (g->revs != NULL) {
		for (size_t i = 0; i < g->n; i++)
			sb_revision_release(&g->revs[i]);
		free(g->revs);
	}
	free(g->down);
	free(g->refs);
	free(g->rank);
	free(g->pstart);
	free(g->pidx);
	free(g->kstart);
	free(g->kids);
	free(g->order);
}

/* ids sorted: duplicates are neighbours; rank = place in id order. */
static int
index_ids(struct graph *g, struct sb_err *err)
{
	g->refs = sort_ids(g->revs, g->n);
	g->rank = sb_calloc(g->n, sizeof(*g->rank));
	for (size_t i = 0; i < g->n; i++) {
		const struct sb_revision *a, *b;

		g->rank[g->refs[i].i] = i;
		if (i == 0 || strcmp(g->refs[i - 1].id, g->refs[i].id) != 0)
			continue;
		a = &g->revs[g->refs[i - 1].i];
		b = &g->revs[g->refs[i].i];
		return sb_err_set(err, SB_EINVALID, "duplicate revision id "
		    "\"%s\": %s:%u and %s:%u", a->id, a->path, a->header_line,
		    b->path, b->header_line);
	}
	return 0;
}

/* Parents as indices, and children the other way; unknown ids refused. */
static int
link_parents(struct graph *g, struct sb_err *err)
{
	size_t n = g->n, *kfill;

	g->pstart = sb_calloc(n + 1, sizeof(*g->pstart));
	for (size_t i = 0; i < n; i++)
		g->pstart[i + 1] = g->pstart[i] + g->revs[i].nparents;
	g->pidx = sb_calloc(g->pstart[n], sizeof(*g->pidx));
	g->kstart = sb_calloc(n + 1, sizeof(*g->kstart));
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < g->revs[i].nparents; j++) {
			const char *id = g->revs[i].parents[j];
			ssize_t r = lookup(g->refs, n, id);

			if (r == -1)
				return sb_err_set(err, SB_EINVALID, "%s:%u: "
				    "down_revision names unknown revision "
				    "\"%s\"", g->revs[i].path, g->down[i], id);
			g->pidx[g->pstart[i] + j] = g->refs[r].i;
			g->kstart[g->refs[r].i + 1]++;
		}
	}
	for (size_t i = 0; i < n; i++)
		g->kstart[i + 1] += g->kstart[i];
	g->kids = sb_calloc(g->pstart[n], sizeof(*g->kids));
	kfill = sb_calloc(n, sizeof(*kfill));
	for (size_t i = 0; i < n; i++)
		for (size_t k = g->pstart[i]; k < g->pstart[i + 1]; k++) {
			size_t p = g->pidx[k];

			g->kids[g->kstart[p] + kfill[p]++] = i;
		}
	free(kfill);
	return 0;
}

/* Kahn: always take the ready revision with the smallest id. */
static int
order_revs(struct graph *g, struct sb_err *err)
{
	size_t n = g->n, norder = 0;
	size_t *indeg = sb_calloc(n, sizeof(*indeg));
	struct heap ready = { sb_calloc(n, sizeof(size_t)), 0 };
	int ret = 0;

	g->order = sb_calloc(n, sizeof(*g->order));
	for (size_t i = 0; i < n; i++) {
		indeg[i] = g->revs[i].nparents;
		if (indeg[i] == 0)
			heap_push(&ready, g->rank[i]);
	}
	while (ready.n > 0) {
		size_t u = g->refs[heap_pop(&ready)].i;

		g->order[norder++] = u;
		for (size_t k = g->kstart[u]; k < g->kstart[u + 1]; k++)
			if (--indeg[g->kids[k]] == 0)
				heap_push(&ready, g->rank[g->kids[k]]);
	}
	if (norder < n)
		ret = report_cycle(g->revs, g->down, n, g->pstart, g->pidx,
		    indeg, err);
	free(ready.v);
	free(indeg);
	return ret;
}

/* One base and one head (listed in apply order when there are more). */
static int
check_ends(const struct graph *g, struct sb_err *err)
{
	size_t nbases = 0, nheads = 0;
	char bases[768] = "", heads[768] = "";

	for (size_t k = 0; k < g->n; k++) {
		size_t u = g->order[k];

		if (g->revs[u].nparents == 0)
			list_add(bases, sizeof(bases), nbases++, &g->revs[u]);
		if (g->kstart[u] == g->kstart[u + 1])
			list_add(heads, sizeof(heads), nheads++, &g->revs[u]);
	}
	if (nbases > 1)
		return sb_err_set(err, SB_EINVALID, "more than one base "
		    "revision (down_revision: none): %s", bases);
	if (nheads > 1) {
		sb_err_set(err, SB_EINVALID, "multiple head revisions are "
		    "present: %s", heads);
		sb_err_hint(err, "write a merge revision whose down_revision "
		    "lists every head");
		return -1;
	}
	return 0;
}

#define BIT(b, i)	((b)[(i) / 8] & (1u << ((i) % 8)))

/* Bits of u and of every ancestor of u. */
static void
ancestors(const struct graph *g, size_t u, unsigned char *bits,
    size_t *stack)
{
	size_t sp = 0;

	memset(bits, 0, (g->n + 7) / 8);
	bits[u / 8] |= (unsigned char)(1u << (u % 8));
	stack[sp++] = u;
	while (sp > 0) {
		size_t v = stack[--sp];

		for (size_t k = g->pstart[v]; k < g->pstart[v + 1]; k++) {
			size_t p = g->pidx[k];

			if (!BIT(bits, p)) {
				bits[p / 8] |= (unsigned char)(1u << (p % 8));
				stack[sp++] = p;
			}
		}
	}
}

/*
 * The order of Alembic's `upgrade head` (RevisionMap._topological_sort,
 * reversed), so that an imported chain runs its branches as Alembic ran
 * them: walking down from the head, keep a list of pending heads; go on
 * with the current one unless it is an ancestor of another pending head
 * (that one goes first); an emitted revision is replaced by its parents
 * not emitted nor pending, in down_revision order, the first in its
 * place, the others at the end. A merge's first parent thus comes right
 * before it, its last parent's branch first. Needs one head (checked).
 */
static void
alembic_order(struct graph *g)
{
	size_t n = g->n, nb = (n + 7) / 8, nheads = 1, cur = 0, nout = 0;
	size_t *heads = sb_calloc(n, sizeof(*heads));
	unsigned char **anc = sb_calloc(n, sizeof(*anc));
	size_t *stack = sb_calloc(n, sizeof(*stack));
	size_t *out = sb_calloc(n, sizeof(*out));
	size_t *add = sb_calloc(n, sizeof(*add));
	bool *done = sb_calloc(n, sizeof(*done));

	while (g->kstart[heads[0]] != g->kstart[heads[0] + 1])
		heads[0]++;
	anc[0] = sb_malloc(nb);
	ancestors(g, heads[0], anc[0], stack);
	while (nheads > 0) {
		size_t c = heads[cur], j, nadd = 0;

		for (j = 0; j < nheads; j++)
			if (j != cur && BIT(anc[j], c))
				break;
		if (j < nheads) {
			cur = j;	/* another head needs c: it goes first */
			continue;
		}
		if (!done[c]) {
			done[c] = true;
			out[nout++] = c;
		}
		for (size_t k = g->pstart[c]; k < g->pstart[c + 1]; k++) {
			size_t p = g->pidx[k];

			for (j = 0; j < nheads && heads[j] != p; j++)
				;
			if (!done[p] && j == nheads)
				add[nadd++] = p;
		}
		if (nadd == 0) {
			free(anc[cur]);
			memmove(heads + cur, heads + cur + 1,
			    (nheads - cur - 1) * sizeof(*heads));
			memmove(anc + cur, anc + cur + 1,
			    (nheads - cur - 1) * sizeof(*anc));
			nheads--;
			cur = cur > 0 ? cur - 1 : 0;
			continue;
		}
		heads[cur] = add[0];
		if (g->revs[c].nparents == 1) {
			anc[cur][c / 8] &= (unsigned char)~(1u << (c % 8));
		} else {
			ancestors(g, add[0], anc[cur], stack);
			for (j = 1; j < nadd; j++) {
				heads[nheads] = add[j];
				anc[nheads] = sb_malloc(nb);
				ancestors(g, add[j], anc[nheads++], stack);
			}
		}
	}
	/* one head: every revision is below it */
	if (nout == n)
		for (size_t k = 0; k < n; k++)
			g->order[k] = out[n - 1 - k];
	free(heads);
	free(anc);
	free(stack);
	free(out);
	free(add);
	free(done);
}

int
sb_chain_build(struct sb_chain *chain, struct sb_revision *revs,
    unsigned *down, size_t n, struct sb_err *err)
{
	struct graph g = { 0 };
	struct id_ref *refs;

	chain->revs = NULL;
	chain->by_id = NULL;
	chain->n = 0;
	g.revs = revs;
	g.down = down;
	g.n = n;
	if (g.n > 0 && (index_ids(&g, err) == -1 ||
	    link_parents(&g, err) == -1 || order_revs(&g, err) == -1 ||
	    check_ends(&g, err) == -1)) {
		graph_release(&g);
		return -1;
	}
	if (g.n > 0)
		alembic_order(&g);
	/* The revisions move to the chain, in apply order. */
	chain->n = g.n;
	if (g.n > 0) {
		chain->revs = sb_calloc(g.n, sizeof(*chain->revs));
		for (size_t k = 0; k < g.n; k++)
			chain->revs[k] = g.revs[g.order[k]];
		refs = sort_ids(chain->revs, g.n);
		chain->by_id = sb_calloc(g.n, sizeof(size_t));
		for (size_t k = 0; k < g.n; k++)
			chain->by_id[k] = refs[k].i;
		free(refs);
	}
	free(g.revs);
	g.revs = NULL;
	graph_release(&g);
	return 0;
}

int
sb_chain_load(struct sb_chain *chain, const char *dir, struct sb_err *err)
{
	struct sb_revision *revs;
	unsigned *down;
	size_t n;

	chain->revs = NULL;
	chain->by_id = NULL;
	chain->n = 0;
	if (load_files(dir, &revs, &down, &n, err) == -1)
		return -1;
	return sb_chain_build(chain, revs, down, n, err);
}

ssize_t
sb_chain_find(const struct sb_chain *chain, const char *id)
{
	const struct sb_revision *revs = chain->revs;
	size_t lo = 0, hi = chain->n;

	if (chain->by_id == NULL) {
		for (size_t i = 0; i < chain->n; i++)
			if (strcmp(revs[i].id, id) == 0)
				return (ssize_t)i;
		return -1;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, p = chain->by_id[mid];
		int c = strcmp(id, revs[p].id);

		if (c == 0)
			return (ssize_t)p;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int
sb_chain_range(const struct sb_chain *chain, const char *from, const char *to,
    ssize_t *first, ssize_t *last, struct sb_err *err)
{
	ssize_t f = -1, t = (ssize_t)chain->n - 1;

	if (from != NULL && strcmp(from, "base") != 0 &&
	    (f = sb_chain_find(chain, from)) == -1)
		return sb_err_set(err, SB_EINVALID,
		    "unknown revision \"%s\" (--from)", from);
	if (to != NULL && strcmp(to, "head") != 0 &&
	    (t = sb_chain_find(chain, to)) == -1)
		return sb_err_set(err, SB_EINVALID,
		    "unknown revision \"%s\" (--to)", to);
	if (chain->n == 0)
		return sb_err_set(err, SB_EINVALID, "the chain has no revision");
	if (t <= f) {
		sb_err_set(err, SB_EINVALID, "revision \"%s\" is not after "
		    "\"%s\" in apply order", t >= 0 ? chain->revs[t].id : "base",
		    f >= 0 ? chain->revs[f].id : "base");
		return -1;
	}
	*first = f;
	*last = t;
	return 0;
}

void
sb_chain_release(struct sb_chain *chain)
{
	for (size_t i = 0; i < chain->n; i++)
		sb_revision_release(&chain->revs[i]);
	free(chain->revs);
	free(chain->by_id);
	chain->revs = NULL;
	chain->by_id = NULL;
	chain->n = 0;
}
