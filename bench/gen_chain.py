#!/usr/bin/python3
"""Generate a synthetic but realistic revision chain for the benchmarks,
and the same work for each anchor.

    gen_chain.py --out DIR --revs N [--lengths "100 300 1000"]
                 [--nontx-every K] [--seed S]

DIR gets:
  project/     sqlbundle.conf (project = bench) and revisions/<id>_<slug>.sql
               (SPEC section 1): schemas, enums, tables with foreign keys,
               checks and indexes, added columns, views, plpgsql functions
               and triggers, small data fixes, and every K-th revision a
               non-transactional CREATE INDEX CONCURRENTLY
  ids          the revision ids in apply order, one a line
  psql/per-rev-L.sql   the first L revisions for `psql -v ON_ERROR_STOP=1 -f`:
               one transaction per revision with the alembic_version update
               (non-transactional revisions: each statement on its own,
               then the version update), for each L of --lengths and N
  psql/floor-L.sql     the same statements for `psql -1` (the floor: one
               transaction; CREATE INDEX CONCURRENTLY loses CONCURRENTLY,
               which cannot run in a transaction)
  alembic/     alembic.ini, env.py and versions/<id>_<slug>.py: the same ids,
               each revision executing the same SQL text (one transaction
               per revision, as sqlbundle-apply commits a step)

Deterministic for given arguments.
"""
import argparse
import hashlib
import os
import random
import shutil
import sys

SCHEMAS = ("catalog", "sales", "stock", "acct", "crm", "hr")
NOUNS = ("order item invoice payment shipment supplier customer address "
         "contract return coupon promotion shift register warehouse bin lot "
         "transfer count adjustment ledger entry budget employee timesheet "
         "device session note tag rating review campaign segment").split()
TYPES = ("text", "integer", "bigint", "numeric(12,2)", "boolean",
         "timestamptz", "date", "jsonb", "uuid", "varchar(64)")
DEFAULTS = {"text": "''", "integer": "0", "bigint": "0",
            "numeric(12,2)": "0", "boolean": "false",
            "timestamptz": "now()", "date": "CURRENT_DATE",
            "jsonb": "'{}'::jsonb", "uuid": None, "varchar(64)": "''"}


def rev_id(i):
    return hashlib.sha1(b"sqlbundle-bench-%d" % i).hexdigest()[:12]


class Table:
    def __init__(self, schema, name, parent):
        self.schema, self.name, self.parent = schema, name, parent
        self.cols = ["id", "organization_id", "code", "name", "status",
                     "amount", "attributes", "created_at", "updated_at"]
        if parent:
            self.cols.append("parent_id")

    @property
    def q(self):
        return "%s.%s" % (self.schema, self.name)


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.tables = []
        self.n = 0

    def base(self):
        up = ["-- Schemas, the shared status enum and the tables every other",
              "-- revision hangs off.",
              "CREATE SCHEMA core;"]
        up += ["CREATE SCHEMA %s;" % s for s in SCHEMAS]
        up.append("""
CREATE TYPE core.record_status AS ENUM ('draft', 'active', 'suspended', 'archived');

CREATE TABLE core.organization (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_]{2,32}$'),
    legal_name text NOT NULL,
    status core.record_status NOT NULL DEFAULT 'active',
    settings jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE core.app_user (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES core.organization (id),
    email text NOT NULL,
    full_name text NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, email)
);
CREATE INDEX app_user_email_idx ON core.app_user (lower(email));

CREATE TABLE core.setting (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO core.organization (code, legal_name)
VALUES ('HQ', 'Head office');""")
        down = "DROP SCHEMA %s CASCADE;\nDROP SCHEMA core CASCADE;\n" % \
            " CASCADE;\nDROP SCHEMA ".join(reversed(SCHEMAS))
        return "baseline schema", "\n".join(up) + "\n", down, True

    def pick(self):
        return self.rng.choice(self.tables)

    def new_table(self, i):
        rng = self.rng
        schema = rng.choice(SCHEMAS)
        name = "%s_%d" % (rng.choice(NOUNS), i)
        parent = self.pick() if self.tables and rng.random() < 0.7 else None
        t = Table(schema, name, parent)
        parent_col = ""
        if parent:
            parent_col = ("    parent_id bigint REFERENCES %s (id) "
                          "ON DELETE SET NULL,\n" % parent.q)
        up = """\
CREATE TABLE %(q)s (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES core.organization (id) ON DELETE CASCADE,
%(parent)s    code text NOT NULL,
    name text NOT NULL,
    status core.record_status NOT NULL DEFAULT 'draft',
    amount numeric(14,2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT %(n)s_code_key UNIQUE (organization_id, code)
);
CREATE INDEX %(n)s_status_idx ON %(q)s (status) WHERE status <> 'archived';
CREATE INDEX %(n)s_created_idx ON %(q)s (organization_id, created_at DESC);
""" % {"q": t.q, "n": name, "parent": parent_col}
        if parent:
            up += "CREATE INDEX %s_parent_idx ON %s (parent_id);\n" % (name, t.q)
        if rng.random() < 0.3:
            up += ("CREATE INDEX %s_attributes_idx ON %s USING gin "
                   "(attributes jsonb_path_ops);\n" % (name, t.q))
        up += "COMMENT ON TABLE %s IS '%s records of an organization';\n" % (
            t.q, name.split("_")[0])
        self.tables.append(t)
        return "create %s" % t.q, up, "DROP TABLE %s;\n" % t.q, True

    def add_column(self, i):
        t = self.pick()
        typ = self.rng.choice(TYPES)
        col = "%s_%d" % (self.rng.choice(("ref", "extra", "note", "flag",
                                           "limit", "score", "external")), i)
        default = DEFAULTS[typ]
        up = "ALTER TABLE %s ADD COLUMN %s %s%s;\n" % (
            t.q, col, typ, " NOT NULL DEFAULT %s" % default if default else "")
        down = ""
        if typ not in ("jsonb", "boolean"):
            up += "CREATE INDEX %s_%s_idx ON %s (%s);\n" % (
                t.name, col, t.q, col)
            down = "DROP INDEX %s.%s_%s_idx;\n" % (t.schema, t.name, col)
        up += "COMMENT ON COLUMN %s.%s IS 'added in release %d';\n" % (
            t.q, col, i)
        down += "ALTER TABLE %s DROP COLUMN %s;\n" % (t.q, col)
        t.cols.append(col)
        return "add %s.%s" % (t.name, col), up, down, True

    def view(self, i):
        t = self.pick()
        v = "%s.%s_summary_%d" % (t.schema, t.name.rsplit("_", 1)[0], i)
        if t.parent and self.rng.random() < 0.6:
            up = """\
CREATE VIEW %(v)s AS
SELECT c.id, c.organization_id, c.code, c.name, c.status,
       p.code AS parent_code, p.name AS parent_name,
       c.amount, c.created_at
  FROM %(c)s c
  LEFT JOIN %(p)s p ON p.id = c.parent_id
 WHERE c.status <> 'archived';
""" % {"v": v, "c": t.q, "p": t.parent.q}
        else:
            up = """\
CREATE VIEW %(v)s AS
SELECT organization_id, status,
       count(*) AS records,
       sum(amount) AS total_amount,
       max(created_at) AS last_created_at
  FROM %(t)s
 GROUP BY organization_id, status;
""" % {"v": v, "t": t.q}
        up += "COMMENT ON VIEW %s IS 'reporting view';\n" % v
        return "view %s" % v, up, "DROP VIEW %s;\n" % v, True

    def function(self, i):
        t = self.pick()
        f = "%s.%s_totals_%d" % (t.schema, t.name.rsplit("_", 1)[0], i)
        up = """\
CREATE FUNCTION %(f)s(p_org bigint, p_since timestamptz DEFAULT now() - interval '30 days')
RETURNS TABLE (out_status core.record_status, out_records bigint, out_total numeric)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_org_exists boolean;
BEGIN
    SELECT EXISTS (SELECT 1 FROM core.organization o WHERE o.id = p_org)
      INTO v_org_exists;
    IF NOT v_org_exists THEN
        RAISE EXCEPTION 'organization %% does not exist', p_org
              USING ERRCODE = 'foreign_key_violation',
                    HINT = 'pass the id of core.organization';
    END IF;
    RETURN QUERY
        SELECT t.status, count(*), coalesce(sum(t.amount), 0)
          FROM %(t)s t
         WHERE t.organization_id = p_org
           AND t.created_at >= p_since
         GROUP BY t.status
         ORDER BY t.status;
END;
$fn$;
COMMENT ON FUNCTION %(f)s(bigint, timestamptz) IS 'totals per status since a date';
""" % {"f": f, "t": t.q}
        return ("function %s" % f, up,
                "DROP FUNCTION %s(bigint, timestamptz);\n" % f, True)

    def trigger(self, i):
        t = self.pick()
        fn = "%s.touch_%d" % (t.schema, i)
        trg = "%s_touch_%d" % (t.name, i)
        up = """\
CREATE FUNCTION %(fn)s() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
        NEW.updated_at := now();
        IF NEW.status = 'archived' AND OLD.status <> 'archived' THEN
            NEW.attributes := NEW.attributes || jsonb_build_object('archived_at', now());
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER %(trg)s
    BEFORE UPDATE ON %(t)s
    FOR EACH ROW EXECUTE FUNCTION %(fn)s();
""" % {"fn": fn, "trg": trg, "t": t.q}
        down = "DROP TRIGGER %s ON %s;\nDROP FUNCTION %s();\n" % (trg, t.q, fn)
        return "trigger on %s" % t.q, up, down, True

    def enum(self, i):
        t = self.pick()
        e = "%s.%s_kind_%d" % (t.schema, t.name.rsplit("_", 1)[0], i)
        col = "kind_%d" % i
        labels = self.rng.sample(("standard", "express", "bulk", "internal",
                                  "wholesale", "retail", "online", "manual"),
                                 4)
        up = """\
CREATE TYPE %(e)s AS ENUM (%(labels)s);
ALTER TYPE %(e)s ADD VALUE 'other';
ALTER TABLE %(t)s ADD COLUMN %(col)s %(e)s NOT NULL DEFAULT '%(first)s';
""" % {"e": e, "t": t.q, "col": col, "first": labels[0],
       "labels": ", ".join("'%s'" % x for x in labels)}
        down = "ALTER TABLE %s DROP COLUMN %s;\nDROP TYPE %s;\n" % (t.q, col, e)
        t.cols.append(col)
        return "enum %s" % e, up, down, True

    def data(self, i):
        keys = ["feature.%s_%d_%d" % (self.rng.choice(NOUNS), i, k)
                for k in range(3)]
        rows = ",\n".join("    ('%s', '{\"enabled\": %s, \"since\": %d}')" % (
            k, "true" if n % 2 else "false", i) for n, k in enumerate(keys))
        up = """\
INSERT INTO core.setting (key, value)
VALUES
%s
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();
UPDATE core.organization SET settings = settings || '{"release": %d}'::jsonb
 WHERE code = 'HQ';
""" % (rows, i)
        down = "DELETE FROM core.setting WHERE key IN (%s);\n" % ", ".join(
            "'%s'" % k for k in keys)
        return "settings for release %d" % i, up, down, True

    def nontx(self, i):
        t = self.pick()
        col = self.rng.choice(("code", "name", "created_at", "amount"))
        idx = "%s_%s_cc_%d" % (t.name, col, i)
        up = ("CREATE INDEX CONCURRENTLY IF NOT EXISTS %s ON %s (%s, id);\n"
              % (idx, t.q, col))
        down = "DROP INDEX CONCURRENTLY IF EXISTS %s.%s;\n" % (t.schema, idx)
        return "concurrent index %s" % idx, up, down, False

    def next(self, i, nontx_every):
        if i == 1:
            return self.base()
        if nontx_every and i % nontx_every == 0 and self.tables:
            return self.nontx(i)
        if len(self.tables) < 3:
            return self.new_table(i)
        kinds = ((self.new_table, 28), (self.add_column, 18),
                 (self.view, 12), (self.function, 15), (self.trigger, 7),
                 (self.enum, 8), (self.data, 12))
        fn = self.rng.choices([k for k, _ in kinds],
                              weights=[w for _, w in kinds])[0]
        return fn(i)


def slugify(msg):
    out = "".join(c if c.isalnum() else "_" for c in msg.lower())
    while "__" in out:
        out = out.replace("__", "_")
    return out.strip("_")[:40]


def statements(sql):
    """Split the generated SQL of a non-transactional revision (no
    dollar quotes or semicolons in strings there) into statements."""
    return [s.strip() + ";" for s in sql.split(";\n") if s.strip()]


def version_sql(prev, new):
    if prev is None:
        return "INSERT INTO alembic_version (version_num) VALUES ('%s');\n" % new
    return ("UPDATE alembic_version SET version_num = '%s' "
            "WHERE version_num = '%s';\n" % (new, prev))


VERSION_TABLE = """\
CREATE TABLE IF NOT EXISTS alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
"""

ALEMBIC_INI = """\
# Alembic environment of the benchmark chain (bench/gen_chain.py). The
# database comes from the PG* environment variables.
[alembic]
script_location = %(here)s

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

ENV_PY = '''\
"""Alembic environment of the benchmark chain: one transaction per
revision, as sqlbundle-apply commits a step."""
import sys

sys.dont_write_bytecode = True

from alembic import context  # noqa: E402
from sqlalchemy import create_engine, pool  # noqa: E402

engine = create_engine("postgresql+psycopg2://", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
'''

VERSION_PY = '''\
"""%(message)s

Revision ID: %(id)s
Revises: %(down_doc)s
"""
from alembic import op

revision = %(id)r
down_revision = %(down)r
branch_labels = None
depends_on = None

UPGRADE = %(up)r
DOWNGRADE = %(dn)r


def _execute(sql):
    # op.execute of the text as is: no bind-parameter parsing, so the
    # server gets the same bytes as from psql and sqlbundle-apply.
    op.get_bind().execution_options(no_parameters=True).exec_driver_sql(sql)


def upgrade():
%(upgrade_body)s


def downgrade():
%(downgrade_body)s
'''


def write_alembic(out, revs):
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "versions"))
    with open(os.path.join(out, "alembic.ini"), "w") as f:
        f.write(ALEMBIC_INI)
    with open(os.path.join(out, "env.py"), "w") as f:
        f.write(ENV_PY)
    for r in revs:
        if r["tx"]:
            ub, db = "    _execute(UPGRADE)", "    _execute(DOWNGRADE)"
        else:
            # CREATE INDEX CONCURRENTLY: outside a transaction, one
            # statement at a time.
            ub = ("    with op.get_context().autocommit_block():\n"
                  "        for sql in %r:\n            _execute(sql)"
                  % (statements(r["up"]),))
            db = ("    with op.get_context().autocommit_block():\n"
                  "        for sql in %r:\n            _execute(sql)"
                  % (statements(r["down_sql"]),))
        with open(os.path.join(out, "versions", "%s_%s.py" % (
                r["id"], r["slug"])), "w") as f:
            f.write(VERSION_PY % {
                "message": r["message"], "id": r["id"], "down": r["down"],
                "down_doc": r["down"] or "", "up": r["up"], "dn": r["down_sql"],
                "upgrade_body": ub, "downgrade_body": db})


def write_psql(out, revs, lengths):
    os.makedirs(out, exist_ok=True)
    for n in lengths:
        with open(os.path.join(out, "per-rev-%d.sql" % n), "w") as f:
            f.write(VERSION_TABLE)
            for r in revs[:n]:
                f.write("\n-- %s: %s\n" % (r["id"], r["message"]))
                if r["tx"]:
                    f.write("BEGIN;\n" + r["up"] +
                            version_sql(r["down"], r["id"]) + "COMMIT;\n")
                else:
                    f.write(r["up"] + version_sql(r["down"], r["id"]))
        with open(os.path.join(out, "floor-%d.sql" % n), "w") as f:
            f.write(VERSION_TABLE)
            for r in revs[:n]:
                up = r["up"]
                if not r["tx"]:
                    up = up.replace(" CONCURRENTLY", "")
                f.write("\n-- %s: %s\n" % (r["id"], r["message"]) + up)
            f.write(version_sql(None, revs[n - 1]["id"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--revs", type=int, required=True)
    ap.add_argument("--lengths", default="")
    ap.add_argument("--nontx-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20240115)
    args = ap.parse_args()
    lengths = sorted({int(x) for x in args.lengths.split()} | {args.revs})
    if lengths[0] < 1 or lengths[-1] > args.revs:
        ap.error("--lengths must be within 1..--revs")

    stamp = os.path.join(args.out, ".stamp")
    me = open(os.path.abspath(__file__), "rb").read()
    key = hashlib.sha256(me + repr((args.revs, lengths, args.nontx_every,
                                    args.seed)).encode()).hexdigest()
    if os.path.exists(stamp) and open(stamp).read().strip() == key:
        return 0
    if os.path.exists(stamp):
        os.unlink(stamp)
    for sub in ("project/revisions", "psql", "alembic"):
        if os.path.isdir(os.path.join(args.out, sub)):
            shutil.rmtree(os.path.join(args.out, sub))
    proj = os.path.join(args.out, "project")
    os.makedirs(os.path.join(proj, "revisions"))
    with open(os.path.join(proj, "sqlbundle.conf"), "w") as f:
        f.write("# Benchmark project (bench/gen_chain.py)\nproject = bench\n")

    gen = Gen(args.seed)
    revs, prev = [], None
    for i in range(1, args.revs + 1):
        message, up, down_sql, tx = gen.next(i, args.nontx_every)
        rid = rev_id(i)
        r = {"id": rid, "down": prev, "message": message, "up": up,
             "down_sql": down_sql, "tx": tx, "slug": slugify(message)}
        revs.append(r)
        with open(os.path.join(proj, "revisions", "%s_%s.sql" % (
                rid, r["slug"])), "w") as f:
            f.write("-- revision: %s\n-- down_revision: %s\n"
                    "-- message: %s\n-- transactional: %s\n\n"
                    "-- +upgrade\n%s\n-- +downgrade\n%s" % (
                        rid, prev or "none", message,
                        "true" if tx else "false", up, down_sql))
        prev = rid
    with open(os.path.join(args.out, "ids"), "w") as f:
        f.write("".join(r["id"] + "\n" for r in revs))
    write_psql(os.path.join(args.out, "psql"), revs, lengths)
    write_alembic(os.path.join(args.out, "alembic"), revs)
    with open(stamp, "w") as f:
        f.write(key + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
