#!/usr/bin/python3
"""Generate a seeded sqlbundle project for the benchmarks: a product
catalog (categories, brands, products, barcodes) whose CSV seed files add
up to a given size, plus the psql script that loads the same files with
\\copy, for the anchor side.

    gen_seed.py --out DIR --mb N [--seed S]

DIR gets sqlbundle.conf (project = bench), revisions/ (a schema revision
and a seed revision), seeds/<id>/NN-catalog.<table>.csv,
psql-load.sql (one transaction per revision, the version-table update in
the same transaction, as sqlbundle-apply commits a step), head (the last
revision) and rows.sql (a query of the row counts, to compare the sides). The data is
deterministic for a given size and seed.
"""
import argparse
import hashlib
import os
import random
import sys

SCHEMA_ID = "c0a7a1090001"
SEED_ID = "c0a7a1090002"

SCHEMA_SQL = """\
-- Catalog tables of a store chain: categories in a tree, brands,
-- products with prices and attributes, and the barcodes scanned at the
-- till.
CREATE SCHEMA catalog;

CREATE TYPE catalog.unit AS ENUM ('ea', 'kg', 'g', 'l', 'ml', 'm', 'box', 'pack');

CREATE TABLE catalog.category (
    id integer PRIMARY KEY,
    parent_id integer REFERENCES catalog.category (id),
    code text NOT NULL UNIQUE,
    name text NOT NULL,
    path text NOT NULL
);

CREATE TABLE catalog.brand (
    id integer PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text NOT NULL,
    country char(2) NOT NULL
);

CREATE TABLE catalog.product (
    id bigint PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    category_id integer NOT NULL REFERENCES catalog.category (id),
    brand_id integer REFERENCES catalog.brand (id),
    name text NOT NULL,
    description text,
    unit catalog.unit NOT NULL DEFAULT 'ea',
    price numeric(12,2) NOT NULL CHECK (price >= 0),
    cost numeric(12,2) CHECK (cost >= 0),
    tax_rate numeric(5,4) NOT NULL DEFAULT 0,
    weight_kg numeric(10,3),
    is_active boolean NOT NULL DEFAULT true,
    attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL
);
CREATE INDEX product_category_idx ON catalog.product (category_id);
CREATE INDEX product_brand_idx ON catalog.product (brand_id);

CREATE TABLE catalog.product_barcode (
    barcode text PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES catalog.product (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('ean13', 'upca', 'internal'))
);
CREATE INDEX product_barcode_product_idx ON catalog.product_barcode (product_id);
"""

SCHEMA_DOWN = "DROP SCHEMA catalog CASCADE;\n"

SEED_SQL = """\
-- The catalog rows are in seeds/%s/ and load right after this section.
COMMENT ON TABLE catalog.product IS 'store catalog, loaded from the HQ export';
""" % SEED_ID

SEED_DOWN = """\
DELETE FROM catalog.product_barcode;
DELETE FROM catalog.product;
DELETE FROM catalog.brand;
DELETE FROM catalog.category;
COMMENT ON TABLE catalog.product IS NULL;
"""

ADJ = ("Classic Fresh Organic Premium Light Extra Family Mini Crunchy Smooth "
       "Spicy Sweet Natural Golden Dark Whole Soft Strong Rapid Eco Ultra "
       "Daily Tropical Andean Roasted Smoked Frozen Instant Gentle").split()
NOUN = ("Coffee Rice Beans Tuna Milk Yogurt Cheese Bread Cookies Chocolate "
        "Juice Water Soda Shampoo Soap Detergent Tissue Napkins Oil Vinegar "
        "Salt Sugar Flour Pasta Sauce Cereal Oats Honey Jam Butter Eggs "
        "Chicken Sausage Ham Quinoa Plantain Chips Tea Batteries Bulbs "
        "Toothpaste Razor Diapers Wipes Candles Matches Sponges").split()
SIZE = ("250 g|500 g|1 kg|2 kg|330 ml|500 ml|1 l|2 l|6 x 330 ml|12 u|"
        "24 u|400 g|900 g|750 ml|100 g|3 x 1 kg").split("|")
WORDS = ("quality selected daily best price store brand imported local "
         "produced harvested packed sealed fresh keeps refrigerate after "
         "opening ideal for family breakfast lunch dinner snack recipe "
         "traditional new improved formula gluten free no added sugar rich "
         "in fibre protein vitamins minerals source of calcium iron "
         "recyclable pack sustainable farms ecuador peru colombia chile "
         "with natural ingredients contains may traces of nuts soy milk "
         "store in a cool dry place away from sunlight").split()
COLORS = "red green blue white black yellow natural assorted".split()
UNITS = ("ea", "ea", "ea", "kg", "g", "l", "ml", "box", "pack")
COUNTRIES = "EC PE CO CL AR MX US BR ES DE".split()


def write_revisions(out, revs):
    """sqlbundle.conf and one revision file per (id, down, message, up,
    down SQL) of revs."""
    os.makedirs(os.path.join(out, "revisions"), exist_ok=True)
    with open(os.path.join(out, "sqlbundle.conf"), "w") as f:
        f.write("# Benchmark project (bench/%s)\nproject = bench\n" %
                os.path.basename(sys.argv[0]))
    for rid, down, msg, up, dn in revs:
        slug = msg.replace(" ", "_")
        with open(os.path.join(out, "revisions", "%s_%s.sql" % (rid, slug)),
                  "w") as f:
            f.write("-- revision: %s\n" % rid)
            f.write("-- down_revision: %s\n" % (down or "none"))
            f.write("-- message: %s\n-- transactional: true\n\n" % msg)
            f.write("-- +upgrade\n" + up + "\n-- +downgrade\n" + dn)


def project_files(out):
    """sqlbundle.conf and the two revision files."""
    write_revisions(out, (
        (SCHEMA_ID, None, "catalog schema", SCHEMA_SQL, SCHEMA_DOWN),
        (SEED_ID, SCHEMA_ID, "catalog seed data", SEED_SQL, SEED_DOWN)))


def gen_data(seeds, target, rng):
    """Write the four CSV files; stop once their sum reaches target."""
    ncat, nbrand = 600, 2500
    paths = {
        "category": os.path.join(seeds, "10-catalog.category.csv"),
        "brand": os.path.join(seeds, "20-catalog.brand.csv"),
        "product": os.path.join(seeds, "30-catalog.product.csv"),
        "barcode": os.path.join(seeds, "40-catalog.product_barcode.csv"),
    }
    total = 0
    with open(paths["category"], "w") as f:
        rows = ["id,parent_id,code,name,path\n"]
        for i in range(1, ncat + 1):
            parent = "" if i <= 20 else str(rng.randint(1, min(i - 1, 200)))
            noun = NOUN[i % len(NOUN)]
            rows.append('%d,%s,CAT-%04d,%s %d,"%s/%s"\n' % (
                i, parent, i, noun, i, parent or "root", noun.lower()))
        data = "".join(rows)
        f.write(data)
        total += len(data.encode())
    with open(paths["brand"], "w") as f:
        rows = ["id,code,name,country\n"]
        for i in range(1, nbrand + 1):
            rows.append("%d,BR%05d,%s %s,%s\n" % (
                i, i, ADJ[i % len(ADJ)], NOUN[(i * 7) % len(NOUN)],
                COUNTRIES[i % len(COUNTRIES)]))
        data = "".join(rows)
        f.write(data)
        total += len(data.encode())

    # A pool of descriptions and names, picked with a 64-bit draw per row:
    # realistic text that compresses like a catalog export, made quickly.
    descs = []
    for _ in range(8192):
        n = rng.randint(8, 28)
        descs.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize())
    names = ["%s %s %s" % (rng.choice(ADJ), rng.choice(NOUN), rng.choice(SIZE))
             for _ in range(4096)]
    attrs = ['"{""color"": ""%s"", ""shelf"": %d, ""origin"": ""%s""}"' % (
        COLORS[i % len(COLORS)], i % 40, COUNTRIES[i % len(COUNTRIES)])
        for i in range(512)]

    prod = open(paths["product"], "w")
    bar = open(paths["barcode"], "w")
    head_p = ("id,sku,category_id,brand_id,name,description,unit,price,cost,"
              "tax_rate,weight_kg,is_active,attributes,created_at\n")
    head_b = "barcode,product_id,kind\n"
    prod.write(head_p)
    bar.write(head_b)
    total += len(head_p) + len(head_b)
    pid = 0
    getbits = rng.getrandbits
    while total < target:
        prows, brows = [], []
        for _ in range(2000):
            pid += 1
            r = getbits(64)
            price = 50 + (r & 0xffff)          # cents
            cost = price * (60 + (r >> 16 & 31)) // 100
            brand = "" if (r >> 21 & 63) == 0 else str(1 + (r >> 27) % nbrand)
            prows.append(
                '%d,SKU-%08d,%d,%s,%s,"%s",%s,%d.%02d,%d.%02d,%s,%s,%s,%s,'
                '2024-%02d-%02d %02d:%02d:00+00\n' % (
                    pid, pid, 1 + (r >> 6) % ncat, brand,
                    names[r >> 40 & 4095], descs[r >> 12 & 8191],
                    UNITS[r % len(UNITS)], price // 100, price % 100,
                    cost // 100, cost % 100,
                    ("0.0000", "0.1200", "0.1500")[(r >> 52) % 3],
                    "%d.%03d" % ((r >> 33) % 20, (r >> 9) % 1000),
                    "false" if (r >> 55 & 15) == 0 else "true",
                    attrs[r >> 47 & 511], 1 + (r >> 30) % 12,
                    1 + (r >> 35) % 28, (r >> 3) % 24, (r >> 17) % 60))
            brows.append("779%010d,%d,ean13\n" % (pid, pid))
            if r & 7 == 0:
                brows.append("INT%010d,%d,internal\n" % (pid, pid))
        pd, bd = "".join(prows), "".join(brows)
        prod.write(pd)
        bar.write(bd)
        total += len(pd.encode()) + len(bd)
    prod.close()
    bar.close()
    return [paths[k] for k in ("category", "brand", "product", "barcode")]


def psql_script(out, steps, rows):
    """The anchor: psql-load.sql, one transaction per (id, SQL, seed
    files) of steps, as sqlbundle-apply commits a step: the revision's
    SQL, \\copy of its CSV files, the version-table update. Beside it,
    head (the last id) and rows.sql (rows, a query of the row counts that
    both sides must end with)."""
    prev = None
    with open(os.path.join(out, "psql-load.sql"), "w") as f:
        f.write("CREATE TABLE IF NOT EXISTS alembic_version (\n"
                "    version_num varchar(32) NOT NULL,\n"
                "    CONSTRAINT alembic_version_pkc PRIMARY KEY "
                "(version_num));\n")
        for rid, sql, files in steps:
            f.write("BEGIN;\n" + sql)
            for path in files:
                f.write(copy_line(path))
            if prev is None:
                f.write("INSERT INTO alembic_version (version_num) "
                        "VALUES ('%s');\n" % rid)
            else:
                f.write("UPDATE alembic_version SET version_num = '%s' "
                        "WHERE version_num = '%s';\n" % (rid, prev))
            f.write("COMMIT;\n")
            prev = rid
    with open(os.path.join(out, "head"), "w") as f:
        f.write(prev + "\n")
    with open(os.path.join(out, "rows.sql"), "w") as f:
        f.write(rows + "\n")


def copy_line(path):
    """psql's \\copy of one seed file NN-schema.table.csv, its header as
    the column list."""
    name = os.path.basename(path)[:-4]
    name = name.split("-", 1)[1] if name.split("-", 1)[0].isdigit() else name
    schema, table = name.split(".", 1)
    with open(path) as csv:
        cols = csv.readline().strip()
    return ("\\copy %s.%s (%s) FROM '%s' WITH (FORMAT csv, HEADER true)\n"
            % (schema, table, cols, os.path.abspath(path)))


def psql_load(out, files):
    """The anchor: the same two steps with psql, \\copy for the seeds."""
    psql_script(out, ((SCHEMA_ID, SCHEMA_SQL, ()),
                      (SEED_ID, SEED_SQL, files)),
                "SELECT " + " || '/' || ".join(
                    "(SELECT count(*) FROM catalog.%s)" % t for t in (
                        "category", "brand", "product", "product_barcode")))


def up_to_date(out, args):
    """True when out was made by this generator with these arguments;
    else forget that it was, so that a stopped run starts again."""
    stamp = os.path.join(out, ".stamp")
    me = b"".join(open(os.path.abspath(p), "rb").read()
                  for p in (__file__, sys.argv[0]))
    key = hashlib.sha256(me + repr(args).encode()).hexdigest()
    if os.path.exists(stamp) and open(stamp).read().strip() == key:
        return True
    if os.path.exists(stamp):
        os.unlink(stamp)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, ".stamp.new"), "w") as f:
        f.write(key + "\n")
    return False


def done(out):
    """Mark out as made (after up_to_date said it was not)."""
    os.replace(os.path.join(out, ".stamp.new"), os.path.join(out, ".stamp"))


def clear(out, subs):
    """Empty the folders subs of out (files left from another size)."""
    for sub in subs:
        d = os.path.join(out, sub)
        if os.path.isdir(d):
            for name in os.listdir(d):
                os.unlink(os.path.join(d, name))


def arg_parser(doc, mb_help):
    """The options of the generators: --out, --mb, --seed."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--mb", type=float, required=True, help=mb_help)
    ap.add_argument("--seed", type=int, default=20240115)
    return ap


def main():
    args = arg_parser(__doc__, "total CSV size in MiB").parse_args()

    if up_to_date(args.out, (args.mb, args.seed)):
        return 0
    clear(args.out, ("revisions", os.path.join("seeds", SEED_ID)))
    project_files(args.out)
    seeds = os.path.join(args.out, "seeds", SEED_ID)
    os.makedirs(seeds, exist_ok=True)
    rng = random.Random(args.seed)
    files = gen_data(seeds, int(args.mb * 1024 * 1024), rng)
    psql_load(args.out, files)
    done(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
