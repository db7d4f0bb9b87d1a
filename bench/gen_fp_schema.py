#!/usr/bin/env python3
"""SQL for the fingerprint bench: gen_fp_schema.py [TABLES] on stdout.

A schema of TABLES tables (default 500) in 10 schemas: an identity key,
text, numeric, timestamptz and enum columns with defaults and checks, a
foreign key to the table before, an index, a grant; a view and a plpgsql
function per 10 tables, a trigger per 20. The output depends on the
argument only.
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
out = ["SET client_min_messages = warning;"]
for s in range(10):
    out.append("CREATE SCHEMA s%d;" % s)
    out.append("CREATE TYPE s%d.state AS ENUM ('new', 'open', 'closed');" % s)
for i in range(n):
    s, prev = i % 10, i - 1
    fk = (", parent_id bigint REFERENCES s%d.t%d (id)" % (prev % 10, prev)
          if i > 0 else "")
    out.append(
        "CREATE TABLE s%d.t%d (id bigint GENERATED ALWAYS AS IDENTITY "
        "PRIMARY KEY, code text NOT NULL UNIQUE, name text NOT NULL DEFAULT "
        "'', qty numeric(12,3) NOT NULL DEFAULT 0 CHECK (qty >= 0), "
        "state s%d.state NOT NULL DEFAULT 'new', created timestamptz NOT "
        "NULL DEFAULT now()%s);" % (s, i, s, fk))
    out.append("CREATE INDEX t%d_name_idx ON s%d.t%d (name);" % (i, s, i))
    out.append("GRANT SELECT ON s%d.t%d TO PUBLIC;" % (s, i))
    if i % 10 == 0:
        out.append("CREATE VIEW s%d.v%d AS SELECT id, code, qty FROM "
                   "s%d.t%d WHERE state <> 'closed';" % (s, i, s, i))
        out.append("CREATE FUNCTION s%d.f%d(p bigint) RETURNS numeric "
                   "LANGUAGE plpgsql AS $$BEGIN RETURN (SELECT qty FROM "
                   "s%d.t%d WHERE id = p); END$$;" % (s, i, s, i))
    if i % 20 == 0:
        out.append("CREATE FUNCTION s%d.touch%d() RETURNS trigger LANGUAGE "
                   "plpgsql AS $$BEGIN NEW.created := now(); RETURN NEW; "
                   "END$$;" % (s, i))
        out.append("CREATE TRIGGER touch BEFORE UPDATE ON s%d.t%d FOR EACH "
                   "ROW EXECUTE FUNCTION s%d.touch%d();" % (s, i, s, i))
print("\n".join(out))
