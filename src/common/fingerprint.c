/*
 * Schema fingerprints: the description, its digest, the diff and the
 * FINGERPRINTS file (include/sqlbundle/fingerprint.h, docs/DESIGN.md).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlbundle/crypto.h"
#include "sqlbundle/fingerprint.h"
#include "sqlbundle/fs.h"
#include "sqlbundle/manifest.h"
#include "sqlbundle/revision.h"

/*
 * The settings the pg_get_*def functions depend on. pg_dump sets
 * search_path to '' the same way, so every name comes out qualified.
 */
static const char fp_setup[] =
    "SET LOCAL search_path = ''; "
    "SET LOCAL quote_all_identifiers = off; "
    "SET LOCAL standard_conforming_strings = on; "
    "SET LOCAL DateStyle = 'ISO, YMD'; "
    "SET LOCAL IntervalStyle = 'postgres'; "
    "SET LOCAL extra_float_digits = 3";

/*
 * One row per object: kind, schema, object (what exclusion patterns
 * match), name, value. User schemas only, extension members left out
 * (pg_dump's rule), dropped columns left out, nothing by OID or attnum
 * position; NOT NULL comes from attnotnull alone, so the catalogued NOT
 * NULL constraints of PostgreSQL 18 (contype 'n') are skipped. Aggregates
 * inside values use COLLATE "C" so the server's collation cannot reorder
 * them.
 */
static const char fp_query[] =
"WITH ns AS (\n"
"  SELECT n.oid, n.nspname, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n\n"
"  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
"    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'\n"
"    AND n.oid NOT IN (SELECT d.objid FROM pg_catalog.pg_depend d\n"
"      WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass\n"
"      AND d.deptype = 'e')),\n"
"rel AS (\n"
"  SELECT c.oid, c.relname, c.relkind, c.relowner, c.relacl, c.relpersistence,\n"
"    c.relpartbound,\n"
"    c.relrowsecurity, c.relforcerowsecurity, c.relispartition, ns.nspname,\n"
"    pg_catalog.quote_ident(ns.nspname) || '.' ||\n"
"      pg_catalog.quote_ident(c.relname) AS qname\n"
"  FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace\n"
"  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c')\n"
"    AND c.oid NOT IN (SELECT d.objid FROM pg_catalog.pg_depend d\n"
"      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass\n"
"      AND d.deptype = 'e')),\n"
"fn AS (\n"
"  SELECT p.oid, p.proname, p.prokind, p.proowner, p.proacl, ns.nspname,\n"
"    pg_catalog.quote_ident(ns.nspname) || '.' ||\n"
"      pg_catalog.quote_ident(p.proname) || '(' ||\n"
"      pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS qname\n"
"  FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace\n"
"  WHERE p.oid NOT IN (SELECT d.objid FROM pg_catalog.pg_depend d\n"
"    WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass\n"
"    AND d.deptype = 'e')),\n"
"ty AS (\n"
"  SELECT t.oid, t.typname, t.typtype, t.typowner, t.typacl, t.typbasetype,\n"
"    t.typtypmod, t.typnotnull, t.typdefault, t.typcollation, t.typrelid,\n"
"    ns.nspname, pg_catalog.quote_ident(ns.nspname) || '.' ||\n"
"      pg_catalog.quote_ident(t.typname) AS qname\n"
"  FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace\n"
"  WHERE t.typtype IN ('e', 'd', 'c')\n"
"    AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c\n"
"      WHERE c.oid = t.typrelid AND c.relkind = 'c'))\n"
"    AND t.oid NOT IN (SELECT d.objid FROM pg_catalog.pg_depend d\n"
"      WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass\n"
"      AND d.deptype = 'e')),\n"
/* The table a sequence belongs to (serial, identity, OWNED BY). */
"seqown AS (\n"
"  SELECT d.objid, t.relname, pg_catalog.quote_ident(a.attname) AS attname,\n"
"    tn.nspname\n"
"  FROM pg_catalog.pg_depend d\n"
"  JOIN pg_catalog.pg_class t ON t.oid = d.refobjid\n"
"  JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace\n"
"  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid\n"
"    AND a.attnum = d.refobjsubid\n"
"  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass\n"
"    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass\n"
"    AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0),\n"
/* Parents of inheritance children and partitions, in inhseqno order. */
"inh AS (\n"
"  SELECT i.inhrelid, pg_catalog.string_agg(\n"
"    pg_catalog.quote_ident(pn.nspname) || '.' ||\n"
"    pg_catalog.quote_ident(p.relname), ', ' ORDER BY i.inhseqno) AS parents\n"
"  FROM pg_catalog.pg_inherits i\n"
"  JOIN pg_catalog.pg_class p ON p.oid = i.inhparent\n"
"  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace\n"
"  GROUP BY i.inhrelid)\n"
/* schemas */
"SELECT 'schema', ns.nspname, NULL, pg_catalog.quote_ident(ns.nspname), ''\n"
"FROM ns\n"
/* tables, views, sequences */
"UNION ALL\n"
"SELECT CASE r.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'matview'\n"
"  WHEN 'S' THEN 'sequence' WHEN 'c' THEN 'type' ELSE 'table' END,\n"
"  r.nspname, COALESCE(so.relname, r.relname), r.qname,\n"
"  CASE\n"
"  WHEN r.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(r.oid)\n"
"  WHEN r.relkind = 'S' THEN (SELECT pg_catalog.concat_ws(' ',\n"
"    'AS', pg_catalog.format_type(s.seqtypid, NULL),\n"
"    'INCREMENT', s.seqincrement, 'MINVALUE', s.seqmin, 'MAXVALUE', s.seqmax,\n"
"    'START', s.seqstart, 'CACHE', s.seqcache,\n"
"    CASE WHEN s.seqcycle THEN 'CYCLE' END,\n"
"    'OWNED BY ' || pg_catalog.quote_ident(so.nspname) || '.' ||\n"
"      pg_catalog.quote_ident(so.relname) || '.' || so.attname)\n"
"    FROM pg_catalog.pg_sequence s WHERE s.seqrelid = r.oid)\n"
"  WHEN r.relkind = 'c' THEN (SELECT pg_catalog.string_agg(\n"
"    pg_catalog.quote_ident(a.attname) || ' ' ||\n"
"    pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)\n"
"    FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0\n"
"    AND NOT a.attisdropped)\n"
"  ELSE pg_catalog.concat_ws(' ',\n"
"    CASE r.relkind WHEN 'f' THEN 'FOREIGN' END,\n"
"    CASE r.relpersistence WHEN 'u' THEN 'UNLOGGED' END,\n"
"    CASE WHEN r.relispartition THEN 'PARTITION OF ' || ih.parents || ' ' ||\n"
"      pg_catalog.pg_get_expr(r.relpartbound, r.oid)\n"
"      ELSE 'INHERITS (' || ih.parents || ')' END,\n"
"    CASE WHEN r.relkind = 'p' THEN 'PARTITION BY ' ||\n"
"      pg_catalog.pg_get_partkeydef(r.oid) END,\n"
"    CASE WHEN r.relrowsecurity THEN 'ROW LEVEL SECURITY' END,\n"
"    CASE WHEN r.relforcerowsecurity THEN 'FORCE ROW LEVEL SECURITY' END)\n"
"  END\n"
"FROM rel r LEFT JOIN seqown so ON so.objid = r.oid AND r.relkind = 'S'\n"
"LEFT JOIN inh ih ON ih.inhrelid = r.oid\n"
/* columns of tables */
"UNION ALL\n"
"SELECT 'column', r.nspname, r.relname,\n"
"  r.qname || '.' || pg_catalog.quote_ident(a.attname),\n"
"  pg_catalog.concat_ws(' ',\n"
"    pg_catalog.format_type(a.atttypid, a.atttypmod),\n"
"    CASE WHEN a.attcollation <> t.typcollation THEN 'COLLATE ' ||\n"
"      pg_catalog.quote_ident(cn.nspname) || '.' ||\n"
"      pg_catalog.quote_ident(co.collname) END,\n"
"    CASE WHEN a.attnotnull THEN 'NOT NULL' END,\n"
"    CASE a.attidentity WHEN 'a' THEN 'GENERATED ALWAYS AS IDENTITY'\n"
"      WHEN 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY' END,\n"
"    CASE WHEN a.attgenerated = 's' THEN 'GENERATED ALWAYS AS (' ||\n"
"      pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'\n"
"      ELSE 'DEFAULT ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END)\n"
"FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid\n"
"JOIN pg_catalog.pg_type t ON t.oid = a.atttypid\n"
"LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation\n"
"LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace\n"
"LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid\n"
"  AND ad.adnum = a.attnum\n"
"WHERE r.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped\n"
/* constraints of tables and of domains */
"UNION ALL\n"
"SELECT 'constraint', r.nspname, r.relname,\n"
"  r.qname || '.' || pg_catalog.quote_ident(co.conname),\n"
"  pg_catalog.pg_get_constraintdef(co.oid)\n"
"FROM rel r JOIN pg_catalog.pg_constraint co ON co.conrelid = r.oid\n"
"WHERE co.contype <> 'n'\n"
"UNION ALL\n"
"SELECT 'constraint', t.nspname, t.typname,\n"
"  t.qname || '.' || pg_catalog.quote_ident(co.conname),\n"
"  pg_catalog.pg_get_constraintdef(co.oid)\n"
"FROM ty t JOIN pg_catalog.pg_constraint co ON co.contypid = t.oid\n"
"WHERE co.contype <> 'n'\n"
/* indexes: named by schema, matched by their table */
"UNION ALL\n"
"SELECT 'index', r.nspname, r.relname,\n"
"  pg_catalog.quote_ident(r.nspname) || '.' ||\n"
"    pg_catalog.quote_ident(ic.relname),\n"
"  pg_catalog.pg_get_indexdef(i.indexrelid) ||\n"
"    CASE WHEN NOT i.indisvalid THEN ' INVALID' ELSE '' END\n"
"FROM rel r JOIN pg_catalog.pg_index i ON i.indrelid = r.oid\n"
"JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid\n"
/* triggers */
"UNION ALL\n"
"SELECT 'trigger', r.nspname, r.relname,\n"
"  r.qname || '.' || pg_catalog.quote_ident(tg.tgname),\n"
"  pg_catalog.pg_get_triggerdef(tg.oid) ||\n"
"    CASE tg.tgenabled WHEN 'D' THEN ' DISABLED' WHEN 'R' THEN ' REPLICA'\n"
"      WHEN 'A' THEN ' ALWAYS' ELSE '' END\n"
"FROM rel r JOIN pg_catalog.pg_trigger tg ON tg.tgrelid = r.oid\n"
"WHERE NOT tg.tgisinternal\n"
/* functions and procedures */
"UNION ALL\n"
"SELECT CASE WHEN f.prokind = 'a' THEN 'aggregate' ELSE 'function' END,\n"
"  f.nspname, f.proname, f.qname,\n"
"  CASE WHEN f.prokind = 'a'\n"
"    THEN 'RETURNS ' || pg_catalog.pg_get_function_result(f.oid)\n"
"    ELSE pg_catalog.pg_get_functiondef(f.oid) END\n"
"FROM fn f\n"
/* enums and domains */
"UNION ALL\n"
"SELECT CASE t.typtype WHEN 'e' THEN 'enum' ELSE 'domain' END,\n"
"  t.nspname, t.typname, t.qname,\n"
"  CASE WHEN t.typtype = 'e' THEN (SELECT pg_catalog.string_agg(\n"
"    pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)\n"
"    FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)\n"
"  ELSE pg_catalog.concat_ws(' ',\n"
"    pg_catalog.format_type(t.typbasetype, t.typtypmod),\n"
"    (SELECT 'COLLATE ' || pg_catalog.quote_ident(cn.nspname) || '.' ||\n"
"      pg_catalog.quote_ident(co.collname)\n"
"      FROM pg_catalog.pg_collation co\n"
"      JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace\n"
"      JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype\n"
"      WHERE co.oid = t.typcollation AND t.typcollation <> b.typcollation),\n"
"    CASE WHEN t.typnotnull THEN 'NOT NULL' END,\n"
"    'DEFAULT ' || t.typdefault) END\n"
"FROM ty t WHERE t.typtype IN ('e', 'd')\n"
/* extensions: in any schema, pg_catalog too */
"UNION ALL\n"
"SELECT 'extension', n.nspname, x.extname, pg_catalog.quote_ident(x.extname),\n"
"  x.extversion || ' SCHEMA ' || pg_catalog.quote_ident(n.nspname)\n"
"FROM pg_catalog.pg_extension x\n"
"JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace\n"
/*
 * Grants: the ACL or its default (so an explicit default and none are
 * the same), without what the owner holds by owning; one line per object
 * and grantee.
 */
"UNION ALL\n"
"SELECT 'grant', g.nspname, g.obj, 'on ' || g.what || ' ' || g.qname ||\n"
"  ' to ' || CASE WHEN g.grantee = 0 THEN 'PUBLIC'\n"
"    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END,\n"
"  pg_catalog.string_agg(g.privilege_type ||\n"
"    CASE WHEN g.is_grantable THEN '*' ELSE '' END, ','\n"
"    ORDER BY g.privilege_type COLLATE \"C\")\n"
"FROM (\n"
"  SELECT ns.nspname, NULL::name AS obj, 'schema' AS what,\n"
"    pg_catalog.quote_ident(ns.nspname) AS qname, ns.nspowner AS owner,\n"
"    (pg_catalog.aclexplode(COALESCE(ns.nspacl,\n"
"      pg_catalog.acldefault('n'::\"char\", ns.nspowner)))).*\n"
"  FROM ns\n"
"  UNION ALL\n"
"  SELECT r.nspname, r.relname,\n"
"    CASE r.relkind WHEN 'S' THEN 'sequence' WHEN 'c' THEN 'type'\n"
"      ELSE 'table' END, r.qname, r.relowner,\n"
"    (pg_catalog.aclexplode(COALESCE(r.relacl, pg_catalog.acldefault(\n"
"      (CASE r.relkind WHEN 'S' THEN 's' ELSE 'r' END)::\"char\",\n"
"      r.relowner)))).*\n"
"  FROM rel r WHERE r.relkind <> 'c'\n"
"  UNION ALL\n"
"  SELECT r.nspname, r.relname, 'column',\n"
"    r.qname || '.' || pg_catalog.quote_ident(a.attname), r.relowner,\n"
"    (pg_catalog.aclexplode(a.attacl)).*\n"
"  FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid\n"
"  WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped\n"
"  UNION ALL\n"
"  SELECT f.nspname, f.proname,\n"
"    CASE f.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,\n"
"    f.qname, f.proowner,\n"
"    (pg_catalog.aclexplode(COALESCE(f.proacl,\n"
"      pg_catalog.acldefault('f'::\"char\", f.proowner)))).*\n"
"  FROM fn f\n"
"  UNION ALL\n"
"  SELECT t.nspname, t.typname, 'type', t.qname, t.typowner,\n"
"    (pg_catalog.aclexplode(COALESCE(t.typacl,\n"
"      pg_catalog.acldefault('T'::\"char\", t.typowner)))).*\n"
"  FROM ty t\n"
") g\n"
"WHERE g.grantee <> g.owner\n"
"GROUP BY g.nspname, g.obj, g.what, g.qname, g.grantee";

static const char *const fp_kinds[] = {
	"schema", "table", "column", "constraint", "index", "view", "matview",
	"sequence", "function", "aggregate", "trigger", "enum", "domain",
	"type", "extension", "grant", NULL
};

const char *
sb_fp_setup_sql(void)
{
	return fp_setup;
}

const char *
sb_fp_query(void)
{
	return fp_query;
}

/* ---- exclusions ---- */

static void
excl_push(struct sb_fp_excl *x, char *pat, bool literal)
{
	x->pat = sb_realloc(x->pat, (x->n + 1) * sizeof(*x->pat));
	x->literal = sb_realloc(x->literal, (x->n + 1) * sizeof(*x->literal));
	x->pat[x->n] = pat;
	x->literal[x->n] = literal;
	x->n++;
}

int
sb_fp_excl_add(struct sb_fp_excl *x, const char *pat, struct sb_err *err)
{
	const char *dot = strchr(pat, '.');
	size_t len = strlen(pat);
	const char *p;

	if (len == 0 || len > SB_FP_PATTERN_MAX)
		return sb_err_set(err, SB_EINVALID, "exclude pattern \"%s\": "
		    "must be 1 to %d bytes", pat, SB_FP_PATTERN_MAX);
	for (p = pat; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return sb_err_set(err, SB_EINVALID, "exclude pattern "
			    "\"%s\": no spaces or control characters", pat);
	if (dot != NULL && (dot == pat || dot[1] == '\0' ||
	    strchr(dot + 1, '.') != NULL))
		return sb_err_set(err, SB_EINVALID, "exclude pattern \"%s\": "
		    "expected \"schema\" or \"schema.object\"", pat);
	excl_push(x, sb_strdup(pat), false);
	return 0;
}

void
sb_fp_excl_add_literal(struct sb_fp_excl *x, const char *schema,
    const char *object)
{
	/*
	 * Stored as "schema\0object\0", split on the first NUL; "\x01" as
	 * the object stands for the whole schema.
	 */
	size_t ls = strlen(schema), lo = object != NULL ? strlen(object) : 1;
	char *s = sb_malloc(ls + lo + 2);

	memcpy(s, schema, ls + 1);
	memcpy(s + ls + 1, object != NULL ? object : "\x01", lo + 1);
	excl_push(x, s, true);
}

void
sb_fp_excl_add_bookkeeping(struct sb_fp_excl *x, const char *version_table)
{
	const char *dot;
	char *schema;

	sb_fp_excl_add_literal(x, SB_FP_STATE_SCHEMA, NULL);
	if (version_table == NULL || (dot = strchr(version_table, '.')) == NULL)
		return;
	schema = sb_strdup(version_table);
	schema[dot - version_table] = '\0';
	sb_fp_excl_add_literal(x, schema, dot + 1);
	free(schema);
}

static bool
match_literal(const char *pat, const char *schema, const char *object)
{
	const char *obj = pat + strlen(pat) + 1;

	if (strcmp(pat, schema) != 0)
		return false;
	if (*obj == '\x01')
		return true;
	return object != NULL && strcmp(obj, object) == 0;
}

static bool
match_pattern(const char *pat, const char *schema, const char *object)
{
	const char *dot = strchr(pat, '.');
	char sp[SB_FP_PATTERN_MAX + 1];
	size_t n;

	if (dot == NULL)
		return fnmatch(pat, schema, 0) == 0;
	if (object == NULL)
		return false;
	n = (size_t)(dot - pat);
	memcpy(sp, pat, n);
	sp[n] = '\0';
	return fnmatch(sp, schema, 0) == 0 && fnmatch(dot + 1, object, 0) == 0;
}

bool
sb_fp_excluded(const struct sb_fp_excl *x, const char *schema,
    const char *object)
{
	size_t i;

	if (x == NULL || schema == NULL)
		return false;
	for (i = 0; i < x->n; i++)
		if (x->literal[i] ? match_literal(x->pat[i], schema, object) :
		    match_pattern(x->pat[i], schema, object))
			return true;
	return false;
}

void
sb_fp_excl_copy(struct sb_fp_excl *dst, const struct sb_fp_excl *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (!src->literal[i])
			excl_push(dst, sb_strdup(src->pat[i]), false);
}

void
sb_fp_excl_release(struct sb_fp_excl *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->pat[i]);
	free(x->pat);
	free(x->literal);
	x->pat = NULL;
	x->literal = NULL;
	x->n = 0;
}

/* ---- descriptions ---- */

struct buf {
	char	*p;
	size_t	 len, cap;
};

static void
buf_put(struct buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = sb_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void
buf_escape(struct buf *b, const char *s)
{
	char hex[5];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '\\': buf_put(b, "\\\\", 2); break;
		case '\t': buf_put(b, "\\t", 2); break;
		case '\n': buf_put(b, "\\n", 2); break;
		case '\r': buf_put(b, "\\r", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(hex, sizeof(hex), "\\x%02x", c);
				buf_put(b, hex, 4);
			} else
				buf_put(b, s, 1);
		}
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Unescape n bytes of s; NULL if an escape is malformed. */
static char *
unescape(const char *s, size_t n)
{
	char *out = sb_malloc(n + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (++i == n)
			goto bad;
		switch (s[i]) {
		case '\\': *o++ = '\\'; break;
		case 't': *o++ = '\t'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 'x':
			if (i + 2 >= n || hexval(s[i + 1]) < 0 ||
			    hexval(s[i + 2]) < 0)
				goto bad;
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
			break;
		default:
			goto bad;
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static bool
kind_valid(const char *kind, size_t n)
{
	size_t i;

	for (i = 0; fp_kinds[i] != NULL; i++)
		if (strlen(fp_kinds[i]) == n && memcmp(fp_kinds[i], kind, n) == 0)
			return true;
	return false;
}

/* Append a line pointer as it is. */
static void
fp_push(struct sb_fp *fp, char *line)
{
	if (fp->n == fp->cap) {
		fp->cap = fp->cap ? fp->cap * 2 : 64;
		fp->lines = sb_realloc(fp->lines, fp->cap * sizeof(*fp->lines));
	}
	fp->lines[fp->n++] = line;
}

void
sb_fp_add_line(struct sb_fp *fp, const char *line)
{
	fp_push(fp, sb_strdup(line));
}

int
sb_fp_add_row(struct sb_fp *fp, const struct sb_fp_excl *x, const char *kind,
    const char *schema, const char *object, const char *name,
    const char *value, struct sb_err *err)
{
	struct buf b = { NULL, 0, 0 };

	if (kind == NULL || !kind_valid(kind, strlen(kind)))
		return sb_err_set(err, SB_EINVALID, "fingerprint: unknown "
		    "object kind \"%s\"", kind != NULL ? kind : "(null)");
	if (name == NULL || *name == '\0')
		return sb_err_set(err, SB_EINVALID, "fingerprint: %s without "
		    "a name", kind);
	if (sb_fp_excluded(x, schema, object))
		return 0;
	buf_str(&b, kind);
	buf_put(&b, "\t", 1);
	buf_escape(&b, name);
	buf_put(&b, "\t", 1);
	buf_escape(&b, value != NULL ? value : "");
	if (fp->n == fp->cap) {
		fp->cap = fp->cap ? fp->cap * 2 : 64;
		fp->lines = sb_realloc(fp->lines, fp->cap * sizeof(*fp->lines));
	}
	fp->lines[fp->n++] = b.p;
	return 0;
}

static int
cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Length of a line's key: "kind TAB name". */
static size_t
key_len(const char *line)
{
	const char *t = strchr(line, '\t');

	if (t == NULL)
		return strlen(line);
	t = strchr(t + 1, '\t');
	return t != NULL ? (size_t)(t - line) : strlen(line);
}

static bool
same_key(const char *a, const char *b)
{
	size_t la = key_len(a);

	return la == key_len(b) && memcmp(a, b, la) == 0;
}

int
sb_fp_finish(struct sb_fp *fp, struct sb_err *err)
{
	size_t i;

	if (fp->n > 1)
		qsort(fp->lines, fp->n, sizeof(*fp->lines), cmp_line);
	for (i = 1; i < fp->n; i++)
		if (same_key(fp->lines[i - 1], fp->lines[i]))
			return sb_err_set(err, SB_EINVALID, "fingerprint: two "
			    "objects named \"%.*s\"", (int)key_len(fp->lines[i]),
			    fp->lines[i]);
	return 0;
}

char *
sb_fp_text(const struct sb_fp *fp, size_t *len)
{
	struct buf b = { NULL, 0, 0 };
	size_t i;

	buf_put(&b, "", 0);
	for (i = 0; i < fp->n; i++) {
		buf_str(&b, fp->lines[i]);
		buf_put(&b, "\n", 1);
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}

void
sb_fp_digest(const struct sb_fp *fp, char hex[SB_SHA256_HEX])
{
	struct sb_sha256 *ctx = sb_sha256_new();
	size_t i;

	if (ctx == NULL)
		abort();
	for (i = 0; i < fp->n; i++) {
		sb_sha256_update(ctx, fp->lines[i], strlen(fp->lines[i]));
		sb_sha256_update(ctx, "\n", 1);
	}
	sb_sha256_final_hex(ctx, hex);
	sb_sha256_free(ctx);
}

/* Check one escaped line: kind TAB name TAB value, escapes valid. */
static int
line_check(const char *line, size_t n, const char **why)
{
	const char *t1 = memchr(line, '\t', n), *t2;
	char *u;

	if (t1 == NULL || (t2 = memchr(t1 + 1, '\t', n - (size_t)(t1 + 1 -
	    line))) == NULL) {
		*why = "expected \"kind<TAB>name<TAB>value\"";
		return -1;
	}
	if (memchr(t2 + 1, '\t', n - (size_t)(t2 + 1 - line)) != NULL) {
		*why = "more than three fields";
		return -1;
	}
	if (!kind_valid(line, (size_t)(t1 - line))) {
		*why = "unknown object kind";
		return -1;
	}
	if (t2 == t1 + 1) {
		*why = "empty name";
		return -1;
	}
	if ((u = unescape(t1 + 1, (size_t)(t2 - t1 - 1))) == NULL) {
		*why = "bad escape";
		return -1;
	}
	free(u);
	if ((u = unescape(t2 + 1, n - (size_t)(t2 + 1 - line))) == NULL) {
		*why = "bad escape";
		return -1;
	}
	free(u);
	return 0;
}

int
sb_fp_parse_text(struct sb_fp *fp, const char *name, const char *buf,
    size_t len, struct sb_err *err)
{
	const char *p = buf, *end = buf + len, *nl, *why;
	unsigned lineno = 0;
	char *line;

	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return sb_err_set(err, SB_EINVALID, "%s:%u: line does "
			    "not end with a newline", name, lineno);
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL ||
		    line_check(p, (size_t)(nl - p), &why) == -1)
			return sb_err_set(err, SB_EINVALID, "%s:%u: %s", name,
			    lineno, memchr(p, '\0', (size_t)(nl - p)) ?
			    "NUL byte" : why);
		line = sb_malloc((size_t)(nl - p) + 1);
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		if (fp->n > 0 && strcmp(fp->lines[fp->n - 1], line) >= 0) {
			free(line);
			return sb_err_set(err, SB_EINVALID, "%s:%u: lines not "
			    "sorted or repeated", name, lineno);
		}
		if (fp->n > 0 && same_key(fp->lines[fp->n - 1], line)) {
			free(line);
			return sb_err_set(err, SB_EINVALID, "%s:%u: object "
			    "listed twice", name, lineno);
		}
		if (fp->n == fp->cap) {
			fp->cap = fp->cap ? fp->cap * 2 : 64;
			fp->lines = sb_realloc(fp->lines,
			    fp->cap * sizeof(*fp->lines));
		}
		fp->lines[fp->n++] = line;
		p = nl + 1;
	}
	return 0;
}

void
sb_fp_release(struct sb_fp *fp)
{
	size_t i;

	for (i = 0; !fp->borrowed && i < fp->n; i++)
		free(fp->lines[i]);
	free(fp->lines);
	fp->lines = NULL;
	fp->n = fp->cap = 0;
	fp->borrowed = false;
}

/* ---- diff ---- */

/* Split an escaped line into unescaped kind, name and value. */
static void
split_line(const char *line, char **kind, char **name, char **value)
{
	const char *t1 = strchr(line, '\t'), *t2;

	t2 = t1 != NULL ? strchr(t1 + 1, '\t') : NULL;
	if (t1 == NULL || t2 == NULL) {
		*kind = sb_strdup(line);
		*name = sb_strdup("");
		*value = sb_strdup("");
		return;
	}
	*kind = sb_printf("%.*s", (int)(t1 - line), line);
	if ((*name = unescape(t1 + 1, (size_t)(t2 - t1 - 1))) == NULL)
		*name = sb_printf("%.*s", (int)(t2 - t1 - 1), t1 + 1);
	if ((*value = unescape(t2 + 1, strlen(t2 + 1))) == NULL)
		*value = sb_strdup(t2 + 1);
}

/* Values short enough to show side by side in a message. */
#define SHOW_MAX	80

/* Short and on one line: worth showing side by side. */
static bool
showable(const char *v)
{
	if (strlen(v) > SHOW_MAX)
		return false;
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20)
			return false;
	return true;
}

static char *
item_text(const struct sb_fp_item *it)
{
	struct buf b = { NULL, 0, 0 };

	buf_str(&b, it->kind);
	buf_put(&b, " ", 1);
	buf_escape(&b, it->name);
	switch (it->how) {
	case SB_FP_EXTRA:
		buf_str(&b, ": not in the expected schema");
		break;
	case SB_FP_MISSING:
		buf_str(&b, ": missing");
		break;
	case SB_FP_CHANGED:
		if (strcmp(it->kind, "function") == 0) {
			buf_str(&b, ": body differs");
			break;
		}
		buf_str(&b, ": definition differs");
		if (showable(it->expected) && showable(it->found)) {
			buf_str(&b, " (expected \"");
			buf_escape(&b, it->expected);
			buf_str(&b, "\", found \"");
			buf_escape(&b, it->found);
			buf_str(&b, "\")");
		}
		break;
	}
	return b.p;
}

static void
diff_push(struct sb_fp_diff *d, enum sb_fp_how how, const char *exp,
    const char *live)
{
	struct sb_fp_item *it;

	d->items = sb_realloc(d->items, (d->n + 1) * sizeof(*d->items));
	it = &d->items[d->n++];
	memset(it, 0, sizeof(*it));
	it->how = how;
	split_line(exp != NULL ? exp : live, &it->kind, &it->name,
	    exp != NULL ? &it->expected : &it->found);
	if (exp != NULL && live != NULL) {
		free(it->kind);
		free(it->name);
		split_line(live, &it->kind, &it->name, &it->found);
	}
	it->text = item_text(it);
}

void
sb_fp_diff(const struct sb_fp *exp, const struct sb_fp *live,
    struct sb_fp_diff *d)
{
	size_t i = 0, j = 0;
	int c;

	while (i < exp->n || j < live->n) {
		if (i == exp->n)
			c = 1;
		else if (j == live->n)
			c = -1;
		else if (same_key(exp->lines[i], live->lines[j]))
			c = 0;
		else
			c = strcmp(exp->lines[i], live->lines[j]);
		if (c == 0) {
			if (strcmp(exp->lines[i], live->lines[j]) != 0)
				diff_push(d, SB_FP_CHANGED, exp->lines[i],
				    live->lines[j]);
			i++;
			j++;
		} else if (c < 0)
			diff_push(d, SB_FP_MISSING, exp->lines[i++], NULL);
		else
			diff_push(d, SB_FP_EXTRA, NULL, live->lines[j++]);
	}
}

const char *
sb_fp_how_name(enum sb_fp_how how)
{
	switch (how) {
	case SB_FP_EXTRA: return "extra";
	case SB_FP_MISSING: return "missing";
	case SB_FP_CHANGED: return "changed";
	}
	return "?";
}

void
sb_fp_diff_release(struct sb_fp_diff *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->items[i].kind);
		free(d->items[i].name);
		free(d->items[i].expected);
		free(d->items[i].found);
		free(d->items[i].text);
	}
	free(d->items);
	d->items = NULL;
	d->n = 0;
}

/* ---- FINGERPRINTS ---- */

static bool
is_hex64(const char *s, size_t n)
{
	size_t i;

	if (n != 64)
		return false;
	for (i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

const struct sb_fp_rev *
sb_fp_file_find(const struct sb_fp_file *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->revs[i].id, id) == 0)
			return &f->revs[i];
	return NULL;
}

int
sb_fp_file_check(const struct sb_fp_file *f, const struct sb_manifest *m,
    struct sb_err *err)
{
	const struct sb_fp_rev *r;

	for (size_t i = 0; i < m->nrevs; i++) {
		if ((r = sb_fp_file_find(f, m->revs[i].id)) == NULL ||
		    r->upgrade[0] == '\0' ||
		    strcmp(r->upgrade, m->revs[i].upgrade_sha) == 0)
			continue;
		sb_err_set(err, SB_EINVALID, "%s: revision \"%s\" (%s) was "
		    "rehearsed with an upgrade script of SHA-256 %.12s; the "
		    "bundle carries %.12s", SB_FP_MEMBER, m->revs[i].id,
		    m->revs[i].file, r->upgrade, m->revs[i].upgrade_sha);
		sb_err_hint(err, "rehearse the chain again before packing");
		return -1;
	}
	return 0;
}

static bool
id_valid(const char *id)
{
	return strcmp(id, SB_FP_BASE) == 0 || sb_revision_id_valid(id);
}

int
sb_fp_file_add(struct sb_fp_file *f, const char *id, const char *upgrade,
    struct sb_fp *fp, struct sb_err *err)
{
	struct sb_fp_rev *r;

	if (strlen(id) > SB_ID_MAX || !id_valid(id))
		return sb_err_set(err, SB_EINVALID, "fingerprints: bad "
		    "revision id \"%s\"", id);
	if (sb_fp_file_find(f, id) != NULL)
		return sb_err_set(err, SB_EINVALID, "fingerprints: revision "
		    "\"%s\" recorded twice", id);
	if (upgrade != NULL && *upgrade != '\0' &&
	    !is_hex64(upgrade, strlen(upgrade)))
		return sb_err_set(err, SB_EINVALID, "fingerprints: revision "
		    "\"%s\": upgrade digest is not 64 hex digits", id);
	f->revs = sb_realloc(f->revs, (f->n + 1) * sizeof(*f->revs));
	r = &f->revs[f->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	if (upgrade != NULL)
		snprintf(r->upgrade, sizeof(r->upgrade), "%s", upgrade);
	r->fp = *fp;
	*fp = (struct sb_fp)SB_FP_INIT;
	sb_fp_digest(&r->fp, r->digest);
	return 0;
}

/* The delta from a to b, both sorted: "-" and "+" lines in line order. */
static void
put_delta(struct buf *b, const struct sb_fp *a, const struct sb_fp *bb)
{
	size_t i = 0, j = 0;
	int c;

	while (i < a->n || j < bb->n) {
		if (i == a->n)
			c = 1;
		else if (j == bb->n)
			c = -1;
		else
			c = strcmp(a->lines[i], bb->lines[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		buf_put(b, c < 0 ? "-" : "+", 1);
		buf_str(b, c < 0 ? a->lines[i++] : bb->lines[j++]);
		buf_put(b, "\n", 1);
	}
}

char *
sb_fp_file_format(const struct sb_fp_file *f, size_t *len)
{
	static const struct sb_fp empty = SB_FP_INIT;
	struct buf b = { NULL, 0, 0 };
	char *s;
	size_t i;

	buf_str(&b, "Format: " SB_FP_FORMAT "\n");
	for (i = 0; i < f->excl.n; i++) {
		if (f->excl.literal[i])
			continue;
		s = sb_printf("Exclude: %s\n", f->excl.pat[i]);
		buf_str(&b, s);
		free(s);
	}
	s = sb_printf("Revisions: %zu\n\n", f->n);
	buf_str(&b, s);
	free(s);
	for (i = 0; i < f->n; i++) {
		const struct sb_fp_rev *r = &f->revs[i];

		s = sb_printf("Revision: %s %s upgrade=%s\n", r->id, r->digest,
		    r->upgrade[0] != '\0' ? r->upgrade : "-");
		buf_str(&b, s);
		free(s);
		put_delta(&b, i > 0 ? &f->revs[i - 1].fp : &empty, &r->fp);
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}

int
sb_fp_file_write(const struct sb_fp_file *f, const char *path,
    struct sb_err *err)
{
	size_t len;
	char *text = sb_fp_file_format(f, &len);
	int ret;

	ret = sb_write_file_atomic(path, text, len, 0644, err);
	free(text);
	return ret;
}

void
sb_fp_file_release(struct sb_fp_file *f)
{
	size_t i;

	sb_fp_excl_release(&f->excl);
	for (i = 0; i < f->n; i++)
		sb_fp_release(&f->revs[i].fp);
	free(f->revs);
	f->revs = NULL;
	f->n = 0;
	for (i = 0; i < f->npool; i++)
		free(f->pool[i]);
	free(f->pool);
	f->pool = NULL;
	f->npool = f->lines = 0;
}

/* Parsing state: the text, the current line and its number. */
struct rd {
	const char	*name, *p, *end;
	const char	*line;
	size_t		 len;
	unsigned	 lineno;
};

static int
rd_next(struct rd *r, struct sb_err *err)
{
	const char *nl;

	if (r->p >= r->end)
		return 0;
	r->lineno++;
	if ((nl = memchr(r->p, '\n', (size_t)(r->end - r->p))) == NULL)
		return sb_err_set(err, SB_EINVALID, "%s:%u: line does not end "
		    "with a newline", r->name, r->lineno);
	r->line = r->p;
	r->len = (size_t)(nl - r->p);
	r->p = nl + 1;
	if (memchr(r->line, '\0', r->len) != NULL)
		return sb_err_set(err, SB_EINVALID, "%s:%u: NUL byte", r->name,
		    r->lineno);
	return 1;
}

/* The value of "Key: value" in the current line, or NULL. */
static char *
rd_key(const struct rd *r, const char *key)
{
	size_t kl = strlen(key);

	if (r->len < kl + 2 || memcmp(r->line, key, kl) != 0 ||
	    r->line[kl] != ':' || r->line[kl + 1] != ' ')
		return NULL;
	return sb_printf("%.*s", (int)(r->len - kl - 2), r->line + kl + 2);
}

static int
rd_fail(const struct rd *r, struct sb_err *err, const char *what)
{
	return sb_err_set(err, SB_EINVALID, "%s:%u: %s", r->name, r->lineno,
	    what);
}

/* "Revision: <id> <digest> upgrade=<sha|->" */
static int
parse_rev_line(struct rd *r, char *v, char id[SB_ID_MAX + 1],
    char digest[SB_SHA256_HEX], char upgrade[SB_SHA256_HEX],
    struct sb_err *err)
{
	char *sp1 = strchr(v, ' '), *sp2, *u;

	if (sp1 == NULL || (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    strchr(sp2 + 1, ' ') != NULL)
		return rd_fail(r, err, "expected \"Revision: <id> <digest> "
		    "upgrade=<sha256|->\"");
	*sp1 = *sp2 = '\0';
	if (strlen(v) > SB_ID_MAX || !id_valid(v))
		return rd_fail(r, err, "bad revision id");
	if (!is_hex64(sp1 + 1, strlen(sp1 + 1)))
		return rd_fail(r, err, "digest is not 64 lowercase hex digits");
	u = sp2 + 1;
	if (strncmp(u, "upgrade=", 8) != 0)
		return rd_fail(r, err, "expected \"upgrade=\"");
	u += 8;
	if (strcmp(u, "-") != 0 && !is_hex64(u, strlen(u)))
		return rd_fail(r, err, "upgrade digest is not 64 lowercase hex "
		    "digits or \"-\"");
	snprintf(id, SB_ID_MAX + 1, "%s", v);
	snprintf(digest, SB_SHA256_HEX, "%s", sp1 + 1);
	snprintf(upgrade, SB_SHA256_HEX, "%s", strcmp(u, "-") == 0 ? "" : u);
	return 0;
}

/*
 * Apply one record's delta to prev, giving cur (sorted): removals must
 * name present lines, additions absent ones, each kind of line in order.
 * cur borrows its lines: those of prev, and the added ones, which go to
 * f's pool.
 */
static int
read_delta(struct rd *r, struct sb_fp_file *f, const struct sb_fp *prev,
    struct sb_fp *cur, struct sb_err *err)
{
	struct sb_fp add = SB_FP_INIT, del = SB_FP_INIT;
	const char *why, *save_p;
	unsigned save_no;
	size_t i = 0, a = 0, d = 0;
	char *line;
	int rc, ret = -1;

	for (;;) {
		save_p = r->p;
		save_no = r->lineno;
		if ((rc = rd_next(r, err)) == -1)
			goto out;
		if (rc == 0)
			break;
		if (r->len == 0 || (r->line[0] != '+' && r->line[0] != '-')) {
			r->p = save_p;	/* the next record */
			r->lineno = save_no;
			break;
		}
		if (line_check(r->line + 1, r->len - 1, &why) == -1) {
			rd_fail(r, err, why);
			goto out;
		}
		line = sb_printf("%.*s", (int)(r->len - 1), r->line + 1);
		struct sb_fp *into = r->line[0] == '+' ? &add : &del;
		if (into->n > 0 && strcmp(into->lines[into->n - 1], line) >= 0) {
			free(line);
			rd_fail(r, err, "lines not in order");
			goto out;
		}
		sb_fp_add_line(into, line);
		free(line);
	}
	/* Merge: prev minus del, plus add. */
	cur->borrowed = true;
	while (i < prev->n || a < add.n) {
		int c;

		if (d < del.n && i < prev->n &&
		    strcmp(prev->lines[i], del.lines[d]) == 0) {
			i++;
			d++;
			continue;
		}
		if (d < del.n && (i == prev->n ||
		    strcmp(prev->lines[i], del.lines[d]) > 0)) {
			sb_err_set(err, SB_EINVALID, "%s: revision before line "
			    "%u removes a line it does not have", r->name,
			    r->lineno + 1);
			goto out;
		}
		if (i == prev->n)
			c = 1;
		else if (a == add.n)
			c = -1;
		else
			c = strcmp(prev->lines[i], add.lines[a]);
		if (c == 0) {
			sb_err_set(err, SB_EINVALID, "%s: revision before line "
			    "%u adds a line it already has", r->name,
			    r->lineno + 1);
			goto out;
		}
		fp_push(cur, c < 0 ? prev->lines[i++] : add.lines[a++]);
	}
	if (d < del.n) {
		sb_err_set(err, SB_EINVALID, "%s: revision before line %u "
		    "removes a line it does not have", r->name, r->lineno + 1);
		goto out;
	}
	for (i = 1; i < cur->n; i++)
		if (same_key(cur->lines[i - 1], cur->lines[i])) {
			sb_err_set(err, SB_EINVALID, "%s: revision before line "
			    "%u lists object \"%.*s\" twice", r->name,
			    r->lineno + 1, (int)key_len(cur->lines[i]),
			    cur->lines[i]);
			goto out;
		}
	if (cur->n > SB_FP_LINES_MAX - f->lines) {
		sb_err_set(err, SB_EINVALID, "%s: more than %zu description "
		    "lines in all records", r->name, SB_FP_LINES_MAX);
		goto out;
	}
	f->lines += cur->n;
	/* The added lines now belong to the file. */
	if (add.n > 0) {
		f->pool = sb_realloc(f->pool, (f->npool + add.n) *
		    sizeof(*f->pool));
		memcpy(f->pool + f->npool, add.lines,
		    add.n * sizeof(*add.lines));
		f->npool += add.n;
		add.n = 0;
	}
	ret = 0;
out:
	sb_fp_release(&add);
	sb_fp_release(&del);
	return ret;
}

static int
parse_header(struct rd *r, struct sb_fp_file *f, size_t *nrevs,
    struct sb_err *err)
{
	char *v = NULL, *end;
	int rc;

	if ((rc = rd_next(r, err)) <= 0 || (v = rd_key(r, "Format")) == NULL ||
	    strcmp(v, SB_FP_FORMAT) != 0) {
		free(v);
		if (rc == -1)
			return -1;
		if (rc == 0)
			r->lineno = 1;
		return rd_fail(r, err, "expected \"Format: " SB_FP_FORMAT "\"");
	}
	free(v);
	for (;;) {
		if ((rc = rd_next(r, err)) == -1)
			return -1;
		if (rc == 0)
			return rd_fail(r, err, "expected \"Revisions: N\"");
		if ((v = rd_key(r, "Exclude")) == NULL)
			break;
		if (sb_fp_excl_add(&f->excl, v, err) == -1) {
			free(v);
			return sb_err_prefix(err, "%s:%u", r->name, r->lineno);
		}
		free(v);
	}
	if ((v = rd_key(r, "Revisions")) == NULL || *v < '0' || *v > '9') {
		free(v);
		return rd_fail(r, err, "expected \"Exclude: PATTERN\" or "
		    "\"Revisions: N\"");
	}
	errno = 0;
	*nrevs = strtoul(v, &end, 10);
	if (*end != '\0' || errno != 0 || *nrevs > 1000000) {
		free(v);
		return rd_fail(r, err, "bad revision count");
	}
	free(v);
	if ((rc = rd_next(r, err)) == -1)
		return -1;
	if (rc == 0 || r->len != 0)
		return rd_fail(r, err, "expected a blank line after the header");
	return 0;
}

int
sb_fp_file_parse(struct sb_fp_file *f, const char *name, const char *buf,
    size_t len, struct sb_err *err)
{
	static const struct sb_fp empty = SB_FP_INIT;
	struct rd r = { name, buf, buf + len, NULL, 0, 0 };
	char id[SB_ID_MAX + 1], digest[SB_SHA256_HEX], up[SB_SHA256_HEX];
	struct sb_fp cur = SB_FP_INIT;
	size_t nrevs = 0, i;
	unsigned at;
	char *v;
	int rc;

	if (parse_header(&r, f, &nrevs, err) == -1)
		goto fail;
	for (i = 0; i < nrevs; i++) {
		if ((rc = rd_next(&r, err)) == -1)
			goto fail;
		if (rc == 0) {
			sb_err_set(err, SB_EINVALID, "%s: %zu revisions, "
			    "header says %zu", name, i, nrevs);
			goto fail;
		}
		at = r.lineno;
		if ((v = rd_key(&r, "Revision")) == NULL) {
			rd_fail(&r, err, "expected \"Revision: <id> <digest> "
			    "upgrade=<sha256|->\"");
			goto fail;
		}
		rc = parse_rev_line(&r, v, id, digest, up, err);
		free(v);
		if (rc == -1)
			goto fail;
		if (read_delta(&r, f, i > 0 ? &f->revs[i - 1].fp : &empty,
		    &cur, err) == -1)
			goto fail;
		if (sb_fp_file_add(f, id, up, &cur, err) == -1) {
			sb_err_prefix(err, "%s:%u", name, at);
			goto fail;
		}
		if (strcmp(f->revs[f->n - 1].digest, digest) != 0) {
			sb_err_set(err, SB_EINVALID, "%s:%u: revision \"%s\": "
			    "the description does not match its digest", name,
			    at, id);
			goto fail;
		}
	}
	if ((rc = rd_next(&r, err)) != 0) {
		if (rc == 1)
			rd_fail(&r, err, "more than the header's revisions");
		goto fail;
	}
	return 0;
fail:
	sb_fp_release(&cur);
	sb_fp_file_release(f);
	return -1;
}

int
sb_fp_file_load(struct sb_fp_file *f, const char *path, struct sb_err *err)
{
	char *buf = NULL;
	size_t len;
	int ret;

	if (sb_read_file(path, SB_FP_FILE_MAX, &buf, &len, err) == -1)
		return -1;
	ret = sb_fp_file_parse(f, path, buf, len, err);
	free(buf);
	return ret;
}
