#!/usr/bin/python3
"""Generate the seed shapes of the benchmarks: one sqlbundle project per
shape of data that stores really load, each with the psql script that
loads the same files with \\copy (the anchor side).

    gen_shapes.py --out DIR --mb N [--seed S] [--small-files K]
                  [--shapes "wide jsonb ..."]

DIR/<shape>/ gets sqlbundle.conf, revisions/, seeds/<id>/*.csv,
psql-load.sql (one transaction per revision, as sqlbundle-apply commits a
step), head (the last revision) and rows.sql (a query of the row counts,
to compare the sides). Shapes, about N MiB of CSV each but "small":

    wide      many text columns, long descriptions with quotes, commas
              and newlines inside quoted fields
    jsonb     an attributes column of nested JSON documents
    small     K files of a few KiB (default 200), in 4 revisions
    fkeys     sales lines, each referencing 4 parent tables
    pricelist prices with a composite key (store, product, valid_from)
    defaults  2 of 10 columns in the CSV, the rest from column defaults
              (a sequence, now(), gen_random_uuid(), constants)

The data is deterministic for a given size and seed.
"""
import os
import random
import sys

sys.dont_write_bytecode = True     # no __pycache__ in bench/
from gen_seed import (ADJ, COLORS, COUNTRIES, NOUN, SIZE, WORDS, arg_parser,
                      clear, done, psql_script, up_to_date,
                      write_revisions)

SHAPES = ("wide", "jsonb", "small", "fkeys", "pricelist", "defaults")
BATCH = 200


class Csv:
    """A CSV seed file being written, with the bytes it holds so far."""

    def __init__(self, path, header):
        self.path = path
        self.f = open(path, "w")
        self.size = 0
        self.write(header + "\n")

    def write(self, data):
        self.f.write(data)
        self.size += len(data.encode())

    def close(self):
        self.f.close()


def quoted(s):
    return '"' + s.replace('"', '""') + '"'


def fill(csv, target, make_row):
    """Rows make_row(i) (i from 1) until the file holds target bytes."""
    i = 0
    while csv.size < target:
        rows = []
        for _ in range(BATCH):
            i += 1
            rows.append(make_row(i))
        csv.write("".join(rows))
    csv.close()
    return i


def texts(rng, n, lo, hi, extra=()):
    """n pieces of text of lo to hi words, extra words mixed in."""
    words = WORDS + list(extra)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(lo, hi)))
            for _ in range(n)]


# -- the shapes: each returns [(id, down, message, up SQL, down SQL,
#    [csv paths])] and the row-count query.

def shape_wide(d, target, rng):
    cols = ("sku name short_name brand_name category_path description "
            "ingredients allergens usage storage supplier_name "
            "supplier_address origin legal_text notes keywords").split()
    up = ("-- A product master export: text columns of every length.\n"
          "CREATE SCHEMA shop;\n"
          "CREATE TABLE shop.item_text (\n    id bigint PRIMARY KEY,\n" +
          ",\n".join("    %s text%s" % (c, " NOT NULL" if i < 3 else "")
                     for i, c in enumerate(cols)) + "\n);\n")
    # Quotes, commas and newlines inside quoted fields, as a spreadsheet
    # export has them.
    odd = ('"extra"', 'size: 12", 3 pack', "net wt., approx.", "6'2\"",
           "Line one,\nline two", "a, b, and c", "«premium»", "niño",
           "café", "100% natural")
    long_ = [quoted(t.capitalize() + ".\n" + u.capitalize() + ", " +
                    rng.choice(odd) + ".")
             for t, u in zip(texts(rng, 2048, 40, 160, odd),
                             texts(rng, 2048, 10, 60, odd))]
    mid = [quoted(t) for t in texts(rng, 4096, 4, 24, odd)]
    short = [quoted(t) for t in texts(rng, 4096, 1, 4, odd)]
    getbits = rng.getrandbits
    seeds = os.path.join(d, "seeds", "5a0e00000001")
    os.makedirs(seeds, exist_ok=True)
    csv = Csv(os.path.join(seeds, "10-shop.item_text.csv"),
              "id," + ",".join(cols))

    def row(i):
        r = getbits(64)
        return "%d,SKU-%08d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n" % (
            i, i, mid[r & 4095], short[r >> 12 & 4095],
            short[r >> 24 & 4095], mid[r >> 36 & 4095],
            long_[r >> 48 & 2047], mid[(r >> 3) & 4095],
            short[r >> 15 & 4095], long_[r >> 27 & 2047],
            mid[r >> 40 & 4095], short[r >> 5 & 4095],
            mid[r >> 18 & 4095], short[r >> 50 & 4095],
            long_[r >> 9 & 2047], "" if r & 3 else mid[r >> 30 & 4095],
            mid[r >> 44 & 4095])
    fill(csv, target, row)
    return ([("5a0e00000001", None, "wide text rows", up,
              "DROP SCHEMA shop CASCADE;\n", [csv.path])],
            "SELECT count(*) FROM shop.item_text")


def shape_jsonb(d, target, rng):
    up = ("-- Product attributes as the web shop keeps them: nested jsonb.\n"
          "CREATE SCHEMA shop;\n"
          "CREATE TABLE shop.product_attr (\n"
          "    product_id bigint PRIMARY KEY,\n"
          "    sku text NOT NULL,\n"
          "    attrs jsonb NOT NULL\n);\n"
          "CREATE INDEX product_attr_sku_idx ON shop.product_attr (sku);\n")
    docs = []
    for i in range(4096):
        doc = ('{"color": "%s", "sizes": [%s], "dims": {"w": %d.%d, '
               '"h": %d, "d": %d}, "origin": "%s", "tags": [%s], '
               '"nutrition": {"kcal": %d, "fat_g": %d.%d, "sugar_g": %d}, '
               '"i18n": {"es": "%s", "en": "%s"}, "organic": %s, '
               '"supplier": {"code": "SUP-%04d", "lead_days": %d}}' % (
                   COLORS[i % len(COLORS)],
                   ", ".join('"%s"' % rng.choice(SIZE)
                             for _ in range(rng.randint(1, 5))),
                   rng.randint(1, 90), rng.randint(0, 9), rng.randint(1, 90),
                   rng.randint(1, 90), rng.choice(COUNTRIES),
                   ", ".join('"%s"' % rng.choice(WORDS)
                             for _ in range(rng.randint(0, 8))),
                   rng.randint(0, 900), rng.randint(0, 60), rng.randint(0, 9),
                   rng.randint(0, 80),
                   " ".join(rng.choice(WORDS) for _ in range(6)),
                   " ".join(rng.choice(WORDS) for _ in range(6)),
                   rng.choice(("true", "false")), rng.randint(1, 9999),
                   rng.randint(1, 30)))
        docs.append(quoted(doc))
    getbits = rng.getrandbits
    seeds = os.path.join(d, "seeds", "5a0e00000002")
    os.makedirs(seeds, exist_ok=True)
    csv = Csv(os.path.join(seeds, "10-shop.product_attr.csv"),
              "product_id,sku,attrs")
    fill(csv, target, lambda i: "%d,SKU-%08d,%s\n" % (
        i, i, docs[getbits(12)]))
    return ([("5a0e00000002", None, "jsonb attributes", up,
              "DROP SCHEMA shop CASCADE;\n", [csv.path])],
            "SELECT count(*) FROM shop.product_attr")


def shape_small(d, nfiles, rng):
    """nfiles files of a few KiB: each a store's stock or its shelf
    labels, spread over 4 revisions (a release each)."""
    ids = ["5a0e0000003%d" % k for k in range(4)]
    up0 = ("-- Per-store files, one per store and kind.\n"
           "CREATE SCHEMA inv;\n"
           "CREATE TABLE inv.stock (\n"
           "    store_id integer NOT NULL,\n"
           "    product_id bigint NOT NULL,\n"
           "    qty integer NOT NULL,\n"
           "    PRIMARY KEY (store_id, product_id)\n);\n"
           "CREATE TABLE inv.shelf_label (\n"
           "    store_id integer NOT NULL,\n"
           "    aisle text NOT NULL,\n"
           "    label text NOT NULL\n);\n")
    revs = []
    per = (nfiles + 3) // 4
    n = 0
    for k, rid in enumerate(ids):
        seeds = os.path.join(d, "seeds", rid)
        os.makedirs(seeds, exist_ok=True)
        paths = []
        for j in range(min(per, nfiles - n)):
            n += 1
            if n % 2:
                csv = Csv(os.path.join(seeds, "%03d-inv.stock.csv" % j),
                          "store_id,product_id,qty")
                rows = "".join("%d,%d,%d\n" % (n, p, rng.randint(0, 500))
                               for p in range(1 + 7 * n, 1 + 7 * n + 200))
            else:
                csv = Csv(os.path.join(seeds, "%03d-inv.shelf_label.csv" % j),
                          "store_id,aisle,label")
                rows = "".join('%d,A%02d,"%s %s, %s"\n' % (
                    n, rng.randint(1, 30), rng.choice(ADJ), rng.choice(NOUN),
                    rng.choice(SIZE)) for _ in range(120))
            csv.write(rows)
            csv.close()
            paths.append(csv.path)
        up = up0 if k == 0 else (
            "-- Release %d: more store files.\n"
            "COMMENT ON TABLE inv.stock IS 'store files, release %d';\n" %
            (k, k))
        revs.append((rid, ids[k - 1] if k else None,
                     "store files %d" % k, up,
                     "DROP SCHEMA inv CASCADE;\n" if k == 0 else
                     "COMMENT ON TABLE inv.stock IS NULL;\n", paths))
    return revs, ("SELECT (SELECT count(*) FROM inv.stock) || '/' || "
                  "(SELECT count(*) FROM inv.shelf_label)")


def shape_fkeys(d, target, rng):
    up = ("-- Sales lines of the tills, each naming its store, product,\n"
          "-- customer and promotion.\n"
          "CREATE SCHEMA sales;\n"
          "CREATE TABLE sales.store (id integer PRIMARY KEY, code text "
          "NOT NULL UNIQUE, name text NOT NULL);\n"
          "CREATE TABLE sales.product (id bigint PRIMARY KEY, sku text NOT "
          "NULL UNIQUE, name text NOT NULL);\n"
          "CREATE TABLE sales.customer (id bigint PRIMARY KEY, card text "
          "NOT NULL UNIQUE, country char(2) NOT NULL);\n"
          "CREATE TABLE sales.promo (id integer PRIMARY KEY, code text NOT "
          "NULL UNIQUE, pct numeric(5,2) NOT NULL);\n"
          "CREATE TABLE sales.line (\n"
          "    id bigint PRIMARY KEY,\n"
          "    store_id integer NOT NULL REFERENCES sales.store (id),\n"
          "    product_id bigint NOT NULL REFERENCES sales.product (id),\n"
          "    customer_id bigint NOT NULL REFERENCES sales.customer (id),\n"
          "    promo_id integer NOT NULL REFERENCES sales.promo (id),\n"
          "    qty numeric(10,3) NOT NULL,\n"
          "    amount numeric(12,2) NOT NULL,\n"
          "    sold_at timestamptz NOT NULL\n);\n"
          "CREATE INDEX line_store_sold_idx ON sales.line (store_id, "
          "sold_at);\n"
          "CREATE INDEX line_product_idx ON sales.line (product_id);\n")
    # Parents of a store chain at 32 MiB (about an eighth of the CSV),
    # fewer for smaller sizes.
    scale = min(1.0, target / (32 << 20))
    nstore, npromo = 200, 500
    nprod, ncust = int(50000 * scale) or 1, int(100000 * scale) or 1
    seeds = os.path.join(d, "seeds", "5a0e00000004")
    os.makedirs(seeds, exist_ok=True)
    paths = []

    def parent(nn, table, header, n, make_row):
        csv = Csv(os.path.join(seeds, "%s-sales.%s.csv" % (nn, table)),
                  header)
        csv.write("".join(make_row(i) for i in range(1, n + 1)))
        csv.close()
        paths.append(csv.path)
        return csv.size
    size = parent("10", "store", "id,code,name", nstore,
                  lambda i: "%d,ST%04d,%s %d\n" % (i, i, rng.choice(NOUN), i))
    size += parent("20", "product", "id,sku,name", nprod,
                   lambda i: "%d,SKU-%08d,%s %s %s\n" % (
                       i, i, rng.choice(ADJ), rng.choice(NOUN),
                       rng.choice(SIZE)))
    size += parent("30", "customer", "id,card,country", ncust,
                   lambda i: "%d,CARD%010d,%s\n" % (
                       i, i * 7919, rng.choice(COUNTRIES)))
    size += parent("40", "promo", "id,code,pct", npromo,
                   lambda i: "%d,PR%05d,%d.%02d\n" % (
                       i, i, rng.randint(0, 50), rng.randint(0, 99)))
    getbits = rng.getrandbits
    csv = Csv(os.path.join(seeds, "50-sales.line.csv"),
              "id,store_id,product_id,customer_id,promo_id,qty,amount,sold_at")

    def row(i):
        r = getbits(64)
        return "%d,%d,%d,%d,%d,%d.%03d,%d.%02d,2025-%02d-%02d %02d:%02d:%02d+00\n" % (
            i, 1 + r % nstore, 1 + (r >> 8) % nprod, 1 + (r >> 24) % ncust,
            1 + (r >> 41) % npromo, 1 + (r >> 50 & 7), (r >> 20) % 1000,
            (r >> 30) % 500, (r >> 3) % 100, 1 + (r >> 12) % 12,
            1 + (r >> 16) % 28, (r >> 44) % 24, (r >> 53) % 60, i % 60)
    fill(csv, target - size, row)
    paths.append(csv.path)
    return ([("5a0e00000004", None, "sales lines", up,
              "DROP SCHEMA sales CASCADE;\n", paths)],
            "SELECT (SELECT count(*) FROM sales.line) || '/' || "
            "(SELECT count(*) FROM sales.customer)")


def shape_pricelist(d, target, rng):
    up = ("-- Price list: a price per store and product from a date on.\n"
          "CREATE SCHEMA pricing;\n"
          "CREATE TABLE pricing.price (\n"
          "    store_id integer NOT NULL,\n"
          "    product_id bigint NOT NULL,\n"
          "    valid_from date NOT NULL,\n"
          "    price numeric(12,2) NOT NULL CHECK (price >= 0),\n"
          "    currency char(3) NOT NULL,\n"
          "    PRIMARY KEY (store_id, product_id, valid_from)\n);\n")
    nprod = 100003      # prime: i * 7919 mod nprod visits every product
    getbits = rng.getrandbits
    seeds = os.path.join(d, "seeds", "5a0e00000005")
    os.makedirs(seeds, exist_ok=True)
    csv = Csv(os.path.join(seeds, "10-pricing.price.csv"),
              "store_id,product_id,valid_from,price,currency")

    # Product-major as an ERP exports it, so the key arrives out of order.
    def row(i):
        r = getbits(32)
        k, rest = divmod(i - 1, nprod * 4)
        prod, date = divmod(rest, 4)
        return "%d,%d,2025-%02d-01,%d.%02d,%s\n" % (
            1 + (prod * 31 + k) % 400, 1 + prod * 7919 % nprod,
            1 + date * 3, r % 900, r >> 10 & 63, ("USD", "PEN")[r >> 20 & 1])
    fill(csv, target, row)
    return ([("5a0e00000005", None, "price list", up,
              "DROP SCHEMA pricing CASCADE;\n", [csv.path])],
            "SELECT count(*) FROM pricing.price")


def shape_defaults(d, target, rng):
    up = ("-- Stock movements: the export gives product and quantity, the\n"
          "-- table fills in the rest.\n"
          "CREATE SCHEMA ops;\n"
          "CREATE TABLE ops.movement (\n"
          "    id bigserial PRIMARY KEY,\n"
          "    product_id bigint NOT NULL,\n"
          "    qty integer NOT NULL,\n"
          "    kind text NOT NULL DEFAULT 'adjust',\n"
          "    source text NOT NULL DEFAULT 'hq-import',\n"
          "    currency char(3) NOT NULL DEFAULT 'USD',\n"
          "    is_void boolean NOT NULL DEFAULT false,\n"
          "    note text NOT NULL DEFAULT '',\n"
          "    ref uuid NOT NULL DEFAULT gen_random_uuid(),\n"
          "    created_at timestamptz NOT NULL DEFAULT now()\n);\n")
    getbits = rng.getrandbits
    seeds = os.path.join(d, "seeds", "5a0e00000006")
    os.makedirs(seeds, exist_ok=True)
    csv = Csv(os.path.join(seeds, "10-ops.movement.csv"), "product_id,qty")
    fill(csv, target, lambda i: "%d,%d\n" % (
        1 + getbits(20), getbits(10) - 512))
    return ([("5a0e00000006", None, "stock movements", up,
              "DROP SCHEMA ops CASCADE;\n", [csv.path])],
            "SELECT count(*) || '/' || max(id) FROM ops.movement")


def make(shape, d, args, rng):
    clear(d, ["revisions"] + [os.path.join("seeds", s)
                              for s in (os.listdir(os.path.join(d, "seeds"))
                                        if os.path.isdir(os.path.join(
                                            d, "seeds")) else ())])
    if shape == "small":
        revs, rows = shape_small(d, args.small_files, rng)
    else:
        revs, rows = globals()["shape_" + shape](
            d, int(args.mb * 1024 * 1024), rng)
    write_revisions(d, [r[:5] for r in revs])
    psql_script(d, [(r[0], r[3], r[5]) for r in revs], rows)


def main():
    ap = arg_parser(__doc__, "CSV size of each shape in MiB")
    ap.add_argument("--small-files", type=int, default=200)
    ap.add_argument("--shapes", default=" ".join(SHAPES))
    args = ap.parse_args()
    for shape in args.shapes.split():
        if shape not in SHAPES:
            ap.error("unknown shape %r (%s)" % (shape, " ".join(SHAPES)))
        d = os.path.join(args.out, shape)
        if up_to_date(d, (shape, args.mb, args.seed, args.small_files)):
            continue
        make(shape, d, args, random.Random(args.seed + SHAPES.index(shape)))
        done(d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
