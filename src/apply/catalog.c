/*
 * The catalog's answers about the tables seeds load into. Whether rows
 * may load out of file order errs on the safe side: anything that could
 * see or number the rows in the order they arrive makes the load serial.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/fs.h"

#include "catalog.h"

/* {"a","b"}: names as a text[] literal. */
static char *
text_array(char *const *v, size_t n)
{
	size_t len = 3;
	char *s, *o;

	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(v[i]) + 3;
	s = o = sb_malloc(len);
	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		*o++ = '"';
		for (const char *c = v[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*o++ = '\\';
			*o++ = *c;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return s;
}

/* A stored expression (node tree) X calls a volatile function. */
#define VOLATILE(x) \
	"EXISTS (SELECT 1 FROM regexp_matches(" x "::text, " \
	"':(?:op)?funcid (\\d+)', 'g') m JOIN pg_proc f " \
	"ON f.oid = m[1]::oid WHERE f.provolatile = 'v')"

/*
 * The tree is the whole partition hierarchy the table belongs to: a
 * seed may name a partition whose parent holds the trigger or the
 * foreign key, or the parent of a partition that holds them. Defaults
 * are checked through the functions their expression calls (funcid and
 * opfuncid in the stored node tree): pg_depend does not record built-in
 * functions such as nextval() or random(). A column without a default
 * of its own takes its domain's, or that of the domain under it.
 */
static const char order_sql[] =
    "WITH RECURSIVE t AS (SELECT c.oid FROM pg_class c JOIN pg_namespace s "
    "ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relname = $2), "
    "tree AS (SELECT t.oid AS relid FROM t UNION "
    "SELECT p.relid FROM t, pg_partition_tree("
    "coalesce(pg_partition_root(t.oid), t.oid)) p), "
    "dom(top, typ) AS (SELECT oid, oid FROM pg_type WHERE typtype = 'd' "
    "UNION ALL SELECT dom.top, y.typbasetype FROM dom JOIN pg_type y "
    "ON y.oid = dom.typ WHERE y.typtype = 'd') "
    "SELECT (SELECT count(*) FROM t), coalesce("
    "(SELECT format('trigger %I%s runs for its rows', g.tgname, "
    "CASE WHEN g.tgrelid <> (SELECT oid FROM t) THEN ' on ' || "
    "g.tgrelid::regclass END) FROM pg_trigger g "
    "WHERE g.tgrelid IN (SELECT relid FROM tree) AND NOT g.tgisinternal "
    "ORDER BY g.tgrelid = (SELECT oid FROM t) DESC, g.tgname LIMIT 1), "
    "(SELECT CASE WHEN k.conrelid = (SELECT oid FROM t) AND "
    "k.confrelid = k.conrelid THEN format('foreign key %I refers to the "
    "table itself', k.conname) ELSE format('foreign key %I on %s refers "
    "to %s, in the same partition tree', k.conname, "
    "k.conrelid::regclass, k.confrelid::regclass) END "
    "FROM pg_constraint k WHERE k.contype = 'f' "
    "AND k.conrelid IN (SELECT relid FROM tree) "
    "AND k.confrelid IN (SELECT relid FROM tree) "
    "ORDER BY k.conrelid = (SELECT oid FROM t) DESC, k.conname LIMIT 1), "
    "(SELECT format('column %I, which the CSV omits, is %s', a.attname, "
    "CASE WHEN a.attidentity <> '' THEN 'an identity column' "
    "WHEN d.adbin IS NOT NULL THEN 'filled by ' || "
    "pg_get_expr(d.adbin, d.adrelid) "
    "ELSE format('filled by the default of domain %s', "
    "a.atttypid::regtype) END) "
    "FROM tree JOIN pg_attribute a ON a.attrelid = tree.relid "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND "
    "d.adnum = a.attnum "
    "WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
    "AND a.attname <> ALL ($3::text[]) AND (a.attidentity <> '' OR "
    VOLATILE("d.adbin") " OR (d.adbin IS NULL AND EXISTS (SELECT 1 "
    "FROM dom JOIN pg_type y ON y.oid = dom.typ WHERE dom.top = a.atttypid "
    "AND y.typdefaultbin IS NOT NULL AND " VOLATILE("y.typdefaultbin")
    "))) ORDER BY a.attrelid = (SELECT oid FROM t) DESC, a.attnum "
    "LIMIT 1))";

int
sb_catalog_load_order(struct sb_db *db, const char *schema,
    const char *table, char *const *cols, size_t n, char **why,
    bool *missing, struct sb_err *err)
{
	struct sb_rows rows = SB_ROWS_INIT;
	char *list = text_array(cols, n);
	const char *params[3] = { schema, table, list };
	const char *v;
	int ret;

	*why = NULL;
	*missing = false;
	ret = sb_db_query(db, order_sql, 3, params, &rows, NULL, err);
	if (ret == 0) {
		v = sb_rows_get(&rows, 0, 0);
		*missing = v == NULL || strcmp(v, "0") == 0;
		if ((v = sb_rows_get(&rows, 0, 1)) != NULL)
			*why = sb_strdup(v);
	}
	sb_rows_release(&rows);
	free(list);
	return ret;
}
