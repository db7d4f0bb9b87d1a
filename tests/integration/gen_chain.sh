#!/bin/sh
# Write a long synthetic project for the resume tests: gen_chain.sh DIR
# [REVISIONS [SEED_KIB]]. A linear chain g0001..gNNNN of tables, indexes,
# column changes and plpgsql functions; two transactional: false
# revisions (CREATE INDEX CONCURRENTLY IF NOT EXISTS and other idempotent
# statements); two seeded revisions whose CSV files (about SEED_KIB KiB
# each) hold quoted commas, quotes and line breaks, plus an SQL seed.
# The output depends on the arguments only.
set -eu
dir=${1:?usage: gen_chain.sh DIR [REVISIONS [SEED_KIB]]}
revs=${2:-60}
seed_kib=${3:-3072}
[ "$revs" -ge 12 ] || { echo "gen_chain.sh: at least 12 revisions" >&2; exit 2; }
mkdir -p "$dir/revisions" "$dir/seeds" "$dir/keys" "$dir/bundles"
echo "project = chain" > "$dir/sqlbundle.conf"
exec /usr/bin/python3 - "$dir" "$revs" "$seed_kib" <<'EOF'
import csv
import os
import random
import sys

root, n, seed_kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20261125)
s1, s2 = max(2, n // 3), (3 * n) // 4      # seeded revisions
nt1, nt2 = s1 + 2, s2 + 2                  # transactional: false ones


def rid(k):
    return "g%04d" % k


def write_rev(k, slug, message, up, down, transactional=True):
    head = ["-- revision: %s" % rid(k)]
    if k > 1:
        head.append("-- down_revision: %s" % rid(k - 1))
    head.append("-- message: %s" % message)
    if not transactional:
        head.append("-- transactional: false")
    text = "\n".join(head) + "\n\n-- +upgrade\n" + up.strip() + "\n"
    if down is not None:
        text += "\n-- +downgrade\n" + down.strip() + "\n"
    path = os.path.join(root, "revisions", "%s_%s.sql" % (rid(k), slug))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


WORDS = ["alpha", "beta", "gamma", "señal", "café", "niño", "delta",
         "quote\"d", "comma,here", "semi;colon", "tab\there", "x" * 30]


def text(lo, hi):
    words = [rnd.choice(WORDS) for _ in range(rnd.randint(lo, hi))]
    s = " ".join(words)
    r = rnd.random()
    if r < 0.15:
        s += "\nsecond line, with a comma"
    elif r < 0.2:
        s += "\r\nthird\nlines \"quoted\"\n"
    return s


def write_csv(path, header, make_row, kib):
    limit = kib * 1024
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        i = 0
        while f.tell() < limit:
            i += 1
            w.writerow(make_row(i))
    return i


for k in range(1, n + 1):
    if k == 1:
        write_rev(k, "schema", "schema and the first table", """
CREATE SCHEMA gen;
CREATE TABLE gen.t0001 (
    id bigint PRIMARY KEY,
    label text NOT NULL,
    created timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00'
);
INSERT INTO gen.t0001 (id, label)
    SELECT g, 'row ' || g FROM generate_series(1, 500) AS g;
""", "DROP SCHEMA gen CASCADE;")
    elif k == s1:
        write_rev(k, "items", "items, loaded from seed data", """
CREATE TABLE gen.items (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    description text,
    price numeric(12, 2) NOT NULL CHECK (price >= 0),
    tags text
);
CREATE TABLE gen.item_tags (item_id bigint REFERENCES gen.items (id),
    tag text NOT NULL, PRIMARY KEY (item_id, tag));
CREATE TABLE gen.item_stats (n bigint NOT NULL, total numeric NOT NULL);
""", """
DROP TABLE gen.item_stats;
DROP TABLE gen.item_tags;
DROP TABLE gen.items;
""")
        d = os.path.join(root, "seeds", rid(k))
        os.makedirs(d, exist_ok=True)
        nitems = write_csv(os.path.join(d, "01-gen.items.csv"),
                           ["id", "name", "description", "price", "tags"],
                           lambda i: [i, "item %d %s" % (i, rnd.choice(WORDS)),
                                      text(2, 12),
                                      "%d.%02d" % (rnd.randint(0, 999), rnd.randint(0, 99)),
                                      ",".join(rnd.sample(WORDS[:7], 2))],
                           seed_kib)
        with open(os.path.join(d, "02-gen.item_tags.csv"), "w",
                  encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(["item_id", "tag"])
            for i in range(1, min(nitems, 2000) + 1):
                w.writerow([i, "tag, %d" % (i % 7)])
        with open(os.path.join(d, "03-stats.sql"), "w", encoding="utf-8") as f:
            f.write("-- computed from the rows above, in the same step\n"
                    "INSERT INTO gen.item_stats SELECT count(*), sum(price) FROM gen.items;\n"
                    "UPDATE gen.items SET tags = tags || ';seeded' WHERE id % 1000 = 0;\n")
    elif k == s2:
        write_rev(k, "events", "events, loaded from seed data", """
CREATE TABLE gen.events (
    id bigint PRIMARY KEY,
    item_id bigint NOT NULL,
    at timestamptz NOT NULL,
    note text,
    payload jsonb NOT NULL
);
""", "DROP TABLE gen.events;")
        d = os.path.join(root, "seeds", rid(k))
        os.makedirs(d, exist_ok=True)
        write_csv(os.path.join(d, "gen.events.csv"),
                  ["id", "item_id", "at", "note", "payload"],
                  lambda i: [i, rnd.randint(1, 1000),
                             "2024-%02d-%02d 12:%02d:00+00" % (rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(0, 59)),
                             text(0, 8),
                             '{"n": %d, "s": "a \\"b\\", c"}' % i],
                  seed_kib)
    elif k in (nt1, nt2):
        table = "items" if k == nt1 else "events"
        col = "name" if k == nt1 else "item_id"
        write_rev(k, "concurrently", "an index built concurrently", """
CREATE INDEX CONCURRENTLY IF NOT EXISTS %(t)s_%(c)s_idx ON gen.%(t)s (%(c)s);
CREATE TABLE IF NOT EXISTS gen.nt%(k)04d (id int PRIMARY KEY, note text);
INSERT INTO gen.nt%(k)04d VALUES (1, 'once; only') ON CONFLICT (id) DO NOTHING;
CREATE INDEX CONCURRENTLY IF NOT EXISTS nt%(k)04d_note_idx ON gen.nt%(k)04d (note);
""" % {"t": table, "c": col, "k": k}, """
DROP INDEX CONCURRENTLY IF EXISTS gen.nt%(k)04d_note_idx;
DROP TABLE IF EXISTS gen.nt%(k)04d;
DROP INDEX CONCURRENTLY IF EXISTS gen.%(t)s_%(c)s_idx;
""" % {"t": table, "c": col, "k": k}, transactional=False)
    elif k % 10 == 3:
        write_rev(k, "function", "a plpgsql function", """
CREATE FUNCTION gen.f%(k)04d(x int) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
    total bigint := 0;  -- a comment; with a semicolon
BEGIN
    FOR i IN 1..x LOOP
        total := total + i * %(k)d;
    END LOOP;
    RETURN total;
END
$fn$;
COMMENT ON FUNCTION gen.f%(k)04d(int) IS 'sums; it''s generated';
""" % {"k": k}, "DROP FUNCTION gen.f%04d(int);" % k)
    else:
        write_rev(k, "table", "table %d" % k, """
CREATE TABLE gen.t%(k)04d (
    id bigint PRIMARY KEY,
    ref bigint REFERENCES gen.t0001 (id),
    payload jsonb NOT NULL DEFAULT '{}',
    amount numeric(12, 2) CHECK (amount >= 0)
);
CREATE INDEX t%(k)04d_amount ON gen.t%(k)04d (amount);
INSERT INTO gen.t%(k)04d (id, ref, payload, amount)
    SELECT g, g %% 500 + 1, jsonb_build_object('k', %(k)d, 'g', g), g * 1.25
    FROM generate_series(1, %(rows)d) AS g;
ALTER TABLE gen.t0001 ADD COLUMN c%(k)04d int NOT NULL DEFAULT %(k)d;
""" % {"k": k, "rows": 2000 + (k * 37) % 3000}, """
ALTER TABLE gen.t0001 DROP COLUMN c%(k)04d;
DROP TABLE gen.t%(k)04d;
""" % {"k": k})
EOF
